"""Where the band lies: its rows, tilt and smile, and the columns the spectrum fills, less a zero or
second order at either end (:func:`find_band`); resampling along the band's centre line."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb.preprocessing.params import PreprocessParams
from spectral_nb.preprocessing.pixels import _brightest, _smooth, _weighted_correlation


@dataclass(frozen=True)
class OuterOrderPriors:
    """The tuned numbers of the zero- and second-order rules (:func:`_lit_extent`); lengths and gaps
    are shares of the lit span, trends the brightness-weighted correlation of colour with position.
    Each rule was chosen by comparing crops with the known boxes of synthetic photos (the README's
    preprocessing section names the seeds and what each rule changed) and checked on the real
    photos of raw/ and raw_more/."""

    min_trend: float = 0.3          #: a colour trend at least this strong is a spectrum's
    few_lines_span: float = 0.3     #: a rest shorter than this, in fewer than ``few_lines`` runs, has no trend
    few_lines: int = 3
    white: float = 0.6              #: a part whose dimmest channel is this share of its brightest is white
    spot_length: float = 0.06       #: a zero-order spot: shorter than this, beyond a gap over ``spot_gap``
    spot_gap: float = 0.1
    blue_end_length: float = 0.15   #: a zero order at the blue end: shorter than this, beyond ``blue_end_gap``
    blue_end_gap: float = 0.08
    lamp_trend: float = 0.5         #: the lamp blazing at the blue end: the rest's trend at least this strong,
    lamp_gap: float = 0.1           #: beyond this gap, the part's own trend under ``lamp_part_trend``
    lamp_part_trend: float = 0.3
    second_gap: float = 0.04        #: a second order: beyond this gap, longer than ``second_length`` or
    second_length: float = 0.1      #: beyond ``second_far_gap``, the rest ``second_rest`` times as long
    second_far_gap: float = 0.2
    second_rest: float = 1.5
    second_dimmer: float = 0.4      #: and at most this share of the rest's peak
    stray_gap: float = 0.1          #: stray light: beyond this gap, shorter and dimmer than the rest, its light
    stray_height: float = 2.5       #: spread over this many times the rest's rows (a slit's image is as tall at every wavelength)


@dataclass(frozen=True)
class BandPriors:
    """The tuned numbers of :func:`find_band` (pixels of the shrunken photo it reads, shares of a peak).
    Chosen on synthetic photos with known boxes at ``PreprocessParams.analysis_size`` (the band-box
    IoU of ``bench_preprocessing``); what a reader tunes per photo is in ``PreprocessParams``."""

    first_guess: float = 0.2        #: columns lit above this share of the peak column energy choose the rows
    column_sigma: float = 2.0       #: smoothing of the column energy (pixels)
    rows_sigma_per: float = 100.0   #: the row profile is smoothed by the image height / this (at least 1 px)
    min_tilt_columns: int = 24      #: a band at least this long is followed for tilt and smile
    max_blocks: int = 12            #: in at most this many column blocks,
    min_block: int = 8              #: each at least this wide
    tilt_window: float = 3.0        #: rows searched: this many half heights about the flat centre,
    min_tilt_window: float = 6.0    #: at least this many pixels
    outlier_px: float = 2.0         #: blocks further off the first fit than this and ``outlier_factor``
    outlier_factor: float = 2.5     #: times the median residual (text, a drawn line) are dropped
    max_tilt: float = 0.35          #: tilt beyond this (x the half length) is not a band (~20 degrees)
    max_curvature: float = 0.1      #: nor a smile beyond this (x the half length, plus the half height)
    orders: OuterOrderPriors = OuterOrderPriors()


@dataclass(frozen=True)
class Band:
    """Where the band lies in a horizontal-dispersion image (pixels of that image).

    Centre line: ``c0 + c1*u + c2*u**2`` rows, with ``u = (x - x_mid) / x_half``; rows
    ``centre - half_height`` to ``centre + half_height``; columns ``x0`` to ``x1`` (exclusive).
    """

    x0: int
    x1: int
    coefficients: tuple[float, float, float]
    half_height: float
    confidence: float
    x_mid: float = 0.0
    x_half: float = 1.0

    def centre(self, x: np.ndarray) -> np.ndarray:
        u = (np.asarray(x, dtype=np.float64) - self.x_mid) / self.x_half
        c0, c1, c2 = self.coefficients
        return c0 + c1 * u + c2 * u * u

    def scaled(self, factor: float) -> "Band":
        """The same band in an image ``factor`` times larger (pixel centres kept aligned)."""
        c0, c1, c2 = self.coefficients
        return Band(int(self.x0 * factor), int(round(self.x1 * factor)),
                    ((c0 + 0.5) * factor - 0.5, c1 * factor, c2 * factor), self.half_height * factor,
                    self.confidence, (self.x_mid + 0.5) * factor - 0.5, self.x_half * factor)

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The axis-aligned box (x0, y0, x1, y1), exclusive ends, clipped to the image."""
        centres = self.centre(np.arange(self.x0, self.x1))
        y0 = int(np.clip(np.floor(centres.min() - self.half_height + 0.5), 0, height - 1))
        y1 = int(np.clip(np.ceil(centres.max() + self.half_height + 0.5), y0 + 1, height))
        return max(0, self.x0), y0, min(width, self.x1), y1


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of every run of True values."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def _red_minus_blue(colour: np.ndarray) -> np.ndarray:
    """Per column, (R - B) / (R + G + B): not a hue (that is :func:`~spectral_nb.preprocessing.blue_side._hue_angle`), but a proxy that
    grows from blue to red along a spectrum."""
    return (colour[:, 0] - colour[:, 2]) / (colour.sum(axis=1) + 1e-6)


