"""spectral-nb: the support package of a notebook book on CNN classification of spectral images.

A *spectral image* here is a photo of a light source taken through a diffraction grating
(a Public Lab / Spectral Workbench style spectroscope). The book crops each photo to a
``(15, 480, 3) uint8`` RGB strip along the dispersion axis and classifies the strip into one
of seven lamp classes.

One module per stage of the pipeline; importing this package does not import TensorFlow, so
``import spectral_nb`` stays fast and TensorFlow's log settings can be made before it loads:

- :mod:`spectral_nb.book`          paths, quick/full mode, notebook setup, running the book
- :mod:`spectral_nb.synthesis`     physically grounded synthetic spectroscope photos and strips
- :mod:`spectral_nb.preprocessing` raw photo -> 15x480 strip, and the widget panel's pure functions
- :mod:`spectral_nb.records`       TFRecords (nnSIC schema), splits, tf.data pipelines, downloads
- :mod:`spectral_nb.model`         the 1-D CNNs (nnSIC M4 and the compact default) and training
- :mod:`spectral_nb.analysis`      metrics, baselines, failure analysis, classifying a photo
- :mod:`spectral_nb.calibration`   pixel -> nanometre calibration from a lamp's known lines
"""
from __future__ import annotations

from spectral_nb.book import setup_notebook

__version__ = "0.1.0"

#: Class index -> short name, as in nnSIC.
CLASS_NAMES: tuple[str, ...] = (
    "LED",
    "mercury",
    "continuum",
    "neon",
    "helium",
    "hydrogen",
    "nitrogen",
)
#: Class index -> what kinds of light source the class covers.
CLASS_SOURCES: tuple[str, ...] = (
    "white (phosphor), single-colour and RGB LEDs",
    "Hg lamps, CFLs, CCFLs, fluorescent tubes",
    "sun, sky, stars, incandescent and halogen lamps",
    "neon discharge lamps",
    "helium discharge tubes",
    "hydrogen discharge tubes",
    "nitrogen discharge tubes",
)
NUM_CLASSES: int = len(CLASS_NAMES)
#: Shape of one preprocessed strip: rows x columns (dispersion axis) x RGB, dtype uint8.
STRIP_SHAPE: tuple[int, int, int] = (15, 480, 3)


def check_strips(images, one_strip_ok: bool = False):
    """``images`` as an ``(N, 15, 480, 3) uint8`` array, or a ValueError that says what to do.

    One strip ``(15, 480, 3)`` becomes a batch of one when ``one_strip_ok``; otherwise it is refused
    (a batch was meant). The one check of the strips contract, for the model and the analysis.
    """
    import numpy as np

    images = np.asarray(images)
    if images.ndim == len(STRIP_SHAPE):
        if not one_strip_ok:
            raise ValueError(f"images has the shape of one strip {images.shape}; pass a batch, e.g. images[None]")
        images = images[None]
    if images.ndim != len(STRIP_SHAPE) + 1 or images.shape[1:] != STRIP_SHAPE:
        raise ValueError(f"images must have shape (N, {', '.join(map(str, STRIP_SHAPE))}), not {images.shape}; "
                         f"crop photos to strips with spectral_nb.preprocessing first")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255, as the strips are stored), not {images.dtype}; "
                         f"convert with np.clip(x, 0, 255).astype(np.uint8) if they are float pixel values")
    return images


def check_label(value, where: str = "", error: type[Exception] = ValueError) -> int:
    """``value`` as a class index 0..6, or ``error`` (``ValueError`` unless told) that starts with
    ``where`` and says what is wrong. The one check of a single label, for every reader and maker of
    strips: ints, NumPy integers and whole-number text (a label read from a CSV or a folder name)
    pass; booleans, class names and fractions do not."""
    import numpy as np

    prefix = f"{where}: " if where else ""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise error(f"{prefix}label {value!r} is not an integer class index 0..{NUM_CLASSES - 1} "
                    f"({', '.join(f'{i} {n}' for i, n in enumerate(CLASS_NAMES))})")
    if not 0 <= int(value) < NUM_CLASSES:
        raise error(f"{prefix}label {int(value)} is outside 0..{NUM_CLASSES - 1}")
    return int(value)


def check_labels(labels, name: str = "labels", n: int | None = None, num_classes: int = NUM_CLASSES,
                 allow_unknown: bool = False):
    """``labels`` as an ``(N,) int64`` array of class indices 0..``num_classes`` - 1 (and -1, "unknown",
    when ``allow_unknown``), one per strip when ``n`` is given; or a ValueError naming ``name``. The one
    check of an array of labels (whole-valued floats pass: a label column read with NumPy)."""
    import numpy as np

    y = np.asarray(labels)
    if y.ndim != 1 or (n is not None and y.shape != (n,)):
        wanted = f"one per strip, shape ({n},)" if n is not None else "a 1-D array of class indices"
        raise ValueError(f"{name} must be {wanted}, not shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if y.dtype == bool or not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"{name} must hold whole class indices, got {y.dtype} values such as {y[:3]}")
    y = y.astype(np.int64)
    bad = (y < (-1 if allow_unknown else 0)) | (y >= num_classes)
    if bad.any():
        raise ValueError(f"{name} holds {int(bad.sum())} label(s) outside 0..{num_classes - 1}"
                         f"{' or unknown (-1)' if allow_unknown else ''}, e.g. {int(y[bad][0])}")
    return y


__all__ = ["CLASS_NAMES", "CLASS_SOURCES", "NUM_CLASSES", "STRIP_SHAPE", "check_label", "check_labels", "check_strips",
           "setup_notebook", "__version__"]
