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

__all__ = ["CLASS_NAMES", "CLASS_SOURCES", "NUM_CLASSES", "STRIP_SHAPE", "setup_notebook", "__version__"]
