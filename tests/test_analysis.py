"""Result analysis: metrics against hand-computed cases, bootstrap bounds, rejection, baselines, a photo."""
from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from spectral_nb import NUM_CLASSES, STRIP_SHAPE, analysis
from spectral_nb.analysis import UNKNOWN

# A 3-class confusion matrix (rows true, columns predicted) whose metrics are worked out by hand below.
CM3 = np.array([[5, 1, 0],
                [2, 3, 1],
                [0, 0, 4]])


def labels_from_cm(cm, seed=0):
    """y_true, y_pred pairs that produce ``cm``, in shuffled order."""
    pairs = [(i, j) for i in range(cm.shape[0]) for j in range(cm.shape[1]) for _ in range(cm[i, j])]
    order = np.random.default_rng(seed).permutation(len(pairs))
    pairs = np.array(pairs)[order]
    return pairs[:, 0], pairs[:, 1]


# --------------------------------------------------------------------------- metrics


def test_confusion_matrix_counts_pairs():
    y_true, y_pred = labels_from_cm(CM3)
    np.testing.assert_array_equal(analysis.confusion_matrix(y_true, y_pred, num_classes=3), CM3)


def test_class_metrics_match_hand_computation():
    m = analysis.class_metrics(CM3)
    # precision = TP / column total, recall = TP / row total, F1 = 2TP / (2TP + FP + FN)
    np.testing.assert_allclose(m.precision, [5 / 7, 3 / 4, 4 / 5])
    np.testing.assert_allclose(m.recall, [5 / 6, 3 / 6, 4 / 4])
    np.testing.assert_allclose(m.f1, [10 / 13, 6 / 10, 8 / 9])
    np.testing.assert_array_equal(m.support, [6, 6, 4])
    np.testing.assert_array_equal(m.predicted, [7, 4, 5])
    assert m.accuracy == pytest.approx(12 / 16)
    weighted = (6 * Fraction(5, 7) + 6 * Fraction(3, 4) + 4 * Fraction(4, 5)) / 16
    assert m.weighted_precision == pytest.approx(float(weighted))
    assert m.macro_f1 == pytest.approx((10 / 13 + 6 / 10 + 8 / 9) / 3)


def test_class_never_predicted_has_undefined_precision_counted_as_zero_in_weighted():
    cm = np.array([[3, 0], [2, 0]])  # class 1 never predicted
    m = analysis.class_metrics(cm)
    assert np.isnan(m.precision[1]) and m.recall[1] == 0
    assert m.precision[0] == pytest.approx(3 / 5)
    assert m.weighted_precision == pytest.approx(3 * (3 / 5) / 5)
    table = analysis.metrics_table(m, class_names=("a", "b"))
    assert "—" in table and "(3/5)" in table and "(0/2)" in table


@pytest.mark.parametrize("y_true, y_pred, match", [
    ([0, 1, 7], [0, 1, 1], "outside"),
    ([0, 1], [0, 1, 1], "pair up"),
    ([], [], "empty"),
    ([[0, 1]], [[0, 1]], "1-D"),
    ([0, 1.5], [0, 1], "whole class indices"),
])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        analysis.confusion_matrix(np.array(y_true), np.array(y_pred))


