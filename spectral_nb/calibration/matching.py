"""Matching peaks to reference lines: every pair of peaks against every pair of lines (an exhaustive
RANSAC) inside physical priors; the best linear hypotheses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb.calibration.peaks import colour_windows


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
    ``unexplained_cost``: what a peak no line explains costs a refined map, times its prominence
    (the search charges nothing: see :func:`match_lines`);
    ``refined_tolerance_px``: the pixel tolerance a refined map is scored with (it passes through
    the lines it was fitted to, so it is held closer than the search's straight lines through two
    peaks, ``tolerance_px``). One score judges both: :func:`score_maps`.
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
    refined_tolerance_px: float = 1.0


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


def _best_per_run(gain: np.ndarray, nearest: np.ndarray, inlier: np.ndarray) -> np.ndarray:
    """Which inlier peaks count, one per line: ``(H, n)`` bool, the highest ``gain`` of each run of
    neighbouring peaks matched to the same line (the first of equals). A monotonic map sends peaks
    in order of position to lines in order of wavelength, so the peaks that share a line are neighbours."""
    h, n = gain.shape
    if n == 0:
        return inlier.copy()
    key = np.where(inlier, nearest, -1 - np.arange(n)[None, :])  # outliers: a run of their own each
    starts = np.ones((h, n), bool)
    starts[:, 1:] = key[:, 1:] != key[:, :-1]
    flat_starts = np.flatnonzero(starts.ravel())
    masked = np.where(inlier, gain, -np.inf).ravel()
    run_max = np.maximum.reduceat(masked, flat_starts)
    run_of = np.cumsum(starts.ravel()) - 1
    is_max = masked == run_max[run_of]
    seen = np.cumsum(is_max)
    before = np.r_[0, seen][flat_starts][run_of]  # maxima in earlier runs
    first = is_max & (seen - before == 1)
    return first.reshape(h, n) & inlier


def score_maps(pred_nm: np.ndarray, peak_disp: np.ndarray, line_px: np.ndarray, line_disp: np.ndarray,
               inside: np.ndarray, peak_px: np.ndarray, peak_weights: np.ndarray, colour_lo: np.ndarray,
               colour_hi: np.ndarray, lines_nm: np.ndarray, line_weights: np.ndarray, line_tolerance: np.ndarray,
               priors: MatchPriors, tolerance_px: float, resolution_px: float,
               unexplained_cost: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How well each of ``H`` maps explains ``n`` peaks with ``L`` reference lines (sorted by wavelength).

    The one score both the search (:func:`match_lines`, linear maps through two peaks and two
    lines) and the refined maps of ``calibrate_profile`` are judged by. Inputs, per map: ``pred_nm``
    ``(H, n)`` each peak's wavelength; ``peak_disp`` ``(H, n)`` and ``line_disp`` ``(H, L)`` the map's
    |dnm/dpx| there; ``line_px`` ``(H, L)`` where it puts each line; ``inside`` ``(H, L)`` whether that
    is on the strip. Per peak (sorted by position): ``peak_px``, ``peak_weights`` (prominences),
    the window its colour allows (``colour_lo``, ``colour_hi``, nm). Per line: ``line_weights`` and
    ``line_tolerance`` (a factor on ``priors.tolerance_nm``: wider for phosphor bands).

    Terms: a peak within tolerance (the larger of ``priors.tolerance_nm`` times the line's factor
    and ``tolerance_px`` pixels) of its nearest line gains the line's weight times the root of its
    prominence, times ``1 - (distance / tolerance)**2``, one peak per line (the best); a peak put
    where its colour or the camera (``priors.visible_nm``) forbids costs the root of its prominence
    (at least 0.25); a peak no line explains costs ``unexplained_cost`` times its prominence
    (a little: lamps show lines that are not in the list); a line the map puts on the strip and in
    the camera's window with no peak within tolerance (or ``resolution_px``, a blend) costs half its
    weight. Returns ``(score (H,), matched (H, n) bool, nearest line (H, n))``.
    """
    nearest, _ = _match_to_model(pred_nm, lines_nm, np.inf)
    tol = np.maximum(priors.tolerance_nm * line_tolerance[nearest], tolerance_px * peak_disp)
    d = np.abs(pred_nm - lines_nm[nearest])
    inlier = d <= tol
    root = np.sqrt(peak_weights)[None, :]
    gain = np.where(inlier, line_weights[nearest] * root * np.clip(1 - (d / tol) ** 2, 0, 1), 0.0)
    counted = _best_per_run(gain, nearest, inlier)
    bad = (pred_nm < colour_lo[None, :]) | (pred_nm > colour_hi[None, :])
    bad |= (pred_nm < priors.visible_nm[0]) | (pred_nm > priors.visible_nm[1])
    gain = np.where(counted, gain, 0.0)
    gain = np.where(bad, -np.maximum(root, 0.25), gain)
    gain = np.where(~inlier & ~bad, -unexplained_cost * peak_weights[None, :], gain)
    seen = inside & (lines_nm[None, :] >= priors.visible_nm[0]) & (lines_nm[None, :] <= priors.visible_nm[1])
    dist = _distance_to_nearest(line_px, peak_px) if peak_px.size else np.full(line_px.shape, np.inf)
    missing = seen & (dist > np.maximum(priors.tolerance_nm / line_disp, max(resolution_px, priors.tolerance_px)))
    score = gain.sum(axis=1) - 0.5 * (missing * line_weights[None, :]).sum(axis=1)
    return score, counted & ~bad, nearest


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
    hypotheses outside the priors are dropped; each remaining map is scored by :func:`score_maps`:
    the weights of the lines it puts within tolerance of a peak, less half the weight of strong lines
    it puts inside the strip where there is no peak (peaks no line explains cost nothing here: the
    search gathers candidates, rival readings among them). Robust to missing and extra peaks. With
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
                     line_index=hyp["line_sort"][hyp["nearest"][best, use]], score=float(hyp["score"][best]),
                     coef=np.array([hyp["slope"][best], hyp["offset"][best]]))


