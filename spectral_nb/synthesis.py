"""Physically grounded synthetic spectroscope photos and 15x480 strips.

The book's data when no real photos are at hand. Each item is made in three physical steps:

1. **A light source** (:func:`sample_spectrum`): the spectral power of a lamp of the given class,
   as a smooth part (phosphors, continua) sampled every nanometre plus sharp lines at their air
   wavelengths. Every lamp is randomised around published data.
2. **An instrument** (:func:`sample_instrument`): which wavelength lands on which pixel (span,
   dispersion with a mild non-linearity), the line-spread function (slit width, optics, resizing),
   and a **camera** (:func:`sample_camera`): RGB sensitivities with an IR-cut edge, white balance,
   exposure with saturation to white, tone curve, noise.
3. **Rendering**: :func:`render_strip` draws the 15x480 strip a preprocessing step would cut out
   of a photo, directly and fast; :func:`render_photo` draws a whole camera frame with the band
   somewhere in it (tilted, curved, horizontal or vertical, either way round, sometimes with a
   zero-order spot or a second order), as a camera saves it.

Sources of the physical data (the tables are in ``spectral_nb/data``):

- Line wavelengths: NIST Atomic Spectra Database (via the export shipped in rascal 0.3.11,
  BSD-3), converted to air; lamp-like relative intensities of Hg and Ne from arc-lamp amplitudes
  measured by PypeIt (BSD-3) and NIST relative intensities for He; Balmer lines (air) from NIST.
- H2 Fulcher-alpha Q-branch lines: course text of Masaryk University (is.muni.cz), see NOTES.
- N2 second positive and N2+ first negative band peaks: moose-spectra 0.3.1 (MIT; Laux & Kruger
  1992, LIFBASE). N2 first positive band origins: computed from Huber & Herzberg constants
  (marked unverified in the table); band intensities are randomised (unverified).
- Lamp spectra: colour-science 0.4.7 (BSD-3) data: CIE 15:2018 illuminants (FL1-FL12, FL3.x,
  A, D series basis S0/S1/S2), CIE 2018 LED illuminants (LED-B1...), NIST CQS 7.4 and RIT light
  sources (PHOS-1..4, Triphosphor FL, Incandescent, LPS/HPS, ...): ``colour_science_spectra_5nm.csv``.
  The Hg lines that those 5-nm tables blur into bins were taken out and are added back sharp.
- LED shape: Ohno (2005), Opt. Eng. 44(11) 111302, ``(g + 2 g^5) / 3`` with a Gaussian ``g``.
- CIE daylight from CCT: CIE 15:2004 section 3.1 (x_D, y_D and the M1, M2 weights of S1, S2).
- Fraunhofer line positions: the standard table (e.g. Wikipedia "Fraunhofer lines"); their
  equivalent widths are rough values, randomised.
- Camera sensitivities: peaks, half-maximum ranges and red fall-off (IR-cut edge) of five
  cameras, read from Jiang et al. 2013 (WACV) curves and the NPL Nikon 5100 curve in
  colour-science: ``camera_ssf_summary.csv``. Each camera is randomised around them.

All randomness comes from a :class:`numpy.random.Generator` passed in, so the same seed gives
the same bytes; :func:`generate_strips` and :func:`generate_photo_folder` derive one generator
per item from ``(seed, label, index)``.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE

#: Raw photos per class in nnSIC's dataset (labels 0-6); the book's default dataset mirrors them.
NNSIC_PHOTO_COUNTS: tuple[int, ...] = (506, 598, 280, 119, 54, 81, 103)
#: Kinds of light that belong to none of the seven classes (for :func:`render_out_of_class_strip`).
OUT_OF_CLASS_KINDS: tuple[str, ...] = ("sodium", "laser")
#: Version of the generator, stored beside a generated photo folder (a change regenerates it).
GENERATOR_VERSION = "3"

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Wavelength grid (nm) on which smooth spectra are tabulated.
GRID_NM = np.arange(300.0, 901.0, 1.0)

# ----------------------------------------------------------------------------------- line lists
# Air wavelengths (nm) and lamp-like relative intensities (integrated power, strongest = 1).
# Hg: PypeIt measured arc amplitudes (NOTES.md section 3) where known, NIST otherwise (scaled down).
_HG_LINES = (
    (404.656, 0.34), (407.784, 0.023), (433.922, 0.01), (434.749, 0.02), (435.833, 1.0),
    (491.607, 0.01), (546.075, 0.74), (576.961, 0.145), (579.067, 0.158), (623.437, 0.006),
    (671.634, 0.008), (690.746, 0.015),
)
# Ne: PypeIt measured amplitudes (max 1000 -> 1); weak blue-green Ne I lines at a few per mille.
_NE_LINES = (
    (453.775, 0.006), (470.440, 0.004), (471.535, 0.003), (482.734, 0.003), (488.492, 0.004),
    (503.135, 0.004), (508.038, 0.003), (511.367, 0.003), (519.313, 0.003),
    (533.078, 0.093), (540.056, 0.093), (576.442, 0.109), (585.249, 0.116), (588.189, 0.093),
    (594.483, 0.157), (597.553, 0.034), (603.000, 0.051), (607.434, 0.142), (609.616, 0.227),
    (614.306, 0.422), (616.359, 0.130), (621.728, 0.132), (626.650, 0.267), (630.479, 0.103),
    (633.443, 0.352), (638.299, 0.583), (640.225, 1.000), (650.653, 0.553), (653.288, 0.268),
    (659.895, 0.276), (667.828, 0.480), (671.704, 0.331), (692.947, 0.585), (703.241, 1.000),
    (717.394, 0.131), (724.517, 0.999),
)
# He: NIST relative intensities (scaled to 587.6 = 1), the strong visible lines of a tube.
_HE_LINES = (
    (388.865, 0.6), (396.473, 0.04), (402.619, 0.1), (412.082, 0.02), (414.376, 0.02),
    (438.793, 0.03), (447.148, 0.4), (471.315, 0.08), (492.193, 0.06), (501.568, 0.2),
    (504.774, 0.02), (587.562, 1.0), (667.815, 0.25), (706.519, 0.45), (728.135, 0.1),
)
# H: Balmer series (air); the tube's Halpha : Hbeta ratio is randomised (case B does not apply).
_H_LINES = ((656.279, 1.0), (486.135, 0.35), (434.047, 0.13), (410.173, 0.06), (397.007, 0.03))
# Na: the D doublet and the weak visible lines of a low-pressure sodium lamp (NIST).
_NA_LINES = ((588.995, 1.0), (589.592, 0.5), (568.819, 0.012), (568.266, 0.006), (615.423, 0.008),
             (616.075, 0.006), (498.281, 0.004), (497.854, 0.002), (514.908, 0.002), (515.360, 0.003))
_EMISSION_LINES = {"Hg": _HG_LINES, "Ne": _NE_LINES, "He": _HE_LINES, "H": _H_LINES, "Na": _NA_LINES}
# H2 Fulcher-alpha Q branches (0-0), (1-1), (2-2) (NOTES.md section 3).
_H2_FULCHER_NM = (601.83, 602.38, 603.19, 604.27, 605.61, 607.20, 612.18, 612.72, 613.54, 614.62,
                  615.96, 622.48, 623.03, 623.84, 624.92, 626.25)
# Fraunhofer lines (nm) and rough equivalent widths (nm) in the solar spectrum: the lettered lines
# (NOTES.md section 3), plus strong Fe I / Ca I lines whose positions are quoted from memory of the
# solar line tables (Moore, Minnaert & Houtgast 1966): UNVERIFIED, as are all the widths.
_FRAUNHOFER = ((393.368, 2.0), (396.847, 1.5), (404.581, 0.08), (410.175, 0.3), (422.673, 0.15),
               (427.176, 0.08), (430.790, 0.25), (432.576, 0.08), (434.047, 0.3), (438.355, 0.1),
               (440.475, 0.08), (466.814, 0.05), (486.134, 0.36), (492.050, 0.04), (495.761, 0.05),
               (516.733, 0.12), (517.270, 0.13), (518.362, 0.16), (527.039, 0.1), (532.804, 0.04),
               (537.149, 0.04), (539.713, 0.03), (540.577, 0.04), (542.970, 0.04), (544.692, 0.04),
               (558.676, 0.04), (588.995, 0.08), (589.592, 0.06), (612.222, 0.03), (616.217, 0.03),
               (627.661, 0.1), (643.908, 0.03), (656.281, 0.4), (686.719, 0.3), (759.370, 0.8))
# Wavelengths (nm) on which camera sensitivities are tabulated.
_RESPONSE_NM = np.arange(300.0, 901.0, 1.0)
# Camera-independent optical limits: glass and coatings cut the UV (nm of the 50 % point).
_UV_CUT_NM = (380.0, 410.0)


def emission_lines(element: str) -> tuple[np.ndarray, np.ndarray]:
    """Air wavelengths (nm, ascending) and relative intensities (max 1) of a lamp's lines.

    ``element`` is "Hg", "Ne", "He", "H" or "Na": the lines the renderer draws for that lamp
    (before its per-lamp randomisation), i.e. what a calibration or a saliency plot should mark.
    """
    key = {k.lower(): k for k in _EMISSION_LINES}.get(str(element).strip().lower())
    if key is None:
        raise ValueError(f"unknown element {element!r}: use one of {', '.join(_EMISSION_LINES)}")
    nm, rel = (np.array(col, dtype=float) for col in zip(*_EMISSION_LINES[key]))
    order = np.argsort(nm)
    return nm[order], rel[order] / rel.max()


# ----------------------------------------------------------------------------------- data tables
@lru_cache(maxsize=None)
def _table_spectra() -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """kind -> (names, (n, len(GRID_NM)) relative power on GRID_NM) from the colour-science table."""
    path = DATA_DIR / "colour_science_spectra_5nm.csv"
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
    grid = np.array([float(v) for v in rows[0][2:]])
    out: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for row in rows[1:]:
        values = np.array([float(v) for v in row[2:]])
        # outside the table: fall to zero over 20 nm (no light source ends in a cliff)
        fine = np.interp(GRID_NM, grid, values)
        fine *= np.clip(1 - (grid[0] - GRID_NM) / 20, 0, 1) * np.clip(1 - (GRID_NM - grid[-1]) / 20, 0, 1)
        if row[0] == "daylight_basis":
            fine = np.interp(GRID_NM, grid, values)  # the basis extrapolates flat; it is smooth
        names, arrays = out.setdefault(row[0], ([], []))
        names.append(row[1])
        arrays.append(fine)
    return {k: (tuple(n), np.stack(a)) for k, (n, a) in out.items()}


@lru_cache(maxsize=None)
def _n2_bands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N2 bands: second positive and N2+ first negative (nm, rel at Tvib 3000 K, 5000 K); first positive (origin nm, dv)."""
    second, first_neg = [], []
    with open(DATA_DIR / "n2_visible_bands_moose.csv", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            item = (float(row["peak_air_nm"]), float(row["rel_Tvib3000_Trot350"]), float(row["rel_Tvib5000_Trot400"]))
            (second if row["system"].startswith("N2_2PS") else first_neg).append(item)
    first_pos = []
    with open(DATA_DIR / "n2_first_positive_origins_computed.csv", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            first_pos.append((float(row["origin_air_nm"]), float(row["dv"])))
    return np.array(second), np.array(first_neg), np.array(first_pos)


@lru_cache(maxsize=None)
def _cameras() -> tuple[dict, ...]:
    """Measured camera sensitivity summaries (peak, half-max range per channel, red fall-off)."""
    cams = []
    with open(DATA_DIR / "camera_ssf_summary.csv", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            cam = {"name": row["camera"], "r50": float(row["R_50pct_nm"]), "r10": float(row["R_10pct_nm"])}
            for ch in "RGB":
                lo, hi = (float(v) for v in row[f"{ch}_halfmax"].split("-"))
                cam[ch] = (float(row[f"{ch}_peak"]), lo, hi)
            cams.append(cam)
    return tuple(cams)


# ----------------------------------------------------------------------------------- spectra
@dataclass(frozen=True)
class Spectrum:
    """A light source: smooth spectral power on :data:`GRID_NM` plus sharp lines.

    ``smooth``: (len(GRID_NM),) relative power per nm; ``lines_nm``/``lines_power``: air nm and
    integrated power of each line (negative power = an absorption line of that equivalent power).
    """

    label: int
    source: str
    smooth: np.ndarray
    lines_nm: np.ndarray
    lines_power: np.ndarray

    def sampled(self, nm: np.ndarray, fwhm_nm: float = 1.0) -> np.ndarray:
        """Power per nm at ``nm``, lines drawn as Gaussians of ``fwhm_nm`` (for plots)."""
        nm = np.asarray(nm, float)
        out = np.interp(nm, GRID_NM, self.smooth)
        sigma = fwhm_nm / 2.3548
        for c, p in zip(self.lines_nm, self.lines_power):
            out = out + p * np.exp(-0.5 * ((nm - c) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        return np.clip(out, 0, None)


def _gauss(nm: np.ndarray, centre: float, fwhm: float) -> np.ndarray:
    return np.exp(-4 * np.log(2) * ((nm - centre) / fwhm) ** 2)


def _asym_gauss(nm: np.ndarray, centre: float, left_fwhm: float, right_fwhm: float) -> np.ndarray:
    fwhm = np.where(nm < centre, left_fwhm, right_fwhm)
    return np.exp(-4 * np.log(2) * ((nm - centre) / fwhm) ** 2)


def _ohno_led(nm: np.ndarray, peak: float, fwhm: float) -> np.ndarray:
    """Ohno (2005) single-LED shape ``(g + 2 g^5) / 3``."""
    g = np.exp(-(((nm - peak) / fwhm) ** 2))
    return (g + 2 * g**5) / 3


def _planck(nm: np.ndarray, temperature_k: float) -> np.ndarray:
    """Blackbody spectral radiance (energy units), normalised to 1 at 560 nm."""
    c2 = 1.438777e7  # nm K
    lam = np.asarray(nm, float)
    ref = 560.0
    return (ref / lam) ** 5 * np.expm1(c2 / (ref * temperature_k)) / np.expm1(c2 / (lam * temperature_k))


def _daylight(cct_k: float) -> np.ndarray:
    """CIE daylight of a correlated colour temperature (4000-25000 K) on GRID_NM (CIE 15:2004)."""
    names, basis = _table_spectra()["daylight_basis"]
    s0, s1, s2 = (basis[names.index(k)] for k in ("S0", "S1", "S2"))
    t = float(np.clip(cct_k, 4000, 25000))
    if t <= 7000:
        xd = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        xd = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
    yd = -3.000 * xd**2 + 2.870 * xd - 0.275
    m = 0.0241 + 0.2562 * xd - 0.7341 * yd
    m1 = (-1.3515 - 1.7703 * xd + 5.9114 * yd) / m
    m2 = (0.0300 - 31.4424 * xd + 30.0717 * yd) / m
    return np.clip(s0 + m1 * s1 + m2 * s2, 0, None)


def _table(kind: str, rng: np.random.Generator, names: Sequence[str] | None = None) -> tuple[str, np.ndarray]:
    table_names, arrays = _table_spectra()[kind]
    pool = [i for i, n in enumerate(table_names) if names is None or n in names]
    i = pool[int(rng.integers(len(pool)))]
    return table_names[i], arrays[i].copy()


def _jitter(values: Sequence[float], rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Relative intensities times a log-normal factor (lamp-to-lamp and camera-to-camera spread)."""
    v = np.asarray(values, float)
    return v * np.exp(sigma * rng.standard_normal(v.shape))


def _lines(element: str, rng: np.random.Generator, sigma: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    nm, rel = emission_lines(element)
    return nm, _jitter(rel, rng, sigma)


def _band_lines(heads: np.ndarray, powers: np.ndarray, rng: np.random.Generator,
                n_sub: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Molecular bands shaded to the violet: a sharp head and a decaying run of lines below it."""
    step = rng.uniform(0.4, 0.9)
    decay = rng.uniform(1.5, 4.0)
    k = np.arange(n_sub)
    weights = np.exp(-k / decay)
    weights /= weights.sum()
    nm = (heads[:, None] - step * k[None, :]).ravel()
    power = (powers[:, None] * weights[None, :]).ravel()
    return nm, power


def _fraunhofer(smooth: np.ndarray, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Absorption lines as negative lines: equivalent width (nm) times the local continuum."""
    nm, ew = (np.array(c, float) for c in zip(*_FRAUNHOFER))
    local = np.interp(nm, GRID_NM, smooth)
    return nm, -strength * _jitter(ew, rng, 0.3) * local


def _mercury_lines(rng: np.random.Generator, total_power: float) -> tuple[np.ndarray, np.ndarray]:
    nm, power = _lines("Hg", rng, 0.3)
    return nm, power / power.sum() * total_power


def _led(rng: np.random.Generator) -> Spectrum:
    u = rng.random()
    nm = GRID_NM
    if u < 0.3:
        name, smooth = _table("led", rng)
        source = f"LED ({name})"
        if rng.random() < 0.5:  # shift the blue die a little: peaks differ from lamp to lamp
            shift = rng.uniform(-6, 6)
            smooth = np.interp(nm - shift * np.exp(-(((nm - 455) / 40) ** 2)), nm, smooth)
    elif u < 0.7:
        blue = rng.uniform(440, 468)
        warm = rng.random()  # 0 cool ... 1 warm
        phos_peak = 550 + 60 * warm + rng.normal(0, 8)
        ratio = np.exp(np.log(0.45) + warm * np.log(2.8 / 0.45) + rng.normal(0, 0.15))
        smooth = (_ohno_led(nm, blue, rng.uniform(18, 30))
                  + ratio * _asym_gauss(nm, phos_peak, rng.uniform(70, 110), rng.uniform(100, 150)))
        cct = int(round(6500 - 4000 * warm, -2))
        source = f"white LED ~{cct} K"
    elif u < 0.82:
        peaks = (rng.uniform(450, 470), rng.uniform(515, 535), rng.uniform(615, 635))
        widths = (rng.uniform(18, 26), rng.uniform(28, 38), rng.uniform(15, 22))
        smooth = sum(_jitter([1.0], rng, 0.4)[0] * _ohno_led(nm, p, w) for p, w in zip(peaks, widths))
        source = "RGB LED"
    else:
        peak = float(rng.choice([rng.uniform(400, 420), rng.uniform(440, 475), rng.uniform(500, 535),
                                 rng.uniform(585, 600), rng.uniform(610, 640), rng.uniform(650, 665)]))
        fwhm = rng.uniform(14, 22) if peak > 580 else rng.uniform(18, 35)
        smooth = _ohno_led(nm, peak, fwhm)
        if rng.random() < 0.25:  # pink/purple LEDs: blue die plus a red phosphor
            smooth = _ohno_led(nm, rng.uniform(440, 460), 22) + rng.uniform(0.3, 1.5) * _gauss(nm, rng.uniform(610, 650), 80)
            peak = 450
            source = "pink LED"
        else:
            source = f"{peak:.0f} nm LED"
    return Spectrum(0, source, smooth / smooth.max(), np.zeros(0), np.zeros(0))


def _fluorescent(rng: np.random.Generator) -> Spectrum:
    nm = GRID_NM
    u = rng.random()
    if u < 0.2:
        smooth = 0.01 * rng.uniform(0.2, 2) * _gauss(nm, 560, 250)  # recombination glow and glass
        lines_nm, lines_power = _mercury_lines(rng, 1.0)
        if rng.random() < 0.4:  # Hg-Ar calibration lamp: some argon lines
            ar_nm = np.array([415.859, 420.067, 696.543, 706.722, 738.398, 750.387])
            ar_p = _jitter([0.02, 0.02, 0.15, 0.1, 0.15, 0.3], rng, 0.4) * rng.uniform(0.1, 1)
            lines_nm, lines_power = np.r_[lines_nm, ar_nm], np.r_[lines_power, ar_p]
            return Spectrum(1, "Hg-Ar lamp", smooth, lines_nm, lines_power)
        return Spectrum(1, "Hg lamp", smooth, lines_nm, lines_power)
    if u < 0.6:
        name, smooth = _table("fluorescent", rng)
        source = f"fluorescent ({name})"
    else:
        # tri-phosphor CFL: Eu3+ in Y2O3 (red: 611 nm, 5D0->7F2, with 587/593/599 nm 5D0->7F1, 631 nm,
        # 650 nm and 707 nm satellites), Tb3+ green (542-545 nm, 5D4->7F5, with 487, 585 and 621 nm),
        # BAM:Eu2+ broad blue (450 nm); literature positions (NOTES.md: "UNVERIFIED", randomised)
        eu = rng.uniform(0.6, 1.6)
        tb = rng.uniform(542, 545)
        smooth = (_gauss(nm, tb, rng.uniform(5, 10)) + 0.25 * _gauss(nm, 487.5, 8) + 0.12 * _gauss(nm, 585, 7)
                  + 0.08 * _gauss(nm, 621, 6)
                  + eu * (_gauss(nm, rng.uniform(610.5, 612), rng.uniform(3, 5)) + 0.12 * _gauss(nm, 587.2, 3)
                          + 0.12 * _gauss(nm, 593.1, 3) + 0.05 * _gauss(nm, 599.6, 3) + 0.12 * _gauss(nm, 631, 4)
                          + 0.05 * _gauss(nm, 650, 5) + 0.07 * _gauss(nm, 708, 5))
                  + rng.uniform(0, 0.5) * _gauss(nm, 450, 50)
                  + rng.uniform(0, 0.3) * _asym_gauss(nm, 580, 90, 110))
        source = rng.choice(["CFL", "fluorescent tube", "CCFL"])
    smooth = smooth / smooth.max()
    area = smooth.sum()  # power (1-nm grid)
    # visible Hg lines carry a few per cent of a CFL's light (Srivastava & Sommerer 1998); more in old or cold tubes
    lines_nm, lines_power = _mercury_lines(rng, area * float(np.exp(rng.uniform(np.log(0.03), np.log(0.4)))))
    return Spectrum(1, str(source), smooth, lines_nm, lines_power)


def _continuum(rng: np.random.Generator) -> Spectrum:
    nm = GRID_NM
    u = rng.random()
    lines_nm, lines_power = np.zeros(0), np.zeros(0)
    if u < 0.25:
        t = rng.uniform(2400, 3000)
        smooth, source = _planck(nm, t), f"incandescent {t:.0f} K"
    elif u < 0.4:
        t = rng.uniform(2800, 3400)
        smooth, source = _planck(nm, t), f"halogen {t:.0f} K"
    elif u < 0.5:
        name, smooth = _table("continuum", rng, ["A", "Incandescent", "60 A/W (Soft White)",
                                                  "Neodimium Incandescent", "ISO 7589 Studio Tungsten"])
        source = f"incandescent ({name})"
    else:
        kind = rng.choice(["sun", "daylight", "sky", "star"], p=[0.3, 0.3, 0.3, 0.1])
        if kind == "star":
            t = rng.uniform(3500, 10000)
            smooth = _planck(nm, t)
            lines_nm = np.array([656.281, 486.134, 434.047, 410.175, 393.368, 396.847, 588.995])
            depth = np.array([0.6, 0.5, 0.4, 0.3, 1.0, 0.8, 0.3]) * rng.uniform(0.2, 2)
            lines_power = -depth * np.interp(lines_nm, nm, smooth)
            source = f"star {t:.0f} K"
        else:
            cct = {"sun": rng.uniform(4800, 5800), "daylight": rng.uniform(5000, 7500), "sky": rng.uniform(6500, 12000)}[kind]
            smooth = _daylight(cct)
            if kind == "sky":  # Rayleigh scattering tilts the light blue-wards
                smooth = smooth * (550 / nm) ** rng.uniform(0.5, 4)
            if kind == "sun" and rng.random() < 0.5:  # low sun: the reverse tilt
                smooth = smooth * (nm / 550) ** rng.uniform(0.5, 3)
            lines_nm, lines_power = _fraunhofer(smooth, rng, rng.uniform(0.4, 1.5))
            source = {"sun": "sun", "daylight": f"daylight D{cct / 100:.0f}", "sky": "blue sky"}[kind]
    scale = smooth[(nm >= 380) & (nm <= 780)].max()
    return Spectrum(2, source, smooth / scale, lines_nm, lines_power / scale)


def _line_lamp(label: int, rng: np.random.Generator) -> Spectrum:
    nm = GRID_NM
    glow = 0.002 * rng.uniform(0, 3) * _gauss(nm, rng.uniform(450, 650), 300)
    if label == 3:
        lines_nm, power = _lines("Ne", rng, 0.35)
        power = power * np.exp(rng.normal(0, 0.3) * (lines_nm - 600) / 100)  # pressure/current tilt
        return Spectrum(3, str(rng.choice(["neon lamp", "neon indicator", "neon sign"])), glow, lines_nm, power)
    if label == 4:
        lines_nm, power = _lines("He", rng, 0.35)
        if rng.random() < 0.3:  # discharge tubes age: traces of hydrogen
            h_nm, h_p = _lines("H", rng, 0.3)
            lines_nm, power = np.r_[lines_nm, h_nm], np.r_[power, h_p * rng.uniform(0.02, 0.15)]
        return Spectrum(4, "helium tube", glow, lines_nm, power)
    if label == 5:
        lines_nm, power = _lines("H", rng, 0.15)
        power[lines_nm < 600] *= np.exp(rng.normal(0, 0.35))  # Halpha : Hbeta varies with pressure and current
        # molecular H2: Fulcher lines and a many-line spectrum between the Balmer lines
        h2 = float(np.exp(rng.uniform(np.log(0.03), np.log(0.6))))
        fulcher = np.array(_H2_FULCHER_NM)
        many = np.sort(rng.uniform(440, 660, 120))
        lines_nm = np.r_[lines_nm, fulcher, many]
        power = np.r_[power, h2 * 0.02 * _jitter(np.ones(fulcher.size), rng, 0.4),
                      h2 * 0.008 * _jitter(np.ones(many.size), rng, 0.6)]
        smooth = glow + h2 * 0.004 * _asym_gauss(nm, 420, 100, 250)  # a-b continuum tail in the blue
        return Spectrum(5, "hydrogen tube", smooth, lines_nm, power)
    # nitrogen
    second, first_neg, first_pos = _n2_bands()
    mix = rng.random()
    rel2 = (1 - mix) * second[:, 1] + mix * second[:, 2]
    reln = ((1 - mix) * first_neg[:, 1] + mix * first_neg[:, 2]) * rng.uniform(0.05, 0.7)
    heads = first_pos[:, 0] + rng.uniform(0, 2)
    seq = first_pos[:, 1]
    relp = np.select([seq == 5, seq == 4, seq == 3, seq == 2], [0.5, 1.0, 0.9, 0.5], 0.3)
    relp = _jitter(relp, rng, 0.35) * rng.uniform(0.1, 0.9)
    band_heads = np.r_[second[:, 0], first_neg[:, 0], heads]
    band_power = _jitter(np.r_[rel2, reln, relp], rng, 0.2)
    keep = band_power > 0
    lines_nm, power = _band_lines(band_heads[keep], band_power[keep], rng)
    smooth = glow + 0.003 * rng.uniform(0, 1) * _gauss(nm, 600, 200)
    return Spectrum(6, str(rng.choice(["nitrogen tube", "air discharge"], p=[0.8, 0.2])), smooth, lines_nm, power)


def sample_spectrum(label: int, rng: np.random.Generator) -> Spectrum:
    """A random lamp of class ``label`` (0-6): its :class:`Spectrum` (relative power, air nm)."""
    label = _check_label(label)
    if label == 0:
        return _led(rng)
    if label == 1:
        return _fluorescent(rng)
    if label == 2:
        return _continuum(rng)
    return _line_lamp(label, rng)


def blackbody_spectrum(temperature_k: float) -> Spectrum:
    """A blackbody (Planck) light source of ``temperature_k`` kelvin as a class-2 :class:`Spectrum`."""
    if not 500 <= float(temperature_k) <= 50000:
        raise ValueError(f"temperature {temperature_k!r} K is outside 500-50000 K")
    smooth = _planck(GRID_NM, float(temperature_k))
    return Spectrum(2, f"blackbody {float(temperature_k):.0f} K", smooth / smooth.max(), np.zeros(0), np.zeros(0))


def lamp_spectrum(element: str) -> Spectrum:
    """A pure line lamp (Hg, Ne, He, H or Na) with the unrandomised relative intensities of :func:`emission_lines`."""
    nm, rel = emission_lines(element)
    label = {"hg": 1, "ne": 3, "he": 4, "h": 5}.get(element.strip().lower(), -1)  # Na: no class
    return Spectrum(label, f"{element} lamp", np.zeros_like(GRID_NM), nm, rel)


def _out_of_class_spectrum(kind: str, rng: np.random.Generator) -> Spectrum:
    nm = GRID_NM
    if kind == "sodium":
        if rng.random() < 0.5:
            lines_nm, power = _lines("Na", rng, 0.3)
            ne_nm, ne_p = _lines("Ne", rng, 0.4)  # the neon starting gas glows faintly
            return Spectrum(-1, "low-pressure sodium", 0.001 * _gauss(nm, 590, 200),
                            np.r_[lines_nm, ne_nm], np.r_[power, ne_p * rng.uniform(0.005, 0.05)])
        name, smooth = _table("sodium", rng, ["HPS", "Super HPS", "C100S54 (HPS)"])
        return Spectrum(-1, f"high-pressure sodium ({name})", smooth, np.zeros(0), np.zeros(0))
    if kind == "laser":
        centre = float(rng.choice([405.0, 445.0, 450.0, 520.0, 532.0, 635.0, 650.0, 660.0]))
        return Spectrum(-1, f"{centre:.0f} nm laser", 1e-4 * _gauss(nm, centre, 40),
                        np.array([centre + rng.normal(0, 1)]), np.array([1.0]))
    raise ValueError(f"unknown out-of-class kind {kind!r}: use one of {', '.join(OUT_OF_CLASS_KINDS)}")


# ----------------------------------------------------------------------------------- instrument
@dataclass(frozen=True)
class Camera:
    """RGB sensitivities (relative, per unit power) and the camera's processing settings."""

    name: str
    peaks: tuple[float, float, float]
    left_fwhm: tuple[float, float, float]
    right_fwhm: tuple[float, float, float]
    ir_cut_50: float
    ir_cut_width: float
    uv_cut_50: float
    red_blue_lobe: float
    gains: tuple[float, float, float]

    def response(self, nm: np.ndarray) -> np.ndarray:
        """Sensitivity ``(len(nm), 3)`` RGB at wavelengths ``nm`` (nm), never negative."""
        nm = np.asarray(nm, float)
        table = self._table()
        # linear interpolation on a 1-nm table: exact enough (the curves are 30-100 nm wide) and fast
        pos = np.minimum(np.maximum(nm - _RESPONSE_NM[0], 0), _RESPONSE_NM.size - 1.001)  # np.clip, without its overhead
        i0 = pos.astype(np.int64)
        f = (pos - i0)[:, None]
        return table[i0] * (1 - f) + table[i0 + 1] * f

    def _table(self) -> np.ndarray:
        cached = self.__dict__.get("_cached_table")
        if cached is None:
            nm = _RESPONSE_NM[:, None].astype(np.float32)
            peaks = np.array(self.peaks, np.float32)
            fwhm = np.where(nm < peaks, np.array(self.left_fwhm, np.float32), np.array(self.right_fwhm, np.float32))
            curves = np.exp(np.float32(-2.7726) * ((nm - peaks) / fwhm) ** 2)
            curves[:, 0] += self.red_blue_lobe * np.exp(np.float32(-2.7726) * ((nm[:, 0] - 440) / 40) ** 2)
            cut = 1 / (1 + np.exp(np.minimum((nm - self.ir_cut_50) / self.ir_cut_width, 60)))
            cut = cut / (1 + np.exp(np.minimum((self.uv_cut_50 - nm) / 6, 60)))
            cached = (curves * cut * np.array(self.gains, np.float32)).astype(float)
            object.__setattr__(self, "_cached_table", cached)  # a cache of derived data, not state
        return cached


def sample_camera(rng: np.random.Generator) -> Camera:
    """A camera randomised around one of the measured ones (peaks +-8 nm, widths, IR-cut edge)."""
    cams = _cameras()
    base = cams[int(rng.integers(len(cams)))]
    peaks, left, right = [], [], []
    for ch in "RGB":
        peak, lo, hi = base[ch]
        shift = rng.normal(0, 5)
        peaks.append(peak + shift)
        left.append(2 * (peak - lo) * rng.uniform(0.85, 1.2))
        right.append(2 * (hi - peak) * rng.uniform(0.85, 1.2))
    r50 = base["r50"] + rng.normal(0, 8)
    width = max(2.0, (base["r10"] - base["r50"]) / np.log(9) * rng.uniform(0.8, 1.3))
    # the red channel's own fall-off is the IR cut: let the red Gaussian extend past it
    right[0] = max(right[0], 120.0)
    return Camera(
        name=base["name"],
        peaks=tuple(peaks), left_fwhm=tuple(left), right_fwhm=tuple(right),
        ir_cut_50=float(r50), ir_cut_width=float(width), uv_cut_50=float(rng.uniform(*_UV_CUT_NM)),
        red_blue_lobe=float(rng.uniform(0, 0.07)),
        gains=tuple(float(g) for g in np.exp(rng.normal(0, 0.1, 3))),
    )


@dataclass(frozen=True)
class Instrument:
    """Where wavelengths land (nm at each pixel along the band) and how sharp lines are."""

    nm_start: float        # nm at the first pixel of the band
    nm_end: float          # nm at the last pixel
    curvature: float       # mild non-linearity of the dispersion (fraction of the span)
    lsf_sigma_px: float    # Gaussian line-spread sigma (pixels)
    wing_fraction: float   # share of the line in wide wings (scattered light in the optics)

    def nm_at(self, px: np.ndarray, n_px: int) -> np.ndarray:
        """Wavelength (nm) at pixel positions ``px`` along a band of ``n_px`` pixels."""
        t = np.asarray(px, float) / (n_px - 1)
        return self.nm_start + (self.nm_end - self.nm_start) * (t + self.curvature * t * (1 - t))


def sample_instrument(rng: np.random.Generator, n_px: int = STRIP_SHAPE[1]) -> Instrument:
    """A random spectroscope: the span seen over ``n_px`` pixels, dispersion, line-spread width."""
    if rng.random() < 0.7:  # the usual framing: the visible rainbow across the strip
        nm_start = rng.uniform(330, 430)
        nm_end = nm_start + rng.uniform(max(260.0, 640 - nm_start), 460)
    else:  # zoomed in on part of the spectrum, or zoomed out with infrared (dark) on one side
        span = float(np.exp(rng.uniform(np.log(130), np.log(700))))
        nm_start = rng.uniform(430, 650) - span / 2
        nm_end = nm_start + span
    # line spread: slit image plus camera blur plus resizing, in pixels of the band
    sigma = float(np.exp(rng.uniform(np.log(0.7), np.log(4.0)))) * n_px / STRIP_SHAPE[1]
    return Instrument(float(nm_start), float(nm_end), float(rng.uniform(-0.08, 0.08)), sigma,
                      float(rng.uniform(0, 0.25)))


# ----------------------------------------------------------------------------------- rendering
def _lsf_kernel(sigma: float, wing_fraction: float) -> np.ndarray:
    wing = 5 * sigma + 2
    radius = int(min(np.ceil(3 * wing), 80))
    x = np.arange(-radius, radius + 1, dtype=float)
    core = np.exp(-0.5 * (x / sigma) ** 2)
    wings = np.exp(-0.5 * (x / wing) ** 2)
    k = (1 - wing_fraction) * core / core.sum() + wing_fraction * wings / wings.sum()
    return k


def render_profile(spectrum: Spectrum, instrument: Instrument, camera: Camera, n_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear camera signal along the band: ``(n_px, 3)`` float and the nm of each pixel ``(n_px,)``.

    Smooth power per pixel is the spectrum times the pixel's width in nm; each line is deposited
    at its sub-pixel position; the sum is blurred by the line-spread function; the camera's
    sensitivity at each wavelength turns power into R, G, B.
    """
    kernel = _lsf_kernel(instrument.lsf_sigma_px, instrument.wing_fraction)
    pad = kernel.size // 2
    px = np.arange(-pad, n_px + pad, dtype=float)
    nm = instrument.nm_at(px, n_px)
    dnm = np.empty_like(nm)  # width of each pixel in nm (the last repeats its neighbour's)
    np.subtract(nm[1:], nm[:-1], out=dnm[:-1])
    dnm[-1] = dnm[-2]
    np.abs(dnm, out=dnm)
    resp = camera.response(nm)
    signal = (np.interp(nm, GRID_NM, spectrum.smooth) * dnm)[:, None] * resp
    if spectrum.lines_nm.size:
        lo, hi = min(nm[0], nm[-1]), max(nm[0], nm[-1])
        inside = (spectrum.lines_nm > lo) & (spectrum.lines_nm < hi)
        if inside.any():
            lnm = spectrum.lines_nm[inside]
            pos = np.interp(lnm, nm, np.arange(nm.size, dtype=float)) if nm[-1] > nm[0] else \
                np.interp(lnm, nm[::-1], np.arange(nm.size, dtype=float)[::-1])
            weights = spectrum.lines_power[inside][:, None] * camera.response(lnm)
            i0 = np.floor(pos).astype(int)
            frac = (pos - i0)[:, None]
            idx = np.concatenate([i0, np.minimum(i0 + 1, nm.size - 1)])
            w = np.concatenate([weights * (1 - frac), weights * frac])
            for c in range(3):
                signal[:, c] += np.bincount(idx, weights=w[:, c], minlength=nm.size)
    from scipy.ndimage import convolve1d

    signal = convolve1d(signal, kernel, axis=0, mode="nearest")
    return signal[pad:pad + n_px], nm[pad:pad + n_px]


def _white_balance_gains(camera: Camera, rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Gains a camera applies: a preset (blackbody 2800-7500 K made grey), sometimes auto (grey world)."""
    nm = _RESPONSE_NM[80:481:5]  # 380-780 nm
    ref = (_planck(nm, rng.uniform(2800, 7500))[:, None] * camera._table()[80:481:5]).sum(axis=0)
    gains = ref[1] / ref
    if rng.random() < 0.4:  # auto white balance pulls the picture's average towards grey
        mean = signal.reshape(-1, 3).mean(axis=0) * gains + 1e-9
        gains = gains * (mean[1] / mean) ** rng.uniform(0.2, 0.7)
    return np.minimum(np.maximum(gains * np.exp(rng.normal(0, 0.08, 3)), 0.2), 5)


def _expose(signal: np.ndarray, rng: np.random.Generator) -> float:
    """Exposure scale for a ``(n, 3)`` profile: bright peaks at 0.5-4x full scale, or an auto-exposed mean."""
    brightest = signal.max(axis=1)
    k = int(0.995 * (brightest.size - 1))
    peak = float(np.partition(brightest, k)[k]) + 1e-12
    if rng.random() < 0.55:
        return float(np.exp(rng.uniform(np.log(0.5), np.log(4.0)))) / peak
    mean = float(signal.mean()) + 1e-12
    scale = float(np.exp(rng.uniform(np.log(0.04), np.log(0.3)))) / mean
    return min(scale, 30.0 / peak)


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """2**21 standard normal float32 values from a fixed seed, read at random offsets.

    Drawing fresh normals for every pixel costs more than all the physics of a strip; a random
    window into a fixed bank is as good for a camera's noise and keeps items reproducible.
    """
    bank = np.random.default_rng(20191).standard_normal(2**21, dtype=np.float32)
    bank.flags.writeable = False  # windows of it are handed out as views
    return bank


def _noise(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Standard normal noise of ``shape`` (float32) as a read-only window of the bank (or fresh
    draws for huge shapes), and whether to negate it (the caller does, in place: no copy)."""
    bank = _noise_bank()
    n = math.prod(shape)
    if n > bank.size // 2:
        return rng.standard_normal(shape, dtype=np.float32), False
    start = int(rng.integers(0, bank.size - n))
    return bank[start:start + n].reshape(shape), rng.random() >= 0.5


_LUT_SIZE = 2048


@lru_cache(maxsize=1)
def _lut_positions() -> np.ndarray:
    positions = np.linspace(0, 1, _LUT_SIZE, dtype=np.float32)
    positions.flags.writeable = False
    return positions


def _median_step(nm: np.ndarray) -> float:
    """Median nm step between neighbouring pixels (``np.median(np.diff(nm))``, without its overhead)."""
    steps = np.diff(nm)
    steps.sort()
    middle = steps.size // 2
    return float(steps[middle] if steps.size % 2 else (steps[middle - 1] + steps[middle]) / 2)


@dataclass(frozen=True)
class _Processing:
    """How a camera develops linear RGB: noise, colour matrix, highlight roll-off, tone curve."""

    read_noise: float
    shot_noise: float
    saturation_boost: float
    highlight_to_white: float
    lut: np.ndarray  # (_LUT_SIZE,) uint8: tone curve, indexed by sqrt(linear) in [0, 1]


def _sample_processing(rng: np.random.Generator, noise_scale: float = 1.0) -> _Processing:
    gamma = rng.uniform(1.7, 2.6)
    contrast = rng.uniform(0, 0.4)
    u = _lut_positions()  # the LUT is indexed by sqrt(linear): fine steps in the dark
    y = u ** np.float32(2 / gamma)
    y = y + np.float32(contrast) * y * (1 - y) * (2 * y - 1)  # S-curve: deeper shadows, brighter highlights
    lut = np.minimum(np.maximum(np.rint(y * 255), 0), 255).astype(np.uint8)
    return _Processing(float(rng.uniform(0.0005, 0.005) * noise_scale), float(rng.uniform(0.0002, 0.002) * noise_scale),
                       float(rng.uniform(0.0, 0.5)), float(rng.uniform(0.3, 1.0)), lut)


def _boost_saturation(profile: np.ndarray, boost: float) -> np.ndarray:
    """Colour matrix of a camera (more saturated than the sensor: negative off-diagonal terms)."""
    grey = profile.sum(axis=-1, keepdims=True) / 3
    return np.maximum((1 + boost) * profile - boost * grey, 0)


def _develop(linear: np.ndarray, rng: np.random.Generator, proc: _Processing) -> np.ndarray:
    """Linear camera RGB ``(..., 3)`` (exposed, white balanced, colour matrix applied) -> uint8 as saved.

    Adds shot and read noise, rolls highlights off to white (a clipped channel drags the others
    up, so bright lines blow out to white as in real photos), applies the tone curve.
    """
    x = np.sqrt(proc.shot_noise * linear + np.float32(proc.read_noise**2))
    noise, negate = _noise(linear.shape, rng)
    x *= noise
    if negate:
        np.negative(x, out=x)
    x += linear
    if float(linear.max()) > 0.9:
        brightest = np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])
        over = np.maximum(brightest - 1, 0)[..., None]
        x += over * np.float32(proc.highlight_to_white)
    np.maximum(x, 0, out=x)  # np.clip(x, 0, 1), without its overhead
    np.minimum(x, 1, out=x)
    np.sqrt(x, out=x)
    x *= np.float32(_LUT_SIZE - 1)
    return proc.lut.take(x.astype(np.intp))  # take() is faster than fancy indexing


def _check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"label must be an int class index 0-{NUM_CLASSES - 1}, got {label!r}")
    if not 0 <= int(label) < NUM_CLASSES:
        raise ValueError(f"label {label} is out of range: classes are 0-{NUM_CLASSES - 1} ({', '.join(CLASS_NAMES)})")
    return int(label)


def _background(rng: np.random.Generator) -> np.ndarray:
    """Dark level with a colour cast (linear RGB), as real dark frames through a spectroscope have."""
    tint = np.array([rng.uniform(0.5, 1.2), rng.uniform(0.2, 1.0), rng.uniform(0.6, 1.5)])
    return tint * rng.uniform(0, 0.012)


def _render_strip_from(spectrum: Spectrum, rng: np.random.Generator, truth: dict) -> tuple[np.ndarray, dict]:
    rows, cols, _ = STRIP_SHAPE
    instrument = sample_instrument(rng, cols)
    camera = sample_camera(rng)
    proc = _sample_processing(rng)
    profile, nm = render_profile(spectrum, instrument, camera, cols)
    profile = profile * _white_balance_gains(camera, rng, profile)
    profile = profile * _expose(profile, rng)
    # scattered light inside the spectroscope: a wide blur of the spectrum itself
    stray_k = rng.uniform(0, 0.08)
    if stray_k > 0.01:
        from scipy.ndimage import uniform_filter1d

        profile = profile + stray_k * uniform_filter1d(profile, size=int(rng.integers(60, 240)), axis=0, mode="nearest")
    profile = _boost_saturation(profile, proc.saturation_boost).astype(np.float32)
    # across the band: how the preprocessing crop sits on it (full, or narrower than the strip)
    r = np.arange(rows, dtype=np.float32) - (rows - 1) / 2
    if rng.random() < 0.75:
        centre, half = rng.uniform(-2, 2), rng.uniform(7, 25)
    else:
        centre, half = rng.uniform(-4, 4), rng.uniform(2, 7)
    soft = rng.uniform(0.5, 2.5)
    weight = 1 / (1 + np.exp(np.minimum((np.abs(r - centre) - half) / soft, 50)))
    weight *= 1 + rng.uniform(-0.25, 0.25) * r / rows * 2
    band = weight[:, None, None] * profile[None, :, :]
    if rng.random() < 0.5:  # lines slant across the strip (a slightly rotated band): first-order shift
        slope = rng.normal(0, 0.12)
        slope_px = np.empty_like(profile)
        slope_px[1:-1] = (profile[2:] - profile[:-2]) / 2
        slope_px[0], slope_px[-1] = slope_px[1], slope_px[-2]
        band -= (weight * slope * r)[:, None, None] * slope_px[None, :, :]
        np.maximum(band, 0, out=band)
    band += _background(rng).astype(np.float32)
    strip = _develop(band, rng, proc)
    flipped = bool(rng.random() < 0.5)
    if flipped:
        strip = strip[::-1]
    truth.update(
        source=spectrum.source,
        nm_per_column=nm,
        nm_per_px=_median_step(nm),
        lsf_sigma_px=instrument.lsf_sigma_px,
        camera=camera.name,
        flipped_rows=flipped,
    )
    return np.ascontiguousarray(strip), truth


def render_strip(label: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A preprocessed strip of a random lamp of class ``label``: ``(15, 480, 3) uint8``, blue on the left.

    Truth dict: ``label`` (int), ``source`` (str), ``nm_per_column`` ((480,) float, true nm of each
    column), ``nm_per_px``, ``lsf_sigma_px``, ``camera``, ``flipped_rows`` (upside down or not).
    """
    label = _check_label(label)
    spectrum = sample_spectrum(label, rng)
    return _render_strip_from(spectrum, rng, {"label": label})


def render_out_of_class_strip(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A strip of light from none of the seven classes: ``kind`` "sodium" or "laser".

    Same rendering as :func:`render_strip`; the truth's ``label`` is -1 and ``kind`` names the light.
    """
    if kind not in OUT_OF_CLASS_KINDS:
        raise ValueError(f"unknown out-of-class kind {kind!r}: use one of {', '.join(OUT_OF_CLASS_KINDS)}")
    spectrum = _out_of_class_spectrum(kind, rng)
    return _render_strip_from(spectrum, rng, {"label": -1, "kind": kind})


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


def _strip_chunk(seed: int, items: list[tuple[int, int]]) -> list[tuple[np.ndarray, list[dict]]]:
    """Strips ``items`` ((label, k) pairs) as one stacked array and their truths (one cheap pickle)."""
    rendered = [render_strip(label, _item_rng(seed, label, k)) for label, k in items]
    return [(np.stack([image for image, _ in rendered]), [truth for _, truth in rendered])] if rendered else []


def generate_strips(counts: Sequence[int], seed: int, workers: int = 1) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``counts[label]`` strips per class: images ``(N, 15, 480, 3) uint8``, labels ``(N,) int64``, truths.

    Items are in label order; item ``k`` of class ``label`` depends only on ``(seed, label, k)``,
    so the same seed gives the same bytes, and adding items to one class leaves the others alone.
    ``workers`` > 1 renders in that many processes (same bytes; worth it from a few hundred strips).
    """
    counts = _check_counts(counts)
    seed = _check_seed(seed)
    workers = _check_workers(workers)
    items = [(label, k) for label, count in enumerate(counts) for k in range(count)]
    labels = np.array([label for label, _ in items], dtype=np.int64)
    chunks = _in_chunks(_strip_chunk, items, workers, seed)
    images = np.concatenate([stack for stack, _ in chunks]) if chunks else np.empty((0, *STRIP_SHAPE), np.uint8)
    truths = [truth for _, part in chunks for truth in part]
    return images, labels, truths


# ----------------------------------------------------------------------------------- photos
# (height, width) of camera frames and how often they occur (webcams dominate Spectral Workbench)
_FRAME_SIZES = ((480, 640), (600, 800), (720, 1280), (768, 1024), (360, 640), (900, 1200), (720, 960))
_FRAME_P = (0.4, 0.2, 0.12, 0.1, 0.08, 0.05, 0.05)


def render_photo(label: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A raw spectroscope photo of a random lamp of class ``label``: ``(H, W, 3) uint8`` RGB.

    Frames are 360-1280 px. Truth: ``label``, ``source``, ``band_box`` (x0, y0, x1, y1) pixels,
    x1/y1 exclusive, covering the visible band (along it: the columns lit at least
    ``VISIBLE_LEVELS`` grey levels above the dark frame, as a person would box it); ``window_box``
    the same across it, but along it the whole imaged wavelength window, dark (UV, IR) ends
    included; ``dispersion`` "horizontal" or "vertical"; ``blue_first``
    (blue at the left, or at the top for vertical); ``nm_at_band_ends`` and ``nm_at_window_ends``
    (nm at the first and last pixel of each box along the dispersion axis, in image order);
    ``nm_per_px`` (signed, image order).
    """
    label = _check_label(label)
    spectrum = sample_spectrum(label, rng)
    return _render_photo_from(spectrum, rng, {"label": label})


VISIBLE_LEVELS = 8  # grey levels (of 255) above the dark frame that make a column of the band visibly lit


def _visible_columns(profile: np.ndarray, background: np.ndarray, proc: _Processing) -> tuple[int, int]:
    """First and last (exclusive) column of a band's profile that a viewer sees lit: the noiseless
    developed centre row, brightest channel, at least ``VISIBLE_LEVELS`` above the developed dark frame.
    All columns when none is (a band too dim to see anywhere)."""
    def developed(linear: np.ndarray) -> np.ndarray:
        x = np.sqrt(np.clip(linear, 0, 1)) * np.float32(_LUT_SIZE - 1)
        return proc.lut.take(x.astype(np.intp)).max(axis=-1).astype(np.int16)

    lit = np.flatnonzero(developed(profile + background) >= int(developed(background[None])[0]) + VISIBLE_LEVELS)
    return (int(lit[0]), int(lit[-1]) + 1) if lit.size else (0, profile.shape[0])


def _paste_brighter(frame: np.ndarray, window: np.ndarray, y0: int, x0: int, light: np.ndarray,
                    background: np.ndarray) -> None:
    """Put ``window`` (developed ``light + background``) into ``frame`` at (y0, x0), keeping the
    brighter value, clipped to the frame, only where ``light`` (linear, ``(h, w)`` or ``(h, w, 3)``)
    lifts the developed dark frame by about a grey level or more: elsewhere the window is only dark
    frame, and the brighter of two noisy dark frames would show as a lit rectangle."""
    h, w = frame.shape[:2]
    ya, xa = max(0, y0), max(0, x0)
    yb, xb = min(h, y0 + window.shape[0]), min(w, x0 + window.shape[1])
    if ya < yb and xa < xb:
        # sqrt(b + s) - sqrt(b) >= 1/255 (the tone curve is about a square root)
        step = (1 / 255) ** 2 + 2 * np.sqrt(float(np.max(background))) / 255
        lit = (light if light.ndim == 2 else light.max(axis=-1))[ya - y0:yb - y0, xa - x0:xb - x0] >= step
        target = frame[ya:yb, xa:xb]
        target[lit] = np.maximum(target[lit], window[ya - y0:yb - y0, xa - x0:xb - x0][lit])


def _render_photo_from(spectrum: Spectrum, rng: np.random.Generator, truth: dict) -> tuple[np.ndarray, dict]:
    frame_h, frame_w = _FRAME_SIZES[int(rng.choice(len(_FRAME_SIZES), p=_FRAME_P))]
    vertical = bool(rng.random() < 0.3)
    blue_first = bool(rng.random() < 0.8)
    # canonical frame: dispersion along x, blue at the left; transposed/flipped at the end
    h, w = (frame_w, frame_h) if vertical else (frame_h, frame_w)
    length = int(w * rng.uniform(0.45, 0.9))
    height = int(np.clip(h * rng.uniform(0.04, 0.25), 12, None))
    x0 = int(rng.integers(0, w - length + 1))
    angle = np.deg2rad(rng.uniform(-3, 3))
    sag = rng.uniform(-0.04, 0.04) * length / 10  # smile: the band's centre line bends by `sag` px at its ends
    soft = rng.uniform(0.8, 3.0)
    span_y = abs(np.tan(angle)) * length / 2 + abs(sag) + height / 2 + soft + 2
    cy = rng.uniform(span_y, h - span_y) if h > 2 * span_y else h / 2
    base = sample_instrument(rng, length)
    instrument = Instrument(float(rng.uniform(370, 410)), float(rng.uniform(680, 760)), base.curvature,
                            base.lsf_sigma_px, base.wing_fraction)
    camera = sample_camera(rng)
    proc = _sample_processing(rng, noise_scale=2.0)
    profile, nm = render_profile(spectrum, instrument, camera, length)
    profile = profile * _white_balance_gains(camera, rng, profile)
    profile = profile * _expose(profile, rng)
    profile = _boost_saturation(profile, proc.saturation_boost).astype(np.float32)
    background = _background(rng).astype(np.float32)

    # the frame away from the band: a developed dark tile, repeated (cheap, and noise-like). The
    # photo is made in its final orientation; `frame` is a view of it with the dispersion along x
    # and blue at the left, so turning and flipping cost nothing at the end
    tile = _develop(np.broadcast_to(background, (128, 128, 3)), rng, proc)
    out_h, out_w = (w, h) if vertical else (h, w)
    photo = np.tile(tile, (-(-out_h // 128), -(-out_w // 128), 1))[:out_h, :out_w]
    frame = photo.transpose(1, 0, 2) if vertical else photo
    if not blue_first:
        frame = frame[:, ::-1]

    # the band and its halo, developed only where they are (float32 throughout)
    xc = np.arange(length, dtype=np.float32) - np.float32(length / 2)
    centre_y = np.float32(cy) + np.float32(np.tan(angle)) * xc + np.float32(sag) * (2 * xc / np.float32(length)) ** 2
    halo_reach = height * rng.uniform(0.2, 0.8)
    ry0 = int(max(0, np.floor(centre_y.min() - height / 2 - halo_reach)))
    ry1 = int(min(h, np.ceil(centre_y.max() + height / 2 + halo_reach)))
    ys = np.arange(ry0, ry1, dtype=np.float32)[:, None]
    dist = np.abs(ys - centre_y[None, :])
    across = 1 / (1 + np.exp(np.minimum((dist - height / 2) / soft, 50)))
    across *= 1 + rng.uniform(-0.2, 0.2) * (ys - centre_y[None, :]) / height
    halo = rng.uniform(0, 0.04) * np.exp(-dist / halo_reach)
    region = across[:, :, None] * profile[None] + halo[:, :, None] * profile.mean(axis=0) + background
    frame[ry0:ry1, x0:x0 + length] = _develop(region, rng, proc)
    extras = []
    if rng.random() < 0.15:  # zero-order image of the slit: a white spot beyond the blue end
        zx = x0 - length * rng.uniform(0.15, 0.6)
        zy = cy + np.tan(angle) * (zx - x0 - length / 2)
        r = rng.uniform(3, 10)
        half = int(4 * r)
        if -half <= zx < w + half:
            g = np.arange(-half, half + 1, dtype=np.float32)
            spot = rng.uniform(0.5, 3) * np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2 * r * r))
            window = _develop(spot[:, :, None] * np.ones(3, np.float32) + background, rng, proc)
            _paste_brighter(frame, window, int(zy) - half, int(zx) - half, spot, background)
            extras.append("zero order")
    if rng.random() < 0.1:  # second order: a dim copy of the spectrum at twice the dispersion
        span = instrument.nm_end - instrument.nm_start
        start = x0 + int(length * instrument.nm_start / span)  # where 2 x nm_start falls in first order
        if start < w:
            second = np.repeat(profile, 2, axis=0)[: w - start] * rng.uniform(0.03, 0.12)
            n2 = second.shape[0]
            edge = across[:, -1:]
            light = edge[:, :, None] * second[None]
            window = _develop(light + background, rng, proc)
            _paste_brighter(frame, window, ry0, start, light, background)
            extras.append("second order")

    band_y0 = int(np.floor(max(0, centre_y.min() - height / 2 - soft)))
    band_y1 = int(np.ceil(min(h, centre_y.max() + height / 2 + soft + 1)))
    lit0, lit1 = _visible_columns(profile, background, proc)

    def in_photo(a: int, b: int) -> tuple[int, ...]:  # columns a..b of the canonical frame -> photo box
        box = [a, band_y0, b, band_y1] if blue_first else [w - b, band_y0, w - a, band_y1]
        return tuple(int(v) for v in ((box[1], box[0], box[3], box[2]) if vertical else box))

    window_ends = (float(nm[0]), float(nm[-1]))
    ends = (float(nm[lit0]), float(nm[lit1 - 1]))
    if not blue_first:
        window_ends, ends = window_ends[::-1], ends[::-1]
    nm_per_px = (window_ends[1] - window_ends[0]) / (length - 1)
    truth.update(
        source=spectrum.source,
        band_box=in_photo(x0 + lit0, x0 + lit1),
        window_box=in_photo(x0, x0 + length),
        dispersion="vertical" if vertical else "horizontal",
        blue_first=blue_first,
        nm_at_band_ends=ends,
        nm_at_window_ends=window_ends,
        nm_per_px=float(nm_per_px),
        camera=camera.name,
        extras=tuple(extras),
    )
    return np.ascontiguousarray(photo), truth


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
    reused. A folder holding anything else is refused (FileExistsError) unless ``overwrite=True``,
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
                old_recipe = json.loads(recipe_path.read_text())
            except (OSError, ValueError):
                old_recipe = None
        made_by_us = set()
        if old_recipe is not None and labels_csv.exists():
            with open(labels_csv, newline="") as f:
                made_by_us = {(out_dir / row["path"]).resolve() for row in csv.DictReader(f)}
            made_by_us |= {labels_csv.resolve(), recipe_path.resolve()}
        if old_recipe == signature and all(p.exists() for p in made_by_us):
            foreign = [p for p in existing if p.resolve() not in made_by_us]
            if not foreign:
                return labels_csv
        foreign = [p for p in existing if p.resolve() not in made_by_us]
        if not overwrite:
            example = foreign[0] if foreign else existing[0]
            raise FileExistsError(
                f"{out_dir} already holds {len(existing)} file(s) that are not this dataset (e.g. {example}); "
                "choose an empty folder, or pass overwrite=True to replace the generated files "
                "(files you made are never deleted)"
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
    tmp = labels_csv.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, labels_csv)
    recipe_path.write_text(json.dumps(signature, indent=1) + "\n")
    return labels_csv


# ----------------------------------------------------------------------------------- inspection
def read_labels(labels_csv: str | Path) -> list[dict]:
    """Rows of a ``labels.csv`` written by :func:`generate_photo_folder` (ints and bools converted)."""
    labels_csv = Path(labels_csv)
    if not labels_csv.exists():
        raise FileNotFoundError(f"{labels_csv} does not exist: generate the photos first (chapter 01, generate_photo_folder)")
    rows = []
    with open(labels_csv, newline="") as f:
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


def plot_spectrum(spectrum: Spectrum, ax=None, nm: np.ndarray | None = None, fwhm_nm: float = 1.0, **style):
    """Relative spectral power of a :class:`Spectrum` against wavelength (nm); returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    nm = np.arange(360.0, 781.0, 0.25) if nm is None else np.asarray(nm, float)
    power = spectrum.sampled(nm, fwhm_nm)
    _ = ax.plot(nm, power / max(power.max(), 1e-12), **{"color": "k", "lw": 1, **style})
    ax.set(xlabel="wavelength (nm)", ylabel="relative power", xlim=(nm[0], nm[-1]))
    ax.set_title(spectrum.source, fontsize=9)
    return ax


def plot_camera(camera: Camera, spectrum: Spectrum | None = None, ax=None):
    """A camera's R, G, B sensitivities (solid) and, given a spectrum, what each channel records (filled)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    nm = np.arange(360.0, 781.0, 0.5)
    response = camera.response(nm)
    response = response / response.max()
    colours = ("tab:red", "tab:green", "tab:blue")
    for c, colour in enumerate(colours):
        _ = ax.plot(nm, response[:, c], color=colour, lw=1.5)
    if spectrum is not None:
        power = spectrum.sampled(nm, 2.0)
        power = power / max(power.max(), 1e-12)
        _ = ax.plot(nm, power, color="k", lw=0.8)
        for c, colour in enumerate(colours):
            ax.fill_between(nm, power * response[:, c], color=colour, alpha=0.35, lw=0)
    ax.set(xlabel="wavelength (nm)", ylabel="relative sensitivity", xlim=(nm[0], nm[-1]), ylim=(0, 1.05))
    ax.set_title(f"camera like {camera.name}" + (f" · {spectrum.source}" if spectrum is not None else ""), fontsize=9)
    return ax


def plot_photo(photo: np.ndarray, truth: dict | None = None, ax=None):
    """Show a photo; with its truth, outline the band box and name the source."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    ax = ax or plt.gca()
    ax.imshow(photo)
    if truth is not None:
        x0, y0, x1, y1 = truth["band_box"]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=1, ls="--"))
        arrow = {"horizontal": "→" if truth["blue_first"] else "←", "vertical": "↓" if truth["blue_first"] else "↑"}
        label = truth.get("label", -1)
        name = CLASS_NAMES[label] if 0 <= label < NUM_CLASSES else "no class"
        ax.set_title(f"{name}: {truth['source']}\n{photo.shape[1]}x{photo.shape[0]}, blue{arrow[truth['dispersion']]}red", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_strips(strips: Sequence[np.ndarray], titles: Sequence[str] | None = None, fig=None):
    """Strips one under another (rows stretched x3 so 15 px are visible); returns the figure."""
    import matplotlib.pyplot as plt

    n = len(strips)
    fig = fig or plt.figure(figsize=(9, 0.55 * n + 0.3))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for i, (ax, strip) in enumerate(zip(axes, strips)):
        ax.imshow(strip, aspect=3)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_ylabel(titles[i], rotation=0, ha="right", va="center", fontsize=8)
    return fig
