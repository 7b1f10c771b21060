"""Sim-to-real: train on synthetic strips only, test on real nnSIC strips.

Run from the repo root: ``.venv/bin/python benchmarks/bench_sim_to_real.py [--per-class 400] [--seeds 0 1 2]
[--configs ...] [--model OutputModel/spectral_cnn.keras]``.

Each configuration is a model kind (``spectral_nb.model.build_model``: ``"colour"``, the book's,
or ``"compact"``, the grey-profile model it replaced) and a set of training augmentations
(``records.augment_images``), trained with ``train_model`` as chapter 04 does, over several seeds
(medians reported). It trains on ``synthesis.generate_strips`` only and is chosen by a synthetic
validation set only; ``--model`` also scores a saved model (the book's, trained on photos cut by
chapter 02). The real strips (``$SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords``, 90 strips) are used
once per run, at the end, to report accuracy, weighted precision, per-class recall and the
confusion matrix: they judge the generator and the recipe, they train nothing. Results go to
``benchmarks/results/sim_to_real.md``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from spectral_nb import CLASS_NAMES, NUM_CLASSES, analysis, records, synthesis  # noqa: E402
from spectral_nb import model as book_model  # noqa: E402
from results_io import real_dev_strips, write_results  # noqa: E402

GEOMETRIC = ("shift", "stretch")
#: The six photometric augmentations of the recipes before greyscale joined the book (spelt out, so
#: that the configurations below keep meaning what their results files measured).
PHOTOMETRIC = ("gain", "gamma", "white_balance", "black_level", "noise", "blur")
#: name -> (model kind, augmentations, augmentation options, training options). Training options
#: override the command line's: ``width`` (``build_model``), ``lr_patience``, ``patience`` and
#: ``epochs`` (``train_model``). "book + greyscale 5%" is the book's recipe (chapter 04,
#: ``records.BOOK_AUGMENTATIONS`` with ``records.BOOK_AUGMENT_OPTIONS``; ``results_io.BOOK_RECIPE``);
#: "colour+all, wide shift/stretch" is the recipe before it (no greyscale), "book before the wide
#: model" the one before that (width 1, a constant learning rate, at most 60 epochs, patience 8), and
#: "book + greyscale" greyscale at 15%, measured and not adopted.
WIDE = {"max_shift_px": 48.0, "max_stretch": 0.2}
BEFORE_WIDE = {"width": 1, "lr_patience": None, "patience": 8, "epochs": 60}
CONFIGS = {
    "compact+geometric": ("compact", GEOMETRIC, {}, {}),
    "colour+geometric": ("colour", GEOMETRIC, {}, {}),
    "colour+all": ("colour", GEOMETRIC + PHOTOMETRIC, {}, {}),
    "colour+all, wide shift/stretch": ("colour", GEOMETRIC + PHOTOMETRIC, WIDE, {}),
    "book before the wide model": ("colour", GEOMETRIC + PHOTOMETRIC, WIDE, BEFORE_WIDE),
    "book + greyscale": ("colour", GEOMETRIC + PHOTOMETRIC + ("greyscale",), {**WIDE, "greyscale_share": 0.15}, {}),
    "book + greyscale 5%": ("colour", GEOMETRIC + PHOTOMETRIC + ("greyscale",), {**WIDE, "greyscale_share": 0.05}, {}),
}
#: What runs without ``--configs``; the ablation (``--ablate``) adds the book's recipe without each
#: photometric augmentation in turn ("book without gain", ...).
DEFAULT_CONFIGS = tuple(CONFIGS)
for _lever in records.PHOTOMETRIC_AUGMENTATIONS:
    CONFIGS[f"book without {_lever}"] = ("colour", tuple(a for a in records.BOOK_AUGMENTATIONS if a != _lever),
                                         dict(records.BOOK_AUGMENT_OPTIONS), {})
#: The configurations ``--ablate`` adds.
ABLATION_CONFIGS = tuple(name for name in CONFIGS if name not in DEFAULT_CONFIGS)
#: ``--book-ablation``: the book's recipe with one of chapter 04's choices undone (no augmentation at all;
#: the grey profile, the compact model at the colour model's width; class weights on the photos once
#: each instead of over-sampling), run beside the recipe itself.
BOOK_ABLATION_CONFIGS = ("book without augmentation", "book on the grey profile", "book with class weights, not over-sampled")
CONFIGS["book without augmentation"] = ("colour", (), {}, {})
CONFIGS["book on the grey profile"] = ("compact", records.BOOK_AUGMENTATIONS, dict(records.BOOK_AUGMENT_OPTIONS),
                                       {"width": book_model.COLOUR_WIDTH})
CONFIGS["book with class weights, not over-sampled"] = ("colour", records.BOOK_AUGMENTATIONS,
                                                        dict(records.BOOK_AUGMENT_OPTIONS), {"class_weights": True})

#: A trial for the synthetic test's over-exposed LEDs: the book's recipe with exposures drawn up to
#: e^1.2 = 3.3 times the strip's instead of e^0.5 = 1.65 (auto-exposure metering a dark frame
#: over-exposes a bright spectrum; chapter 05's sweep: accuracy falls from 2x the light).
CONFIGS["book + exposure to x3.3"] = ("colour", records.BOOK_AUGMENTATIONS,
                                      {**records.BOOK_AUGMENT_OPTIONS, "max_log_gain": 1.2}, {})


def once_each(names) -> np.ndarray:
    """Indices of the first strip of each photo name, in order: an over-sampled training split without its copies."""
    _, first = np.unique(np.asarray(names), return_index=True)
    return np.sort(first)


def synthetic_splits(per_class: int, seed: int):
    """``(x_train, y_train, x_val, y_val)``: the synthetic training strips of ``seed`` (generator seed
    1000 + seed, ``per_class`` per class) and its validation strips (2000 + seed, a fifth as many, at least 20)."""
    x_train, y_train, _ = synthesis.generate_strips((per_class,) * NUM_CLASSES, seed=1000 + seed, workers=2)
    x_val, y_val, _ = synthesis.generate_strips((max(20, per_class // 5),) * NUM_CLASSES, seed=2000 + seed, workers=2)
    return x_train, y_train, x_val, y_val


def record_splits(records_dir: Path):
    """``(x_train, y_train, x_val, y_val, x_test, y_test, train photo names)`` from chapter 03's records in ``records_dir``
    (``synthetic_train``, ``synthetic_vali`` and ``synthetic_test``: synthetic photos cut by chapter 02, the
    training split over-sampled), i.e. exactly what chapter 04 trains and tests the book's model on."""
    files = {s: Path(records_dir) / f"synthetic_{s}.tfrecords" for s in ("train", "vali", "test")}
    missing = [p for p in files.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"--records: {missing[0]} is missing: run the book first (`make book`), which writes chapter "
                         "03's records there")
    x_train, y_train, names_train = records.load_examples(files["train"])
    x_val, y_val, _ = records.load_examples(files["vali"])
    x_test, y_test, _ = records.load_examples(files["test"])
    return x_train, y_train, x_val, y_val, x_test, y_test, names_train