def _linear_hypotheses(peak_px, lines_nm, line_weights, peak_weights, width_px, priors, peak_rgb, line_tolerance,
                       resolution_px) -> dict | None:
    """All linear maps through two peaks and two lines inside the priors, each scored (see :func:`match_lines`)."""
    peak_px = np.asarray(peak_px, dtype=float)
    by_px = np.argsort(peak_px)
    peak_px = peak_px[by_px]
    line_sort = np.argsort(lines_nm)  # the lines by wavelength: index into the caller's list
    lines_nm = np.asarray(lines_nm, dtype=float)[line_sort]
    line_weights = np.ones_like(lines_nm) if line_weights is None else np.asarray(line_weights, float)[line_sort]
    peak_weights = np.ones_like(peak_px) if peak_weights is None else np.asarray(peak_weights, float)[by_px]
    if peak_rgb is None:
        colour_lo, colour_hi = np.full(peak_px.shape, -np.inf), np.full(peak_px.shape, np.inf)
    else:
        colour_lo, colour_hi = colour_windows(np.asarray(peak_rgb, float).reshape(-1, 3)[by_px], priors.colour_dominance)
    line_tolerance = np.ones_like(lines_nm) if line_tolerance is None else np.asarray(line_tolerance, float)[line_sort]
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
    disp = np.abs(slope)[:, None]
    line_px = (lines_nm[None, :] - offset[:, None]) / slope[:, None]
    inside = (line_px >= 0) & (line_px <= width_px - 1)
    # The search charges nothing for unexplained peaks: it gathers candidates, rival readings among
    # them, for calibrate_profile to refine and compare; charged here, they drop out of the best 20
    # and a neon profile claimed to be hydrogen is accepted instead of refused as ambiguous.
    score, inlier, nearest = score_maps(pred, disp, line_px, disp, inside, peak_px, peak_weights, colour_lo, colour_hi,
                                        lines_nm, line_weights, line_tolerance, priors, priors.tolerance_px, resolution_px,
                                        unexplained_cost=0.0)
    return dict(slope=slope, offset=offset, score=score, inlier=inlier, nearest=nearest, peak_px=peak_px,
                lines_nm=lines_nm, line_sort=line_sort)
