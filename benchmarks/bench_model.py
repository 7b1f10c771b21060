"""nnSIC's M4, the compact model and the book's colour model, side by side in one run, on the same data.

Run from the repository root:  .venv/bin/python benchmarks/bench_model.py [--quick]
    [--train-per-class 200] [--epochs-m4 4] [--epochs-compact 20] ...

All three train on the same synthetic strips (``synthesis.generate_strips``) with chapter 04's
augmentations (shifts to 48 px, stretches to 20% and the photometric ones, ``records.augment_images``)
and its learning-rate schedule, are chosen by the same synthetic validation set (``train_model``:
best ``val_loss``), and are
measured on the same synthetic test set and, when ``SPECTRAL_NB_REALDATA`` points to a folder
with ``nnsic_dev.tfrecords``, on the real dev strips. Reported: parameters, FLOPs per strip
(``count_flops``), training seconds per epoch (wall time of ``train_model`` / epochs run, so it
includes validation and the first epoch's tracing), inference strips/s at batch 256 (median of 3),
accuracies, and the plateau epoch (first epoch whose validation accuracy is within 1 point of the
best). Targets for the small models: >= 30x fewer FLOPs than M4, >= 5,000 strips/s on 2 cores.
Results go to ``benchmarks/results/model.md``.
M4 dominates the run time (4 epochs on 1,400 strips: over 15 minutes on 2 busy CPU cores; lower
``--train-per-class`` or ``--epochs-m4`` on a slow machine); ``--quick`` takes about 1 minute.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spectral_nb import NUM_CLASSES, records, synthesis  # noqa: E402
from spectral_nb import model as model_lib  # noqa: E402
from results_io import real_dev_strips, write_results  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-per-class", type=int, default=200, help="synthetic training strips per class")
    parser.add_argument("--vali-per-class", type=int, default=40)
    parser.add_argument("--test-per-class", type=int, default=60)
    parser.add_argument("--epochs-m4", type=int, default=4, help="M4 takes ~60-100 s per epoch at the default size")
    parser.add_argument("--epochs-compact", type=int, default=20, help="epochs of the compact and colour models")
    parser.add_argument("--patience", type=int, default=12, help="early stopping, as chapter 04")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--speed-strips", type=int, default=2048, help="strips per timed inference pass")
    parser.add_argument("--no-augment", action="store_true", help="train on the strips as generated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in under 2 minutes")
    parser.add_argument("--name", default="model", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    if args.quick:
        args.train_per_class, args.vali_per_class, args.test_per_class = 12, 4, 6
        args.epochs_m4, args.epochs_compact, args.speed_strips = 1, 2, 512
    return args


#: The models compared: nnSIC's M4, the grey-profile compact model and the book's (colour).
KINDS = ("m4", "compact", "colour")


def synthetic_split(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels, _ = synthesis.generate_strips([per_class] * NUM_CLASSES, seed)
    return images, labels


def datasets(train, vali, batch_size: int, augment: bool, seed: int):
    """tf.data pipelines like chapter 04's: shuffled, augmented training batches; plain validation."""
    import tensorflow as tf

    train_ds = tf.data.Dataset.from_tensor_slices(train).shuffle(len(train[1]), seed=seed).batch(batch_size)
    if augment:
        train_ds = records.augment_batches(train_ds, records.BOOK_AUGMENTATIONS, seed, **records.BOOK_AUGMENT_OPTIONS)
    vali_ds = tf.data.Dataset.from_tensor_slices(vali).batch(256)
    return train_ds.prefetch(tf.data.AUTOTUNE), vali_ds


def real_dev() -> tuple[np.ndarray, np.ndarray] | None:
    path = real_dev_strips("bench_model's real dev accuracy")
    if path is None:
        return None
    images, labels, _ = records.load_examples(path)
    return images, labels


def plateau_epoch(val_accuracy: list[float], within: float = 0.01) -> int:
    """First epoch (1-based) whose validation accuracy is within ``within`` of the best."""
    best = max(val_accuracy)
    return next(i for i, a in enumerate(val_accuracy, start=1) if a >= best - within)


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    return float((model_lib.predict_proba(model, images).argmax(axis=1) == labels).mean())


