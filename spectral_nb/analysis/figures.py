"""Figures of chapter 05: confusion matrices, metric tables, model comparisons, reliability,
top-probability histograms, misclassified strips and saliency."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, STRIP_SHAPE, check_labels, check_strips
from spectral_nb.analysis.confidence import ReliabilityTable, _check_probs
from spectral_nb.analysis.metrics import ClassMetrics, Evaluation, normalise_rows

#: Class index -> element whose known lines a saliency plot marks (nitrogen glows in bands, not lines).
CLASS_ELEMENTS: dict[int, str] = {1: "Hg", 3: "Ne", 4: "He", 5: "H"}


# --------------------------------------------------------------------------- figures


def _axes(ax, figsize=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_confusion_matrix(cm: np.ndarray, normalise: bool = False, class_names: Sequence[str] = CLASS_NAMES,
                          title: str | None = None, ax=None):
    """Confusion matrix as a labelled heat map: counts, or each row as a fraction of its true class."""
    ax = _axes(ax)
    cm = np.asarray(cm)
    values = normalise_rows(cm) if normalise else cm
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalise else max(int(cm.max()), 1))
    k = len(class_names)
    ticks = np.arange(k)
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, [f"{name} ({n})" for name, n in zip(class_names, cm.sum(axis=1))])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (support)")
    ax.set_title(title or ("fraction of each true class" if normalise else "counts"))
    threshold = (1 if normalise else cm.max()) / 2
    for i in range(k):
        for j in range(k):
            if cm[i, j] == 0:
                continue
            text = f"{values[i, j]:.2f}" if normalise else str(int(cm[i, j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > threshold else "black")
    return ax


def plot_metric_table(metrics: ClassMetrics, class_names: Sequence[str] = CLASS_NAMES, title: str | None = None,
                      ax=None):
    """Precision, recall, F1 per class as a coloured table; each cell shows its counts beside it."""
    ax = _axes(ax, figsize=(7, 0.45 * len(class_names) + 1))
    values = np.stack([metrics.precision, metrics.recall, metrics.f1], axis=1)
    import matplotlib

    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="lightgrey")
    # pale colours (alpha) keep the black numbers readable; grey = undefined (no strips to divide by)
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto", alpha=0.55)
    columns = ["precision\n(correct/predicted)", "recall\n(correct/true)", "F1"]
    ax.set_xticks(range(3), columns)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(class_names)), [f"{n}  (n={s})" for n, s in zip(class_names, metrics.support)])
    for i in range(len(class_names)):
        tp = metrics.true_positives[i]
        counts = (f"{tp}/{metrics.predicted[i]}", f"{tp}/{metrics.support[i]}", "")
        for j in range(3):
            v = values[i, j]
            label = "—" if np.isnan(v) else f"{v:.2f}"
            ax.text(j, i, f"{label}  {counts[j]}".strip(), ha="center", va="center", fontsize=9)
    ax.set_title(title or f"weighted precision {metrics.weighted_precision:.3f} · accuracy {metrics.accuracy:.3f}",
                 pad=34)
    return ax


def plot_model_comparison(evaluations: Sequence[Evaluation], ax=None):
    """Accuracy of several classifiers on the same test set, with bootstrap 95% intervals."""
    ax = _axes(ax, figsize=(6, 0.5 * len(evaluations) + 1))
    y = np.arange(len(evaluations))[::-1]
    acc = np.array([e.accuracy.estimate for e in evaluations])
    err = np.array([[e.accuracy.estimate - e.accuracy.low, e.accuracy.high - e.accuracy.estimate] for e in evaluations]).T
    ax.barh(y, acc, xerr=err, color="tab:blue", alpha=0.7, capsize=4)
    ax.set_yticks(y, [e.name for e in evaluations])
    for yi, e in zip(y, evaluations):
        ax.text(e.accuracy.high + 0.02, yi, f"{e.accuracy.estimate:.3f}\n[{e.accuracy.low:.3f}, {e.accuracy.high:.3f}]",
                va="center", fontsize=8)
    ax.set_xlim(0, 1.3)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("test accuracy (bar: bootstrap 95% interval)")
    return ax


def plot_reliability(table: ReliabilityTable, ax=None, label: str | None = None):
    """Reliability diagram: accuracy per top-probability bin against the diagonal of perfect calibration."""
    ax = _axes(ax, figsize=(4.5, 4))
    centres = (table.edges[:-1] + table.edges[1:]) / 2
    width = np.diff(table.edges)
    used = table.count > 0
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    ax.bar(centres[used], table.accuracy[used], width=width[used] * 0.9, alpha=0.6, edgecolor="k",
           label=label or f"model (ECE {table.expected_calibration_error:.3f})")
    for c, a, n in zip(centres[used], table.accuracy[used], table.count[used]):
        # inside the bar, white on its colour: above it the count would sit on the frame or the diagonal
        ax.text(c, max(a - 0.03, 0.02), str(int(n)), ha="center", va="top" if a > 0.08 else "bottom", fontsize=8,
                color="white" if a > 0.08 else "black", fontweight="bold")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("top probability (bin; number = predictions in it)")
    ax.set_ylabel("fraction correct")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_top_probability(groups: Mapping[str, np.ndarray], threshold: float | None = None, ax=None):
    """Histograms of the top probability for groups of predictions (e.g. correct, wrong, sodium light).

    ``groups`` maps a name to ``(N, K)`` probabilities; the unknown threshold is drawn as a line,
    so a reader sees what it rejects from each group.
    """
    ax = _axes(ax, figsize=(7, 3.2))
    bins = np.linspace(0, 1, 21)
    for name, probs in groups.items():
        top = np.asarray(probs).max(axis=1) if len(probs) else np.zeros(0)
        rejected = f", {np.mean(top < threshold):.0%} below threshold" if threshold is not None and len(top) else ""
        ax.hist(top, bins=bins, histtype="step", lw=1.8, density=False, label=f"{name} (n={len(top)}{rejected})")
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", lw=1)
        ax.text(threshold, 0.97, f" unknown below {threshold:.3f} ", fontsize=8, va="top", transform=ax.get_xaxis_transform(),
                ha="right" if threshold > 0.7 else "left")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7)
    ax.set_xlabel("top probability")
    ax.set_ylabel("strips (log scale)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def _show_strip_and_profile(ax_strip, ax_profile, image: np.ndarray, nm_per_column=None):
    ax_strip.imshow(image, aspect="auto")
    ax_strip.set_xticks([])
    ax_strip.set_yticks([])
    profile = image.astype(float).mean(axis=0)
    x = np.asarray(nm_per_column) if nm_per_column is not None else np.arange(image.shape[1])
    for channel, colour in enumerate(("red", "green", "blue")):
        ax_profile.plot(x, profile[:, channel], color=colour, lw=0.8)
    ax_profile.set_xlim(x[0], x[-1])
    ax_profile.tick_params(axis="y", labelsize=7)
    ax_profile.set_ylabel("R, G, B\nrow mean", fontsize=8)
    return x


def plot_misclassified(images: np.ndarray, y_true, probs, max_items: int = 6,
                       class_names: Sequence[str] = CLASS_NAMES, fig=None):
    """Gallery of wrong predictions, most confident first: strip, RGB profile, true vs predicted classes."""
    import matplotlib.pyplot as plt

    probs = _check_probs(probs)
    y_true = check_labels(y_true, "y_true", num_classes=probs.shape[1])
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:max_items]
    if fig is None:
        fig = plt.figure(figsize=(9, 1.9 * max(len(wrong), 1)))
    if len(wrong) == 0:
        ax = fig.add_subplot(1, 1, 1)
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified strips in this set", ha="center", va="center")
        return fig
    outer = fig.add_gridspec(len(wrong), 1, hspace=0.45)  # room for each pair's title
    for row, i in enumerate(wrong):
        inner = outer[row].subgridspec(2, 1, height_ratios=[1, 2], hspace=0.05)
        ax_strip = fig.add_subplot(inner[0])
        ax_profile = fig.add_subplot(inner[1])
        _show_strip_and_profile(ax_strip, ax_profile, images[i])
        t, p = y_true[i], pred[i]
        ax_strip.set_title(f"#{i}: true {class_names[t]} (p={probs[i, t]:.2f}) → predicted "
                           f"{class_names[p]} (p={probs[i, p]:.2f})", fontsize=9, loc="left")
        if row < len(wrong) - 1:
            ax_profile.set_xticks([])
    ax_profile.set_xlabel("column (blue → red)")
    return fig


def saliency(model, image: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Gradient of the predicted class's probability with respect to the input strip.

    Returns the gradient ``(15, 480, 3)`` float32, the predicted class, and the probabilities ``(7,)``.
    The model takes uint8 strips, which have no gradient, so a float32 copy of the model with the
    same weights is differentiated instead.
    """
    import tensorflow as tf

    image = check_strips(image, one_strip_ok=True)[:1]
    float_model = _float_input_copy(model)
    x = tf.constant(image.astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        probs = float_model(x, training=False)
        predicted = int(tf.argmax(probs[0]))
        score = probs[0, predicted]
    grad = tape.gradient(score, x)
    if grad is None:
        raise ValueError("the model's output does not depend differentiably on its input (no gradient)")
    return grad.numpy()[0], predicted, probs.numpy()[0].astype(np.float64)


def _float_input_copy(model):
    """The same network with a float32 input (for gradients); the model itself if it already has one."""
    import keras

    if model.inputs and str(model.inputs[0].dtype).endswith("float32"):
        return model
    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=STRIP_SHAPE, dtype="float32"))
    clone.set_weights(model.get_weights())
    return clone


