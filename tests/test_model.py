"""spectral_nb.model: shapes, the fixed profile, parameter and FLOP counts, saving, training."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402

from spectral_nb import NUM_CLASSES, STRIP_SHAPE  # noqa: E402
from spectral_nb import model as M  # noqa: E402



def m4_params() -> int:
    """nnSIC's M4 counted layer by layer (Conv1D without bias; BatchNormalization keeps 4 numbers a
    channel: scale, offset, moving mean and variance; 240 columns x 96 channels after the pool)."""
    convs = [(5, 1, 32), (15, 32, 64), (45, 64, 64), (90, 64, 96), (105, 96, 96)]
    conv = sum(k * c_in * c_out + 4 * c_out for k, c_in, c_out in convs)
    dense = 240 * 96 * 1280 + 4 * 1280 + 1280 * 640 + 4 * 640
    return conv + dense + 640 * 7 + 7


def compact_params(width: int = 1, channels: int = 1) -> int:
    """The compact model counted layer by layer: a kernel-7 stem and kernel-5 blocks (16, 24, 32, 48,
    64, 64 filters times ``width``, no bias, BatchNormalization 4 a channel) on a profile of
    ``channels`` (1 grey, 3 colour); mean and max pooling give 2 x 64 x width features to Dense 7."""
    filters = [16 * width, 24 * width, 32 * width, 48 * width, 64 * width, 64 * width]
    conv = 7 * channels * filters[0] + sum(5 * a * b for a, b in zip(filters, filters[1:]))
    return conv + 4 * sum(filters) + 2 * filters[-1] * 7 + 7


#: nnSIC's M4 as described in its paper and code (32.06 M).
M4_PARAMS = m4_params()
#: 2 * (conv multiply-adds 833,203,200 + dense 30,314,880); see count_flops.
M4_FLOPS = 1_727_036_160

REPO = Path(__file__).resolve().parents[1]


def random_strips(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *STRIP_SHAPE), dtype=np.uint8)


def toy_dataset(n: int = 64, seed: int = 0):
    """Strips of dim noise with one bright band whose column depends on the class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % NUM_CLASSES
    images = rng.integers(0, 40, (n, *STRIP_SHAPE), dtype=np.uint8)
    for i, label in enumerate(labels):
        column = 30 + 60 * label
        images[i, :, column:column + 6, :] = 230
    return images, labels.astype(np.int64)


@pytest.fixture(scope="module")
def compact():
    return M.build_model("compact", seed=0)


@pytest.fixture(scope="module")
def m4():
    return M.build_model("m4", seed=0)


@pytest.fixture(scope="module")
def colour():
    return M.build_model("colour", seed=0)


@pytest.mark.parametrize("kind", M.MODEL_KINDS)
def test_uint8_strips_in_probabilities_out(kind, compact, m4, colour):
    model = {"compact": compact, "m4": m4, "colour": colour}[kind]
    assert model.input.dtype == "uint8" and tuple(model.input.shape[1:]) == STRIP_SHAPE
    probabilities = M.predict_proba(model, random_strips(5))
    assert probabilities.shape == (5, NUM_CLASSES) and probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of 'colour', 'compact', 'm4'"):
        M.build_model("resnet")


