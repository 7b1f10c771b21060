"""One record and one record file in nnSIC's schema: encoding, decoding, writing atomically, reading.

One record is one ``tf.train.Example`` with exactly the features nnSIC used, so its public files
and ours are interchangeable:

======== ======= ==========================================================
feature  type    meaning
======== ======= ==========================================================
height   int64   rows of the strip (15)
width    int64   columns of the strip, along the dispersion axis (480)
image    bytes   raw uint8 RGB, row-major, ``height * width * 3`` bytes
label    int64   class index 0..6 (see ``spectral_nb.CLASS_NAMES``)
filename bytes   UTF-8 name of the photo the strip was cut from
======== ======= ==========================================================

TensorFlow is imported inside the functions that need it, so the split helpers stay usable
(and testable) without paying for TensorFlow's import.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from spectral_nb import files
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, check_label

SPLITS: tuple[str, ...] = ("train", "vali", "test")
#: Feature name -> protobuf list kind, nnSIC's schema.
FEATURE_KINDS: dict[str, str] = {
    "height": "int64_list",
    "width": "int64_list",
    "image": "bytes_list",
    "label": "int64_list",
    "filename": "bytes_list",
}

class RecordError(ValueError):
    """A TFRecord file or one of its records is unusable; the message names the file and record."""


# --------------------------------------------------------------------------- one record


def describe_schema() -> str:
    """nnSIC's record schema as a small text table (what every file here holds)."""
    h, w, c = STRIP_SHAPE
    rows = [("height", "int64", f"rows of the strip ({h})"),
            ("width", "int64", f"columns, along the dispersion axis ({w})"),
            ("image", "bytes", f"raw uint8 RGB, row-major: height*width*3 = {h * w * c} bytes"),
            ("label", "int64", f"class 0..{NUM_CLASSES - 1}: " + ", ".join(
                f"{i} {n}" for i, n in enumerate(CLASS_NAMES))),
            ("filename", "bytes", "UTF-8 name of the photo the strip was cut from")]
    return "\n".join(f"{name:<9}{kind:<7}{meaning}" for name, kind, meaning in rows)


def encode_example(image: np.ndarray, label: int, filename: str) -> bytes:
    """One serialised ``tf.train.Example``; same inputs give the same bytes in every process.

    ``image`` is ``(15, 480, 3) uint8``. Serialised with ``deterministic=True`` because protobuf's
    map order otherwise changes from process to process.
    """
    import tensorflow as tf

    image = np.asarray(image)
    if image.shape != STRIP_SHAPE or image.dtype != np.uint8:
        raise ValueError(f"strip {filename!r}: expected a {STRIP_SHAPE} uint8 array, got "
                         f"{image.shape} {image.dtype}")
    label = check_label(label, f"strip {filename!r}")
    feature = tf.train.Feature
    example = tf.train.Example(features=tf.train.Features(feature={
        "height": feature(int64_list=tf.train.Int64List(value=[image.shape[0]])),
        "width": feature(int64_list=tf.train.Int64List(value=[image.shape[1]])),
        "image": feature(bytes_list=tf.train.BytesList(value=[np.ascontiguousarray(image).tobytes()])),
        "label": feature(int64_list=tf.train.Int64List(value=[label])),
        "filename": feature(bytes_list=tf.train.BytesList(value=[str(filename).encode("utf-8")])),
    }))
    return example.SerializeToString(deterministic=True)


def decode_example(serialized: bytes, where: str = "record") -> tuple[np.ndarray, int, str]:
    """``(image (15, 480, 3) uint8, label, filename)`` of one serialised record, schema checked.

    ``where`` names the record in error messages (e.g. ``"file.tfrecords, record 12"``).
    """
    import tensorflow as tf

    try:
        example = tf.train.Example.FromString(serialized)
    except Exception as err:  # protobuf's DecodeError: not an Example at all
        raise RecordError(f"{where}: not a tf.train.Example ({err})") from None
    features = example.features.feature
    missing = sorted(set(FEATURE_KINDS) - set(features))
    extra = sorted(set(features) - set(FEATURE_KINDS))
    if missing or extra:
        raise RecordError(f"{where}: features {sorted(features)} are not nnSIC's schema "
                          f"(missing {missing}, unexpected {extra}); see records.describe_schema()")
    values = {}
    for name, kind in FEATURE_KINDS.items():
        feat = features[name]
        found = feat.WhichOneof("kind")
        items = getattr(feat, kind).value if found == kind else []
        if found != kind or len(items) != 1:
            raise RecordError(f"{where}: feature {name!r} should hold one {kind.split('_')[0]} value, "
                              f"found {found or 'nothing'} with {len(getattr(feat, found).value) if found else 0} values")
        values[name] = items[0]
    height, width, raw = int(values["height"]), int(values["width"]), values["image"]
    if height * width * 3 != len(raw):
        raise RecordError(f"{where}: height {height} x width {width} x 3 = {height * width * 3} bytes, "
                          f"but the image holds {len(raw)} bytes")
    if (height, width) != STRIP_SHAPE[:2]:
        raise RecordError(f"{where}: a {height}x{width} strip; the book's strips are "
                          f"{STRIP_SHAPE[0]}x{STRIP_SHAPE[1]} (resize it in chapter 02)")
    label = check_label(values["label"], where, RecordError)
    try:
        filename = values["filename"].decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{where}: filename is not UTF-8 text") from None
    image = np.frombuffer(raw, dtype=np.uint8).reshape(STRIP_SHAPE)
    return image, label, filename


