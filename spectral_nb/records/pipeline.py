"""tf.data pipelines over record files: parse after batching, shuffle, and the geometric and
photometric augmentations of chapter 04."""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Mapping


from spectral_nb import files
from spectral_nb import NUM_CLASSES, STRIP_SHAPE

#: The photometric ones: what a camera's exposure, tone curve, white balance, black level, noise
#: and focus do to a strip, for the spread the generator cannot pin down, and ``greyscale``: a share
#: of the strips (:data:`GREYSCALE_SHARE`) as a monochrome camera records them, R = G = B.
PHOTOMETRIC_AUGMENTATIONS: tuple[str, ...] = ("gain", "gamma", "white_balance", "black_level", "noise", "blur",
                                              "greyscale")
#: Augmentations :func:`make_dataset` knows; all but ``flip_ud`` change what a row-averaging model sees.
AUGMENTATIONS: tuple[str, ...] = ("flip_ud", "flip_lr", "shift", "stretch") + PHOTOMETRIC_AUGMENTATIONS
#: The share of strips ``greyscale`` makes monochrome: 5%, chosen on the real photos and dev strips
#: (README, "A greyscale augmentation": 15% cost the dev strips two points for the same photos right).
GREYSCALE_SHARE: float = 0.05
#: The book's training augmentations (chapter 04, and the benchmarks and fine-tuning that train as it
#: does): shifts and stretches along the strip, then every photometric one.
BOOK_AUGMENTATIONS: tuple[str, ...] = ("shift", "stretch") + PHOTOMETRIC_AUGMENTATIONS
#: Their options in the book: shifts to 48 px and stretches to 20% (``bench_sim_to_real``'s "wide"),
#: 5% of the strips greyscale.
BOOK_AUGMENT_OPTIONS: Mapping[str, float] = MappingProxyType({"max_shift_px": 48.0, "max_stretch": 0.2,
                                                              "greyscale_share": GREYSCALE_SHARE})
#: The ranges the photometric augmentations draw from (:func:`_photometric`), named so that what
#: reads them (chapter 05's robustness sweep shades them) does not copy the numbers: the exposure is e
#: to a power from ``LOG_GAIN_RANGE`` (x0.41-1.65; ``max_log_gain`` can raise the top), each channel is
#: multiplied by e to a power within +-``LOG_WHITE_BALANCE``, the noise sigma is up to ``MAX_NOISE_SIGMA``
#: of full scale, the tone curve's exponent is e to a power within +-``LOG_GAMMA`` (0.67-1.5), the black
#: level moves by ``BLACK_LEVEL_RANGE`` of full scale, and ``BLUR_SHARE`` of the strips are blurred.
LOG_GAIN_RANGE: tuple[float, float] = (-0.9, 0.5)
LOG_WHITE_BALANCE: float = 0.25
MAX_NOISE_SIGMA: float = 0.03
LOG_GAMMA: float = 0.4
BLACK_LEVEL_RANGE: tuple[float, float] = (-0.08, 0.06)
BLUR_SHARE: float = 0.5

# --------------------------------------------------------------------------- tf.data


def _as_file_list(files) -> list[str]:
    if isinstance(files, (str, Path)):
        files = [files]
    files = [Path(f) for f in files]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"no TFRecord file {f}")
    if not files:
        raise ValueError("make_dataset needs at least one TFRecord file")
    return [str(f) for f in files]


def parse_batch(serialized):
    """Parse a batch of serialised records: ``(uint8 (B, 15, 480, 3), int64 (B,))`` tensors.

    Parsing after batching measured 1.1x to 1.7x as fast as record by record, at batch 64 and 256
    (``benchmarks/results/records.md``; which size is faster changed between runs: docs/sources.md,
    "Batch parsing of TFRecords").
    """
    import tensorflow as tf

    h, w, c = STRIP_SHAPE
    parsed = tf.io.parse_example(serialized, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "height": tf.io.FixedLenFeature([], tf.int64),
        "width": tf.io.FixedLenFeature([], tf.int64),
    })
    label = parsed["label"]
    fits = ((parsed["height"] == h) & (parsed["width"] == w) & (label >= 0) & (label < NUM_CLASSES)
            & (tf.strings.length(parsed["image"]) == h * w * c))
    # One combined check keeps the per-batch cost small; load_examples names the offending record.
    checks = [tf.debugging.Assert(tf.reduce_all(fits), [
        f"a record is not a {h}x{w} strip of {h * w * c} bytes with a label in 0..{NUM_CLASSES - 1}; "
        "find it with spectral_nb.records.load_examples(path)"])]
    with tf.control_dependencies(checks):
        images = tf.reshape(tf.io.decode_raw(parsed["image"], tf.uint8), [-1, h, w, c])
    return images, parsed["label"]