def test_class_metrics_rejects_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        analysis.class_metrics(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        analysis.class_metrics(np.zeros((3, 3)))


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_all_correct_is_one_to_one():
    y = np.arange(50) % NUM_CLASSES
    for metric in ("accuracy", "weighted_precision"):
        ci = analysis.bootstrap_metric(y, y, metric, n_resamples=500)
        assert (ci.estimate, ci.low, ci.high) == (1.0, 1.0, 1.0)


def test_bootstrap_all_wrong_is_zero_to_zero():
    ci = analysis.bootstrap_metric([0, 1, 2], [1, 2, 0], n_resamples=200)
    assert (ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0)


def test_bootstrap_accuracy_matches_binomial_percentiles():
    # Resampling n results with p_hat correct gives Binomial(n, p_hat) / n correct: its 2.5% and
    # 97.5% quantiles are the exact percentile-bootstrap bounds (up to resampling noise).
    n, correct = 100, 90
    y_true = np.zeros(n, dtype=int)
    y_pred = np.where(np.arange(n) < correct, 0, 1)
    ci = analysis.bootstrap_metric(y_true, y_pred, n_resamples=20000, seed=1)
    low, high = stats.binom.ppf([0.025, 0.975], n, correct / n) / n
    assert ci.estimate == pytest.approx(0.9)
    assert ci.low == pytest.approx(low, abs=0.011)
    assert ci.high == pytest.approx(high, abs=0.011)
    # and the normal approximation, p ± 1.96 sqrt(p(1-p)/n) = 0.841 .. 0.959, within a resample step
    se = np.sqrt(0.9 * 0.1 / n)
    assert ci.low == pytest.approx(0.9 - 1.96 * se, abs=0.015)
    assert ci.high == pytest.approx(0.9 + 1.96 * se, abs=0.015)


def test_bootstrap_is_seeded_and_weighted_precision_matches_class_metrics():
    y_true, y_pred = labels_from_cm(CM3)
    a = analysis.bootstrap_metric(y_true, y_pred, "weighted_precision", n_resamples=300, seed=3, num_classes=3)
    b = analysis.bootstrap_metric(y_true, y_pred, "weighted_precision", n_resamples=300, seed=3, num_classes=3)
    assert a == b
    assert a.estimate == pytest.approx(analysis.class_metrics(CM3).weighted_precision)
    assert a.low < a.estimate < a.high


def test_bootstrap_rejects_bad_arguments():
    with pytest.raises(ValueError, match="metric"):
        analysis.bootstrap_metric([0], [0], "f2")
    with pytest.raises(ValueError, match="confidence"):
        analysis.bootstrap_metric([0], [0], confidence=95)


def test_evaluate_counts_unknown_as_wrong():
    ev = analysis.evaluate("t", [0, 0, 1, 1], [0, UNKNOWN, 1, 0], n_resamples=100, num_classes=2)
    assert ev.metrics.accuracy == 0.5 and ev.accuracy.estimate == 0.5
    np.testing.assert_allclose(ev.metrics.recall, [0.5, 0.5])
    np.testing.assert_allclose(ev.metrics.precision, [0.5, 1.0])
    np.testing.assert_array_equal(ev.metrics.support, [2, 2])
    np.testing.assert_array_equal(ev.confusion, [[1, 0], [1, 1]])
    assert ev.weighted_precision.estimate == pytest.approx(0.75)


# --------------------------------------------------------------------------- calibration, rejection, voting


def test_reliability_table_on_a_known_case():
    probs = np.array([[0.95, 0.05]] * 4 + [[0.35, 0.65]] * 2)
    y = np.array([0, 0, 0, 1, 1, 0])
    table = analysis.reliability_table(probs, y, n_bins=10)
    assert table.count[9] == 4 and table.count[6] == 2 and table.count.sum() == 6
    assert table.confidence[9] == pytest.approx(0.95) and table.accuracy[9] == pytest.approx(0.75)
    assert table.confidence[6] == pytest.approx(0.65) and table.accuracy[6] == pytest.approx(0.5)
    assert table.expected_calibration_error == pytest.approx((4 * 0.2 + 2 * 0.15) / 6)


def test_reliability_rejects_logits():
    with pytest.raises(ValueError, match="sum to 1"):
        analysis.reliability_table(np.array([[2.0, -1.0]]), [0])


def test_choose_unknown_threshold_keeps_the_requested_share_of_correct_predictions():
    top = np.linspace(0.55, 1.0, 10)  # ten correct predictions, top probabilities known
    probs = np.stack([top, 1 - top], axis=1)
    y = np.zeros(10, dtype=int)
    wrong = np.array([[0.3, 0.7]])  # a wrong prediction does not count
    probs_all, y_all = np.vstack([probs, wrong]), np.append(y, 0)
    assert analysis.choose_unknown_threshold(probs_all, y_all, keep_correct=1.0) == pytest.approx(0.55)
    assert analysis.choose_unknown_threshold(probs_all, y_all, keep_correct=0.9) == pytest.approx(top[1])
    t = analysis.choose_unknown_threshold(probs_all, y_all, keep_correct=0.75)
    assert t == pytest.approx(top[2])
    kept = (analysis.apply_threshold(probs, t) == 0).mean()
    assert kept >= 0.75


def test_apply_threshold_marks_unknown():
    probs = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]])
    np.testing.assert_array_equal(analysis.apply_threshold(probs, 0.6), [0, UNKNOWN, 1])