def photo_counts(scale: float = synthesis.BOOK_PHOTO_SCALE) -> tuple[int, ...]:
    """Photos per class for ``--photos``: nnSIC's counts (``synthesis.NNSIC_PHOTO_COUNTS``) times ``scale``,
    rounded; the default is chapter 01's ``BOOK_PHOTO_COUNTS``."""
    return tuple(max(1, int(round(n * scale))) for n in synthesis.NNSIC_PHOTO_COUNTS)


def photo_splits(seed: int, scale: float = synthesis.BOOK_PHOTO_SCALE):
    """``(x_train, y_train, x_val, y_val, x_test, y_test, train photo names, test sources)`` made as the book makes
    them, from a photo seed of its own (test sources: each test strip's light source, from ``labels.csv``):
    chapter 01's photos (nnSIC's counts times ``scale``, generator seed 1000 + ``seed``), cut by chapter 02
    with the default parameters, split and over-sampled by chapter 03 (``records.make_splits``, seed
    ``seed``); the book itself uses photo seed 42 and split seed 42."""
    from spectral_nb import preprocessing

    with tempfile.TemporaryDirectory() as tmp:
        photos, strips = Path(tmp) / "photos", Path(tmp) / "strips"
        synthesis.generate_photo_folder(photos, photo_counts(scale), 1000 + seed, workers=2)
        preprocessing.preprocess_folder(photos, strips)
        images, labels, names = records.read_strip_folder(strips)
        source_of = {row["path"]: row["source"] for row in synthesis.read_labels(photos / "labels.csv")}
    splits = records.make_splits(images, labels, names, seed=seed)
    sources = [source_of.get(name, "?") for name in splits["test"].filenames]
    return (*(a for s in records.SPLITS for a in (splits[s].images, splits[s].labels)), splits["train"].filenames,
            sources)


