"""Datasets: many strips at once (:func:`generate_strips`) and folders of photos with their
ground truth (:func:`generate_photo_folder`, :func:`read_labels`), reproducible from a seed."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from spectral_nb import files
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE
from spectral_nb.synthesis.render import Spectroscope, render_photo, render_strip

#: Raw photos per class in nnSIC's dataset (labels 0-6).
NNSIC_PHOTO_COUNTS: tuple[int, ...] = (506, 598, 280, 119, 54, 81, 103)
#: How many times nnSIC's counts the book's synthetic dataset holds: a synthetic photo costs milliseconds, and
#: twice as many draws of cameras, instruments and lamps scored better on real strips than nnSIC's count
#: (benchmarks/results/sim_to_real_nnsic_photo_count.md).
BOOK_PHOTO_SCALE = 2
#: Photos per class of the book's synthetic dataset (chapter 01): nnSIC's imbalance, :data:`BOOK_PHOTO_SCALE` times over.
BOOK_PHOTO_COUNTS: tuple[int, ...] = tuple(BOOK_PHOTO_SCALE * n for n in NNSIC_PHOTO_COUNTS)
#: Version of the generator, stored beside a generated photo folder (a change regenerates it).
GENERATOR_VERSION = "7"


def _check_counts(counts: Sequence[int]) -> tuple[int, ...]:
    try:
        values = tuple(counts)
    except TypeError:
        raise ValueError(f"counts must be a sequence of {NUM_CLASSES} non-negative ints (one per class), got {counts!r}") from None
    if len(values) != NUM_CLASSES:
        raise ValueError(f"counts must have one entry per class ({NUM_CLASSES}), got {len(values)}: {values!r}")
    for label, n in enumerate(values):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"counts[{label}] ({CLASS_NAMES[label]}) must be a non-negative int, got {n!r}")
    return tuple(int(n) for n in values)


def _item_rng(seed: int, label: int, index: int) -> np.random.Generator:
    """The generator of one item: depends only on (seed, label, index within the class)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(label), int(index)]))


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive int (processes to render with; 1 = this process), got {workers!r}")
    return int(workers)


