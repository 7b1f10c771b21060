"""Lamp lines: one table (``spectral_nb/data/lamp_lines.csv``) read by the synthetic lamps and by
the wavelength calibration, so that both always mean the same lines (sources: docs/sources.md)."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

LINES_CSV = Path(__file__).resolve().parent / "data" / "lamp_lines.csv"


@lru_cache(maxsize=1)
def _rows() -> tuple[tuple[str, float, float | None, float | None, str], ...]:
    def number(text: str) -> float | None:
        return float(text) if text.strip() else None

    with open(LINES_CSV, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        return tuple((r["lamp"], float(r["air_nm"]), number(r["lamp_intensity"]), number(r["calibration_weight"]),
                      r["kind"]) for r in reader)


def lamps(use: str) -> tuple[str, ...]:
    """The lamps (element symbols) the table has lines of for ``use``: ``"lamp"`` or ``"calibration"``."""
    column = _column(use)
    return tuple(dict.fromkeys(r[0] for r in _rows() if r[column] is not None))


def _column(use: str) -> int:
    if use not in ("lamp", "calibration"):
        raise ValueError(f"use is 'lamp' (what a lamp emits) or 'calibration' (the references), not {use!r}")
    return 2 if use == "lamp" else 3


def lamp_lines(lamp: str, use: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines of ``lamp`` ("Hg", "Ne", "He", "H", "Na") for ``use``, in ascending nm: air wavelengths
    ``(n,)`` nm, values ``(n,)`` (``"lamp"``: relative power; ``"calibration"``: weight 0-1) and
    ``(n,) bool`` (True: an atomic line, False: a phosphor band)."""
    column = _column(use)
    rows = sorted((r[1], r[column], r[4] == "line") for r in _rows() if r[0] == lamp and r[column] is not None)
    if not rows:
        raise ValueError(f"no {use} lines for {lamp!r} in {LINES_CSV.name}: it has {', '.join(lamps(use))}")
    nm, value, is_line = (np.array(col) for col in zip(*rows))
    return nm.astype(float), value.astype(float), is_line.astype(bool)
