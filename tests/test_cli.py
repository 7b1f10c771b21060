"""``python -m spectral_nb classify``: known answers from constant models, bad photos, exit codes, JSON.

Most tests use a *constant* Keras model: zero weights and a chosen bias before the softmax, so its
probabilities are ``softmax(bias)`` for every photo, worked out here with NumPy. One test runs the
book's colour architecture (untrained) in a subprocess, as a user would.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spectral_nb import CLASS_NAMES, STRIP_SHAPE, calibration, cli, preprocessing, synthesis
from spectral_nb.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
HELIUM_BIAS = np.array([0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 0.0])  # top helium (0.72), runner-up mercury
LED_BIAS = np.array([3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])     # top LED (0.72), runner-up nitrogen


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def constant_model(bias: np.ndarray):
    """uint8 strips -> softmax(bias) for every strip (zero kernel), from built-in layers only."""
    import keras
    from keras import layers

    strips = keras.Input(STRIP_SHAPE, dtype="uint8", name="strips")
    x = layers.Rescaling(1 / 255.0)(strips)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(len(bias), activation="softmax", kernel_initializer="zeros",
                       bias_initializer=keras.initializers.Constant(bias))(x)
    return keras.Model(strips, out)


def save(model, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {"helium": save(constant_model(HELIUM_BIAS), folder / "helium.keras"),
            "led": save(constant_model(LED_BIAS), folder / "led.keras")}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict:
    """good/ (three synthetic photos, one in a sub-folder), bad/ (text named .png, uniform grey),
    mixed/ (one of each), and the synthetic truths by file name."""
    base = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(7)
    truths = {}
    for folder, name, label in (("good", "a_neon.png", 3), ("good", "b_led.jpg", 0), ("good/sub", "c_cfl.png", 1),
                                ("mixed", "good_helium.png", 4)):
        image, truth = synthesis.render_photo(label, rng)
        (base / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(base / folder / name, quality=95)
        truths[name] = truth
    for folder in ("bad", "mixed"):
        (base / folder).mkdir(exist_ok=True)
        (base / folder / "notes.png").write_text("not a photo, a text file with a .png name\n")
        Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(base / folder / "grey.png")
    (base / "good" / "labels.csv").write_text("path,label\n")  # not an image suffix: skipped in a folder
    return {"base": base, "truths": truths}


def run_main(args: list[str], capsys) -> tuple[int, list[str], str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, [line for line in captured.out.splitlines() if line.strip()], captured.err


# ------------------------------------------------------------------------------ the core


def test_find_photos_sorted_recursive_skips_other_files(photos):
    good = photos["base"] / "good"
    found = cli.find_photos([good, photos["base"] / "missing.png"])
    assert [Path(name).name for name, _, _ in found] == ["a_neon.png", "b_led.jpg", "c_cfl.png", "missing.png"]
    assert found[-1][1] is None and found[-1][2] == "no such file or folder"
    empty = photos["base"] / "empty"
    empty.mkdir(exist_ok=True)
    [(name, path, error)] = cli.find_photos([empty])
    assert path is None and "without photos" in error


def test_classify_paths_gives_the_models_probabilities_and_the_crop(models, photos):
    import keras

    model = keras.models.load_model(models["helium"])
    records = cli.classify_paths([photos["base"] / "good"], model)
    expected = softmax(HELIUM_BIAS)
    assert [Path(r["file"]).name for r in records] == ["a_neon.png", "b_led.jpg", "c_cfl.png"]
    for record in records:
        assert record["ok"] and record["class"] == "helium" and record["class_index"] == 4
        assert record["probability"] == pytest.approx(expected[4], abs=1e-6)
        assert record["runner_up"] == {"class": "mercury", "probability": pytest.approx(expected[1], abs=1e-6)}
        assert list(record["probabilities"]) == list(CLASS_NAMES)
        np.testing.assert_allclose(list(record["probabilities"].values()), expected, atol=1e-6)
        # the crop box lies on the band the synthetic photo really has
        truth = photos["truths"][Path(record["file"]).name]
        assert preprocessing.box_iou(record["box"], truth["band_box"]) > 0.5, (record["box"], truth["band_box"])
        assert record["report"]["dispersion"] == truth["dispersion"]
        assert set(record["report"]) >= {"size", "dispersion", "flipped", "confidence", "confidences"}
        json.dumps(record, allow_nan=False)  # JSON-able as it is


def test_below_the_threshold_is_unknown_with_a_warning(models, photos):
    import keras

    model = keras.models.load_model(models["helium"])
    p_helium = softmax(HELIUM_BIAS)[4]  # 0.72
    [record] = cli.classify_paths([photos["base"] / "good" / "a_neon.png"], model, threshold=p_helium + 0.05)
    assert record["class"] == "unknown" and record["class_index"] == -1 and record["best_class"] == "helium"
    assert any(w.startswith("unknown") and "helium" in w for w in record["warnings"])
    assert cli.format_text(record).startswith(f"{record['file']}: unknown (best helium {p_helium:.3f}) "
                                              f"(runner-up mercury {softmax(HELIUM_BIAS)[1]:.3f})")
    [record] = cli.classify_paths([photos["base"] / "good" / "a_neon.png"], model, threshold=p_helium - 0.05)
    assert record["class"] == "helium" and not any(w.startswith("unknown") for w in record["warnings"])


def test_low_preprocessing_confidence_is_warned(models, photos, monkeypatch):
    import keras

    model = keras.models.load_model(models["helium"])
    photo = photos["base"] / "good" / "a_neon.png"
    _, report = preprocessing.preprocess_photo(photo)
    monkeypatch.setattr(cli, "LOW_CONFIDENCE", report["confidence"] + 0.01)
    [record] = cli.classify_paths([photo], model)
    assert any("low preprocessing confidence" in w for w in record["warnings"])
    monkeypatch.setattr(cli, "LOW_CONFIDENCE", report["confidence"] - 0.01)
    [record] = cli.classify_paths([photo], model)
    assert not any("low preprocessing confidence" in w for w in record["warnings"])


# ------------------------------------------------------------------------------ the command, in-process


def test_text_output_one_line_per_photo(models, photos, capsys):
    code, lines, err = run_main(["classify", str(photos["base"] / "good"), "--model", str(models["helium"])], capsys)
    expected = softmax(HELIUM_BIAS)
    assert code == 0, err
    assert len(lines) == 3
    for line, name in zip(lines, ["a_neon.png", "b_led.jpg", "c_cfl.png"]):
        assert line.startswith(str(photos["base"] / "good")) and name in line
        assert f": helium {expected[4]:.3f} (runner-up mercury {expected[1]:.3f})" in line
    assert "Traceback" not in err and "classifying" not in err  # no progress bar when stderr is no terminal


def test_the_progress_bar_goes_to_stderr(models, photos, capsys):
    import keras

    model = keras.models.load_model(models["helium"])
    cli.classify_paths([photos["base"] / "good"], model, progress=True)
    captured = capsys.readouterr()
    assert "classifying" in captured.err and "/3 " in captured.err and captured.out == ""
    cli.classify_paths([photos["base"] / "good" / "a_neon.png"], model, progress=True)
    assert capsys.readouterr().err == ""  # one photo: no bar


def test_bad_photos_are_reported_one_by_one_with_exit_status_1(models, photos, capsys):
    missing = photos["base"] / "no_such_photo.jpg"
    code, lines, err = run_main(["classify", str(photos["base"] / "bad"), str(missing),
                                 "--model", str(models["helium"])], capsys)
    assert code == 1
    by_name = {Path(line.split(": error: ")[0]).name: line.split(": error: ")[1] for line in lines}
    assert set(by_name) == {"grey.png", "notes.png", "no_such_photo.jpg"}, lines
    assert by_name["grey.png"].startswith("no spectrum found")
    assert "not an image" in by_name["notes.png"]
    assert by_name["no_such_photo.jpg"] == "no such file or folder"
    assert "Traceback" not in err and "3 could not be read" in err


def test_a_mixed_folder_prints_the_good_photos_and_exits_1(models, photos, capsys):
    code, lines, err = run_main(["classify", str(photos["base"] / "mixed"), "--model", str(models["led"]),
                                 "--json"], capsys)
    records = [json.loads(line) for line in lines]
    assert code == 1
    assert [Path(r["file"]).name for r in records] == ["good_helium.png", "grey.png", "notes.png"]
    assert [r["ok"] for r in records] == [True, False, False]
    assert records[0]["class"] == "LED" and records[0]["runner_up"]["class"] == "nitrogen"
    assert "error" in records[1] and "class" not in records[1]


def test_json_lines_hold_probabilities_box_and_report(models, photos, capsys):
    code, lines, _ = run_main(["classify", str(photos["base"] / "good"), "--model", str(models["helium"]), "--json"],
                              capsys)
    assert code == 0
    for line in lines:
        record = json.loads(line)
        assert set(record) >= {"file", "ok", "class", "probability", "runner_up", "probabilities", "box", "report",
                               "warnings", "threshold"}
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        x0, y0, x1, y1 = record["box"]
        assert 0 <= x0 < x1 and 0 <= y0 < y1 and all(isinstance(v, int) for v in record["box"])
        assert "calibration" not in record


def test_calibrate_reports_the_map_or_why_not(models, photos, tmp_path, capsys):
    # a helium photo that chapter 06's calibration accepts (it refuses about 1 in 10 of them)
    rng = np.random.default_rng(11)
    for _ in range(12):
        image, truth = synthesis.render_photo(4, rng)
        if truth["dispersion"] != "horizontal":
            continue
        strip, report = preprocessing.preprocess_photo(image)
        if calibration.calibrate_strip(strip, 4).ok:
            break
    else:
        pytest.fail("no synthetic helium photo of 12 calibrated: calibration or the generator has changed")
    photo = tmp_path / "helium.png"
    Image.fromarray(image).save(photo)
    code, lines, _ = run_main(["classify", str(photo), "--model", str(models["helium"]), "--json", "--calibrate"], capsys)
    assert code == 0
    cal = json.loads(lines[0])["calibration"]
    assert cal["ok"] and cal["lamp"] == "He" and cal["reason"] is None
    he_lines = calibration.reference_lines("He")[0]
    assert len(cal["lines"]) >= 3 and all(np.min(np.abs(he_lines - ln["nm"])) < 1e-3 for ln in cal["lines"])
    # the strip is the crop resampled to 480 columns: its dispersion is the photo's, scaled by the crop's width
    x0, _, x1, _ = report["box"]
    expected = abs(truth["nm_per_px"]) * (x1 - x0) / STRIP_SHAPE[1]
    assert cal["dispersion_nm_per_px"] > 0  # blue on the left after preprocessing
    assert cal["dispersion_nm_per_px"] == pytest.approx(expected, rel=0.1)
    np.testing.assert_allclose(np.polyval(cal["coefficients"], [ln["px"] for ln in cal["lines"]]),
                               [ln["nm"] for ln in cal["lines"]], atol=3 * cal["rms_nm"] + 0.5)

    code, lines, _ = run_main(["classify", str(photo), "--model", str(models["led"]), "--calibrate"], capsys)
    assert code == 0 and lines[1].strip().startswith("calibration:") and "LED" in lines[1]  # refused, with the reason
    code, lines, _ = run_main(["classify", str(photo), "--model", str(models["led"]), "--calibrate", "--json"], capsys)
    cal = json.loads(lines[0])["calibration"]
    assert not cal["ok"] and cal["reason"].endswith(calibration.REFUSAL_BY_CLASS[0])


def test_a_calibration_that_crashes_is_reported_not_raised(models, photos, monkeypatch, capsys):
    def broken(strip, lamp):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(calibration, "calibrate_strip", broken)
    code, lines, err = run_main(["classify", str(photos["base"] / "good" / "a_neon.png"), "--model",
                                 str(models["helium"]), "--json", "--calibrate"], capsys)
    assert code == 0, err
    cal = json.loads(lines[0])["calibration"]
    assert cal == {"ok": False, "lamp": None, "reason": "calibration failed: RuntimeError: simulated failure",
                   "summary": cal["summary"]}


def test_default_model_and_params_come_from_the_book_and_quick_mode_is_flagged(models, photos, scratch_book, capsys):
    import shutil

    from spectral_nb.book import book_paths

    paths = book_paths()  # quick mode, in the scratch folder
    photo = str(photos["base"] / "good" / "a_neon.png")
    code, _, err = run_main(["classify", photo], capsys)
    assert code == 2 and "make book" in err and "04_model_building" in err and "Traceback" not in err
    paths.model_path.parent.mkdir(parents=True)
    shutil.copy(models["helium"], paths.model_path)
    code, lines, err = run_main(["classify", photo, "--json"], capsys)
    record = json.loads(lines[0])
    assert code == 0 and "quick mode" in err and "defaults" in err
    assert any("quick-mode model" in w for w in record["warnings"])
    default_flipped = record["report"]["flipped"]
    # chapter 02's saved parameters are used when they exist: "flip" mirrors the auto decision
    preprocessing.save_params(preprocessing.PreprocessParams(left_right="as_is" if default_flipped else "flip"),
                              paths.preprocess_params_path)
    code, lines, err = run_main(["classify", photo, "--json"], capsys)
    assert code == 0 and "preprocess_params.json" in err
    assert json.loads(lines[0])["report"]["flipped"] is (not default_flipped)


@pytest.mark.parametrize("args, message", [
    (["classify"], "required"),                                       # no photo
    (["classify", "x.png", "--threshold", "1.5"], "--threshold"),
    (["classify", "x.png", "--params", "/no/such/params.json"], "does not exist"),
    (["classify", "x.png", "--model", "/no/such/model.keras"], "no trained model"),
])
def test_usage_errors_exit_2(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_the_console_script_is_declared():
    import importlib
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, name = scripts["spectral-nb"].split(":")
    assert getattr(importlib.import_module(module), name) is main


# ------------------------------------------------------------------------------ as a user runs it


@pytest.mark.slow
def test_subprocess_with_the_books_architecture(photos, tmp_path):
    from spectral_nb import analysis
    from spectral_nb.model import build_model

    model = build_model("colour", seed=3)
    model_path = save(model, tmp_path / "colour_untrained.keras")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "spectral_nb", "classify", str(photos["base"] / "good"),
                             str(photos["base"] / "bad"), "--model", str(model_path), "--json"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["ok"] for r in records] == [True, True, True, False, False]
    for record in records[:3]:
        strip, _ = preprocessing.preprocess_photo(record["file"])
        expected = analysis.predict_proba(model, strip[None])[0]
        np.testing.assert_allclose(list(record["probabilities"].values()), expected, atol=1e-5)
        assert record["class"] in (*CLASS_NAMES, "unknown")
