"""Result analysis: metrics with honest uncertainty, baselines, failure views, classifying a photo.

Everything that counts is plain NumPy (no scikit-learn): the confusion matrix, per-class
precision / recall / F1 / support, the weighted precision nnSIC reported, and a seeded percentile
bootstrap for the accuracy's 95% interval. TensorFlow is imported only inside the functions that
run a model (saliency, warp voting over shifted and stretched views, classifying a photo).

Conventions: labels are class indices ``0..NUM_CLASSES-1``; :data:`UNKNOWN` (``-1``) marks a
prediction the model declined to make. Probabilities are ``(N, 7)`` float arrays whose rows sum
to one. Strips are ``(N, 15, 480, 3) uint8`` with blue on the left.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, check_labels, check_strips

#: Label of a prediction that was declined (warp votes disagree, or top probability too low).
UNKNOWN: int = -1
#: Class index -> element whose known lines a saliency plot marks (nitrogen glows in bands, not lines).
CLASS_ELEMENTS: dict[int, str] = {1: "Hg", 3: "Ne", 4: "He", 5: "H"}


# --------------------------------------------------------------------------- metrics


def _check_labels(y, name: str, num_classes: int, allow_unknown: bool = False) -> np.ndarray:
    return check_labels(y, name, num_classes=num_classes, allow_unknown=allow_unknown)


def _check_pair(y_true, y_pred, num_classes: int, allow_unknown: bool = False) -> tuple[np.ndarray, np.ndarray]:
    y_true = _check_labels(y_true, "y_true", num_classes)
    y_pred = _check_labels(y_pred, "y_pred", num_classes, allow_unknown)
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


# --------------------------------------------------------------------------- calibration and rejection


@dataclass(frozen=True)
class ReliabilityTable:
    """Top-probability bins: edges ``(B+1,)``, and per bin ``(B,)`` mean confidence, accuracy, count."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def expected_calibration_error(self) -> float:
        """Mean |accuracy − confidence| over bins, weighted by how many predictions fall in each."""
        used = self.count > 0
        return float(np.sum(self.count[used] * np.abs(self.accuracy[used] - self.confidence[used])) / self.count.sum())


def _check_probs(probs, name: str = "probs") -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"{name} must be (N, K) class probabilities, got shape {probs.shape}")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3) or (probs < -1e-6).any():
        raise ValueError(f"{name}: rows must be probabilities that sum to 1 (softmax outputs), not logits")
    return probs


