"""Robustness sweeps: accuracy on test strips with one factor of the photo changed at a time.

Each :class:`Perturbation` changes ``uint8 (N, 15, 480, 3)`` strips as a camera, a spectroscope or a
crop would: exposure (with clipping at full scale), sensor noise, white balance, the band shifted or
stretched along the wavelength axis, a crop box taller than the band. Its ``trained`` range is what
chapter 04's augmentations (``records.augment_images`` with ``records.BOOK_AUGMENT_OPTIONS``) drew
during training, so a sweep shows both how the model behaves inside what it was taught and how fast
it falls off beyond it. Inference only: nothing here trains.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from spectral_nb.analysis.confidence import predict_proba, warp_strips
from spectral_nb.analysis.metrics import confusion_matrix
from spectral_nb import check_labels, check_strips
from spectral_nb.records.pipeline import BOOK_AUGMENT_OPTIONS, LOG_GAIN_RANGE, LOG_WHITE_BALANCE, MAX_NOISE_SIGMA


def _exposure(strips: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    """Every pixel times ``gain``, clipped at 255: a longer or shorter exposure of the same scene."""
    return np.clip(np.round(strips.astype(np.float32) * gain), 0, 255).astype(np.uint8)


def _noise(strips: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of ``sigma`` (0-255 levels) on every pixel and channel, clipped: a noisier sensor."""
    noisy = strips.astype(np.float32) + rng.normal(0.0, sigma, strips.shape).astype(np.float32)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _white_balance(strips: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Red times ``factor``, blue divided by it, clipped: a camera balanced for warmer (> 1) or bluer light."""
    gains = np.array([factor, 1.0, 1.0 / factor], np.float32)
    return np.clip(np.round(strips.astype(np.float32) * gains), 0, 255).astype(np.uint8)


def _shift(strips: np.ndarray, columns: float, rng: np.random.Generator) -> np.ndarray:
    """The band moved by ``columns`` along the wavelength axis (a crop box, or a window, off by that much)."""
    return warp_strips(strips, shift_px=columns)


def _window(strips: np.ndarray, stretch: float, rng: np.random.Generator) -> np.ndarray:
    """The band scaled by ``stretch`` about the strip's centre: > 1 a narrower wavelength window (or a
    stronger dispersion) filling the strip, < 1 a wider one (the end columns repeated)."""
    return warp_strips(strips, stretch=stretch)


def _box_height(strips: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """A crop box ``ratio`` times as tall as the band: the band's rows squeezed into the middle
    ``15 / ratio`` rows, the others the strip's own background (its darkest 1% per channel). A box
    shifted across the band, half on it, does the same to a model that averages the rows."""
    n, height = strips.shape[:2]
    band_rows = max(1, int(round(height / ratio)))
    background = np.percentile(strips.reshape(n, -1, 3), 1, axis=1).astype(np.float32)   # (N, 3)
    out = np.broadcast_to(background[:, None, None, :], strips.shape).copy()
    # the band resampled to band_rows rows: each new row the mean of the old rows it covers
    edges = np.linspace(0, height, band_rows + 1)
    top = (height - band_rows) // 2
    for k in range(band_rows):
        rows = slice(int(np.floor(edges[k])), max(int(np.floor(edges[k])) + 1, int(np.ceil(edges[k + 1]))))
        out[:, top + k] = strips[:, rows].astype(np.float32).mean(axis=1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Perturbation:
    """One factor of a sweep: ``apply(strips, level, rng)`` changes the strips by ``level`` (``nominal``
    leaves them as they are); ``trained`` is the range of the level chapter 04's augmentations cover
    (``None``: not augmented); ``label`` names the level and its unit for a figure's axis."""

    name: str
    label: str
    levels: tuple[float, ...]
    nominal: float
    trained: tuple[float, float] | None
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
    log_scale: bool = False