def test_majority_vote():
    views = np.array([[0, 1, 2, 4], [0, 1, 3, 4], [5, 2, 4, 4]])
    np.testing.assert_array_equal(analysis.majority_vote(views), [0, 1, UNKNOWN, 4])
    with pytest.raises(ValueError, match="views"):
        analysis.majority_vote(np.array([1, 2]))


# --------------------------------------------------------------------------- baselines


def band_strips(labels, seed=0):
    """Strips whose only signal is a bright band at columns 60k..60k+12 for class k, plus noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (len(labels), *STRIP_SHAPE)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, :, 60 * k: 60 * k + 12] = rng.integers(150, 255)
    return images


def test_baselines_separate_classes_by_band_position():
    y_train = np.repeat(np.arange(NUM_CLASSES), 6)
    y_test = np.repeat(np.arange(NUM_CLASSES), 3)
    train, test = band_strips(y_train, 0), band_strips(y_test, 1)
    refs = analysis.fit_reference_profiles(train, y_train)
    scores = analysis.reference_scores(refs, test)
    np.testing.assert_array_equal(scores.argmax(axis=1), y_test)
    linear = analysis.fit_linear_profile(train, y_train)
    probs = linear.predict_proba(test)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_array_equal(probs.argmax(axis=1), y_test)


def test_reference_profiles_missing_class_never_wins():
    y_train = np.array([0, 0, 2, 2])
    refs = analysis.fit_reference_profiles(band_strips(y_train), y_train)
    assert np.isnan(refs[1]).all()
    scores = analysis.reference_scores(refs, band_strips([1]))
    assert scores[0, 1] == -np.inf and np.isfinite(scores[0, [0, 2]]).all()


def test_normalised_colour_profiles_scale_out_exposure():
    img = band_strips([3])
    np.testing.assert_allclose(analysis.normalised_colour_profiles(img), analysis.normalised_colour_profiles((img // 2)), atol=0.02)
    assert analysis.normalised_colour_profiles(img).max() == pytest.approx(1.0)


# --------------------------------------------------------------------------- models: saliency, voting, a photo


@pytest.fixture(scope="module")
def keras():
    import keras  # a hard dependency: if it does not import, these tests fail (not skip)

    return keras


def window_model(keras, columns=(100, 110)):
    """A uint8-input model that sees only ``columns``: its saliency must be zero everywhere else."""
    inp = keras.Input(shape=STRIP_SHAPE, dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inp)
    x = keras.layers.AveragePooling2D(pool_size=(STRIP_SHAPE[0], 1))(x)
    x = keras.layers.Reshape((STRIP_SHAPE[1], 3))(x)
    x = keras.layers.Cropping1D((columns[0], STRIP_SHAPE[1] - columns[1]))(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(NUM_CLASSES, activation="softmax",
                             kernel_initializer=keras.initializers.RandomNormal(seed=0))(x)
    return keras.Model(inp, out)


def constant_model(keras, probs):
    """A model that answers ``probs`` whatever the strip (zero weights, bias = log probs)."""
    inp = keras.Input(shape=STRIP_SHAPE, dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(NUM_CLASSES, activation="softmax")
    out = dense(x)
    model = keras.Model(inp, out)
    dense.set_weights([np.zeros((3, NUM_CLASSES)), np.log(np.asarray(probs, dtype=np.float64))])
    return model


def test_saliency_is_zero_where_the_model_does_not_look(keras):
    model = window_model(keras)
    img = band_strips([2])[0]
    grad, predicted, probs = analysis.saliency(model, img)
    assert grad.shape == STRIP_SHAPE
    np.testing.assert_allclose(probs, analysis.predict_proba(model, img[None])[0], rtol=1e-5)
    assert predicted == probs.argmax()
    column = analysis.column_saliency(grad)
    assert column.shape == (STRIP_SHAPE[1],) and column.max() == pytest.approx(1.0)
    assert np.all(column[:100] == 0) and np.all(column[110:] == 0) and column[100:110].min() > 0


def test_warp_vote_and_constant_model(keras):
    probs = np.array([0.05, 0.05, 0.6, 0.1, 0.1, 0.05, 0.05])
    model = constant_model(keras, probs)
    votes, mean_probs, view_probs = analysis.warp_vote_predict(model, band_strips([0, 5]))
    np.testing.assert_array_equal(votes, [2, 2])  # every view agrees with a model that ignores the strip
    assert view_probs.shape == (len(analysis.WARP_VIEWS), 2, NUM_CLASSES)
    np.testing.assert_allclose(mean_probs[0], probs, atol=1e-6)


def photo_bytes(image: np.ndarray, fmt="PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def test_classify_photo_and_upload_on_a_synthetic_photo(keras):
    from spectral_nb import synthesis

    probs = np.array([0.05, 0.7, 0.1, 0.05, 0.04, 0.03, 0.03])
    model = constant_model(keras, probs)
    photo, truth = synthesis.render_photo(1, np.random.default_rng(0))
    result = analysis.classify_photo(photo, model, threshold=0.5)
    assert result["strip"].shape == STRIP_SHAPE and result["strip"].dtype == np.uint8
    assert "box" in result["report"]
    assert [name for name, _ in result["top3"]] == ["mercury", "continuum", "LED"]
    assert result["top3"][0][1] == pytest.approx(0.7, abs=1e-5)
    assert result["label"] == "mercury" and result["label_index"] == 1
    unknown = analysis.classify_photo(photo, model, threshold=0.8)
    assert unknown["label"] == "unknown" and unknown["label_index"] == UNKNOWN
    # the upload widget's handler, fed bytes as FileUpload delivers them
    value = ({"name": "my_cfl.png", "type": "image/png", "content": memoryview(photo_bytes(photo))},)
    [uploaded] = analysis.classify_upload(value, model, threshold=0.5)
    assert uploaded["name"] == "my_cfl.png" and uploaded["label"] == "mercury"
    np.testing.assert_array_equal(uploaded["strip"], result["strip"])  # PNG is lossless: same strip
    fig = analysis.plot_classification(uploaded)
    assert len(fig.axes) == 2
    # a photo without a spectrum: preprocessing's PhotoError (a ValueError) reaches the caller
    with pytest.raises(ValueError):
        analysis.classify_photo(np.zeros((300, 400, 3), np.uint8), model)


def test_upload_of_a_non_image_names_the_file(keras):
    model = constant_model(keras, np.full(NUM_CLASSES, 1 / NUM_CLASSES))
    with pytest.raises(ValueError, match="notes.txt.*not an image"):
        analysis.classify_upload([{"name": "notes.txt", "content": b"hello"}], model)
    # a uniform grey PNG decodes but holds no spectrum: the message names the file, never an object repr
    grey = photo_bytes(np.full((120, 160, 3), 128, np.uint8))
    with pytest.raises(ValueError) as err:
        analysis.classify_upload([{"name": "grey.png", "content": grey}], model)
    assert str(err.value).startswith("grey.png: ") and "ndarray" not in str(err.value) and " at 0x" not in str(err.value)
    truncated = photo_bytes(np.full((120, 160, 3), 128, np.uint8), fmt="JPEG")[:200]
    with pytest.raises(ValueError) as err:
        analysis.classify_upload([{"name": "cut.jpg", "content": truncated}], model)
    assert str(err.value).startswith("cut.jpg: ") and " at 0x" not in str(err.value)


# --------------------------------------------------------------------------- figures


def test_figures_draw_with_counts(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_true, y_pred = labels_from_cm(CM3)
    ax = analysis.plot_confusion_matrix(CM3, class_names=("a", "b", "c"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (6)", "b (6)", "c (4)"]
    ax = analysis.plot_metric_table(analysis.class_metrics(CM3), class_names=("a", "b", "c"))
    texts = [t.get_text() for t in ax.texts]
    assert "0.71  5/7" in texts and "0.50  3/6" in texts
    ev = analysis.evaluate("t", y_true, y_pred, n_resamples=50, num_classes=3)
    ev2 = analysis.evaluate("u", y_true, y_true, n_resamples=50, num_classes=3)  # every strip right
    ax = analysis.plot_model_comparison([ev, ev2])
    bars = [p for p in ax.patches]  # one horizontal bar a model, as long as its accuracy, first on top
    assert [round(b.get_width(), 6) for b in bars] == [round(ev.accuracy.estimate, 6), 1.0]
    assert bars[0].get_y() > bars[1].get_y() and [t.get_text() for t in ax.get_yticklabels()] == ["t", "u"]
    probs = np.eye(NUM_CLASSES)[[0, 1, 3]] * 0.9 + 0.1 / NUM_CLASSES  # the third strip is wrong
    fig = analysis.plot_misclassified(band_strips([0, 1, 3]), [0, 1, 2], probs)
    titles = [a.get_title(loc="left") for a in fig.axes]
    assert sum("true continuum" in t and "predicted neon" in t for t in titles) == 1
    assert not any("true LED" in t for t in titles)
    table = analysis.reliability_table(probs, [0, 1, 2])
    ax = analysis.plot_reliability(table)
    used = table.count > 0
    # one bar a used bin, as tall as the fraction right in it, labelled with its count
    assert [round(b.get_height(), 6) for b in ax.patches] == [round(a, 6) for a in table.accuracy[used]]
    assert [t.get_text() for t in ax.texts] == [str(int(n)) for n in table.count[used]]
    assert "ECE" in ax.get_legend().get_texts()[1].get_text()
    plt.close("all")


def test_warp_strips_moves_and_scales_columns():
    strip = np.zeros((1, *STRIP_SHAPE), np.uint8)
    strip[:, :, 200] = 200
    moved = analysis.warp_strips(strip, shift_px=10)
    assert moved[0, 0].max(axis=1).argmax() == 210  # the line moved 10 columns to the right
    half = analysis.warp_strips(strip, shift_px=0.5)
    assert half[0, 0, 200, 0] == half[0, 0, 201, 0] == 100  # half way: split between two columns
    centre = (STRIP_SHAPE[1] - 1) / 2
    wide = analysis.warp_strips(strip, stretch=1.1)
    expected = centre + (200 - centre) * 1.1
    assert abs(wide[0, 0].max(axis=1).argmax() - expected) <= 1  # scaled about the centre
    np.testing.assert_array_equal(analysis.warp_strips(strip), strip)
    with pytest.raises(ValueError, match="positive"):
        analysis.warp_strips(strip, stretch=0)


def test_warp_vote_can_change_a_prediction(keras):
    """Unlike a top-bottom flip (a no-op for a row-averaging model), a shifted view moves a line out
    of the window a model looks at: the views disagree and the vote declines."""
    model = window_model(keras, columns=(195, 205))
    strips = np.zeros((2, *STRIP_SHAPE), np.uint8)
    strips[0, :, 200] = 250  # a line in the window
    strips[1, :, 100] = 250  # a line far from it
    votes, mean_probs, view_probs = analysis.warp_vote_predict(model, strips)
    assert view_probs.shape == (len(analysis.WARP_VIEWS), 2, NUM_CLASSES)
    first = view_probs[:, 0].argmax(axis=1)
    assert len(set(first.tolist())) > 1  # moving the line changes what the model says
    np.testing.assert_allclose(mean_probs, view_probs.mean(axis=0))


class _LeftBrightModel:
    """Stands in for a Keras model (``predict_on_batch``): sure of class 1 (mercury) when a strip's
    left half is the brighter, unsure (uniform) otherwise."""

    def predict_on_batch(self, strips):
        strips = np.asarray(strips, np.float32)
        left, right = strips[:, :, :240].mean(axis=(1, 2, 3)), strips[:, :, 240:].mean(axis=(1, 2, 3))
        probs = np.full((len(strips), NUM_CLASSES), 1 / NUM_CLASSES, np.float32)
        probs[left > right] = [0.02, 0.88, 0.02, 0.02, 0.02, 0.02, 0.02]
        return probs


def test_a_grey_photo_is_read_both_ways_round_and_says_so():
    """A monochrome camera's photo has no colour to tell its blue end: preprocessing says so
    (``grey``, a warning), and classify_photo gives the model's surer reading of the two ends."""
    from spectral_nb import preprocessing as pp, synthesis

    photo, _ = synthesis.render_photo(2, np.random.default_rng(4))
    grey = np.repeat(photo.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    strip, report = pp.preprocess_photo(grey)
    assert report["grey"] and any("blue side unknown" in w for w in report["warnings"])
    assert not pp.preprocess_photo(photo)[1]["grey"]
    model = _LeftBrightModel()
    for image in (grey, grey[:, ::-1]):  # either way round, the reading the model is sure of wins
        result = analysis.classify_photo(image, model)
        assert result["label"] == "mercury", result["warnings"]
        assert result["strip"][:, :240].mean() > result["strip"][:, 240:].mean()
        assert any("surer" in w for w in result["warnings"])


def test_classification_labels_stay_off_the_threshold_line():
    """A probability just under the threshold has its label beyond the dashed line, not on it."""
    import matplotlib
    matplotlib.use("Agg")
    result = {"strip": np.zeros(STRIP_SHAPE, np.uint8), "label": "unknown", "threshold": 0.55,
              "top3": [("mercury", 0.52), ("helium", 0.30), ("neon", 0.10)]}
    fig = analysis.plot_classification(result)
    fig.canvas.draw()
    ax = fig.axes[1]
    line_px = ax.transData.transform((0.55, 0))[0]
    for text in ax.texts:
        box = text.get_window_extent()
        assert not box.x0 <= line_px <= box.x1, f"label {text.get_text()} crosses the threshold line"


def test_exact_interval_matches_clopper_pearson_and_does_not_collapse_at_100_percent():
    """Known values: 8/10 gives 0.444-0.975 (Clopper & Pearson 1934 tables); n/n has its lower end at
    0.025**(1/n) and 0/n its upper end at 1 - 0.025**(1/n), where the bootstrap gives a point."""
    from spectral_nb.analysis import bootstrap_metric, exact_interval

    eight = exact_interval(8, 10)
    assert (round(eight.low, 3), round(eight.high, 3)) == (0.444, 0.975) and eight.estimate == 0.8
    full = exact_interval(90, 90)
    assert full.low == pytest.approx(0.025 ** (1 / 90)) and full.high == 1.0
    none = exact_interval(0, 10)
    assert none.low == 0.0 and none.high == pytest.approx(1 - 0.025 ** (1 / 10))
    labels = np.arange(90) % 7
    boot = bootstrap_metric(labels, labels)
    assert boot.low == boot.high == 1.0 and full.low < 0.97  # the bootstrap collapses, the exact interval does not
    with pytest.raises(ValueError, match="successes"):
        exact_interval(11, 10)


# --------------------------------------------------------------------------- robustness sweeps


def _lit_strips(n=4, seed=0):
    rng = np.random.default_rng(seed)
    strips = rng.integers(5, 30, (n, *STRIP_SHAPE)).astype(np.uint8)
    strips[:, :, 150:170] = [200, 120, 60]   # a lit band of columns, warm-coloured
    return strips


def test_every_perturbation_leaves_the_strips_as_they_are_at_its_nominal_level():
    strips = _lit_strips()
    for p in analysis.PERTURBATIONS:
        assert p.nominal in p.levels, p.name
        out = p.apply(strips, p.nominal, np.random.default_rng(0))
        assert out.dtype == np.uint8 and np.array_equal(out, strips), p.name


def test_perturbations_change_the_strips_as_a_camera_and_a_crop_would():
    strips = _lit_strips()
    by_name = {p.name: p for p in analysis.PERTURBATIONS}
    rng = np.random.default_rng(1)
    # exposure: twice the light, clipped at full scale
    brighter = by_name["exposure"].apply(strips, 2.0, rng)
    assert np.array_equal(brighter[:, :, 150:170], np.broadcast_to([255, 240, 120], (4, 15, 20, 3)))
    assert np.array_equal(brighter[:, :, :100], strips[:, :, :100] * 2)
    # noise: zero-mean with the sigma asked for (away from the clipping at 0 and 255)
    grey = np.full((8, *STRIP_SHAPE), 128, np.uint8)
    noisy = by_name["noise"].apply(grey, 8.0, rng).astype(float) - 128
    assert abs(noisy.mean()) < 0.1 and noisy.std() == pytest.approx(8.0, rel=0.02)
    # white balance: red up by f, green kept, blue down by f
    warm = by_name["white balance"].apply(grey, 1.25, rng)
    assert warm[0, 0, 0].tolist() == [160, 128, 102]
    # shift: the band moves by that many columns
    moved = by_name["shift"].apply(strips, 48.0, rng)
    assert np.array_equal(moved[:, :, 198:218], strips[:, :, 150:170])
    # window: a stretch about the centre (239.5) moves column 150 to 239.5 - 89.5 * 1.25
    stretched = by_name["window"].apply(strips, 1.25, rng)
    assert stretched[0, 0, 128].tolist() == [200, 120, 60] and stretched[0, 0, 125].max() < 100
    # box height: the band squeezed into the middle rows, the strip's darkest 1% around it; the row
    # mean (what the model reads) is the band's mean / ratio plus the background's share
    tall = by_name["box height"].apply(strips, 3.0, rng)
    assert np.array_equal(tall[:, 5:10, 150:170], strips[:, 5:10, 150:170])
    background = np.percentile(strips.reshape(4, -1, 3), 1, axis=1)
    assert np.abs(tall[:, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]].astype(float) - background[:, None, None, :]).max() <= 0.5
    expected = strips[:, :, 160].astype(float).mean(axis=1) / 3 + background * 2 / 3
    assert np.abs(tall[:, :, 160].astype(float).mean(axis=1) - expected).max() < 1.0


