"""Chapter 05's measurements: the CNN against two baselines on real strips, and the cost of the bootstrap.

Run from the repository root:  .venv/bin/python benchmarks/bench_analysis.py [--quick]

1. Speed of the vectorised percentile bootstrap (1,000 resamples, accuracy and weighted precision)
   for test sets of nnSIC's size: medians of 5 runs.
2. Accuracy with bootstrap 95% intervals of the nearest-reference-profile and linear baselines
   (fitted on the SYNTHETIC training strips of chapter 03) and of the chapter 04 CNN, plain, with
   warp voting (shifted and stretched views), and with the "unknown" threshold chosen on the synthetic validation strips, on the
   real strips in SPECTRAL_NB_REALDATA (nnsic_dev.tfrecords) and on nnSIC's test set if downloaded.
   Real strips are only measured, never trained on. Skipped, with a line saying why, when the model,
   the records or the real data are absent.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spectral_nb import NUM_CLASSES, analysis, book, records  # noqa: E402
from results_io import printed_tables, real_dev_strips, write_results  # noqa: E402

SEED = 5  # chapter 05's seed (the bootstrap's), so both print the same numbers


def bench_bootstrap(repeats: int = 5) -> None:
    print("bootstrap, 1000 resamples (median of 5 runs)")
    print(f"{'n strips':>9} {'accuracy ms':>12} {'weighted prec. ms':>18}")
    rng = np.random.default_rng(0)
    for n in (88, 175, 1000):
        y = rng.integers(0, NUM_CLASSES, n)
        p = np.where(rng.random(n) < 0.9, y, rng.integers(0, NUM_CLASSES, n))
        times = {}
        for metric in ("accuracy", "weighted_precision"):
            runs = []
            for r in range(repeats):
                t = time.perf_counter()
                analysis.bootstrap_metric(y, p, metric, n_resamples=1000, seed=r)
                runs.append(time.perf_counter() - t)
            times[metric] = 1000 * statistics.median(runs)
        print(f"{n:>9} {times['accuracy']:>12.1f} {times['weighted_precision']:>18.1f}")
    print()


def real_sets(paths) -> dict[str, Path]:
    found = {}
    try:
        found["nnSIC test"] = records.dataset_files("nnsic", paths)["test"]
    except FileNotFoundError:
        pass
    dev = real_dev_strips("bench_analysis's nnSIC dev half")
    if dev is not None:
        found["nnSIC dev half"] = dev
    return found


def bench_real(quick: bool) -> None:
    paths = book.book_paths(quick)
    sets = real_sets(paths)
    if not sets:
        print("real data: skipped: SPECTRAL_NB_REALDATA is unset (or has no nnsic_dev.tfrecords) and nnSIC's "
              "test set is not downloaded")
        return
    if not paths.model_path.is_file():
        print(f"real data: skipped: no trained model at {paths.relative(paths.model_path)} (run chapter 04"
              f"{' in quick mode' if quick else ''} first)")
        return
    try:
        files = records.dataset_files("synthetic", paths)
    except FileNotFoundError as error:
        print(f"real data: skipped: {error}")
        return
    import keras

    model = keras.models.load_model(paths.model_path)
    x_train, y_train, _ = records.load_examples(files["train"])
    x_vali, y_vali, _ = records.load_examples(files["vali"])
    t = time.perf_counter()
    references = analysis.fit_reference_profiles(x_train, y_train)
    linear = analysis.fit_linear_profile(x_train, y_train)
    fit_s = time.perf_counter() - t
    threshold = analysis.choose_unknown_threshold(analysis.predict_proba(model, x_vali), y_vali)
    print(f"model {paths.relative(paths.model_path)} · baselines fitted on {len(y_train)} synthetic training strips "
          f"in {fit_s:.1f} s · unknown threshold {threshold:.4f} (99% of correct validation predictions kept)")
    for name, path in sets.items():
        x, y, _ = records.load_examples(path)
        probs = analysis.predict_proba(model, x)
        votes, mean_probs, _ = analysis.warp_vote_predict(model, x)
        evaluations = [
            analysis.evaluate("reference profile", y, analysis.reference_scores(references, x).argmax(axis=1), seed=SEED),
            analysis.evaluate("linear on profile", y, linear.predict_proba(x).argmax(axis=1), seed=SEED),
            analysis.evaluate("CNN", y, probs.argmax(axis=1), seed=SEED),
            analysis.evaluate("CNN + warp vote", y, votes, seed=SEED),
            analysis.evaluate("CNN, mean of views", y, mean_probs.argmax(axis=1), seed=SEED),
            analysis.evaluate("CNN + threshold", y, analysis.apply_threshold(probs, threshold), seed=SEED),
        ]
        print(f"\n{name}: {len(y)} real strips ({paths.relative(path)}); correct/true per class, unknown = wrong")
        print(analysis.comparison_table(evaluations))
        print(f"unknown: warp vote {np.sum(votes == analysis.UNKNOWN)}, threshold "
              f"{np.sum(probs.max(axis=1) < threshold)} of {len(y)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use the quick-mode model and records")
    args = parser.parse_args()
    with printed_tables() as tables:
        bench_bootstrap()
        bench_real(args.quick)
    if not args.quick:
        path = write_results("analysis", vars(args), "```\n" + tables.getvalue() + "```", {})
        print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