def _augment_names(augment) -> tuple[str, ...]:
    if augment is None:
        return ()
    names = (augment,) if isinstance(augment, str) else tuple(augment)
    unknown = [a for a in names if a not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {AUGMENTATIONS}")
    return names


def augment_images(images, seed, augment=("flip_lr", "shift", "stretch"), max_shift_px: float = 16.0,
                   max_stretch: float = 0.05, greyscale_share: float = GREYSCALE_SHARE,
                   max_log_gain: float = LOG_GAIN_RANGE[1]):
    """Randomly augmented copy of a batch ``uint8 (B, 15, 480, 3)`` (a tensor; works eagerly on arrays).

    ``seed`` is an int or a shape-(2,) integer tensor (stateless randomness: same seed, same
    result). ``flip_ud`` flips half the strips top-to-bottom (no effect on the row-averaged
    profile); ``flip_lr`` reverses half of them along the wavelength axis (for photos taken
    either way round); ``shift`` moves each strip by up to ``max_shift_px`` columns and
    ``stretch`` scales it by up to ``max_stretch`` about the centre (another spectroscope's
    wavelength range and dispersion), edges repeated, linear interpolation. The photometric ones
    (:data:`PHOTOMETRIC_AUGMENTATIONS`: ``gain``, ``gamma``, ``white_balance``, ``black_level``,
    ``noise``, ``blur``, ``greyscale``) change each strip as another camera's exposure, tone curve,
    white balance, black level, noise or focus would, and ``greyscale`` makes ``greyscale_share`` of the
    strips R = G = B, as a monochrome camera records them (see :func:`_photometric` for the ranges;
    ``max_log_gain`` widens the exposure range upward, into clipping).
    """
    import tensorflow as tf

    names = _augment_names(augment)
    images = tf.convert_to_tensor(images, dtype=tf.uint8)
    seed = tf.cast(tf.reshape(tf.convert_to_tensor(seed), [-1]), tf.int64)
    seed = tf.concat([seed, tf.zeros([2], tf.int64)], 0)[:2]
    batch = tf.shape(images)[0]
    height, width, channels = STRIP_SHAPE

    def coin(k: int):
        return tf.random.stateless_uniform([batch], seed + [k, 0]) < 0.5

    # Every change is one gather (of rows, or of whole columns), far faster than tf.reverse/tf.where.
    if "flip_ud" in names:
        rows = tf.range(height)[None, :]
        rows = tf.where(coin(1)[:, None], height - 1 - rows, rows)  # (B, 15)
        images = tf.gather(images, rows, axis=1, batch_dims=1)
    geometric = [a for a in names if a in ("flip_lr", "shift", "stretch")]
    if geometric:
        source = tf.broadcast_to(tf.range(width, dtype=tf.float32)[None, :], [batch, width])
        if "flip_lr" in names:
            source = tf.where(coin(2)[:, None], width - 1.0 - source, source)
        if "shift" in names or "stretch" in names:
            shift = tf.random.stateless_uniform([batch, 1], seed + [3, 0], -1.0, 1.0) * \
                (max_shift_px if "shift" in names else 0.0)
            scale = 1.0 + tf.random.stateless_uniform([batch, 1], seed + [4, 0], -1.0, 1.0) * \
                (max_stretch if "stretch" in names else 0.0)
            centre = (width - 1) / 2.0
            source = tf.clip_by_value(centre + (source - centre) / scale - shift, 0.0, width - 1.0)
        left = tf.cast(tf.floor(source), tf.int32)  # (B, 480) column each output column comes from
        right = tf.minimum(left + 1, width - 1)
        columns = tf.reshape(tf.transpose(images, [0, 2, 1, 3]), [batch, width, height * channels])
        a = tf.gather(columns, left, batch_dims=1)
        if "shift" in names or "stretch" in names:  # linear interpolation between neighbour columns
            b = tf.cast(tf.gather(columns, right, batch_dims=1), tf.float32)
            weight = (source - tf.cast(left, tf.float32))[:, :, None]
            a = tf.cast(tf.round(tf.cast(a, tf.float32) + (b - tf.cast(a, tf.float32)) * weight), tf.uint8)
        images = tf.transpose(tf.reshape(a, [batch, width, height, channels]), [0, 2, 1, 3])
    photometric = [a for a in names if a in PHOTOMETRIC_AUGMENTATIONS]  # pixel by pixel, after the geometric ones
    if photometric:
        images = _photometric(images, seed, photometric, greyscale_share, max_log_gain)
    return images


def _photometric(images, seed, names, greyscale_share: float, max_log_gain: float = LOG_GAIN_RANGE[1]):
    """Per strip: gain (exposure x0.4-1.6: e to a power drawn from -0.9 to ``max_log_gain``, 0.5 unless
    told (:data:`LOG_GAIN_RANGE`); the brighter strips clip at full scale as an over-exposed camera's do),
    gamma (0.67-1.5: :data:`LOG_GAMMA`), white balance (each channel x0.78-1.28: :data:`LOG_WHITE_BALANCE`),
    black level (-0.08 to +0.06 of full scale: :data:`BLACK_LEVEL_RANGE`), noise (uniform, sigma up to 3%
    of full scale: :data:`MAX_NOISE_SIGMA`), blur (:data:`BLUR_SHARE`, half the strips, a 5-tap binomial
    along the wavelength axis); greyscale (a share
    ``greyscale_share`` of the strips becomes the mean of its three channels in every channel: a
    monochrome sensor, as in PySpectrometer2's raw frames, which has no colour filter to tell the blue
    end from the red); clipped to 0-255 as a camera would.

    The pointwise changes (gain, gamma, white balance, black level) become one 256-entry lookup
    table per strip and channel, applied with one gather: 4x faster than computing them per pixel.
    """
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def uniform(k: int, shape, low: float, high: float):
        return tf.random.stateless_uniform(shape, seed + [k, 7], low, high)

    pointwise = [n for n in names if n in ("gain", "gamma", "white_balance", "black_level")]
    if pointwise:
        lut = tf.broadcast_to(tf.range(256, dtype=tf.float32)[None, None, :] / 255.0, [batch, 3, 256])
        if "gamma" in names:
            lut = tf.pow(lut + 1e-6, tf.exp(uniform(11, [batch, 1, 1], -LOG_GAMMA, LOG_GAMMA)))
        if "gain" in names:
            lut = lut * tf.exp(uniform(12, [batch, 1, 1], LOG_GAIN_RANGE[0], max_log_gain))
        if "white_balance" in names:
            lut = lut * tf.exp(uniform(13, [batch, 3, 1], -LOG_WHITE_BALANCE, LOG_WHITE_BALANCE))
        if "black_level" in names:
            offset = uniform(14, [batch, 1, 1], *BLACK_LEVEL_RANGE)
            lut = (lut + offset) / (1 + offset)
        table = tf.reshape(lut, [-1])                                       # (B * 3 * 256,)
        base = (tf.range(batch)[:, None, None, None] * 3 + tf.range(3)[None, None, None, :]) * 256
        x = tf.gather(table, base + tf.cast(images, tf.int32))            # (B, 15, 480, 3) float in [~0, ~1]
    else:
        x = tf.cast(images, tf.float32) / 255.0
    if "noise" in names:  # uniform noise of the same sigma: as good for this, 3x cheaper than normal
        sigma = uniform(16, [batch, 1, 1, 1], 0.0, MAX_NOISE_SIGMA)
        x = x + (tf.random.stateless_uniform(tf.shape(x), seed + [15, 7], -1.0, 1.0) * 1.7320508) * sigma
    if "blur" in names:
        padded = tf.pad(x, [[0, 0], [0, 0], [2, 2], [0, 0]], mode="SYMMETRIC")
        width = STRIP_SHAPE[1]
        blurred = (padded[:, :, 0:width] + 4 * padded[:, :, 1:width + 1] + 6 * padded[:, :, 2:width + 2]
                   + 4 * padded[:, :, 3:width + 3] + padded[:, :, 4:width + 4]) / 16.0
        pick = tf.cast(uniform(17, [batch, 1, 1, 1], 0.0, 1.0) < BLUR_SHARE, tf.float32)
        x = pick * blurred + (1 - pick) * x
    if "greyscale" in names:
        grey = tf.cast(uniform(18, [batch, 1, 1, 1], 0.0, 1.0) < greyscale_share, tf.float32)
        x = grey * tf.reduce_mean(x, axis=-1, keepdims=True) + (1 - grey) * x
    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)


