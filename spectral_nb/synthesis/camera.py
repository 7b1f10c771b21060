"""The instrument and the camera: where wavelengths land, how sharp lines are, and how a camera
turns light into the uint8 pixels it saves (sensitivities, white balance, exposure, noise,
sensor clipping, colour matrix, tone curve).

One pipeline for every renderer: :func:`expose_profile` (spectrum -> exposed linear RGB along
the band) and :func:`_develop` (linear RGB -> saved uint8) are what both ``render_strip`` and
``render_photo`` call, so a change to the camera changes strips and photos alike.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

import numpy as np

from spectral_nb import STRIP_SHAPE
from spectral_nb.synthesis.spectra import DATA_DIR, GRID_NM, Spectrum, _planck

# Wavelengths (nm) on which camera sensitivities are tabulated.
_RESPONSE_NM = np.arange(300.0, 901.0, 1.0)
# Share of cameras with a weak IR-cut filter (webcams and phone camera modules, which dominate
# Spectral Workbench uploads): their red cut sits up to 30 nm further out and NIR leaks into G and B.
WEAK_IR_CUT_SHARE = 0.6
# Camera-independent optical limits: glass and coatings cut the UV (nm of the 50 % point).
_UV_CUT_NM = (380.0, 410.0)


@lru_cache(maxsize=None)
def _cameras() -> tuple[dict, ...]:
    """Measured camera sensitivity summaries (peak, half-max range per channel, red fall-off)."""
    cams = []
    with open(DATA_DIR / "camera_ssf_summary.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            cam = {"name": row["camera"], "r50": float(row["R_50pct_nm"]), "r10": float(row["R_10pct_nm"])}
            for ch in "RGB":
                lo, hi = (float(v) for v in row[f"{ch}_halfmax"].split("-"))
                cam[ch] = (float(row[f"{ch}_peak"]), lo, hi)
            cams.append(cam)
    return tuple(cams)


# ----------------------------------------------------------------------------------- instrument
@dataclass(frozen=True)
class Camera:
    """RGB sensitivities (relative, per unit power) and the camera's processing settings."""

    name: str
    peaks: tuple[float, float, float]
    left_fwhm: tuple[float, float, float]
    right_fwhm: tuple[float, float, float]
    ir_cut_50: float
    ir_cut_width: float
    uv_cut_50: float
    red_blue_lobe: float
    gains: tuple[float, float, float]
    #: Near-infrared leak: the R, G and B dyes of a Bayer filter all transmit again beyond about
    #: 650-700 nm, so a camera with a weak IR-cut filter (webcams, phone modules) sees deep red and
    #: NIR light in every channel: Halpha and neon's red lines come out pink or white, not red.
    #: Height of the leak relative to the red peak (0: none) and the nm where it reaches half.
    nir_leak: float = 0.0
    nir_leak_nm: float = 650.0

    def response(self, nm: np.ndarray) -> np.ndarray:
        """Sensitivity ``(len(nm), 3)`` RGB at wavelengths ``nm`` (nm), never negative."""
        nm = np.asarray(nm, float)
        table = self._table
        # linear interpolation on a 1-nm table: exact enough (the curves are 30-100 nm wide) and fast
        pos = np.minimum(np.maximum(nm - _RESPONSE_NM[0], 0), _RESPONSE_NM.size - 1.001)  # np.clip, without its overhead
        i0 = pos.astype(np.int64)
        f = (pos - i0)[:, None]
        return table[i0] * (1 - f) + table[i0 + 1] * f

    @cached_property
    def _table(self) -> np.ndarray:
        """The sensitivities on :data:`_RESPONSE_NM` ``(601, 3)``, computed once per camera."""
        nm = _RESPONSE_NM[:, None].astype(np.float32)
        peaks = np.array(self.peaks, np.float32)
        fwhm = np.where(nm < peaks, np.array(self.left_fwhm, np.float32), np.array(self.right_fwhm, np.float32))
        curves = np.exp(np.float32(-2.7726) * ((nm - peaks) / fwhm) ** 2)
        curves[:, 0] += self.red_blue_lobe * np.exp(np.float32(-2.7726) * ((nm[:, 0] - 440) / 40) ** 2)
        cut = 1 / (1 + np.exp(np.minimum((nm - self.ir_cut_50) / self.ir_cut_width, 60)))
        if self.nir_leak > 0:  # the same in all three channels (a little more in red), before the IR cut
            ramp = np.float32(self.nir_leak) / (1 + np.exp(-(nm[:, 0] - np.float32(self.nir_leak_nm)) / 20))
            curves += ramp[:, None] * np.array([1.2, 1.0, 1.0], np.float32)
        cut = cut / (1 + np.exp(np.minimum((self.uv_cut_50 - nm) / 6, 60)))
        return (curves * cut * np.array(self.gains, np.float32)).astype(float)