# --------------------------------------------------------------------------- files


def _atomic_target(path: Path) -> Path:
    """A fresh temporary file beside ``path`` (same folder, so ``os.replace`` is atomic)."""
    return files.temp_beside(path)


def _same_bytes(a: Path, b: Path) -> bool:
    import filecmp

    return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)


def _commit(tmp: Path, path: Path, overwrite: bool) -> Path:
    """Move ``tmp`` to ``path``; an existing different file is replaced only with ``overwrite``."""
    if path.exists() and not overwrite:
        if path.is_file() and _same_bytes(tmp, path):
            tmp.unlink()  # the same dataset is already there: keep it untouched
            return path
        tmp.unlink()
        raise FileExistsError(f"{path} already exists and holds a different dataset; pass "
                              f"overwrite=True to replace it, or move it away / choose another folder")
    os.replace(tmp, path)
    return path


def write_records(path: str | Path, images: np.ndarray, labels: Sequence[int], filenames: Sequence[str],
                  overwrite: bool = False) -> Path:
    """Write strips ``(N, 15, 480, 3) uint8`` as one TFRecord file in nnSIC's schema; return its path.

    Atomic: the records go to a temporary file in the same folder, renamed at the end, so an
    interrupted write leaves no half file. An existing file with other contents raises
    ``FileExistsError`` unless ``overwrite=True``; an identical one is kept as it is.
    """
    import tensorflow as tf

    path = Path(path)
    images = np.asarray(images)
    labels = np.asarray(labels)
    if not (len(images) == len(labels) == len(filenames)):
        raise ValueError(f"{path.name}: {len(images)} images, {len(labels)} labels and "
                         f"{len(filenames)} filenames; they must match one to one")
    tmp = _atomic_target(path)
    try:
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for i, (image, label, name) in enumerate(zip(images, labels, filenames)):
                try:
                    writer.write(encode_example(image, label, name))
                except ValueError as err:
                    raise ValueError(f"{path.name}, record {i}: {err}") from None
        return _commit(tmp, path, overwrite)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_serialized(path: str | Path) -> list[bytes]:
    """Every record of a TFRecord file as bytes; damage raises :class:`RecordError` naming the record."""
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no TFRecord file {path}")
    records: list[bytes] = []
    try:
        for batch in tf.data.TFRecordDataset(str(path)).batch(512):
            records.extend(batch.numpy().tolist())
    except tf.errors.DataLossError as err:
        # TF reads in batches, so count the good records one by one to name the damaged one.
        index = 0
        try:
            for _ in tf.data.TFRecordDataset(str(path)):
                index += 1
        except tf.errors.DataLossError:
            pass
        kind = "truncated (the file ends inside it)" if "truncated" in str(err).lower() else \
            "damaged (CRC check failed)" if "corrupted" in str(err).lower() else "unreadable"
        raise RecordError(f"{path}, record {index}: {kind}: {err.message.splitlines()[0]}. "
                          f"The file is damaged: write or download it again") from None
    return records


def load_examples(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All records of one file: images ``(N, 15, 480, 3) uint8``, labels ``(N,) int64``, filenames.

    For small sets (the whole file is held in memory); every record's schema is checked.
    """
    path = Path(path)
    records = read_serialized(path)
    if not records:
        raise RecordError(f"{path}: the file holds no records")
    return _gather(records, lambda i, serialized: decode_example(serialized, where=f"{path}, record {i}"))


def _gather(items: Sequence, read: Callable[[int, object], tuple[np.ndarray, int, str]]
            ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``read(i, item)`` -> ``(strip, label, name)`` for every item, stacked into images
    ``(N, 15, 480, 3) uint8``, labels ``(N,) int64`` and names (filled in place: no list of arrays)."""
    images = np.empty((len(items), *STRIP_SHAPE), dtype=np.uint8)
    labels = np.empty(len(items), dtype=np.int64)
    names: list[str] = []
    for i, item in enumerate(items):
        images[i], labels[i], name = read(i, item)
        names.append(name)
    return images, labels, names


def count_labels(path: str | Path) -> dict[int, int]:
    """Records per label in one file (reads and checks every record)."""
    _, labels, _ = load_examples(path)
    return {c: int(n) for c, n in sorted(Counter(labels.tolist()).items())}
