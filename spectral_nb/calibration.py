"""Pixel -> nanometre calibration of a strip from its lamp's known emission lines.

nnSIC recognised the lamp; this module does the second half of automatic calibration: find the
peaks of a strip's profile, match them to the lines the recognised lamp is known to emit, and fit
the map from column (pixel) to wavelength (nm), linear and quadratic, with residuals.

The matching is robust to missing peaks (a line too faint or out of the strip), extra peaks
(phosphor bands, molecular bands, reflections) and either orientation (blue on the left or on
the right): every pair of peaks is tried against every pair of reference lines (a RANSAC that
enumerates all hypotheses, as there are at most a few hundred thousand), each hypothesis is a
monotonic linear map inside physical priors (dispersion in nm/px, a span that stays in the
visible), and the hypothesis whose predicted lines agree with the most, and strongest, peaks
wins. It is then refined by least squares, line blends (577/579 nm of mercury at a camera's
resolution) being replaced by their intensity-weighted centre. When too few lines match, or the
residuals are too large, the result says so (``ok=False`` and a ``reason``) instead of returning
a map that looks precise and is wrong.

Shapes and units: strips are ``(15, 480, 3) uint8``; profiles ``(480,)`` float; positions are in
pixels (columns, 0 = left edge of the strip, sub-pixel floats); wavelengths in nanometres (air).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

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


def strip_profile(strip: np.ndarray) -> np.ndarray:
    """Brightness along the dispersion axis: mean over rows and RGB of a ``(H, W, 3)`` strip -> ``(W,)`` float in [0, 255]."""
    strip = np.asarray(strip)
    if strip.ndim != 3 or strip.shape[2] != 3:
        raise ValueError(f"expected a strip of shape (rows, columns, 3), got {strip.shape}")
    return strip.astype(float).mean(axis=(0, 2))


def find_profile_peaks(
    profile: np.ndarray,
    min_prominence: float = 0.03,
    smooth_px: float = 1.0,
    max_peaks: int = 24,
    min_separation_px: float = 3.0,
    min_snr: float = 8.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peaks of a 1-D profile: sub-pixel positions (px, ascending), prominences (fraction of the range), widths (px).

    ``min_prominence`` is relative to the profile's range (max - min), so the threshold does not
    depend on exposure; peaks must also be ``min_snr`` times the profile's noise (estimated from
    its first differences) so that a profile of pure noise has none. The position is the centre
    of the peak at half its prominence, which stays right for saturated (flat-topped) and
    slightly asymmetric peaks. At most ``max_peaks`` of the most prominent peaks are returned.
    Widths are full widths at half prominence.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks, peak_widths

    profile = np.asarray(profile, dtype=float)
    if profile.ndim != 1 or profile.size < 8:
        raise ValueError(f"expected a 1-D profile of at least 8 samples, got shape {profile.shape}")
    span = float(profile.max() - profile.min())
    if span <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    smooth = gaussian_filter1d(profile, smooth_px) if smooth_px > 0 else profile
    # Noise level from the median absolute first difference (lines barely move it): a peak must
    # stand out of the noise as well as reach the relative threshold.
    noise = 1.4826 * np.median(np.abs(np.diff(profile))) / np.sqrt(2)
    threshold = max(min_prominence * span, min_snr * noise)
    # Pad with the edge minimum so a line at the very edge can still be a peak.
    padded = np.concatenate([[smooth.min()], smooth, [smooth.min()]])
    # distance: a saturated or double-humped line gives one peak, not two 1-2 px apart
    idx, props = find_peaks(padded, prominence=threshold, distance=min_separation_px)
    if idx.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    prominence = props["prominences"] / span
    keep = np.sort(np.argsort(prominence)[::-1][:max_peaks])
    idx, prominence = idx[keep], prominence[keep]
    widths, _, left, right = peak_widths(padded, idx, rel_height=0.5)
    centre = (left + right) / 2 - 1  # undo the padding
    return np.clip(centre, 0, profile.size - 1), prominence, widths


def peak_colours(strip: np.ndarray, peak_px: np.ndarray) -> np.ndarray:
    """Mean RGB over rows at each peak's column of a ``(H, W, 3)`` strip: ``(n, 3)`` float in [0, 255]."""
    columns = np.clip(np.round(np.asarray(peak_px)).astype(int), 0, strip.shape[1] - 1)
    return np.asarray(strip, dtype=float).mean(axis=0)[columns].reshape(-1, 3)


#: Where a peak can lie given the camera channel that dominates it (nm): blue, green, red.
#: Wide on purpose (white balance varies); they only rule out gross mistakes such as the classic
#: CFL ambiguity, where 436-487-546 nm and 546-578-611 nm are spaced alike.
COLOUR_WINDOWS_NM: dict[str, tuple[float, float]] = {"blue": (0.0, 510.0), "green": (470.0, 600.0),
                                                     "yellow": (530.0, 630.0), "red": (560.0, 1e4)}


