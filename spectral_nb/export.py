"""Exporting the trained classifier for serving: TensorFlow Lite / LiteRT and SavedModel.

Both formats keep the book's input contract, raw strips ``uint8 (N, 15, 480, 3)`` (the profile
layers live inside the model), and give probabilities ``float32 (N, 7)``:

- :func:`export_tflite`: a TensorFlow Lite (LiteRT) flatbuffer for phones and small boards, in
  float32, or post-training quantised to int8 with a representative dataset of synthetic strips
  (:func:`representative_strips`). The per-strip standardisation (the ``standardise`` layer) stays
  in float in the int8 file by default: its ``1 / std`` spans two orders of magnitude between dim
  and bright strips, which one 8-bit scale cannot hold (``benchmarks/bench_export.py`` measures
  both versions).
- :func:`export_savedmodel`: a SavedModel folder for TensorFlow Serving, whose
  ``serving_default`` signature takes ``strips`` and returns ``probabilities``.

:func:`make_interpreter` and :func:`tflite_predict_proba` run a ``.tflite`` file (with the
``ai-edge-litert`` package's interpreter when it is installed, else ``tf.lite.Interpreter``).
Nothing here replaces a file or folder that exists unless ``overwrite=True``.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from spectral_nb import NUM_CLASSES, STRIP_SHAPE, check_strips, files

#: What ``--format`` accepts, and ``--quantize`` for TFLite.
FORMATS: tuple[str, ...] = ("tflite", "savedmodel")
QUANTIZATIONS: tuple[str, ...] = ("float", "int8")
#: Layers whose operations the int8 file keeps in float (see the module docstring).
KEEP_FLOAT_LAYERS: tuple[str, ...] = ("standardise",)
#: Name of the SavedModel signature's input and output (TensorFlow Serving's request keys).
INPUT_NAME = "strips"
OUTPUT_NAME = "probabilities"


class ExportError(RuntimeError):
    """An export that cannot be done as asked (an existing output, a model that does not fit)."""


def default_output(model_path: str | Path, fmt: str, quantize: str = "float") -> Path:
    """Where an export goes when ``--out`` is not given: beside the model, e.g.
    ``spectral_cnn.tflite``, ``spectral_cnn_int8.tflite``, ``spectral_cnn_savedmodel/``."""
    model_path = Path(model_path)
    stem = model_path.with_suffix("")
    if fmt == "savedmodel":
        return stem.with_name(stem.name + "_savedmodel")
    suffix = "_int8" if quantize == "int8" else ""
    return stem.with_name(stem.name + suffix + ".tflite")


def representative_strips(per_class: int = 32, seed: int = 20_260) -> np.ndarray:
    """Synthetic strips ``uint8 (7 * per_class, 15, 480, 3)`` for int8 calibration (ranges of the
    activations); a seed of its own, so they are none of the strips a test measures on."""
    from spectral_nb.synthesis import generate_strips

    images, _, _ = generate_strips([per_class] * NUM_CLASSES, seed=seed)
    return images


def _check_target(out: Path, overwrite: bool, is_dir: bool) -> None:
    """Refuse to replace what exists unless ``overwrite``; never replace something of another kind."""
    if not out.exists() and not out.is_symlink():
        return
    if not overwrite:
        raise ExportError(f"{out} already exists; pass --overwrite (overwrite=True) to replace it, "
                          f"or choose another --out")
    if is_dir and not (out.is_dir() and (out / "saved_model.pb").is_file()):
        raise ExportError(f"{out} exists and is not a SavedModel folder (no saved_model.pb); "
                          f"it is not replaced even with --overwrite: choose another --out")
    if not is_dir and out.is_dir():
        raise ExportError(f"{out} is a folder; a .tflite export is one file: choose another --out")


def _serving_archive(model):
    """A ``keras.export.ExportArchive`` with one ``serve`` endpoint: ``strips`` -> ``{"probabilities"}``."""
    import keras
    import tensorflow as tf

    if tuple(model.input_shape[1:]) != STRIP_SHAPE:
        raise ExportError(f"the model takes input of shape {model.input_shape}, not (N, 15, 480, 3) strips")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serve",
        fn=lambda strips: {OUTPUT_NAME: model(strips, training=False)},
        input_signature=[tf.TensorSpec((None, *STRIP_SHAPE), tf.uint8, name=INPUT_NAME)],
    )
    return archive


def _write_savedmodel(model, folder: Path) -> None:
    _serving_archive(model).write_out(str(folder), verbose=False)


def export_savedmodel(model, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` as a SavedModel folder (TensorFlow Serving); returns ``out``.

    Signature ``serving_default``: ``strips`` ``uint8 (N, 15, 480, 3)`` -> ``probabilities``
    ``float32 (N, 7)``; also callable as ``tf.saved_model.load(out).serve(strips)``. Written to a
    temporary folder beside ``out`` first, so a failed export leaves nothing half-written.
    """
    out = Path(out)
    _check_target(out, overwrite, is_dir=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_savedmodel(model, tmp / "model")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp / "model", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _keep_float_nodes(float_tflite: bytes, layers: Sequence[str]) -> list[str]:
    """Output tensor names of the operations that belong to ``layers`` (by Keras layer name)."""
    interpreter = make_interpreter(float_tflite)
    # a fused operation's tensor is named "a;b;c", each "<model>_1/<layer>_1/<op>" once traced
    pattern = re.compile(r"^[^/]+/(?:" + "|".join(map(re.escape, layers)) + r")(?:_\d+)?/")
    return [detail["name"] for detail in interpreter.get_tensor_details()
            if any(pattern.match(part) for part in detail["name"].split(";"))]


def convert_tflite(model, quantize: str = "float", representative: np.ndarray | None = None,
                   keep_float: Sequence[str] = KEEP_FLOAT_LAYERS) -> bytes:
    """The TFLite flatbuffer of ``model`` (bytes): float32, or int8 post-training quantised.

    ``quantize="int8"``: weights and activations in int8, their ranges calibrated on
    ``representative`` strips (``uint8 (N, 15, 480, 3)``; default :func:`representative_strips`);
    the input stays ``uint8`` strips and the output ``float32`` probabilities. The operations of
    the layers in ``keep_float`` stay float (``()``: quantise everything).
    """
    import tensorflow as tf

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}")
    with tempfile.TemporaryDirectory(prefix="spectral_nb_export_") as tmp:
        folder = Path(tmp) / "savedmodel"
        _write_savedmodel(model, folder)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
        if quantize == "float":
            return converter.convert()
        strips = check_strips(representative if representative is not None else representative_strips())

        def calibration_batches() -> Iterable[list[np.ndarray]]:
            for k in range(len(strips)):
                yield [strips[k:k + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration_batches
        nodes = _keep_float_nodes(tf.lite.TFLiteConverter.from_saved_model(str(folder)).convert(), keep_float) \
            if keep_float else []
        if not nodes:
            return converter.convert()
        # the quantisation debugger is TF's documented way to leave chosen operations in float
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes, fully_quantize=False)
        with warnings.catch_warnings():  # the debugger runs tf.lite.Interpreter itself, which warns of LiteRT
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated", category=UserWarning)
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=calibration_batches, debug_options=options)
            return debugger.get_nondebug_quantized_model()


