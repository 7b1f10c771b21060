"""Physically grounded synthetic spectroscope photos and 15x480 strips (a small subpackage).

Modules, one per seam: ``spectra`` (light sources), ``camera`` (instrument and camera: one
pipeline for strips and photos), ``render`` (strips and photos), ``folders`` (datasets on disk),
``plots`` (figures). Everything a chapter uses is importable from ``spectral_nb.synthesis``.

The book's data when no real photos are at hand. Each item is made in three physical steps:

1. **A light source** (:func:`sample_spectrum`): the spectral power of a lamp of the given class,
   as a smooth part (phosphors, continua) sampled every nanometre plus sharp lines at their air
   wavelengths. Every lamp is randomised around published data.
2. **An instrument** (:func:`sample_instrument`): which wavelength lands on which pixel (span,
   dispersion with a mild non-linearity), the line-spread function (slit width, optics, resizing),
   and a **camera** (:func:`sample_camera`): RGB sensitivities with an IR-cut edge, white balance,
   exposure, noise, a sensor that clips each channel before the colour matrix, tone curve.
3. **Rendering**: :func:`render_strip` draws the 15x480 strip a preprocessing step would cut out
   of a photo, directly and fast; :func:`render_photo` draws a whole camera frame with the band
   somewhere in it (tilted, curved, horizontal or vertical, either way round, sometimes with a
   zero-order spot or a second order), as a camera saves it.

Sources of the physical data (the tables are in ``spectral_nb/data``):

- Line wavelengths: NIST Atomic Spectra Database (via the export shipped in rascal 0.3.11,
  BSD-3), converted to air; lamp-like relative intensities of Hg and Ne from arc-lamp amplitudes
  measured by PypeIt (BSD-3) and NIST relative intensities for He; Balmer lines (air) from NIST.
- H2 Fulcher-alpha Q-branch lines: course text of Masaryk University (is.muni.cz), see docs/sources.md#hydrogen-h-and-h2.
- N2 second positive and N2+ first negative band peaks: moose-spectra 0.3.1 (MIT; Laux & Kruger
  1992, LIFBASE). N2 first positive band origins: computed from Huber & Herzberg constants
  (marked unverified in the table); band intensities are randomised (unverified).
- Lamp spectra: colour-science 0.4.7 (BSD-3) data: CIE 15:2018 illuminants (FL1-FL12, FL3.x,
  A, D series basis S0/S1/S2), CIE 2018 LED illuminants (LED-B1...), NIST CQS 7.4 and RIT light
  sources (PHOS-1..4, Triphosphor FL, Incandescent, LPS/HPS, ...): ``colour_science_spectra_5nm.csv``.
  The Hg lines that those 5-nm tables blur into bins were taken out and are added back sharp.
- LED shape: Ohno (2005), Opt. Eng. 44(11) 111302, ``(g + 2 g^5) / 3`` with a Gaussian ``g``.
- CIE daylight from CCT: CIE 15:2004 section 3.1 (x_D, y_D and the M1, M2 weights of S1, S2).
- Fraunhofer line positions: the standard table (e.g. Wikipedia "Fraunhofer lines"); their
  equivalent widths are rough values, randomised.
- Camera sensitivities: peaks, half-maximum ranges and red fall-off (IR-cut edge) of five
  cameras, read from Jiang et al. 2013 (WACV) curves and the NPL Nikon 5100 curve in
  colour-science: ``camera_ssf_summary.csv``. Each camera is randomised around them.

All randomness comes from a :class:`numpy.random.Generator` passed in, so the same seed gives
the same bytes; :func:`generate_strips` and :func:`generate_photo_folder` derive one generator
per item from ``(seed, label, index)``.
"""
from __future__ import annotations

from spectral_nb.synthesis.camera import (Camera, Instrument, render_profile, sample_camera,
                                          sample_instrument)
from spectral_nb.synthesis.folders import (BOOK_PHOTO_COUNTS, BOOK_PHOTO_SCALE, GENERATOR_VERSION, NNSIC_PHOTO_COUNTS,
                                           generate_photo_folder, generate_strips, read_labels, strip_from_band_box)
from spectral_nb.synthesis.plots import plot_camera, plot_photo, plot_spectrum
from spectral_nb.synthesis.render import (VISIBLE_LEVELS, Spectroscope, _paste_brighter, render_out_of_class_strip,
                                          render_photo, render_strip)
from spectral_nb.synthesis.spectra import (GRID_NM, OUT_OF_CLASS_KINDS, Spectrum, blackbody_spectrum,
                                           emission_lines, lamp_spectrum, sample_spectrum)

__all__ = [
    "Camera", "Instrument", "render_profile", "sample_camera", "sample_instrument", "GENERATOR_VERSION",
    "NNSIC_PHOTO_COUNTS", "BOOK_PHOTO_COUNTS", "BOOK_PHOTO_SCALE", "generate_photo_folder", "generate_strips",
    "read_labels", "strip_from_band_box",
    "plot_camera", "plot_photo", "plot_spectrum", "VISIBLE_LEVELS", "Spectroscope", "render_out_of_class_strip",
    "render_photo", "render_strip", "GRID_NM", "OUT_OF_CLASS_KINDS", "Spectrum", "blackbody_spectrum",
    "emission_lines", "lamp_spectrum", "sample_spectrum",
]