def reliability_table(probs, y_true, n_bins: int = 10) -> ReliabilityTable:
    """Bin predictions by their top probability (equal-width bins on [0, 1]) and compare with accuracy."""
    probs = _check_probs(probs)
    y_true = _check_labels(y_true, "y_true", probs.shape[1])
    if y_true.size != probs.shape[0]:
        raise ValueError(f"{probs.shape[0]} probability rows but {y_true.size} labels")
    top = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(top, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        confidence = np.bincount(which, weights=top, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / count
    return ReliabilityTable(edges, confidence, accuracy, count)


def choose_unknown_threshold(probs_val, y_val, keep_correct: float = 0.99) -> float:
    """Top-probability threshold that keeps at least ``keep_correct`` of the correct VALIDATION predictions.

    Choose it on validation data, never on the test set (the test set would then no longer test
    it). Predictions whose top probability is below the threshold become :data:`UNKNOWN`.
    """
    probs = _check_probs(probs_val, "probs_val")
    y_val = _check_labels(y_val, "y_val", probs.shape[1])
    if y_val.size != probs.shape[0]:
        raise ValueError(f"{probs.shape[0]} probability rows but {y_val.size} labels")
    if not 0 < keep_correct <= 1:
        raise ValueError(f"keep_correct must be in (0, 1], got {keep_correct}")
    top = probs.max(axis=1)
    correct_top = np.sort(top[probs.argmax(axis=1) == y_val])
    if correct_top.size == 0:
        raise ValueError("no correct validation predictions: a threshold cannot be chosen (is the model trained?)")
    may_drop = int(np.floor((1 - keep_correct) * correct_top.size + 1e-9))
    return float(correct_top[may_drop])


def apply_threshold(probs, threshold: float) -> np.ndarray:
    """Predicted class per row, or :data:`UNKNOWN` where the top probability is below ``threshold``."""
    probs = _check_probs(probs)
    return np.where(probs.max(axis=1) >= threshold, probs.argmax(axis=1), UNKNOWN).astype(np.int64)


def majority_vote(view_predictions) -> np.ndarray:
    """Per example, the class most views agree on if more than half do, else :data:`UNKNOWN`.

    ``view_predictions`` is ``(V, N)`` class indices (one row per view, e.g. :data:`WARP_VIEWS`).
    """
    views = np.asarray(view_predictions, dtype=np.int64)
    if views.ndim != 2 or views.shape[0] == 0:
        raise ValueError(f"view_predictions must be (views, N) class indices, got shape {views.shape}")
    k = max(int(views.max()) + 1, 1)
    counts = np.stack([(views == c).sum(axis=0) for c in range(k)])  # (K, N)
    best = counts.argmax(axis=0)
    return np.where(counts.max(axis=0) * 2 > views.shape[0], best, UNKNOWN).astype(np.int64)


#: Test-time views of :func:`warp_vote_predict`: (shift in px, stretch factor about the centre). Another
#: spectroscope moves and scales the spectrum along the strip; a prediction that holds under small
#: moves is one to trust. (Flipping top-bottom is no view at all for a model that averages the rows.)
WARP_VIEWS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (-12.0, 1.0), (12.0, 1.0), (0.0, 0.92), (0.0, 1.08))


def warp_strips(images: np.ndarray, shift_px: float = 0.0, stretch: float = 1.0) -> np.ndarray:
    """Strips moved by ``shift_px`` columns (positive: to the right) and scaled by ``stretch`` about
    their centre along the wavelength axis: ``uint8 (N, 15, 480, 3)``, linear interpolation between
    neighbouring columns, the end columns repeated where the source runs out (as ``records.augment_images``)."""
    images = check_strips(images, one_strip_ok=True)
    if stretch <= 0:
        raise ValueError(f"stretch is a positive factor, not {stretch!r}")
    width = images.shape[2]
    centre = (width - 1) / 2
    source = np.clip(centre + (np.arange(width) - centre) / stretch - shift_px, 0, width - 1)
    left = np.floor(source).astype(int)
    right = np.minimum(left + 1, width - 1)
    weight = (source - left)[None, None, :, None]
    a, b = images[:, :, left].astype(np.float32), images[:, :, right].astype(np.float32)
    return np.round(a + (b - a) * weight).astype(np.uint8)


def warp_vote_predict(model, images: np.ndarray, views=WARP_VIEWS, batch_size: int = 256
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test-time check over small shifts and stretches (:data:`WARP_VIEWS`).

    Returns ``(votes, mean_probs, view_probs)``: the class most views agree on if more than half do,
    else :data:`UNKNOWN` ``(N,)``; the probabilities averaged over the views ``(N, 7)`` (test-time
    augmentation); each view's probabilities ``(V, N, 7)``.
    """
    images = check_strips(images, one_strip_ok=True)
    view_probs = np.stack([predict_proba(model, warp_strips(images, shift, stretch), batch_size)
                           for shift, stretch in views])
    votes = majority_vote(view_probs.argmax(axis=2))
    return votes, view_probs.mean(axis=0), view_probs


def predict_proba(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, 7)`` float64 of ``(N, 15, 480, 3) uint8`` strips (or one strip)."""
    from spectral_nb.model import predict_proba as batched_predict_proba

    return batched_predict_proba(model, check_strips(images, one_strip_ok=True), batch_size).astype(np.float64)


# --------------------------------------------------------------------------- baselines


def column_profiles(images: np.ndarray) -> np.ndarray:
    """Row-averaged RGB profiles ``(N, 480, 3)`` float32, each scaled so its brightest value is 1.

    The scaling removes exposure, which says nothing about the lamp.
    """
    images = check_strips(images, one_strip_ok=True)
    profile = images.astype(np.float32).mean(axis=1)
    peak = profile.reshape(len(profile), -1).max(axis=1)
    return profile / np.maximum(peak, 1e-6)[:, None, None]


def profile_features(images: np.ndarray) -> np.ndarray:
    """``(N, 1440)``: the three colour profiles side by side (what both baselines look at)."""
    return column_profiles(images).transpose(0, 2, 1).reshape(len(images), -1)


def fit_reference_profiles(images: np.ndarray, labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Mean training profile per class ``(K, 1440)``; NaN rows for classes without training strips."""
    features = profile_features(images)
    labels = _check_labels(labels, "labels", num_classes)
    if labels.size != len(features):
        raise ValueError(f"{len(features)} strips but {labels.size} labels")
    refs = np.full((num_classes, features.shape[1]), np.nan, dtype=np.float32)
    for k in range(num_classes):
        if (labels == k).any():
            refs[k] = features[labels == k].mean(axis=0)
    return refs


def reference_scores(references: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Pearson correlation ``(N, K)`` of each strip's profile with each class's reference (−inf if none)."""
    x = profile_features(images).astype(np.float64)
    refs = np.asarray(references, dtype=np.float64)
    if refs.ndim != 2 or refs.shape[1] != x.shape[1]:
        raise ValueError(f"references must be (K, {x.shape[1]}) from fit_reference_profiles, got {refs.shape}")
    def standardise(a):
        a = a - a.mean(axis=1, keepdims=True)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    scores = standardise(x) @ np.nan_to_num(standardise(refs)).T
    return np.where(np.isnan(refs).any(axis=1)[None], -np.inf, scores)


@dataclass(frozen=True)
class LinearProfileModel:
    """Multinomial logistic regression on the standardised profile features (see :func:`fit_linear_profile`)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (features, K)
    bias: np.ndarray     # (K,)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, K)`` of ``(N, 15, 480, 3) uint8`` strips."""
        z = ((profile_features(images) - self.mean) / self.scale) @ self.weights + self.bias
        return _softmax(z)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_linear_profile(images: np.ndarray, labels, num_classes: int = NUM_CLASSES, l2: float = 1e-2,
                       max_iter: int = 1000) -> LinearProfileModel:
    """Fit the linear baseline: multinomial logistic regression on the standardised profiles,
    mean cross-entropy + ``l2`` · ‖W‖², minimised by SciPy's L-BFGS-B. The objective is convex, so
    the fit is its one optimum (no seed, no learning rate); on the book's 2,893 training strips it
    converges in about 450 iterations, within ``max_iter``."""
    from scipy.optimize import minimize

    x = profile_features(images).astype(np.float64)
    y = _check_labels(labels, "labels", num_classes)
    if y.size != len(x):
        raise ValueError(f"{len(x)} strips but {y.size} labels")
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    x = (x - mean) / scale
    n, d, k = len(x), x.shape[1], num_classes
    onehot = np.eye(k)[y]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-k].reshape(d, k), theta[-k:]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        err = (np.exp(log_p) - onehot) / n
        loss = -np.sum(onehot * log_p) / n + l2 * np.sum(w * w)
        return float(loss), np.concatenate([(x.T @ err + 2 * l2 * w).ravel(), err.sum(axis=0)])

    fit = minimize(loss_and_gradient, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return LinearProfileModel(mean.astype(np.float32), scale.astype(np.float32), fit.x[:-k].reshape(d, k), fit.x[-k:])


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
    columns = ["precision (correct/predicted)", "recall (correct/true)", "F1"]
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
                 pad=28)
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
        ax.text(c, min(a + 0.02, 0.97), str(int(n)), ha="center", fontsize=7)
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
    ax_profile.set_yticks([])
    return x


def plot_misclassified(images: np.ndarray, y_true, probs, max_items: int = 6,
                       class_names: Sequence[str] = CLASS_NAMES, fig=None):
    """Gallery of wrong predictions, most confident first: strip, RGB profile, true vs predicted classes."""
    import matplotlib.pyplot as plt

    probs = _check_probs(probs)
    y_true = _check_labels(y_true, "y_true", probs.shape[1])
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
    ax_sal.set_yticks([])
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
    band read with ``params.order == "auto"`` (or no params) goes to the model both ways round."""
    warnings = list(report.get("warnings", []))
    auto = params is None or params.order == "auto"
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
