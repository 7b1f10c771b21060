"""Pixel -> nanometre calibration of a strip from its lamp's known emission lines.

nnSIC recognised the lamp; this module does the second half of automatic calibration: find the
peaks of a strip's profile, match them to the lines the recognised lamp is known to emit, and fit
the map from column (pixel) to wavelength (nm), linear and quadratic, with residuals.

The matching is robust to missing peaks (a line too faint or out of the strip), extra peaks
(phosphor bands, molecular bands, reflections) and either orientation (blue on the left or on
the right): every pair of peaks is tried against every pair of reference lines (a RANSAC that
enumerates all hypotheses, as there are at most a few hundred thousand), each hypothesis is a
monotonic linear map inside physical priors (dispersion in nm/px, a span that stays in the
visible), and the hypothesis whose predicted lines agree with the most, and strongest, peaks
wins. It is then refined by least squares, line blends (577/579 nm of mercury at a camera's
resolution) being replaced by their intensity-weighted centre. When too few lines match, or the
residuals are too large, the result says so (``ok=False`` and a ``reason``) instead of returning
a map that looks precise and is wrong.

Shapes and units: strips are ``(15, 480, 3) uint8``; profiles ``(480,)`` float; positions are in
pixels (columns, 0 = left edge of the strip, sub-pixel floats); wavelengths in nanometres (air).

One subpackage, one module per seam, every name importable from ``spectral_nb.calibration``:
:mod:`~spectral_nb.calibration.lamps` (which lamp, its reference lines), :mod:`~spectral_nb.calibration.peaks`
(profile, peaks, their colours), :mod:`~spectral_nb.calibration.matching` (peaks to lines),
:mod:`~spectral_nb.calibration.fit` (the map, and when to refuse one) and
:mod:`~spectral_nb.calibration.spectra` (using a calibration, and its figures).
"""
from spectral_nb.calibration.fit import CalibrationResult, calibrate_profile, calibrate_strip, refine_fit
from spectral_nb.calibration.lamps import (FEATURE_TOLERANCE_FACTOR, LAMP_BY_CLASS, REFUSAL_BY_CLASS, CalibrationError,
                                           reference_lines, resolve_lamp)
from spectral_nb.calibration.matching import LineMatch, MatchPriors, match_lines, score_maps
from spectral_nb.calibration.peaks import (COLOUR_WINDOWS_NM, colour_windows, find_profile_peaks, peak_colours,
                                           grey_profile)
from spectral_nb.calibration.spectra import (calibration_error_nm, plot_calibration, plot_spectrum_nm, resample_strip,
                                             spectrum_peaks, strip_spectrum)

__all__ = [
    "CalibrationResult", "calibrate_profile", "calibrate_strip", "refine_fit",
    "FEATURE_TOLERANCE_FACTOR", "LAMP_BY_CLASS", "REFUSAL_BY_CLASS", "CalibrationError", "reference_lines", "resolve_lamp",
    "LineMatch", "MatchPriors", "match_lines", "score_maps",
    "COLOUR_WINDOWS_NM", "colour_windows", "find_profile_peaks", "peak_colours", "grey_profile",
    "calibration_error_nm", "plot_calibration", "plot_spectrum_nm", "resample_strip", "spectrum_peaks", "strip_spectrum",
]
