"""Sim-to-real: train on synthetic strips only, test on real nnSIC strips.

Run from the repo root: ``.venv/bin/python benchmarks/bench_sim_to_real.py [--per-class 500] [--seeds 0 1 2] [--model OutputModel/spectral_cnn.keras]``.

The model is the book's compact model (``spectral_nb.model.build_model("compact")`` trained with
``train_model`` as chapter 04 does), with and without the book's shift-and-stretch augmentation,
over several seeds (medians reported). It trains on ``synthesis.generate_strips`` only and is
chosen by a synthetic validation set only; ``--model`` also scores a saved model (the book's,
trained on photos cut by chapter 02). The real strips
(``$SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords``, 88 strips) are used once, at the end, to report
accuracy and the confusion matrix: they judge the generator, nothing else.
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
from spectral_nb import CLASS_NAMES, NUM_CLASSES, records, synthesis  # noqa: E402


AUGMENTS = {"none": None, "shift+stretch (book)": ("shift", "stretch")}


def train(x_train, y_train, x_val, y_val, epochs: int, seed: int, augment):
    """The book's compact model trained as chapter 04 does (early stopping on validation loss)."""
    import keras
    import tensorflow as tf

    from spectral_nb import model as book_model, records

    keras.utils.set_random_seed(seed)
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=seed).batch(64)
    if augment:
        train_ds = records.augment_batches(train_ds, augment, seed)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)
    model = book_model.build_model("compact", seed=seed)
    with tempfile.TemporaryDirectory() as out_dir:
        book_model.train_model(model, train_ds, val_ds, epochs, out_dir, patience=8, verbose=0, seed=seed)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500, help="synthetic training strips per class")
    parser.add_argument("--epochs", type=int, default=40, help="at most; early stopping (patience 8) ends sooner")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", type=Path, default=None,
                        help="also evaluate a trained .keras file (e.g. OutputModel/spectral_cnn.keras)")
    args = parser.parse_args()
    realdata = os.environ.get("SPECTRAL_NB_REALDATA")
    real_path = Path(realdata) / "nnsic_dev.tfrecords" if realdata else None
    if real_path is None or not real_path.exists():
        print("skipped: sim-to-real needs SPECTRAL_NB_REALDATA with nnsic_dev.tfrecords (the real data beside the project)")
        return
    x_real, y_real, _ = records.load_examples(real_path)  # used only to report, never to train or to choose
    results = {name: [] for name in AUGMENTS}
    confusions = {name: np.zeros((NUM_CLASSES, NUM_CLASSES), int) for name in AUGMENTS}
    seconds = []
    for seed in args.seeds:
        x_train, y_train, _ = synthesis.generate_strips((args.per_class,) * NUM_CLASSES, seed=1000 + seed)
        x_val, y_val, _ = synthesis.generate_strips((max(20, args.per_class // 5),) * NUM_CLASSES, seed=2000 + seed)
        for name, augment in AUGMENTS.items():
            start = time.perf_counter()
            model = train(x_train, y_train, x_val, y_val, args.epochs, seed, augment)
            seconds.append(time.perf_counter() - start)
            val_acc = float((model.predict(x_val, verbose=0).argmax(1) == y_val).mean())
            pred = model.predict(x_real, verbose=0).argmax(1)
            results[name].append((val_acc, float((pred == y_real).mean())))
            np.add.at(confusions[name], (y_real, pred), 1)
    print(f"## Sim-to-real: the compact model trained on {args.per_class * NUM_CLASSES} synthetic strips "
          f"(synthesis.generate_strips), seeds {args.seeds}; tested on {len(y_real)} real nnSIC dev strips")
    print(f"(training {np.median(seconds):.0f} s per run, median)\n")
    print("| augmentation | synthetic validation acc. (median) | real dev acc. (median) | real dev acc. per seed | target |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        vals, reals = zip(*runs)
        print(f"| {name} | {np.median(vals):.3f} | {np.median(reals):.3f} | {', '.join(f'{r:.3f}' for r in reals)} | 0.958 |")
    if args.model is not None:
        import keras

        pred = keras.models.load_model(args.model).predict(x_real, verbose=0).argmax(1)
        print(f"\n{args.model.name}: real dev accuracy {np.mean(pred == y_real):.3f} ({int((pred == y_real).sum())}/{len(y_real)})")
    best = max(results, key=lambda name: np.median([r for _, r in results[name]]))
    print(f"\nConfusion matrix on the real strips, '{best}', summed over the {len(args.seeds)} seeds "
          "(rows: true class, columns: predicted)")
    print("| true \\ predicted | " + " | ".join(CLASS_NAMES) + " | recall |")
    print("|---|" + "---|" * (NUM_CLASSES + 1))
    for t in range(NUM_CLASSES):
        row = confusions[best][t]
        print(f"| {CLASS_NAMES[t]} | " + " | ".join(str(v) for v in row) + f" | {row[t] / max(1, row.sum()):.2f} |")


if __name__ == "__main__":
    main()
