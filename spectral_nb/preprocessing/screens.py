"""App screenshots and drawn frames: where the camera's picture sits in a spectrometer app's window
(:func:`find_camera_view`), and a drawn border made dark (:func:`blank_frame`)."""
from __future__ import annotations

import numpy as np

from spectral_nb.preprocessing.pixels import _brightest


#: A photo is a screen capture (a spectrometer app's window: PySpectrometer, Theremino, ...) when at
#: least this share of its pixels are lit and lie in flat runs (:func:`_flat_runs`): drawn graphics
#: (a white plot area, grey window chrome, filled curves) repeat one exact colour over many pixels,
#: a camera's pixels never do (noise). Chosen on the real photos of raw/ and raw_more/: app
#: screenshots 0.52-0.65, camera photos at most 0.08 (an annotated one), synthetic photos at most 0.05.
SCREEN_CAPTURE_SHARE = 0.25
#: Pixels in a run of at least this many identical neighbours along a row count as drawn (flat).
FLAT_RUN = 5


def _flat_runs(image: np.ndarray, length: int = FLAT_RUN) -> np.ndarray:
    """``bool (H, W)``: pixels of a ``(H, W, 3)`` image in a horizontal run of ``length`` or more
    pixels of exactly the same colour."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    same = np.zeros(image.shape[:2], np.float32)
    same[:, :-1] = (image[:, 1:] == image[:, :-1]).all(axis=-1)
    # a run of `length` equal pixels holds `length - 1` equalities in a row; mark every pixel of it
    starts = uniform_filter1d(same, length - 1, axis=1, origin=-((length - 1) // 2), mode="constant") > 1 - 1e-3
    return maximum_filter1d(starts.view(np.uint8), length, axis=1, origin=(length - 1) // 2,
                            mode="constant").astype(bool)


def screen_capture_share(image: np.ndarray) -> float:
    """Share of a ``(H, W, 3) uint8`` photo's pixels that are lit (brightest channel above 60) and
    flat (:func:`_flat_runs`), on every fourth row: :data:`SCREEN_CAPTURE_SHARE` or more is an app's
    screenshot."""
    rows = image[::4]
    return float(np.mean(_flat_runs(rows) & (_brightest(rows) > 60)))


def is_screen_capture(image: np.ndarray, min_contrast: float) -> bool:
    """Is a ``(H, W, 3) uint8`` photo an app's screenshot (:func:`screen_capture_share` at least
    :data:`SCREEN_CAPTURE_SHARE`)? A uniform picture (brightness spread under ``min_contrast`` of
    full scale) is not; a photo with fewer lit pixels than that share cannot be, so the flat runs
    are only looked for when enough is lit (camera photos are mostly dark: no cost for them)."""
    rows = image[::4, ::4]
    bright = _brightest(rows)
    low, high = np.percentile(bright, [0.1, 99.9])
    if high - low <= 255 * min_contrast or np.mean(bright > 60) < SCREEN_CAPTURE_SHARE:
        return False
    return screen_capture_share(image) >= SCREEN_CAPTURE_SHARE


def find_camera_view(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The camera's picture inside an app's screenshot: box ``(x0, y0, x1, y1)`` (exclusive ends), or None.

    The camera's pixels are the ones that are not flat (:func:`_flat_runs`); thin strokes (text,
    plotted curves, grid lines) are opened away, and of the solid regions left the one that is
    large and fills its bounding box wins (a filled plot under a curve fills only part of its box).
    Regions beside it in the same rows, or above and below it in the same columns (80 % of the
    larger span shared), join it: lines
    the app draws across the picture (a graticule, a cursor) split it, and so does a saturated
    line whose flat core is cut out with the graphics.
    """
    from scipy.ndimage import binary_closing, binary_opening, find_objects, label

    h, w = image.shape[:2]
    k = max(3, round(min(h, w) / 100))
    solid = binary_opening(~_flat_runs(image), structure=np.ones((k, k), bool))
    solid = binary_closing(solid, structure=np.ones((k, k), bool))
    labels, n = label(solid)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    boxes = [(o[1].start, o[0].start, o[1].stop, o[0].stop) for o in find_objects(labels)]
    fill = [sizes[i] / ((b[2] - b[0]) * (b[3] - b[1])) for i, b in enumerate(boxes)]
    best = int(np.argmax([sizes[i] * fill[i] ** 2 for i in range(n)]))
    x0, y0, x1, y1 = boxes[best]
    gap = 3 * k
    grown = True
    while grown:
        grown = False
        for i, (a0, b0, a1, b1) in enumerate(boxes):
            if fill[i] < 0.5 or (a0 >= x0 and b0 >= y0 and a1 <= x1 and b1 <= y1):
                continue
            # the same rows (or columns) as the view, both ways: a title or a caption beside it is not
            same_rows = min(b1, y1) - max(b0, y0) >= 0.8 * max(b1 - b0, y1 - y0)
            same_cols = min(a1, x1) - max(a0, x0) >= 0.8 * max(a1 - a0, x1 - x0)
            near_x = a0 <= x1 + gap and a1 >= x0 - gap
            near_y = b0 <= y1 + gap and b1 >= y0 - gap
            if (same_rows and near_x) or (same_cols and near_y):
                x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                grown = True
    return int(x0), int(y0), int(x1), int(y1)


#: Edge lines of a photo at most this many pixels in from each side can be a drawn frame (a window
#: border or a rectangle a viewer draws around a capture) rather than light.
FRAME_LINES = 4


def blank_frame(image: np.ndarray) -> np.ndarray:
    """``image`` with the drawn frame around it (if any) made as dark as the photo's inside, for the decisions.

    A frame line is an outermost row or column (up to :data:`FRAME_LINES` in) of almost one level
    along its whole length (standard deviation under 15 grey levels) that differs from the line
    just inside the frame by more than 40 levels: no spectrum is that even along an edge, so such a
    line is a border, and a bright one would otherwise be taken for the band.
    """
    out = None
    h, w = image.shape[:2]
    for axis in (0, 1):
        n = h if axis == 0 else w
        for side in (1, -1):
            inner = np.take(image, FRAME_LINES if side == 1 else n - 1 - FRAME_LINES, axis=axis).astype(np.float32)
            for k in range(min(FRAME_LINES, n // 4)):
                index = k if side == 1 else n - 1 - k
                line = np.take(image, index, axis=axis).astype(np.float32)
                if line.std() >= 15 or abs(line.mean() - inner.mean()) <= 40:
                    continue
                if out is None:
                    out = image.copy()
                fill = np.median(inner, axis=0).astype(image.dtype)
                if axis == 0:
                    out[index] = fill
                else:
                    out[:, index] = fill
    return image if out is None else out
