"""The figures of chapter 02 and its widget panel (the panel only calls :func:`crop_preview`)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from spectral_nb import STRIP_SHAPE
from spectral_nb.preprocessing.params import PhotoError, PreprocessParams, save_params
from spectral_nb.preprocessing.photo import load_photo
from spectral_nb.preprocessing.blue_side import _band_hue, find_blue_side
from spectral_nb.preprocessing.cut import preprocess_photo
from spectral_nb.preprocessing.folders import preprocess_folder


# ------------------------------------------------------------------------------------ figures and widgets
#: The panel's names for ``PreprocessParams.left_right``: what each choice does to the strip.
LEFT_RIGHT_LABELS = {"auto": "auto", "as_is": "as the photo is", "flip": "mirror left-right"}
#: The panel's sliders: parameter -> (min, max, step, tooltip); each is labelled with its name.
_SLIDERS: dict[str, tuple[float, float, float, str]] = {
    "band_threshold": (0.02, 0.9, 0.01, "rows count as band where brighter than this fraction of its peak"),
    "band_margin": (0.0, 1.0, 0.05, "extra rows above and below the band, as a fraction of its height"),
    "extent_threshold": (0.01, 0.5, 0.01, "columns count as spectrum where brighter than this fraction of its peak"),
    "extent_margin": (0.0, 0.3, 0.01, "extra columns at both ends, as a fraction of the spectrum's length"),
}


def orientation_note(left_right: str, flipped: bool) -> str:
    """What was done to the strip's left-right orientation, in words (the preview's title)."""
    if left_right == "auto":
        return ("auto: mirrored left-right (the blue end was on the right)" if flipped
                else "auto: as the photo is (the blue end is already on the left)")
    return "mirrored left-right (chosen by hand)" if left_right == "flip" else "as the photo is (chosen by hand: not mirrored)"


def crop_preview(photo, params: PreprocessParams | None = None, fig=None, name: str | None = None):
    """Figure: the photo with the crop box, the strip, and its R, G, B profiles (blue end left); the
    title says what was decided and done (dispersion, mirrored or not: :func:`orientation_note`).

    Returns ``(fig, strip, report)``; on a photo without a spectrum the figure says why and
    ``strip`` and ``report`` are None. The widget panel of :func:`make_panel` only calls this.
    """
    import matplotlib.pyplot as plt

    params = params or PreprocessParams()
    if fig is None:
        fig = plt.figure(figsize=(10, 6))
    fig.clear()
    ax_photo, ax_strip, ax_prof = fig.subplots(3, 1, gridspec_kw={"height_ratios": [4, 0.6, 2]})
    name = name or (Path(photo).name if isinstance(photo, (str, Path)) else "photo")
    try:
        image = load_photo(photo, params.max_pixels, name)
    except PhotoError as error:
        for ax in (ax_photo, ax_strip, ax_prof):
            ax.set_axis_off()
        ax_photo.text(0.5, 0.5, str(error), ha="center", va="center", wrap=True, transform=ax_photo.transAxes)
        return fig, None, None
    ax_photo.imshow(image)
    ax_photo.set_xticks([])
    ax_photo.set_yticks([])
    try:
        strip, report = preprocess_photo(image, params, name=name)
    except PhotoError as error:
        fig.suptitle(str(error), x=0.01, ha="left", fontsize=9, color="tab:red", wrap=True)
        ax_strip.set_axis_off()
        ax_prof.set_axis_off()
        return fig, None, None
    x0, y0, x1, y1 = report["box"]
    ax_photo.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="white", lw=1.2, ls="--")
    conf = report["confidences"]
    # across the whole figure, on two lines: a title over the photo's axes ran past the figure's edge
    fig.suptitle(f"{name}: {report['dispersion']} dispersion{' (turned: the top end goes left)' if report['rotated'] else ''}"
                 f" · {orientation_note(params.left_right, report['flipped'])}\n"
                 f"tilt {report['tilt_deg']:.1f}°, box {report['box']} · confidence: dispersion "
                 f"{conf['dispersion']:.2f}, left-right {conf['left_right']:.2f}, band {conf['band']:.2f}",
                 x=0.01, ha="left", fontsize=9)
    ax_strip.imshow(strip, aspect="auto")
    ax_strip.set_xticks([])
    ax_strip.set_yticks([])
    ax_strip.set_ylabel("strip", rotation=0, ha="right", va="center", fontsize=8)
    for channel, colour in enumerate(("tab:red", "tab:green", "tab:blue")):
        _ = ax_prof.plot(strip[:, :, channel].mean(axis=0), color=colour, lw=1)
    ax_prof.set_xlim(0, STRIP_SHAPE[1] - 1)
    ax_prof.set_ylim(0, 260)
    ax_prof.set_xlabel("strip column (blue end → red end)")
    ax_prof.set_ylabel("mean value")
    fig.tight_layout()
    return fig, strip, report


def plot_blue_side(strip: np.ndarray, title: str = "", fig=None):
    """What :func:`find_blue_side` reads from a strip as cut: the strip above, each column's hue
    angle below (dot size: the column's weight; colour: its hue), and the decision in the title."""
    import matplotlib.pyplot as plt

    colour, angle, weights = _band_hue(strip)
    blue_left, confidence = find_blue_side(strip)
    if fig is None:
        fig = plt.figure(figsize=(9, 3.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 3]})
    top.imshow(strip, aspect="auto", extent=(0, strip.shape[1], 0, 1))
    top.set_yticks([])
    top.set_title(f"{title + ': ' if title else ''}blue on the {'left' if blue_left else 'right'} as cut "
                  f"(confidence {confidence:.2f})", fontsize=9)
    shown = weights > 1e-3 * max(float(weights.max()), 1e-9)
    hue_colour = np.clip(colour / (colour.max(axis=1, keepdims=True) + 1e-9), 0, 1)
    bottom.scatter(np.flatnonzero(shown) + 0.5, angle[shown], c=hue_colour[shown],
                   s=2 + 40 * weights[shown] / max(float(weights.max()), 1e-9))
    bottom.set_yticks([0, 60, 120, 180, 240, 270], ["red 0", "yellow 60", "green 120", "cyan 180", "blue 240", "violet 270"])
    bottom.set_ylim(-45, 325)
    bottom.set_xlim(0, strip.shape[1])
    bottom.set_xlabel("column of the strip as cut")
    bottom.set_ylabel("hue angle (degrees)")
    fig.tight_layout()
    return fig