def test_same_seed_same_weights():
    a, b = M.build_model("compact", seed=3), M.build_model("compact", seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    c = M.build_model("compact", seed=4)
    assert not all(np.array_equal(x, y) for x, y in zip(a.get_weights(), c.get_weights()))


def test_m4_has_nnsic_parameter_count(m4):
    assert m4.count_params() == M4_PARAMS == 32_059_815
    assert abs(m4.count_params() - 32.06e6) / 32.06e6 < 0.005


def test_flops_m4_and_compact(compact, m4):
    assert M.count_flops(m4) == M4_FLOPS
    assert abs(M.count_flops(m4) - 1.7e9) / 1.7e9 < 0.15
    assert M.count_flops(compact) * 30 <= M.count_flops(m4)
    assert compact.count_params() == compact_params()


def test_flops_by_hand_on_a_tiny_model():
    inputs = keras.Input((10, 2))
    x = keras.layers.Conv1D(4, 3)(inputs)           # valid: 8 positions x 3 taps x 2 in x 4 out
    x = keras.layers.Flatten()(x)                   # 32 values
    outputs = keras.layers.Dense(5)(x)              # 32 x 5
    tiny = keras.Model(inputs, outputs)
    assert M.count_flops(tiny) == 2 * (8 * 3 * 2 * 4) + 2 * (32 * 5)  # 384 + 320


def test_colour_model_is_the_compact_one_twice_as_wide_with_two_more_input_channels(colour, compact):
    assert M.COLOUR_WIDTH == 2
    wide_grey = M.build_model("compact", seed=0, width=M.COLOUR_WIDTH)
    # same layers; the stem Conv1D (kernel 7, 16 x width filters, no bias) sees 3 channels, not 1
    assert colour.count_params() == wide_grey.count_params() + 7 * (3 - 1) * 32 == compact_params(2, 3) == 201_575
    assert M.count_flops(colour) == M.count_flops(wide_grey) + 2 * 7 * (3 - 1) * 32 * 240
    narrow = M.build_model("colour", seed=0, width=1)
    assert narrow.count_params() == compact.count_params() + 7 * (3 - 1) * 16 == compact_params(1, 3) == 51_511
    assert [layer.name for layer in narrow.layers] == [layer.name for layer in colour.layers]
    assert colour.get_layer("stem_conv").filters == 32 and colour.get_layer("block5_conv").filters == 128


@pytest.mark.parametrize("kind, width", [("m4", 2), ("colour", 0), ("compact", 1.5), ("colour", -1)])
def test_bad_width_is_refused(kind, width):
    with pytest.raises(ValueError, match="width is a whole filter multiplier"):
        M.build_model(kind, width=width)


def test_colour_profile_is_the_row_mean_of_each_channel(colour):
    profile_model = keras.Model(colour.input, colour.get_layer(M.PROFILE_LAYER).output)
    strips = random_strips(3, seed=1)
    got = profile_model.predict(strips, verbose=0)
    assert got.shape == (3, STRIP_SHAPE[1], 3)
    np.testing.assert_allclose(got, strips.astype(np.float64).mean(axis=1) / 255.0, atol=1e-6)
    assert profile_model.weights == []


def test_colour_model_sees_colour_but_hardly_exposure(colour):
    grey = np.random.default_rng(2).integers(40, 120, (2, 15, 480, 1)).repeat(3, axis=3)
    coloured = grey + np.array([-30, 0, 30])  # same per-pixel mean, other colours
    base = M.predict_proba(colour, grey.astype(np.uint8))
    colour_change = np.abs(M.predict_proba(colour, coloured.astype(np.uint8)) - base).max()
    # twice the exposure (no clipping): the standardisation over columns and channels removes it,
    # but for its epsilon (1e-4 against a variance of about 0.008 here: a 0.6% change of scale)
    exposure_change = np.abs(M.predict_proba(colour, (2 * grey).astype(np.uint8)) - base).max()
    assert colour_change > 0.05
    assert exposure_change < colour_change / 3


@pytest.mark.parametrize("kind", ["compact", "m4"])
def test_profile_is_the_fixed_equal_weight_mean(kind, compact, m4):
    model = {"compact": compact, "m4": m4}[kind]
    profile_model = keras.Model(model.input, model.get_layer(M.PROFILE_LAYER).output)
    strips = random_strips(3, seed=1)
    expected = strips.astype(np.float64).mean(axis=(1, 3)) / 255.0
    got = profile_model.predict(strips, verbose=0)
    assert got.shape == (3, STRIP_SHAPE[1], 1)
    np.testing.assert_allclose(got[..., 0], expected, atol=1e-6)
    assert profile_model.trainable_weights == [] and profile_model.weights == []


def test_colour_does_not_matter_only_the_rgb_mean(compact):
    grey = np.random.default_rng(2).integers(10, 246, (2, 15, 480, 1)).repeat(3, axis=3)
    coloured = grey + np.array([-10, 0, 10])  # channels differ, per-pixel mean unchanged
    np.testing.assert_allclose(M.predict_proba(compact, coloured.astype(np.uint8)),
                               M.predict_proba(compact, grey.astype(np.uint8)), atol=1e-5)


def test_save_and_plain_keras_load_give_identical_predictions(compact, tmp_path):
    path = M.save_model(compact, tmp_path / "models" / "compact.keras")
    assert path.is_file() and list(path.parent.iterdir()) == [path]
    strips = random_strips(4, seed=3)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(M.predict_proba(loaded, strips), M.predict_proba(compact, strips))
    M.save_model(compact, path)  # retraining overwrites
    np.testing.assert_array_equal(M.predict_proba(M.load_trained_model(path), strips),
                                  M.predict_proba(compact, strips))


def test_missing_model_says_which_notebook_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="04_model_building"):
        M.load_trained_model(tmp_path / "nothing.keras")


