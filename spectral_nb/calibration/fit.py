"""From matched lines to a calibration: least-squares refinement with line blends, the score that
picks a map, and :func:`calibrate_profile` / :func:`calibrate_strip`, which say when they cannot."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spectral_nb.calibration.lamps import FEATURE_TOLERANCE_FACTOR, CalibrationError, reference_lines, resolve_lamp
from spectral_nb.calibration.matching import MatchPriors, _linear_hypotheses, score_maps
from spectral_nb.calibration.peaks import colour_windows, find_profile_peaks, peak_colours, grey_profile


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


def _score_map(coef, peaks, prominence, colour_lo, colour_hi, lines_nm, weights, is_line, width, priors,
               resolution_px) -> float:
    """How well a (refined, possibly quadratic) map explains the peaks: :func:`~spectral_nb.calibration.matching.score_maps`,
    the search's score, for one map, with :attr:`MatchPriors.refined_tolerance_px` (a refined map
    is held closer than a straight line through two peaks)."""
    cols = np.arange(width, dtype=float)
    nm_cols = np.polyval(coef, cols)
    order = np.argsort(nm_cols)
    slope = np.abs(np.gradient(nm_cols))
    line_px = np.interp(lines_nm, nm_cols[order], cols[order])
    inside = (lines_nm >= nm_cols.min()) & (lines_nm <= nm_cols.max())
    peak_disp = slope[np.clip(np.round(peaks).astype(int), 0, width - 1)]
    line_disp = slope[np.clip(np.round(line_px).astype(int), 0, width - 1)]
    score, _, _ = score_maps(np.polyval(coef, peaks)[None, :], peak_disp[None, :], line_px[None, :], line_disp[None, :],
                             inside[None, :], np.asarray(peaks, float), np.asarray(prominence, float), colour_lo,
                             colour_hi, lines_nm, weights, np.where(is_line, 1.0, FEATURE_TOLERANCE_FACTOR), priors,
                             priors.refined_tolerance_px, resolution_px, priors.unexplained_cost)
    return float(score[0])


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
        cand.score = _score_map(cand.coef, peaks, prominence, colour_lo, colour_hi, lines_nm, weights, is_line, width,
                                priors, resolution)
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
    return calibrate_profile(grey_profile(strip), lamp, priors=priors, min_prominence=min_prominence, strip=strip)