def column_saliency(gradient: np.ndarray) -> np.ndarray:
    """Saliency per column ``(480,)``: |gradient| summed over rows and colours, scaled to peak 1."""
    s = np.abs(np.asarray(gradient, dtype=np.float64)).sum(axis=(0, 2))
    return s / s.max() if s.max() > 0 else s


def plot_saliency(image: np.ndarray, gradient: np.ndarray, true_label: int, predicted: int | None = None,
                  nm_per_column=None, class_names: Sequence[str] = CLASS_NAMES, fig=None):
    """Strip, its profile and the column saliency; the true lamp's known lines marked in nanometres.

    Without ``nm_per_column`` (a real strip has no wavelength map) the x axis is columns and no
    lines are drawn: the figure's title says so.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(9, 3.6))
    ax_strip, ax_profile = fig.subplots(2, 1, sharex=False, gridspec_kw={"height_ratios": [1, 3]})
    image = check_strips(image, one_strip_ok=True)[0]
    x = _show_strip_and_profile(ax_strip, ax_profile, image, nm_per_column)
    ax_sal = ax_profile.twinx()
    ax_sal.fill_between(x, column_saliency(gradient), color="k", alpha=0.25, step="mid", label="saliency")
    ax_sal.set_ylim(0, 1.05)
    ax_sal.set_yticks([0, 1])
    ax_sal.tick_params(axis="y", labelsize=7)
    ax_sal.set_ylabel("saliency\n(max = 1)", fontsize=8)
    element = CLASS_ELEMENTS.get(int(true_label))
    note = ""
    if nm_per_column is None:
        ax_profile.set_xlabel("column (no wavelength map for this strip: known lines not marked)")
    else:
        ax_profile.set_xlabel("wavelength (nm)")
        if element is not None:
            from spectral_nb.synthesis import emission_lines

            nm, strength = emission_lines(element)
            lo, hi = min(x[0], x[-1]), max(x[0], x[-1])
            shown = (nm >= lo) & (nm <= hi) & (strength >= 0.05 * strength.max())
            for line in nm[shown]:
                ax_profile.axvline(line, color="magenta", lw=0.8, ls=":")
            note = f" · dotted: known {element} lines"
        else:
            note = f" · {class_names[int(true_label)]} has no line list to mark"
    pred_text = "" if predicted is None else f", predicted {class_names[int(predicted)]}"
    ax_strip.set_title(f"true {class_names[int(true_label)]}{pred_text} · grey: |d p(predicted) / d pixel|{note}",
                       fontsize=9, loc="left")
    return fig
