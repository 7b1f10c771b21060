"""How real do the synthetic strips look? Statistic gaps per class and a real-vs-synthetic AUC.

Run from the repository root: ``.venv/bin/python benchmarks/bench_realism.py [--per-class 60] [--seed 77]
[--name realism]``.

Two kinds of synthetic strips are compared with the real nnSIC dev strips
(``$SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords``, 90 strips): strips drawn directly
(``synthesis.render_strip``, what ``bench_sim_to_real`` trains on) and chapter 02's crops of
whole synthetic photos (``synthesis.render_photo`` then ``preprocessing.preprocess_photo``, what
the book trains on). For each: the medians of every statistic of ``realism.STATISTICS`` per class,
real / synthetic, with the two-sample Kolmogorov-Smirnov distance in brackets (0: the same
distribution, 1: no overlap), and the cross-validated AUC of a logistic regression that tells real
from synthetic (0.5: indistinguishable), with the features it leans on most. Nothing here trains
the book's classifier; the real strips are only measured.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from spectral_nb import NUM_CLASSES, preprocessing, realism, records, synthesis  # noqa: E402
from results_io import real_dev_strips, write_results  # noqa: E402


def photo_crops(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Chapter 02's crops of fresh synthetic photos (photos the cropper refuses are left out)."""
    strips, labels = [], []
    for label in range(NUM_CLASSES):
        for k in range(per_class):
            photo, _ = synthesis.render_photo(label, np.random.default_rng([seed, label, k]))
            try:
                strip, _ = preprocessing.preprocess_photo(photo)
            except preprocessing.PhotoError:
                continue
            strips.append(strip)
            labels.append(label)
    return np.stack(strips), np.array(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60, help="synthetic strips (and photos) per class")
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--name", default="realism", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    real_path = real_dev_strips("bench_realism")
    if real_path is None:
        return
    x_real, y_real, _ = records.load_examples(real_path)
    real_stats = realism.strip_statistics(x_real)
    start = time.perf_counter()
    sets = {"direct strips (render_strip)": synthesis.generate_strips((args.per_class,) * NUM_CLASSES, seed=args.seed)[:2],
            "photo crops (render_photo + preprocess_photo)": photo_crops(args.per_class, args.seed)}
    out, data = [], {"generator_version": synthesis.GENERATOR_VERSION}
    out.append(f"## Realism: real nnSIC dev strips ({len(y_real)}) vs synthetic strips, generator version "
               f"{synthesis.GENERATOR_VERSION}, {args.per_class} per class, seed {args.seed}\n")
    for name, (images, labels) in sets.items():
        rows = realism.compare_statistics(real_stats, y_real, realism.strip_statistics(images), labels)
        disc = realism.real_vs_synthetic_auc(x_real, images, seed=args.seed)
        top = sorted(disc["weights"].items(), key=lambda kv: -abs(kv[1]))[:5]
        mean_ks = float(np.mean([r["ks"] for r in rows if r["label"] >= 0]))
        out.append(f"### {name}: {len(labels)} strips\n")
        out.append("Medians real / synthetic (KS distance) per class; brightest channel, grey levels 0-255.\n")
        out.append(realism.gap_table(rows) + "\n")
        out.append(f"Mean KS distance over statistics and classes: **{mean_ks:.3f}**. Real-vs-synthetic "
                   f"discriminator (logistic regression, {disc['folds']}-fold cross-validated): "
                   f"**AUC {disc['auc']:.3f}**; it leans most on "
                   + ", ".join(f"{k} ({'+' if w > 0 else '-'}{abs(w):.2f}: {'higher' if w > 0 else 'lower'} in real)"
                               for k, w in top) + ".\n")
        data[name] = {"rows": rows, "auc": disc["auc"], "mean_ks": mean_ks, "top_weights": top, "n": int(len(labels))}
    out.append(f"({time.perf_counter() - start:.0f} s)")
    text = "\n".join(out)
    print(text)
    path = write_results(args.name, vars(args), text, data)
    print(f"\nwritten: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
