"""How real do synthetic strips look? Per-strip statistics, their gaps, and a real-vs-synthetic test.

The sim-to-real loop of the book: compute the same statistics on real strips and on synthetic
ones, class by class, and look where they differ; train a small classifier to tell real from
synthetic (cross-validated ROC AUC: 0.5 means the two cannot be told apart, 1.0 means every strip
gives itself away) and see which statistics it leans on. Works on any ``uint8 (N, 15, 480, 3)``
strips; nothing here trains the book's model or sees its labels beyond grouping by class.

Statistics (per strip, on the brightest channel of each pixel unless said, grey levels 0-255):

- ``mean``: mean level; ``dark``: 5th percentile (the floor); ``p99``: 99th percentile;
- ``lit``: fraction of columns whose row-mean exceeds 25% of the strip's peak column;
- ``chroma``: median of max - min channel over lit pixels (how pure the colours are);
- ``white``: fraction of lit pixels with all three channels >= 250 (blown out to white);
- ``clip``: fraction of pixels with any channel >= 250 (saturation of any kind).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE

#: The statistics :func:`strip_statistics` returns, in table order.
STATISTICS: tuple[str, ...] = ("mean", "dark", "p99", "lit", "chroma", "white", "clip")


def _check(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != STRIP_SHAPE or images.dtype != np.uint8:
        raise ValueError(f"strips must be uint8 (N, {', '.join(map(str, STRIP_SHAPE))}), "
                         f"not {images.dtype} {images.shape}")
    return images


def strip_statistics(images) -> dict[str, np.ndarray]:
    """The :data:`STATISTICS` of each strip of ``uint8 (N, 15, 480, 3)``: name -> ``float (N,)``."""
    images = _check(images)
    n = len(images)
    brightest = images.max(axis=-1)                                           # (N, 15, 480) uint8
    bright = brightest.reshape(n, -1).astype(np.float32)                     # (N, 7200)
    columns = brightest.mean(axis=1).astype(np.float32)                      # (N, 480)
    peak = np.maximum(columns.max(axis=1), 1)                                # (N,)
    lit_cols = columns > 0.25 * peak[:, None]
    chroma = (brightest.astype(np.int16) - images.min(axis=-1)).astype(np.float32)  # (N, 15, 480)
    lit_px = brightest > 0.25 * peak[:, None, None]
    chroma_lit = np.array([np.median(c[m]) if m.any() else 0.0 for c, m in zip(chroma, lit_px)], np.float32)
    white = (images.min(axis=-1) >= 250)
    white_lit = np.array([w[m].mean() if m.any() else 0.0 for w, m in zip(white, lit_px)], np.float32)
    return {
        "mean": bright.mean(axis=1),
        "dark": np.percentile(bright, 5, axis=1).astype(np.float32),
        "p99": np.percentile(bright, 99, axis=1).astype(np.float32),
        "lit": lit_cols.mean(axis=1).astype(np.float32),
        "chroma": chroma_lit,
        "white": white_lit,
        "clip": (bright >= 250).mean(axis=1).astype(np.float32),
    }


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the two empirical CDFs (0-1)."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if not a.size or not b.size:
        return float("nan")
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, "right") / a.size - np.searchsorted(b, grid, "right") / b.size)))


def compare_statistics(real: Mapping[str, np.ndarray], real_labels: np.ndarray,
                       synthetic: Mapping[str, np.ndarray], synthetic_labels: np.ndarray) -> list[dict]:
    """Per statistic and class: medians of real and synthetic strips and their KS distance.

    Rows ``{"statistic", "label", "real", "synthetic", "ks"}``; ``label`` -1 is all classes together.
    """
    rows = []
    for name in STATISTICS:
        for label in (*range(NUM_CLASSES), -1):
            r = real[name] if label < 0 else real[name][real_labels == label]
            s = synthetic[name] if label < 0 else synthetic[name][synthetic_labels == label]
            rows.append({"statistic": name, "label": label,
                         "real": float(np.median(r)) if r.size else float("nan"),
                         "synthetic": float(np.median(s)) if s.size else float("nan"),
                         "ks": ks_distance(r, s)})
    return rows


def gap_table(rows: Sequence[dict]) -> str:
    """:func:`compare_statistics` rows as a markdown table: real / synthetic medians (KS) per class."""
    header = "| statistic | " + " | ".join(CLASS_NAMES) + " | all |"
    lines = [header, "|---|" + "---|" * (NUM_CLASSES + 1)]
    for name in STATISTICS:
        cells = []
        for label in (*range(NUM_CLASSES), -1):
            row = next(r for r in rows if r["statistic"] == name and r["label"] == label)
            fmt = "{:.2f}" if name in ("lit", "white", "clip") else "{:.0f}"
            cells.append(f"{fmt.format(row['real'])} / {fmt.format(row['synthetic'])} ({row['ks']:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def discriminator_features(images) -> np.ndarray:
    """What the real-vs-synthetic test sees: the statistics plus a coarse colour profile.

    ``float (N, 7 + 48)``: the :data:`STATISTICS` and the row-mean R, G, B over 16 column bins,
    sorted per channel (so the position of a line, which differs by lamp, does not count; its
    brightness distribution and colour do).
    """
    images = _check(images)
    stats = strip_statistics(images)
    profile = images.mean(axis=1).reshape(len(images), 16, 30, 3).mean(axis=2)  # (N, 16, 3)
    profile = np.sort(profile, axis=1).reshape(len(images), -1) / 255.0
    return np.column_stack([stats[k] / (255.0 if k in ("mean", "dark", "p99", "chroma") else 1.0)
                            for k in STATISTICS] + [profile]).astype(np.float64)


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 300) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    xb = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) / len(y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb / len(y) + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half): P(score of a positive > a negative)."""
    scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks of ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        raise ValueError("roc_auc needs both positive and negative examples")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def real_vs_synthetic_auc(real_images, synthetic_images, folds: int = 5, seed: int = 0) -> dict:
    """Cross-validated AUC of a logistic regression telling real strips (positive) from synthetic ones.

    Features: :func:`discriminator_features`, standardised on each training fold. Returns
    ``{"auc": float, "folds": int, "weights": {feature: mean standardised weight}}``; the largest
    weights (by absolute value) are what gives the synthetic strips away.
    """
    xr, xs = discriminator_features(real_images), discriminator_features(synthetic_images)
    x = np.concatenate([xr, xs])
    y = np.r_[np.ones(len(xr)), np.zeros(len(xs))]
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), int)
    for cls in (0, 1):  # stratified folds
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold_of[idx] = np.arange(idx.size) % folds
    scores = np.empty(len(y))
    weights = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-9
        w = _fit_logistic((x[train] - mu) / sd, y[train])
        scores[test] = ((x[test] - mu) / sd) @ w[:-1] + w[-1]
        weights.append(w[:-1])
    names = list(STATISTICS) + [f"sorted_{c}_bin{i}" for i in range(16) for c in "RGB"]
    mean_w = np.mean(weights, axis=0)
    return {"auc": roc_auc(scores, y.astype(bool)), "folds": folds,
            "weights": dict(zip(names, (float(v) for v in mean_w)))}


