"""Fine-tuning on a few labelled strips (spectral_nb.adapt, chapter 07, `python -m spectral_nb adapt`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spectral_nb import NUM_CLASSES, STRIP_SHAPE, adapt, synthesis

ROOT = Path(__file__).resolve().parents[1]


def _two_class_strips(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 lit on the left half in red, class 1 on the right half in blue: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 20, (2 * n, *STRIP_SHAPE), dtype=np.uint8)
    half = STRIP_SHAPE[1] // 2
    x[:n, :, :half, 0] = 220
    x[n:, :, half:, 2] = 220
    return x, np.repeat([0, 1], n)


@pytest.fixture(scope="module")
def untrained():
    from spectral_nb.model import build_model

    return build_model("colour", seed=0)


def _accuracy(model, x, y) -> float:
    return float((model.predict(x, verbose=0).argmax(1) == y).mean())


def test_fine_tune_learns_and_leaves_the_given_model_alone(untrained):
    x, y = _two_class_strips(16)
    before = [w.copy() for w in untrained.get_weights()]
    start = _accuracy(untrained, x, y)
    tuned = adapt.fine_tune(untrained, x, y, seed=0, steps=40, learning_rate=3e-3, augment=())
    assert all(np.array_equal(a, b) for a, b in zip(before, untrained.get_weights())), "the given model changed"
    assert _accuracy(tuned, x, y) == 1.0 > start  # an untrained model is at chance on a two-class toy
    proba = tuned.predict(x[:3], verbose=0)
    assert proba.shape == (3, NUM_CLASSES) and np.allclose(proba.sum(1), 1, atol=1e-5)
    # batch-norm layers are frozen whole: their statistics and scale stay as they were
    for a, b in zip(untrained.layers, tuned.layers):
        if "bn" in a.name:
            assert all(np.array_equal(np.asarray(wa), np.asarray(wb)) for wa, wb in zip(a.weights, b.weights)), a.name


def test_head_only_keeps_the_convolutions(untrained):
    x, y = _two_class_strips(4)
    tuned = adapt.fine_tune(untrained, x, y, seed=0, steps=3, trainable="head", augment=(), learning_rate=1e-2)
    changes = dict(adapt.weight_changes(untrained, tuned))
    assert changes["probabilities"] > 0
    assert all(v == 0 for name, v in changes.items() if name != "probabilities"), changes


def test_replay_keeps_what_the_few_strips_would_overwrite(untrained):
    """The new instrument's LEDs (class 0) light the right half in green, where the old domain's class 1
    was blue: fine-tuned on them alone, the model calls every old class-1 strip class 0 (it forgets);
    with the old strips replayed it keeps both."""
    x, y = _two_class_strips(16)
    first = adapt.fine_tune(untrained, x, y, seed=0, steps=40, learning_rate=3e-3, augment=())  # knows both
    assert _accuracy(first, x, y) == 1.0
    new = x[16:].copy()
    new[..., 1], new[..., 2] = x[16:, ..., 2], x[16:, ..., 0]  # the same place, green instead of blue
    new_labels = np.zeros(16, np.int64)
    forgot = adapt.fine_tune(first, new, new_labels, seed=1, steps=60, learning_rate=3e-3, augment=())
    kept = adapt.fine_tune(first, new, new_labels, seed=1, steps=60, learning_rate=3e-3, augment=(),
                           replay=(x[16:], y[16:]), replay_share=0.5)
    assert _accuracy(forgot, new, new_labels) == _accuracy(kept, new, new_labels) == 1.0
    assert _accuracy(forgot, x[16:], y[16:]) < 0.5
    assert _accuracy(kept, x[16:], y[16:]) == 1.0


@pytest.mark.parametrize("kwargs,match", [
    ({"labels": [0, 7]}, "outside 0..6"),
    ({"labels": [0]}, "one per strip"),
    ({"trainable": "convs"}, "trainable must be one of"),
    ({"replay_share": 1.0}, "replay_share"),
    ({"steps": 0}, "at least 1"),
])
def test_fine_tune_refuses_bad_arguments(untrained, kwargs, match):
    x, _ = _two_class_strips(1)
    args = {"labels": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=match):
        adapt.fine_tune(untrained, x, args.pop("labels"), **args)


def test_draw_few_is_stratified_capped_at_half_and_keeps_photos_together():
    labels = np.array([0] * 10 + [1] * 4 + [2] * 2 + [4] * 6)
    groups = [f"p{i // 2}" for i in range(len(labels))]  # every photo gave two strips of its lamp
    train, test = adapt.draw_few(labels, 5, np.random.default_rng(0), groups=groups)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(labels)))
    # at most half of each class's photos: 5 -> 2 photos (4 strips), 2 -> 1, 1 -> none, 3 -> 1
    assert np.bincount(labels[train], minlength=NUM_CLASSES).tolist() == [4, 2, 0, 0, 2, 0, 0]
    assert not {groups[i] for i in train} & {groups[i] for i in test}, "a photo on both sides"
    one, _ = adapt.draw_few(labels, 1, np.random.default_rng(0))  # no groups: every strip its own photo
    assert np.bincount(labels[one], minlength=NUM_CLASSES).tolist() == [1, 1, 1, 0, 1, 0, 0]
    assert len(adapt.draw_few(labels, 0, np.random.default_rng(0))[0]) == 0


def test_second_spectroscope_is_an_infragram_camera_and_fixed():
    """Its camera's red channel sees almost none of 500-700 nm (a blue filter before an IR-converted
    sensor), so its strips are blue at the blue end and nearly dark beyond; one window for every strip."""
    spectroscope = adapt.second_spectroscope()
    response = spectroscope.camera.response(np.array([450.0, 550.0, 620.0]))
    assert response[0, 2] > 0.9 and response[1:, 0].max() < 0.05 and response[1:, 1].max() < 0.15
    x, y, truths = synthesis.generate_strips((2,) * NUM_CLASSES, seed=3, spectroscope=spectroscope)
    nm = np.asarray(truths[0]["nm_per_column"])
    level = x.max(axis=-1).mean(axis=(0, 1))  # brightest channel, mean over strips and rows, per column
    assert level[(nm >= 560) & (nm <= 620)].mean() < 0.6 * level[(nm >= 440) & (nm <= 520)].mean(), \
        "yellow and orange come out darker than blue-green"
    spans = {(round(t["nm_per_column"][0], 3), round(t["nm_per_column"][-1], 3)) for t in truths}
    assert spans == {(400.0, 700.0)}, "every strip through the same window"
    default, _, _ = synthesis.generate_strips((2,) * NUM_CLASSES, seed=3)
    assert (default[..., 0] != default[..., 2]).any()


def test_learning_curve_k0_is_the_model_as_it_is(untrained):
    x, y = _two_class_strips(4)
    rows = adapt.learning_curve(untrained, x, y, [0, 1], draws=2, steps=2, augment=(), test_extra=(x, y))
    assert [r["k"] for r in rows] == [0, 1]
    assert rows[0]["n_train"] == 0 and rows[0]["n_test"] == 8 and len(rows[0]["runs"]) == 1
    assert rows[0]["median"] == pytest.approx(_accuracy(untrained, x, y))
    assert rows[1]["n_train"] == 2 and rows[1]["n_test"] == 6 and len(rows[1]["runs"]) == 2


def test_save_adapted_keeps_what_exists(untrained, tmp_path):
    import keras

    target = tmp_path / "mine.keras"
    adapt.save_adapted(untrained, target, {"source": "test"})
    assert json.loads(target.with_suffix(".json").read_text())["source"] == "test"
    assert keras.models.load_model(target).output_shape == (None, NUM_CLASSES)
    stamp = target.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="overwrite"):
        adapt.save_adapted(untrained, target, {"source": "again"})
    assert target.stat().st_mtime_ns == stamp


def _run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "spectral_nb", "adapt", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_cli_adapts_on_a_folder_and_never_overwrites(untrained, tmp_path):
    model_path = tmp_path / "synthetic.keras"
    untrained.save(model_path)
    photos = tmp_path / "my_lamps"
    synthesis.generate_photo_folder(photos, (1, 1, 0, 0, 0, 0, 0), seed=4)
    (photos / "1_mercury" / "broken.jpg").write_bytes(b"not a photo")
    (photos / "labels.csv").unlink()  # labels from the sub-folder names, as a reader's folder has them
    run = _run_cli(photos, "--model", model_path, "--steps", "2")
    assert run.returncode == 0, run.stderr
    out = tmp_path / "spectral_cnn_adapted_my_lamps.keras"
    assert out.is_file() and "left out" in run.stdout and "broken.jpg" in run.stdout
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["strips_per_class"] == {"LED": 1, "mercury": 1} and info["recipe"]["steps"] == 2
    again = _run_cli(photos, "--model", model_path, "--steps", "2")
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    missing = _run_cli(tmp_path / "nowhere", "--model", model_path)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
    empty = tmp_path / "bad"
    (empty / "0_LED").mkdir(parents=True)
    (empty / "0_LED" / "x.png").write_bytes(b"\x89PNG broken")
    none = _run_cli(empty, "--model", model_path)
    assert none.returncode == 1 and "none of its photos gave a strip" in none.stderr


def test_two_learning_curves_on_one_axes_keep_both_sets_of_ticks():
    """Chapter 07 draws the synthetic curve (k up to 10) and the real one (k up to 5, and 100) on one
    axes: every k of both is labelled, not only the last curve's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row = lambda k: {"k": k, "median": 0.9, "min": 0.85, "max": 0.95}  # noqa: E731
    ax = adapt.plot_learning_curve([row(k) for k in (0, 1, 2, 5, 10)], label="synthetic")
    adapt.plot_learning_curve([row(k) for k in (0, 1, 2, 5, 100)], ax=ax, label="real", target=0.958)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "5", "10", "100"]
    plt.close(ax.figure)
