"""Classifying a reader's own photo: cut it as chapter 02 does, classify the strip (a grey band both
ways round), report the crop, the class and how sure the model is."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from spectral_nb import CLASS_NAMES
from spectral_nb.analysis.confidence import predict_proba
from spectral_nb.analysis.metrics import UNKNOWN


# --------------------------------------------------------------------------- classifying one photo


def photo_from_bytes(data: bytes, name: str = "uploaded photo") -> np.ndarray:
    """Decode image bytes (e.g. from a FileUpload widget) into ``(H, W, 3) uint8`` RGB, with the same
    guards as a path (``preprocessing.load_photo``: size limit, EXIF rotation, RGBA, 16-bit);
    raises ``preprocessing.PhotoError`` (a ValueError) naming ``name``."""
    from spectral_nb.preprocessing import load_photo

    return load_photo(bytes(data), name=name)


def classify_photo(photo, model, params=None, threshold: float = 0.5,
                   class_names: Sequence[str] = CLASS_NAMES, name: str | None = None) -> dict:
    """Preprocess one photo and classify its strip.

    ``photo``: a path, an ``(H, W, 3) uint8`` array, or image bytes. ``params``: a
    ``preprocessing.PreprocessParams``, a path to the JSON chapter 02 saves, or None (defaults).
    Returns ``{"strip": (15, 480, 3) uint8, "report": preprocessing report, "probabilities": (7,),
    "top3": [(class name, probability), ...], "label": class name or "unknown", "label_index":
    int or -1, "threshold": float, "warnings": [sentences]}``; "unknown" when the top probability
    is below ``threshold``. A grey band (no colour, so no blue side: ``report["grey"]``) goes to the
    model both ways round and the surer reading is given, with a warning saying so.
    Raises ``preprocessing.PhotoError`` (a ValueError) when no spectrum band can be found; its
    message names the photo (``name``, else its path).
    """
    from spectral_nb import preprocessing

    if isinstance(params, (str, Path)):
        params = preprocessing.load_params(params)
    if isinstance(photo, (bytes, bytearray, memoryview)):
        photo = photo_from_bytes(photo, name or "uploaded photo")
    strip, report = preprocessing.preprocess_photo(photo, params, name=name)
    return classify_strip(strip, report, model, params, threshold, class_names)


def classify_strip(strip: np.ndarray, report: dict, model, params=None, threshold: float = 0.5,
                   class_names: Sequence[str] = CLASS_NAMES) -> dict:
    """Classify a strip that ``preprocessing.preprocess_photo`` cut, with its ``report``: what
    :func:`classify_photo` returns (see there), for a caller that has cut the strip already. A grey
    band read with ``params.left_right == "auto"`` (or no params) goes to the model both ways round."""
    warnings = list(report.get("warnings", []))
    auto = params is None or params.left_right == "auto"
    if report.get("grey") and auto:
        # no colour to tell the blue end: both ends go to the model, the surer reading wins
        both = predict_proba(model, np.stack([strip, strip[:, ::-1]]))
        mirrored = bool(both[1].max() > both[0].max())
        probs = both[int(mirrored)]
        if mirrored:
            strip = np.ascontiguousarray(strip[:, ::-1])
        warnings.append(f"the model was surer with the strip {'mirrored' if mirrored else 'as cut'} "
                        f"({both[int(mirrored)].max():.2f} against {both[1 - int(mirrored)].max():.2f}), so that "
                        "reading is given")
    else:
        probs = predict_proba(model, strip[None])[0]
    order = np.argsort(-probs)
    top = int(order[0])
    known = probs[top] >= threshold
    if not known:
        warnings.append(f"unknown: the top class has probability {probs[top]:.2f}, under the threshold {threshold:.2f}")
    return {
        "strip": strip,
        "report": report,
        "probabilities": probs,
        "top3": [(class_names[k], float(probs[k])) for k in order[:3]],
        "label": class_names[top] if known else "unknown",
        "label_index": top if known else UNKNOWN,
        "threshold": float(threshold),
        "warnings": warnings,
    }


def classify_upload(value, model, params=None, threshold: float = 0.5) -> list[dict]:
    """Classify what an ipywidgets ``FileUpload`` holds (its ``value``: dicts with ``name`` and ``content``).

    Also takes raw bytes, or ``{name: bytes}``. Returns one :func:`classify_photo` result per file,
    each with ``"name"`` added. The widget's callback in chapter 05 only calls this and plots.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        files = [("uploaded photo", bytes(value))]
    elif isinstance(value, Mapping):
        files = [(str(k), bytes(v["content"] if isinstance(v, Mapping) else v)) for k, v in value.items()]
    else:
        files = [(str(f.get("name", "uploaded photo")), bytes(f["content"])) for f in value]
    results = []
    for name, data in files:
        try:
            result = classify_photo(photo_from_bytes(data, name), model, params, threshold, name=name)
        except ValueError as error:  # every message names the file it is about
            message = str(error)
            raise ValueError(message if message.startswith(f"{name}:") else f"{name}: {message}") from None
        result["name"] = name
        results.append(result)
    return results


def plot_classification(result: Mapping, fig=None):
    """The photo's strip and a bar chart of the top three classes (with the unknown threshold)."""
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(9, 3))
    ax_strip, ax_bars = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 2]})
    ax_strip.imshow(result["strip"], aspect="auto")
    ax_strip.set_xticks([])
    ax_strip.set_yticks([])
    name = f"{result['name']}: " if result.get("name") else ""
    ax_strip.set_title(f"{name}{result['label']} (strip the model saw, blue → red)", fontsize=10, loc="left")
    names = [n for n, _ in result["top3"]][::-1]
    values = [p for _, p in result["top3"]][::-1]
    colours = ["tab:green" if p >= result["threshold"] else "tab:gray" for p in values]
    ax_bars.barh(names, values, color=colours)
    ax_bars.axvline(result["threshold"], color="k", ls="--", lw=1, label=f"unknown below {result['threshold']:.2f}")
    for y, p in enumerate(values):
        x = min(p + 0.01, 0.9)
        if abs(x - result["threshold"]) < 0.08 and p < result["threshold"]:
            x = result["threshold"] + 0.01  # a label that would sit on the dashed line goes beyond it
        ax_bars.text(x, y, f"{p:.3f}", va="center", fontsize=9)
    ax_bars.set_xlim(0, 1)
    ax_bars.set_xlabel("probability")
    ax_bars.legend(loc="lower right", fontsize=8)
    return fig
