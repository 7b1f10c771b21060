"""The decisions made from a photo's content: dispersion axis, band, extent, blue side."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb.preprocessing.params import PreprocessParams


# ------------------------------------------------------------------------------------ decisions
def shrink_photo(image: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Block-average a ``(H, W, 3) uint8`` photo to at most ``size`` pixels on its long side: the
    float32 0-1 image the decisions read (``find_dispersion``, ``find_band``), and the factor."""
    from PIL import Image

    factor = max(1, int(np.ceil(max(image.shape[:2]) / size)))
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    small = np.asarray(Image.fromarray(np.ascontiguousarray(image[:h, :w])).reduce(factor))  # C, fast
    return small.astype(np.float32) * np.float32(1 / 255), factor


def _brightest(image: np.ndarray) -> np.ndarray:
    """The brightest channel of each pixel of an ``(..., 3)`` array (``max(axis=-1)``, several times faster)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def _smooth(values: np.ndarray, sigma: float, axis: int = 0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(values, sigma, axis=axis, mode="nearest") if sigma > 0 else values


def find_dispersion(small: np.ndarray) -> tuple[str, float]:
    """"horizontal" or "vertical", and a confidence 0-1, for a float RGB image (0-1).

    Three cues, all from the content (a portrait photo can hold a horizontal spectrum):

    - colour spread: averaged along the dispersion axis, every row (or column) of a band mixes all
      its colours and looks the same; averaged across it, each column holds one wavelength, so
      the columns' mean colours differ widely. The cue compares the spread of the columns' and the
      rows' mean chromaticity (brightness-weighted). It is the strongest, and survives
      over-exposed bands whose white core has coloured fringes along its edges.
    - colour gradient: the chromaticity changes between lit neighbours along the axis.
    - shape: the lit area is usually longer along the axis (not for a single line).
    """
    if max(small.shape[:2]) > 200:  # the cues are global: half the resolution reads them as well, 4x faster
        h, w = small.shape[0] // 2 * 2, small.shape[1] // 2 * 2
        small = small[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    bright = _brightest(small)
    lit = np.clip(bright - np.median(bright), 0, None)
    chroma = small / (small.sum(axis=2, keepdims=True) + 0.05)
    weighted = lit[:, :, None] * chroma
    total = lit.sum() + 1e-9
    mean = weighted.sum(axis=(0, 1)) / total

    def spread(axis: int) -> float:  # axis 0: spread of the columns' mean colours
        mass = lit.sum(axis=axis) + 1e-9
        means = weighted.sum(axis=axis) / mass[:, None]
        return float((mass * ((means - mean) ** 2).sum(axis=1)).sum() / total)

    spread_cue = np.log((spread(0) + 1e-9) / (spread(1) + 1e-9))
    gx = np.abs(np.diff(chroma, axis=1)).sum(axis=2) * np.minimum(lit[:, 1:], lit[:, :-1])
    gy = np.abs(np.diff(chroma, axis=0)).sum(axis=2) * np.minimum(lit[1:], lit[:-1])
    gradient_cue = np.log((gx.sum() + 1e-9) / (gy.sum() + 1e-9))
    weights = lit ** 2
    w_total = weights.sum() + 1e-12

    def extent(marginal: np.ndarray) -> float:  # weighted standard deviation of the positions
        pos = np.arange(marginal.size)
        centre = (marginal * pos).sum() / w_total
        return float(np.sqrt((marginal * (pos - centre) ** 2).sum() / w_total)) + 1

    shape_cue = np.log(extent(weights.sum(axis=0)) / extent(weights.sum(axis=1)))
    # weights chosen on 700 synthetic photos with known answers (one error: a single-colour LED)
    score = np.clip(spread_cue, -3, 3) + np.clip(gradient_cue, -1.5, 1.5) + 0.5 * np.clip(shape_cue, -2.5, 2.5)
    return ("horizontal" if score >= 0 else "vertical"), float(np.tanh(abs(score) / 2))


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
    """Per column, (R - B) / (R + G + B): not a hue (that is :func:`_hue_angle`), but a proxy that
    grows from blue to red along a spectrum."""
    return (colour[:, 0] - colour[:, 2]) / (colour.sum(axis=1) + 1e-6)


def _colour_order(hue: np.ndarray, weight: np.ndarray, runs: list[tuple[int, int]]) -> tuple[float, float]:
    """Brightness-weighted correlation of hue with position over ``runs`` (+: blue to red left to
    right; near 0: no clear order, e.g. one colour), and their mean hue."""
    cols = np.concatenate([np.arange(a, b) for a, b in runs])
    w = np.clip(weight[cols], 0, None) + 1e-9
    return _weighted_correlation(cols, hue[cols], w), float((w * hue[cols]).sum() / w.sum())


def _band_hue(strip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of a strip: its colour above each channel's dimmest column, that colour's hue
    angle, and its weight in :func:`find_blue_side` (chroma squared)."""
    rgb = np.asarray(strip, dtype=np.float64).mean(axis=0)  # (columns, 3)
    colour = rgb - rgb.min(axis=0)
    return colour, _hue_angle(colour), (colour.max(axis=1) - colour.min(axis=1)) ** 2


