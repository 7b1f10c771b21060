"""TFRecords in nnSIC's schema: leak-free splits, over-sampling, writing, reading, tf.data pipelines.

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

import csv
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from spectral_nb import files
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, check_label

#: Split names, in the order they are written and printed (nnSIC's file suffixes).
SPLITS: tuple[str, ...] = ("train", "vali", "test")
#: Feature name -> protobuf list kind, nnSIC's schema.
FEATURE_KINDS: dict[str, str] = {
    "height": "int64_list",
    "width": "int64_list",
    "image": "bytes_list",
    "label": "int64_list",
    "filename": "bytes_list",
}
#: Augmentations :func:`make_dataset` knows; all but ``flip_ud`` change what a row-averaging model sees.
AUGMENTATIONS: tuple[str, ...] = ("flip_ud", "flip_lr", "shift", "stretch",
                                  "gain", "gamma", "white_balance", "black_level", "noise", "blur")
#: The photometric ones: what a camera's exposure, tone curve, white balance, black level, noise
#: and focus do to a strip, for the spread the generator cannot pin down.
PHOTOMETRIC_AUGMENTATIONS: tuple[str, ...] = ("gain", "gamma", "white_balance", "black_level", "noise", "blur")

#: nnSIC's public dataset: lcrobert/nnSIC at this commit (branch master), folder InputData/.
NNSIC_COMMIT = "d30aed3f82094ea9cc82e364bb61452165543fe5"
NNSIC_BASE_URL = f"https://raw.githubusercontent.com/lcrobert/nnSIC/{NNSIC_COMMIT}/InputData/"
#: Git blob ids (``git hash-object FILE``) of the three public files: fixed, so a download is checkable.
NNSIC_BLOB_IDS: dict[str, str] = {
    "train": "72e1b0c649d8e43fe6383118d2f095a1c0c10fdb",
    "vali": "58bcf54cb2db9963a531223363ab6fd6701a6959",
    "test": "49db90fba2b8a87de565da59435a3222f259a48f",
}
#: Strips in each public file.
NNSIC_COUNTS: dict[str, int] = {"train": 2696, "vali": 300, "test": 175}


class RecordError(ValueError):
    """A TFRecord file or one of its records is unusable; the message names the file and record."""


class Split(NamedTuple):
    """One split, exactly as written: strips ``(N, 15, 480, 3) uint8``, labels ``(N,)``, names."""

    images: np.ndarray
    labels: np.ndarray
    filenames: list[str]
    source_index: np.ndarray  # (N,) index of each strip in the arrays given to make_splits
    flipped: np.ndarray  # (N,) bool: flipped top-to-bottom before writing


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


# --------------------------------------------------------------------------- strip folders


def read_strip_folder(strips_dir: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Strips listed in ``strips_dir/manifest.csv`` (chapter 02): images, labels, photo names.

    Returns images ``(N, 15, 480, 3) uint8``, labels ``(N,) int64`` and, per strip, the photo it was
    cut from (the manifest's ``photo`` column, relative to the photo folder; the strip's own path
    when that column is empty), which is what the records' ``filename`` feature stores.
    """
    from PIL import Image

    strips_dir = Path(strips_dir)
    manifest = strips_dir / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"no manifest.csv in {strips_dir}: it is written by chapter 02 "
            f"(spectral_nb.preprocessing.preprocess_folder(photos, {strips_dir.name})); run that first")
    with open(manifest, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"strip", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{manifest}: missing column(s) {sorted(missing)}; expected strip,label,photo")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{manifest} lists no strips (an empty folder?): run chapter 02 on a folder of photos")

    def read(i: int, row: dict) -> tuple[np.ndarray, int, str]:
        where = f"{manifest}, row {i + 2}"  # row 1 is the header
        label = check_label(row["label"], where)
        strip_path = strips_dir / row["strip"]
        if not strip_path.is_file():
            raise FileNotFoundError(f"{where}: strip {strip_path} does not exist")
        with Image.open(strip_path) as im:
            array = np.asarray(im.convert("RGB"))
        if array.shape != STRIP_SHAPE:
            raise ValueError(f"{strip_path}: a {array.shape} image, not a {STRIP_SHAPE} strip; "
                             f"make strips with chapter 02")
        return array, label, (row.get("photo") or "").strip() or row["strip"]

    return _gather(rows, read)


