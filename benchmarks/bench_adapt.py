"""Adapting the synthetic model to one spectroscope with a few labelled strips (``spectral_nb.adapt``).

Run from the repo root: ``.venv/bin/python benchmarks/bench_adapt.py [--model OutputModel/spectral_cnn.keras]
[--draws 5] [--ks 0 1 2 5 10 100]``.

The synthetic model is ``--model`` (e.g. the book's, chapter 04's output) or, without it, one trained
here with the book's recipe on ``synthesis.generate_strips`` (``bench_sim_to_real``, seed 0). Then:

1. **Recipes** at k = 5 strips per class on the real dev strips (``$SPECTRAL_NB_REALDATA``): what
   trains (every layer or only the dense head) and whether synthetic strips are replayed in every
   batch; medians over ``--draws`` stratified draws (``adapt.draw_few``: never more than half of a
   class, never the same source photo on both sides), tested on the rest.
2. **Learning curve** on the dev strips with the default recipe: accuracy on the remaining strips
   against k (0 = the synthetic model as it is; a k beyond a class's half takes its half).
3. **Learning curve on the second synthetic spectroscope** (``adapt.second_spectroscope``: a
   monochrome camera), the offline version of chapter 07.

Each adapted model is also scored on synthetic test strips of the book's mix (it should not forget
them: within 2 points of the synthetic model). Fine-tuning on real strips is the point of this
benchmark (issue: "Chapter 07"), and only here. Results: ``benchmarks/results/adapt.md``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from spectral_nb import NUM_CLASSES, adapt, analysis, records, synthesis  # noqa: E402
from results_io import real_dev_strips, write_results  # noqa: E402

#: name -> fine_tune options, compared at k = 5 (the first is the default recipe).
RECIPES = {
    "all layers, synthetic replay": {"trainable": "all", "replay_share": 0.5},
    "all layers, no replay": {"trainable": "all", "replay_share": 0.0},
    "dense head, synthetic replay": {"trainable": "head", "replay_share": 0.5},
    "dense head, no replay": {"trainable": "head", "replay_share": 0.0},
}


def _accuracy(model, x, y) -> float:
    return float((analysis.predict_proba(model, x).argmax(1) == y).mean())


def _curve(model, x, y, groups, ks, draws, replay, extra, options, label):
    rows = adapt.learning_curve(model, x, y, ks, draws, replay=replay, groups=groups, test_extra=extra, **options)
    for r in rows:
        print(f"  {label} k={r['k']}: {r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f}), "
              f"synthetic {r['extra_median']:.3f}", flush=True)
    return rows


def _table(rows, base_synthetic: float) -> list[str]:
    out = ["| strips per class (k) | strips fine-tuned on (median) | tested on | accuracy on the rest, median "
           "| min-max over draws | the synthetic model on the same strips, median "
           "| synthetic test acc., median | change from the synthetic model |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['k']} | {r['n_train']} | {r['n_test']} | **{r['median']:.3f}** | {r['min']:.3f}-{r['max']:.3f} "
                   f"| {r['base_median']:.3f} | {r['extra_median']:.3f} | {r['extra_median'] - base_synthetic:+.3f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="the synthetic model to adapt (.keras); "
                        "default: train one with the book's recipe (bench_sim_to_real, seed 0)")
    parser.add_argument("--draws", type=int, default=5, help="stratified draws per k (medians reported)")
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 1, 2, 5, 10, 100],
                        help="strips per class; capped at half of each class (100: every class's half)")
    parser.add_argument("--per-class", type=int, default=400, help="synthetic training strips per class (without --model)")
    parser.add_argument("--name", default="adapt", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    import keras

    import bench_sim_to_real

    if args.model is None:  # the synthetic training strips are needed only to train the model here
        x_train, y_train, x_val, y_val = bench_sim_to_real.synthetic_splits(args.per_class, 0)
        kind, augment, options, _ = bench_sim_to_real.CONFIGS["colour+all, wide shift/stretch"]
        model = bench_sim_to_real.train(x_train, y_train, x_val, y_val, 30, 0, augment, kind, augment_options=options)
        source = "trained here: the book's recipe on synthesis.generate_strips, seed 0"
    else:
        model = keras.models.load_model(args.model)
        source = str(args.model)
    replay = adapt.replay_strips()
    x_syn, y_syn, _ = synthesis.generate_strips((60,) * NUM_CLASSES, seed=3000, workers=2)  # the book's mix, unseen
    base_synthetic = _accuracy(model, x_syn, y_syn)
    default = next(iter(RECIPES.values()))
    out = [f"Synthetic model: {source}; its synthetic test accuracy (420 strips of the book's mix, seed 3000): "
           f"{base_synthetic:.3f}. Each fine-tuning: {adapt.fine_tune.__kwdefaults__['steps']} steps of "
           f"{adapt.fine_tune.__kwdefaults__['batch_size']} strips at learning rate "
           f"{adapt.fine_tune.__kwdefaults__['learning_rate']:g}, replay from {len(replay[1])} synthetic strips "
           f"(adapt.replay_strips); "
           f"{args.draws} draws per k.\n"]
    data: dict = {"model": source, "base_synthetic_acc": base_synthetic}
    real_path = real_dev_strips("bench_adapt's real-strip parts")
    if real_path is not None:
        x_real, y_real, names = records.load_examples(real_path)
        out.append(f"## Recipes at k = 5 on the {len(y_real)} real dev strips (accuracy on the strips not fine-tuned on)\n")
        out.append("| recipe | accuracy on the rest, median | min-max | the synthetic model on the same strips, median "
                   "| synthetic test acc., median |")
        out.append("|---|---|---|---|---|")
        data["recipes"] = {}
        for name, options in RECIPES.items():
            row = _curve(model, x_real, y_real, names, [5], args.draws, replay, (x_syn, y_syn), options, name)[0]
            data["recipes"][name] = row
            out.append(f"| {name} | **{row['median']:.3f}** | {row['min']:.3f}-{row['max']:.3f} | {row['base_median']:.3f} "
                       f"| {row['extra_median']:.3f} |")
        rows = _curve(model, x_real, y_real, names, args.ks, args.draws, replay, (x_syn, y_syn), default, "real")
        data["real_curve"] = rows
        out.append(f"\n## Learning curve on the real dev strips ({next(iter(RECIPES))}; target at k = 5: 0.958)\n")
        out += _table(rows, base_synthetic)
    spectroscope = adapt.second_spectroscope()
    x2, y2, _ = synthesis.generate_strips((60,) * NUM_CLASSES, seed=5000, workers=2, spectroscope=spectroscope)
    rows = _curve(model, x2, y2, None, [k for k in args.ks if k <= 10], args.draws, replay, (x_syn, y_syn), default,
                  "second spectroscope")
    data["second_spectroscope_curve"] = rows
    out.append(f"\n## Learning curve on the {spectroscope.name} (adapt.second_spectroscope; 60 synthetic strips per class)\n")
    out += _table(rows, base_synthetic)
    text = "\n".join(out)
    print(text)
    print(f"\nwritten: {write_results(args.name, vars(args), text, data)}")


if __name__ == "__main__":
    main()