@dataclass
class Panel:
    """The chapter-02 widget panel: ``widget`` to display, the controls, and the last preview's results.

    ``preview`` is an ``ipywidgets.Image`` holding the preview figure as PNG bytes.
    """

    widget: object
    photo: object
    controls: dict
    preview: object
    apply_button: object
    save_button: object
    progress: object
    message: object
    state: dict


def _snapped(value, step: float | None, current):
    """A control's value as a parameter: a float snapped to the control's ``step`` (the browser
    reports its own rounding back, e.g. 0.20000000000000004 for 0.2), ``current`` kept when the
    control only echoes it. Anything that is not a float passes through."""
    if not isinstance(value, float) or step is None:
        return value
    if isinstance(current, float) and abs(value - current) <= 1e-9 * max(1.0, abs(current)):
        return current
    decimals = max(0, len(f"{step:.10f}".rstrip("0").split(".")[1]))
    return round(round(value / step) * step, decimals)


def _params_from_controls(controls: dict, base: PreprocessParams, current: PreprocessParams | None = None) -> PreprocessParams:
    """The parameters the controls show: floats snapped to each slider's step, so that showing a
    panel, or moving a slider and moving it back, leaves ``current`` (and its fingerprint) unchanged."""
    current = current or base
    values = {name: _snapped(control.value, getattr(control, "step", None), getattr(current, name))
              for name, control in controls.items()}
    return replace(base, **values)