def train(x_train, y_train, x_val, y_val, epochs: int, seed: int, augment, kind: str = "colour", patience: int = 12,
          augment_options: dict | None = None, width: int | None = None, lr_patience: int | None = 3,
          class_weight: dict | None = None):
    """A model of ``kind`` (filter multiplier ``width``, default the book's) trained as chapter 04 does:
    early stopping on validation loss after ``patience`` epochs, learning-rate cuts after ``lr_patience``;
    ``class_weight`` weighs each class in the loss (``records.balanced_class_weights``)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=seed).batch(64)
    if augment:
        train_ds = records.augment_batches(train_ds, augment, seed, **(augment_options or {}))
    train_ds = train_ds.prefetch(2)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)
    model = book_model.build_model(kind, seed=seed, width=width)
    with tempfile.TemporaryDirectory() as out_dir:
        book_model.train_model(model, train_ds, val_ds, epochs, out_dir, patience=patience, lr_patience=lr_patience,
                               verbose=0, seed=seed, class_weight=class_weight)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=400, help="synthetic training strips per class")
    parser.add_argument("--epochs", type=int, default=100,
                        help="at most (chapter 04's); early stopping (--patience) ends sooner")
    parser.add_argument("--patience", type=int, default=12,
                        help="epochs without a lower validation loss before stopping (chapter 04's)")
    parser.add_argument("--lr-patience", type=int, default=3,
                        help="epochs without a lower validation loss before the learning rate is cut (chapter 04's)")
    parser.add_argument("--records", type=Path, default=None,
                        help="train on chapter 03's records in this folder (e.g. InputData/records, after `make book`: "
                             "photos cut by chapter 02, as chapter 04 trains) instead of synthesis.generate_strips")
    parser.add_argument("--photos", action="store_true",
                        help="make each seed's training data as the book does, from photos of that seed: chapter 01's "
                             "photos, chapter 02's crops, chapter 03's splits (a few minutes per seed)")
    parser.add_argument("--photo-scale", type=float, default=float(synthesis.BOOK_PHOTO_SCALE),
                        help="with --photos: this many times nnSIC's photos per class (default: the book's, "
                             "synthesis.BOOK_PHOTO_SCALE; 1: nnSIC's count)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), choices=list(CONFIGS), metavar="CONFIG",
                        help=f"which of: {'; '.join(CONFIGS)}")
    parser.add_argument("--ablate", action="store_true",
                        help="the book's recipe without each photometric augmentation in turn (adds 7 configurations)")
    parser.add_argument("--book-ablation", action="store_true",
                        help="the book's recipe beside it with one choice undone: " + "; ".join(BOOK_ABLATION_CONFIGS))
    parser.add_argument("--model", type=Path, default=None,
                        help="also evaluate a trained .keras file (e.g. OutputModel/spectral_cnn.keras)")
    parser.add_argument("--name", default="sim_to_real", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    real_path = real_dev_strips("bench_sim_to_real")
    if real_path is None:
        return
    x_real, y_real, _ = records.load_examples(real_path)  # used only to report, never to train or to choose
    # what runs: --configs, then what --ablate and --book-ablation add (the arguments are recorded as given)
    configs = list(dict.fromkeys([*args.configs, *(ABLATION_CONFIGS if args.ablate else ()),
                                  *(BOOK_ABLATION_CONFIGS if args.book_ablation else ())]))
    runs = {name: [] for name in configs}
    ensembles: dict[str, dict] = {}
    # the book's records are the same strips for every seed (only the training's randomness differs): read once
    recorded = record_splits(args.records) if args.records is not None else None
    for seed in args.seeds:
        x_test = y_test = names_train = test_sources = None  # generate_strips: a validation set only
        if recorded is not None:
            x_train, y_train, x_val, y_val, x_test, y_test, names_train = recorded
        elif args.photos:
            x_train, y_train, x_val, y_val, x_test, y_test, names_train, test_sources = photo_splits(seed, args.photo_scale)
        else:
            x_train, y_train, x_val, y_val = synthetic_splits(args.per_class, seed)
        for name in configs:
            kind, augment, options, training = CONFIGS[name]
            x_fit, y_fit, class_weight = x_train, y_train, None
            if training.get("class_weights"):  # each photo once, every class weighed to count equally
                keep = once_each(names_train) if names_train is not None else np.arange(len(y_train))
                x_fit, y_fit = x_train[keep], y_train[keep]
                class_weight = records.balanced_class_weights(y_fit)
            start = time.perf_counter()
            model = train(x_fit, y_fit, x_val, y_val, training.get("epochs", args.epochs), seed, augment, kind,
                          patience=training.get("patience", args.patience), augment_options=options,
                          width=training.get("width"), lr_patience=training.get("lr_patience", args.lr_patience),
                          class_weight=class_weight)
            seconds = time.perf_counter() - start
            val_acc = float((analysis.predict_proba(model, x_val).argmax(1) == y_val).mean())
            test_pred = None if x_test is None else analysis.predict_proba(model, x_test).argmax(1)
            test_acc = None if x_test is None else float((test_pred == y_test).mean())
            test_errors = [] if test_sources is None else [
                f"{test_sources[i]} ({CLASS_NAMES[y_test[i]]}) called {CLASS_NAMES[test_pred[i]]}"
                for i in np.flatnonzero(test_pred != y_test)]
            proba = analysis.predict_proba(model, x_real)
            pred = proba.argmax(1)
            _, warp_mean, _ = analysis.warp_vote_predict(model, x_real)  # test-time views (chapter 05)
            confusion = analysis.confusion_matrix(y_real, pred)
            metrics = analysis.class_metrics(confusion)
            runs[name].append({"seed": seed, "val_acc": val_acc, "test_acc": test_acc, "real_acc": metrics.accuracy,
                               "predictions": pred.tolist(), "weighted_precision": metrics.weighted_precision,
                               "real_acc_warp_mean": float((warp_mean.argmax(1) == y_real).mean()),
                               "recall": metrics.recall.tolist(), "confusion": confusion.tolist(),
                               "proba": proba.round(4).tolist(), "seconds": seconds, "test_errors": test_errors})
            print(f"  {name} seed {seed}: real {runs[name][-1]['real_acc']:.3f} ({seconds:.0f} s)", flush=True)
    source = (f"{len(y_train)} strips of chapter 03's records ({args.records}: synthetic photos cut by chapter 02, "
              f"over-sampled)" if args.records is not None else
              f"the book's pipeline on each seed's own photos ({sum(photo_counts(args.photo_scale))} photos, photo seed "
              f"1000 + seed, cut by chapter 02, split and over-sampled by chapter 03)" if args.photos else
              f"{args.per_class * NUM_CLASSES} synthetic strips (synthesis.generate_strips)")
    out = [f"## Sim-to-real: trained on {source}, generator version {synthesis.GENERATOR_VERSION}, seeds {args.seeds} "
           f"(unless a configuration says otherwise: at most {args.epochs} epochs, patience {args.patience}, learning rate "
           f"cut after {args.lr_patience}, the book's width); tested on {len(y_real)} real nnSIC dev strips\n",
           "| configuration (model + augmentations) | synthetic validation acc. | synthetic test acc., median (per seed) "
           "| real dev acc., median | per seed "
           "| weighted precision, median | worst class recall (median over seeds) "
           "| real dev acc., mean of the 5 warp views, median | training s, median | target |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, rs in runs.items():
        recalls = np.median([r["recall"] for r in rs], axis=0)
        tests = [r["test_acc"] for r in rs if r["test_acc"] is not None]
        test_cell = (f"{np.median(tests):.3f} ({', '.join(format(t, '.3f') for t in tests)})" if tests
                     else "(no test split: generate_strips)")
        options = "".join(f"; {k} {v}" for k, v in {**CONFIGS[name][2], **CONFIGS[name][3]}.items())
        out.append(f"| {name} ({CONFIGS[name][0]}; {', '.join(CONFIGS[name][1])}{options}) | {np.median([r['val_acc'] for r in rs]):.3f} "
                   f"| {test_cell} | **{np.median([r['real_acc'] for r in rs]):.3f}** | {', '.join(format(r['real_acc'], '.3f') for r in rs)} "
                   f"| {np.median([r['weighted_precision'] for r in rs]):.3f} "
                   f"| {CLASS_NAMES[int(np.argmin(recalls))]} {recalls.min():.2f} "
                   f"| {np.median([r['real_acc_warp_mean'] for r in rs]):.3f} "
                   f"| {np.median([r['seconds'] for r in rs]):.0f} | 0.958, every recall >= 0.80 |")
    for name, rs in runs.items():
        confusion = np.sum([r["confusion"] for r in rs], axis=0)
        recalls = np.median([r["recall"] for r in rs], axis=0)
        out.append(f"\nConfusion matrix on the real strips, {name}, summed over the {len(rs)} seeds "
                   "(rows: true class, columns: predicted); recall: median over seeds")
        out.append("| true \\ predicted | " + " | ".join(CLASS_NAMES) + " | recall |")
        out.append("|---|" + "---|" * (NUM_CLASSES + 1))
        for t in range(NUM_CLASSES):
            out.append(f"| {CLASS_NAMES[t]} | " + " | ".join(str(v) for v in confusion[t]) + f" | {recalls[t]:.2f} |")
    if args.photos:  # what the synthetic test splits get wrong, by light source (labels.csv of each seed's photos)
        out.append("\nSynthetic test errors by light source, summed over the seeds (each seed's own test split)")
        out.append("| configuration | errors | most frequent |")
        out.append("|---|---|---|")
        for name, rs in runs.items():
            counts = Counter(e for r in rs for e in r["test_errors"])
            common = "; ".join(f"{e} x{n}" for e, n in counts.most_common(8))
            out.append(f"| {name} | {sum(counts.values())} | {common or '-'} |")
    if len(args.seeds) > 1:  # the seeds' models together: their probabilities averaged (one measurement)
        out.append(f"\nEnsembles: the {len(args.seeds)} seeds' models of a configuration, probabilities averaged "
                   "(one measurement each, not a median; it costs the seeds' training and inference together)")
        out.append("| configuration | real dev acc., ensemble | right / real strips | single seed, median |")
        out.append("|---|---|---|---|")
        for name, rs in runs.items():
            pred = np.mean([r["proba"] for r in rs], axis=0).argmax(1)
            right = int((pred == y_real).sum())
            ensembles[name] = {"real_acc": right / len(y_real), "predictions": pred.tolist()}
            out.append(f"| {name} | {right / len(y_real):.3f} | {right}/{len(y_real)} "
                       f"| {np.median([r['real_acc'] for r in rs]):.3f} |")
    data = {"runs": runs, "ensembles": ensembles}
    if args.model is not None:
        pred = book_model.predict_proba(book_model.load_trained_model(args.model), x_real).argmax(1)
        out.append(f"\n{args.model.name}: real dev accuracy {np.mean(pred == y_real):.3f} "
                   f"({int((pred == y_real).sum())}/{len(y_real)})")
        data["saved_model"] = {"path": str(args.model), "real_acc": float(np.mean(pred == y_real))}
    text = "\n".join(out)
    print(text)
    print(f"\nwritten: {write_results(args.name, vars(args), text, data)}")


if __name__ == "__main__":
    main()