#: How far a camera's channel peaks lie from the measured camera it is drawn around (normal, nm), and
#: the factor on each half-width (uniform): the spread of 32 measured cameras and of webcams, wider
#: than the five tabulated ones (docs/sources.md#3-camera-model).
CAMERA_PEAK_SIGMA_NM = 16.0
CAMERA_WIDTH_RANGE: tuple[float, float] = (0.7, 1.5)


def sample_camera(rng: np.random.Generator) -> Camera:
    """A camera randomised around one of the measured ones (peaks :data:`CAMERA_PEAK_SIGMA_NM`, widths
    :data:`CAMERA_WIDTH_RANGE`, IR-cut edge; docs/sources.md#3-camera-model)."""
    cams = _cameras()
    base = cams[int(rng.integers(len(cams)))]
    peaks, left, right = [], [], []
    for ch in "RGB":
        peak, lo, hi = base[ch]
        shift = rng.normal(0, CAMERA_PEAK_SIGMA_NM)
        peaks.append(peak + shift)
        left.append(2 * (peak - lo) * rng.uniform(*CAMERA_WIDTH_RANGE))
        right.append(2 * (hi - peak) * rng.uniform(*CAMERA_WIDTH_RANGE))
    r50 = base["r50"] + rng.normal(0, 8)
    width = max(2.0, (base["r10"] - base["r50"]) / np.log(9) * rng.uniform(0.8, 1.3))
    # the red channel's own fall-off is the IR cut: let the red Gaussian extend past it
    right[0] = max(right[0], 120.0)
    uv_cut, lobe = float(rng.uniform(*_UV_CUT_NM)), float(rng.uniform(0, 0.07))
    gains = tuple(float(g) for g in np.exp(rng.normal(0, 0.1, 3)))
    leak, leak_nm, name = 0.0, 650.0, base["name"]
    if rng.random() < WEAK_IR_CUT_SHARE:  # a webcam or phone module: a weaker IR cut, and NIR in every channel
        r50 += float(rng.uniform(0, 30))
        leak, leak_nm = float(rng.uniform(0.05, 0.6)), float(rng.uniform(620, 680))
        name = f"{name} (weak IR cut)"
    return Camera(
        name=name,
        peaks=tuple(peaks), left_fwhm=tuple(left), right_fwhm=tuple(right),
        ir_cut_50=float(r50), ir_cut_width=float(width), uv_cut_50=uv_cut,
        red_blue_lobe=lobe, gains=gains, nir_leak=leak, nir_leak_nm=leak_nm,
    )


@dataclass(frozen=True)
class Instrument:
    """Where wavelengths land (nm at each pixel along the band) and how sharp lines are."""

    nm_start: float        # nm at the first pixel of the band
    nm_end: float          # nm at the last pixel
    curvature: float       # mild non-linearity of the dispersion (fraction of the span)
    lsf_sigma_px: float    # Gaussian line-spread sigma (pixels)
    wing_fraction: float   # share of the line in wide wings (scattered light in the optics)
    slit_px: float = 0.0   # width of the slit's image (pixels): a line is this wide and flat-topped before blur

    def nm_at(self, px: np.ndarray, n_px: int) -> np.ndarray:
        """Wavelength (nm) at pixel positions ``px`` along a band of ``n_px`` pixels."""
        t = np.asarray(px, float) / (n_px - 1)
        return self.nm_start + (self.nm_end - self.nm_start) * (t + self.curvature * t * (1 - t))