def test_the_trained_ranges_are_what_the_book_augmentations_draw():
    """The shaded "trained range" of each panel is the range chapter 04's augmentations cover."""
    from spectral_nb import records

    by_name = {p.name: p for p in analysis.PERTURBATIONS}
    grey = np.full((3000, *STRIP_SHAPE), 100, np.uint8)
    gain = records.augment_images(grey, 4, "gain").numpy()[:, 0, 0, 0] / 100.0
    low, high = by_name["exposure"].trained
    assert gain.min() >= low - 0.01 and gain.max() <= high + 0.01
    assert gain.min() < low + 0.02 and gain.max() > high - 0.03   # both ends reached
    red_gain = records.augment_images(grey, 5, "white_balance").numpy()[:, 0, 0, 0] / 100.0
    low, high = by_name["white balance"].trained
    assert red_gain.min() >= low - 0.01 and red_gain.max() <= high + 0.01
    assert red_gain.min() < low + 0.02 and red_gain.max() > high - 0.02
    noise = records.augment_images(grey, 6, "noise").numpy().astype(float) - 100
    sigmas = noise.reshape(len(grey), -1).std(axis=1)
    assert sigmas.max() <= by_name["noise"].trained[1] * 1.02 and sigmas.max() > by_name["noise"].trained[1] * 0.95
    options = records.BOOK_AUGMENT_OPTIONS
    assert by_name["shift"].trained == (-options["max_shift_px"], options["max_shift_px"])
    assert by_name["window"].trained == pytest.approx((1 - options["max_stretch"], 1 + options["max_stretch"]))


