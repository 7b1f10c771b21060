"""Classifying photos from the command line: ``python -m spectral_nb classify PHOTO_OR_FOLDER...``.

Each photo is cut to a strip with chapter 02's saved parameters and classified by chapter 04's
model (:func:`spectral_nb.analysis.classify_photo`); ``--calibrate`` adds chapter 06's pixel ->
nanometre map (:func:`spectral_nb.calibration.calibrate_strip`) for the predicted lamp.

The reusable core is :func:`classify_paths` (a list of JSON-able records, one per photo);
:func:`format_text` and :func:`format_json` turn a record into the line printed. A photo that
cannot be read or holds no spectrum gives a record with ``"ok": false`` and the reason, never an
exception, so one bad photo does not stop a folder.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, STRIP_SHAPE

#: Files a folder is searched for (case-insensitive); a file named on the command line is tried whatever its name.
PHOTO_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Top probability below which a photo is called "unknown" (``--threshold``; chapter 05 chooses one on validation data).
DEFAULT_THRESHOLD = 0.5
#: A preprocessing confidence (the lowest of the dispersion, left-right and band decisions, 0-1) below this
#: gets a warning: good real photos score 0.91-0.97, most wrongly oriented crops under 0.5 (README).
LOW_CONFIDENCE = 0.5


class UsageError(Exception):
    """A problem with the command itself (no model, a bad parameters file): exit status 2."""


# ------------------------------------------------------------------------------ inputs


def find_photos(paths: Sequence[str | Path]) -> list[tuple[str, Path | None, str | None]]:
    """``(name as printed, path, error)`` per photo: a file is taken as it is; a folder gives every
    file with a :data:`PHOTO_SUFFIXES` suffix inside it, recursively, sorted (hidden ones skipped).
    A missing path, or a folder without photos, gives ``(name, None, reason)``."""
    found: list[tuple[str, Path | None, str | None]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            photos = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not photos:
                found.append((str(given), None, f"a folder without photos ({', '.join(PHOTO_SUFFIXES)})"))
            found.extend((str(p), p, None) for p in photos)
        elif path.exists():
            found.append((str(given), path, None))
        else:
            found.append((str(given), None, "no such file or folder"))
    return found


def resolve_model_path(model: str | Path | None = None) -> Path:
    """``model``, or the book's trained model (``OutputModel/spectral_cnn.keras``; quick mode's
    under ``OutputModel/quick/`` when ``SPECTRAL_NB_QUICK`` is set)."""
    if model is not None:
        return Path(model)
    from spectral_nb.book import book_paths

    return book_paths().model_path


def is_quick_model(path: str | Path) -> bool:
    """True when ``path`` is the model quick mode trains (under ``OutputModel/quick/``): a smoke
    test trained in a minute on a few strips, not the book's classifier."""
    from spectral_nb.book import book_paths

    quick_dir = book_paths(quick=True).output_dir
    return Path(path).resolve().is_relative_to(quick_dir)


def load_model(path: str | Path):
    """The Keras model at ``path``; :class:`UsageError` saying how to make it when it is missing."""
    from spectral_nb.book import book_paths

    path = Path(path)
    if not path.is_file():
        hint = ("train it with `make book` (about 12 minutes), or run notebooks/04_model_building.ipynb, "
                "which saves the book's model there; or pass --model PATH")
        quick = book_paths(quick=True).model_path
        if quick.is_file() and path.resolve() != quick:
            hint += f" (a quick-mode model exists: --model {quick})"
        raise UsageError(f"no trained model at {path}: {hint}")
    import keras

    try:
        model = keras.models.load_model(path)
    except Exception as error:  # noqa: BLE001 - any failure to load is the same message to a user
        raise UsageError(f"{path} is not a Keras model this book can load ({type(error).__name__}: {error})") from None
    if tuple(model.input_shape[1:]) != STRIP_SHAPE:
        raise UsageError(f"{path}: the model takes input of shape {model.input_shape}, not (N, 15, 480, 3) strips")
    return model


def resolve_params(params: str | Path | None = None) -> tuple[object | None, str]:
    """``(PreprocessParams or None for the defaults, where they came from)``: ``params`` when
    given, else chapter 02's saved file (``InputData/preprocess_params.json``) if it exists."""
    from spectral_nb import preprocessing
    from spectral_nb.book import book_paths

    if params is None:
        saved = book_paths().preprocess_params_path
        if not saved.is_file():
            return None, "spectral_nb.preprocessing defaults (chapter 02 has saved no parameters)"
        params = saved
    try:
        return preprocessing.load_params(params), str(params)
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"cannot use the preprocessing parameters: {error}") from None


