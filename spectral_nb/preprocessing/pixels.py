"""Pixel helpers every decision shares: the shrunken photo they read, the brightest channel, smoothing,
a weighted correlation."""
from __future__ import annotations

import numpy as np


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


def _weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of ``x`` and ``y`` with weights ``w`` (0 when either is constant)."""
    mx, my = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    return float((w * (x - mx) * (y - my)).sum() / np.sqrt((w * (x - mx) ** 2).sum() * (w * (y - my) ** 2).sum() + 1e-12))
