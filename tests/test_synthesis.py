"""Tests of the synthetic spectroscope: physics with known answers, reproducibility, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from spectral_nb import STRIP_SHAPE, synthesis


def _linear_instrument(nm_start=380.0, nm_end=720.0, sigma=1.0) -> synthesis.Instrument:
    return synthesis.Instrument(nm_start, nm_end, curvature=0.0, lsf_sigma_px=sigma, wing_fraction=0.0)


def _top_peaks(profile: np.ndarray, n: int) -> np.ndarray:
    peaks, props = find_peaks(profile, prominence=0.02 * float(profile.max() - profile.min()))
    return peaks[np.argsort(props["prominences"])[::-1][:n]]


def test_neon_profile_peaks_sit_on_the_neon_lines():
    # physics only: known dispersion (380-720 nm over 480 px), no camera processing
    camera = synthesis.sample_camera(np.random.default_rng(0))
    profile, nm = synthesis.render_profile(synthesis.lamp_spectrum("Ne"), _linear_instrument(), camera, 480)
    lines_nm, rel = synthesis.emission_lines("Ne")
    for col in _top_peaks(profile.sum(axis=1), 6):
        gap = np.abs(lines_nm - nm[col]).min()
        assert gap <= 1.0, f"peak at {nm[col]:.1f} nm is {gap:.1f} nm from the nearest Ne line"
    brightest = nm[int(np.argmax(profile.sum(axis=1)))]
    strong = lines_nm[rel >= 0.2]  # after the camera's IR cut, one of the strong red-orange lines
    assert np.abs(strong - brightest).min() < 1.0


@pytest.mark.parametrize("seed", range(6))
def test_neon_strip_brightest_peaks_sit_where_the_neon_list_says(seed):
    strip, truth = synthesis.render_strip(3, np.random.default_rng(seed))
    nm = truth["nm_per_column"]
    lines_nm, rel = synthesis.emission_lines("Ne")
    profile = strip.astype(float).mean(axis=(0, 2))
    tolerance = 1.0 + 2 * abs(truth["nm_per_px"])  # sub-pixel blends of close lines, saturated tops
    for col in _top_peaks(profile, 3):
        gap = np.abs(lines_nm - nm[col]).min()
        assert gap <= tolerance, f"seed {seed}: peak at column {col} ({nm[col]:.1f} nm) is {gap:.1f} nm from any Ne line"


def test_strip_columns_run_blue_to_red_with_mild_nonlinearity():
    for label in range(7):
        strip, truth = synthesis.render_strip(label, np.random.default_rng(label))
        assert strip.shape == STRIP_SHAPE and strip.dtype == np.uint8
        assert truth["label"] == label and isinstance(truth["source"], str)
        nm = np.asarray(truth["nm_per_column"])
        assert nm.shape == (480,) and np.all(np.diff(nm) > 0)
        step = np.diff(nm)
        assert step.max() / step.min() < 1.5


def test_warm_blackbody_renders_redder_than_daylight_blackbody():
    camera = synthesis.sample_camera(np.random.default_rng(1))
    ratios = {}
    for t in (2700, 6500):
        profile, _ = synthesis.render_profile(synthesis.blackbody_spectrum(t), _linear_instrument(), camera, 480)
        r, _, b = profile.sum(axis=0)
        ratios[t] = r / b
    assert ratios[2700] > 1.5 * ratios[6500]


def test_camera_is_blind_beyond_the_ir_cut_and_never_negative():
    camera = synthesis.sample_camera(np.random.default_rng(2))
    response = camera.response(np.arange(350.0, 851.0))
    assert np.all(response >= 0)
    assert response[-1].max() < 0.01 * response.max()  # 850 nm
    assert response[530 - 350].argmax() == 1  # green at 530 nm (the curve starts at 350 nm)


def test_generate_strips_same_seed_same_bytes():
    counts = (2, 1, 1, 1, 1, 1, 1)
    a, la, ta = synthesis.generate_strips(counts, seed=5)
    b, lb, _ = synthesis.generate_strips(counts, seed=5)
    c, _, _ = synthesis.generate_strips(counts, seed=6)
    assert a.shape == (8, *STRIP_SHAPE) and a.dtype == np.uint8 and la.dtype == np.int64
    assert a.tobytes() == b.tobytes() and np.array_equal(la, lb)
    assert a.tobytes() != c.tobytes()
    assert list(la) == [0, 0, 1, 2, 3, 4, 5, 6] and [t["label"] for t in ta] == list(la)
    # an item depends only on (seed, label, index): more LEDs leave the other classes alone
    d, _, _ = synthesis.generate_strips((3, 1, 1, 1, 1, 1, 1), seed=5)
    assert d[3:].tobytes() == a[2:].tobytes()
    # two processes render the same bytes and truths, in the same order
    e, le, te = synthesis.generate_strips(counts, seed=5, workers=2)
    assert e.tobytes() == a.tobytes() and np.array_equal(le, la)
    assert [t["source"] for t in te] == [t["source"] for t in ta]
    assert all(np.array_equal(x["nm_per_column"], y["nm_per_column"]) for x, y in zip(te, ta))


def test_photo_folder_same_seed_same_bytes(tmp_path):
    counts = (1, 1, 0, 0, 0, 0, 1)
    csv_a = synthesis.generate_photo_folder(tmp_path / "a", counts, seed=3)
    csv_b = synthesis.generate_photo_folder(tmp_path / "b", counts, seed=3, workers=2)  # same files from 2 processes
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jpg"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.jpg"))
    assert files_a == files_b and len(files_a) == 3
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert csv_a.read_text() == csv_b.read_text()
    header = csv_a.read_text().splitlines()[0].split(",")
    for column in ("path", "label", "source", "dispersion", "blue_first", "band_x0", "band_y0", "band_x1", "band_y1"):
        assert column in header


def test_photo_folder_refuses_foreign_files_and_reuses_its_own(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    mine = folder / "my_notes.txt"
    mine.write_text("not a photo")
    counts = (1, 0, 0, 0, 0, 0, 0)
    with pytest.raises(FileExistsError, match=r"holds 1 file\(s\) that this function did not write \(e\.g\. .*my_notes\.txt\).*overwrite=True"):
        synthesis.generate_photo_folder(folder, counts, seed=1)
    assert mine.read_text() == "not a photo"
    # overwrite=True writes the dataset but leaves the user's file alone
    synthesis.generate_photo_folder(folder, counts, seed=1, overwrite=True)
    assert mine.read_text() == "not a photo"
    # the same recipe in a clean folder is reused, not rewritten
    clean = tmp_path / "clean"
    labels = synthesis.generate_photo_folder(clean, counts, seed=1)
    stamp = labels.stat().st_mtime_ns
    assert synthesis.generate_photo_folder(clean, counts, seed=1) == labels
    assert labels.stat().st_mtime_ns == stamp
    # a different recipe in a folder of generated files is refused without overwrite=True
    with pytest.raises(FileExistsError, match=r"another dataset \(3 file\(s\) made with other counts or another seed\)"):
        synthesis.generate_photo_folder(clean, counts, seed=2)
    # the same recipe from an older generator version is made again, without asking
    recipe = clean / "synthesis.json"
    recipe.write_text(recipe.read_text().replace(f'"{synthesis.GENERATOR_VERSION}"', '"0"'))
    assert synthesis.generate_photo_folder(clean, counts, seed=1) == labels
    assert f'"{synthesis.GENERATOR_VERSION}"' in recipe.read_text() and labels.stat().st_mtime_ns != stamp
    # ... but not when the folder also holds a file of the user's
    recipe.write_text(recipe.read_text().replace(f'"{synthesis.GENERATOR_VERSION}"', '"0"'))
    (clean / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match=r"holds 1 file\(s\) that this function did not write \(e\.g\. .*mine\.txt\)"):
        synthesis.generate_photo_folder(clean, counts, seed=1)
    assert (clean / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda rng: synthesis.render_strip(7, rng), "outside 0..6"),
        (lambda rng: synthesis.render_strip(-1, rng), "outside 0..6"),
        (lambda rng: synthesis.render_strip("neon", rng), "not an integer class index"),
        (lambda rng: synthesis.render_photo(9, rng), "outside 0..6"),
        (lambda rng: synthesis.render_out_of_class_strip("xenon", rng), "unknown out-of-class kind"),
        (lambda rng: synthesis.generate_strips((1, 2), 0), "one entry per class"),
        (lambda rng: synthesis.generate_strips((1, -2, 0, 0, 0, 0, 0), 0), "non-negative"),
        (lambda rng: synthesis.generate_strips((1, 1, 0, 0, 0, 0, 0), -3), "seed"),
        (lambda rng: synthesis.generate_strips((1, 1, 0, 0, 0, 0, 0), 0, workers=0), "workers must be a positive int"),
        (lambda rng: synthesis.emission_lines("Xe"), "unknown element"),
        (lambda rng: synthesis.blackbody_spectrum(-5), "outside"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.random.default_rng(0))


def test_photo_folder_rejects_bad_counts(tmp_path):
    with pytest.raises(ValueError, match="non-negative"):
        synthesis.generate_photo_folder(tmp_path / "x", (1, 1, 1, 1, 1, 1, -1), seed=0)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("seed", range(8))
def test_photo_band_box_contains_the_band(seed):
    rng = np.random.default_rng(seed)
    photo, truth = synthesis.render_photo(seed % 7, rng)
    h, w, _ = photo.shape
    assert 300 <= max(h, w) <= 1280 and photo.dtype == np.uint8
    x0, y0, x1, y1 = truth["band_box"]
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    light = photo.astype(float).mean(axis=2)
    light -= np.median(light)
    inside = np.zeros_like(light, bool)
    inside[y0:y1, x0:x1] = True
    assert light[inside].mean() > 3 * max(light[~inside].mean(), 1.0)
    if "zero order" not in truth["extras"] and "second order" not in truth["extras"]:
        row = int(np.argmax(light.sum(axis=1)))
        col = int(np.argmax(light.sum(axis=0)))
        assert y0 <= row < y1 and x0 <= col < x1
    # the visible band lies inside the imaged window, which has the same rows and is at least as long
    wx0, wy0, wx1, wy1 = truth["window_box"]
    assert wx0 <= x0 < x1 <= wx1 and wy0 <= y0 < y1 <= wy1
    horizontal = truth["dispersion"] == "horizontal"
    assert ((wy0, wy1) == (y0, y1)) if horizontal else ((wx0, wx1) == (x0, x1))
    along = (wx1 - wx0) if horizontal else (wy1 - wy0)
    across = (wy1 - wy0) if horizontal else (wx1 - wx0)
    assert along > across
    for first, last in (truth["nm_at_band_ends"], truth["nm_at_window_ends"]):
        assert (first < last) == truth["blue_first"]
    # the visible ends lie inside the window's wavelengths
    lo, hi = sorted(truth["nm_at_window_ends"])
    assert all(lo <= nm <= hi for nm in truth["nm_at_band_ends"])


def test_photos_are_reproducible_and_vary():
    a, ta = synthesis.render_photo(1, np.random.default_rng(11))
    b, tb = synthesis.render_photo(1, np.random.default_rng(11))
    assert a.tobytes() == b.tobytes() and ta["band_box"] == tb["band_box"]
    orientations = {synthesis.render_photo(0, np.random.default_rng(s))[1]["dispersion"] for s in range(12)}
    assert orientations == {"horizontal", "vertical"}


@pytest.mark.parametrize("kind", synthesis.OUT_OF_CLASS_KINDS)
def test_out_of_class_strips(kind):
    strip, truth = synthesis.render_out_of_class_strip(kind, np.random.default_rng(0))
    assert strip.shape == STRIP_SHAPE and strip.dtype == np.uint8
    assert truth["label"] == -1 and truth["kind"] == kind


@pytest.mark.parametrize("element", ["Hg", "Ne", "He", "H", "Na"])
def test_emission_lines_are_sorted_visible_air_wavelengths(element):
    nm, rel = synthesis.emission_lines(element)
    assert np.all(np.diff(nm) > 0) and 380 <= nm.min() and nm.max() < 760
    assert rel.max() == 1.0 and np.all(rel > 0)


def test_mercury_lines_include_the_classic_four():
    nm, _ = synthesis.emission_lines("hg")
    for line in (404.656, 435.833, 546.075, 576.961, 579.067):
        assert np.abs(nm - line).min() < 0.01


@pytest.mark.parametrize("label", [1, 3, 5])
def test_band_box_holds_the_light_and_the_window_its_dark_ends(label):
    """Along the band, the truth box is the visibly lit part: nearly all the band's light is inside
    it; the imaged window beyond it (UV and IR ends a camera barely sees) is dark."""
    for seed in range(3):
        photo, truth = synthesis.render_photo(label, np.random.default_rng([77, label, seed]))
        if truth["extras"]:
            continue  # a zero-order spot or a second order adds light outside the band on purpose
        x0, y0, x1, y1 = truth["window_box"]
        bright = photo[y0:y1, x0:x1].max(axis=2).astype(float)
        if truth["dispersion"] == "vertical":
            bright = bright.T
            b0, b1 = truth["band_box"][1] - y0, truth["band_box"][3] - y0
        else:
            b0, b1 = truth["band_box"][0] - x0, truth["band_box"][2] - x0
        profile = np.clip(bright.mean(axis=0) - np.median(photo.max(axis=2)), 0, None)
        # 96%: the faint lines and glow outside the box stay below its 8-grey-level visibility rule,
        # while the lines inside it clip at 255 under auto-exposure (a faint neon tube's red lines
        # are overexposed up to MAX_OVEREXPOSURE), which caps their share (seen: 0.970 for neon)
        assert profile[b0:b1].sum() >= 0.96 * profile.sum()
        assert b1 - b0 <= profile.size


def test_extras_are_pasted_only_where_their_light_shines():
    """A zero-order spot or a second order lifts the frame only where its light reaches a grey
    level: elsewhere its window is dark frame, and the brighter of two noisy dark frames would
    show as a lit rectangle that a cropper takes for part of the band (generator version 2 did)."""
    rng = np.random.default_rng(3)
    frame = rng.integers(20, 30, (40, 60, 3), dtype=np.uint8)
    before = frame.copy()
    window = rng.integers(20, 30, (20, 30, 3), dtype=np.uint8)
    window[5:10, 5:10] = 200
    light = np.zeros((20, 30), np.float32)
    light[5:10, 5:10] = 0.5
    synthesis._paste_brighter(frame, window, 10, 20, light, np.full(3, 0.01, np.float32))
    changed = np.any(frame != before, axis=2)
    assert changed[15:20, 25:30].all() and changed.sum() == 25
    assert (frame[15:20, 25:30] == 200).all()


def test_weak_ir_cut_camera_sees_deep_red_in_every_channel():
    import dataclasses

    camera = synthesis.sample_camera(np.random.default_rng(5))
    plain = dataclasses.replace(camera, nir_leak=0.0, ir_cut_50=700.0)
    leaky = dataclasses.replace(camera, nir_leak=0.5, nir_leak_nm=650.0, ir_cut_50=700.0)
    nm = np.array([450.0, 530.0, 656.3, 690.0])
    p, q = plain.response(nm), leaky.response(nm)
    # blue and green light: the leak (a logistic step at 650 nm, 20 nm wide) adds under 2% there
    np.testing.assert_allclose(q[:2], p[:2], rtol=0.02, atol=0.5 * 0.02 * p.max())
    # Halpha (656.3 nm): the leak adds 0.5 / (1 + exp(-6.3 / 20)) = 0.29 of the red peak to G and B
    # against R of about 0.9, so G and B respond at a quarter or more of R (without the leak: under
    # a tenth): a bright red line saturates R and comes out pink or white
    assert (p[2:, 2] / p[2:, 0] < 0.1).all()
    assert (q[2:, 2] / q[2:, 0] > 0.25).all() and (q[2:, 1] / q[2:, 0] > 0.25).all()


def test_cameras_with_a_weak_ir_cut_are_drawn_as_often_as_declared():
    from spectral_nb.synthesis import camera as camera_module

    cameras = [synthesis.sample_camera(np.random.default_rng(k)) for k in range(400)]
    share = np.mean([c.nir_leak > 0 for c in cameras])
    assert abs(share - camera_module.WEAK_IR_CUT_SHARE) < 0.08  # binomial sd at n=400: 0.025
    assert all(("weak IR cut" in c.name) == (c.nir_leak > 0) for c in cameras)


def test_a_wide_slit_makes_flat_topped_lines_of_its_width():
    """The line-spread function is the slit's image (a box) blurred by a Gaussian: it sums to 1,
    is flat over the slit's width when the blur is small, and is the plain Gaussian without a slit."""
    from spectral_nb.synthesis.camera import _lsf_kernel

    box = _lsf_kernel(0.7, 0.0, slit_px=10.0)
    centre = box.size // 2
    assert box.sum() == pytest.approx(1.0)
    assert box[centre - 3:centre + 4].min() > 0.95 * box[centre]  # flat top over the slit
    assert box[centre + 7] < 0.01 * box[centre]  # and dark beyond it
    assert np.sum(box > box[centre] / 2) in (10, 11)  # full width at half maximum: the slit's width
    plain = _lsf_kernel(2.0, 0.0)
    x = np.arange(plain.size) - plain.size // 2
    np.testing.assert_allclose(plain, np.exp(-0.5 * (x / 2.0) ** 2) / np.exp(-0.5 * (x / 2.0) ** 2).sum())


