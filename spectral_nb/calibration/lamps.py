"""Which lamp calibrates which class, its reference lines (from the one lamp-line table), and why
the classes without lines are refused."""
from __future__ import annotations


import numpy as np

from spectral_nb import lines

#: Predicted class -> the lamp whose lines calibrate it (classes of :data:`spectral_nb.CLASS_NAMES`).
LAMP_BY_CLASS: dict[int, str] = {1: "Hg", 3: "Ne", 4: "He", 5: "H"}

#: Classes that cannot calibrate a spectroscope, and why.
REFUSAL_BY_CLASS: dict[int, str] = {
    0: "an LED has no sharp emission lines (a blue peak and a broad phosphor band): calibrate on a CFL or a lamp with lines",
    2: "a continuum source (sun, sky, incandescent) has no emission lines to match: calibrate on a CFL or a lamp with lines",
    6: "nitrogen shows molecular bands whose peaks shift with conditions, not sharp atomic lines: calibrate on a CFL, neon, helium or hydrogen lamp",
}

# Reference features per lamp: the ``calibration_weight`` column of spectral_nb/data/lamp_lines.csv
# (spectral_nb.lines, shared with the synthetic lamps). The weight is how strongly an ordinary
# camera shows the line (camera response and the IR cut included, so the strong red Ne lines at
# 693-725 nm and UV lines get less weight than their lamp intensity); kind "phosphor" marks
# phosphor bands of fluorescent lamps, whose peak position depends on the phosphor: they help
# matching but not the final fit. Weights set by hand (docs/sources.md#calibration-reference-lines);
# the Hg 577/579 pair is kept as two lines and blended at fit time by :func:`refine_fit`.
_LAMP_ALIASES = {"hg": "Hg", "mercury": "Hg", "cfl": "Hg", "ne": "Ne", "neon": "Ne", "he": "He",
                 "helium": "He", "h": "H", "hydrogen": "H"}


#: Phosphor bands peak where their phosphor puts them (a few nm from lamp to lamp): they match
#: within this many times the line tolerance.
FEATURE_TOLERANCE_FACTOR = 2.0


class CalibrationError(ValueError):
    """A strip cannot be calibrated (or a failed calibration was used): the message says why."""


def reference_lines(lamp: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference features of a lamp: air wavelengths (nm, ascending), weights (0-1], is_line (bool).

    ``lamp`` is "Hg", "Ne", "He" or "H" (or "mercury", "neon", "helium", "hydrogen", "CFL").
    """
    return lines.lamp_lines(resolve_lamp(lamp), "calibration")


def resolve_lamp(lamp: str | int) -> str:
    """The lamp symbol for a lamp name or a predicted class index; CalibrationError if it has no lines."""
    if isinstance(lamp, (int, np.integer)) and not isinstance(lamp, bool):
        label = int(lamp)
        if label in LAMP_BY_CLASS:
            return LAMP_BY_CLASS[label]
        if label in REFUSAL_BY_CLASS:
            from spectral_nb import CLASS_NAMES

            raise CalibrationError(f"class {label} ({CLASS_NAMES[label]}): {REFUSAL_BY_CLASS[label]}")
        raise CalibrationError(f"unknown class {label}: expected 0-6")
    key = str(lamp).strip().lower()
    if key in _LAMP_ALIASES:
        return _LAMP_ALIASES[key]
    raise CalibrationError(f"no reference lines for lamp {lamp!r}: use one of Hg, Ne, He, H or a class index 1, 3, 4, 5")
