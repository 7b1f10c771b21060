"""Strip folders in, leak-free splits out: near-duplicate groups kept on one side, minority classes
over-sampled, half flipped, written once with their provenance; a montage of strips per class."""
from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from spectral_nb import files
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, check_label, check_labels
from spectral_nb.records.format import SPLITS, _atomic_target, _commit, _gather, _same_bytes, write_records

class Split(NamedTuple):
    """One split, exactly as written: strips ``(N, 15, 480, 3) uint8``, labels ``(N,)``, names."""

    images: np.ndarray
    labels: np.ndarray
    filenames: list[str]
    source_index: np.ndarray  # (N,) index of each strip in the arrays given to make_splits
    flipped: np.ndarray  # (N,) bool: flipped top-to-bottom before writing


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


def binned_colour_profiles(images: np.ndarray, bins: int = 96) -> np.ndarray:
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
    vectors = binned_colour_profiles(images)
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


def balanced_class_weights(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> dict[int, float]:
    """``{class: weight}`` that make every class count as much in the loss as the others, the
    alternative to :func:`oversample_to_minimum`: ``len(labels) / (num_classes * count)`` (scikit-learn's
    "balanced"), for ``keras.Model.fit(class_weight=...)``. A class without strips is refused."""
    labels = check_labels(labels, num_classes=num_classes)
    counts = np.bincount(labels, minlength=num_classes)
    if (counts == 0).any():
        missing = ", ".join(f"{c} ({CLASS_NAMES[c]})" for c in np.flatnonzero(counts == 0))
        raise ValueError(f"class {missing} has no strips: a class weight cannot make up for a class that is absent")
    return {c: float(len(labels) / (num_classes * counts[c])) for c in range(num_classes)}


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


# --------------------------------------------------------------------------- figures


def first_per_class(labels: np.ndarray, per_class: int = 3) -> np.ndarray:
    """Indices of the first ``per_class`` items of each class, class by class (``(<= 7 * per_class,) int64``):
    what a montage of a split shows (``figures.plot_strip_montage(images[i], titles)``)."""
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    labels = np.asarray(labels)
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(NUM_CLASSES)]).astype(np.int64)