def export_tflite(model, out: str | Path, quantize: str = "float", representative: np.ndarray | None = None,
                  overwrite: bool = False, keep_float: Sequence[str] = KEEP_FLOAT_LAYERS) -> Path:
    """Write ``model`` as a ``.tflite`` file (see :func:`convert_tflite`), atomically; returns ``out``."""
    out = Path(out)
    _check_target(out, overwrite, is_dir=False)
    flatbuffer = convert_tflite(model, quantize, representative, keep_float)
    out.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(out) as tmp:
        tmp.write_bytes(flatbuffer)
    return out


# ------------------------------------------------------------------------------ running an export


def litert_available() -> bool:
    """True when the ``ai-edge-litert`` package (LiteRT, TFLite's successor runtime) is installed."""
    import importlib.util

    return importlib.util.find_spec("ai_edge_litert") is not None


def make_interpreter(model: str | Path | bytes, num_threads: int | None = None):
    """A TFLite interpreter of a ``.tflite`` file or flatbuffer bytes: LiteRT's
    (``ai_edge_litert``) when installed, else ``tf.lite.Interpreter`` (deprecated in TF 2.20+)."""
    if litert_available():
        from ai_edge_litert.interpreter import Interpreter
    else:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    source = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    return Interpreter(**source, num_threads=num_threads)