def make_panel(photos: Sequence[str | Path], params: PreprocessParams | None = None,
               photos_dir: str | Path | None = None, strips_dir: str | Path | None = None,
               params_path: str | Path | None = None) -> Panel:
    """A live cropping panel (ipywidgets): pick a photo, move sliders, see box, strip and profiles.

    "Apply to all" runs :func:`preprocess_folder` on ``photos_dir`` into ``strips_dir`` with a
    progress bar and a summary of skipped photos; "Save parameters" writes ``params_path``. The
    current parameters are ``panel.state["params"]``, the last saved ones ``panel.state["saved"]`` (the
    message says when they differ); the last preview's strip and report are ``panel.state["strip"]``
    and ``panel.state["report"]``. Tests drive it by setting ``.value``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from spectral_nb.figures import figure_png

    base = params or PreprocessParams()
    photos = [Path(p) for p in photos]
    if not photos:
        raise ValueError("make_panel needs at least one photo")
    style = {"description_width": "130px"}
    layout = widgets.Layout(width="420px")
    row = widgets.Layout(display="flex", align_items="center")  # the description left of the buttons, as for the sliders
    # every control gets a tooltip: without one the browser shows "null" over its label
    photo = widgets.Dropdown(options=[(p.name, str(p)) for p in photos], value=str(photos[0]),
                             description="photo", tooltip="the photo the preview shows", style=style, layout=layout)
    controls = {
        "dispersion": widgets.ToggleButtons(
            options=["auto", "horizontal", "vertical"], value=base.dispersion, description="dispersion",
            tooltip="which way the light spreads in the photo",
            tooltips=["find which way the light spreads", "the spectrum runs across the photo",
                      "the spectrum runs up and down the photo: turned, its top end goes left"],
            style=style, layout=row),
        "left_right": widgets.ToggleButtons(
            options=[(label, value) for value, label in LEFT_RIGHT_LABELS.items()], value=base.left_right,
            description="left-right", tooltip="which end of the strip goes left: blue, as the model expects",
            tooltips=["find the blue end and put it on the left", "keep the strip's ends where the photo has them",
                      "mirror the strip: its right end goes left"],
            style=style, layout=row),
        **{name: widgets.FloatSlider(value=getattr(base, name), min=low, max=high, step=step,
                                     description=name.replace("_", " "), style=style, layout=layout, tooltip=tip)
           for name, (low, high, step, tip) in _SLIDERS.items()},
        # as wide as the sliders: at the default width the label was cut to "follow tilt and curv..."
        "follow_tilt": widgets.Checkbox(value=base.follow_tilt, description="follow tilt and curvature", style=style,
                                        layout=layout, tooltip="straighten a tilted or curved band before cutting it"),
    }
    preview = widgets.Image(format="png", layout=widgets.Layout(width="800px"))
    message = widgets.HTML()
    progress = widgets.IntProgress(value=0, min=0, max=1, description="apply to all", style=style, layout=layout,
                                   tooltip="photos cut by \"Apply to all photos\"")
    apply_button = widgets.Button(description="Apply to all photos", disabled=photos_dir is None or strips_dir is None)
    save_button = widgets.Button(description="Save parameters", disabled=params_path is None)
    state: dict = {"params": base, "strip": None, "report": None, "result": None, "fig": None, "saved": None}

    def refresh(_change=None):
        try:
            state["params"] = _params_from_controls(controls, base, state["params"])
        except ValueError as error:
            message.value = f"<b>bad parameters</b>: {error}"
            return
        fig, strip, report = crop_preview(photo.value, state["params"], fig=plt.figure(figsize=(10, 6)))
        state.update(strip=strip, report=report, fig=fig)
        preview.value = figure_png(fig)
        if report is None:
            message.value = "<b>no strip</b>: see the figure's message"
        elif state["saved"] is not None and state["params"] != state["saved"]:
            # a browser holds back slider moves while the kernel is busy, and sends a click at once: a
            # "Save" right after a move can reach the kernel first, so say when the file is behind
            message.value = (f"<b>not saved</b>: the parameters changed since {Path(params_path).name} was saved; "
                             "press Save parameters again to keep them")
        else:
            message.value = ""

    def apply_all(_button=None):
        progress.value = 0

        def tick(done, total):
            progress.max = total
            progress.value = done

        result = preprocess_folder(photos_dir, strips_dir, state["params"], progress=tick)
        state["result"] = result
        message.value = "<pre>" + result.summary() + "</pre>"

    def save(_button=None):
        path = save_params(state["params"], params_path)
        state["saved"] = state["params"]
        message.value = f"saved to {path.name}"

    photo.observe(refresh, names="value")
    for control in controls.values():
        control.observe(refresh, names="value")
    apply_button.on_click(apply_all)
    save_button.on_click(save)
    refresh()
    box = widgets.VBox([photo, *controls.values(), widgets.HBox([apply_button, save_button]), progress, message, preview])
    return Panel(box, photo, controls, preview, apply_button, save_button, progress, message, state)
