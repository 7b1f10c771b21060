"""Using a calibration: a strip's spectrum in nm, its peaks, resampling onto another instrument's
wavelengths, the error against a known map, and the figures."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from spectral_nb.calibration.fit import CalibrationResult
from spectral_nb.calibration.peaks import find_profile_peaks, grey_profile


def strip_spectrum(strip: np.ndarray, calibration: CalibrationResult) -> tuple[np.ndarray, np.ndarray]:
    """The profile of a strip on a wavelength axis: ``(nm, brightness)``, both ``(W,)``, nm ascending.

    ``calibration`` must come from the same instrument (same spectroscope, camera and crop).
    """
    nm = calibration.nm_per_column()
    profile = grey_profile(strip)
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
    ``true_nm_per_column`` (optional, ``(W,)``) draws the true map for comparison and adds a fourth
    panel: the error against it at every column (:func:`calibration_error_nm`), where the strip's
    ends show what the matched lines leave unconstrained.
    """
    import matplotlib.pyplot as plt

    with_truth = true_nm_per_column is not None and result.ok
    if fig is None:
        fig = plt.figure(figsize=(9, 8.0 if with_truth else 6.5))
    ratios = [2, 1.4, 1, 1] if with_truth else [2, 1.4, 1]
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    ax_prof, ax_fit, ax_res = axes[:3]
    cols = np.arange(result.width)
    ax_prof.plot(cols, result.profile, color="0.2", lw=1)
    peak_y = np.interp(result.peaks_px, cols, result.profile)
    ax_prof.plot(result.peaks_px, peak_y, "v", color="0.6", ms=5, label="peaks")
    ax_prof.set_ylabel("brightness")
    if not result.ok:
        ax_prof.set_title(f"{result.lamp or 'no lamp'}: not calibrated", fontsize=10)
        ax_prof.text(0.01, 0.95, result.reason, transform=ax_prof.transAxes, va="top", fontsize=8, wrap=True)
        for ax in axes[1:]:
            ax.set_visible(False)
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
    if with_truth:
        ax_err = axes[3]
        err = calibration_error_nm(result, true_nm_per_column)
        ax_err.plot(cols, err, color="C0", lw=1)
        for px in result.matched_px:
            ax_err.axvline(px, color="C3", lw=0.6, ls=":")
        ax_err.set_ylim(0, max(0.5, float(err.max()) * 1.15))
        ax_err.set_ylabel("|fit - true| (nm)")
        ax_err.set_title("error against the true map at every column (dotted: matched lines)", fontsize=8, loc="left")
    axes[-1].set_xlabel("column (px)")
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
