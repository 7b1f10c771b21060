"""The web app (``spectral_nb.app``, served by ``make app``): driven as its page drives it, through the
widgets' values and buttons. The app in a real browser, under Voilà, is in tests/test_browser.py."""
from __future__ import annotations

import datetime
import io

import numpy as np
import pytest
from PIL import Image

from spectral_nb import NUM_CLASSES, STRIP_SHAPE, app as web_app, synthesis


def _constant_model(probs):
    """A model that answers ``probs`` whatever the strip (zero weights, bias = log probs)."""
    import keras

    inputs = keras.Input(shape=STRIP_SHAPE, dtype="uint8")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    dense = keras.layers.Dense(NUM_CLASSES, activation="softmax")
    model = keras.Model(inputs, dense(x))
    dense.set_weights([np.zeros((3, NUM_CLASSES)), np.log(np.asarray(probs, dtype=np.float64))])
    return model


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(app, name: str, content: bytes) -> None:
    app.upload.value = ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
                         "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


MERCURY = [0.02, 0.9, 0.02, 0.02, 0.02, 0.01, 0.01]


def test_an_uploaded_photo_is_cut_classified_and_calibrated(tmp_path):
    app = web_app.make_app(_constant_model(MERCURY), workdir=tmp_path)
    assert app.classify_button.disabled and app.state["photo"] is None
    photo, _ = synthesis.render_photo(1, np.random.default_rng(3))
    _upload(app, "my cfl?.png", _png(photo))
    result = app.state["result"]
    assert result["label"] == "mercury" and result["strip"].shape == STRIP_SHAPE
    assert app.message.value.startswith("<b>my cfl?.png: mercury</b> (top three: mercury 0.90")
    assert bytes(app.result_view.value[:8]) == b"\x89PNG\r\n\x1a\n"
    assert app.state["calibration"] is not None and bytes(app.spectrum_view.value[:4]) == b"\x89PNG"
    assert ("Hg:" in app.message.value) or ("not calibrated" in app.message.value)
    # the crop panel of chapter 02 for this photo, saved under a safe name in the app's own folder
    assert app.crop.children == (app.state["panel"].widget,)
    assert app.state["path"] == tmp_path / "my_cfl.png" and app.state["path"].is_file()
    assert not app.classify_button.disabled
    # in a folder of the caller's, a file of the same name that the app did not write stays untouched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "led.png").write_bytes(b"the user's own file")
    other = web_app.make_app(_constant_model(MERCURY), workdir=mine)
    _upload(other, "led.png", _png(photo))
    assert (mine / "led.png").read_bytes() == b"the user's own file"
    assert other.state["path"] == mine / "led_1.png" and other.state["result"]["label"] == "mercury"
    _upload(other, "led.png", _png(photo))  # the app's own earlier upload may be replaced
    assert other.state["path"] == mine / "led_1.png"
    # a crop setting changed in the panel is what the next classification cuts with
    panel = app.state["panel"]
    panel.controls["dispersion"].value = "vertical"
    assert panel.state["params"].dispersion == "vertical"
    app.classify_button.click()
    assert app.state["result"]["report"]["dispersion"] == "vertical"


def test_a_class_without_lines_says_why_it_is_not_calibrated(tmp_path):
    led = [0.9, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01]
    app = web_app.make_app(_constant_model(led), workdir=tmp_path)
    photo, _ = synthesis.render_photo(0, np.random.default_rng(4))
    _upload(app, "led.png", _png(photo))
    assert app.state["result"]["label"] == "LED" and app.state["calibration"] is None
    assert "no wavelength calibration: an LED has no sharp emission lines" in app.message.value
    assert app.spectrum_view.value == b""


@pytest.mark.parametrize("name, content, message", [
    ("notes.png", b"not a photo", "could not classify notes.png: not an image this book can read"),
    ("grey.png", _png(np.full((120, 160, 3), 128, np.uint8)), "could not classify grey.png: no spectrum found"),
])
def test_a_bad_upload_gets_its_reason_and_clears_the_last_result(tmp_path, name, content, message):
    app = web_app.make_app(_constant_model(MERCURY), workdir=tmp_path)
    photo, _ = synthesis.render_photo(1, np.random.default_rng(3))
    _upload(app, "cfl.png", _png(photo))
    assert app.state["result"] is not None
    _upload(app, name, content)
    assert app.message.value.startswith(message), app.message.value
    assert app.state["result"] is None and app.result_view.value == b"" and app.spectrum_view.value == b""
    assert "Traceback" not in app.message.value and " at 0x" not in app.message.value


def test_the_app_serves_the_model_it_is_told_to(monkeypatch, tmp_path):
    monkeypatch.setenv(web_app.MODEL_ENV, str(tmp_path / "mine.keras"))
    assert web_app.model_path() == tmp_path / "mine.keras"
    monkeypatch.delenv(web_app.MODEL_ENV)
    monkeypatch.setenv("SPECTRAL_NB_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("SPECTRAL_NB_QUICK", "0")
    assert web_app.model_path() == (tmp_path / "out" / "spectral_cnn.keras").resolve()


def test_the_app_notebook_without_a_model_says_what_to_run(monkeypatch, tmp_path):
    """app/classify.ipynb, executed as Voila executes it, with no model where it looks: one message
    naming make book and chapter 04, no traceback."""
    from pathlib import Path

    import nbclient
    import nbformat

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(web_app.MODEL_ENV, str(tmp_path / "none.keras"))
    notebook = nbformat.read(root / "app" / "classify.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(root / "app")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert [o.output_type for o in outputs] == ["display_data"]
    text = outputs[0].data["text/html"]
    assert "No model to serve yet" in text and "none.keras" in text and "04_model_building" in text