class _LineSideModel:
    """Stands in for a Keras model: class 0 when the strip's brightest column lies left of the middle, else 1."""

    def predict_on_batch(self, strips):
        brightest = np.asarray(strips, np.float32).mean(axis=(1, 3)).argmax(axis=1)
        probs = np.full((len(strips), NUM_CLASSES), 0.01, np.float32)
        probs[np.arange(len(strips)), (brightest >= 240).astype(int)] = 0.94
        return probs


def test_robustness_sweep_on_a_model_with_a_known_answer():
    """A line at column 200 (class 0) and one at 280 (class 1): a shift of 48 columns or more carries one
    of them across the middle, a stretch about the centre never does, and exposure, noise, white balance
    and a taller box leave the brightest column where it was."""
    import matplotlib

    matplotlib.use("Agg")
    strips = np.zeros((2, *STRIP_SHAPE), np.uint8)
    strips[0, :, 198:203] = 250
    strips[1, :, 278:283] = 250
    sweep = analysis.robustness_sweep(_LineSideModel(), strips, np.array([0, 1]), seed=3)
    assert list(sweep) == [p.name for p in analysis.PERTURBATIONS]
    shift = dict(sweep["shift"])
    assert shift[0.0] == 1.0 and all(shift[s] == 0.5 for s in (-144.0, -96.0, -48.0, 48.0, 96.0, 144.0))
    for name in ("exposure", "noise", "white balance", "window", "box height"):
        assert all(accuracy == 1.0 for _, accuracy in sweep[name]), (name, sweep[name])
    assert sweep == analysis.robustness_sweep(_LineSideModel(), strips, np.array([0, 1]), seed=3)
    assert "shift" in analysis.sweep_table(sweep)
    fig = analysis.plot_robustness(sweep, chance=1 / NUM_CLASSES)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == [p.name for p in analysis.PERTURBATIONS]
    assert all(ax.get_ylabel() == "accuracy" and ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    with pytest.raises(ValueError, match="one per strip"):
        analysis.robustness_sweep(_LineSideModel(), strips, np.array([0, 1, 1]))
    # the confusion at one level: moved 48 columns right, the class-0 line is called class 1
    cm = analysis.perturbed_confusion(_LineSideModel(), strips, np.array([0, 1]), "shift", 48.0)
    assert cm.shape == (NUM_CLASSES, NUM_CLASSES) and cm[0, 1] == 1 and cm[1, 1] == 1 and cm.sum() == 2
    with pytest.raises(ValueError, match="no factor 'focus'"):
        analysis.perturbed_confusion(_LineSideModel(), strips, np.array([0, 1]), "focus", 1.0)
