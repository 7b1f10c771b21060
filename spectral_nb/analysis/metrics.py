"""Metrics with honest uncertainty: the confusion matrix, per-class precision / recall / F1 /
support, the weighted precision nnSIC reported, a seeded percentile bootstrap and the exact
(Clopper-Pearson) interval for the accuracy, and :func:`evaluate`, which gathers them for one
classifier. Plain NumPy (SciPy for the exact interval)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, NUM_CLASSES, check_labels

#: Label of a prediction that was declined (warp votes disagree, or top probability too low).
UNKNOWN: int = -1


# --------------------------------------------------------------------------- metrics


def _check_pair(y_true, y_pred, num_classes: int, allow_unknown: bool = False) -> tuple[np.ndarray, np.ndarray]:
    y_true = check_labels(y_true, "y_true", num_classes=num_classes)
    y_pred = check_labels(y_pred, "y_pred", num_classes=num_classes, allow_unknown=allow_unknown)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}: they must pair up")
    if y_true.size == 0:
        raise ValueError("no labels: y_true and y_pred are empty")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts ``(K, K) int64``: row = true class, column = predicted class."""
    y_true, y_pred = _check_pair(y_true, y_pred, num_classes)
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its total (the recall view); empty rows stay 0."""
    cm = np.asarray(cm, dtype=float)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


@dataclass(frozen=True)
class ClassMetrics:
    """Per-class metrics from one confusion matrix; arrays are ``(K,)``.

    ``precision`` is NaN for a class never predicted, ``recall`` NaN for a class absent from the
    test set (undefined, not zero); ``f1`` is NaN when either is.
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray      # true examples per class
    predicted: np.ndarray    # predictions per class
    true_positives: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(self.true_positives.sum() / self.support.sum())

    @property
    def weighted_precision(self) -> float:
        """Precision averaged with each class weighted by its support (nnSIC's headline metric).

        A class that is never predicted counts as precision 0 here, as in scikit-learn's
        ``precision_score(average="weighted")``, so the number can be compared with nnSIC's.
        """
        return float(np.nansum(np.nan_to_num(self.precision) * self.support) / self.support.sum())

    @property
    def macro_f1(self) -> float:
        """F1 averaged over the classes present in the test set, each class counting once."""
        present = self.support > 0
        return float(np.mean(np.nan_to_num(self.f1[present])))


def class_metrics(cm: np.ndarray) -> ClassMetrics:
    """Precision, recall, F1, support from a ``(K, K)`` confusion matrix (rows true, columns predicted)."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square (K, K), got shape {cm.shape}")
    if (cm < 0).any():
        raise ValueError("a confusion matrix holds counts; found a negative entry")
    if cm.sum() == 0:
        raise ValueError("the confusion matrix is empty (no examples)")
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(np.int64)
    predicted = cm.sum(axis=0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), np.nan)
        recall = np.where(support > 0, tp / np.maximum(support, 1), np.nan)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
        f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
    return ClassMetrics(precision, recall, f1, support, predicted, tp.astype(np.int64))


def metrics_table(metrics: ClassMetrics, class_names: Sequence[str] = CLASS_NAMES) -> str:
    """Plain-text table: precision and recall with their counts (``correct/total``), F1, support."""
    def cell(value: float, num: int, den: int) -> str:
        return f"{'  —  ' if np.isnan(value) else f'{value:5.3f}'} ({num}/{den})"

    lines = [f"{'class':<10} {'precision':>16} {'recall':>16} {'F1':>6} {'support':>8}"]
    for k, name in enumerate(class_names):
        f1 = "  —  " if np.isnan(metrics.f1[k]) else f"{metrics.f1[k]:.3f}"
        lines.append(f"{name:<10} {cell(metrics.precision[k], metrics.true_positives[k], metrics.predicted[k]):>16} "
                     f"{cell(metrics.recall[k], metrics.true_positives[k], metrics.support[k]):>16} "
                     f"{f1:>6} {metrics.support[k]:>8}")
    lines.append(f"{'all':<10} {'weighted ' + format(metrics.weighted_precision, '.3f'):>16} "
                 f"{'acc ' + format(metrics.accuracy, '.3f'):>16} {metrics.macro_f1:6.3f} {metrics.support.sum():>8}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval (fractions in [0, 1])."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int

    def __str__(self) -> str:
        return (f"{self.estimate:.3f} (95% CI {self.low:.3f}–{self.high:.3f})" if abs(self.confidence - 0.95) < 1e-9
                else f"{self.estimate:.3f} ({self.confidence:.0%} CI {self.low:.3f}–{self.high:.3f})")


def bootstrap_metric(y_true, y_pred, metric: str = "accuracy", n_resamples: int = 1000,
                     confidence: float = 0.95, seed: int = 0, num_classes: int = NUM_CLASSES) -> Interval:
    """Percentile-bootstrap interval of ``"accuracy"`` or ``"weighted_precision"``, seeded.

    Resamples the test examples with replacement ``n_resamples`` times (all at once, vectorised)
    and takes the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of the metric.
    It measures how much the number would move with another test set of the same size drawn
    the same way; it says nothing about photos unlike the test set. ``y_pred`` may hold
    :data:`UNKNOWN`, which counts as wrong.
    """
    if metric not in ("accuracy", "weighted_precision"):
        raise ValueError(f"metric must be 'accuracy' or 'weighted_precision', got {metric!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    y_true, y_pred = _check_pair(y_true, y_pred, num_classes, allow_unknown=True)
    n = y_true.size
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    if metric == "accuracy":
        correct = (y_true == y_pred).astype(np.float64)
        estimate = float(correct.mean())
        values = correct[idx].mean(axis=1)
    else:
        estimate = _weighted_precision_batch(y_true[None], y_pred[None], num_classes)[0]
        values = _weighted_precision_batch(y_true[idx], y_pred[idx], num_classes)
    alpha = (1 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return Interval(float(estimate), float(low), float(high), confidence, n_resamples)


def exact_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Clopper-Pearson ("exact") interval of a proportion ``successes / n``, from the beta distribution.

    Unlike a bootstrap it does not collapse to a point at 0% or 100%: 90 right of 90 gives
    0.960-1.000 at 95%, i.e. a true accuracy as low as 96% would give 90/90 one time in 40. Its
    ``n_resamples`` is 0 (nothing is resampled).
    """
    from scipy.stats import beta

    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    alpha = (1 - confidence) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(alpha, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha, successes + 1, n - successes))
    return Interval(successes / n, low, high, confidence, 0)