# --------------------------------------------------------------------------- splits


def strip_profiles(images: np.ndarray, bins: int = 96) -> np.ndarray:
    """Row-averaged colour profiles, downsampled to ``bins`` per channel: ``(N, 3 * bins)`` float32."""
    images = np.asarray(images, dtype=np.float32)
    n, _, width, channels = images.shape
    profile = images.mean(axis=1)  # (N, 480, 3): what a row-averaging model sees
    profile = profile.reshape(n, bins, width // bins, channels).mean(axis=2)
    return profile.transpose(0, 2, 1).reshape(n, channels * bins)


def group_near_duplicates(images: np.ndarray, filenames: Sequence[str] | None = None,
                          threshold: float = 0.995) -> np.ndarray:
    """Group id ``(N,) int64`` per strip; near-duplicate photos share a group.

    Two strips are near-duplicates when their downsampled colour profiles correlate at
    ``threshold`` or more (a photo re-saved, rescaled, re-exposed or flipped top-to-bottom), or
    when their photo names are the same apart from the extension and letter case (nnSIC's
    files are named after Spectral Workbench ids: ``62239.png`` and ``62239.jpg`` are one photo).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(images)
    edges_i: list[np.ndarray] = []
    edges_j: list[np.ndarray] = []
    if filenames is not None:  # each strip to the first strip of the same photo name
        keys = [os.path.splitext(str(name).replace("\\", "/").lower())[0] for name in filenames]
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        edges_i.append(np.arange(n))
        edges_j.append(first[inverse.ravel()])
    vectors = strip_profiles(images)
    vectors -= vectors.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.where(norms > 0, norms, 1.0)  # a flat (black) strip correlates with nothing but itself
    for start in range(0, n, 1024):  # blocks keep the N x N correlation matrix small
        rows, cols = np.nonzero(vectors[start:start + 1024] @ vectors.T >= threshold)
        edges_i.append(rows + start)
        edges_j.append(cols)
    i = np.concatenate(edges_i) if edges_i else np.zeros(0, np.int64)
    j = np.concatenate(edges_j) if edges_j else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(i), np.int32), (i, j)), shape=(n, n))
    # components are numbered in order of their first strip, so the same strips give the same groups
    _, groups = connected_components(graph, directed=False)
    return groups.astype(np.int64)


def _take_groups(group_ids: np.ndarray, sizes: Mapping[int, int], target: int) -> set[int]:
    """Groups (in the given order) whose total size comes closest to ``target`` strips."""
    if len(group_ids) == 0:
        return set()
    cumulative = np.cumsum([sizes[g] for g in group_ids])
    k = int(np.argmin(np.abs(cumulative - target))) + 1 if target > 0 else 0
    return set(group_ids[:k].tolist())


def split_groups(labels: np.ndarray, groups: np.ndarray, test_fraction: float = 0.1,
                 vali_fraction: float = 0.1, seed: int = 0) -> dict[str, np.ndarray]:
    """Indices of each split, stratified by class, keeping every group on one side.

    ``test`` is ``test_fraction`` of each class's strips, ``vali`` is ``vali_fraction`` of the rest,
    both at least one group when the class has three or more groups. Returns sorted index arrays.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    rng = np.random.default_rng(seed)
    sizes = Counter(groups.tolist())
    # A group's class is its most common label (near-duplicates with two labels stay together).
    _, group_index = np.unique(groups, return_inverse=True)
    votes = np.zeros((group_index.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(votes, (group_index, labels), 1)
    group_label = {int(g): int(votes[k].argmax()) for k, g in enumerate(np.unique(groups))}
    chosen = {"test": set(), "vali": set()}
    for c in sorted(set(group_label.values())):
        ids = np.array(sorted(g for g, lab in group_label.items() if lab == c))
        ids = ids[rng.permutation(len(ids))]
        n = sum(sizes[g] for g in ids)
        many = len(ids) >= 3
        test = _take_groups(ids, sizes, max(round(test_fraction * n), int(many)))
        rest = np.array([g for g in ids if g not in test])
        n_rest = sum(sizes[g] for g in rest)
        vali = _take_groups(rest, sizes, max(round(vali_fraction * n_rest), int(many)))
        chosen["test"] |= test
        chosen["vali"] |= vali
    in_test = np.isin(groups, list(chosen["test"]))
    in_vali = np.isin(groups, list(chosen["vali"]))
    return {"train": np.flatnonzero(~in_test & ~in_vali), "vali": np.flatnonzero(in_vali),
            "test": np.flatnonzero(in_test)}


def oversample_to_minimum(labels: np.ndarray, minimum: int, seed: int = 0) -> np.ndarray:
    """Indices into ``labels`` giving every class at least ``minimum`` strips, in shuffled order.

    Every strip is kept; a class below ``minimum`` is topped up by repeating its strips as evenly
    as possible (whole copies, then a random remainder without repeats), unlike nnSIC's random
    choice, which repeats some photos many times and others never.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = [np.arange(len(labels))]
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        need = minimum - len(members)
        if need > 0:
            copies, remainder = divmod(need, len(members))
            picked += [members] * copies + [rng.choice(members, size=remainder, replace=False)]
    index = np.concatenate(picked)
    return index[rng.permutation(len(index))]


def make_splits(images: np.ndarray, labels: np.ndarray, filenames: Sequence[str], *,
                test_fraction: float = 0.1, vali_fraction: float = 0.1, min_per_class: int = 400,
                flip_fraction: float = 0.5, duplicate_threshold: float = 0.995, seed: int = 0,
                source: str = "the strips") -> dict[str, Split]:
    """Train, vali and test sets ready to write, without leaks between them.

    Steps: group near-duplicate photos (:func:`group_near_duplicates`), split the groups stratified
    by class (:func:`split_groups`), over-sample only the training set to ``min_per_class``
    (:func:`oversample_to_minimum`), then flip ``flip_fraction`` of the train and vali strips
    top-to-bottom as nnSIC did (the test set stays as photographed). ``source`` names the data in
    error messages (e.g. the manifest's path). Same seed, same splits.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) == 0:
        raise ValueError(f"{source}: no strips to split")
    counts = Counter(labels.tolist())
    empty = [f"{c} ({CLASS_NAMES[c]})" for c in range(NUM_CLASSES) if counts.get(c, 0) == 0]
    if empty:
        raise ValueError(f"{source}: class {', '.join(empty)} has no strips; every class needs photos "
                         f"(at least 3 for a train, vali and test share): add some and rerun chapter 02")
    groups = group_near_duplicates(images, filenames, threshold=duplicate_threshold)
    few = [f"{c} ({CLASS_NAMES[c]}: {len(set(groups[labels == c].tolist()))})" for c in range(NUM_CLASSES)
           if len(set(groups[labels == c].tolist())) < 3]
    if few:
        raise ValueError(f"{source}: class {', '.join(few)} has fewer than 3 distinct photos, so it cannot "
                         f"appear in train, vali and test; add photos of that class")
    index = split_groups(labels, groups, test_fraction, vali_fraction, seed)
    rng = np.random.default_rng([seed, 1])
    index["train"] = index["train"][oversample_to_minimum(labels[index["train"]], min_per_class, seed)]
    index["vali"] = index["vali"][rng.permutation(len(index["vali"]))]
    index["test"] = index["test"][rng.permutation(len(index["test"]))]
    splits = {}
    for name in SPLITS:
        idx = index[name]
        flipped = np.zeros(len(idx), dtype=bool)
        if name != "test":
            flipped[rng.choice(len(idx), size=int(len(idx) * flip_fraction), replace=False)] = True
        split_images = images[idx].copy()
        split_images[flipped] = split_images[flipped][:, ::-1]
        splits[name] = Split(split_images, labels[idx].astype(np.int64), [str(filenames[i]) for i in idx],
                             idx, flipped)
    return splits


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance_path(out_dir: str | Path, name: str) -> Path:
    """``out_dir/{name}_records.json``: what :func:`write_splits` wrote the records of ``name`` from."""
    return Path(out_dir) / f"{name}_records.json"


def _rewritable(targets: Mapping[str, Path], sidecar: Path, provenance: Mapping | None) -> bool:
    """Records this function wrote from the same source with the same settings, untouched since:
    their strips changed (chapter 02 recut them, a newer generator redrew the photos), so they are
    stale derived data, and writing the new ones loses nothing anybody made."""
    if provenance is None or not sidecar.is_file():
        return False
    try:
        with open(sidecar, encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or recorded.get("provenance") != json.loads(json.dumps(dict(provenance))):
        return False
    files = recorded.get("sha256", {})
    return all(not path.exists() or files.get(split) == _file_sha256(path) for split, path in targets.items())


def write_splits(splits: Mapping[str, Split], out_dir: str | Path, name: str = "synthetic",
                 overwrite: bool = False, provenance: Mapping | None = None) -> dict[str, Path]:
    """Write ``out_dir/{name}_{split}.tfrecords`` for train, vali and test; return the paths.

    Nothing is written when any of the three already exists with other contents and
    ``overwrite`` is False (``FileExistsError`` says how to proceed); identical files are kept.
    ``provenance`` (JSON-able: where the strips came from and the split settings, as chapter 03
    passes them) is saved beside the records (:func:`provenance_path`, with each file's SHA-256):
    records written from the same provenance and not changed since are replaced without
    ``overwrite``, since only the strips they were made from changed.
    """
    out_dir = Path(out_dir)
    targets = {s: out_dir / f"{name}_{s}.tfrecords" for s in SPLITS}
    sidecar = provenance_path(out_dir, name)
    tmps = {s: _atomic_target(path) for s, path in targets.items()}  # fresh names: nobody's files
    try:
        for s in SPLITS:  # write all three aside first: refuse before touching any existing file
            write_records(tmps[s], splits[s].images, splits[s].labels, splits[s].filenames, overwrite=True)
        clash = [p for s, p in targets.items() if p.exists() and not _same_bytes(tmps[s], p)]
        if clash and not overwrite and not _rewritable(targets, sidecar, provenance):
            raise FileExistsError(f"{', '.join(str(p) for p in clash)} already exist(s) with a different "
                                  f"dataset; pass overwrite=True (OVERWRITE = True in chapter 03) to "
                                  f"replace them, or choose another name / folder")
        for s in SPLITS:
            _commit(tmps[s], targets[s], overwrite=True)
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()
    if provenance is not None:
        record = {"provenance": dict(provenance), "sha256": {s: _file_sha256(p) for s, p in targets.items()}}
        files.write_json(sidecar, record, sort_keys=True)
    elif sidecar.exists():
        sidecar.unlink()  # records of unknown provenance now: the old note would vouch for them
    return targets


def count_table(label_sets: Mapping[str, Sequence[int]]) -> str:
    """Text table of strips per class (rows) and split (columns), with totals."""
    columns = list(label_sets)
    counts = {k: Counter(np.asarray(v).tolist()) for k, v in label_sets.items()}
    width = max(8, *(len(c) + 1 for c in columns))
    lines = [f"{'class':<14}" + "".join(f"{c:>{width}}" for c in columns)]
    for i, cls in enumerate(CLASS_NAMES):
        lines.append(f"{i} {cls:<12}" + "".join(f"{counts[c].get(i, 0):>{width}}" for c in columns))
    lines.append(f"{'total':<14}" + "".join(f"{sum(counts[c].values()):>{width}}" for c in columns))
    return "\n".join(lines)


# --------------------------------------------------------------------------- tf.data


def _as_file_list(files) -> list[str]:
    if isinstance(files, (str, Path)):
        files = [files]
    files = [Path(f) for f in files]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"no TFRecord file {f}")
    if not files:
        raise ValueError("make_dataset needs at least one TFRecord file")
    return [str(f) for f in files]


def parse_batch(serialized):
    """Parse a batch of serialised records: ``(uint8 (B, 15, 480, 3), int64 (B,))`` tensors.

    Parsing after batching is about 2x faster than record by record (benchmarks/bench_records.py; docs/sources.md#batch-parsing-of-tfrecords).
    """
    import tensorflow as tf

    h, w, c = STRIP_SHAPE
    parsed = tf.io.parse_example(serialized, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "height": tf.io.FixedLenFeature([], tf.int64),
        "width": tf.io.FixedLenFeature([], tf.int64),
    })
    label = parsed["label"]
    fits = ((parsed["height"] == h) & (parsed["width"] == w) & (label >= 0) & (label < NUM_CLASSES)
            & (tf.strings.length(parsed["image"]) == h * w * c))
    # One combined check keeps the per-batch cost small; load_examples names the offending record.
    checks = [tf.debugging.Assert(tf.reduce_all(fits), [
        f"a record is not a {h}x{w} strip of {h * w * c} bytes with a label in 0..{NUM_CLASSES - 1}; "
        "find it with spectral_nb.records.load_examples(path)"])]
    with tf.control_dependencies(checks):
        images = tf.reshape(tf.io.decode_raw(parsed["image"], tf.uint8), [-1, h, w, c])
    return images, parsed["label"]


def _augment_names(augment) -> tuple[str, ...]:
    if augment is None:
        return ()
    names = (augment,) if isinstance(augment, str) else tuple(augment)
    unknown = [a for a in names if a not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {AUGMENTATIONS}")
    return names


def augment_images(images, seed, augment=("flip_lr", "shift", "stretch"), max_shift_px: float = 16.0,
                   max_stretch: float = 0.05):
    """Randomly augmented copy of a batch ``uint8 (B, 15, 480, 3)`` (a tensor; works eagerly on arrays).

    ``seed`` is an int or a shape-(2,) integer tensor (stateless randomness: same seed, same
    result). ``flip_ud`` flips half the strips top-to-bottom (no effect on the row-averaged
    profile); ``flip_lr`` reverses half of them along the wavelength axis (for photos taken
    either way round); ``shift`` moves each strip by up to ``max_shift_px`` columns and
    ``stretch`` scales it by up to ``max_stretch`` about the centre (another spectroscope's
    wavelength range and dispersion), edges repeated, linear interpolation. The photometric ones
    (:data:`PHOTOMETRIC_AUGMENTATIONS`: ``gain``, ``gamma``, ``white_balance``, ``black_level``,
    ``noise``, ``blur``) change each strip as another camera's exposure, tone curve, white balance,
    black level, noise or focus would (see :func:`_photometric` for the ranges).
    """
    import tensorflow as tf

    names = _augment_names(augment)
    images = tf.convert_to_tensor(images, dtype=tf.uint8)
    seed = tf.cast(tf.reshape(tf.convert_to_tensor(seed), [-1]), tf.int64)
    seed = tf.concat([seed, tf.zeros([2], tf.int64)], 0)[:2]
    batch = tf.shape(images)[0]
    height, width, channels = STRIP_SHAPE

    def coin(k: int):
        return tf.random.stateless_uniform([batch], seed + [k, 0]) < 0.5

    # Every change is one gather (of rows, or of whole columns), far faster than tf.reverse/tf.where.
    if "flip_ud" in names:
        rows = tf.range(height)[None, :]
        rows = tf.where(coin(1)[:, None], height - 1 - rows, rows)  # (B, 15)
        images = tf.gather(images, rows, axis=1, batch_dims=1)
    geometric = [a for a in names if a in ("flip_lr", "shift", "stretch")]
    if geometric:
        source = tf.broadcast_to(tf.range(width, dtype=tf.float32)[None, :], [batch, width])
        if "flip_lr" in names:
            source = tf.where(coin(2)[:, None], width - 1.0 - source, source)
        if "shift" in names or "stretch" in names:
            shift = tf.random.stateless_uniform([batch, 1], seed + [3, 0], -1.0, 1.0) * \
                (max_shift_px if "shift" in names else 0.0)
            scale = 1.0 + tf.random.stateless_uniform([batch, 1], seed + [4, 0], -1.0, 1.0) * \
                (max_stretch if "stretch" in names else 0.0)
            centre = (width - 1) / 2.0
            source = tf.clip_by_value(centre + (source - centre) / scale - shift, 0.0, width - 1.0)
        left = tf.cast(tf.floor(source), tf.int32)  # (B, 480) column each output column comes from
        right = tf.minimum(left + 1, width - 1)
        columns = tf.reshape(tf.transpose(images, [0, 2, 1, 3]), [batch, width, height * channels])
        a = tf.gather(columns, left, batch_dims=1)
        if "shift" in names or "stretch" in names:  # linear interpolation between neighbour columns
            b = tf.cast(tf.gather(columns, right, batch_dims=1), tf.float32)
            weight = (source - tf.cast(left, tf.float32))[:, :, None]
            a = tf.cast(tf.round(tf.cast(a, tf.float32) + (b - tf.cast(a, tf.float32)) * weight), tf.uint8)
        images = tf.transpose(tf.reshape(a, [batch, width, height, channels]), [0, 2, 1, 3])
    photometric = [a for a in names if a in PHOTOMETRIC_AUGMENTATIONS]
    if photometric:
        images = _photometric(images, seed, photometric)
    return images


def _photometric(images, seed, names):
    """Per strip: gain (exposure x0.4-1.6), gamma (0.67-1.5), white balance (each channel x0.78-1.28),
    black level (-0.08 to +0.06 of full scale), noise (uniform, sigma up to 3% of full scale), blur
    (half the strips, a 5-tap binomial along the wavelength axis); clipped to 0-255 as a camera would.

    The pointwise changes (gain, gamma, white balance, black level) become one 256-entry lookup
    table per strip and channel, applied with one gather: 4x faster than computing them per pixel.
    """
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def uniform(k: int, shape, low: float, high: float):
        return tf.random.stateless_uniform(shape, seed + [k, 7], low, high)

    pointwise = [n for n in names if n in ("gain", "gamma", "white_balance", "black_level")]
    if pointwise:
        lut = tf.broadcast_to(tf.range(256, dtype=tf.float32)[None, None, :] / 255.0, [batch, 3, 256])
        if "gamma" in names:
            lut = tf.pow(lut + 1e-6, tf.exp(uniform(11, [batch, 1, 1], -0.4, 0.4)))
        if "gain" in names:
            lut = lut * tf.exp(uniform(12, [batch, 1, 1], -0.9, 0.5))
        if "white_balance" in names:
            lut = lut * tf.exp(uniform(13, [batch, 3, 1], -0.25, 0.25))
        if "black_level" in names:
            offset = uniform(14, [batch, 1, 1], -0.08, 0.06)
            lut = (lut + offset) / (1 + offset)
        table = tf.reshape(lut, [-1])                                       # (B * 3 * 256,)
        base = (tf.range(batch)[:, None, None, None] * 3 + tf.range(3)[None, None, None, :]) * 256
        x = tf.gather(table, base + tf.cast(images, tf.int32))            # (B, 15, 480, 3) float in [~0, ~1]
    else:
        x = tf.cast(images, tf.float32) / 255.0
    if "noise" in names:  # uniform noise of the same sigma: as good for this, 3x cheaper than normal
        sigma = uniform(16, [batch, 1, 1, 1], 0.0, 0.03)
        x = x + (tf.random.stateless_uniform(tf.shape(x), seed + [15, 7], -1.0, 1.0) * 1.7320508) * sigma
    if "blur" in names:
        padded = tf.pad(x, [[0, 0], [0, 0], [2, 2], [0, 0]], mode="SYMMETRIC")
        width = STRIP_SHAPE[1]
        blurred = (padded[:, :, 0:width] + 4 * padded[:, :, 1:width + 1] + 6 * padded[:, :, 2:width + 2]
                   + 4 * padded[:, :, 3:width + 3] + padded[:, :, 4:width + 4]) / 16.0
        pick = tf.cast(uniform(17, [batch, 1, 1, 1], 0.0, 1.0) < 0.5, tf.float32)
        x = pick * blurred + (1 - pick) * x
    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)


def make_dataset(files, batch_size: int = 64, shuffle: bool = False, seed: int = 0, augment=None,
                 shuffle_buffer: int = 4096, **augment_options):
    """A ``tf.data.Dataset`` of ``(uint8 (B, 15, 480, 3), int64 (B,))`` batches from TFRecord files.

    Read, (shuffle: records, reshuffled every epoch, seeded), batch, parse the whole batch at once,
    (augment: see :func:`augment_images`, seeded), prefetch. ``files`` is one path or several.
    """
    import tensorflow as tf

    names = _augment_names(augment)
    dataset = tf.data.TFRecordDataset(_as_file_list(files), buffer_size=1 << 20)  # 1 MB reads (default 256 kB) measured faster
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(parse_batch, num_parallel_calls=tf.data.AUTOTUNE)
    if names:
        dataset = augment_batches(dataset, names, seed, **augment_options)
    return dataset.prefetch(tf.data.AUTOTUNE)


def augment_batches(dataset, augment, seed: int = 0, **augment_options):
    """``dataset`` of ``(images, labels)`` batches with :func:`augment_images` applied to the images,
    a fresh stateless seed per batch (seeded by ``seed``, new draws every epoch)."""
    import tensorflow as tf

    names = _augment_names(augment)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds).map(
        lambda batch, s: (augment_images(batch[0], s, names, **augment_options), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- named datasets


def dataset_files(name: str, paths) -> dict[str, Path]:
    """The train/vali/test files of a named dataset, checked to exist.

    ``"synthetic"`` (or any name chapter 03 wrote, e.g. your own photos'):
    ``paths.records_dir/{name}_{split}.tfrecords``; ``"nnsic"``: nnSIC's public files in
    ``paths.nnsic_dir`` (see :func:`download_nnsic`).
    """
    from spectral_nb.book import MissingInputError

    if name == "nnsic":
        files = {s: paths.nnsic_dir / f"MyDataV2_{s}.tfrecords" for s in SPLITS}
        missing = [p for p in files.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"nnSIC's public dataset is not in {paths.relative(paths.nnsic_dir)} (missing "
                f"{missing[0].name}). Download it (about 70 MB, needs internet) with "
                f"`spectral_nb.records.download_nnsic(paths.nnsic_dir)`, or by hand from "
                f"{NNSIC_BASE_URL} into that folder")
        return files
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"dataset name {name!r}: use 'synthetic', 'nnsic', or a plain name chapter 03 wrote")
    files = {s: paths.records_dir / f"{name}_{s}.tfrecords" for s in SPLITS}
    missing = [p for p in files.values() if not p.is_file()]
    if missing:
        raise MissingInputError(
            f"dataset {name!r} needs {paths.relative(missing[0])}, which notebook 03_tfrecord_creation.ipynb "
            f"writes (with DATASET = {name!r}). Run it first.")
    return files


def git_blob_id(path: str | Path) -> str:
    """The id ``git hash-object FILE`` prints: sha1 of ``b"blob <size>\\0"`` + the file's bytes."""
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_nnsic(dest_dir: str | Path, base_url: str = NNSIC_BASE_URL,
                   blob_ids: Mapping[str, str] = NNSIC_BLOB_IDS, timeout: float = 60.0) -> dict[str, Path]:
    """Download nnSIC's public ``MyDataV2_{train,vali,test}.tfrecords`` into ``dest_dir``, verified.

    A file already there with the published git blob id is reused (no download). Each download
    goes to a temporary file that is kept only if its blob id matches; a mismatch removes that
    temporary file and raises. A different file already at the target is never touched.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for split, expected in blob_ids.items():
        target = dest_dir / f"MyDataV2_{split}.tfrecords"
        if target.exists():
            found = git_blob_id(target)
            if found != expected:
                raise ValueError(f"{target} exists but is not nnSIC's published file (git blob id {found}, "
                                 f"expected {expected}); move it away and call download_nnsic again")
            files[split] = target
            continue
        url = base_url.rstrip("/") + "/" + target.name
        tmp = _atomic_target(target)
        try:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out, 1 << 20)
            except (urllib.error.URLError, OSError) as err:
                raise ConnectionError(f"could not download {url} ({err}); check the internet connection, "
                                      f"or download it by hand into {dest_dir}") from None
            found = git_blob_id(tmp)
            if found != expected:
                raise ValueError(f"{url} gave a file with git blob id {found}, not the published {expected}: "
                                 f"rejected and removed (a damaged or changed download)")
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        files[split] = target
    return files


# --------------------------------------------------------------------------- figures


def plot_strip_montage(images: np.ndarray, labels: np.ndarray, per_class: int = 3, ax=None, gap: int = 3):
    """The first ``per_class`` strips of each class stacked top to bottom, labelled; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.22 * per_class * NUM_CLASSES + 0.6))
    rows, ticks, names = [], [], []
    y = 0
    for c in range(NUM_CLASSES):
        chosen = np.flatnonzero(np.asarray(labels) == c)[:per_class]
        for i in chosen:
            rows += [images[i], np.full((gap, *STRIP_SHAPE[1:]), 255, np.uint8)]
        if len(chosen):
            block = len(chosen) * (STRIP_SHAPE[0] + gap)
            ticks.append(y + (block - gap) / 2 - 0.5)
            names.append(f"{c} {CLASS_NAMES[c]}")
            y += block
    ax.imshow(np.concatenate(rows[:-1]) if rows else np.zeros(STRIP_SHAPE, np.uint8), aspect="auto")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("column (pixels, blue on the left)")
    return ax