def _weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of ``x`` and ``y`` with weights ``w`` (0 when either is constant)."""
    mx, my = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    return float((w * (x - mx) * (y - my)).sum() / np.sqrt((w * (x - mx) ** 2).sum() * (w * (y - my) ** 2).sum() + 1e-12))


def _lit_extent(profile: np.ndarray, colour: np.ndarray, threshold: float) -> tuple[int, int, float]:
    """First and last (exclusive) column of the spectrum along a column profile; and a contrast 0-1.

    Dropped at either end, when a dark gap separates them from the rest:

    - a zero-order spot: a short white blob beyond the blue end; or the lamp itself blazing white
      beyond the blue end (a phone photo through a clip-on grating), however long, when it has no
      colour order of its own, is at least as bright as anything in the rest and the rest is
      ordered (the undispersed lamp outshines each of its dispersed lines);
    - a second order: a dim, fainter copy of the spectrum beyond the red end, whose colours start
      again from blue, against the order of the rest: a long run, a short one far out (beyond a
      gap of a fifth of the span), or every run beyond the widest gap (the dark gaps between a
      lamp's lines split its second order too) when the rest is at least 1.5 times as long. A
      faint end of the spectrum itself continues the order, and a short dim run close by is a
      faint line: both stay.
    """
    smooth = _smooth(profile, 1.0)
    base = np.percentile(smooth, 10)
    peak = smooth.max()
    runs = _runs(smooth > base + threshold * (peak - base))
    if not runs:
        return 0, len(profile), 0.0
    runs = _without_outer_orders(runs, smooth - base, colour)
    return int(runs[0][0]), int(runs[-1][1]), float(np.clip((peak - base) / (peak + 1e-9), 0, 1))


def _without_outer_orders(runs: list[tuple[int, int]], weight: np.ndarray, colour: np.ndarray) -> list[tuple[int, int]]:
    """``runs`` (lit column runs, left to right) less every zero or second order at either end
    (:func:`_outer_order`); ``weight`` is each column's brightness above the floor, ``colour`` its RGB."""
    redness = _red_minus_blue(colour)
    while len(runs) > 1 and (cut := _outer_order(runs, redness, weight, colour)):
        runs = runs[cut:] if cut > 0 else runs[:cut]
    return runs


def _outer_order(runs: list[tuple[int, int]], redness: np.ndarray, weight: np.ndarray, colour: np.ndarray) -> int:
    """How many runs to drop as a zero or second order (see :func:`_lit_extent`): ``n`` from the
    left, ``-n`` from the right, 0 for none."""
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
            order, others_redness = _colour_order(redness, weight, others)
            if rest < 0.3 * span and len(others) < 3:
                order = 0.0  # the rest is a line or two: its colour fringes are no spectral order
                # (three or more separate lines in colour order are one, however short their span)
            toward = -1 if end == 0 else 1  # +1: the part lies to the right of the others
            at_blue_end = abs(order) >= 0.3 and np.sign(order) == -toward
            cols = np.concatenate([np.arange(a, b) for a, b in part])
            rgb = colour[cols].mean(axis=0)
            white = rgb.min() / (rgb.max() + 1e-9) > 0.6
            part_order, part_redness = _colour_order(redness, weight, part)
            zero_order = n == 1 and white and ((length < 0.06 * span and gap > 0.1 * span)
                                               or (at_blue_end and length < 0.15 * span and gap > 0.08 * span)
                                               or (at_blue_end and abs(order) >= 0.5 and gap > 0.1 * span
                                                   and abs(part_order) < 0.3
                                                   and float(weight[cols].max()) >= max(float(weight[a:b].max()) for a, b in others)))
            second_order = (abs(order) >= 0.3 and not at_blue_end and gap > 0.04 * span
                            and (length > 0.1 * span or gap > 0.2 * span) and (n == 1 or rest >= 1.5 * length)
                            and float(weight[cols].max()) < 0.4 * max(float(weight[a:b].max()) for a, b in others)
                            and np.sign(part_redness - others_redness) == -np.sign(order) * toward)
            if zero_order or second_order:
                return n if end == 0 else -n
    return 0


def find_band(small: np.ndarray, params: PreprocessParams = PreprocessParams()) -> Band:
    """The band in a horizontal-dispersion float RGB image (0-1), at that image's scale.

    Rows: the brightest row band of the column-averaged profile (the columns lit, less a zero or
    second order at either end, see :func:`_lit_extent`), smoothed so that thin drawn lines
    and text do not win; then, if ``params.follow_tilt``, the centre of the lit rows in each of up
    to 12 column blocks, fitted with a line (or a parabola, for the smile of a curved band).
    Columns: where the band is brighter than ``params.extent_threshold`` of its peak.
    """
    h, w = small.shape[:2]
    bright = _brightest(small)
    background = np.median(bright)
    lit = np.clip(bright - background, 0, None)
    # a first guess of the columns: where anything is lit, so dark margins do not dilute the rows
    col_energy = _smooth(lit.mean(axis=0), 2.0)
    active = col_energy > 0.2 * col_energy.max()
    runs = _runs(active)
    if len(runs) > 1:  # a zero order (the lamp itself) or a second order does not choose the rows
        colour = (small * lit[:, :, None]).sum(axis=0) / (lit.sum(axis=0)[:, None] + 1e-9)
        kept = _without_outer_orders(runs, col_energy, colour)
        if kept != runs:
            active = np.zeros_like(active)
            for a, b in kept:
                active[a:b] = True
    rows = _smooth(np.mean(lit[:, active], axis=1), max(1.0, h / 100))
    centre_row, half = _run_around(rows, int(np.argmax(rows)), params.band_threshold)
    coefficients = (float(centre_row), 0.0, 0.0)
    xs_active = np.flatnonzero(active)
    x_lo, x_hi = int(xs_active.min()), int(xs_active.max()) + 1
    mid, half_len = (x_lo + x_hi - 1) / 2, max((x_hi - x_lo) / 2, 1)
    if params.follow_tilt and x_hi - x_lo >= 24:
        window = max(3.0 * half, 6.0)
        lo, hi = int(max(0, centre_row - window)), int(min(h, centre_row + window + 1))
        edges = np.linspace(x_lo, x_hi, min(12, (x_hi - x_lo) // 8) + 1).astype(int)
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
            keep = resid <= max(2.0, 2.5 * np.median(resid))
            if keep.sum() >= degree + 2:
                fit = np.polyfit(u[keep], np.array(centres)[keep], degree, w=wts[keep])
            c = (fit[::-1].tolist() + [0.0, 0.0])[:3]
            # tilts beyond ~20 degrees or wild curvature are not a band: keep the flat answer
            if abs(c[1]) < 0.35 * half_len and abs(c[2]) < 0.1 * half_len + half:
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
    x0, x1, contrast = _lit_extent(column_colour.max(axis=1), column_colour, params.extent_threshold)
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


def _run_around(profile: np.ndarray, peak: int, threshold: float) -> tuple[float, float]:
    """Centre and half width of the run above ``threshold`` of the peak (over the profile's floor) around ``peak``.

    A flat-topped band peaks anywhere along its top, so the run's middle, not the peak, is its centre.
    """
    floor = np.percentile(profile, 10)
    level = floor + threshold * (profile[peak] - floor)
    above = profile > level
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = peak
    while hi < len(profile) - 1 and above[hi + 1]:
        hi += 1
    return (lo + hi) / 2, max((hi - lo + 1) / 2, 1.0)


def _hue_angle(colour: np.ndarray) -> np.ndarray:
    """Hue angle per column in degrees: red 0, yellow 60, green 120, cyan 180, blue 240, violet
    about 270; it falls steadily from the violet to the red end of a spectrum (purples past 320
    count as reds, -40 to 0)."""
    r, g, b = colour[:, 0], colour[:, 1], colour[:, 2]
    angle = np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)) % 360
    return np.where(angle > 320, angle - 360, angle)


#: a band whose colour order is weaker than this (|correlation|) or whose hue spreads less than
#: ONE_COLOUR_SPREAD degrees counts as one colour: a red or violet one is oriented by its shape
#: (both chosen on seeds 2026, 2027, 2029 and 2030; the benchmark measures on seed 2028)
ONE_COLOUR_CONFIDENCE = 0.3
ONE_COLOUR_SPREAD = 5.0


#: Hue angles (degrees) that can be either a violet (a 405 nm line, through the red channel's blue
#: lobe) or a pink beyond red (a deep-red or near-infrared line that a weak IR-cut filter lets into
#: all three channels: neon's 692-724 nm lines): :func:`find_blue_side` takes the reading under which
#: the colours run more steadily along the band (chosen on seeds 2029 and 2030: 10 misses in 1,397
#: photos with these read as violet, 6 with the better reading).
PINK_HUES: tuple[float, float] = (280.0, 320.0)


def find_blue_side(strip: np.ndarray) -> tuple[bool, float]:
    """Does the blue end lie on the left of a band (any float or uint8 RGB array, columns = dispersion)?

    Colour first: the hue angle of each column's colour above the dark level (each channel's
    dimmest column) falls from violet to red along a spectrum; its correlation with position,
    each column weighted by its chroma squared (so the bright, coloured parts speak and a dim
    glow or a washed-out overexposed core does not), says which way it runs. Pinks
    (:data:`PINK_HUES`) are read as violets or as beyond red, whichever runs more steadily.

    A band of one colour (a deep-red or violet LED) has almost no hue gradient (|correlation| <
    :data:`ONE_COLOUR_CONFIDENCE`, or a hue spread under :data:`ONE_COLOUR_SPREAD` degrees, where
    a few grey levels of noise could tip it); then its shape decides: the camera's sensitivity
    drops sharply beyond the visible range (its UV and IR-cut filters), so a red band falls
    steeply at its red end and a violet one at its blue end, while the other side trails off. Returns
    ``(blue_left, confidence 0-1)``; the confidence is low for a one-colour band or a grey one.
    """
    colour, angle, weights = _band_hue(strip)
    if weights.sum() <= 1e-9:
        return True, 0.0
    position = np.linspace(-1, 1, len(angle))
    correlation = _weighted_correlation(position, -angle, weights)
    pink = (angle >= PINK_HUES[0]) & (angle <= PINK_HUES[1])
    if pink.any():  # pinks read as beyond red (deep-red light leaking into every channel) if that runs truer
        beyond_red = np.where(pink, angle - 360, angle)
        other = _weighted_correlation(position, -beyond_red, weights)
        if abs(other) > abs(correlation):
            correlation, angle = other, beyond_red
    mean_angle = float((weights * angle).sum() / weights.sum())
    spread = float(np.sqrt((weights * (angle - mean_angle) ** 2).sum() / weights.sum()))
    if abs(correlation) < ONE_COLOUR_CONFIDENCE or spread < ONE_COLOUR_SPREAD:
        if mean_angle < 60 or mean_angle > 200:  # red or blue-violet, not a mid-spectrum colour
            bright = colour.max(axis=1)
            half = np.flatnonzero(bright >= bright.max() / 2)
            left_tail, right_tail = half[0], len(bright) - 1 - half[-1]
            if left_tail != right_tail:
                steep_left = left_tail < right_tail
                lean = abs(left_tail - right_tail) / (left_tail + right_tail)
                return bool(steep_left == (mean_angle > 200)), float(ONE_COLOUR_CONFIDENCE * lean)
    return bool(correlation >= 0), float(min(1.0, abs(correlation)))


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


# ------------------------------------------------------------------------------------ app screenshots
#: A photo is a screen capture (a spectrometer app's window: PySpectrometer, Theremino, ...) when at
#: least this share of its pixels are lit and lie in flat runs (:func:`_flat_runs`): drawn graphics
#: (a white plot area, grey window chrome, filled curves) repeat one exact colour over many pixels,
#: a camera's pixels never do (noise). Chosen on the real photos of raw/ and raw_more/: app
#: screenshots 0.52-0.65, camera photos at most 0.08 (an annotated one), synthetic photos at most 0.05.
SCREEN_CAPTURE_SHARE = 0.25
#: Pixels in a run of at least this many identical neighbours along a row count as drawn (flat).
FLAT_RUN = 5


def _flat_runs(image: np.ndarray, length: int = FLAT_RUN) -> np.ndarray:
    """``bool (H, W)``: pixels of a ``(H, W, 3)`` image in a horizontal run of ``length`` or more
    pixels of exactly the same colour."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    same = np.zeros(image.shape[:2], np.float32)
    same[:, :-1] = (image[:, 1:] == image[:, :-1]).all(axis=-1)
    # a run of `length` equal pixels holds `length - 1` equalities in a row; mark every pixel of it
    starts = uniform_filter1d(same, length - 1, axis=1, origin=-((length - 1) // 2), mode="constant") > 1 - 1e-3
    return maximum_filter1d(starts.view(np.uint8), length, axis=1, origin=(length - 1) // 2,
                            mode="constant").astype(bool)


def screen_capture_share(image: np.ndarray) -> float:
    """Share of a ``(H, W, 3) uint8`` photo's pixels that are lit (brightest channel above 60) and
    flat (:func:`_flat_runs`), on every fourth row: :data:`SCREEN_CAPTURE_SHARE` or more is an app's
    screenshot."""
    rows = image[::4]
    return float(np.mean(_flat_runs(rows) & (_brightest(rows) > 60)))


def is_screen_capture(image: np.ndarray, min_contrast: float) -> bool:
    """Is a ``(H, W, 3) uint8`` photo an app's screenshot (:func:`screen_capture_share` at least
    :data:`SCREEN_CAPTURE_SHARE`)? A uniform picture (brightness spread under ``min_contrast`` of
    full scale) is not; a photo with fewer lit pixels than that share cannot be, so the flat runs
    are only looked for when enough is lit (camera photos are mostly dark: no cost for them)."""
    rows = image[::4, ::4]
    bright = _brightest(rows)
    low, high = np.percentile(bright, [0.1, 99.9])
    if high - low <= 255 * min_contrast or np.mean(bright > 60) < SCREEN_CAPTURE_SHARE:
        return False
    return screen_capture_share(image) >= SCREEN_CAPTURE_SHARE


def find_camera_view(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The camera's picture inside an app's screenshot: box ``(x0, y0, x1, y1)`` (exclusive ends), or None.

    The camera's pixels are the ones that are not flat (:func:`_flat_runs`); thin strokes (text,
    plotted curves, grid lines) are opened away, and of the solid regions left the one that is
    large and fills its bounding box wins (a filled plot under a curve fills only part of its box).
    Regions beside it in the same rows, or above and below it in the same columns (80 % of the
    larger span shared), join it: lines
    the app draws across the picture (a graticule, a cursor) split it, and so does a saturated
    line whose flat core is cut out with the graphics.
    """
    from scipy.ndimage import binary_closing, binary_opening, find_objects, label

    h, w = image.shape[:2]
    k = max(3, round(min(h, w) / 100))
    solid = binary_opening(~_flat_runs(image), structure=np.ones((k, k), bool))
    solid = binary_closing(solid, structure=np.ones((k, k), bool))
    labels, n = label(solid)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    boxes = [(o[1].start, o[0].start, o[1].stop, o[0].stop) for o in find_objects(labels)]
    fill = [sizes[i] / ((b[2] - b[0]) * (b[3] - b[1])) for i, b in enumerate(boxes)]
    best = int(np.argmax([sizes[i] * fill[i] ** 2 for i in range(n)]))
    x0, y0, x1, y1 = boxes[best]
    gap = 3 * k
    grown = True
    while grown:
        grown = False
        for i, (a0, b0, a1, b1) in enumerate(boxes):
            if fill[i] < 0.5 or (a0 >= x0 and b0 >= y0 and a1 <= x1 and b1 <= y1):
                continue
            # the same rows (or columns) as the view, both ways: a title or a caption beside it is not
            same_rows = min(b1, y1) - max(b0, y0) >= 0.8 * max(b1 - b0, y1 - y0)
            same_cols = min(a1, x1) - max(a0, x0) >= 0.8 * max(a1 - a0, x1 - x0)
            near_x = a0 <= x1 + gap and a1 >= x0 - gap
            near_y = b0 <= y1 + gap and b1 >= y0 - gap
            if (same_rows and near_x) or (same_cols and near_y):
                x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                grown = True
    return int(x0), int(y0), int(x1), int(y1)