#: Width of the slit's image along the band (pixels of a 480-pixel strip), drawn log-uniformly:
#: a DIY spectroscope's slit (two razor blades, a gap in card) is 0.1-1 mm wide, and its image on
#: the sensor, after resizing to the strip, is one to a dozen pixels; each line is that box, blurred.
SLIT_PX_RANGE: tuple[float, float] = (1.0, 12.0)


def sample_instrument(rng: np.random.Generator, n_px: int = STRIP_SHAPE[1]) -> Instrument:
    """A random spectroscope: the span seen over ``n_px`` pixels, dispersion, slit and line-spread width."""
    if rng.random() < 0.7:  # the usual framing: the visible rainbow across the strip
        nm_start = rng.uniform(330, 430)
        nm_end = nm_start + rng.uniform(max(260.0, 640 - nm_start), 460)
    else:  # zoomed in on part of the spectrum, or zoomed out with infrared (dark) on one side
        span = float(np.exp(rng.uniform(np.log(130), np.log(700))))
        nm_start = rng.uniform(430, 650) - span / 2
        nm_end = nm_start + span
    # line spread: slit image plus camera blur plus resizing, in pixels of the band
    sigma = float(np.exp(rng.uniform(np.log(0.7), np.log(4.0)))) * n_px / STRIP_SHAPE[1]
    slit = float(np.exp(rng.uniform(*np.log(SLIT_PX_RANGE)))) * n_px / STRIP_SHAPE[1]
    return Instrument(float(nm_start), float(nm_end), float(rng.uniform(-0.08, 0.08)), sigma,
                      float(rng.uniform(0, 0.25)), slit)


# ----------------------------------------------------------------------------------- rendering
def _lsf_kernel(sigma: float, wing_fraction: float, slit_px: float = 0.0) -> np.ndarray:
    """Line-spread function on whole pixels: the slit's image (a box ``slit_px`` wide) blurred by a
    Gaussian of ``sigma`` px (exactly: a difference of error functions), plus wide wings; sums to 1."""
    from scipy.special import erf

    wing = 5 * sigma + 2 + slit_px / 2
    radius = int(min(np.ceil(3 * wing), 80))
    x = np.arange(-radius, radius + 1, dtype=float)
    if slit_px > 0:
        s = np.sqrt(2) * sigma
        core = erf((x + slit_px / 2) / s) - erf((x - slit_px / 2) / s)
    else:
        core = np.exp(-0.5 * (x / sigma) ** 2)
    wings = np.exp(-0.5 * (x / wing) ** 2)
    k = (1 - wing_fraction) * core / core.sum() + wing_fraction * wings / wings.sum()
    return k


