"""Folders of photos: a labelled folder in, strips and a manifest out, resumable, never touching the photos."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from spectral_nb import files
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, check_label
from spectral_nb.preprocessing.params import (IMAGE_SUFFIXES, MANIFEST_COLUMNS, PhotoError,
                                              PreprocessParams, params_digest)
from spectral_nb.preprocessing.cut import preprocess_photo


# ------------------------------------------------------------------------------------ folders
def read_labelled_folder(folder: str | Path, labels_csv: str | Path | None = None) -> list[tuple[str, int]]:
    """The photos of a labelled folder as ``(path relative to folder, label)``, sorted.

    Labels come from ``labels_csv`` (columns ``path,label``), else ``folder/labels.csv`` if present,
    else from sub-folder names that start with the label (``1``, ``1_mercury``, ``3-neon`` ...).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give a folder with one sub-folder per label "
                                "(0_LED, 1_mercury, ...) or a labels.csv of path,label")
    csv_path = Path(labels_csv) if labels_csv is not None else folder / "labels.csv"
    items: list[tuple[str, int]] = []
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not {"path", "label"} <= set(reader.fieldnames or []):
                raise ValueError(f"{csv_path}: needs the columns path,label (has {reader.fieldnames})")
            for i, row in enumerate(reader, start=2):
                items.append((row["path"], check_label(row["label"], f"{csv_path}, row {i}")))
    else:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            head = sub.name.replace("-", "_").split("_")[0]
            if not head.isdigit():
                continue
            label = check_label(head, f"sub-folder {sub}")
            for photo in sorted(sub.rglob("*")):
                if photo.suffix.lower() in IMAGE_SUFFIXES and photo.is_file():
                    items.append((photo.relative_to(folder).as_posix(), label))
    if not items:
        raise ValueError(f"{folder} holds no labelled photos: put them in sub-folders named by label "
                         f"(0_LED ... {NUM_CLASSES - 1}_{CLASS_NAMES[-1]}) or list them in labels.csv (path,label)")
    return sorted(items)


@dataclass
class FolderResult:
    """What :func:`preprocess_folder` did: strips written or reused, and photos skipped with why."""

    manifest: Path
    written: int
    reused: int
    skipped: list[tuple[str, str]]

    def summary(self) -> str:
        lines = [f"{self.written} strips written, {self.reused} reused, {len(self.skipped)} photos skipped"]
        lines += [f"  skipped {photo}: {reason}" for photo, reason in self.skipped[:20]]
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more (see skipped.csv)")
        return "\n".join(lines)


def preprocess_folder(photos_dir: str | Path, strips_dir: str | Path, params: PreprocessParams | None = None,
                      labels_csv: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
                      ) -> FolderResult:
    """Cut a strip from every labelled photo; write PNG strips, ``manifest.csv`` and ``skipped.csv``.

    ``strips_dir`` mirrors the photo folder (``<photo path>.png``); the photos are only read. A
    photo that cannot be used is skipped with its reason, never stops the batch. Resumable: a
    strip already cut with the same parameters is reused (``strips.json`` records them;
    :func:`load_params` reads it back).
    ``progress(done, total)`` is called after each photo (a widget's progress bar).
    """
    params = params or PreprocessParams()
    photos_dir, strips_dir = Path(photos_dir), Path(strips_dir)
    items = read_labelled_folder(photos_dir, labels_csv)
    if strips_dir.resolve() == photos_dir.resolve() or photos_dir.resolve() in strips_dir.resolve().parents:
        raise ValueError(f"strips_dir {strips_dir} would mix strips with the photos in {photos_dir}; "
                         "choose a folder outside it")
    strips_dir.mkdir(parents=True, exist_ok=True)
    stamp = strips_dir / "strips.json"
    digest = params_digest(params)
    previous = None
    if stamp.is_file():
        try:
            previous = json.loads(stamp.read_text(encoding="utf-8")).get("params_digest")
        except ValueError:
            previous = None
    # the parameters in save_params' format, so load_params(strips_dir / "strips.json") tells how the strips were cut
    files.write_json(stamp, {"spectral_nb.preprocessing": asdict(params), "params_digest": digest})
    from PIL import Image

    rows, skipped = [], []
    written = reused = 0
    for i, (rel, label) in enumerate(items):
        strip_rel = rel + ".png"
        target = strips_dir / strip_rel
        try:
            # reuse a strip cut with these parameters from this very photo (not from an older file of the same name)
            if previous == digest and target.is_file() and target.stat().st_mtime >= (photos_dir / rel).stat().st_mtime:
                with Image.open(target) as im:
                    if im.size == (STRIP_SHAPE[1], STRIP_SHAPE[0]):
                        row_info = _sidecar(target)
                        rows.append({"strip": strip_rel, "label": label, "photo": rel, **row_info})
                        reused += 1
                        continue
            strip, report = preprocess_photo(photos_dir / rel, params, name=rel)
            with files.atomic_path(target) as tmp:
                Image.fromarray(strip).save(tmp, format="PNG")
            info = {"dispersion": report["dispersion"], "flipped": int(report["flipped"]),
                    "confidence": f"{report['confidence']:.3f}"}
            files.write_json(target.with_name(target.name + ".json"), info, indent=None)
            rows.append({"strip": strip_rel, "label": label, "photo": rel, **info})
            written += 1
        except (PhotoError, OSError) as error:
            skipped.append((rel, str(error)))
        finally:
            if progress is not None:
                progress(i + 1, len(items))
    manifest = strips_dir / "manifest.csv"
    files.write_csv(manifest, MANIFEST_COLUMNS, rows)
    files.write_csv(strips_dir / "skipped.csv", ("photo", "reason"), [{"photo": p, "reason": r} for p, r in skipped])
    return FolderResult(manifest, written, reused, skipped)


def _sidecar(target: Path) -> dict:
    try:
        return json.loads(target.with_name(target.name + ".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"dispersion": "", "flipped": "", "confidence": ""}

