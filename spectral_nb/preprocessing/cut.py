"""Cutting the strip: straighten the band, cut it, resize it; :func:`preprocess_photo` chains every step."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from spectral_nb import STRIP_SHAPE
from spectral_nb.preprocessing.params import PhotoError, PreprocessParams
from spectral_nb.preprocessing.photo import _name, load_photo
from spectral_nb.preprocessing.band import Band, _sample_along_band, find_band
from spectral_nb.preprocessing.blue_side import find_blue_side
from spectral_nb.preprocessing.dispersion import find_dispersion
from spectral_nb.preprocessing.pixels import _brightest, shrink_photo
from spectral_nb.preprocessing.screens import _flat_runs, blank_frame, find_camera_view, is_screen_capture


# ------------------------------------------------------------------------------------ cutting
def cut_strip(image: np.ndarray, band: Band, flip: bool) -> np.ndarray:
    """Straighten and cut ``band`` from a horizontal-dispersion ``(H, W, 3) uint8`` image -> strip.

    The band's rows are sampled at 4x the strip's 15 rows (then averaged down) so a thin band is
    not aliased; columns are resized with Pillow's area-aware filter. Returns ``(15, 480, 3) uint8``.
    """
    from PIL import Image

    rows, cols, _ = STRIP_SHAPE
    x0, x1 = max(0, band.x0), min(image.shape[1], band.x1)
    if x1 - x0 < 2:
        raise PhotoError("the band is less than 2 pixels long")
    n = rows * 4
    offsets = (np.arange(n) + 0.5) / n * 2 * band.half_height - band.half_height
    crop = _sample_along_band(image, band, offsets, x0, x1)
    crop = crop.reshape(rows, 4, x1 - x0, 3).mean(axis=1)
    if flip:
        crop = crop[:, ::-1]
    crop = np.clip(crop + 0.5, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((cols, rows), Image.BOX))


def _to_horizontal(image: np.ndarray, dispersion: str) -> np.ndarray:
    return image.transpose(1, 0, 2) if dispersion == "vertical" else image


def preprocess_photo(photo, params: PreprocessParams | None = None, name: str | None = None) -> tuple[np.ndarray, dict]:
    """One raw photo (path, bytes or ``(H, W, 3)`` array) -> ``(strip (15, 480, 3) uint8, report)``.

    The report: ``photo`` (name), ``size`` (W, H), ``dispersion``, ``rotated`` (a vertical
    spectrum turned horizontal), ``flipped`` (red-left turned blue-left), ``box`` (x0, y0, x1, y1)
    in the photo's pixels with exclusive ends, ``tilt_deg``, ``curvature_px``, ``confidence``
    (the lowest of the three decisions', 0-1), ``confidences`` per decision, and ``camera_view``:
    in an app's screenshot (:func:`~spectral_nb.preprocessing.screens.is_screen_capture`) the box
    of the camera's picture the band was looked for in (:func:`find_camera_view`), else None;
    ``grey`` (:func:`is_grey`: no colour, so the blue side is unknown) and ``warnings``, sentences
    for the reader about what could not be decided or was done differently.
    Raises :class:`PhotoError` (a ValueError) naming the photo when it holds no usable spectrum.
    """
    params = params or PreprocessParams()
    name = name or _name(photo)
    image = load_photo(photo, params.max_pixels, name)
    size = (int(image.shape[1]), int(image.shape[0]))
    view = None
    if params.manual_box is None and is_screen_capture(image, params.min_contrast):
        # an app's screenshot: the spectrum is the camera's picture in it, never the plotted graph
        view = find_camera_view(image)
        if view is None or min(view[2] - view[0], view[3] - view[1]) < STRIP_SHAPE[0]:
            raise PhotoError(f"{name}: no spectrum found: this looks like an app's screenshot (drawn graphics "
                             f"everywhere), and no camera picture stands out in it; crop the photo to the "
                             f"camera's picture, or give a manual_box")
        image = image[view[1]:view[3], view[0]:view[2]]
        # the decisions read the picture without what the app draws over it (graticule lines, a
        # cursor, labels: flat runs); the strip is cut from the picture as it is
        drawn = _flat_runs(image)
        seen = np.where(drawn[:, :, None], np.uint8(0), image)
    else:
        seen = image
    seen = blank_frame(seen)  # a drawn border is no band
    small, factor = shrink_photo(seen, params.analysis_size)
    bright = _brightest(small)
    contrast = float(np.percentile(bright, 99.9) - np.median(bright))
    if contrast < params.min_contrast:
        what = "all dark" if np.percentile(bright, 99.9) < 0.1 else "nearly uniform"
        raise PhotoError(f"{name}: no spectrum found: the photo is {what} (its brightest part is only "
                         f"{contrast:.2f} above the background; min_contrast is {params.min_contrast})")

    if params.dispersion == "auto":
        dispersion, dispersion_conf = find_dispersion(small)
    else:
        dispersion, dispersion_conf = params.dispersion, 1.0
    image_h = _to_horizontal(image, dispersion)
    small_h = _to_horizontal(small, dispersion)

    if params.manual_box is not None:
        x0, y0, x1, y1 = params.manual_box
        if dispersion == "vertical":
            x0, y0, x1, y1 = y0, x0, y1, x1
        hh, ww = image_h.shape[:2]
        x0, x1 = max(0, min(x0, ww - 1)), max(1, min(x1, ww))
        y0, y1 = max(0, min(y0, hh - 1)), max(1, min(y1, hh))
        if x1 - x0 < 2 or y1 - y0 < 1:
            raise PhotoError(f"{name}: manual_box {params.manual_box} lies outside the {image.shape[1]} x {image.shape[0]} photo")
        band = Band(x0, x1, ((y0 + y1 - 1) / 2, 0.0, 0.0), (y1 - y0) / 2, 1.0, (x0 + x1 - 1) / 2, 1.0)
    else:
        band = find_band(small_h, params).scaled(factor)
        if band.x1 - band.x0 < 8 or band.confidence < 0.02:
            raise PhotoError(f"{name}: no spectrum found: no band stands out from the background "
                             f"(band confidence {band.confidence:.2f}); try a manual_box")

    strip = cut_strip(image_h, band, flip=False)
    warnings = []
    if view is not None:
        warnings.append(f"an app's screenshot: the band was looked for in the camera's picture at {view}")
    grey = is_grey(strip)
    if params.left_right == "auto":
        blue_left, side_conf = find_blue_side(strip)
        flip = not blue_left
        if grey:
            warnings.append("blue side unknown: the band has no colour (a monochrome camera?), so it is left as "
                            "the photo has it; check which end is blue, and set left_right if it is the right one")
    else:
        flip, side_conf = params.left_right == "flip", 1.0
    if flip:
        strip = np.ascontiguousarray(strip[:, ::-1])

    bx0, by0, bx1, by1 = band.box(image_h.shape[1], image_h.shape[0])
    box = (by0, bx0, by1, bx1) if dispersion == "vertical" else (bx0, by0, bx1, by1)
    if view is not None:  # back to the whole screenshot's pixels
        box = (box[0] + view[0], box[1] + view[1], box[2] + view[0], box[3] + view[1])
    confidences = {"dispersion": round(dispersion_conf, 3), "left_right": round(side_conf, 3),
                   "band": round(band.confidence, 3)}
    report = {
        "photo": name,
        "size": size,
        "camera_view": view,
        "dispersion": dispersion,
        "rotated": dispersion == "vertical",
        "flipped": bool(flip),
        "box": tuple(int(v) for v in box),
        "tilt_deg": round(float(np.degrees(np.arctan(band.coefficients[1] / band.x_half))), 2),
        "curvature_px": round(float(band.coefficients[2]), 2),
        "confidence": float(min(confidences.values())),
        "confidences": confidences,
        "grey": grey,
        "warnings": warnings,
    }
    return strip, report


#: A band whose columns never differ by more than this many grey levels between their brightest and
#: dimmest channel has no colour: a monochrome camera's frame (saved as grey or as RGB).
GREY_CHROMA_LEVELS = 6.0


def is_grey(strip: np.ndarray) -> bool:
    """True for a strip ``(rows, columns, 3)`` without colour (:data:`GREY_CHROMA_LEVELS`): its blue end
    cannot be read from its colours, and a colour model sees only its shape."""
    profile = np.asarray(strip, dtype=np.float32).mean(axis=0)
    return float(np.percentile(profile.max(axis=1) - profile.min(axis=1), 99)) <= GREY_CHROMA_LEVELS


def box_iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1), exclusive ends: 1 for the same box."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