def test_the_sensor_clips_before_the_colour_matrix():
    """A camera's sensor clips each raw channel before the colour matrix: a green line overexposed so
    far that red and blue clip too comes out pale, a line that clips only in green keeps its colour."""
    from spectral_nb.synthesis.camera import _sample_processing, _tone

    proc = _sample_processing(np.random.default_rng(0))
    hard = _tone(np.array([[4.0, 20.0, 3.0]], np.float32), proc)[0]  # every channel far past full scale
    soft = _tone(np.array([[0.1, 3.0, 0.05]], np.float32), proc)[0]  # only green past full scale
    assert hard.min() >= 200  # pale: all three channels high
    assert soft[1] == 255 and soft[0] < 80 and soft[2] < 80  # still a pure green
    assert _tone(np.zeros((1, 3), np.float32), proc).max() == 0


def test_bare_mercury_lamps_are_lines_on_black_and_faint_tubes_have_brighter_dark_floors():
    from spectral_nb.synthesis import camera, spectra

    rng = np.random.default_rng(3)
    shares = []
    while len(shares) < 20:
        s = spectra._fluorescent(rng)
        if s.source in ("Hg lamp", "Hg-Ar lamp"):  # its Hg lines carry a power of 1 in all
            shares.append(s.smooth.sum())
    low, high = spectra.HG_LAMP_GLOW
    assert low <= min(shares) and max(shares) <= high and max(shares) / min(shares) > 3
    bright = [camera._background(rng, faint=False).max() for _ in range(200)]
    faint = [camera._background(rng, faint=True).max() for _ in range(200)]
    assert np.median(faint) > 3 * np.median(bright)