def plot_distributions(real: Mapping[str, np.ndarray], synthetic: Mapping[str, np.ndarray],
                       statistics: Sequence[str] = STATISTICS[:5], fig=None):
    """One panel per statistic: histograms of real (filled) and synthetic (outline) strips, all
    classes together, each normalised to its own count; the KS distance in each title. Returns the figure."""
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(2.6 * len(statistics), 2.4))
    axes = fig.subplots(1, len(statistics), squeeze=False)[0]
    for ax, name in zip(axes, statistics):
        r, s = np.asarray(real[name], float), np.asarray(synthetic[name], float)
        high = 1.0 if name in ("lit", "white", "clip") else 255.0
        bins = np.linspace(0, high, 26)
        ax.hist(r, bins=bins, weights=np.full(r.size, 1 / max(r.size, 1)), color="tab:orange", alpha=0.6,
                label=f"real ({r.size})")
        ax.hist(s, bins=bins, weights=np.full(s.size, 1 / max(s.size, 1)), histtype="step", color="k", lw=1.2,
                label=f"synthetic ({s.size})")
        ax.set_title(f"{name}  (KS {ks_distance(r, s):.2f})", fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_side_by_side(real_images, real_labels, synthetic_images, synthetic_labels, per_class: int = 3,
                      seed: int = 0, fig=None, titles: tuple[str, str] = ("real (nnSIC dev strips)", "synthetic")):
    """Per class, ``per_class`` real strips (left) beside as many synthetic ones (right), drawn at
    random with ``seed``; rows stretched x2 so a 15-row strip is visible. ``titles``: the two
    columns' headings (any two sets of strips can be compared). Returns the figure."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    rows, cols, _ = STRIP_SHAPE
    gap = np.full((3, cols, 3), 255, np.uint8)

    def column(images, labels, label):
        idx = np.flatnonzero(np.asarray(labels) == label)
        pick = rng.choice(idx, min(per_class, idx.size), replace=False) if idx.size else []
        strips = [np.repeat(np.asarray(images)[i], 2, axis=0) for i in pick]
        strips += [np.zeros((2 * rows, cols, 3), np.uint8)] * (per_class - len(strips))  # black: none there
        return np.concatenate([x for s in strips for x in (s, gap)])

    fig = fig or plt.figure(figsize=(12, 0.5 * NUM_CLASSES * per_class + 0.6))
    axes = fig.subplots(NUM_CLASSES, 2, squeeze=False)
    for label in range(NUM_CLASSES):
        for k, (images, labels) in enumerate(((real_images, real_labels), (synthetic_images, synthetic_labels))):
            ax = axes[label, k]
            ax.imshow(column(images, labels, label), aspect="auto", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(CLASS_NAMES[label], rotation=0, ha="right", va="center", fontsize=9)
    axes[0, 0].set_title(titles[0], fontsize=9)
    axes[0, 1].set_title(titles[1], fontsize=9)
    fig.subplots_adjust(hspace=0.08, wspace=0.02)
    return fig


__all__ = ["STATISTICS", "strip_statistics", "ks_distance", "compare_statistics", "gap_table",
           "discriminator_features", "real_vs_synthetic_auc", "roc_auc", "plot_distributions", "plot_side_by_side"]
