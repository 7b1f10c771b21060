"""TFRecord write and read throughput (strips/s, medians) and file sizes, nnSIC schema.

Run from the repository root:  .venv/bin/python benchmarks/bench_records.py [--strips 3000] [--repeats 3]
Variants compared in the same run: writing; reading with load_examples (Python, schema checked);
tf.data parsing after batching (64, 256) vs record by record (nnSIC's way); the training pipeline
(shuffle + augmentation). Real data (SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords) when present.
Target: read >= 20,000 strips/s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from spectral_nb import STRIP_SHAPE, records  # noqa: E402
from results_io import printed_tables, real_dev_strips, write_results  # noqa: E402


def strips(n: int, seed: int = 0):
    """Synthetic strips when the generator exists; random bytes otherwise (uncompressed records
    cost the same whatever the pixels hold)."""
    try:
        from spectral_nb.synthesis import generate_strips

        per_class = -(-n // 7)
        images, labels, _ = generate_strips([per_class] * 7, seed)
        images, labels, kind = images[:n], labels[:n], "synthetic strips"
    except ImportError:
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 256, (n, *STRIP_SHAPE), dtype=np.uint8)
        labels, kind = rng.integers(0, 7, n), "random bytes (spectral_nb.synthesis not available)"
    return images, labels, [f"{i:05d}.png" for i in range(n)], kind


def rate(fn, n: int, repeats: int) -> float:
    """Median strips/s of ``repeats`` timed calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def read_per_record(path):
    """nnSIC's way: parse each record, then batch."""
    import tensorflow as tf

    h, w, c = STRIP_SHAPE

    def parse(record):
        f = tf.io.parse_single_example(record, {"image": tf.io.FixedLenFeature([], tf.string),
                                                "label": tf.io.FixedLenFeature([], tf.int64)})
        return tf.reshape(tf.io.decode_raw(f["image"], tf.uint8), [h, w, c]), f["label"]

    return (tf.data.TFRecordDataset(str(path)).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(64).prefetch(tf.data.AUTOTUNE))


def drain(dataset) -> int:
    return sum(int(b[1].shape[0]) for b in dataset)


def rate_of_dataset(dataset, n: int, repeats: int, passes: int = 3) -> float:
    """Median strips/s reading a built dataset ``passes`` times per run (longer runs, less noise)."""
    dataset = dataset.repeat(passes)
    return rate(lambda: drain(dataset), n * passes, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strips", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with printed_tables() as tables:
        run(args)
    path = write_results("records", vars(args), "```\n" + tables.getvalue() + "```", {})
    print(f"\nwritten: {path}")


def run(args) -> None:
    """The measurements, printed (main() keeps what they print as the results file)."""
    import tensorflow as tf

    images, labels, names, kind = strips(args.strips)
    n = len(images)
    print(f"{n} strips of {kind}; tensorflow {tf.__version__}; {os.cpu_count()} CPU cores; "
          f"medians of {args.repeats} runs\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.tfrecords"

        def write():
            records.write_records(path, images, labels, names, overwrite=True)

        rows.append(("write_records", rate(write, n, args.repeats)))
        rows.append(("load_examples (Python, schema checked)", rate(lambda: records.load_examples(path), n, args.repeats)))
        # Datasets are built once and read whole per run: the per-epoch cost in training.
        for batch in (64, 256):
            dataset = records.make_dataset(path, batch)
            rows.append((f"make_dataset, parse after batch({batch})", rate_of_dataset(dataset, n, args.repeats)))
        dataset = read_per_record(path)
        rows.append(("parse each record, then batch(64) (nnSIC)", rate_of_dataset(dataset, n, args.repeats)))
        dataset = records.make_dataset(path, 256, shuffle=True)
        rows.append(("make_dataset(256, shuffle)", rate_of_dataset(dataset, n, args.repeats)))
        dataset = records.make_dataset(path, 64, shuffle=True, augment=records.BOOK_AUGMENTATIONS,
                                       **records.BOOK_AUGMENT_OPTIONS)
        rows.append(("make_dataset(64, shuffle, chapter 04's augmentations)", rate_of_dataset(dataset, n, args.repeats)))
        start = time.perf_counter()
        drain(records.make_dataset(path, 256).take(1))
        setup = time.perf_counter() - start
        size = path.stat().st_size
    print(f"{'variant':<55}{'strips/s':>10}")
    for name, value in rows:
        print(f"{name:<55}{value:>10,.0f}")
    raw = int(np.prod(STRIP_SHAPE))
    print(f"\nfile size: {size / 1e6:.1f} MB for {n} strips = {size / n:,.0f} bytes/strip "
          f"({raw:,} image bytes + {size / n - raw:.0f} bytes of schema and framing)")
    print(f"building a make_dataset pipeline and reading its first batch: {setup * 1000:.0f} ms")

    path = real_dev_strips("bench_records' real part")
    if path is None:
        return
    m = len(records.load_examples(path)[1])
    print(f"\nreal data: nnsic_dev.tfrecords ({m} strips, {path.stat().st_size / m:,.0f} bytes/strip)")
    print(f"{'load_examples':<55}{rate(lambda: records.load_examples(path), m, args.repeats):>10,.0f}")
    dataset = records.make_dataset(path, 64)
    print(f"{'make_dataset, parse after batch(64)':<55}{rate_of_dataset(dataset, m, args.repeats):>10,.0f}")


if __name__ == "__main__":
    main()