#: Edge lines of a photo at most this many pixels in from each side can be a drawn frame (a window
#: border or a rectangle a viewer draws around a capture) rather than light.
FRAME_LINES = 4


def blank_frame(image: np.ndarray) -> np.ndarray:
    """``image`` with the drawn frame around it (if any) made as dark as the photo's inside, for the decisions.

    A frame line is an outermost row or column (up to :data:`FRAME_LINES` in) of almost one level
    along its whole length (standard deviation under 15 grey levels) that differs from the line
    just inside the frame by more than 40 levels: no spectrum is that even along an edge, so such a
    line is a border, and a bright one would otherwise be taken for the band.
    """
    out = None
    h, w = image.shape[:2]
    for axis in (0, 1):
        n = h if axis == 0 else w
        for side in (1, -1):
            inner = np.take(image, FRAME_LINES if side == 1 else n - 1 - FRAME_LINES, axis=axis).astype(np.float32)
            for k in range(min(FRAME_LINES, n // 4)):
                index = k if side == 1 else n - 1 - k
                line = np.take(image, index, axis=axis).astype(np.float32)
                if line.std() >= 15 or abs(line.mean() - inner.mean()) <= 40:
                    continue
                if out is None:
                    out = image.copy()
                fill = np.median(inner, axis=0).astype(image.dtype)
                if axis == 0:
                    out[index] = fill
                else:
                    out[:, index] = fill
    return image if out is None else out
