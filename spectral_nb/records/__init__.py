"""TFRecords in nnSIC's schema: leak-free splits, over-sampling, writing, reading, tf.data pipelines.

One record is one ``tf.train.Example`` with exactly the features nnSIC used (height, width, image,
label, filename: the table is in :mod:`~spectral_nb.records.format`), so its public files and ours
are interchangeable. TensorFlow is imported inside the functions that need it, so the split helpers
stay usable (and testable) without paying for TensorFlow's import.

One subpackage, one module per seam, every name importable from ``spectral_nb.records``:
:mod:`~spectral_nb.records.format` (one record, one file), :mod:`~spectral_nb.records.splits` (strip
folders, leak-free splits, writing them), :mod:`~spectral_nb.records.pipeline` (tf.data and the
augmentations) and :mod:`~spectral_nb.records.datasets` (the book's and nnSIC's named datasets).
"""
from spectral_nb.records.datasets import (NNSIC_BASE_URL, NNSIC_BLOB_IDS, NNSIC_COMMIT, NNSIC_COUNTS, dataset_files,
                                          download_nnsic, git_blob_id)
from spectral_nb.records.format import (FEATURE_KINDS, SPLITS, RecordError, count_labels, decode_example,
                                        describe_schema, encode_example, load_examples, read_serialized, write_records)
from spectral_nb.records.pipeline import (AUGMENTATIONS, BOOK_AUGMENT_OPTIONS, BOOK_AUGMENTATIONS, GREYSCALE_SHARE,
                                          BLACK_LEVEL_RANGE, BLUR_SHARE, LOG_GAIN_RANGE, LOG_GAMMA, LOG_WHITE_BALANCE, MAX_NOISE_SIGMA,
                                          PHOTOMETRIC_AUGMENTATIONS,
                                          augment_batches, augment_images, make_dataset,
                                          parse_batch)
from spectral_nb.records.splits import (Split, balanced_class_weights, count_table, group_near_duplicates, make_splits, oversample_to_minimum,
                                        first_per_class, provenance_path, read_strip_folder, split_groups,
                                        binned_colour_profiles, write_splits)

__all__ = [
    "FEATURE_KINDS", "SPLITS", "RecordError", "count_labels", "decode_example", "describe_schema", "encode_example",
    "load_examples", "read_serialized", "write_records",
    "Split", "balanced_class_weights", "count_table", "group_near_duplicates", "make_splits", "oversample_to_minimum", "first_per_class",
    "provenance_path", "read_strip_folder", "split_groups", "binned_colour_profiles", "write_splits",
    "AUGMENTATIONS", "BOOK_AUGMENTATIONS", "BOOK_AUGMENT_OPTIONS", "GREYSCALE_SHARE", "LOG_GAIN_RANGE", "LOG_GAMMA", "BLACK_LEVEL_RANGE", "BLUR_SHARE",
    "LOG_WHITE_BALANCE", "MAX_NOISE_SIGMA", "PHOTOMETRIC_AUGMENTATIONS", "augment_batches", "augment_images", "make_dataset", "parse_batch",
    "NNSIC_BASE_URL", "NNSIC_BLOB_IDS", "NNSIC_COMMIT", "NNSIC_COUNTS", "dataset_files", "download_nnsic", "git_blob_id",
]
