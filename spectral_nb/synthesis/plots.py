"""Figures of the synthetic spectroscope: spectra, camera curves, photos, strips (``ax=None`` style)."""
from __future__ import annotations


import numpy as np

from spectral_nb import CLASS_NAMES, NUM_CLASSES
from spectral_nb.synthesis.camera import Camera
from spectral_nb.synthesis.spectra import Spectrum


def plot_spectrum(spectrum: Spectrum, ax=None, nm: np.ndarray | None = None, fwhm_nm: float = 1.0, **style):
    """Relative spectral power of a :class:`Spectrum` against wavelength (nm); returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    nm = np.arange(360.0, 781.0, 0.25) if nm is None else np.asarray(nm, float)
    power = spectrum.sampled(nm, fwhm_nm)
    _ = ax.plot(nm, power / max(power.max(), 1e-12), **{"color": "k", "lw": 1, **style})
    ax.set(xlabel="wavelength (nm)", ylabel="relative power", xlim=(nm[0], nm[-1]))
    ax.set_title(spectrum.source, fontsize=9)
    return ax


def plot_camera(camera: Camera, spectrum: Spectrum | None = None, ax=None):
    """A camera's R, G, B sensitivities (solid) and, given a spectrum, what each channel records (filled)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    nm = np.arange(360.0, 781.0, 0.5)
    response = camera.response(nm)
    response = response / response.max()
    colours = ("tab:red", "tab:green", "tab:blue")
    for c, colour in enumerate(colours):
        _ = ax.plot(nm, response[:, c], color=colour, lw=1.5)
    if spectrum is not None:
        power = spectrum.sampled(nm, 2.0)
        power = power / max(power.max(), 1e-12)
        _ = ax.plot(nm, power, color="k", lw=0.8)
        for c, colour in enumerate(colours):
            ax.fill_between(nm, power * response[:, c], color=colour, alpha=0.35, lw=0)
    ax.set(xlabel="wavelength (nm)", ylabel="relative sensitivity", xlim=(nm[0], nm[-1]), ylim=(0, 1.05))
    ax.set_title(f"camera like {camera.name}" + (f" · {spectrum.source}" if spectrum is not None else ""), fontsize=9)
    return ax


def plot_photo(photo: np.ndarray, truth: dict | None = None, ax=None):
    """Show a photo; with its truth, outline the band box and name the source."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    ax = ax or plt.gca()
    ax.imshow(photo)
    if truth is not None:
        x0, y0, x1, y1 = truth["band_box"]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=1, ls="--"))
        arrow = {"horizontal": "→" if truth["blue_first"] else "←", "vertical": "↓" if truth["blue_first"] else "↑"}
        label = truth.get("label", -1)
        name = CLASS_NAMES[label] if 0 <= label < NUM_CLASSES else "no class"
        ax.set_title(f"{name}: {truth['source']}\n{photo.shape[1]}x{photo.shape[0]}, blue{arrow[truth['dispersion']]}red", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
