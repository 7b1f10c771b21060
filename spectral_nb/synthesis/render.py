"""Rendering: a preprocessed 15x480 strip (:func:`render_strip`) or a whole camera frame
(:func:`render_photo`) of a lamp, through a random instrument and camera."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from spectral_nb import STRIP_SHAPE, check_label
from spectral_nb.synthesis.camera import (Camera, Instrument, _background, _develop, _median_step, _tone,
                                          _Processing, _sample_processing, expose_profile, sample_camera,
                                          sample_instrument)
from spectral_nb.synthesis.spectra import (OUT_OF_CLASS_KINDS, Spectrum, _out_of_class_spectrum,
                                           sample_spectrum)

#: Share of strips framed as a preprocessing crop frames a photo: from where the camera starts
#: seeing light to where it stops (its UV and IR cuts), as nnSIC's trimming and chapter 02 do;
#: the rest are zoomed in on part of the spectrum, or out with dark UV or IR at one end.
CROPPED_TO_LIGHT_SHARE = 0.7


@dataclass(frozen=True)
class Spectroscope:
    """One particular spectroscope: a fixed instrument (window, dispersion, line sharpness) and
    camera, and its owner's exposure habit, instead of the random ones each strip gets by default.

    ``by_hand``: the brightest part of every photo lands at this many times full scale (low, high;
    log-uniform), or ``None`` for the book's random mix of auto and hand exposure. ``monochrome``: the
    sensor has one channel (no colour filter), saved as grey (R = G = B); give it a ``camera`` whose
    three channels are the sensor's one response.
    """

    name: str
    instrument: Instrument
    camera: Camera
    by_hand: tuple[float, float] | None = None
    monochrome: bool = False


def _strip_instrument(rng: np.random.Generator, n_px: int) -> Instrument:
    base = sample_instrument(rng, n_px)
    if rng.random() < CROPPED_TO_LIGHT_SHARE:
        return replace(base, nm_start=float(rng.uniform(360, 435)), nm_end=float(rng.uniform(635, 760)))
    return base


def _render_strip_from(spectrum: Spectrum, rng: np.random.Generator, truth: dict,
                       spectroscope: Spectroscope | None = None) -> tuple[np.ndarray, dict]:
    rows, cols, _ = STRIP_SHAPE
    if spectroscope is None:
        instrument, camera, by_hand = _strip_instrument(rng, cols), sample_camera(rng), None
    else:
        instrument, camera, by_hand = spectroscope.instrument, spectroscope.camera, spectroscope.by_hand
    proc = _sample_processing(rng)
    profile, nm, proc = expose_profile(spectrum, instrument, camera, proc, cols, rng, by_hand)
    # across the band: how the preprocessing crop sits on it (full, or narrower than the strip)
    r = np.arange(rows, dtype=np.float32) - (rows - 1) / 2
    if rng.random() < 0.75:
        centre, half = rng.uniform(-2, 2), rng.uniform(7, 25)
    else:
        centre, half = rng.uniform(-4, 4), rng.uniform(2, 7)
    soft = rng.uniform(0.5, 2.5)
    weight = 1 / (1 + np.exp(np.minimum((np.abs(r - centre) - half) / soft, 50)))
    weight *= 1 + rng.uniform(-0.25, 0.25) * r / rows * 2
    band = weight[:, None, None] * profile[None, :, :]
    if rng.random() < 0.5:  # lines slant across the strip (a slightly rotated band): first-order shift
        slope = rng.normal(0, 0.12)
        slope_px = np.empty_like(profile)
        slope_px[1:-1] = (profile[2:] - profile[:-2]) / 2
        slope_px[0], slope_px[-1] = slope_px[1], slope_px[-2]
        band -= (weight * slope * r)[:, None, None] * slope_px[None, :, :]
        np.maximum(band, 0, out=band)
    band += _background(rng, spectrum.faint).astype(np.float32)
    mono = spectroscope is not None and spectroscope.monochrome
    if mono:  # one sensor channel: its signal in all three, developed, and one of them saved as grey
        band = np.repeat(band.mean(axis=-1, keepdims=True), 3, axis=-1)
    strip = _develop(band, rng, proc)
    if mono:
        strip = np.repeat(strip[..., :1], 3, axis=-1)
    flipped = bool(rng.random() < 0.5)
    if flipped:
        strip = strip[::-1]
    truth.update(
        source=spectrum.source,
        nm_per_column=nm,
        nm_per_px=_median_step(nm),
        lsf_sigma_px=instrument.lsf_sigma_px,
        camera=camera.name,
        flipped_rows=flipped,
    )
    return np.ascontiguousarray(strip), truth


def render_strip(label: int, rng: np.random.Generator, spectroscope: Spectroscope | None = None
                 ) -> tuple[np.ndarray, dict]:
    """A preprocessed strip of a random lamp of class ``label``: ``(15, 480, 3) uint8``, blue on the left.

    Through a random instrument and camera, or through ``spectroscope`` (one fixed instrument and
    camera; the lamp, the processing and the noise still vary).
    Truth dict: ``label`` (int), ``source`` (str), ``nm_per_column`` ((480,) float, true nm of each
    column), ``nm_per_px``, ``lsf_sigma_px``, ``camera``, ``flipped_rows`` (upside down or not).
    """
    label = check_label(label)
    spectrum = sample_spectrum(label, rng)
    return _render_strip_from(spectrum, rng, {"label": label}, spectroscope)


def render_out_of_class_strip(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A strip of light from none of the seven classes: ``kind`` "sodium" or "laser".

    Same rendering as :func:`render_strip`; the truth's ``label`` is -1 and ``kind`` names the light.
    """
    if kind not in OUT_OF_CLASS_KINDS:
        raise ValueError(f"unknown out-of-class kind {kind!r}: use one of {', '.join(OUT_OF_CLASS_KINDS)}")
    spectrum = _out_of_class_spectrum(kind, rng)
    return _render_strip_from(spectrum, rng, {"label": -1, "kind": kind})


