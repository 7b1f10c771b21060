"""Two baselines on the row-averaged colour profile, the bar the CNN has to clear: the nearest
per-class reference profile, and multinomial logistic regression (SciPy's L-BFGS-B)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectral_nb import NUM_CLASSES, check_labels, check_strips


# --------------------------------------------------------------------------- baselines


def normalised_colour_profiles(images: np.ndarray) -> np.ndarray:
    """Row-averaged RGB profiles ``(N, 480, 3)`` float32, each scaled so its brightest value is 1.

    The scaling removes exposure, which says nothing about the lamp.
    """
    images = check_strips(images, one_strip_ok=True)
    profile = images.astype(np.float32).mean(axis=1)
    peak = profile.reshape(len(profile), -1).max(axis=1)
    return profile / np.maximum(peak, 1e-6)[:, None, None]


def baseline_features(images: np.ndarray) -> np.ndarray:
    """``(N, 1440)``: the three colour profiles side by side (what both baselines look at)."""
    return normalised_colour_profiles(images).transpose(0, 2, 1).reshape(len(images), -1)


def fit_reference_profiles(images: np.ndarray, labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Mean training profile per class ``(K, 1440)``; NaN rows for classes without training strips."""
    features = baseline_features(images)
    labels = check_labels(labels, "labels", num_classes=num_classes)
    if labels.size != len(features):
        raise ValueError(f"{len(features)} strips but {labels.size} labels")
    refs = np.full((num_classes, features.shape[1]), np.nan, dtype=np.float32)
    for k in range(num_classes):
        if (labels == k).any():
            refs[k] = features[labels == k].mean(axis=0)
    return refs


def reference_scores(references: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Pearson correlation ``(N, K)`` of each strip's profile with each class's reference (−inf if none)."""
    x = baseline_features(images).astype(np.float64)
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
        z = ((baseline_features(images) - self.mean) / self.scale) @ self.weights + self.bias
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

    x = baseline_features(images).astype(np.float64)
    y = check_labels(labels, "labels", num_classes=num_classes)
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