#: The factors of chapter 05's sweep. The trained ranges are the book's augmentations' (``records``:
#: the exposure e^LOG_GAIN_RANGE; the noise sigma up to MAX_NOISE_SIGMA of full scale, uniform noise of
#: that sigma; each channel x e^(+-LOG_WHITE_BALANCE), so red up and blue down by up to that at once;
#: shifts and stretches up to ``BOOK_AUGMENT_OPTIONS``'); box height none (the crops of chapter 02
#: decide it). ``tests/test_analysis.py`` checks them against what ``augment_images`` draws.
_SHIFT, _STRETCH = BOOK_AUGMENT_OPTIONS["max_shift_px"], BOOK_AUGMENT_OPTIONS["max_stretch"]
PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("exposure", "exposure (x the test strip's)", (0.25, 0.5, 1.0, 2.0, 4.0, 8.0), 1.0,
                 tuple(float(v) for v in np.exp(LOG_GAIN_RANGE)), _exposure, log_scale=True),
    Perturbation("noise", "noise sigma (of 255 levels)", (0.0, 4.0, 8.0, 16.0, 32.0), 0.0, (0.0, MAX_NOISE_SIGMA * 255),
                 _noise),
    Perturbation("white balance", "red x f, blue / f: f", (0.5, 0.7, 1.0, 1.4, 2.0), 1.0,
                 (float(np.exp(-LOG_WHITE_BALANCE)), float(np.exp(LOG_WHITE_BALANCE))), _white_balance, log_scale=True),
    Perturbation("shift", "shift along the band (columns)", (-144.0, -96.0, -48.0, 0.0, 48.0, 96.0, 144.0), 0.0,
                 (-_SHIFT, _SHIFT), _shift),
    Perturbation("window", "stretch along the band (< 1: a wider window)", (0.6, 0.8, 1.0, 1.25, 1.6), 1.0, (1 - _STRETCH, 1 + _STRETCH), _window,
                 log_scale=True),
    Perturbation("box height", "crop box height / band height", (1.0, 1.5, 2.0, 3.0, 5.0), 1.0, None, _box_height),
)


def perturbed_confusion(model, strips: np.ndarray, labels: np.ndarray, name: str, level: float, seed: int = 0,
                        perturbations: Sequence[Perturbation] = PERTURBATIONS, batch_size: int = 256) -> np.ndarray:
    """The confusion matrix ``(7, 7)`` (rows true, columns predicted) of the model on ``strips`` changed
    by the factor ``name`` at ``level``; the noise drawn as :func:`robustness_sweep` draws it."""
    strips = check_strips(strips)
    labels = check_labels(labels, n=len(strips))
    names = [p.name for p in perturbations]
    if name not in names:
        raise ValueError(f"no factor {name!r} in the sweep; the factors are {', '.join(names)}")
    k = names.index(name)
    changed = perturbations[k].apply(strips, float(level), np.random.default_rng([seed, k]))
    predicted = predict_proba(model, changed, batch_size).argmax(axis=1)
    return confusion_matrix(labels, predicted)


def robustness_sweep(model, strips: np.ndarray, labels: np.ndarray,
                     perturbations: Sequence[Perturbation] = PERTURBATIONS, seed: int = 0,
                     batch_size: int = 256) -> dict[str, list[tuple[float, float]]]:
    """``{factor name: [(level, accuracy), ...]}``: the model's accuracy on ``strips`` changed by each
    factor at each of its levels, the others left as they are. ``seed`` fixes the noise."""
    results: dict[str, list[tuple[float, float]]] = {}
    for perturbation in perturbations:
        rows = []
        for level in perturbation.levels:
            cm = perturbed_confusion(model, strips, labels, perturbation.name, level, seed, perturbations, batch_size)
            rows.append((float(level), float(np.trace(cm) / cm.sum())))
        results[perturbation.name] = rows
    return results


def sweep_table(sweep: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """The sweep as text: one line per factor, ``level: accuracy`` pairs."""
    width = max(len(name) for name in sweep)
    return "\n".join(f"{name:<{width}}  " + "  ".join(f"{level:g}: {accuracy:.3f}" for level, accuracy in rows)
                     for name, rows in sweep.items())


def plot_robustness(sweep: Mapping[str, Sequence[tuple[float, float]]],
                    perturbations: Sequence[Perturbation] = PERTURBATIONS, chance: float | None = None):
    """One panel per factor: accuracy against the level, the unchanged strips marked, the range the
    training augmentations covered shaded; ``chance`` draws the accuracy of guessing. Returns the figure."""
    import matplotlib.pyplot as plt

    by_name = {p.name: p for p in perturbations}
    names = [name for name in sweep if name in by_name]
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(10, 3.0 * rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names):
        p = by_name[name]
        levels, accuracy = zip(*sweep[name])
        if p.trained is not None:
            ax.axvspan(*p.trained, color="tab:green", alpha=0.12, lw=0, label="trained range")
        ax.plot(levels, accuracy, "o-", color="tab:blue", lw=1.5, ms=4)
        ax.axvline(p.nominal, color="k", lw=0.8, ls=":", label="as tested")
        if chance is not None:
            ax.axhline(chance, color="grey", lw=0.8, ls="--", label="chance")
        if p.log_scale:
            ax.set_xscale("log")
            ax.set_xticks(levels, [f"{v:g}" for v in levels])
            ax.minorticks_off()
        ax.set(title=name, xlabel=p.label, ylabel="accuracy", ylim=(0, 1.02))
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
