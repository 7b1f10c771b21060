"""The book's model as a web page: upload a photo, adjust its crop with chapter 02's panel, classify
it with chapter 05's classifier and see its spectrum calibrated as chapter 06 does.

``make app`` serves ``app/classify.ipynb`` with Voilà on 127.0.0.1 (no code shown); that notebook
only calls :func:`make_app`. The app writes nothing but the uploaded photo, into a temporary folder
of its own (the crop panel reads photos from files).
"""
from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Environment variable naming the model the app loads instead of the book's.
MODEL_ENV = "SPECTRAL_NB_APP_MODEL"


@dataclass
class App:
    """The app's widgets: ``widget`` to display; the rest for callers and tests, which drive it by
    setting ``upload.value`` and clicking ``classify_button`` (``.click()``). ``state`` holds the
    last photo (``"photo"``, ``"name"``, ``"path"``), its crop ``"panel"`` and the last ``"result"``
    (:func:`spectral_nb.analysis.classify_photo`'s dict) and ``"calibration"``."""

    widget: object
    upload: object
    classify_button: object
    message: object
    crop: object
    result_view: object
    spectrum_view: object
    state: dict


def model_path(paths=None) -> Path:
    """The model the app serves: ``$SPECTRAL_NB_APP_MODEL`` if set, else the book's
    (``OutputModel/spectral_cnn.keras``, or the quick one in quick mode)."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    from spectral_nb import book

    return (paths or book.book_paths()).model_path


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._") or "photo"
    return f"{stem[:60]}.png"


def _reason(error: Exception, name: str) -> str:
    """The error's message without the file name it starts with (the app's message names the file)."""
    text = str(error)
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


def make_app(model, params=None, threshold: float = 0.5, workdir: str | Path | None = None) -> App:
    """The app for ``model`` (a Keras model), cutting photos with ``params`` (a
    ``preprocessing.PreprocessParams``, chapter 02's saved JSON, or None for the defaults) and calling a
    top probability under ``threshold`` unknown. ``workdir``: where uploaded photos are written (a new
    temporary folder when None)."""
    import ipywidgets as widgets
    from PIL import Image

    from spectral_nb import CLASS_NAMES, analysis, calibration, preprocessing as pp
    from spectral_nb.figures import figure_png

    if isinstance(params, (str, Path)):
        params = pp.load_params(params)
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="spectral_nb_app_"))
    workdir.mkdir(parents=True, exist_ok=True)
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="Your photo",
                                tooltip="a photo of a spectrum through a grating spectroscope (JPEG or PNG)")
    classify_button = widgets.Button(description="Classify this crop", disabled=True, button_style="primary",
                                     tooltip="classify the strip cut with the crop settings above")
    message = widgets.HTML("Upload a photo of a spectrum (a lamp seen through your spectroscope).")
    crop = widgets.VBox()
    result_view = widgets.Image(format="png", layout=widgets.Layout(width="720px"))
    spectrum_view = widgets.Image(format="png", layout=widgets.Layout(width="720px"))
    written: set[Path] = set()
    state: dict = {"photo": None, "name": None, "path": None, "panel": None, "result": None, "calibration": None}

    def clear_results() -> None:
        result_view.value = b""
        spectrum_view.value = b""
        state.update(result=None, calibration=None)

    def classify(_=None) -> None:
        if state["photo"] is None:
            return
        name = state["name"]
        cut_with = state["panel"].state["params"] if state["panel"] is not None else params
        clear_results()
        try:
            result = analysis.classify_photo(state["photo"], model, cut_with, threshold, name=name)
        except ValueError as error:  # no spectrum band: the message says why
            message.value = html.escape(f"could not classify {name}: {_reason(error, name)}")
            return
        result["name"] = name
        state["result"] = result
        top = ", ".join(f"{n} {p:.2f}" for n, p in result["top3"])
        lines = [f"<b>{html.escape(name)}: {html.escape(result['label'])}</b> (top three: {html.escape(top)})"]
        lines += [html.escape(w) for w in result["warnings"]]
        result_view.value = figure_png(analysis.plot_classification(result))
        index = result["label_index"]
        if index in calibration.LAMP_BY_CLASS:
            cal = calibration.calibrate_strip(result["strip"], index)
            state["calibration"] = cal
            spectrum_view.value = figure_png(calibration.plot_calibration(cal))
            lines.append(html.escape(cal.summary() if cal.ok else f"not calibrated: {cal.reason}"))
        else:
            why = (calibration.REFUSAL_BY_CLASS.get(index) if index >= 0
                   else "an unknown light is not calibrated against any lamp's lines")
            lines.append(html.escape(f"no wavelength calibration: {why}"))
        message.value = "<br>".join(lines)

    def on_upload(change) -> None:
        files = upload.value
        if not files:
            return
        item = files[0]
        name = str(item.get("name", "uploaded photo"))
        try:
            photo = analysis.photo_from_bytes(bytes(item["content"]), name)
        except ValueError as error:
            state.update(photo=None, name=name, path=None, panel=None)
            crop.children = []
            classify_button.disabled = True
            clear_results()
            message.value = html.escape(f"could not classify {name}: {_reason(error, name)}")
            return
        stem = Path(_safe_name(name)).stem
        path, n = workdir / f"{stem}.png", 1
        while path.exists() and path not in written:  # a file the app did not write is never replaced
            path, n = workdir / f"{stem}_{n}.png", n + 1
        Image.fromarray(np.ascontiguousarray(photo)).save(path)
        written.add(path)
        panel = pp.make_panel([path], params=state["panel"].state["params"] if state["panel"] is not None else params)
        for unused in (panel.apply_button, panel.save_button, panel.progress):  # no folder to apply to or save in
            unused.layout.display = "none"
        state.update(photo=photo, name=name, path=path, panel=panel)
        crop.children = [panel.widget]
        classify_button.disabled = False
        classify()

    upload.observe(on_upload, names="value")
    classify_button.on_click(classify)
    title = widgets.HTML(f"<p>The book's model knows {len(CLASS_NAMES)} classes: {html.escape(', '.join(CLASS_NAMES))}. "
                         "Upload a photo; adjust the crop if the box misses the band, then classify again.</p>")
    widget = widgets.VBox([title, upload, crop, classify_button, message, result_view, spectrum_view])
    return App(widget, upload, classify_button, message, crop, result_view, spectrum_view, state)
