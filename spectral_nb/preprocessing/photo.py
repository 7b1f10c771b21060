"""Photo input: one loader for paths, image bytes and arrays, with the same guards for each."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from spectral_nb import STRIP_SHAPE
from spectral_nb.preprocessing.params import PhotoError, PreprocessParams


# ------------------------------------------------------------------------------------ loading
def _name(photo) -> str:
    return str(photo) if isinstance(photo, (str, Path)) else "photo given as " + type(photo).__name__


def load_photo(photo, max_pixels: int = PreprocessParams.max_pixels, name: str | None = None) -> np.ndarray:
    """A path, image bytes or an array -> ``(H, W, 3) uint8`` RGB; raises :class:`PhotoError`.

    EXIF orientation is applied; RGBA is composited on black, palette and grey become RGB, 16-bit
    and float data are scaled to 8 bits. Photos under 15 pixels on a side, or above
    ``max_pixels``, are refused.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = name or _name(photo)
    if isinstance(photo, np.ndarray):
        array = photo
    else:
        if isinstance(photo, (str, Path)):
            path = Path(photo)
            if not path.is_file():
                raise PhotoError(f"{name}: no such file")
            if path.stat().st_size == 0:
                raise PhotoError(f"{name}: the file is empty (0 bytes); copy the photo again")
            source = path
        elif isinstance(photo, (bytes, bytearray, memoryview)):
            if len(photo) == 0:
                raise PhotoError(f"{name}: no bytes")
            source = io.BytesIO(bytes(photo))
        else:
            raise PhotoError(f"{name}: expected a path, image bytes or a numpy array")
        try:
            with Image.open(source) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise PhotoError(f"{name}: {w} x {h} pixels ({w * h / 1e6:.0f} MP) is larger than the "
                                     f"{max_pixels / 1e6:.0f} MP limit; shrink the photo, or raise max_pixels")
                img = ImageOps.exif_transpose(img)
                array = _pil_to_rgb(img)
        except PhotoError:
            raise
        except Image.DecompressionBombError:
            raise PhotoError(f"{name}: far too many pixels (Pillow refuses it as a decompression bomb)") from None
        except UnidentifiedImageError:
            raise PhotoError(f"{name}: not an image this book can read (JPEG or PNG expected)") from None
        except (OSError, SyntaxError, ValueError) as error:  # truncated or damaged: Pillow's reason, no object reprs
            reason = str(error).split(" <")[0]
            raise PhotoError(f"{name}: a damaged image ({reason}); save it again as JPEG or PNG") from None
    return _as_rgb_array(array, name, max_pixels)


def _pil_to_rgb(img) -> np.ndarray:
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        data = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or data.max() > 255 else 255.0
        grey = np.clip(data / top * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode == "F":
        data = np.asarray(img, dtype=np.float64)
        top = data.max() if data.max() > 1 else 1.0
        grey = np.clip(data / top * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        black = Image.new("RGBA", img.size, (0, 0, 0, 255))  # transparent parts are no light
        black.alpha_composite(img.convert("RGBA"))
        img = black
    return np.asarray(img.convert("RGB"))


def _as_rgb_array(array: np.ndarray, name: str, max_pixels: int) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise PhotoError(f"{name}: an array of shape {array.shape} is not an image (expected (H, W, 3))")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:  # composite on black: transparent parts are no light
        alpha = array[:, :, 3:4].astype(np.float32) / (255.0 if array.dtype == np.uint8 else float(array[:, :, 3].max() or 1))
        array = (array[:, :, :3].astype(np.float32) * alpha).astype(array.dtype)
    h, w = array.shape[:2]
    if h < STRIP_SHAPE[0] or w < STRIP_SHAPE[0]:
        raise PhotoError(f"{name}: {w} x {h} pixels is too small to hold a spectrum (at least 15 on each side)")
    if h * w > max_pixels:
        raise PhotoError(f"{name}: {w} x {h} pixels is larger than the {max_pixels / 1e6:.0f} MP limit; shrink it")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.uint16:
        return (array.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        top = 1.0 if np.nanmax(array) <= 1.0 else 255.0
        return (np.clip(np.nan_to_num(array) / top, 0, 1) * 255 + 0.5).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        return np.clip(array, 0, 255).astype(np.uint8)
    raise PhotoError(f"{name}: pixels of type {array.dtype} are not an image")