def make_dataset(files, batch_size: int = 64, shuffle: bool = False, seed: int = 0, augment=None,
                 shuffle_buffer: int = 4096, **augment_options):
    """A ``tf.data.Dataset`` of ``(uint8 (B, 15, 480, 3), int64 (B,))`` batches from TFRecord files.

    Read, (shuffle: records, reshuffled every epoch, seeded), batch, parse the whole batch at once,
    (augment: see :func:`augment_images`, seeded), prefetch. ``files`` is one path or several.
    """
    import tensorflow as tf

    names = _augment_names(augment)
    dataset = tf.data.TFRecordDataset(_as_file_list(files), buffer_size=1 << 20)  # 1 MB reads (default 256 kB) measured faster
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(parse_batch, num_parallel_calls=tf.data.AUTOTUNE)
    if names:
        dataset = augment_batches(dataset, names, seed, **augment_options)
    return dataset.prefetch(tf.data.AUTOTUNE)


def augment_batches(dataset, augment, seed: int = 0, **augment_options):
    """``dataset`` of ``(images, labels)`` batches with :func:`augment_images` applied to the images,
    a fresh stateless seed per batch (seeded by ``seed``, new draws every epoch)."""
    import tensorflow as tf

    names = _augment_names(augment)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds).map(
        lambda batch, s: (augment_images(batch[0], s, names, **augment_options), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE)