def _colour_trend(hue: np.ndarray, weight: np.ndarray, runs: list[tuple[int, int]]) -> tuple[float, float]:
    """Brightness-weighted correlation of hue with position over ``runs`` (+: blue to red left to
    right; near 0: no clear trend, e.g. one colour), and their mean hue. "Trend", not "order": in this
    module an order is a diffraction order (zero, first, second)."""
    cols = np.concatenate([np.arange(a, b) for a, b in runs])
    w = np.clip(weight[cols], 0, None) + 1e-9
    return _weighted_correlation(cols, hue[cols], w), float((w * hue[cols]).sum() / w.sum())


def _row_half_height(lit: np.ndarray, runs: list[tuple[int, int]]) -> float:
    """Half the height (rows) over which the light of the columns in ``runs`` lies: the run above half
    the peak of their summed row profile (``lit``: brightness above the floor, rows x columns)."""
    cols = np.concatenate([np.arange(a, b) for a, b in runs])
    rows = _smooth(lit[:, cols].sum(axis=1), max(1.0, lit.shape[0] / BandPriors.rows_sigma_per))
    return _run_around(rows, int(np.argmax(rows)), 0.5, floor=0.0, min_half=0.5)[1]  # half the maximum: lit has no floor


def _lit_extent(profile: np.ndarray, colour: np.ndarray, threshold: float,
                orders: OuterOrderPriors = OuterOrderPriors(), lit: np.ndarray | None = None) -> tuple[int, int, float]:
    """First and last (exclusive) column of the spectrum along a column profile; and a contrast 0-1.

    Dropped at either end, when a dark gap separates them from the rest:

    - a zero-order spot: a short white blob beyond the blue end; or the lamp itself blazing white
      beyond the blue end (a phone photo through a clip-on grating), however long, when it has no
      colour trend of its own, is at least as bright as anything in the rest and the rest is
      ordered in colour (the undispersed lamp outshines each of its dispersed lines);
    - a second order: a dim, fainter copy of the spectrum beyond the red end, whose colours start
      again from blue, against the trend of the rest: a long run, a short one far out (beyond a
      gap of a fifth of the span), or every run beyond the widest gap (the dark gaps between a
      lamp's lines split its second order too) when the rest is at least 1.5 times as long. A
      faint end of the spectrum itself continues the trend, and a short dim run close by is a
      faint line: both stay;
    - stray light (with ``lit``, the photo's brightness above the floor, rows x columns): a part
      beyond a gap, shorter and dimmer than the rest, whose light spreads over more than 2.5 times the
      rest's rows. Every wavelength of a spectrum is an image of the same slit, as tall as the others,
      so a tall, dim glow far along the band (a reflection inside the box, a lamp's halo) is no part of it.
    """
    smooth = _smooth(profile, 1.0)
    base = np.percentile(smooth, 10)
    peak = smooth.max()
    runs = _runs(smooth > base + threshold * (peak - base))
    if not runs:
        return 0, len(profile), 0.0
    runs = _without_outer_orders(runs, smooth - base, colour, orders, lit)
    return int(runs[0][0]), int(runs[-1][1]), float(np.clip((peak - base) / (peak + 1e-9), 0, 1))