def render_profile(spectrum: Spectrum, instrument: Instrument, camera: Camera, n_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear camera signal along the band: ``(n_px, 3)`` float and the nm of each pixel ``(n_px,)``.

    Smooth power per pixel is the spectrum times the pixel's width in nm; each line is deposited
    at its sub-pixel position; the sum is blurred by the line-spread function; the camera's
    sensitivity at each wavelength turns power into R, G, B.
    """
    kernel = _lsf_kernel(instrument.lsf_sigma_px, instrument.wing_fraction, instrument.slit_px)
    pad = kernel.size // 2
    px = np.arange(-pad, n_px + pad, dtype=float)
    nm = instrument.nm_at(px, n_px)
    dnm = np.empty_like(nm)  # width of each pixel in nm (the last repeats its neighbour's)
    np.subtract(nm[1:], nm[:-1], out=dnm[:-1])
    dnm[-1] = dnm[-2]
    np.abs(dnm, out=dnm)
    resp = camera.response(nm)
    signal = (np.interp(nm, GRID_NM, spectrum.smooth) * dnm)[:, None] * resp
    if spectrum.lines_nm.size:
        lo, hi = min(nm[0], nm[-1]), max(nm[0], nm[-1])
        inside = (spectrum.lines_nm > lo) & (spectrum.lines_nm < hi)
        if inside.any():
            lnm = spectrum.lines_nm[inside]
            pos = np.interp(lnm, nm, np.arange(nm.size, dtype=float)) if nm[-1] > nm[0] else \
                np.interp(lnm, nm[::-1], np.arange(nm.size, dtype=float)[::-1])
            weights = spectrum.lines_power[inside][:, None] * camera.response(lnm)
            i0 = np.floor(pos).astype(int)
            frac = (pos - i0)[:, None]
            idx = np.concatenate([i0, np.minimum(i0 + 1, nm.size - 1)])
            w = np.concatenate([weights * (1 - frac), weights * frac])
            for c in range(3):
                signal[:, c] += np.bincount(idx, weights=w[:, c], minlength=nm.size)
    from scipy.ndimage import convolve1d

    signal = convolve1d(signal, kernel, axis=0, mode="nearest")
    return signal[pad:pad + n_px], nm[pad:pad + n_px]


def _white_balance_gains(camera: Camera, rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Gains a camera applies: a preset (blackbody 2800-7500 K made grey), sometimes auto (grey world)."""
    nm = _RESPONSE_NM[80:481:5]  # 380-780 nm
    ref = (_planck(nm, rng.uniform(2800, 7500))[:, None] * camera._table[80:481:5]).sum(axis=0)
    gains = ref[1] / ref
    if rng.random() < 0.4:  # auto white balance pulls the picture's average towards grey
        mean = signal.reshape(-1, 3).mean(axis=0) * gains + 1e-9
        gains = gains * (mean[1] / mean) ** rng.uniform(0.2, 0.7)
    return np.minimum(np.maximum(gains * np.exp(rng.normal(0, 0.08, 3)), 0.2), 5)


#: Share of photos exposed by the camera's own auto-exposure, which meters the mean level of the
#: picture (webcams and phones in their default mode); the rest are exposed by hand for the
#: brightest part of the spectrum.
AUTO_EXPOSURE_SHARE = 0.65
#: The most an auto-exposure overexposes the brightest line (x full scale): beyond a few times,
#: every channel clips and lines turn white, which the real strips' lines seldom do (their
#: lines keep their colour: "white" is 0 in every class of ``bench_realism``).
MAX_OVEREXPOSURE = 6.0
#: Where the auto-exposure puts the mean level (fraction of full scale, log-uniform): for a bright
#: source, and for a faint one (``Spectrum.faint``) that the camera cannot expose long enough.
AUTO_EXPOSURE_MEAN: dict[bool, tuple[float, float]] = {False: (0.015, 0.25), True: (0.004, 0.06)}


def _expose(signal: np.ndarray, rng: np.random.Generator, faint: bool = False,
            by_hand: tuple[float, float] | None = None) -> float:
    """Exposure scale for a ``(n, 3)`` linear profile.

    Auto-exposure (:data:`AUTO_EXPOSURE_SHARE`): the mean level lands at 0.015-0.25 of full scale
    (log-uniform), so a lamp of a few narrow lines saturates them while a smooth spectrum stays
    below clipping; for a ``faint`` source the camera runs out of exposure time and gain first, and
    the mean lands at 0.004-0.06 (a tube's few lines still saturate, a band spectrum spread over
    many bands, nitrogen's, stays dim). The gain is capped at :data:`MAX_OVEREXPOSURE` times the
    brightest part's full scale. By hand: the brightest part at 0.3-3x full scale. The real strips'
    brightness (mean 30-125, 99th percentile 132-255 grey levels by class) is what this has to cover.
    ``by_hand`` (x full scale, low and high): one photographer's habit instead, always by hand.
    """
    brightest = signal.max(axis=1)
    k = int(0.995 * (brightest.size - 1))
    peak = float(np.partition(brightest, k)[k]) + 1e-12
    if by_hand is not None:
        return float(np.exp(rng.uniform(np.log(by_hand[0]), np.log(by_hand[1])))) / peak
    if rng.random() >= AUTO_EXPOSURE_SHARE:
        return float(np.exp(rng.uniform(np.log(0.3), np.log(3.0)))) / peak
    mean = float(signal.mean()) + 1e-12
    low, high = AUTO_EXPOSURE_MEAN[bool(faint)]
    scale = float(np.exp(rng.uniform(np.log(low), np.log(high)))) / mean
    return min(scale, MAX_OVEREXPOSURE / peak)


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """2**21 standard normal float32 values from a fixed seed, read at random offsets.

    Drawing fresh normals for every pixel costs more than all the physics of a strip; a random
    window into a fixed bank is as good for a camera's noise and keeps items reproducible.
    """
    bank = np.random.default_rng(20191).standard_normal(2**21, dtype=np.float32)
    bank.flags.writeable = False  # windows of it are handed out as views
    return bank


def _noise(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Standard normal noise of ``shape`` (float32) as a read-only window of the bank (or fresh
    draws for huge shapes), and whether to negate it (the caller does, in place: no copy)."""
    bank = _noise_bank()
    n = math.prod(shape)
    if n > bank.size // 2:
        return rng.standard_normal(shape, dtype=np.float32), False
    start = int(rng.integers(0, bank.size - n))
    return bank[start:start + n].reshape(shape), rng.random() >= 0.5


_LUT_SIZE = 2048


@lru_cache(maxsize=1)
def _lut_positions() -> np.ndarray:
    positions = np.linspace(0, 1, _LUT_SIZE, dtype=np.float32)
    positions.flags.writeable = False
    return positions


def _median_step(nm: np.ndarray) -> float:
    """Median nm step between neighbouring pixels (``np.median(np.diff(nm))``, without its overhead)."""
    steps = np.diff(nm)
    steps.sort()
    middle = steps.size // 2
    return float(steps[middle] if steps.size % 2 else (steps[middle - 1] + steps[middle]) / 2)


@dataclass(frozen=True)
class _Processing:
    """How a camera develops linear RGB: noise, sensor clipping, colour matrix, tone curve."""

    read_noise: float
    shot_noise: float
    saturation_boost: float
    lut: np.ndarray  # (_LUT_SIZE,) uint8: tone curve, indexed by sqrt(linear) in [0, 1]
    #: (3,) level at which each channel's sensor clips, in white-balanced units: the white-balance
    #: gain of that channel (the raw signal clips at 1 before the gains); set by :func:`expose_profile`
    full_scale: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))


#: Range of the colour matrix's saturation boost (uniform; see :func:`_boost_saturation`): the
#: diagonal terms of small-sensor cameras' colour-correction matrices are about 1.2-2.0.
SATURATION_BOOST_RANGE: tuple[float, float] = (0.3, 1.5)


def _sample_processing(rng: np.random.Generator, noise_scale: float = 1.0) -> _Processing:
    gamma = rng.uniform(1.7, 2.6)
    contrast = rng.uniform(0, 0.4)
    u = _lut_positions()  # the LUT is indexed by sqrt(linear): fine steps in the dark
    y = u ** np.float32(2 / gamma)
    y = y + np.float32(contrast) * y * (1 - y) * (2 * y - 1)  # S-curve: deeper shadows, brighter highlights
    lut = np.minimum(np.maximum(np.rint(y * 255), 0), 255).astype(np.uint8)
    return _Processing(float(rng.uniform(0.0005, 0.005) * noise_scale), float(rng.uniform(0.0002, 0.002) * noise_scale),
                       float(rng.uniform(*SATURATION_BOOST_RANGE)), lut)


def _boost_saturation(profile: np.ndarray, boost: float) -> np.ndarray:
    """Colour matrix of a camera (more saturated than the sensor: negative off-diagonal terms)."""
    grey = profile.sum(axis=-1, keepdims=True) / 3
    return np.maximum((1 + boost) * profile - boost * grey, 0)


def _tone(linear: np.ndarray, proc: _Processing) -> np.ndarray:
    """White-balanced sensor signal ``(..., 3)`` float32 -> uint8, in a camera's order.

    The sensor clips each channel first (at :attr:`_Processing.full_scale`); the colour matrix
    then works on clipped values, so an overexposed line loses its pure colour the way real ones
    do (a green 546 nm line whose red and blue also clip turns pale yellow-white), while a line
    that clips in one channel only keeps its colour; then the output clips to [0, 1] and the tone
    curve applies.
    """
    x = np.minimum(linear, proc.full_scale)  # full_scale is float32 (expose_profile sets it)
    x = _boost_saturation(x, proc.saturation_boost).astype(np.float32, copy=False)
    np.minimum(x, 1, out=x)
    np.sqrt(x, out=x)
    x *= np.float32(_LUT_SIZE - 1)
    return proc.lut.take(x.astype(np.intp))  # take() is faster than fancy indexing


def _develop(linear: np.ndarray, rng: np.random.Generator, proc: _Processing) -> np.ndarray:
    """White-balanced sensor signal ``(..., 3)`` (exposed, full scale about 1) -> uint8 as saved:
    shot and read noise, then :func:`_tone` (sensor clipping, colour matrix, tone curve)."""
    # linear can dip below 0 where an absorption line is drawn deeper than its continuum (a star's
    # Fraunhofer lines): no light, so no shot noise there
    x = np.sqrt(proc.shot_noise * np.maximum(linear, 0) + np.float32(proc.read_noise**2))
    noise, negate = _noise(linear.shape, rng)
    x *= noise
    if negate:
        np.negative(x, out=x)
    x += linear
    np.maximum(x, 0, out=x)
    return _tone(x, proc)


#: Dark level (linear, full scale 1) left after the camera subtracts its sensor's black level: stray
#: room light and glow inside the box, log-uniform. It grows with exposure time and gain, so it is
#: higher for a faint tube, which the camera exposes longest, than for a lamp or LED that it exposes
#: briefly: the real strips' dark floor (5th percentile) is 8-10 grey levels for LEDs and mercury
#: lamps and 17-20 for helium, hydrogen and nitrogen tubes (``bench_realism``).
BACKGROUND_RANGE: dict[bool, tuple[float, float]] = {False: (0.00003, 0.002), True: (0.0008, 0.012)}


def _background(rng: np.random.Generator, faint: bool = False) -> np.ndarray:
    """Dark level with a colour cast (linear RGB ``(3,)``), as real dark frames through a spectroscope
    have: :data:`BACKGROUND_RANGE` for a ``faint`` source or not."""
    tint = np.array([rng.uniform(0.5, 1.2), rng.uniform(0.2, 1.0), rng.uniform(0.6, 1.5)])
    return tint * float(np.exp(rng.uniform(*np.log(BACKGROUND_RANGE[bool(faint)]))))


#: The most light scattered inside the spectroscope (share of the band's light, spread over 60-240 px).
STRAY_MAX = 0.08


def expose_profile(spectrum: Spectrum, instrument: Instrument, camera: Camera, proc: _Processing, n_px: int,
                   rng: np.random.Generator, by_hand: tuple[float, float] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, _Processing]:
    """The camera pipeline every renderer shares, up to the sensor: ``(float32 (n_px, 3), nm (n_px,), proc)``.

    White-balanced sensor signal along the band (full scale about 1): :func:`render_profile` (light
    through the grating and the camera's sensitivities), white balance, exposure (:func:`_expose`),
    light scattered inside the spectroscope (a wide blur of the spectrum itself). The returned
    ``proc`` carries the sensor's clipping level per channel (the white-balance gains); what remains
    (the band's shape across, the dark frame, noise, clipping, colour matrix, tone curve:
    :func:`_develop` with that ``proc``) differs between a strip and a photo only in geometry.
    ``by_hand``: a fixed exposure habit (see :func:`_expose`) instead of the random one.
    """
    profile, nm = render_profile(spectrum, instrument, camera, n_px)
    gains = _white_balance_gains(camera, rng, profile)
    profile = profile * gains
    profile = profile * _expose(profile, rng, spectrum.faint, by_hand)
    stray_k = rng.uniform(0, STRAY_MAX)
    if stray_k > 0.01:
        from scipy.ndimage import uniform_filter1d

        size = max(3, int(rng.integers(60, 240) * n_px / STRIP_SHAPE[1]))
        profile = profile + stray_k * uniform_filter1d(profile, size=size, axis=0, mode="nearest")
    return profile.astype(np.float32), nm, replace(proc, full_scale=np.asarray(gains, np.float32))