# ------------------------------------------------------------------------------ the core


def _finite(value: float, digits: int) -> float | None:
    """``value`` rounded, or None for NaN and infinities (JSON has no NaN)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def calibration_record(strip: np.ndarray, class_index: int) -> dict:
    """Chapter 06's calibration of a strip for the lamp of ``class_index``, as a JSON-able dict:
    ``ok``, ``lamp``, ``reason`` (why not, when not ok), the map ``nm = polyval(coefficients,
    column)`` (``model``, ``coefficients``, ``span_nm``, ``dispersion_nm_per_px``, ``rms_nm``) and
    the identified ``lines`` (``px``, ``nm``, ``is_line``: False for a phosphor band)."""
    from spectral_nb import calibration

    try:
        result = calibration.calibrate_strip(strip, int(class_index))
    except Exception as error:  # noqa: BLE001 - reported in the record, never a traceback for one photo
        reason = f"calibration failed: {type(error).__name__}: {error}"
        return {"ok": False, "lamp": None, "reason": reason, "summary": f"not calibrated: {reason}"}
    record = {"ok": bool(result.ok), "lamp": result.lamp, "reason": result.reason or None}
    if result.ok:
        record.update({
            "model": result.model,
            "coefficients": [float(c) for c in result.coef],
            "span_nm": [_finite(v, 3) for v in result.span_nm],
            "dispersion_nm_per_px": _finite(result.dispersion_nm_per_px, 5),
            "rms_nm": _finite(result.rms_nm, 4),
            "lines": [{"px": round(float(px), 2), "nm": round(float(nm), 3), "is_line": bool(is_line)}
                      for px, nm, is_line in zip(result.matched_px, result.matched_nm, result.matched_is_line)],
        })
    record["summary"] = result.summary()
    return record


def classify_one(path: str | Path, model, params=None, threshold: float = DEFAULT_THRESHOLD,
                 calibrate: bool = False, name: str | None = None) -> dict:
    """Classify one photo (see :func:`classify_paths` for the record); raises ``ValueError`` /
    ``OSError`` when it cannot be read or holds no spectrum."""
    from spectral_nb.analysis import classify_photo

    result = classify_photo(path, model, params, threshold=threshold, name=name)
    probs = np.asarray(result["probabilities"], dtype=float)
    order = np.argsort(-probs)
    top, second = int(order[0]), int(order[1])
    report = result["report"]
    warnings = []
    if result["label_index"] < 0:
        warnings.append(f"unknown: the top probability ({CLASS_NAMES[top]} {probs[top]:.3f}) is below the "
                        f"threshold {threshold:.2f}")
    if report["confidence"] < LOW_CONFIDENCE:
        weakest = min(report["confidences"], key=report["confidences"].get)
        warnings.append(f"low preprocessing confidence {report['confidence']:.2f} ({weakest}): check the crop")
    record = {
        "file": name or str(path),
        "ok": True,
        "class": result["label"],
        "class_index": int(result["label_index"]),
        "best_class": CLASS_NAMES[top],
        "probability": round(float(probs[top]), 6),
        "runner_up": {"class": CLASS_NAMES[second], "probability": round(float(probs[second]), 6)},
        "probabilities": {n: round(float(p), 6) for n, p in zip(CLASS_NAMES, probs)},
        "threshold": float(threshold),
        "box": [int(v) for v in report["box"]],
        "report": {key: (list(value) if isinstance(value, tuple) else value)
                   for key, value in report.items() if key not in ("photo", "box")},
        "warnings": warnings,
    }
    if calibrate:
        record["calibration"] = calibration_record(result["strip"], top)
    return record


def iter_classify(paths: Sequence[str | Path], model, params=None, threshold: float = DEFAULT_THRESHOLD,
                  calibrate: bool = False, quick_model: bool = False, progress: bool = False) -> Iterator[dict]:
    """:func:`classify_paths`, one record at a time (with a tqdm bar on stderr when ``progress``
    and there is more than one photo)."""
    from tqdm import tqdm

    photos = find_photos(paths)
    bar = tqdm(photos, desc="classifying", unit="photo", file=sys.stderr, disable=not progress or len(photos) <= 1,
               leave=False)
    for name, path, error in bar:
        if error is None:
            try:
                record = classify_one(path, model, params, threshold, calibrate, name=name)
            except (ValueError, OSError) as exc:  # PhotoError and PIL's errors: the photo's own fault
                error = str(exc).removeprefix(f"{name}: ")
            except Exception as exc:  # noqa: BLE001 - one photo must not stop a folder
                error = f"unexpected {type(exc).__name__}: {exc}"
        if error is not None:
            record = {"file": name, "ok": False, "error": error}
        elif quick_model:
            record["warnings"].append("quick-mode model (a smoke test trained in a minute; `make book` trains the book's)")
        yield record
    bar.close()


def classify_paths(paths: Sequence[str | Path], model, params=None, threshold: float = DEFAULT_THRESHOLD,
                   calibrate: bool = False, quick_model: bool = False, progress: bool = False) -> list[dict]:
    """Classify every photo of ``paths`` (files, or folders searched by :func:`find_photos`).

    ``model``: a Keras model (``uint8 (N, 15, 480, 3)`` -> ``(N, 7)``); ``params``: a
    ``PreprocessParams``, a path to chapter 02's JSON, or None (defaults); a top probability
    below ``threshold`` makes the class "unknown". One JSON-able record per photo: ``file``,
    ``ok``; when ok: ``class`` (or "unknown"), ``class_index`` (-1 for unknown), ``best_class``,
    ``probability``, ``runner_up`` ``{class, probability}``, ``probabilities`` per class name,
    ``threshold``, ``box`` (x0, y0, x1, y1 in the photo's pixels, exclusive ends), ``report``
    (preprocessing: size, dispersion, rotated, flipped, tilt, confidences), ``warnings``, and
    ``calibration`` (:func:`calibration_record`) when ``calibrate``; when not ok: ``error``.
    """
    return list(iter_classify(paths, model, params, threshold, calibrate, quick_model, progress))


# ------------------------------------------------------------------------------ printing


def format_text(record: dict) -> str:
    """One line per photo (two with a calibration): file, class, probability, runner-up, warnings."""
    if not record["ok"]:
        return f"{record['file']}: error: {record['error']}"
    runner = record["runner_up"]
    best = f"{record['probability']:.3f}" if record["class"] != "unknown" else \
        f"(best {record['best_class']} {record['probability']:.3f})"
    line = f"{record['file']}: {record['class']} {best} (runner-up {runner['class']} {runner['probability']:.3f})"
    if record["warnings"]:
        line += "  [" + "; ".join(record["warnings"]) + "]"
    calibration = record.get("calibration")
    if calibration is not None:
        line += f"\n    calibration: {calibration['summary']}"
        if calibration["ok"]:
            line += "; lines at " + ", ".join(f"{line['nm']:.1f}" for line in calibration["lines"]) + " nm"
    return line


def format_json(record: dict) -> str:
    """The record as one line of JSON (no NaN: missing numbers are null)."""
    # numpy scalars (a report field computed as one) become plain numbers
    return json.dumps(record, allow_nan=False, separators=(", ", ": "),
                      default=lambda value: value.item() if isinstance(value, np.generic) else str(value))


def run_classify(paths: Sequence[str], model_path: str | None = None, params_path: str | None = None,
                 as_json: bool = False, calibrate: bool = False, threshold: float = DEFAULT_THRESHOLD) -> int:
    """The ``classify`` subcommand: print one line per photo (a progress bar on stderr when it is a
    terminal); exit status 0 when every photo was classified, 1 when any could not be, 2 for usage
    errors (no model, a bad parameters file)."""
    from tqdm import tqdm

    try:
        if not 0.0 <= threshold <= 1.0:
            raise UsageError(f"--threshold is a probability between 0 and 1, not {threshold}")
        params, params_source = resolve_params(params_path)
        path = resolve_model_path(model_path)
        model = load_model(path)
    except UsageError as error:
        print(f"spectral-nb classify: error: {error}", file=sys.stderr)
        return 2
    quick = is_quick_model(path)
    print(f"model {path}{' (quick mode)' if quick else ''}; preprocessing: {params_source}", file=sys.stderr)
    failed = done = 0
    # the bar only on a terminal: in a log file its redraws are noise
    progress = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    for record in iter_classify(paths, model, params, threshold, calibrate, quick, progress):
        tqdm.write(format_json(record) if as_json else format_text(record), file=sys.stdout)
        done += 1
        failed += not record["ok"]
    if done > 1 or failed:
        print(f"{done} photo(s): {done - failed} classified, {failed} could not be read or cropped", file=sys.stderr)
    return 1 if failed else 0