def _without_outer_orders(runs: list[tuple[int, int]], weight: np.ndarray, colour: np.ndarray,
                          orders: OuterOrderPriors = OuterOrderPriors(),
                          lit: np.ndarray | None = None) -> list[tuple[int, int]]:
    """``runs`` (lit column runs, left to right) less every zero or second order, and with ``lit``
    every stray light, at either end (:func:`_outer_order`); ``weight`` is each column's brightness
    above the floor, ``colour`` its RGB, ``lit`` the photo's brightness above the floor (rows x columns)."""
    redness = _red_minus_blue(colour)
    while len(runs) > 1 and (cut := _outer_order(runs, redness, weight, colour, orders, lit)):
        runs = runs[cut:] if cut > 0 else runs[:cut]
    return runs


def _outer_order(runs: list[tuple[int, int]], redness: np.ndarray, weight: np.ndarray, colour: np.ndarray,
                 p: OuterOrderPriors = OuterOrderPriors(), lit: np.ndarray | None = None) -> int:
    """How many runs to drop as a zero or second order or stray light (see :func:`_lit_extent`):
    ``n`` from the left, ``-n`` from the right, 0 for none."""
    span = runs[-1][1] - runs[0][0]
    gaps = [b[0] - a[1] for a, b in zip(runs, runs[1:])]
    widest = int(np.argmax(gaps)) + 1  # runs before the widest gap
    for end in (0, -1):
        group = widest if end == 0 else len(runs) - widest
        for n in ([1, group] if group > 1 else [1]):
            part, others = (runs[:n], runs[n:]) if end == 0 else (runs[-n:], runs[:-n])
            start, stop = part[0][0], part[-1][1]
            length, rest = stop - start, others[-1][1] - others[0][0]
            gap = others[0][0] - stop if end == 0 else start - others[-1][1]
            trend, others_redness = _colour_trend(redness, weight, others)
            if rest < p.few_lines_span * span and len(others) < p.few_lines:
                trend = 0.0  # the rest is a line or two: its colour fringes are no spectral trend
                # (three or more separate lines in colour sequence are a spectrum, however short their span)
            toward = -1 if end == 0 else 1  # +1: the part lies to the right of the others
            at_blue_end = abs(trend) >= p.min_trend and np.sign(trend) == -toward
            cols = np.concatenate([np.arange(a, b) for a, b in part])
            rgb = colour[cols].mean(axis=0)
            white = rgb.min() / (rgb.max() + 1e-9) > p.white
            part_trend, part_redness = _colour_trend(redness, weight, part)
            part_peak = float(weight[cols].max())
            others_peak = max(float(weight[a:b].max()) for a, b in others)
            zero_order = n == 1 and white and ((length < p.spot_length * span and gap > p.spot_gap * span)
                                               or (at_blue_end and length < p.blue_end_length * span
                                                   and gap > p.blue_end_gap * span)
                                               or (at_blue_end and abs(trend) >= p.lamp_trend and gap > p.lamp_gap * span
                                                   and abs(part_trend) < p.lamp_part_trend
                                                   and part_peak >= others_peak))
            second_order = (abs(trend) >= p.min_trend and not at_blue_end and gap > p.second_gap * span
                            and (length > p.second_length * span or gap > p.second_far_gap * span)
                            and (n == 1 or rest >= p.second_rest * length)
                            and part_peak < p.second_dimmer * others_peak
                            and np.sign(part_redness - others_redness) == -np.sign(trend) * toward)
            stray = (lit is not None and gap > p.stray_gap * span and length < rest
                     and part_peak < others_peak
                     and _row_half_height(lit, part) > p.stray_height * _row_half_height(lit, others))
            if zero_order or second_order or stray:
                return n if end == 0 else -n
    return 0


