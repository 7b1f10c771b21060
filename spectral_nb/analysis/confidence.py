"""How far to trust a prediction: reliability of the top probability, an "unknown" threshold chosen
on validation strips, and majority votes over shifted and stretched views of a strip."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb import check_labels, check_strips
from spectral_nb.analysis.metrics import UNKNOWN


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
    y_true = check_labels(y_true, "y_true", num_classes=probs.shape[1])
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
    y_val = check_labels(y_val, "y_val", num_classes=probs.shape[1])
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
