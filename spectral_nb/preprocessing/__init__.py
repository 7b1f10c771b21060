"""Raw spectroscope photo -> the ``(15, 480, 3) uint8`` strip the model reads (chapter 02).

The steps, each a pure function whose parameters a reader can override through
:class:`PreprocessParams`:

1. :func:`load_photo`: any image Pillow reads (path, bytes or array) -> ``(H, W, 3) uint8`` RGB,
   with EXIF rotation applied, RGBA/palette/grey/16-bit converted, and a guard against huge files.
2. :func:`find_dispersion`: is the spectrum horizontal or vertical? Decided from the content (the
   colour changes along the dispersion axis and stays constant across it), not the aspect ratio.
3. :func:`find_band`: the band's centre line (tilt and smile fitted per column block, so a tilted or
   curved band is followed), its height, and its extent along the dispersion axis.
4. :func:`find_blue_side`: blue-left or red-left, from how the colour runs along the band (or, for a
   band of one colour, from which end falls steeply).
5. :func:`cut_strip`: straighten the band, cut it, flip it blue-left, resize to 15 x 480.

:func:`preprocess_photo` chains them and returns ``(strip, report)``; :func:`preprocess_folder`
runs it over a labelled folder (skipping bad files with a reason, resumable, never touching the
photos). :func:`crop_preview` draws what the widget panel of :func:`make_panel` shows;
:func:`plot_blue_side` what the blue-side decision reads.

Modules, one per seam: ``params`` (:class:`PreprocessParams`, saving them, :class:`PhotoError`),
``photo`` (loading), the decisions (``pixels``, the shrunken photo they read; ``dispersion``; ``band``,
its rows, tilt and extent; ``blue_side``; ``screens``, app screenshots and drawn frames; their tuned
thresholds in :class:`DispersionPriors`, :class:`BandPriors` and :class:`OuterOrderPriors`), ``cut`` (the strip, and
:func:`preprocess_photo`), ``folders`` (:func:`preprocess_folder`), ``panel`` (figures and the
widget panel). Everything a chapter uses is importable from ``spectral_nb.preprocessing``.

nnSIC (2019) rotated portrait frames by their aspect ratio, fitted a Gaussian to the row profile and
trimmed the ends with colour-slope rules; it left blue-left or red-left to chance. Here every
decision comes from the image and is reported with a confidence.
"""

from __future__ import annotations

from spectral_nb.preprocessing.params import (ALGORITHM_VERSION, IMAGE_SUFFIXES, MANIFEST_COLUMNS, PhotoError,
                                              PreprocessParams, load_params, params_digest, save_params)
from spectral_nb.preprocessing.photo import load_photo
from spectral_nb.preprocessing.pixels import shrink_photo
from spectral_nb.preprocessing.dispersion import DispersionPriors, colour_gradients, find_dispersion
from spectral_nb.preprocessing.band import Band, BandPriors, OuterOrderPriors, find_band
from spectral_nb.preprocessing.blue_side import (ONE_COLOUR_CONFIDENCE, ONE_COLOUR_HUES, ONE_COLOUR_SPREAD, PINK_HUES,
                                                 find_blue_side)
from spectral_nb.preprocessing.screens import (FRAME_LINES, SCREEN_CAPTURE_SHARE, blank_frame, find_camera_view,
                                               is_screen_capture, screen_capture_share)
from spectral_nb.preprocessing.cut import GREY_CHROMA_LEVELS, box_iou, cut_strip, is_grey, preprocess_photo
from spectral_nb.preprocessing.folders import FolderResult, preprocess_folder, read_labelled_folder
from spectral_nb.preprocessing.panel import (LEFT_RIGHT_LABELS, Panel, crop_preview, make_panel, orientation_note,
                                             plot_blue_side)

__all__ = [
    "ALGORITHM_VERSION", "IMAGE_SUFFIXES", "MANIFEST_COLUMNS", "PhotoError", "PreprocessParams", "load_params",
    "params_digest", "save_params", "load_photo", "ONE_COLOUR_CONFIDENCE", "ONE_COLOUR_SPREAD", "ONE_COLOUR_HUES", "PINK_HUES", "Band", "find_band",
    "BandPriors", "OuterOrderPriors", "DispersionPriors",
    "find_blue_side", "colour_gradients", "find_dispersion", "shrink_photo", "SCREEN_CAPTURE_SHARE", "find_camera_view", "is_screen_capture", "FRAME_LINES", "blank_frame",
    "screen_capture_share", "GREY_CHROMA_LEVELS", "box_iou", "cut_strip", "is_grey", "preprocess_photo", "FolderResult",
    "preprocess_folder", "read_labelled_folder", "LEFT_RIGHT_LABELS", "Panel", "crop_preview", "make_panel",
    "orientation_note", "plot_blue_side",
]
