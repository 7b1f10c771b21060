"""Result analysis: metrics with honest uncertainty, baselines, failure views, classifying a photo.

One subpackage, one module per seam, every name importable from ``spectral_nb.analysis``:

- :mod:`~spectral_nb.analysis.metrics`: the confusion matrix, per-class precision / recall / F1 /
  support, the weighted precision nnSIC reported, a seeded percentile bootstrap and the exact
  interval for the accuracy, :func:`evaluate` and :func:`comparison_table`;
- :mod:`~spectral_nb.analysis.confidence`: reliability, the "unknown" threshold, warp votes;
- :mod:`~spectral_nb.analysis.baselines`: the reference-profile and linear baselines;
- :mod:`~spectral_nb.analysis.figures`: chapter 05's figures and saliency;
- :mod:`~spectral_nb.analysis.photos`: classifying a reader's own photo;
- :mod:`~spectral_nb.analysis.robustness`: accuracy with one factor of the photo changed at a time.

Everything that counts is plain NumPy (SciPy for the exact interval and the linear fit).
TensorFlow is imported only inside the functions that run a model (saliency, warp voting over
shifted and stretched views, classifying a photo, robustness sweeps).

Conventions: labels are class indices ``0..NUM_CLASSES-1``; :data:`UNKNOWN` (``-1``) marks a
prediction the model declined to make. Probabilities are ``(N, 7)`` float arrays whose rows sum
to one. Strips are ``(N, 15, 480, 3) uint8`` with blue on the left.
"""
from spectral_nb.analysis.baselines import (LinearProfileModel, normalised_colour_profiles, fit_linear_profile,
                                            fit_reference_profiles, baseline_features, reference_scores)
from spectral_nb.analysis.confidence import (WARP_VIEWS, ReliabilityTable, apply_threshold, choose_unknown_threshold,
                                             majority_vote, predict_proba, reliability_table, warp_strips,
                                             warp_vote_predict)
from spectral_nb.analysis.figures import (CLASS_ELEMENTS, column_saliency, plot_confusion_matrix, plot_metric_table,
                                          plot_misclassified, plot_model_comparison, plot_reliability, plot_saliency,
                                          plot_top_probability, saliency)
from spectral_nb.analysis.metrics import (UNKNOWN, ClassMetrics, Evaluation, Interval, bootstrap_metric, class_metrics,
                                          comparison_table, confusion_matrix, evaluate, exact_interval, metrics_table,
                                          normalise_rows)
from spectral_nb.analysis.photos import (classify_photo, classify_strip, classify_upload, photo_from_bytes,
                                         plot_classification)
from spectral_nb.analysis.robustness import (PERTURBATIONS, Perturbation, perturbed_confusion, plot_robustness,
                                             robustness_sweep, sweep_table)

__all__ = [
    "UNKNOWN", "ClassMetrics", "Evaluation", "Interval", "bootstrap_metric", "class_metrics", "comparison_table",
    "confusion_matrix", "evaluate", "exact_interval", "metrics_table", "normalise_rows",
    "WARP_VIEWS", "ReliabilityTable", "apply_threshold", "choose_unknown_threshold", "majority_vote", "predict_proba",
    "reliability_table", "warp_strips", "warp_vote_predict",
    "LinearProfileModel", "normalised_colour_profiles", "fit_linear_profile", "fit_reference_profiles", "baseline_features",
    "reference_scores",
    "CLASS_ELEMENTS", "column_saliency", "plot_confusion_matrix", "plot_metric_table", "plot_misclassified",
    "plot_model_comparison", "plot_reliability", "plot_saliency", "plot_top_probability", "saliency",
    "classify_photo", "classify_strip", "classify_upload", "photo_from_bytes", "plot_classification",
    "PERTURBATIONS", "Perturbation", "perturbed_confusion", "plot_robustness", "robustness_sweep", "sweep_table",
]
