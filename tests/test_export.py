"""Exporting the classifier: TFLite (float and int8) and SavedModel agree with the Keras model.

A colour model trained briefly (100 synthetic strips per class, 8 epochs, about 10 s) is exported;
every export is compared with the Keras model's own probabilities on strips of other seeds.
"""
from __future__ import annotations

import numpy as np
import pytest

from spectral_nb import NUM_CLASSES, STRIP_SHAPE, export, synthesis
from spectral_nb.__main__ import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``(model, path of its .keras file, test strips (105), their labels)``."""
    import keras

    from spectral_nb.model import build_model, compile_model, predict_proba, save_model

    keras.utils.set_random_seed(0)
    x_train, y_train, _ = synthesis.generate_strips([100] * NUM_CLASSES, seed=1)
    model = compile_model(build_model("colour", seed=0))
    model.fit(x_train, y_train, epochs=8, batch_size=32, shuffle=True, verbose=0)
    # 60 per class, as bench_export measures: one point of accuracy is 4 strips, not one
    x_test, y_test, _ = synthesis.generate_strips([60] * NUM_CLASSES, seed=2)
    accuracy = np.mean(predict_proba(model, x_test).argmax(axis=1) == y_test)
    assert accuracy > 0.6, f"the briefly trained model reaches only {accuracy:.2f}: the int8 comparison needs a model that has learnt"
    path = save_model(model, tmp_path_factory.mktemp("model") / "spectral_cnn.keras")
    return model, path, x_test, y_test


@pytest.fixture(scope="module")
def keras_probs(trained):
    from spectral_nb.model import predict_proba

    model, _, x_test, _ = trained
    return predict_proba(model, x_test)


def test_default_outputs_sit_beside_the_model(tmp_path):
    model = tmp_path / "spectral_cnn.keras"
    assert export.default_output(model, "tflite") == tmp_path / "spectral_cnn.tflite"
    assert export.default_output(model, "tflite", "int8") == tmp_path / "spectral_cnn_int8.tflite"
    assert export.default_output(model, "savedmodel") == tmp_path / "spectral_cnn_savedmodel"


def test_float_tflite_gives_the_keras_probabilities(trained, keras_probs, tmp_path):
    model, _, x_test, _ = trained
    path = export.export_tflite(model, tmp_path / "float.tflite")
    interpreter = export.make_interpreter(path)
    detail = interpreter.get_input_details()[0]
    assert detail["dtype"] == np.uint8 and tuple(detail["shape_signature"][1:]) == STRIP_SHAPE  # the same contract
    for batch_size in (1, 64):  # one strip per invoke, and a resized batch with a short last one
        probs = export.tflite_predict_proba(interpreter, x_test[:70] if batch_size == 64 else x_test[:5], batch_size)
        np.testing.assert_allclose(probs, keras_probs[:len(probs)], atol=1e-4)
        assert probs.dtype == np.float32


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")  # the fallback, on purpose
def test_the_interpreter_is_litert_when_installed_else_tf_lite(trained, keras_probs, tmp_path, monkeypatch):
    import tensorflow as tf

    model, _, x_test, _ = trained
    path = export.export_tflite(model, tmp_path / "float.tflite")
    if export.litert_available():
        from ai_edge_litert.interpreter import Interpreter

        assert isinstance(export.make_interpreter(path), Interpreter)
    monkeypatch.setattr(export, "litert_available", lambda: False)
    interpreter = export.make_interpreter(path)
    assert isinstance(interpreter, tf.lite.Interpreter)
    np.testing.assert_allclose(export.tflite_predict_proba(interpreter, x_test[:8]), keras_probs[:8], atol=1e-4)


def test_int8_tflite_is_quantised_and_keeps_the_accuracy(trained, keras_probs, tmp_path):
    model, _, x_test, y_test = trained
    float_path = export.export_tflite(model, tmp_path / "float.tflite")
    int8_path = export.export_tflite(model, tmp_path / "int8.tflite", quantize="int8")
    interpreter = export.make_interpreter(int8_path)
    weights = [d for d in interpreter.get_tensor_details() if "conv" in d["name"] and d["dtype"] == np.int8]
    assert weights, "no int8 convolution tensors: the file was not quantised"
    assert int8_path.stat().st_size < 0.5 * float_path.stat().st_size  # 8-bit weights instead of 32-bit
    probs = export.tflite_predict_proba(interpreter, x_test)
    keras_top = keras_probs.argmax(axis=1)
    # the same class wherever Keras is not torn between two (a margin of 0.1 or more), but for at
    # most 1 in 100 of those: the book's colour model at width 2 quantises less exactly than at width 1
    # (bench_export: top-1 agreement 0.986 against 0.995), and a training run here is not reproducible
    # to the strip, so one clear strip in 400 may flip
    top2 = np.sort(keras_probs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] >= 0.1
    assert clear.sum() >= 300
    flipped = int((probs.argmax(axis=1) != keras_top)[clear].sum())
    assert flipped <= 0.01 * clear.sum(), f"{flipped} of {clear.sum()} clear strips change class in int8"
    assert np.mean(probs.argmax(axis=1) == keras_top) >= 0.98
    keras_accuracy = np.mean(keras_top == y_test)
    int8_accuracy = np.mean(probs.argmax(axis=1) == y_test)
    assert abs(int8_accuracy - keras_accuracy) <= 0.01 + 1e-9, (int8_accuracy, keras_accuracy)
    assert np.abs(probs - keras_probs).max() < 0.25


def test_savedmodel_gives_the_keras_probabilities(trained, keras_probs, tmp_path):
    import tensorflow as tf

    model, _, x_test, _ = trained
    folder = export.export_savedmodel(model, tmp_path / "savedmodel")
    loaded = tf.saved_model.load(str(folder))
    signature = loaded.signatures["serving_default"]
    assert signature.structured_input_signature[1]["strips"].dtype == tf.uint8  # TensorFlow Serving's request key
    np.testing.assert_allclose(export.savedmodel_predict_proba(loaded, x_test), keras_probs, atol=1e-5)
    np.testing.assert_allclose(loaded.serve(tf.constant(x_test[:4]))["probabilities"].numpy(), keras_probs[:4], atol=1e-5)


def test_existing_outputs_are_never_replaced_without_overwrite(trained, tmp_path):
    model, _, _, _ = trained
    mine = tmp_path / "mine.tflite"
    mine.write_bytes(b"the user's own file")
    with pytest.raises(export.ExportError, match="--overwrite"):
        export.export_tflite(model, mine)
    assert mine.read_bytes() == b"the user's own file"
    export.export_tflite(model, mine, overwrite=True)
    assert mine.read_bytes()[4:8] == b"TFL3"  # the flatbuffer's file identifier

    folder = tmp_path / "photos"  # a folder that is not a SavedModel is kept even with overwrite
    folder.mkdir()
    (folder / "keep.png").write_bytes(b"x")
    with pytest.raises(export.ExportError, match="not a SavedModel"):
        export.export_savedmodel(model, folder, overwrite=True)
    assert (folder / "keep.png").exists()
    saved = export.export_savedmodel(model, tmp_path / "sm")
    with pytest.raises(export.ExportError, match="--overwrite"):
        export.export_savedmodel(model, saved)
    export.export_savedmodel(model, saved, overwrite=True)
    assert (saved / "saved_model.pb").is_file() and not list(tmp_path.glob(".sm.*"))  # no temporary folder left


def test_the_export_command(trained, keras_probs, tmp_path, capsys):
    model, model_path, x_test, _ = trained
    assert main(["export", "--format", "tflite", "--model", str(model_path)]) == 0
    written = model_path.with_name("spectral_cnn.tflite")
    assert "wrote TFLite file (float)" in capsys.readouterr().out
    np.testing.assert_allclose(export.tflite_predict_proba(written, x_test[:8]), keras_probs[:8], atol=1e-4)
    before = written.read_bytes()
    assert main(["export", "--format", "tflite", "--model", str(model_path)]) == 2  # exists: refused
    err = capsys.readouterr().err
    assert "--overwrite" in err and "Traceback" not in err and written.read_bytes() == before
    assert main(["export", "--format", "savedmodel", "--model", str(model_path), "--quantize", "int8"]) == 2
    assert "tflite only" in capsys.readouterr().err
    out = tmp_path / "served"
    assert main(["export", "--format", "savedmodel", "--model", str(model_path), "--out", str(out)]) == 0
    np.testing.assert_allclose(export.savedmodel_predict_proba(out, x_test[:8]), keras_probs[:8], atol=1e-5)
    assert main(["export", "--format", "tflite", "--model", str(tmp_path / "none.keras")]) == 2
    assert "make book" in capsys.readouterr().err
