"""Light sources: line lists, measured spectra and the random lamps of each class.

A :class:`Spectrum` is the spectral power of a lamp: a smooth part (phosphors, continua) sampled
every nanometre on :data:`GRID_NM` plus sharp lines at their air wavelengths.
:func:`sample_spectrum` draws a random lamp of a class, randomised around published data (the
sources are listed in ``spectral_nb.synthesis``'s docstring and ``docs/sources.md``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from spectral_nb import check_label, lines

#: Kinds of light that belong to none of the seven classes (for :func:`render_out_of_class_strip`).
OUT_OF_CLASS_KINDS: tuple[str, ...] = ("sodium", "laser")

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: Wavelength grid (nm) on which smooth spectra are tabulated.
GRID_NM = np.arange(300.0, 901.0, 1.0)

# ----------------------------------------------------------------------------------- line lists
# Air wavelengths (nm) and lamp-like relative intensities (integrated power) of Hg, Ne, He, H and
# Na lamps: the ``lamp_intensity`` column of spectral_nb/data/lamp_lines.csv (spectral_nb.lines),
# which the calibration's references share; sources per line in docs/sources.md#2-line-lists.
# H2 Fulcher-alpha Q branches (0-0), (1-1), (2-2) (docs/sources.md#hydrogen-h-and-h2).
_H2_FULCHER_NM = (601.83, 602.38, 603.19, 604.27, 605.61, 607.20, 612.18, 612.72, 613.54, 614.62,
                  615.96, 622.48, 623.03, 623.84, 624.92, 626.25)
# Fraunhofer lines (nm) and rough equivalent widths (nm) in the solar spectrum: the lettered lines
# (docs/sources.md#fraunhofer-lines), plus strong Fe I / Ca I lines whose positions are quoted from memory of the
# solar line tables (Moore, Minnaert & Houtgast 1966): UNVERIFIED, as are all the widths.
_FRAUNHOFER = ((393.368, 2.0), (396.847, 1.5), (404.581, 0.08), (410.175, 0.3), (422.673, 0.15),
               (427.176, 0.08), (430.790, 0.25), (432.576, 0.08), (434.047, 0.3), (438.355, 0.1),
               (440.475, 0.08), (466.814, 0.05), (486.134, 0.36), (492.050, 0.04), (495.761, 0.05),
               (516.733, 0.12), (517.270, 0.13), (518.362, 0.16), (527.039, 0.1), (532.804, 0.04),
               (537.149, 0.04), (539.713, 0.03), (540.577, 0.04), (542.970, 0.04), (544.692, 0.04),
               (558.676, 0.04), (588.995, 0.08), (589.592, 0.06), (612.222, 0.03), (616.217, 0.03),
               (627.661, 0.1), (643.908, 0.03), (656.281, 0.4), (686.719, 0.3), (759.370, 0.8))
# Wavelengths (nm) on which camera sensitivities are tabulated.


def emission_lines(element: str) -> tuple[np.ndarray, np.ndarray]:
    """Air wavelengths (nm, ascending) and relative intensities (max 1) of a lamp's lines.

    ``element`` is "Hg", "Ne", "He", "H" or "Na": the lines the renderer draws for that lamp
    (before its per-lamp randomisation), i.e. what a calibration or a saliency plot should mark.
    """
    known = lines.lamps("lamp")
    key = {k.lower(): k for k in known}.get(str(element).strip().lower())
    if key is None:
        raise ValueError(f"unknown element {element!r}: use one of {', '.join(known)}")
    nm, rel, _ = lines.lamp_lines(key, "lamp")
    return nm, rel / rel.max()


# ----------------------------------------------------------------------------------- data tables
@lru_cache(maxsize=None)
def _table_spectra() -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """kind -> (names, (n, len(GRID_NM)) relative power on GRID_NM) from the colour-science table."""
    path = DATA_DIR / "colour_science_spectra_5nm.csv"
    with open(path, newline="", encoding="utf-8") as f:
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
    with open(DATA_DIR / "n2_visible_bands_moose.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            item = (float(row["peak_air_nm"]), float(row["rel_Tvib3000_Trot350"]), float(row["rel_Tvib5000_Trot400"]))
            (second if row["system"].startswith("N2_2PS") else first_neg).append(item)
    first_pos = []
    with open(DATA_DIR / "n2_first_positive_origins_computed.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            first_pos.append((float(row["origin_air_nm"]), float(row["dv"])))
    return np.array(second), np.array(first_neg), np.array(first_pos)




# ----------------------------------------------------------------------------------- spectra
@dataclass(frozen=True)
class Spectrum:
    """A light source: smooth spectral power on :data:`GRID_NM` plus sharp lines.

    ``smooth``: (len(GRID_NM),) relative power per nm; ``lines_nm``/``lines_power``: air nm and
    integrated power of each line (negative power = an absorption line of that equivalent power).
    ``faint``: a source too dim for a camera's auto-exposure to reach its target level (a
    spectrum tube of a few milliamps, a neon indicator): the camera runs out of exposure time and
    gain, and the picture stays darker than it would for a CFL or the sky.
    """

    label: int
    source: str
    smooth: np.ndarray
    lines_nm: np.ndarray
    lines_power: np.ndarray
    faint: bool = False

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


#: Table LEDs the LED class leaves out: NIST CQS 7.4's model spectra PHOS-1 to PHOS-4 show no pump.
#: A phosphor-converted white LED lets part of its die's light through, a peak at 440-470 nm (blue
#: die) or 400-420 nm (violet die): the CIE LED-B and LED-V illuminants and NIST's measured "Phosphor
#: LED YAG" peak there, the warm-white "Luxeon WW 2880" keeps a shoulder. These four rise smoothly
#: from 380 nm to a red maximum and fall off beyond it: through a spectroscope a continuum cut off in
#: the red, which generator 6's models called continuum
#: (benchmarks/results/history/sim_to_real_generator_v7_trial.md).
LED_TABLE_WITHOUT_PUMP: tuple[str, ...] = ("PHOS-1", "PHOS-2", "PHOS-3", "PHOS-4")


def _led(rng: np.random.Generator) -> Spectrum:
    u = rng.random()
    nm = GRID_NM
    if u < 0.3:
        name, smooth = _table("led", rng, [n for n in _table_spectra()["led"][0] if n not in LED_TABLE_WITHOUT_PUMP])
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


#: Shares of mercury-class lamps: bare Hg (or Hg-Ar) lamps, fluorescent spectra from the table
#: (CIE FL1-FL12 and FL3.x, measured tubes: halophosphate broadband among them), and tri-phosphor
#: CFL, tube and CCFL spectra built from their phosphors (the table holds tri-phosphor tubes too:
#: FL10-FL12, several FL3.x, the Triphosphor and F32T8 rows).
FLUORESCENT_SHARES: tuple[float, float, float] = (0.2, 0.4, 0.4)
#: The visible Hg lines' share of a phosphor lamp's light (log-uniform range; Srivastava & Sommerer 1998
#: give a few per cent for a new CFL, more in old or cold tubes).
HG_LINE_SHARE: tuple[float, float] = (0.03, 0.4)
#: A bare Hg lamp's continuum (recombination glow, the glass), as a share of its lines' power
#: (log-uniform): low-pressure arcs put almost all their light in lines, and the real strips of Hg
#: lamps are black between them.
HG_LAMP_GLOW: tuple[float, float] = (0.002, 0.03)


def _fluorescent(rng: np.random.Generator) -> Spectrum:
    nm = GRID_NM
    u = rng.random()
    if u < FLUORESCENT_SHARES[0]:
        # recombination glow and glass fluorescence: a faint continuum, HG_LAMP_GLOW of the lines' power
        glow = _gauss(nm, 560, 250)
        smooth = glow / glow.sum() * float(np.exp(rng.uniform(*np.log(HG_LAMP_GLOW))))
        lines_nm, lines_power = _mercury_lines(rng, 1.0)
        if rng.random() < 0.4:  # Hg-Ar calibration lamp: some argon lines
            ar_nm = np.array([415.859, 420.067, 696.543, 706.722, 738.398, 750.387])
            ar_p = _jitter([0.02, 0.02, 0.15, 0.1, 0.15, 0.3], rng, 0.4) * rng.uniform(0.1, 1)
            lines_nm, lines_power = np.r_[lines_nm, ar_nm], np.r_[lines_power, ar_p]
            return Spectrum(1, "Hg-Ar lamp", smooth, lines_nm, lines_power)
        return Spectrum(1, "Hg lamp", smooth, lines_nm, lines_power)
    if u < FLUORESCENT_SHARES[0] + FLUORESCENT_SHARES[1]:
        name, smooth = _table("fluorescent", rng)
        source = f"fluorescent ({name})"
    else:
        # tri-phosphor CFL: Eu3+ in Y2O3 (red: 611 nm, 5D0->7F2, with 587/593/599 nm 5D0->7F1, 631 nm,
        # 650 nm and 707 nm satellites), Tb3+ green (542-545 nm, 5D4->7F5, with 487, 585 and 621 nm),
        # BAM:Eu2+ broad blue (450 nm); literature positions (UNVERIFIED, randomised: docs/sources.md#cfl-phosphors)
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
    lines_nm, lines_power = _mercury_lines(rng, area * float(np.exp(rng.uniform(*np.log(HG_LINE_SHARE)))))
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
    # the tube's faint continuum (recombination, wall glow): weak beside its lines, 0.03-0.6 of the
    # strongest line's power in all (real tube strips are dark between their lines)
    glow = float(np.exp(rng.uniform(np.log(0.0001), np.log(0.002)))) * _gauss(nm, rng.uniform(450, 650), 300)
    if label == 3:
        lines_nm, power = _lines("Ne", rng, 0.35)
        power = power * np.exp(rng.normal(0, 0.3) * (lines_nm - 600) / 100)  # pressure/current tilt
        source = str(rng.choice(["neon lamp", "neon indicator", "neon sign"]))
        return Spectrum(3, source, glow, lines_nm, power, faint=source != "neon sign")
    if label == 4:
        lines_nm, power = _lines("He", rng, 0.35)
        if rng.random() < 0.3:  # discharge tubes age: traces of hydrogen
            h_nm, h_p = _lines("H", rng, 0.3)
            lines_nm, power = np.r_[lines_nm, h_nm], np.r_[power, h_p * rng.uniform(0.02, 0.15)]
        return Spectrum(4, "helium tube", glow, lines_nm, power, faint=True)
    if label == 5:
        lines_nm, power = _lines("H", rng, 0.15)
        power[lines_nm < 600] *= np.exp(rng.normal(0, 0.35))  # Halpha : Hbeta varies with pressure and current
        # molecular H2: Fulcher lines and a many-line spectrum between the Balmer lines
        # (weak in a spectrum tube: hundreds of faint lines, a dim glow between the Balmer lines;
        # the real tubes' strips are lit over about a tenth of their length)
        h2 = float(np.exp(rng.uniform(np.log(0.003), np.log(0.25))))
        fulcher = np.array(_H2_FULCHER_NM)
        many = np.sort(rng.uniform(440, 660, 120))
        lines_nm = np.r_[lines_nm, fulcher, many]
        power = np.r_[power, h2 * 0.02 * _jitter(np.ones(fulcher.size), rng, 0.4),
                      h2 * 0.008 * _jitter(np.ones(many.size), rng, 0.6)]
        smooth = glow + h2 * 0.004 * _asym_gauss(nm, 420, 100, 250)  # a-b continuum tail in the blue
        return Spectrum(5, "hydrogen tube", smooth, lines_nm, power, faint=True)
    # nitrogen
    second, first_neg, first_pos = _n2_bands()
    mix = rng.random()
    rel2 = (1 - mix) * second[:, 1] + mix * second[:, 2]
    reln = ((1 - mix) * first_neg[:, 1] + mix * first_neg[:, 2]) * rng.uniform(0.05, 0.7)
    heads = first_pos[:, 0] + rng.uniform(0, 2)
    seq = first_pos[:, 1]
    relp = np.select([seq == 5, seq == 4, seq == 3, seq == 2], [0.5, 1.0, 0.9, 0.5], 0.3)
    # first positive (orange-red) against second positive (violet): varies with pressure and current;
    # real tubes seen through a camera are dominated by the violet bands
    relp = _jitter(relp, rng, 0.35) * float(np.exp(rng.uniform(np.log(0.01), np.log(0.3))))
    band_heads = np.r_[second[:, 0], first_neg[:, 0], heads]
    band_power = _jitter(np.r_[rel2, reln, relp], rng, 0.2)
    keep = band_power > 0
    lines_nm, power = _band_lines(band_heads[keep], band_power[keep], rng)
    smooth = glow + 0.003 * rng.uniform(0, 1) * _gauss(nm, 600, 200)
    return Spectrum(6, str(rng.choice(["nitrogen tube", "air discharge"], p=[0.8, 0.2])), smooth, lines_nm, power,
                    faint=True)


def sample_spectrum(label: int, rng: np.random.Generator) -> Spectrum:
    """A random lamp of class ``label`` (0-6): its :class:`Spectrum` (relative power, air nm)."""
    label = check_label(label)
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
