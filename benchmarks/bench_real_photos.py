"""Real photos from other spectroscopes, end to end: preprocess each one, classify its strip.

Run from the repo root: ``.venv/bin/python benchmarks/bench_real_photos.py [--seeds 0 1 2]
[--model OutputModel/spectral_cnn.keras]``.

The photos are ``$SPECTRAL_NB_REALDATA/raw`` (Spectral Workbench frames; labels from that folder's
README) and ``$SPECTRAL_NB_REALDATA/raw_more`` (21 photos from five other public projects: app
screenshots, greyscale frames, a phone photo; labels in its ``labels.csv``). Each is cut by
``preprocess_photo`` with the default preprocessing parameters and classified as a reader's own photo
would (``analysis.classify_strip`` on the cut strip, so that a grey band is read both ways round as
``classify_photo`` reads it). The models are the book's recipe (chapter 04: the colour model, every augmentation, wide
shift and stretch) trained on ``synthesis.generate_strips`` only, one per seed, as
``bench_sim_to_real`` trains them (medians over seeds), and ``--model`` adds a saved model (the
book's). Nothing real trains anything. Results go to ``benchmarks/results/real_photos.md``; a
montage of the crops goes to ``OutputModel/bench/real_photo_crops.png``.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from spectral_nb import CLASS_NAMES, NUM_CLASSES, analysis, preprocessing as pp, synthesis  # noqa: E402
from spectral_nb.figures import plot_strip_montage  # noqa: E402
from results_io import BOOK_RECIPE, write_results  # noqa: E402

#: raw/ has no labels file; its README's table: label (None: out of class).
RAW_LABELS = {"example-cfl.jpg": 1, "example-cfl-horizontal.jpg": 1, "example-cfl-vertical.png": 1,
              "calibration-example.png": 1, "example-sky.jpg": 2, "sky.png": 2, "led.png": 0,
              "sodium.png": None, "laser.png": None}


def real_photos(root: Path) -> list[tuple[Path, int | None, str]]:
    """(path, label or None for out-of-class light, folder/orientation note) of every labelled photo."""
    photos = [(root / "raw" / name, label, "raw") for name, label in RAW_LABELS.items() if (root / "raw" / name).is_file()]
    labels_csv = root / "raw_more" / "labels.csv"
    if labels_csv.is_file():
        with open(labels_csv, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                label = int(row["label"]) if row["label"].isdigit() else None
                photos.append((root / "raw_more" / row["file"], label, f"raw_more, {row['orientation']}"))
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="book-recipe models to train (none: only --model)")
    parser.add_argument("--per-class", type=int, default=400)
    parser.add_argument("--model", type=Path, default=None, help="also a saved .keras model (e.g. the book's)")
    parser.add_argument("--montage", type=Path,
                        default=Path(__file__).resolve().parents[1] / "OutputModel" / "bench" / "real_photo_crops.png")
    parser.add_argument("--config", default=BOOK_RECIPE, help="the recipe to train (a name in bench_sim_to_real.CONFIGS)")
    parser.add_argument("--name", default="real_photos")
    args = parser.parse_args()
    realdata = os.environ.get("SPECTRAL_NB_REALDATA")
    if not realdata or not (Path(realdata) / "raw").is_dir():
        print("skipped: bench_real_photos needs SPECTRAL_NB_REALDATA pointing at the real data (raw/, raw_more/)")
        return
    photos = real_photos(Path(realdata))
    strips, reports, refused = {}, {}, {}
    for path, _, _ in photos:
        try:
            strips[path.name], reports[path.name] = pp.preprocess_photo(path)
        except pp.PhotoError as error:
            refused[path.name] = str(error)
    models = {}
    import bench_sim_to_real as sim

    kind, augment, options, _ = sim.CONFIGS[args.config]
    for seed in args.seeds:
        x_train, y_train, x_val, y_val = sim.synthetic_splits(args.per_class, seed)
        models[f"seed {seed}"] = sim.train(x_train, y_train, x_val, y_val, 30, seed, augment, kind, augment_options=options)
        print(f"  trained seed {seed}", flush=True)
    if args.model is not None:
        import keras

        models[args.model.name] = keras.models.load_model(args.model)
    names = [p.name for p, _, _ in photos if p.name in strips]
    # as classify_photo reads each photo (a grey band both ways round), one model at a time
    predictions = {m: np.array([analysis.classify_strip(strips[n], reports[n], model, threshold=0.0)["probabilities"]
                                for n in names]).reshape(len(names), NUM_CLASSES) for m, model in models.items()}
    if len(args.seeds) > 1:  # the seeds' models together, their probabilities averaged: one measurement
        predictions[f"ensemble of the {len(args.seeds)} seeds"] = np.mean(
            [predictions[f"seed {s}"] for s in args.seeds], axis=0)
    columns = list(predictions)
    out = [f"## Real photos through the book's pipeline (preprocess_photo defaults, then the model); "
           f"models: {args.config} on {args.per_class * NUM_CLASSES} synthetic strips "
           f"(generator version {synthesis.GENERATOR_VERSION}), seeds {args.seeds}"
           + (f", and {args.model.name}" if args.model else "") + "\n",
           "| photo | folder, orientation | true class | preprocessing | " + " | ".join(columns) + " |",
           "|---|---|---|---|" + "---|" * len(columns)]
    right = {m: 0 for m in columns}
    right_in = {folder: {m: 0 for m in columns} for folder in ("raw", "raw_more")}
    in_class = [p for p in photos if p[1] is not None]
    rows = []
    for path, label, note in photos:
        truth = CLASS_NAMES[label] if label is not None else "(none of the 7)"
        if path.name in refused:
            cells = ["refused"] * len(columns)
            how = "refused: " + refused[path.name].replace("|", "/")[:120]
        else:
            rep = reports[path.name]
            how = f"{rep['dispersion']}, flipped {rep['flipped']}, confidence {rep['confidence']:.2f}"
            i = names.index(path.name)
            cells = []
            for m in columns:
                p = predictions[m][i]
                top = int(p.argmax())
                ok = label is not None and top == label
                right[m] += ok
                right_in[path.parent.name][m] += ok
                cells.append(f"{'**' if ok else ''}{CLASS_NAMES[top]} {p[top]:.2f}{'**' if ok else ''}")
        rows.append({"photo": path.name, "label": label, "preprocessing": how, "predicted": cells})
        out.append(f"| {path.name} | {note} | {truth} | {how} | " + " | ".join(cells) + " |")
    seeds_right = [right[f"seed {s}"] for s in args.seeds]
    summary = (f"\nIn-class photos classified right: {', '.join(f'{m} {right[m]}/{len(in_class)}' for m in columns)}"
               + (f"; median over the seeds {int(np.median(seeds_right))}/{len(in_class)}" if seeds_right else "")
               + f". Refused by preprocessing: {len(refused)} of {len(photos)} photos"
               + f" ({sum(p[1] is not None and p[0].name in refused for p in photos)} of them in-class).")
    out.append(summary)
    per_folder = {}
    for folder, counts in right_in.items():
        n = sum(1 for p in in_class if p[0].parent.name == folder)
        seeds = [counts[f"seed {s}"] for s in args.seeds]
        per_folder[folder] = {"in_class": n, "right": counts,
                              "median_right": float(np.median(seeds)) if seeds else None}
        out.append(f"{folder}/: {n} in-class photos; right: " + ", ".join(f"{m} {counts[m]}/{n}" for m in columns)
                   + (f"; median over the seeds {int(np.median(seeds))}/{n}" if seeds else ""))
    if names:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_strip_montage([strips[n] for n in names], names).figure
        args.montage.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.montage, dpi=90)
        out.append(f"\nMontage of the crops: {args.montage.relative_to(Path(__file__).resolve().parents[1]) if args.montage.is_relative_to(Path(__file__).resolve().parents[1]) else args.montage}")
    text = "\n".join(out)
    print(text)
    data = {"rows": rows, "right": right, "in_class": len(in_class), "refused": refused,
            "median_right": float(np.median(seeds_right)) if seeds_right else None, "per_folder": per_folder}
    print(f"\nwritten: {write_results(args.name, vars(args), text, data)}")


if __name__ == "__main__":
    main()