def find_band(image: np.ndarray, params: PreprocessParams = PreprocessParams(),
              priors: BandPriors = BandPriors()) -> Band:
    """The band in a horizontal-dispersion float RGB image (0-1), at that image's scale: a photo as
    :func:`~spectral_nb.preprocessing.shrink_photo` shrinks it for the decisions (``priors`` were
    tuned at ``PreprocessParams.analysis_size``).

    Rows: the brightest row band of the column-averaged profile (the columns lit, less a zero or
    second order at either end, see :func:`_lit_extent`), smoothed so that thin drawn lines
    and text do not win; then, if ``params.follow_tilt``, the centre of the lit rows in each of up
    to ``priors.max_blocks`` column blocks, fitted with a line (or a parabola, for the smile of a curved band).
    Columns: where the band is brighter than ``params.extent_threshold`` of its peak.
    """
    small, p = image, priors
    h, w = small.shape[:2]
    bright = _brightest(small)
    background = np.median(bright)
    lit = np.clip(bright - background, 0, None)
    # a first guess of the columns: where anything is lit, so dark margins do not dilute the rows
    col_energy = _smooth(lit.mean(axis=0), p.column_sigma)
    active = col_energy > p.first_guess * col_energy.max()
    runs = _runs(active)
    if len(runs) > 1:  # a zero order (the lamp itself) or a second order does not choose the rows
        colour = (small * lit[:, :, None]).sum(axis=0) / (lit.sum(axis=0)[:, None] + 1e-9)
        kept = _without_outer_orders(runs, col_energy, colour, p.orders, lit)
        if kept != runs:
            active = np.zeros_like(active)
            for a, b in kept:
                active[a:b] = True
    rows = _smooth(np.mean(lit[:, active], axis=1), max(1.0, h / p.rows_sigma_per))
    centre_row, half = _run_around(rows, int(np.argmax(rows)), params.band_threshold)
    coefficients = (float(centre_row), 0.0, 0.0)
    xs_active = np.flatnonzero(active)
    x_lo, x_hi = int(xs_active.min()), int(xs_active.max()) + 1
    mid, half_len = (x_lo + x_hi - 1) / 2, max((x_hi - x_lo) / 2, 1)
    if params.follow_tilt and x_hi - x_lo >= p.min_tilt_columns:
        window = max(p.tilt_window * half, p.min_tilt_window)
        lo, hi = int(max(0, centre_row - window)), int(min(h, centre_row + window + 1))
        edges = np.linspace(x_lo, x_hi, min(p.max_blocks, (x_hi - x_lo) // p.min_block) + 1).astype(int)
        centres, positions, weights = [], [], []
        for a, b in zip(edges[:-1], edges[1:]):
            block = _smooth(lit[lo:hi, a:b].mean(axis=1), 1.0)
            block = np.clip(block - params.band_threshold * block.max(), 0, None)
            if block.sum() <= 1e-6:
                continue
            centres.append(lo + (block * np.arange(hi - lo)).sum() / block.sum())
            positions.append((a + b - 1) / 2)
            weights.append(block.sum())
        if len(centres) >= 3:
            u = (np.array(positions) - mid) / half_len
            wts = np.sqrt(np.array(weights))
            degree = 2 if len(centres) >= 5 else 1
            fit = np.polyfit(u, np.array(centres), degree, w=wts)
            # a robust second pass: drop blocks far off the first fit (text, a drawn line)
            resid = np.abs(np.polyval(fit, u) - centres)
            keep = resid <= max(p.outlier_px, p.outlier_factor * np.median(resid))
            if keep.sum() >= degree + 2:
                fit = np.polyfit(u[keep], np.array(centres)[keep], degree, w=wts[keep])
            c = (fit[::-1].tolist() + [0.0, 0.0])[:3]
            # tilts beyond ~20 degrees or wild curvature are not a band: keep the flat answer
            if abs(c[1]) < p.max_tilt * half_len and abs(c[2]) < p.max_curvature * half_len + half:
                coefficients = (float(c[0]), float(c[1]), float(c[2]))
    band = Band(x_lo, x_hi, coefficients, half, 0.0, mid, half_len)
    straight = _straighten(small, band, x_lo, x_hi)
    across = _smooth(_brightest(straight).mean(axis=1), 1.0)
    centre_local, half = _run_around(across, int(np.argmax(across)), params.band_threshold)
    shift = centre_local - (straight.shape[0] - 1) / 2
    c0 = coefficients[0] + shift
    band = Band(x_lo, x_hi, (c0, coefficients[1], coefficients[2]), half * (1 + params.band_margin), 0.0, mid, half_len)
    # columns of the spectrum, measured inside the straightened band only
    straight = _straighten(small, band, 0, w)
    core_half = max(1, int(round(band.half_height)))
    middle = straight.shape[0] // 2
    core = straight[max(0, middle - core_half):middle + core_half + 1]
    column_colour = core.mean(axis=0)
    x0, x1, contrast = _lit_extent(column_colour.max(axis=1), column_colour, params.extent_threshold, p.orders, lit)
    pad = int(round(params.extent_margin * (x1 - x0)))
    x0, x1 = max(0, x0 - pad), min(w, x1 + pad)
    # confidence: how much the band stands out from the rows beside it
    # (rows beyond the band; a band that fills the frame has none, and stands out from the dark anyway)
    centre_rows = band.centre(np.arange(x0, x1))
    far = np.abs(np.arange(h)[:, None] - centre_rows[None, :]) > 2 * band.half_height + 1
    column_lit = lit[:, x0:x1]
    beside = float(np.mean(column_lit[far])) if far.sum() >= 3 * (x1 - x0) else 0.0
    inside = float(np.mean(column_lit[~far])) if (~far).any() else 0.0
    separation = np.clip((inside - beside) / (inside + 1e-9), 0, 1) if inside > 0 else 0.0
    confidence = float(separation * contrast ** 0.5)
    return Band(x0, x1, band.coefficients, band.half_height, confidence, mid, half_len)


def _run_around(profile: np.ndarray, peak: int, threshold: float, floor: float | None = None,
                min_half: float = 1.0) -> tuple[float, float]:
    """Centre and half width (rows, at least ``min_half``: a band is at least two rows tall) of the
    run above ``threshold`` of the peak over the profile's ``floor`` (default: its 10th percentile)
    around ``peak``.

    A flat-topped band peaks anywhere along its top, so the run's middle, not the peak, is its centre.
    """
    floor = float(np.percentile(profile, 10)) if floor is None else floor
    level = floor + threshold * (profile[peak] - floor)
    above = profile > level
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = peak
    while hi < len(profile) - 1 and above[hi + 1]:
        hi += 1
    return (lo + hi) / 2, max((hi - lo + 1) / 2, min_half)


def _sample_along_band(image: np.ndarray, band: Band, offsets: np.ndarray, x0: int, x1: int) -> np.ndarray:
    """Rows at ``offsets`` (pixels, fractional) from the band's centre line, for columns x0..x1.

    Returns ``(len(offsets), x1 - x0, 3)`` float32: linear interpolation between the two nearest
    rows; rows beyond the image repeat the edge.
    """
    h = image.shape[0]
    xs = np.arange(x0, x1)
    ys = np.clip(band.centre(xs)[None, :] + offsets[:, None], 0, h - 1)
    y_lo = np.floor(ys).astype(np.int64)
    y_hi = np.minimum(y_lo + 1, h - 1)
    frac = (ys - y_lo)[:, :, None].astype(np.float32)
    # gathering rows of a flat view is about twice as fast as 2-D fancy indexing; a vertical photo
    # turned horizontal is a transposed view, read in its own memory order rather than copied
    if not image.flags.c_contiguous and image.transpose(1, 0, 2).flags.c_contiguous:
        pixels = image.transpose(1, 0, 2).reshape(-1, image.shape[2])
        x_step, y_step = h, 1
    else:
        pixels = np.ascontiguousarray(image).reshape(-1, image.shape[2])
        x_step, y_step = 1, image.shape[1]
    lower = pixels.take((y_lo * y_step + xs * x_step).ravel(), axis=0).reshape(*ys.shape, -1)
    upper = pixels.take((y_hi * y_step + xs * x_step).ravel(), axis=0).reshape(*ys.shape, -1)
    out = lower * (1 - frac)
    out += upper * frac
    return out


def _straighten(image: np.ndarray, band: Band, x0: int, x1: int) -> np.ndarray:
    """Rows within three band heights of the centre line, for columns x0..x1, resampled straight
    (the centre line on the middle row)."""
    reach = int(np.ceil(3 * band.half_height))
    return _sample_along_band(image, band, np.arange(-reach, reach + 1, dtype=np.float64), x0, x1)