def _in_chunks(fn, items: list, workers: int, *args) -> list:
    """``fn(*args, chunk)`` over chunks of ``items`` in ``workers`` processes (this one and
    ``workers - 1`` forked or spawned helpers); results in item order."""
    if workers == 1 or len(items) < 2:
        return fn(*args, items)
    from concurrent.futures import ProcessPoolExecutor

    own = len(items) // workers  # this process renders the first share while the helpers do the rest
    rest = items[own:]
    size = max(1, -(-len(rest) // (3 * (workers - 1))))  # a few chunks per helper: an even finish
    chunks = [rest[i:i + size] for i in range(0, len(rest), size)]
    with ProcessPoolExecutor(min(workers - 1, len(chunks))) as pool:
        futures = [pool.submit(fn, *args, chunk) for chunk in chunks]
        first = fn(*args, items[:own])
        return first + [result for future in futures for result in future.result()]


def _strip_chunk(seed: int, spectroscope: Spectroscope | None,
                 items: list[tuple[int, int]]) -> list[tuple[np.ndarray, list[dict]]]:
    """Strips ``items`` ((label, k) pairs) as one stacked array and their truths (one cheap pickle)."""
    rendered = [render_strip(label, _item_rng(seed, label, k), spectroscope) for label, k in items]
    return [(np.stack([image for image, _ in rendered]), [truth for _, truth in rendered])] if rendered else []


def generate_strips(counts: Sequence[int], seed: int, workers: int = 1, spectroscope: Spectroscope | None = None
                    ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``counts[label]`` strips per class: images ``(N, 15, 480, 3) uint8``, labels ``(N,) int64``, truths.

    Each strip through a random instrument and camera, or all through one ``spectroscope``.
    Items are in label order; item ``k`` of class ``label`` depends only on ``(seed, label, k)``,
    so the same seed gives the same bytes, and adding items to one class leaves the others alone.
    ``workers`` > 1 renders in that many processes (same bytes; worth it from a few hundred strips).
    """
    counts = _check_counts(counts)
    seed = _check_seed(seed)
    workers = _check_workers(workers)
    items = [(label, k) for label, count in enumerate(counts) for k in range(count)]
    labels = np.array([label for label, _ in items], dtype=np.int64)
    chunks = _in_chunks(_strip_chunk, items, workers, seed, spectroscope)
    images = np.concatenate([stack for stack, _ in chunks]) if chunks else np.empty((0, *STRIP_SHAPE), np.uint8)
    truths = [truth for _, part in chunks for truth in part]
    return images, labels, truths



_CSV_COLUMNS = ("path", "label", "class_name", "source", "dispersion", "blue_first", "band_x0", "band_y0",
                "band_x1", "band_y1", "nm_first", "nm_last", "width", "height")


def _folder_signature(counts: tuple[int, ...], seed: int) -> dict:
    return {"generator": "spectral_nb.synthesis", "version": GENERATOR_VERSION, "counts": list(counts), "seed": seed}


def _photo_chunk(out_dir: str, seed: int, items: list[tuple[int, int]]) -> list[dict]:
    """Render and save photos ``items`` ((label, k) pairs) into ``out_dir``; their labels.csv rows."""
    from PIL import Image

    rows = []
    for label, k in items:
        sub = f"{label}_{CLASS_NAMES[label]}"
        rng = _item_rng(seed, label, k)
        photo, truth = render_photo(label, rng)
        rel = f"{sub}/{sub}_{k:04d}.jpg"
        quality = int(rng.integers(70, 96))
        Image.fromarray(photo).save(Path(out_dir) / rel, format="JPEG", quality=quality)
        x0, y0, x1, y1 = truth["band_box"]
        rows.append({"path": rel, "label": label, "class_name": CLASS_NAMES[label], "source": truth["source"],
                     "dispersion": truth["dispersion"], "blue_first": int(truth["blue_first"]),
                     "band_x0": x0, "band_y0": y0, "band_x1": x1, "band_y1": y1,
                     "nm_first": f"{truth['nm_at_band_ends'][0]:.2f}", "nm_last": f"{truth['nm_at_band_ends'][1]:.2f}",
                     "width": photo.shape[1], "height": photo.shape[0]})
    return rows


def generate_photo_folder(out_dir: str | Path, counts: Sequence[int], seed: int, overwrite: bool = False,
                          workers: int = 1) -> Path:
    """Write ``counts[label]`` synthetic JPEG photos per class into ``out_dir``; return ``labels.csv``'s path.

    Layout: ``out_dir/<label>_<classname>/<label>_<classname>_<k>.jpg`` plus ``labels.csv``
    (columns ``path`` relative to ``out_dir``, ``label``, ``class_name``, ``source``,
    ``dispersion``, ``blue_first``, ``band_x0/y0/x1/y1``, ``nm_first``, ``nm_last``, ``width``,
    ``height``) and ``synthesis.json`` (the recipe). If the same recipe is already there it is
    reused; if only the generator's version differs (and the folder holds nothing else) the photos
    are made again. A folder holding anything else is refused (FileExistsError) unless ``overwrite=True``,
    which replaces only files this function made and never deletes anything else. ``workers`` > 1
    renders and saves in that many processes (same files).
    """
    counts = _check_counts(counts)
    seed = _check_seed(seed)
    workers = _check_workers(workers)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} is a file, not a folder: choose another output folder for the photos")
    labels_csv = out_dir / "labels.csv"
    recipe_path = out_dir / "synthesis.json"
    signature = _folder_signature(counts, seed)
    existing = [p for p in out_dir.rglob("*") if p.is_file()] if out_dir.exists() else []
    if existing:
        old_recipe = None
        if recipe_path.exists():
            try:
                old_recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old_recipe = None
        made_by_us = set()
        if old_recipe is not None and labels_csv.exists():
            with open(labels_csv, newline="", encoding="utf-8") as f:
                made_by_us = {(out_dir / row["path"]).resolve() for row in csv.DictReader(f)}
            made_by_us |= {labels_csv.resolve(), recipe_path.resolve()}
        if old_recipe == signature and all(p.exists() for p in made_by_us):
            foreign = [p for p in existing if p.resolve() not in made_by_us]
            if not foreign:
                return labels_csv
        foreign = [p for p in existing if p.resolve() not in made_by_us]
        # the same dataset from an earlier generator version, nothing else in the folder: the
        # files are the book's own, out of date, so they are replaced (nothing a user made is touched)
        outdated = (not foreign and isinstance(old_recipe, dict)
                    and {k: v for k, v in old_recipe.items() if k != "version"}
                    == {k: v for k, v in signature.items() if k != "version"})
        if not overwrite and not outdated:
            if foreign:
                held = f"{len(foreign)} file(s) that this function did not write (e.g. {foreign[0]})"
            else:
                held = f"another dataset ({len(existing)} file(s) made with other counts or another seed)"
            raise FileExistsError(
                f"{out_dir} already holds {held}; choose an empty folder, or pass overwrite=True to replace "
                "the generated files (files you made are never deleted)"
            )
        for p in made_by_us:  # only what an earlier run of this function wrote
            if p.exists() and p.is_file():
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    for label, count in enumerate(counts):
        if count:
            (out_dir / f"{label}_{CLASS_NAMES[label]}").mkdir(exist_ok=True)
    items = [(label, k) for label, count in enumerate(counts) for k in range(count)]
    rows = _in_chunks(_photo_chunk, items, workers, str(out_dir), seed)
    files.write_csv(labels_csv, _CSV_COLUMNS, rows)
    files.write_json(recipe_path, signature)
    return labels_csv


# ----------------------------------------------------------------------------------- inspection
def read_labels(labels_csv: str | Path) -> list[dict]:
    """Rows of a ``labels.csv`` written by :func:`generate_photo_folder` (ints and bools converted)."""
    labels_csv = Path(labels_csv)
    if not labels_csv.exists():
        raise FileNotFoundError(f"{labels_csv} does not exist: generate the photos first (chapter 01, generate_photo_folder)")
    rows = []
    with open(labels_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for key in ("label", "band_x0", "band_y0", "band_x1", "band_y1", "width", "height"):
                if key in row:
                    row[key] = int(row[key])
            if "blue_first" in row:
                row["blue_first"] = row["blue_first"] in ("1", "True", "true")
            rows.append(row)
    return rows


def strip_from_band_box(photo: np.ndarray, band_box: Sequence[int], dispersion: str, blue_first: bool) -> np.ndarray:
    """Cut the known band out of a photo and turn it into a ``(15, 480, 3) uint8`` strip, blue on the left.

    Uses the ground-truth box (what chapter 02's preprocessing has to find by itself).
    """
    from PIL import Image

    x0, y0, x1, y1 = (int(v) for v in band_box)
    crop = np.asarray(photo)[y0:y1, x0:x1]
    if crop.size == 0:
        raise ValueError(f"band box {tuple(band_box)} is empty for a photo of shape {np.shape(photo)}")
    if dispersion == "vertical":
        crop = crop.transpose(1, 0, 2)
    elif dispersion != "horizontal":
        raise ValueError(f"dispersion must be 'horizontal' or 'vertical', got {dispersion!r}")
    if not blue_first:
        crop = crop[:, ::-1]
    rows, cols, _ = STRIP_SHAPE
    return np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((cols, rows), Image.BILINEAR))


