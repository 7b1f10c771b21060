"""What chapter 02 can tune (:class:`PreprocessParams`), saved and read back; the error a photo raises."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from spectral_nb import files


#: Bumped whenever the algorithm changes, so that resumed batches do not reuse strips cut by an older one.
ALGORITHM_VERSION = "9"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MANIFEST_COLUMNS = ("strip", "label", "photo", "dispersion", "flipped", "confidence")


class PhotoError(ValueError):
    """A photo this module cannot turn into a strip; the message names the file and says why."""


@dataclass(frozen=True)
class PreprocessParams:
    """Every knob of the pipeline; the defaults work on the synthetic photos and typical real ones.

    dispersion: "auto", "horizontal" or "vertical".
    left_right: which end of the strip goes left (the model expects blue there): "auto" (find the
        blue end, and mirror a red-left strip), "as_is" (the strip's ends where the photo has them),
        or "flip" (mirror left-right); the panel labels them :data:`LEFT_RIGHT_LABELS`. (Files saved
        before it was renamed call it ``order``; :func:`load_params` reads them.)
    band_threshold: the band's rows are those brighter than this fraction of its peak above the
        background (0-1; lower takes more of the band's soft edges).
    band_margin: extra rows above and below the band, as a fraction of its height.
    follow_tilt: fit the band's centre line per column block (tilt and curvature) and straighten it.
    extent_threshold: columns count as spectrum where the band is brighter than this fraction of
        its peak above the background (0-1).
    extent_margin: extra columns at both ends, as a fraction of the spectrum's length.
    manual_box: (x0, y0, x1, y1) in the photo's pixels, exclusive ends: skip band finding and cut
        this box (dispersion and left_right still apply).
    analysis_size: the photo is shrunk to at most this many pixels on its long side for the
        decisions (speed); the strip itself is cut from the full-resolution photo.
    max_pixels: photos larger than this are refused (a guard against decompression bombs).
    min_contrast: a photo whose brightest part is less than this much (0-1) above its background
        holds no spectrum.
    """

    dispersion: str = "auto"
    left_right: str = "auto"
    band_threshold: float = 0.2
    band_margin: float = 0.0
    follow_tilt: bool = True
    extent_threshold: float = 0.04
    extent_margin: float = 0.01
    manual_box: tuple[int, int, int, int] | None = None
    analysis_size: int = 320
    max_pixels: int = 60_000_000
    min_contrast: float = 0.06

    def __post_init__(self):
        if self.dispersion not in ("auto", "horizontal", "vertical"):
            raise ValueError(f"dispersion must be 'auto', 'horizontal' or 'vertical', got {self.dispersion!r}")
        if self.left_right not in ("auto", "as_is", "flip"):
            raise ValueError(f"left_right must be 'auto', 'as_is' or 'flip', got {self.left_right!r}")
        for name in ("band_threshold", "extent_threshold"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must be between 0 and 1 (a fraction of the peak), got {value}")
        for name in ("band_margin", "extent_margin"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.manual_box is not None:
            box = tuple(int(v) for v in self.manual_box)
            if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError(f"manual_box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {self.manual_box}")
            object.__setattr__(self, "manual_box", box)
        if self.analysis_size < 64:
            raise ValueError(f"analysis_size must be at least 64 pixels, got {self.analysis_size}")


# ------------------------------------------------------------------------------------ parameters on disk
def save_params(params: PreprocessParams, path: str | Path) -> Path:
    """Write ``params`` as JSON (atomically); chapter 03 and :func:`load_params` read it back."""
    return files.write_json(path, {"spectral_nb.preprocessing": asdict(params)})


def load_params(path: str | Path) -> PreprocessParams:
    """Parameters saved by :func:`save_params`; a clear error for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: save parameters in chapter 02 (save_params), or use the defaults")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["spectral_nb.preprocessing"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a preprocessing-parameters file written by save_params ({error})") from None
    if isinstance(data, dict) and "order" in data and "left_right" not in data:  # the name files saved before the rename use
        data = {("left_right" if key == "order" else key): value for key, value in data.items()}
    known = {f.name for f in fields(PreprocessParams)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{path}: unknown parameter(s) {sorted(unknown)}; known: {sorted(known)}")
    if data.get("manual_box") is not None:
        data["manual_box"] = tuple(data["manual_box"])
    return PreprocessParams(**data)


def params_digest(params: PreprocessParams) -> str:
    """A short fingerprint of the parameters and the algorithm's version (which strips were cut how)."""
    recipe = {"params": asdict(params), "algorithm": ALGORITHM_VERSION}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