def test_a_star_whose_absorption_lines_dip_below_zero_develops_without_nan():
    """A star's Fraunhofer lines are drawn as negative line power and can go deeper than the
    continuum around them, so the linear profile dips below 0 there: no light, no shot noise, a
    black pixel, never a NaN (this item did, before the clip was restored)."""
    import warnings

    from spectral_nb.synthesis.folders import _item_rng

    dark = synthesis.Spectrum(2, "star", np.full(synthesis.GRID_NM.size, 0.01), np.array([500.0]), np.array([-5.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "invalid value encountered in sqrt" fails the test
        strip, _ = synthesis.render_strip(2, _item_rng(1000, 2, 375))  # a star that dips below 0
        profile, _ = synthesis.render_profile(dark, _linear_instrument(), synthesis.sample_camera(np.random.default_rng(0)),
                                              STRIP_SHAPE[1])
    assert profile.min() < 0  # the case this test is about
    assert strip.dtype == np.uint8 and strip.shape == STRIP_SHAPE


def test_led_class_draws_only_table_leds_with_a_pump_line():
    """Generator 7: NIST CQS's model spectra PHOS-1 to PHOS-4 (no pump line, a continuum cut off in the
    red) are never an LED; the other table LEDs still are. The CIE phosphor LEDs and NIST's "Phosphor
    LED YAG" peak in the blue or violet before their phosphor (the pump), unlike the four left out
    (the warm-white "Luxeon WW 2880" keeps only a shoulder there, and stays in the class: it is measured)."""
    from spectral_nb.synthesis import spectra

    names, arrays = spectra._table_spectra()["led"]
    left_out = set(spectra.LED_TABLE_WITHOUT_PUMP)
    assert left_out <= set(names) and len(left_out) == 4
    rng = np.random.default_rng(3)
    drawn = {s.source for s in (spectra.sample_spectrum(0, rng) for _ in range(1500)) if s.source.startswith("LED (")}
    drawn_names = {src[len("LED ("):-1] for src in drawn}
    assert drawn_names and not drawn_names & left_out
    assert len(drawn_names) >= len(names) - len(left_out) - 2  # nearly every other table LED turns up in 1,500 draws
    nm = spectra.GRID_NM
    blue = (nm >= 395) & (nm <= 475)

    def has_pump(smooth):  # a local maximum in the blue/violet, with a dip after it, before the phosphor
        i = int(np.argmax(np.where(blue, smooth, -np.inf)))
        after = smooth[i:i + 30]
        return 0 < i < len(nm) - 1 and smooth[i] >= smooth[i - 1] and after.min() < 0.9 * smooth[i]

    for name, smooth in zip(names, arrays):
        if name in left_out:
            assert not has_pump(smooth), name
        elif name.startswith(("LED-B", "LED-V", "Phosphor")):
            assert has_pump(smooth), name


def test_book_photo_counts_are_nnsic_counts_twice_over():
    assert synthesis.BOOK_PHOTO_SCALE == 2
    assert synthesis.BOOK_PHOTO_COUNTS == tuple(2 * n for n in synthesis.NNSIC_PHOTO_COUNTS)
    assert sum(synthesis.BOOK_PHOTO_COUNTS) == 3482
