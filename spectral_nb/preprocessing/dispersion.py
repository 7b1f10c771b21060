"""Which way the spectrum runs in a photo: horizontal or vertical (:func:`find_dispersion`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb.preprocessing.pixels import _brightest


@dataclass(frozen=True)
class DispersionPriors:
    """The tuned numbers of :func:`find_dispersion`. The score is ``clip(spread, ±spread_clip) +
    clip(gradient, ±gradient_clip) + shape_weight * clip(shape, ±shape_clip)`` (each cue a log ratio,
    horizontal over vertical); chosen on 700 synthetic photos with known answers (one error: a
    single-colour LED). Images over ``half_above`` pixels on their long side are read at half resolution
    (the cues are global: as good, 4x faster)."""

    spread_clip: float = 3.0
    gradient_clip: float = 1.5
    shape_clip: float = 2.5
    shape_weight: float = 0.5
    half_above: int = 200


def find_dispersion(image: np.ndarray, priors: DispersionPriors = DispersionPriors()) -> tuple[str, float]:
    """"horizontal" or "vertical", and a confidence 0-1, for a float RGB image (0-1): a photo as
    :func:`~spectral_nb.preprocessing.shrink_photo` shrinks it for the decisions (the priors were
    tuned at ``PreprocessParams.analysis_size``).

    Three cues, all from the content (a portrait photo can hold a horizontal spectrum):

    - colour spread: averaged along the dispersion axis, every row (or column) of a band mixes all
      its colours and looks the same; averaged across it, each column holds one wavelength, so
      the columns' mean colours differ widely. The cue compares the spread of the columns' and the
      rows' mean chromaticity (brightness-weighted). It is the strongest, and survives
      over-exposed bands whose white core has coloured fringes along its edges.
    - colour gradient: the chromaticity changes between lit neighbours along the axis.
    - shape: the lit area is usually longer along the axis (not for a single line).
    """
    small = _analysis_image(image, priors)
    lit, chroma = _lit_and_chroma(small)
    weighted = lit[:, :, None] * chroma
    total = lit.sum() + 1e-9
    mean = weighted.sum(axis=(0, 1)) / total

    def spread(axis: int) -> float:  # axis 0: spread of the columns' mean colours
        mass = lit.sum(axis=axis) + 1e-9
        means = weighted.sum(axis=axis) / mass[:, None]
        return float((mass * ((means - mean) ** 2).sum(axis=1)).sum() / total)

    spread_cue = np.log((spread(0) + 1e-9) / (spread(1) + 1e-9))
    gx, gy = _colour_gradients(lit, chroma)
    gradient_cue = np.log((gx.sum() + 1e-9) / (gy.sum() + 1e-9))
    weights = lit ** 2
    w_total = weights.sum() + 1e-12

    def extent(marginal: np.ndarray) -> float:  # weighted standard deviation of the positions
        pos = np.arange(marginal.size)
        centre = (marginal * pos).sum() / w_total
        return float(np.sqrt((marginal * (pos - centre) ** 2).sum() / w_total)) + 1

    shape_cue = np.log(extent(weights.sum(axis=0)) / extent(weights.sum(axis=1)))
    p = priors
    score = (np.clip(spread_cue, -p.spread_clip, p.spread_clip) + np.clip(gradient_cue, -p.gradient_clip, p.gradient_clip)
             + p.shape_weight * np.clip(shape_cue, -p.shape_clip, p.shape_clip))
    return ("horizontal" if score >= 0 else "vertical"), float(np.tanh(abs(score) / 2))


def _analysis_image(image: np.ndarray, priors: DispersionPriors) -> np.ndarray:
    """The image at the resolution the cues are read at: halved when over ``priors.half_above`` pixels
    on its long side (the cues are global: as good, 4x faster)."""
    if max(image.shape[:2]) <= priors.half_above:
        return image
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))


def _lit_and_chroma(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's light above the image's median brightness ``(H, W)`` and its chromaticity
    (R, G, B over their sum, ``(H, W, 3)``)."""
    bright = _brightest(small)
    return np.clip(bright - np.median(bright), 0, None), small / (small.sum(axis=2, keepdims=True) + 0.05)


def _colour_gradients(lit: np.ndarray, chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chromaticity change between neighbours along x ``(H, W - 1)`` and along y ``(H - 1, W)``, each
    weighted by the dimmer neighbour's light above the median: dark pixels, whose colour is noise, count for little."""
    gx = np.abs(np.diff(chroma, axis=1)).sum(axis=2) * np.minimum(lit[:, 1:], lit[:, :-1])
    gy = np.abs(np.diff(chroma, axis=0)).sum(axis=2) * np.minimum(lit[1:], lit[:-1])
    return gx, gy


def colour_gradients(image: np.ndarray, priors: DispersionPriors = DispersionPriors()) -> tuple[np.ndarray, np.ndarray]:
    """The maps behind :func:`find_dispersion`'s colour-gradient cue, for a figure: how much the colour
    changes between neighbouring pixels along x ``(H', W' - 1)`` and along y ``(H' - 1, W')``, weighted by
    the light of the pixels above the median (the dark background's colour noise counts for little), at the resolution
    the cue reads (``image`` halved above ``priors.half_above`` pixels). The spectrum runs along the
    axis whose map is the brighter."""
    return _colour_gradients(*_lit_and_chroma(_analysis_image(image, priors)))