def test_predict_proba_refuses_wrong_input(compact):
    with pytest.raises(ValueError, match=r"\(N, 15, 480, 3\)"):
        M.predict_proba(compact, np.zeros((2, 15, 400, 3), np.uint8))
    with pytest.raises(ValueError, match="one strip"):
        M.predict_proba(compact, np.zeros(STRIP_SHAPE, np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        M.predict_proba(compact, np.zeros((2, *STRIP_SHAPE), np.float32))


def test_summary_text(compact):
    text = M.summary_text(compact)
    assert compact_params() == 51_287
    assert "stem_conv" in text and "51,287" in text


@pytest.mark.slow
def test_train_model_writes_checkpoint_log_and_tensorboard(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import tensorflow as tf

    images, labels = toy_dataset(64)
    train = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(64, seed=0).batch(16)
    vali = tf.data.Dataset.from_tensor_slices((images[:28], labels[:28])).batch(16)
    model = M.build_model("compact", seed=0)
    history = M.train_model(model, train, vali, epochs=2, out_dir=tmp_path / "run", verbose=0)
    assert len(history.history["loss"]) == 2
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert (tmp_path / "run" / "checkpoint.keras").is_file()
    assert (tmp_path / "run" / "logs").is_dir() and any((tmp_path / "run" / "logs").rglob("*"))
    log = (tmp_path / "run" / "training_log.csv").read_text().splitlines()
    assert len(log) == 3 and "val_loss" in log[0]

    fig = M.plot_learning_curves(tmp_path / "run" / "training_log.csv")
    assert len(fig.axes) == 2
    assert len(M.plot_learning_curves(history).axes) == 2
    ax = M.plot_architecture(model)
    assert f"{compact_params():,} parameters" in ax.get_title()
    matplotlib.pyplot.close("all")


@pytest.mark.slow
def test_learning_rate_is_cut_when_validation_loss_stalls_and_constant_without_a_schedule(tmp_path):
    import tensorflow as tf

    images, labels = toy_dataset(64)
    rng = np.random.default_rng(5)  # labels the strips do not explain: the validation loss soon stops falling
    train = tf.data.Dataset.from_tensor_slices((images, rng.permutation(labels))).batch(16)
    vali = tf.data.Dataset.from_tensor_slices((images[:28], rng.permutation(labels[:28]))).batch(16)
    history = M.train_model(M.build_model("compact", seed=0), train, vali, epochs=8, out_dir=tmp_path / "cut",
                            patience=8, lr_patience=1, verbose=0)
    rates = history.history["learning_rate"]
    assert rates[0] == pytest.approx(1e-3) and min(rates) < 1e-3
    assert all(b in (pytest.approx(a), pytest.approx(max(a * M.LR_FACTOR, M.LR_FLOOR))) for a, b in zip(rates, rates[1:]))
    assert "learning_rate" in (tmp_path / "cut" / "training_log.csv").read_text().splitlines()[0]
    constant = M.train_model(M.build_model("compact", seed=0), train, vali, epochs=3, out_dir=tmp_path / "flat",
                             lr_patience=None, verbose=0)
    assert "learning_rate" not in constant.history
    assert float(constant.model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="lr_patience must be at least 1 epoch"):
        M.train_model(M.build_model("compact", seed=0), train, vali, epochs=1, out_dir=tmp_path / "bad", lr_patience=0)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent("""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from spectral_nb import model as M
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        print("num_replicas_in_sync ==", strategy.num_replicas_in_sync)
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (32, 15, 480, 3), dtype=np.uint8)
        labels = np.arange(32) % 7
        data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
        model = M.build_and_compile("compact", strategy)
        history = M.train_model(model, data, data, epochs=1, out_dir=sys.argv[1], strategy=strategy, verbose=0)
        print("trained", len(history.history["loss"]))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "num_replicas_in_sync == 2" in result.stdout
    assert "trained 1" in result.stdout


def test_chapter_04_writes_out_the_colour_model_that_build_model_builds():
    """Chapter 04 shows the colour model as Keras code (its ``colour_model`` cell); with any seed and
    width it builds the same layers, configurations and starting weights as ``build_model("colour")``."""
    import json

    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "04_model_building.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "def colour_model(" in "".join(c["source"]))
    names = {"keras": keras, "models": M, "NUM_CLASSES": NUM_CLASSES, "SEED": 42}
    exec(source, names)
    for seed, width in ((42, M.COLOUR_WIDTH), (3, 1)):
        written, built = names["colour_model"](seed=seed, width=width), M.build_model("colour", seed=seed, width=width)
        assert [layer.get_config() for layer in written.layers] == [layer.get_config() for layer in built.layers]
        assert len(written.get_weights()) == len(built.get_weights())
        assert all(np.array_equal(a, b) for a, b in zip(written.get_weights(), built.get_weights()))


def test_the_architecture_figure_draws_the_two_poolings_side_by_side(colour):
    """The mean and max pooling are parallel branches into the Concatenate: one row, two boxes,
    both fed by the last ReLU; every other step is a row of its own."""
    import matplotlib

    matplotlib.use("Agg")
    ax = M.plot_architecture(colour)
    rows = {t.get_text().split()[0]: t.get_position()[1] for t in ax.texts if t.get_text()}
    assert rows["mean_pool"] == rows["max_pool"] < rows["pooled"]
    assert rows["block5_relu"] < rows["mean_pool"]
    assert len(set(rows.values())) == len(colour.layers) - 1
    matplotlib.pyplot.close("all")


def _callback_settings(callbacks) -> list[tuple]:
    """What a callback list does, comparable across two lists of fresh objects."""
    out = []
    for cb in callbacks:
        keys = ("monitor", "patience", "restore_best_weights", "factor", "min_lr", "filepath", "save_best_only",
                "log_dir", "filename")
        out.append((type(cb).__name__, {k: getattr(cb, k) for k in keys if hasattr(cb, k)}))
    return out


def test_training_callbacks(tmp_path):
    """Early stopping on val_loss keeping the best weights, the learning-rate cuts (left out for None),
    the best checkpoint, TensorBoard and CSV logs, all writing into the folder given."""
    settings = dict(_callback_settings(M.training_callbacks(tmp_path, patience=7, lr_patience=2)))
    assert list(settings) == ["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "TensorBoard", "CSVLogger"]
    assert settings["EarlyStopping"] == {"monitor": "val_loss", "patience": 7, "restore_best_weights": True}
    assert settings["ReduceLROnPlateau"] == {"monitor": "val_loss", "patience": 2, "factor": M.LR_FACTOR,
                                             "min_lr": M.LR_FLOOR}
    assert settings["ModelCheckpoint"]["filepath"] == str(tmp_path / "checkpoint.keras")
    assert settings["ModelCheckpoint"]["save_best_only"] is True
    assert settings["TensorBoard"]["log_dir"] == str(tmp_path / "logs")
    assert settings["CSVLogger"]["filename"] == str(tmp_path / "training_log.csv")
    constant = [name for name, _ in _callback_settings(M.training_callbacks(tmp_path, lr_patience=None))]
    assert constant == ["EarlyStopping", "ModelCheckpoint", "TensorBoard", "CSVLogger"]


def test_chapter_04_writes_out_the_training_of_train_model(tmp_path):
    """Chapter 04's training cell writes out what ``train_model`` does: the same compile (Adam at the
    learning rate, cross-entropy on probabilities, accuracy) and the same callbacks as
    ``training_callbacks``, with and without the learning-rate cuts."""
    import json

    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "04_model_building.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "callbacks = [" in "".join(c["source"]))
    compile_part = source[source.index("model.compile("):source.index("keras.utils.set_random_seed")]
    callbacks_part = source[source.index("callbacks = ["):source.index("start = time.perf_counter()")]
    for lr_patience in (3, None):
        names = {"keras": keras, "PATIENCE": 12, "LR_PATIENCE": lr_patience, "run_dir": tmp_path}
        exec(callbacks_part, names)
        assert _callback_settings(names["callbacks"]) == _callback_settings(
            M.training_callbacks(tmp_path, patience=12, lr_patience=lr_patience))
    written = M.build_model("compact", seed=1)
    exec(compile_part, {"keras": keras, "model": written, "LEARNING_RATE": 3e-4})
    packaged = M.compile_model(M.build_model("compact", seed=1), 3e-4)
    assert type(written.optimizer) is type(packaged.optimizer) is keras.optimizers.Adam
    assert float(written.optimizer.learning_rate) == pytest.approx(float(packaged.optimizer.learning_rate))
    assert written.loss.get_config() == packaged.loss.get_config()


@pytest.mark.slow
def test_train_model_weighs_the_loss_by_class_weight(tmp_path):
    """``class_weight`` reaches ``fit``: every class weighted 2 doubles the training loss of the same run
    (Adam's steps do not depend on the gradient's scale, so the two runs train alike)."""
    import tensorflow as tf

    images, labels = toy_dataset(64)

    def run(class_weight, name):
        train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
        vali = tf.data.Dataset.from_tensor_slices((images[:28], labels[:28])).batch(16)
        return M.train_model(M.build_model("compact", seed=0), train, vali, epochs=1, out_dir=tmp_path / name,
                             verbose=0, class_weight=class_weight).history["loss"][0]

    plain, doubled = run(None, "plain"), run({k: 2.0 for k in range(NUM_CLASSES)}, "doubled")
    assert doubled == pytest.approx(2 * plain, rel=1e-3)