def _weighted_precision_batch(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Weighted precision of each row of ``(B, n)`` label arrays, via one bincount (UNKNOWN = wrong)."""
    b, n = y_true.shape
    k = num_classes
    pred = np.where(y_pred == UNKNOWN, k, y_pred)  # an extra "unknown" column, never a true class
    flat = (np.arange(b)[:, None] * k * (k + 1) + y_true * (k + 1) + pred).ravel()
    cm = np.bincount(flat, minlength=b * k * (k + 1)).reshape(b, k, k + 1)
    tp = cm[:, np.arange(k), np.arange(k)].astype(float)
    predicted = cm[:, :, :k].sum(axis=1)
    support = cm.sum(axis=2)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    return (precision * support).sum(axis=1) / n


# --------------------------------------------------------------------------- one-call evaluation


@dataclass(frozen=True)
class Evaluation:
    """Everything chapter 05 shows about one classifier on one labelled set."""

    name: str
    labels: np.ndarray
    predictions: np.ndarray
    confusion: np.ndarray
    metrics: ClassMetrics
    accuracy: Interval
    weighted_precision: Interval
    #: Clopper-Pearson interval of the accuracy (:func:`exact_interval`): the one to quote near 0% or 100%
    accuracy_exact: Interval

    def summary(self) -> str:
        return f"{self.name:<28} accuracy {self.accuracy}   weighted precision {self.weighted_precision.estimate:.3f}"


def evaluate(name: str, y_true, y_pred, n_resamples: int = 1000, seed: int = 0,
             num_classes: int = NUM_CLASSES) -> Evaluation:
    """Confusion matrix, per-class metrics and bootstrap intervals of one set of predictions.

    :data:`UNKNOWN` predictions count as wrong (they are not in the confusion matrix's columns
    but lower the recall of their true class).
    """
    y_true, y_pred = _check_pair(y_true, y_pred, num_classes, allow_unknown=True)
    known = y_pred != UNKNOWN
    cm = confusion_matrix(y_true[known], y_pred[known], num_classes) if known.any() else np.zeros(
        (num_classes, num_classes), np.int64)
    # Put the declined examples back into the support so recall counts them as misses.
    metrics = class_metrics(cm) if known.any() else None
    if metrics is None or not known.all():
        support = np.bincount(y_true, minlength=num_classes)
        base = metrics or ClassMetrics(*(np.full(num_classes, np.nan),) * 3, support,
                                       np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64))
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(support > 0, base.true_positives / np.maximum(support, 1), np.nan)
            f1 = 2 * base.precision * recall / (base.precision + recall)
            f1 = np.where((base.precision + recall) == 0, 0.0, f1)
        metrics = ClassMetrics(base.precision, recall, f1, support, base.predicted, base.true_positives)
    return Evaluation(
        name, y_true, y_pred, cm, metrics,
        bootstrap_metric(y_true, y_pred, "accuracy", n_resamples, seed=seed, num_classes=num_classes),
        bootstrap_metric(y_true, y_pred, "weighted_precision", n_resamples, seed=seed, num_classes=num_classes),
        exact_interval(int((y_true == y_pred).sum()), int(y_true.size)),
    )


def comparison_table(evaluations: Sequence[Evaluation], class_names: Sequence[str] = CLASS_NAMES) -> str:
    """Recall per class (correct/true) for several classifiers side by side, then accuracy and weighted precision."""
    width = max(14, *(len(e.name) + 1 for e in evaluations))
    lines = [f"{'class (n)':<15}" + "".join(f"{e.name:>{width}}" for e in evaluations)]
    for k, name in enumerate(class_names):
        support = evaluations[0].metrics.support[k]
        cells = "".join(f"{f'{e.metrics.true_positives[k]}/{support}':>{width}}" for e in evaluations)
        lines.append(f"{f'{name} ({support})':<15}" + cells)
    lines.append(f"{'accuracy':<15}" + "".join(f"{e.accuracy.estimate:>{width}.3f}" for e in evaluations))
    lines.append(f"{'  95% CI':<15}" + "".join(f"{f'{e.accuracy.low:.3f}-{e.accuracy.high:.3f}':>{width}}"
                                               for e in evaluations))
    lines.append(f"{'  exact 95% CI':<15}" + "".join(
        f"{f'{e.accuracy_exact.low:.3f}-{e.accuracy_exact.high:.3f}':>{width}}" for e in evaluations))
    lines.append(f"{'weighted prec.':<15}" + "".join(f"{e.weighted_precision.estimate:>{width}.3f}" for e in evaluations))
    return "\n".join(lines)