def tflite_predict_proba(interpreter, images, batch_size: int = 64) -> np.ndarray:
    """Class probabilities ``float32 (N, 7)`` of strips ``uint8 (N, 15, 480, 3)`` from a TFLite
    interpreter (:func:`make_interpreter`, or a path / bytes), ``batch_size`` strips per invoke."""
    if isinstance(interpreter, (str, Path, bytes, bytearray)):
        interpreter = make_interpreter(interpreter)
    images = check_strips(images, one_strip_ok=True)
    if len(images) == 0:
        return np.zeros((0, NUM_CLASSES), dtype=np.float32)
    source = interpreter.get_input_details()[0]
    allocated = None
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        if allocated != len(batch):
            interpreter.resize_tensor_input(source["index"], [len(batch), *STRIP_SHAPE])
            interpreter.allocate_tensors()
            allocated = len(batch)
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        out.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    return np.concatenate(out).astype(np.float32, copy=False)


def savedmodel_predict_proba(folder_or_loaded, images) -> np.ndarray:
    """Class probabilities ``float32 (N, 7)`` from a SavedModel folder (or ``tf.saved_model.load``'s
    result) through its ``serving_default`` signature, as TensorFlow Serving calls it."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(folder_or_loaded)) if isinstance(folder_or_loaded, (str, Path)) \
        else folder_or_loaded
    images = check_strips(images, one_strip_ok=True)
    result = loaded.signatures["serving_default"](**{INPUT_NAME: tf.constant(images)})
    return result[OUTPUT_NAME].numpy().astype(np.float32, copy=False)


def size_bytes(path: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder (a SavedModel)."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


# ------------------------------------------------------------------------------ command line


def run_export(fmt: str, model_path: str | Path | None = None, out: str | Path | None = None,
               quantize: str | None = None, overwrite: bool = False) -> int:
    """The ``export`` subcommand: write the model as ``fmt`` ("tflite" or "savedmodel"); prints
    where and how big. Exit status 0 when written, 2 for usage errors (no model, an existing
    output without ``overwrite``, ``quantize`` with a SavedModel)."""
    from spectral_nb.cli import UsageError, load_model, resolve_model_path

    def fail(message: str) -> int:
        print(f"spectral-nb export: error: {message}", file=sys.stderr)
        return 2

    if fmt not in FORMATS:
        return fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "savedmodel" and quantize not in (None, "float"):
        return fail("--quantize applies to --format tflite only (a SavedModel keeps the float weights)")
    quantize = quantize or "float"
    path = resolve_model_path(model_path)
    target = Path(out) if out is not None else default_output(path, fmt, quantize)
    try:
        _check_target(target, overwrite, is_dir=fmt == "savedmodel")  # before the minutes of loading and converting
        model = load_model(path)
        if fmt == "savedmodel":
            export_savedmodel(model, target, overwrite=overwrite)
        else:
            export_tflite(model, target, quantize=quantize, overwrite=overwrite)
    except (UsageError, ExportError) as error:
        return fail(str(error))
    what = "SavedModel folder" if fmt == "savedmodel" else f"TFLite file ({quantize})"
    print(f"wrote {what} {target} ({size_bytes(target) / 1e3:.1f} kB) from {path}")
    return 0
