"""A strip's profile, its peaks with sub-pixel positions, and the colour of each peak (which narrows
the wavelengths it can be)."""
from __future__ import annotations


import numpy as np


def grey_profile(strip: np.ndarray) -> np.ndarray:
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