def colour_windows(rgb: np.ndarray, dominance: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Wavelength window (nm) each peak may lie in, from its dominant channel: ``(lo, hi)``, each ``(n,)``.

    A channel dominates when it is at least ``dominance`` times the next one; red and green
    together dominating blue make yellow; peaks with no dominant colour (white, saturated) get
    an open window.
    """
    rgb = np.asarray(rgb, dtype=float).reshape(-1, 3)
    ranked = np.sort(rgb, axis=1)
    dominant = ranked[:, 2] >= dominance * np.maximum(ranked[:, 1], 1.0)
    channel = rgb.argmax(axis=1)
    lo, hi = np.full(len(rgb), -np.inf), np.full(len(rgb), np.inf)
    for index, name in enumerate(("red", "green", "blue")):
        here = dominant & (channel == index)
        lo[here], hi[here] = COLOUR_WINDOWS_NM[name]
    yellow = ~dominant & (np.minimum(rgb[:, 0], rgb[:, 1]) >= dominance * np.maximum(rgb[:, 2], 1.0))
    lo[yellow], hi[yellow] = COLOUR_WINDOWS_NM["yellow"]
    return lo, hi


@dataclass(frozen=True)
class MatchPriors:
    """Physical priors on a spectroscope's map, matching tolerances and acceptance thresholds.

    ``dispersion_nm_per_px``: plausible |dnm/dpx| (a 480-px strip spanning about 120-700 nm);
    ``visible_nm``: a camera sees peaks only between these wavelengths, so a map that puts a
    prominent peak outside them is wrong; ``strip_ends_nm``: the mapped ends of the strip must
    stay within this (wider) window (a strip may be framed with dark UV or IR on one side);
    ``tolerance_nm`` / ``tolerance_px``: a peak matches a line when within the larger of the two
    (while searching, with a linear map); ``max_rms_nm``: a fit with larger residuals is refused;
    ``colour_dominance``: how much a channel must exceed the others for a peak's colour to
    restrict where it may lie (:func:`colour_windows`); ``min_coverage``: the matched lines must
    spread over at least this fraction of the strip (an extrapolated map is not trusted);
    ``max_curvature``: the largest departure of a quadratic map from a straight line, at the
    middle of the strip, as a fraction of the span; ``min_margin``: the best map must score at
    least this much (in weight of a strong line) above the best *different* map, or the match is
    ambiguous and refused; ``n_candidates``: how many of the best linear hypotheses are refined;
    ``unexplained_cost``: what a peak no line explains costs a refined map, times its prominence.
    """

    dispersion_nm_per_px: tuple[float, float] = (0.25, 1.5)
    visible_nm: tuple[float, float] = (365.0, 780.0)
    strip_ends_nm: tuple[float, float] = (50.0, 1100.0)
    tolerance_nm: float = 2.5
    tolerance_px: float = 3.0
    max_rms_nm: float = 1.5
    colour_dominance: float = 1.25
    min_lines_linear: int = 3
    min_lines_quadratic: int = 5
    min_coverage: float = 0.2
    max_curvature: float = 0.035
    min_margin: float = 0.5
    n_candidates: int = 20
    unexplained_cost: float = 0.5


@dataclass
class LineMatch:
    """Matched peak <-> line pairs of one hypothesis: peak positions (px), line wavelengths (nm), score."""

    peak_px: np.ndarray
    line_nm: np.ndarray
    line_index: np.ndarray
    score: float
    coef: np.ndarray  # linear nm = coef[0] * px + coef[1]


def _match_to_model(pred_nm: np.ndarray, lines_nm: np.ndarray, tol_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest line of each predicted wavelength, and whether it is within tolerance (vectorised)."""
    pos = np.clip(np.searchsorted(lines_nm, pred_nm), 1, lines_nm.size - 1)
    left, right = lines_nm[pos - 1], lines_nm[pos]
    nearest = np.where(np.abs(pred_nm - left) <= np.abs(pred_nm - right), pos - 1, pos)
    return nearest, np.abs(pred_nm - lines_nm[nearest]) <= tol_nm


def _distance_to_nearest(values: np.ndarray, sorted_points: np.ndarray) -> np.ndarray:
    """Distance from each value to the nearest of ``sorted_points`` (ascending), any shape."""
    pos = np.clip(np.searchsorted(sorted_points, values), 1, sorted_points.size - 1)
    return np.minimum(np.abs(values - sorted_points[pos - 1]), np.abs(values - sorted_points[pos]))


def match_lines(
    peak_px: np.ndarray,
    lines_nm: np.ndarray,
    line_weights: np.ndarray | None = None,
    peak_weights: np.ndarray | None = None,
    width_px: int = 480,
    priors: MatchPriors = MatchPriors(),
    peak_rgb: np.ndarray | None = None,
    line_tolerance: np.ndarray | None = None,
    resolution_px: float = 0.0,
) -> LineMatch | None:
    """Match peaks (px) to reference lines (nm) with a monotonic linear map; None if no hypothesis fits.

    Every pair of peaks is paired with every pair of lines (both orders, so either orientation);
    hypotheses outside the priors are dropped; each remaining map is scored by the weights of
    the lines it puts within tolerance of a peak, less half the weight of strong lines it puts
    inside the strip where there is no peak. Robust to missing and extra peaks. With
    ``peak_rgb`` (:func:`peak_colours`, ``(n, 3)``), a map that puts a peak outside the window
    its colour allows (a blue peak at 611 nm) loses instead of gains from that peak.
    ``line_tolerance`` multiplies ``priors.tolerance_nm`` per line (wider for phosphor bands);
    ``resolution_px`` (a typical peak width) keeps a line blended into a neighbour's peak from
    counting as missing.
    """
    hyp = _linear_hypotheses(peak_px, lines_nm, line_weights, peak_weights, width_px, priors, peak_rgb,
                             line_tolerance, resolution_px)
    if hyp is None:
        return None
    best = int(np.argmax(hyp["score"]))
    use = hyp["inlier"][best]
    return LineMatch(peak_px=hyp["peak_px"][use], line_nm=hyp["lines_nm"][hyp["nearest"][best, use]],
                     line_index=hyp["order"][hyp["nearest"][best, use]], score=float(hyp["score"][best]),
                     coef=np.array([hyp["slope"][best], hyp["offset"][best]]))


def _linear_hypotheses(peak_px, lines_nm, line_weights, peak_weights, width_px, priors, peak_rgb, line_tolerance,
                       resolution_px) -> dict | None:
    """All linear maps through two peaks and two lines inside the priors, each scored (see :func:`match_lines`)."""
    peak_px = np.asarray(peak_px, dtype=float)
    by_px = np.argsort(peak_px)
    peak_px = peak_px[by_px]
    order = np.argsort(lines_nm)
    lines_nm = np.asarray(lines_nm, dtype=float)[order]
    line_weights = np.ones_like(lines_nm) if line_weights is None else np.asarray(line_weights, float)[order]
    peak_weights = np.ones_like(peak_px) if peak_weights is None else np.asarray(peak_weights, float)[by_px]
    if peak_rgb is None:
        colour_lo, colour_hi = np.full(peak_px.shape, -np.inf), np.full(peak_px.shape, np.inf)
    else:
        colour_lo, colour_hi = colour_windows(np.asarray(peak_rgb, float).reshape(-1, 3)[by_px], priors.colour_dominance)
    line_tolerance = np.ones_like(lines_nm) if line_tolerance is None else np.asarray(line_tolerance, float)[order]
    if peak_px.size < 2 or lines_nm.size < 2:
        return None
    i, k = np.triu_indices(peak_px.size, 1)
    j, m = np.meshgrid(np.arange(lines_nm.size), np.arange(lines_nm.size), indexing="ij")
    j, m = j[j != m], m[j != m]
    # slope b = (line_m - line_j) / (peak_k - peak_i) for each (peak pair, line pair)
    dpx = (peak_px[k] - peak_px[i])[:, None]
    dnm = (lines_nm[m] - lines_nm[j])[None, :]
    slope = dnm / np.maximum(dpx, 1e-9)
    offset = lines_nm[j][None, :] - slope * peak_px[i][:, None]
    slope, offset = slope.ravel(), offset.ravel()
    end_nm = offset + slope * (width_px - 1)
    lo, hi = priors.dispersion_nm_per_px
    ok = (np.abs(slope) >= lo) & (np.abs(slope) <= hi)
    ok &= (np.minimum(offset, end_nm) >= priors.strip_ends_nm[0]) & (np.maximum(offset, end_nm) <= priors.strip_ends_nm[1])
    slope, offset = slope[ok], offset[ok]
    if slope.size == 0:
        return None
    pred = offset[:, None] + slope[:, None] * peak_px[None, :]  # (H, n) nm of each peak
    tol_px_nm = (priors.tolerance_px * np.abs(slope))[:, None]
    nearest, _ = _match_to_model(pred, lines_nm, np.inf)
    tol = np.maximum(priors.tolerance_nm * line_tolerance[nearest], tol_px_nm)
    inlier = np.abs(pred - lines_nm[nearest]) <= tol
    closeness = np.clip(1 - (np.abs(pred - lines_nm[nearest]) / tol) ** 2, 0, 1)
    gain = np.where(inlier, line_weights[nearest] * np.sqrt(peak_weights)[None, :] * closeness, 0)
    # Any peak, matched or not, must sit where its colour allows, and where a camera sees: a
    # matched one then counts against the map, an unmatched one costs its prominence.
    wrong_colour = (pred < colour_lo[None, :]) | (pred > colour_hi[None, :])
    wrong_colour |= (pred < priors.visible_nm[0]) | (pred > priors.visible_nm[1])
    gain = np.where(wrong_colour, -np.maximum(np.maximum(gain, np.sqrt(peak_weights)[None, :]), 0.25), gain)
    inlier &= ~wrong_colour
    # Lines the map puts inside the strip without a peak nearby count against it.
    line_px = (lines_nm[None, :] - offset[:, None]) / slope[:, None]
    inside = (line_px >= 0) & (line_px <= width_px - 1)
    dist = _distance_to_nearest(line_px, peak_px)
    missing = inside & (dist > np.maximum(priors.tolerance_nm / np.abs(slope)[:, None], max(resolution_px, priors.tolerance_px)))
    score = gain.sum(axis=1) - 0.5 * (missing * line_weights[None, :]).sum(axis=1)
    return dict(slope=slope, offset=offset, score=score, inlier=inlier, nearest=nearest, peak_px=peak_px,
                lines_nm=lines_nm, order=order)


@dataclass
class CalibrationResult:
    """The outcome of calibrating one strip. Use :meth:`px_to_nm` only when ``ok``.

    ``model`` is the fit :meth:`px_to_nm` uses ("linear" or "quadratic"); coefficients are
    highest power first (``np.polyval``); residuals are line nm minus fitted nm at the matched
    peaks; ``profile`` is the strip's profile (``(W,)`` float) the peaks were found on.
    """

    ok: bool
    reason: str
    lamp: str | None
    profile: np.ndarray
    peaks_px: np.ndarray = field(default_factory=lambda: np.zeros(0))
    matched_px: np.ndarray = field(default_factory=lambda: np.zeros(0))
    matched_nm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    matched_is_line: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    linear_coef: np.ndarray | None = None
    quadratic_coef: np.ndarray | None = None
    linear_residuals_nm: np.ndarray | None = None
    quadratic_residuals_nm: np.ndarray | None = None
    model: str = "linear"

    @property
    def width(self) -> int:
        """Number of columns of the strip (px)."""
        return int(self.profile.size)

    @property
    def coef(self) -> np.ndarray:
        """Coefficients of the chosen model, highest power first."""
        self._require_ok()
        return self.quadratic_coef if self.model == "quadratic" else self.linear_coef

    @property
    def rms_nm(self) -> float:
        """Root-mean-square residual of the chosen model at the matched lines (nm)."""
        res = self.quadratic_residuals_nm if self.model == "quadratic" else self.linear_residuals_nm
        return float(np.sqrt(np.mean(res ** 2))) if res is not None and res.size else float("nan")

    @property
    def n_matched(self) -> int:
        """Number of matched peak <-> line pairs."""
        return int(self.matched_px.size)

    def px_to_nm(self, px: np.ndarray | float) -> np.ndarray:
        """Wavelength (nm) at column positions ``px`` (pixels, may be fractional)."""
        self._require_ok()
        return np.polyval(self.coef, np.asarray(px, dtype=float))

    def nm_per_column(self) -> np.ndarray:
        """Wavelength (nm) of every column, ``(W,)``."""
        return self.px_to_nm(np.arange(self.width))

    @property
    def span_nm(self) -> tuple[float, float]:
        """Wavelengths (nm) at the first and the last column."""
        nm = self.px_to_nm([0, self.width - 1])
        return float(nm[0]), float(nm[1])

    @property
    def dispersion_nm_per_px(self) -> float:
        """Mean dispersion (nm per pixel); negative when red is on the left."""
        first, last = self.span_nm
        return (last - first) / (self.width - 1)

    def summary(self) -> str:
        """One line: lamp, matched lines, model, rms, span; or why it failed."""
        if not self.ok:
            return f"{self.lamp or 'no lamp'}: not calibrated: {self.reason}"
        first, last = self.span_nm
        return (f"{self.lamp}: {self.n_matched} lines matched, {self.model} fit, rms {self.rms_nm:.2f} nm, "
                f"{first:.1f} -> {last:.1f} nm ({self.dispersion_nm_per_px:+.3f} nm/px)")

    def _require_ok(self) -> None:
        if not self.ok:
            raise CalibrationError(f"this strip was not calibrated: {self.reason}")


def _blended_targets(peak_nm: np.ndarray, peak_fwhm_nm: np.ndarray, lines_nm: np.ndarray,
                     weights: np.ndarray, tol_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """For each peak (nm by the current map), the weighted centre of the lines blending into it.

    Lines within half the peak's width of the nearest line are unresolved at this resolution and
    pull the observed peak to their intensity-weighted centre (Hg 577/579, Ne 607/609 nm).
    Returns the target nm (NaN where no line is within ``tol_nm``) and the index of the nearest line.
    """
    targets = np.full(peak_nm.shape, np.nan)
    nearest = np.abs(peak_nm[:, None] - lines_nm[None, :]).argmin(axis=1)
    tol_nm = np.broadcast_to(np.asarray(tol_nm, dtype=float), lines_nm.shape)[nearest]
    for p, (nm, fwhm) in enumerate(zip(peak_nm, peak_fwhm_nm)):
        anchor = lines_nm[nearest[p]]
        blend = np.abs(lines_nm - anchor) <= max(fwhm / 2, 0.5)
        centre = float(np.average(lines_nm[blend], weights=weights[blend]))
        if abs(nm - centre) <= tol_nm[p]:
            targets[p] = centre
    return targets, nearest


def refine_fit(
    peak_px: np.ndarray,
    peak_fwhm_px: np.ndarray,
    coef: np.ndarray,
    lines_nm: np.ndarray,
    weights: np.ndarray,
    tol_nm: float,
    degree: int,
    iterations: int = 3,
    is_line: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares refinement of a map: re-match peaks to (blended) lines, refit, repeat.

    Returns the coefficients (highest power first), the matched peak positions (px), their
    target wavelengths (nm) and whether each target is an atomic line (not a phosphor band). Each line is used by one peak at most (the closest). Features with
    ``is_line`` False (phosphor bands, whose peak shifts with the phosphor) get a tenth of the
    weight of atomic lines in the fit.
    """
    is_line = np.ones(lines_nm.shape, bool) if is_line is None else is_line
    px, nm, px_is_line = np.zeros(0), np.zeros(0), np.zeros(0, bool)
    for _ in range(iterations):
        pred = np.polyval(coef, peak_px)
        fwhm_nm = peak_fwhm_px * np.abs(np.polyval(np.polyder(coef), peak_px))
        line_tol = np.where(is_line, tol_nm, tol_nm * FEATURE_TOLERANCE_FACTOR)
        targets, nearest = _blended_targets(pred, fwhm_nm, lines_nm, weights, line_tol)
        use = ~np.isnan(targets)
        # One peak per line: keep the closest peak to each target.
        for t in np.unique(targets[use]):
            same = np.flatnonzero(use & (targets == t))
            if same.size > 1:
                keep = same[np.argmin(np.abs(pred[same] - t))]
                use[same[same != keep]] = False
        px, nm, px_is_line = peak_px[use], targets[use], is_line[nearest[use]]
        if px.size <= degree:
            break
        fit_weight = np.where(px_is_line, 1.0, 0.1)
        coef = np.polyfit(px, nm, degree, w=np.sqrt(fit_weight))
    return coef, px, nm, px_is_line


def _curvature_fraction(coef: np.ndarray, width: int) -> float:
    """Departure of a map from the straight line through its ends, at the middle column, as a fraction of its span."""
    ends = np.polyval(coef, np.array([0.0, width - 1.0]))
    mid = np.polyval(coef, (width - 1) / 2)
    span = abs(ends[1] - ends[0])
    return float(abs(mid - ends.mean()) / span) if span > 0 else np.inf


@dataclass
class _Candidate:
    """One refined map and what supports it."""

    coef: np.ndarray
    model: str
    px: np.ndarray
    nm: np.ndarray
    is_line: np.ndarray
    linear_coef: np.ndarray
    quadratic_coef: np.ndarray | None
    score: float = -np.inf


def _score_map(coef, peaks, prominence, colour_lo, colour_hi, lines_nm, weights, is_line, width, priors, tol_nm,
               resolution_px) -> float:
    """How well a (refined, possibly quadratic) map explains the peaks: the same terms as :func:`match_lines`.

    Matched lines gain their weight times the root of the peak's prominence (closer is better;
    one peak per line); peaks put where their colour or the camera forbids cost their
    prominence; strong lines the map puts inside the strip without a peak cost half their weight.
    """
    pred = np.polyval(coef, peaks)
    nearest = np.abs(pred[:, None] - lines_nm[None, :]).argmin(axis=1)
    tol = tol_nm * np.where(is_line[nearest], 1.0, FEATURE_TOLERANCE_FACTOR)
    d = np.abs(pred - lines_nm[nearest])
    inlier = d <= tol
    gain = np.where(inlier, weights[nearest] * np.sqrt(prominence) * (1 - (d / tol) ** 2), 0.0)
    for line in np.unique(nearest[inlier]):  # one peak per line: the best one counts
        same = np.flatnonzero(inlier & (nearest == line))
        if same.size > 1:
            keep = same[np.argmax(gain[same])]
            gain[same[same != keep]] = 0.0
    bad = (pred < colour_lo) | (pred > colour_hi) | (pred < priors.visible_nm[0]) | (pred > priors.visible_nm[1])
    gain = np.where(bad, -np.maximum(np.sqrt(prominence), 0.25), gain)
    # a prominent peak the map leaves unexplained is evidence against it (a little: lamps show
    # lines and bands that are not in the reference list)
    gain = np.where(~inlier & ~bad, -priors.unexplained_cost * prominence, gain)
    cols = np.arange(width, dtype=float)
    nm_cols = np.polyval(coef, cols)
    order = np.argsort(nm_cols)
    inside = (lines_nm >= nm_cols.min()) & (lines_nm <= nm_cols.max())
    inside &= (lines_nm >= priors.visible_nm[0]) & (lines_nm <= priors.visible_nm[1])
    line_px = np.interp(lines_nm, nm_cols[order], cols[order])
    dist = np.abs(line_px[:, None] - peaks[None, :]).min(axis=1) if peaks.size else np.full(lines_nm.shape, np.inf)
    disp = np.abs(np.gradient(nm_cols))[np.clip(np.round(line_px).astype(int), 0, width - 1)]
    missing = inside & (dist > np.maximum(tol_nm / disp, max(resolution_px, priors.tolerance_px)))
    return float(gain.sum() - 0.5 * (missing * weights).sum())


def _refine_candidate(coef, peaks, fwhm_px, lines_nm, weights, is_line, width, priors) -> _Candidate:
    """Re-match and refit a linear hypothesis: linear, then quadratic when enough lines support it."""
    tol = max(priors.tolerance_nm, priors.tolerance_px * abs(coef[0]))
    coef, px, nm, px_is_line = refine_fit(peaks, fwhm_px, np.array(coef, float), lines_nm, weights, tol, degree=1,
                                          is_line=is_line)
    cand = _Candidate(coef=coef, model="linear", px=px, nm=nm, is_line=px_is_line, linear_coef=coef, quadratic_coef=None)
    if px.size < 3:
        return cand
    tol = max(priors.tolerance_nm, priors.tolerance_px * abs(coef[0]))
    # a mildly curved map: a straight line misses lines far from where it was anchored, so let a
    # quadratic re-match (within the physical curvature bound) and keep it when it pays
    qcoef, qpx, qnm, q_is_line = refine_fit(peaks, fwhm_px, coef, lines_nm, weights, tol, degree=2, is_line=is_line)
    # the curvature must come from atomic lines: phosphor bands shift by nanometres between lamps
    if (q_is_line.sum() >= 4 and _monotonic(qcoef, width) and _curvature_fraction(qcoef, width) <= priors.max_curvature):
        qcoef2, qpx2, qnm2, q_is_line2 = refine_fit(peaks, fwhm_px, qcoef, lines_nm, weights, priors.tolerance_nm,
                                                    degree=2, is_line=is_line)
        if (q_is_line2.sum() >= 4 and _monotonic(qcoef2, width)
                and _curvature_fraction(qcoef2, width) <= priors.max_curvature):
            qcoef, qpx, qnm, q_is_line = qcoef2, qpx2, qnm2, q_is_line2
        w = np.where(q_is_line, 1.0, 0.1)
        q_res = qnm - np.polyval(qcoef, qpx)
        lin = np.polyfit(qpx, qnm, 1, w=np.sqrt(w))
        l_res = qnm - np.polyval(lin, qpx)
        rms_q, rms_l = np.sqrt(np.average(q_res ** 2, weights=w)), np.sqrt(np.average(l_res ** 2, weights=w))
        n_atomic = int(q_is_line.sum())
        if (n_atomic >= priors.min_lines_quadratic and rms_q < 0.7 * rms_l) or (n_atomic == 4 and rms_q < 0.35 * rms_l):
            return _Candidate(coef=qcoef, model="quadratic", px=qpx, nm=qnm, is_line=q_is_line, linear_coef=lin,
                              quadratic_coef=qcoef)
        if qpx.size > px.size:
            return _Candidate(coef=lin, model="linear", px=qpx, nm=qnm, is_line=q_is_line, linear_coef=lin,
                              quadratic_coef=qcoef)
        cand.quadratic_coef = qcoef
    return cand


def calibrate_profile(
    profile: np.ndarray,
    lamp: str | int,
    priors: MatchPriors = MatchPriors(),
    min_prominence: float = 0.03,
    strip: np.ndarray | None = None,
) -> CalibrationResult:
    """Calibrate a profile (``(W,)`` float) with a lamp's reference lines; see :func:`calibrate_strip`.

    ``strip`` (the ``(H, W, 3)`` strip the profile comes from), when given, lets the peaks'
    colours rule out maps that put blue peaks at red lines.

    The best ``priors.n_candidates`` distinct linear hypotheses of :func:`match_lines` are each
    refined (re-matched and refitted, linear or quadratic) and re-scored; the best refined map
    is accepted only when it matches enough lines over enough of the strip with small residuals,
    and beats every *different* map (one more than 5 nm away over the strip) by
    ``priors.min_margin``: two readings that explain the peaks about equally well are refused as
    ambiguous rather than guessed between.
    """
    profile = np.asarray(profile, dtype=float)
    try:
        lamp_name = resolve_lamp(lamp)
    except CalibrationError as err:
        return CalibrationResult(ok=False, reason=str(err), lamp=None, profile=profile)
    fail = lambda reason, **kw: CalibrationResult(ok=False, reason=reason, lamp=lamp_name, profile=profile, **kw)  # noqa: E731
    peaks, prominence, fwhm_px = find_profile_peaks(profile, min_prominence=min_prominence)
    if peaks.size < priors.min_lines_linear:
        return fail(f"only {peaks.size} peak(s) in the profile; at least {priors.min_lines_linear} lines are needed", peaks_px=peaks)
    width = profile.size
    lines_nm, weights, is_line = reference_lines(lamp_name)
    colours = None if strip is None else peak_colours(strip, peaks)
    if colours is None:
        colour_lo, colour_hi = np.full(peaks.shape, -np.inf), np.full(peaks.shape, np.inf)
    else:
        colour_lo, colour_hi = colour_windows(colours, priors.colour_dominance)
    resolution = float(np.median(fwhm_px))
    # peaks come sorted by position from find_profile_peaks, as match_lines expects for colours
    hyp = _linear_hypotheses(peaks, lines_nm, weights, prominence, width, priors, colours,
                             np.where(is_line, 1.0, FEATURE_TOLERANCE_FACTOR), resolution)
    if hyp is None:
        return fail("no map within the physical priors matches two peaks to two lines", peaks_px=peaks)
    # The best distinct hypotheses (many pairs give the same map): judged by the map over the strip.
    ranked = np.argsort(hyp["score"])[::-1]
    ends = np.stack([hyp["offset"], hyp["offset"] + hyp["slope"] * (width - 1)], axis=1)
    chosen: list[int] = []
    for h in ranked[: 50 * priors.n_candidates]:
        if all(np.abs(ends[h] - ends[c]).max() > 3.0 for c in chosen):
            chosen.append(int(h))
            if len(chosen) >= priors.n_candidates:
                break
    cols = np.arange(width, dtype=float)
    candidates = []
    for h in chosen:
        cand = _refine_candidate(np.array([hyp["slope"][h], hyp["offset"][h]]), peaks, fwhm_px, lines_nm, weights,
                                 is_line, width, priors)
        if cand.px.size < 2 or not _monotonic(cand.coef, width):
            continue
        tol = max(priors.tolerance_nm, 1.0 * abs(cand.linear_coef[0]))
        cand.score = _score_map(cand.coef, peaks, prominence, colour_lo, colour_hi, lines_nm, weights, is_line, width,
                                priors, tol, resolution)
        candidates.append(cand)
    if not candidates:
        return fail("no map within the physical priors matches two peaks to two lines", peaks_px=peaks)
    candidates.sort(key=lambda c: -c.score)
    best = candidates[0]
    best_nm = np.polyval(best.coef, cols)
    rival = next((c for c in candidates[1:] if np.median(np.abs(np.polyval(c.coef, cols) - best_nm)) > 5.0), None)
    px, nm, px_is_line = best.px, best.nm, best.is_line
    n_true = int(px_is_line.sum())
    min_true = 2 if not is_line.all() else priors.min_lines_linear
    if n_true < priors.min_lines_linear and px.size < priors.min_lines_linear + 1:
        # with phosphor bands (which shift between lamps), three features leave too little to check
        min_true = priors.min_lines_linear
    if px.size < priors.min_lines_linear or n_true < min_true:
        return fail(f"only {px.size} {lamp_name} feature(s) ({n_true} atomic lines) match; at least "
                    f"{priors.min_lines_linear}, {min_true} of them lines, are needed", peaks_px=peaks, matched_px=px,
                    matched_nm=nm)
    coverage = float(np.ptp(px[px_is_line]) / (width - 1))
    if coverage < priors.min_coverage:
        return fail(f"the {px.size} matched {lamp_name} lines cover only {100 * coverage:.0f}% of the strip (at least "
                    f"{100 * priors.min_coverage:.0f}% is needed): the map would be extrapolated", peaks_px=peaks,
                    matched_px=px, matched_nm=nm)
    if rival is not None and best.score - rival.score < priors.min_margin:
        r_first, r_last = np.polyval(rival.coef, [0.0, width - 1.0])
        return fail(f"ambiguous match: another reading of the peaks ({r_first:.0f} -> {r_last:.0f} nm) explains them "
                    f"almost as well (score {rival.score:.2f} vs {best.score:.2f})", peaks_px=peaks, matched_px=px,
                    matched_nm=nm)
    lin_res = nm - np.polyval(best.linear_coef, px)
    result = CalibrationResult(ok=True, reason="", lamp=lamp_name, profile=profile, peaks_px=peaks, matched_px=px,
                               matched_nm=nm, matched_is_line=px_is_line, linear_coef=best.linear_coef,
                               linear_residuals_nm=lin_res, model=best.model)
    if best.quadratic_coef is not None:
        result.quadratic_coef = best.quadratic_coef
        result.quadratic_residuals_nm = nm - np.polyval(best.quadratic_coef, px)
    if result.rms_nm > priors.max_rms_nm:
        return fail(f"residuals too large (rms {result.rms_nm:.2f} nm > {priors.max_rms_nm} nm): the matched peaks are "
                    f"probably not {lamp_name} lines", peaks_px=peaks, matched_px=result.matched_px, matched_nm=result.matched_nm)
    lo, hi = priors.dispersion_nm_per_px
    if not lo <= abs(result.dispersion_nm_per_px) <= hi:
        return fail(f"fitted dispersion {result.dispersion_nm_per_px:.3f} nm/px is outside the plausible {lo}-{hi} nm/px",
                    peaks_px=peaks, matched_px=result.matched_px, matched_nm=result.matched_nm)
    return result


def _monotonic(coef: np.ndarray, width: int) -> bool:
    """True when a polynomial map is strictly monotonic over columns 0..width-1."""
    slope = np.polyval(np.polyder(coef), np.array([0.0, width - 1.0]))
    return bool(np.all(slope > 0) or np.all(slope < 0))


def calibrate_strip(
    strip: np.ndarray,
    lamp: str | int,
    priors: MatchPriors = MatchPriors(),
    min_prominence: float = 0.03,
) -> CalibrationResult:
    """Calibrate a ``(15, 480, 3) uint8`` strip of a known lamp: pixel -> nm map, or a refusal.

    ``lamp`` is a lamp name ("Hg", "Ne", "He", "H", "CFL", ...) or a predicted class index
    (1 mercury, 3 neon, 4 helium, 5 hydrogen; LED, continuum and nitrogen are refused with a
    reason). Works with blue on either side. Returns a :class:`CalibrationResult`; ``ok`` is
    False with a ``reason`` when too few lines match or the residuals are too large.
    """
    strip = np.asarray(strip)
    if strip.ndim != 3 or strip.shape[2] != 3 or strip.shape[1] < 16:
        raise ValueError(f"expected a strip of shape (rows, columns, 3) such as (15, 480, 3), got {strip.shape}")
    return calibrate_profile(strip_profile(strip), lamp, priors=priors, min_prominence=min_prominence, strip=strip)


def strip_spectrum(strip: np.ndarray, calibration: CalibrationResult) -> tuple[np.ndarray, np.ndarray]:
    """The profile of a strip on a wavelength axis: ``(nm, brightness)``, both ``(W,)``, nm ascending.

    ``calibration`` must come from the same instrument (same spectroscope, camera and crop).
    """
    nm = calibration.nm_per_column()
    profile = strip_profile(strip)
    if profile.size != nm.size:
        raise ValueError(f"strip has {profile.size} columns but the calibration was made on {nm.size}")
    order = np.argsort(nm)
    return nm[order], profile[order]


def spectrum_peaks(nm: np.ndarray, brightness: np.ndarray, min_prominence: float = 0.05,
                   smooth_px: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of a calibrated spectrum: wavelengths (nm) and prominences (fraction of the range), most prominent first.

    ``nm`` and ``brightness`` as returned by :func:`strip_spectrum`. ``smooth_px`` smooths before
    looking, so that a broad band (an LED's phosphor) gives one peak rather than its noise.
    """
    px, prominence, _ = find_profile_peaks(brightness, min_prominence=min_prominence, smooth_px=smooth_px)
    order = np.argsort(prominence)[::-1]
    return np.interp(px[order], np.arange(len(nm)), nm), prominence[order]


def resample_strip(strip: np.ndarray, nm_per_column: np.ndarray, target_nm_per_column: np.ndarray) -> np.ndarray:
    """Re-image a strip onto another pixel -> nm map: what the same light looks like through another instrument.

    ``strip`` ``(H, W, 3) uint8`` has the known map ``nm_per_column`` ``(W,)``; the result has one
    column per entry of ``target_nm_per_column``, each taken (linearly interpolated) at that
    wavelength, and black where the target sees wavelengths outside the strip's range. Used to
    show two sources "measured with the same spectroscope" when each was rendered with its own map.
    """
    strip = np.asarray(strip)
    source_nm = np.asarray(nm_per_column, dtype=float)
    target_nm = np.asarray(target_nm_per_column, dtype=float)
    if strip.ndim != 3 or source_nm.shape != (strip.shape[1],):
        raise ValueError(f"nm_per_column must have one entry per column of the strip: {source_nm.shape} vs {strip.shape}")
    order = np.argsort(source_nm)
    out = np.empty((strip.shape[0], target_nm.size, strip.shape[2]))
    for row in range(strip.shape[0]):
        for channel in range(strip.shape[2]):
            out[row, :, channel] = np.interp(target_nm, source_nm[order], strip[row, order, channel].astype(float),
                                             left=0.0, right=0.0)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def calibration_error_nm(result: CalibrationResult, true_nm_per_column: np.ndarray) -> np.ndarray:
    """Absolute error (nm) of a calibration at every column against a known map ``(W,)``."""
    return np.abs(result.nm_per_column() - np.asarray(true_nm_per_column, dtype=float))


def plot_calibration(result: CalibrationResult, fig=None, true_nm_per_column: np.ndarray | None = None):
    """Three panels: the profile with matched lines labelled, the fitted pixel -> nm curve, the residuals.

    Returns the figure. A failed calibration shows the profile and its peaks with the reason.
    ``true_nm_per_column`` (optional, ``(W,)``) draws the true map for comparison.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(9, 6.5))
    ax_prof, ax_fit, ax_res = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1.4, 1]})
    cols = np.arange(result.width)
    ax_prof.plot(cols, result.profile, color="0.2", lw=1)
    peak_y = np.interp(result.peaks_px, cols, result.profile)
    ax_prof.plot(result.peaks_px, peak_y, "v", color="0.6", ms=5, label="peaks")
    ax_prof.set_ylabel("brightness")
    if not result.ok:
        ax_prof.set_title(f"{result.lamp or 'no lamp'}: not calibrated", fontsize=10)
        ax_prof.text(0.01, 0.95, result.reason, transform=ax_prof.transAxes, va="top", fontsize=8, wrap=True)
        ax_fit.set_visible(False)
        ax_res.set_visible(False)
        ax_prof.set_xlabel("column (px)")
        return fig
    top = result.profile.max()
    is_line = result.matched_is_line if result.matched_is_line.size == result.n_matched else np.ones(result.n_matched, bool)
    for px, nm, atomic in zip(result.matched_px, result.matched_nm, is_line):
        y = np.interp(px, cols, result.profile)
        colour = "C3" if atomic else "C1"  # phosphor bands in orange: they weigh little in the fit
        ax_prof.plot([px], [y], "v", color=colour, ms=6)
        ax_prof.annotate(f"{nm:.1f}" + ("" if atomic else " (band)"), (px, y), xytext=(0, 6),
                         textcoords="offset points", ha="center", fontsize=7, color=colour, rotation=90)
    ax_prof.set_ylim(0, top * 1.35 + 1)
    ax_prof.set_title(result.summary(), fontsize=9)
    ax_fit.plot(cols, result.nm_per_column(), color="C0", lw=1.2, label=f"{result.model} fit")
    if true_nm_per_column is not None:
        ax_fit.plot(cols, true_nm_per_column, color="0.5", lw=1, ls="--", label="true map")
    ax_fit.plot(result.matched_px, result.matched_nm, "o", color="C3", ms=4, label="matched lines")
    ax_fit.set_ylabel("nm")
    ax_fit.legend(fontsize=7, loc="best")
    ax_res.axhline(0, color="0.6", lw=0.8)
    res = result.matched_nm - result.px_to_nm(result.matched_px)
    ax_res.plot(result.matched_px, res, "o", color="C3", ms=4)
    lim = max(0.5, float(np.abs(res).max()) * 1.3) if res.size else 1.0
    ax_res.set_ylim(-lim, lim)
    ax_res.set_ylabel("residual (nm)")
    ax_res.set_xlabel("column (px)")
    return fig


def plot_spectrum_nm(nm: np.ndarray, brightness: np.ndarray, ax=None, label: str | None = None,
                     marks: Sequence[float] = ()):
    """A spectrum on a wavelength axis, with optional vertical marks (nm) labelled; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    ax.plot(nm, brightness, color="0.2", lw=1, label=label)
    for mark in marks:
        ax.axvline(mark, color="C3", lw=0.8, ls="--")
        ax.annotate(f"{mark:.0f} nm", (mark, ax.get_ylim()[1]), xytext=(3, -12), textcoords="offset points",
                    fontsize=8, color="C3")
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("brightness")
    if label:
        ax.legend(fontsize=8)
    return ax
