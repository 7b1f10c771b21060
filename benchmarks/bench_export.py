"""Exported classifier: sizes, speed and agreement of TFLite (float, int8) and SavedModel with Keras.

Run from the repository root:  .venv/bin/python benchmarks/bench_export.py [--model PATH]
    [--train-per-class 100] [--epochs 8] [--test-per-class 60] [--threads 2] ...

Without ``--model`` it trains the book's colour model briefly, as tests/test_export.py does (100
synthetic strips per class, 8 epochs, seed 0: about 10 s), so the numbers describe a model that
has learnt something but is not the book's; with ``--model OutputModel/spectral_cnn.keras`` they
describe the book's. Reported: bytes on disk of the .keras file, the float and int8 .tflite files
(int8 with the standardisation kept in float, the export's default, and fully int8) and the
SavedModel folder; strips/s of Keras (``spectral_nb.model.predict_proba``) and of the TFLite
interpreter at batch 1 and batch 64 (median of ``--repeats`` timed passes after a warm-up, interleaved); and
against Keras on synthetic test strips (seed 2): the largest probability difference, top-1
agreement and accuracy. The machine's load average is recorded: on a shared 2-core machine the
speeds move with what else runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_io import printed_tables, write_results  # noqa: E402

from spectral_nb import NUM_CLASSES, export, synthesis  # noqa: E402
from spectral_nb import model as model_lib  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a trained .keras model (default: train one briefly, see above)")
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-per-class", type=int, default=60, help="synthetic strips per class for agreement")
    parser.add_argument("--speed-strips", type=int, default=4096, help="strips per timed pass at batch 64")
    parser.add_argument("--speed-strips-batch1", type=int, default=1024, help="strips per timed pass at batch 1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TFLite interpreter threads")
    return parser.parse_args()


def get_model(args: argparse.Namespace):
    import keras

    if args.model is not None:
        return keras.models.load_model(args.model), f"{args.model} (given)"
    keras.utils.set_random_seed(args.seed)
    x, y, _ = synthesis.generate_strips([args.train_per_class] * NUM_CLASSES, seed=1)
    model = model_lib.compile_model(model_lib.build_model("colour", seed=args.seed))
    start = time.perf_counter()
    model.fit(x, y, epochs=args.epochs, batch_size=32, shuffle=True, verbose=0)
    return model, (f"colour model trained here: {args.train_per_class} strips/class, {args.epochs} epochs, "
                   f"seed {args.seed} ({time.perf_counter() - start:.0f} s)")


def interleaved_speeds(runs: dict, repeats: int) -> dict[str, float]:
    """Median strips/s of each ``name: (predict, images)``, timed in rounds (every runtime once per
    round) after a warm-up, so that a change of the machine's load hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for predict, images in runs.values():
        predict(images[: min(len(images), 64)])  # warm-up: tracing, allocation
    for _ in range(repeats):
        for name, (predict, images) in runs.items():
            start = time.perf_counter()
            predict(images)
            times[name].append(time.perf_counter() - start)
    return {name: len(runs[name][1]) / statistics.median(t) for name, t in times.items()}


def main() -> None:
    args = parse_args()
    load_start = os.getloadavg()[0]
    model, model_note = get_model(args)
    x_test, y_test, _ = synthesis.generate_strips([args.test_per_class] * NUM_CLASSES, seed=2)
    keras_probs = model_lib.predict_proba(model, x_test)
    rng = np.random.default_rng(0)
    speed_images = rng.integers(0, 256, (args.speed_strips, 15, 480, 3), dtype=np.uint8)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {".keras": model_lib.save_model(model, tmp / "spectral_cnn.keras")}
        files["tflite float"] = export.export_tflite(model, tmp / "float.tflite")
        files["tflite int8"] = export.export_tflite(model, tmp / "int8.tflite", quantize="int8")
        files["tflite int8, all ops"] = export.export_tflite(model, tmp / "int8_all.tflite", quantize="int8",
                                                             keep_float=())
        files["SavedModel"] = export.export_savedmodel(model, tmp / "savedmodel")
        sizes = {name: export.size_bytes(path) for name, path in files.items()}
        interpreters = {name: export.make_interpreter(files[name], num_threads=args.threads)
                        for name in ("tflite float", "tflite int8", "tflite int8, all ops")}
        import tensorflow as tf

        loaded = tf.saved_model.load(str(files["SavedModel"]))

        agreement = {}
        for name, predict in [*((n, lambda x, it=it: export.tflite_predict_proba(it, x, 64))
                                for n, it in interpreters.items()),
                              ("SavedModel", lambda x: export.savedmodel_predict_proba(loaded, x))]:
            probs = predict(x_test)
            agreement[name] = {"max_abs_prob_diff": float(np.abs(probs - keras_probs).max()),
                               "top1_agreement": float(np.mean(probs.argmax(1) == keras_probs.argmax(1))),
                               "accuracy": float(np.mean(probs.argmax(1) == y_test))}
        keras_accuracy = float(np.mean(keras_probs.argmax(1) == y_test))

        runs = {}
        for batch, images in ((1, speed_images[: args.speed_strips_batch1]), (64, speed_images)):
            runs[f"Keras predict_proba, batch {batch}"] = (
                lambda x, b=batch: model_lib.predict_proba(model, x, batch_size=b), images)
            for name, it in interpreters.items():
                runs[f"{name}, batch {batch}"] = (
                    lambda x, b=batch, it=it: export.tflite_predict_proba(it, x, batch_size=b), images)
        speed = interleaved_speeds(runs, args.repeats)
    load_end = os.getloadavg()[0]

    runtime = "LiteRT (ai-edge-litert)" if export.litert_available() else "tf.lite.Interpreter"
    with printed_tables() as tables:
        print(f"model: {model_note}; TFLite runtime: {runtime}, {args.threads} threads; "
              f"load average {load_start:.1f} at the start, {load_end:.1f} at the end (2 cores)\n")
        print("| file | bytes | vs .keras |\n|---|---|---|")
        for name, size in sizes.items():
            print(f"| {name} | {size:,} | {size / sizes['.keras']:.2f} |")
        print(f"\n| runtime | strips/s |\n|---|---|")
        for name, value in speed.items():
            print(f"| {name} | {value:,.0f} |")
        print(f"\n{len(y_test)} synthetic test strips (seed 2); Keras accuracy {keras_accuracy:.3f}\n")
        print("| export | max abs prob difference | top-1 agreement | accuracy |\n|---|---|---|---|")
        for name, row in agreement.items():
            print(f"| {name} | {row['max_abs_prob_diff']:.2e} | {row['top1_agreement']:.3f} | {row['accuracy']:.3f} |")
    arguments = {**vars(args), "model": model_note}
    write_results("export", arguments, tables.getvalue(),
                  {"sizes_bytes": sizes, "strips_per_second": speed, "agreement": agreement,
                   "keras_accuracy": keras_accuracy, "test_strips": int(len(y_test)), "runtime": runtime,
                   "load_average": [load_start, load_end]})


if __name__ == "__main__":
    main()