# ----------------------------------------------------------------------------------- photos
# (height, width) of camera frames and how often they occur (webcams dominate Spectral Workbench)
_FRAME_SIZES = ((480, 640), (600, 800), (720, 1280), (768, 1024), (360, 640), (900, 1200), (720, 960))
_FRAME_P = (0.4, 0.2, 0.12, 0.1, 0.08, 0.05, 0.05)


def render_photo(label: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A raw spectroscope photo of a random lamp of class ``label``: ``(H, W, 3) uint8`` RGB.

    Frames are 360-1280 px. Truth: ``label``, ``source``, ``band_box`` (x0, y0, x1, y1) pixels,
    x1/y1 exclusive, covering the visible band (along it: the columns lit at least
    ``VISIBLE_LEVELS`` grey levels above the dark frame, as a person would box it); ``window_box``
    the same across it, but along it the whole imaged wavelength window, dark (UV, IR) ends
    included; ``dispersion`` "horizontal" or "vertical"; ``blue_first``
    (blue at the left, or at the top for vertical); ``nm_at_band_ends`` and ``nm_at_window_ends``
    (nm at the first and last pixel of each box along the dispersion axis, in image order);
    ``nm_per_px`` (signed, image order).
    """
    label = check_label(label)
    spectrum = sample_spectrum(label, rng)
    return _render_photo_from(spectrum, rng, {"label": label})


VISIBLE_LEVELS = 8  # grey levels (of 255) above the dark frame that make a column of the band visibly lit


def _visible_columns(profile: np.ndarray, background: np.ndarray, proc: _Processing) -> tuple[int, int]:
    """First and last (exclusive) column of a band's profile that a viewer sees lit: the noiseless
    developed centre row, brightest channel, at least ``VISIBLE_LEVELS`` above the developed dark frame.
    All columns when none is (a band too dim to see anywhere)."""
    def developed(linear: np.ndarray) -> np.ndarray:
        return _tone(np.asarray(linear, np.float32), proc).max(axis=-1).astype(np.int16)

    lit = np.flatnonzero(developed(profile + background) >= int(developed(background[None])[0]) + VISIBLE_LEVELS)
    return (int(lit[0]), int(lit[-1]) + 1) if lit.size else (0, profile.shape[0])


def _paste_brighter(frame: np.ndarray, window: np.ndarray, y0: int, x0: int, light: np.ndarray,
                    background: np.ndarray) -> None:
    """Put ``window`` (developed ``light + background``) into ``frame`` at (y0, x0), keeping the
    brighter value, clipped to the frame, only where ``light`` (linear, ``(h, w)`` or ``(h, w, 3)``)
    lifts the developed dark frame by about a grey level or more: elsewhere the window is only dark
    frame, and the brighter of two noisy dark frames would show as a lit rectangle."""
    h, w = frame.shape[:2]
    ya, xa = max(0, y0), max(0, x0)
    yb, xb = min(h, y0 + window.shape[0]), min(w, x0 + window.shape[1])
    if ya < yb and xa < xb:
        # sqrt(b + s) - sqrt(b) >= 1/255 (the tone curve is about a square root)
        step = (1 / 255) ** 2 + 2 * np.sqrt(float(np.max(background))) / 255
        lit = (light if light.ndim == 2 else light.max(axis=-1))[ya - y0:yb - y0, xa - x0:xb - x0] >= step
        target = frame[ya:yb, xa:xb]
        target[lit] = np.maximum(target[lit], window[ya - y0:yb - y0, xa - x0:xb - x0][lit])


def _render_photo_from(spectrum: Spectrum, rng: np.random.Generator, truth: dict) -> tuple[np.ndarray, dict]:
    frame_h, frame_w = _FRAME_SIZES[int(rng.choice(len(_FRAME_SIZES), p=_FRAME_P))]
    vertical = bool(rng.random() < 0.3)
    blue_first = bool(rng.random() < 0.8)
    # canonical frame: dispersion along x, blue at the left; transposed/flipped at the end
    h, w = (frame_w, frame_h) if vertical else (frame_h, frame_w)
    length = int(w * rng.uniform(0.45, 0.9))
    height = int(np.clip(h * rng.uniform(0.04, 0.25), 12, None))
    x0 = int(rng.integers(0, w - length + 1))
    angle = np.deg2rad(rng.uniform(-3, 3))
    sag = rng.uniform(-0.04, 0.04) * length / 10  # smile: the band's centre line bends by `sag` px at its ends
    soft = rng.uniform(0.8, 3.0)
    span_y = abs(np.tan(angle)) * length / 2 + abs(sag) + height / 2 + soft + 2
    cy = rng.uniform(span_y, h - span_y) if h > 2 * span_y else h / 2
    base = sample_instrument(rng, length)
    instrument = replace(base, nm_start=float(rng.uniform(370, 410)), nm_end=float(rng.uniform(680, 760)))
    camera = sample_camera(rng)
    proc = _sample_processing(rng, noise_scale=2.0)
    profile, nm, proc = expose_profile(spectrum, instrument, camera, proc, length, rng)
    background = _background(rng, spectrum.faint).astype(np.float32)

    # the frame away from the band: a developed dark tile, repeated (cheap, and noise-like). The
    # photo is made in its final orientation; `frame` is a view of it with the dispersion along x
    # and blue at the left, so turning and flipping cost nothing at the end
    tile = _develop(np.broadcast_to(background, (128, 128, 3)), rng, proc)
    out_h, out_w = (w, h) if vertical else (h, w)
    photo = np.tile(tile, (-(-out_h // 128), -(-out_w // 128), 1))[:out_h, :out_w]
    frame = photo.transpose(1, 0, 2) if vertical else photo
    if not blue_first:
        frame = frame[:, ::-1]

    # the band and its halo, developed only where they are (float32 throughout)
    xc = np.arange(length, dtype=np.float32) - np.float32(length / 2)
    centre_y = np.float32(cy) + np.float32(np.tan(angle)) * xc + np.float32(sag) * (2 * xc / np.float32(length)) ** 2
    halo_reach = height * rng.uniform(0.2, 0.8)
    ry0 = int(max(0, np.floor(centre_y.min() - height / 2 - halo_reach)))
    ry1 = int(min(h, np.ceil(centre_y.max() + height / 2 + halo_reach)))
    ys = np.arange(ry0, ry1, dtype=np.float32)[:, None]
    dist = np.abs(ys - centre_y[None, :])
    across = 1 / (1 + np.exp(np.minimum((dist - height / 2) / soft, 50)))
    across *= 1 + rng.uniform(-0.2, 0.2) * (ys - centre_y[None, :]) / height
    halo = rng.uniform(0, 0.04) * np.exp(-dist / halo_reach)
    region = across[:, :, None] * profile[None] + halo[:, :, None] * profile.mean(axis=0) + background
    frame[ry0:ry1, x0:x0 + length] = _develop(region, rng, proc)
    extras = []
    if rng.random() < 0.15:  # zero-order image of the slit: a white spot beyond the blue end
        zx = x0 - length * rng.uniform(0.15, 0.6)
        zy = cy + np.tan(angle) * (zx - x0 - length / 2)
        r = rng.uniform(3, 10)
        half = int(4 * r)
        if -half <= zx < w + half:
            g = np.arange(-half, half + 1, dtype=np.float32)
            spot = rng.uniform(0.5, 3) * np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2 * r * r))
            window = _develop(spot[:, :, None] * np.ones(3, np.float32) + background, rng, proc)
            _paste_brighter(frame, window, int(zy) - half, int(zx) - half, spot, background)
            extras.append("zero order")
    if rng.random() < 0.1:  # second order: a dim copy of the spectrum at twice the dispersion
        span = instrument.nm_end - instrument.nm_start
        start = x0 + int(length * instrument.nm_start / span)  # where 2 x nm_start falls in first order
        if start < w:
            second = np.repeat(profile, 2, axis=0)[: w - start] * rng.uniform(0.03, 0.12)
            edge = across[:, -1:]
            light = edge[:, :, None] * second[None]
            window = _develop(light + background, rng, proc)
            _paste_brighter(frame, window, ry0, start, light, background)
            extras.append("second order")

    band_y0 = int(np.floor(max(0, centre_y.min() - height / 2 - soft)))
    band_y1 = int(np.ceil(min(h, centre_y.max() + height / 2 + soft + 1)))
    lit0, lit1 = _visible_columns(profile, background, proc)

    def in_photo(a: int, b: int) -> tuple[int, ...]:  # columns a..b of the canonical frame -> photo box
        box = [a, band_y0, b, band_y1] if blue_first else [w - b, band_y0, w - a, band_y1]
        return tuple(int(v) for v in ((box[1], box[0], box[3], box[2]) if vertical else box))

    window_ends = (float(nm[0]), float(nm[-1]))
    ends = (float(nm[lit0]), float(nm[lit1 - 1]))
    if not blue_first:
        window_ends, ends = window_ends[::-1], ends[::-1]
    nm_per_px = (window_ends[1] - window_ends[0]) / (length - 1)
    truth.update(
        source=spectrum.source,
        band_box=in_photo(x0 + lit0, x0 + lit1),
        window_box=in_photo(x0, x0 + length),
        dispersion="vertical" if vertical else "horizontal",
        blue_first=blue_first,
        nm_at_band_ends=ends,
        nm_at_window_ends=window_ends,
        nm_per_px=float(nm_per_px),
        camera=camera.name,
        extras=tuple(extras),
    )
    return np.ascontiguousarray(photo), truth