def measure(kind: str, epochs: int, args, train, vali, test, real, out_dir: Path) -> dict[str, str]:
    model = model_lib.build_and_compile(kind, seed=args.seed)
    train_ds, vali_ds = datasets(train, vali, args.batch_size, not args.no_augment, args.seed)
    start = time.perf_counter()
    history = model_lib.train_model(model, train_ds, vali_ds, epochs, out_dir / kind, patience=args.patience,
                                    verbose=0, seed=args.seed)
    epochs_run = len(history.history["loss"])
    seconds_per_epoch = (time.perf_counter() - start) / epochs_run
    val_acc = history.history["val_accuracy"]
    speed_strips = args.speed_strips if kind != "m4" else max(256, args.speed_strips // 4)
    row = {
        "parameters": f"{model.count_params():,}",
        "FLOPs per strip": f"{model_lib.count_flops(model):,}",
        "train s/epoch": f"{seconds_per_epoch:.1f}",
        "epochs run (best)": f"{epochs_run} ({int(np.argmin(history.history['val_loss'])) + 1})",
        "val acc plateau epoch": str(plateau_epoch(val_acc)),
        "best val accuracy": f"{max(val_acc):.3f}",
        # M4 runs ~70 strips/s here: a quarter of the strips gives the same rate in a quarter of the time
        "inference strips/s": f"{model_lib.inference_speed(model, n=speed_strips):,.0f}",
        "synthetic test accuracy": f"{accuracy(model, *test):.3f}",
        "real dev accuracy": (f"{accuracy(model, *real):.3f}" if real is not None
                              else "skipped: set SPECTRAL_NB_REALDATA"),
    }
    print(f"  {kind}: done in {time.perf_counter() - start:.0f} s", flush=True)
    return row


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    train = synthetic_split(args.train_per_class, args.seed + 1)
    vali = synthetic_split(args.vali_per_class, args.seed + 2)
    test = synthetic_split(args.test_per_class, args.seed + 3)
    real = real_dev()
    print(f"synthetic strips: train {len(train[1])}, vali {len(vali[1])}, test {len(test[1])} "
          f"({time.perf_counter() - start:.0f} s to generate); real dev: "
          f"{len(real[1]) if real is not None else 'skipped: set SPECTRAL_NB_REALDATA'}; "
          f"augment: {not args.no_augment}; batch {args.batch_size}; epochs m4 {args.epochs_m4}, "
          f"compact {args.epochs_compact} (early stopping, patience {args.patience})", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = {kind: measure(kind, args.epochs_m4 if kind == "m4" else args.epochs_compact, args, train, vali, test,
                              real, Path(tmp))
                for kind in KINDS}
    flops = {k: int(r["FLOPs per strip"].replace(",", "")) for k, r in rows.items()}
    names = list(rows["m4"])
    lines = [f"## nnSIC's M4, compact and colour (the book's) on the same synthetic strips: train {len(train[1])}, "
             f"vali {len(vali[1])}, test {len(test[1])}; chapter 04's augmentations "
             f"{'off' if args.no_augment else 'on'}; epochs m4 {args.epochs_m4}, compact and colour {args.epochs_compact}",
             "", "| | " + " | ".join(KINDS) + " |", "|---|" + "---|" * len(KINDS)]
    lines += [f"| {name} | " + " | ".join(rows[k][name] for k in KINDS) + " |" for name in names]
    lines.append("| FLOPs, fraction of M4's | " + " | ".join(f"1/{flops['m4'] / flops[k]:.0f}" for k in KINDS) + " |")
    lines.append(f"\nTotal {time.perf_counter() - start:.0f} s. M4 trains {args.epochs_m4} epochs, the others "
                 f"{args.epochs_compact} at most: its accuracies are those of a short training, not its best.")
    text = "\n".join(lines)
    print(text)
    data = {"models": rows, "flops": flops, "train": len(train[1]), "vali": len(vali[1]), "test": len(test[1])}
    print(f"\nwritten: {write_results(args.name, vars(args), text, data)}")


if __name__ == "__main__":
    main()
