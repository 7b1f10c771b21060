"""Preprocessing: photos with known band boxes and orientations, every kind of bad input, the panel."""
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from spectral_nb import STRIP_SHAPE, preprocessing as pp
from spectral_nb import synthesis
from spectral_nb.preprocessing.panel import _snapped


iou = pp.box_iou


def test_box_iou_known_values():
    assert pp.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert pp.box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert pp.box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def rainbow_photo(h=300, w=500, box=(100, 120, 400, 150), vertical=False, red_left=False, tilt_px=0.0):
    """A black frame with a smooth blue-to-red band in ``box`` (x0, y0, x1, y1); known answer."""
    x0, y0, x1, y1 = box
    frame = np.full((h, w, 3), 8, np.uint8)
    t = np.linspace(0, 1, x1 - x0)
    rgb = np.stack([np.clip(2 * t - 0.6, 0, 1), np.clip(1 - np.abs(2 * t - 1) * 1.6, 0, 1),
                    np.clip(1 - 2 * t, 0, 1) * 0.9 + 0.1 * (t < 0.5)], axis=1)
    rgb = (rgb * 230 + 20).astype(np.uint8)
    for k, x in enumerate(range(x0, x1)):
        shift = int(round(tilt_px * (k / max(1, x1 - x0 - 1) - 0.5)))
        frame[y0 + shift:y1 + shift, x] = rgb[k]
    if red_left:
        frame = frame[:, ::-1]
    if vertical:
        frame = frame.transpose(1, 0, 2)
    return np.ascontiguousarray(frame)


def test_known_box_orientation_and_order_on_a_drawn_band():
    photo = rainbow_photo()
    strip, report = pp.preprocess_photo(photo)
    assert strip.shape == STRIP_SHAPE and strip.dtype == np.uint8
    assert report["dispersion"] == "horizontal" and not report["flipped"] and not report["rotated"]
    assert iou(report["box"], (100, 120, 400, 150)) > 0.75  # the default margins pad the box a little
    # blue on the left, red on the right
    assert strip[:, :60, 2].mean() > strip[:, :60, 0].mean()
    assert strip[:, -60:, 0].mean() > strip[:, -60:, 2].mean()


@pytest.mark.parametrize("vertical", [False, True])
@pytest.mark.parametrize("red_left", [False, True])
def test_rotated_and_mirrored_photos_give_the_same_strip(vertical, red_left):
    reference, _ = pp.preprocess_photo(rainbow_photo())
    strip, report = pp.preprocess_photo(rainbow_photo(vertical=vertical, red_left=red_left))
    assert report["dispersion"] == ("vertical" if vertical else "horizontal")
    assert report["flipped"] == red_left
    assert np.abs(strip.astype(int) - reference.astype(int)).mean() < 6


def test_portrait_photo_with_a_horizontal_spectrum_is_not_rotated_by_its_shape():
    photo = rainbow_photo(h=600, w=400, box=(40, 280, 360, 310))
    _, report = pp.preprocess_photo(photo)
    assert report["dispersion"] == "horizontal"


def test_a_tilted_band_is_followed():
    photo = rainbow_photo(h=300, w=600, box=(50, 130, 550, 150), tilt_px=30)
    strip, report = pp.preprocess_photo(photo)
    assert abs(report["tilt_deg"] - np.degrees(np.arctan(30 / 500))) < 1.0
    # straightened: the strip's rows are all lit (a box crop of a tilted band would be half dark)
    rows = strip.mean(axis=(1, 2))[2:-2]  # the outer rows hold the band's edge
    assert rows.min() > 0.6 * rows.max()


def test_the_decisions_read_their_tuned_numbers_from_the_priors():
    """find_band and find_dispersion take their thresholds from BandPriors / DispersionPriors: a tilt limit
    of zero keeps a tilted band flat, and with every cue's clip at zero no axis wins (confidence 0)."""
    small, _ = pp.shrink_photo(rainbow_photo(h=300, w=600, box=(50, 130, 550, 150), tilt_px=30), 320)
    followed = pp.find_band(small)
    flat = pp.find_band(small, priors=pp.BandPriors(max_tilt=0.0))
    assert abs(followed.coefficients[1]) > 1.0 and flat.coefficients[1] == 0.0
    assert pp.find_dispersion(small)[1] > 0.5
    assert pp.find_dispersion(small, pp.DispersionPriors(spread_clip=0, gradient_clip=0, shape_clip=0)) == ("horizontal", 0.0)


def test_text_and_a_drawn_line_do_not_move_the_band():
    photo = rainbow_photo(h=300, w=500, box=(100, 120, 400, 160))
    photo[240:262, 60:200] = 255            # a white caption below the band
    photo[60, :] = (230, 230, 0)            # a yellow line across the whole frame
    _, report = pp.preprocess_photo(photo)
    assert iou(report["box"], (100, 120, 400, 160)) > 0.8


def test_saturated_lines_are_still_a_band():
    photo = rainbow_photo()
    photo[120:150, 200:210] = 255
    photo[120:150, 300:306] = 255
    _, report = pp.preprocess_photo(photo)
    assert iou(report["box"], (100, 120, 400, 150)) > 0.75


def test_synthetic_photos_with_ground_truth():
    ious, orientation = [], []
    for k in range(21):
        photo, truth = synthesis.render_photo(k % 7, np.random.default_rng(500 + k))
        _, report = pp.preprocess_photo(photo)
        ious.append(iou(report["box"], truth["band_box"]))
        orientation.append(report["dispersion"] == truth["dispersion"] and report["flipped"] != truth["blue_first"])
    assert np.median(ious) > 0.85  # against the visible band box; the benchmark measures it on 350 photos
    assert np.mean(orientation) >= 0.9


def test_parameters_override_the_decisions():
    photo = rainbow_photo()
    strip_auto, _ = pp.preprocess_photo(photo)
    strip_flip, report = pp.preprocess_photo(photo, pp.PreprocessParams(left_right="flip"))
    assert report["flipped"]
    np.testing.assert_array_equal(strip_flip, strip_auto[:, ::-1])
    _, report = pp.preprocess_photo(photo, pp.PreprocessParams(manual_box=(150, 125, 350, 145)))
    assert report["box"] == (150, 125, 350, 145)
    with pytest.raises(ValueError, match="dispersion must be"):
        pp.PreprocessParams(dispersion="diagonal")
    with pytest.raises(ValueError, match="band_threshold"):
        pp.PreprocessParams(band_threshold=1.5)


def test_params_round_trip_and_bad_params_file(tmp_path):
    params = pp.PreprocessParams(band_threshold=0.3, manual_box=(1, 2, 30, 40))
    path = pp.save_params(params, tmp_path / "p.json")
    assert pp.load_params(path) == params
    (tmp_path / "bad.json").write_text('{"something": 1}')
    with pytest.raises(ValueError, match="not a preprocessing-parameters file"):
        pp.load_params(tmp_path / "bad.json")
    (tmp_path / "unknown.json").write_text(json.dumps({"spectral_nb.preprocessing": {"zoom": 2}}))
    with pytest.raises(ValueError, match="unknown parameter"):
        pp.load_params(tmp_path / "unknown.json")
    with pytest.raises(FileNotFoundError, match="chapter 02"):
        pp.load_params(tmp_path / "missing.json")


def test_params_saved_under_the_old_name_order_still_load(tmp_path):
    """``left_right`` was called ``order`` once: a params.json a reader saved then reads back the same."""
    (tmp_path / "old.json").write_text(json.dumps({"spectral_nb.preprocessing": {"order": "flip", "band_threshold": 0.3}}))
    assert pp.load_params(tmp_path / "old.json") == pp.PreprocessParams(left_right="flip", band_threshold=0.3)
    with pytest.raises(ValueError, match="left_right must be 'auto', 'as_is' or 'flip'"):
        pp.PreprocessParams(left_right="blue")


# ----------------------------------------------------------------------------- input formats
def _save(array, fmt, **kw) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def test_formats_pillow_reads_all_give_rgb(tmp_path):
    photo = rainbow_photo()
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    grey = photo.mean(axis=2).astype(np.uint8)
    assert pp.load_photo(_save(rgba, "PNG")).shape == photo.shape
    assert pp.load_photo(_save(grey, "PNG")).shape == photo.shape
    palette = Image.fromarray(photo).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    assert pp.load_photo(buffer.getvalue()).shape == photo.shape
    sixteen = Image.fromarray(grey.astype(np.uint16) * 257)
    path = tmp_path / "sixteen.png"
    sixteen.save(path)
    loaded = pp.load_photo(path)
    assert loaded.dtype == np.uint8 and abs(int(loaded.max()) - int(grey.max())) <= 1
    assert pp.load_photo(photo.astype(np.float32) / 255).dtype == np.uint8


def test_exif_rotation_is_applied(tmp_path):
    photo = rainbow_photo()
    img = Image.fromarray(photo)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=95)
    loaded = pp.load_photo(path)
    assert loaded.shape == (photo.shape[1], photo.shape[0], 3)
    _, report = pp.preprocess_photo(path)
    assert report["dispersion"] == "vertical"


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
])
def test_bad_files_name_the_file_and_say_why(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(pp.PhotoError, match=f"bad.jpg.*{message}"):
        pp.preprocess_photo(path)


def test_truncated_and_corrupt_jpeg(tmp_path):
    data = _save(rainbow_photo(), "JPEG", quality=90)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(pp.PhotoError, match="truncated.jpg.*(truncated|corrupt)"):
        pp.preprocess_photo(path)


def test_missing_tiny_dark_uniform_and_gigantic_photos(tmp_path):
    with pytest.raises(pp.PhotoError, match="no such file"):
        pp.preprocess_photo(tmp_path / "nope.jpg")
    with pytest.raises(pp.PhotoError, match="too small"):
        pp.preprocess_photo(np.full((10, 400, 3), 200, np.uint8))
    with pytest.raises(pp.PhotoError, match="no spectrum.*all dark"):
        pp.preprocess_photo(np.zeros((200, 300, 3), np.uint8))
    with pytest.raises(pp.PhotoError, match="no spectrum"):
        pp.preprocess_photo(np.full((200, 300, 3), 128, np.uint8))
    with pytest.raises(pp.PhotoError, match="larger than"):
        pp.preprocess_photo(rainbow_photo(), pp.PreprocessParams(max_pixels=10_000))
    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 3000)).save(big)
    with pytest.raises(pp.PhotoError, match="big.png.*MP"):
        pp.load_photo(big, max_pixels=5_000_000)
    with pytest.raises(pp.PhotoError, match="not an image"):
        pp.preprocess_photo(np.zeros((5, 5, 7)))


# ----------------------------------------------------------------------------- folders
def make_folder(root, bad=True):
    for label in (1, 3):
        sub = root / f"{label}_lamp"
        sub.mkdir(parents=True)
        for k in range(2):
            photo, _ = synthesis.render_photo(label, np.random.default_rng(10 * label + k))
            Image.fromarray(photo).save(sub / f"p{k}.jpg", quality=90)
    if bad:
        (root / "1_lamp" / "zero.jpg").write_bytes(b"")
        Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(root / "3_lamp" / "dark.png")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a label folder")


def test_preprocess_folder_skips_bad_files_never_touches_photos_and_resumes(tmp_path):
    photos, strips = tmp_path / "photos", tmp_path / "strips"
    make_folder(photos)
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    ticks = []
    result = pp.preprocess_folder(photos, strips, progress=lambda done, total: ticks.append((done, total)))
    assert result.written == 4 and result.reused == 0
    assert sorted(p for p, _ in result.skipped) == ["1_lamp/zero.jpg", "3_lamp/dark.png"]
    assert all(reason for _, reason in result.skipped)
    assert ticks[-1] == (6, 6)
    assert {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()} == before
    with open(result.manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == ["1", "1", "3", "3"]
    assert all((strips / r["strip"]).is_file() for r in rows)
    assert pp.load_params(strips / "strips.json") == pp.PreprocessParams()  # how the strips were cut
    again = pp.preprocess_folder(photos, strips)
    assert again.reused == 4 and again.written == 0
    # a photo replaced after its strip was cut (e.g. regenerated by a newer generator) is cut again
    import os
    photo = sorted(photos.rglob("p0.jpg"))[0]
    strip_file = strips / (str(photo.relative_to(photos)) + ".png")
    os.utime(photo, (strip_file.stat().st_mtime + 10,) * 2)
    fresh = pp.preprocess_folder(photos, strips)
    assert fresh.written == 1 and fresh.reused == 3
    changed = pp.preprocess_folder(photos, strips, pp.PreprocessParams(band_threshold=0.3))
    assert changed.written == 4
    from spectral_nb import records
    images, labels, names = records.read_strip_folder(strips)
    assert images.shape == (4, *STRIP_SHAPE) and labels.tolist() == [1, 1, 3, 3]


def test_labelled_folder_from_csv_and_errors(tmp_path):
    photos = tmp_path / "photos"
    make_folder(photos, bad=False)
    (photos / "labels.csv").write_text("path,label\n1_lamp/p0.jpg,5\n")
    assert pp.read_labelled_folder(photos) == [("1_lamp/p0.jpg", 5)]
    (photos / "labels.csv").write_text("path,label\n1_lamp/p0.jpg,9\n")
    with pytest.raises(ValueError, match="outside 0..6"):
        pp.read_labelled_folder(photos)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        pp.read_labelled_folder(tmp_path / "missing")
    (photos / "labels.csv").unlink()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no labelled photos"):
        pp.read_labelled_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="mix strips"):
        pp.preprocess_folder(photos, photos)


# ----------------------------------------------------------------------------- figures and the panel
def test_crop_preview_draws_and_reports():
    import matplotlib
    matplotlib.use("Agg")
    fig, strip, report = pp.crop_preview(rainbow_photo())
    assert strip.shape == STRIP_SHAPE and report["dispersion"] == "horizontal"
    assert len(fig.axes) == 3
    fig, strip, report = pp.crop_preview(np.zeros((100, 200, 3), np.uint8))
    assert strip is None and report is None


def test_preview_title_says_what_was_done_and_fits_the_figure():
    """The preview's title names the orientation as the panel's control does (auto / as the photo is /
    mirror left-right) and says whether the strip was mirrored; it stays inside the figure."""
    import matplotlib
    matplotlib.use("Agg")
    red_left, blue_left = rainbow_photo(red_left=True), rainbow_photo()
    cases = [(red_left, "auto", True, "auto: mirrored left-right (the blue end was on the right)"),
             (blue_left, "auto", False, "auto: as the photo is (the blue end is already on the left)"),
             (red_left, "as_is", False, "as the photo is (chosen by hand: not mirrored)"),
             (blue_left, "flip", True, "mirrored left-right (chosen by hand)")]
    for photo, left_right, flipped, note in cases:
        fig, strip, report = pp.crop_preview(photo, pp.PreprocessParams(left_right=left_right), name="drawn.png")
        assert report["flipped"] is flipped
        title = fig.get_suptitle()
        assert title.startswith("drawn.png: horizontal dispersion · " + note), title
        fig.canvas.draw()
        extent = fig._suptitle.get_window_extent()
        assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1, f"the title runs past the figure: {title}"
    fig, _, _ = pp.crop_preview(rainbow_photo(vertical=True), name="tall.png")
    assert fig.get_suptitle().startswith("tall.png: vertical dispersion (turned: the top end goes left) · auto")


def test_panel_controls_are_named_for_what_they_do(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    photos = tmp_path / "photos"
    make_folder(photos, bad=False)
    panel = pp.make_panel(sorted(photos.rglob("*.jpg"))[:1])
    order = panel.controls["left_right"]
    assert order._options_labels == ("auto", "as the photo is", "mirror left-right")
    assert [value for _, value in order.options] == ["auto", "as_is", "flip"] and order.value == "auto"
    order.value = "flip"  # the label "mirror left-right" sets the parameter "flip"
    assert panel.state["params"].left_right == "flip" and "mirrored left-right" in panel.state["fig"].get_suptitle()
    # the checkbox is as wide as the sliders, so its label is not cut to "follow tilt and curv..."
    assert panel.controls["follow_tilt"].layout.width == panel.controls["band_threshold"].layout.width == "420px"


def test_plot_blue_side_shows_the_hue_run_and_the_decision():
    import matplotlib
    matplotlib.use("Agg")
    strip, _ = pp.preprocess_photo(rainbow_photo(red_left=True), pp.PreprocessParams(left_right="as_is"))
    fig = pp.plot_blue_side(strip, "drawn band")
    top, bottom = fig.axes
    assert "blue on the right" in top.get_title() and top.get_title().startswith("drawn band")
    hues = bottom.collections[0].get_offsets()
    assert len(hues) > 300 and np.corrcoef(hues[:, 0], hues[:, 1])[0, 1] > 0.9  # hue angle rises toward blue, on the right
    grey = pp.plot_blue_side(np.full(STRIP_SHAPE, 90, np.uint8))  # no colour at all: nothing to plot, no error
    assert len(grey.axes[1].collections[0].get_offsets()) == 0 and "confidence 0.00" in grey.axes[0].get_title()


def test_panel_driven_headless(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    photos, strips = tmp_path / "photos", tmp_path / "strips"
    make_folder(photos, bad=False)
    files = sorted(photos.rglob("*.jpg"))
    panel = pp.make_panel(files, photos_dir=photos, strips_dir=strips, params_path=tmp_path / "params.json")
    assert panel.state["report"] is not None
    assert panel.preview.value[:8] == b"\x89PNG\r\n\x1a\n"  # the preview figure, as a PNG
    first_box, first_png = panel.state["report"]["box"], panel.preview.value
    panel.controls["band_threshold"].value = 0.6
    assert panel.state["params"].band_threshold == 0.6
    assert panel.state["report"]["box"] != first_box and panel.preview.value != first_png
    panel.controls["left_right"].value = "flip"
    assert panel.state["report"]["flipped"]
    panel.photo.value = str(files[-1])
    assert panel.state["report"]["photo"] == files[-1].name
    panel.save_button.click()
    assert pp.load_params(tmp_path / "params.json").left_right == "flip"
    panel.apply_button.click()
    assert panel.state["result"].written == len(files)
    assert panel.progress.value == panel.progress.max == len(files)


def test_panel_says_when_the_saved_file_is_behind_the_sliders(tmp_path):
    """A browser sends a click at once but holds back slider moves while the kernel is busy, so "Save"
    can reach the kernel before the last move: the message must then say the file is behind."""
    import matplotlib
    matplotlib.use("Agg")
    photos = tmp_path / "photos"
    make_folder(photos, bad=False)
    panel = pp.make_panel(sorted(photos.rglob("*.jpg"))[:2], params_path=tmp_path / "params.json")
    panel.controls["band_threshold"].value = 0.21
    panel.save_button.click()  # arrives before the move to 0.25 that the reader made first
    assert panel.message.value == "saved to params.json" and pp.load_params(tmp_path / "params.json").band_threshold == 0.21
    panel.controls["band_threshold"].value = 0.25
    assert panel.message.value.startswith("<b>not saved</b>: the parameters changed since params.json was saved")
    panel.photo.value = panel.photo.options[1][1]  # another photo is no change of the parameters
    assert "not saved" in panel.message.value
    panel.save_button.click()
    assert panel.message.value == "saved to params.json" and pp.load_params(tmp_path / "params.json") == panel.state["saved"]
    panel.photo.value = panel.photo.options[0][1]
    assert panel.message.value == ""


def test_panel_parameters_round_trip_the_browsers_floats(tmp_path):
    """A browser's slider reports 0.2 back as 0.20000000000000004: showing the panel or moving a
    slider and back must leave the parameters (and their fingerprint) exactly as they were."""
    import matplotlib
    matplotlib.use("Agg")
    photos = tmp_path / "photos"
    make_folder(photos, bad=False)
    panel = pp.make_panel(sorted(photos.rglob("*.jpg"))[:1])
    before = panel.state["params"]
    assert before == pp.PreprocessParams()
    panel.controls["band_threshold"].value = 0.20000000000000004  # what the front end echoes for 0.2
    panel.controls["extent_threshold"].value = 0.04000000000000001
    assert panel.state["params"] == before and pp.params_digest(panel.state["params"]) == pp.params_digest(before)
    panel.controls["band_threshold"].value = 0.35000000000000003  # a move: snapped to the 0.01 step
    assert panel.state["params"].band_threshold == 0.35
    panel.controls["band_threshold"].value = 0.2
    assert panel.state["params"] == before
    # the snapping itself, without widgets
    assert _snapped(0.30000000000000004, 0.05, 0.2) == 0.3 and _snapped("auto", None, "auto") == "auto"


def test_second_order_and_zero_order_are_left_out_and_faint_ends_kept():
    """Beyond the red end a dim copy of the spectrum (second order) and beyond the blue end a white
    spot (zero order) are not part of the band; a faint stretch that continues the colour order is."""
    photo = rainbow_photo(w=640, box=(140, 120, 400, 150))
    band = photo[120:150, 140:400].astype(np.float32)
    photo[120:150, 440:640] = np.maximum(8, np.repeat(band, 2, axis=1)[:, :200] * 0.25).astype(np.uint8)  # second order
    photo[128:142, 60:72] = 250  # zero order
    _, report = pp.preprocess_photo(photo)
    x0, _, x1, _ = report["box"]
    assert 125 <= x0 <= 145 and 395 <= x1 <= 415, report["box"]  # without both: 60 and 640
    assert not report["flipped"]
    # a lamp's second order is its lines again, split by dark gaps: every run beyond the widest gap goes
    lines = rainbow_photo(w=800, box=(100, 120, 400, 150))
    lines[120:150, 520:530] = (30, 30, 90)
    lines[120:150, 600:606] = (40, 30, 110)
    _, report = pp.preprocess_photo(lines)
    assert 85 <= report["box"][0] <= 105 and 395 <= report["box"][2] <= 415, report["box"]  # without: 606
    # a dim violet stretch beyond a gap at the blue end continues the order: it stays in the crop
    faint = rainbow_photo(w=640, box=(200, 120, 460, 150))
    faint[120:150, 120:170] = (40, 8, 70)
    _, report = pp.preprocess_photo(faint)
    assert report["box"][0] < 140 and report["box"][2] >= 455


def test_a_tall_dim_glow_far_along_the_band_is_stray_light():
    """A reflection inside the spectroscope's box (a dim green glow several times as tall as the band,
    beyond a dark gap) is no part of the spectrum: every wavelength is an image of the same slit,
    as tall as the rest. A line as bright as the band that fills the frame's height stays."""
    photo = rainbow_photo(h=300, w=900, box=(100, 120, 400, 140))
    photo[90:270, 700:740] = (10, 90, 14)  # the glow: 9 times the band's height, dimmer than it
    _, report = pp.preprocess_photo(photo)
    assert 85 <= report["box"][0] <= 105 and 395 <= report["box"][2] <= 415, report["box"]  # without the rule: 740
    # a sodium-like frame: the slit's image fills the height; its brightest line is no glow
    lines = np.full((100, 300, 3), 6.0)
    lines[80:100, 30:46] = (40, 20, 60)   # a faint violet band, lit only near the bottom
    lines[:, 190:196] = (200, 125, 15)    # the bright yellow line, over the whole height,
    lines[80:100, 190:196] = (240, 150, 20)  # brightest where the violet one is
    lines += np.random.default_rng(0).normal(0, 2, lines.shape)  # sensor noise: a photo, not a drawing
    _, report = pp.preprocess_photo(np.clip(lines, 0, 255).astype(np.uint8))
    assert report["box"][0] <= 32 and report["box"][2] >= 194, report["box"]


def _strip_of(columns: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(columns, 0, 255).astype(np.uint8)[None], 15, axis=0)


def test_blue_side_of_one_colour_bands_and_a_purple_violet_end():
    """A deep-red or violet LED has no colour order: the steep end (the camera's IR or UV cut) decides.
    A violet end that a camera shows purple (its red channel sees violet) still counts as blue."""
    x = np.linspace(0, 1, 480)[:, None]
    # deep-red LED, blue on the left: a long tail toward blue, a steep fall at the red end
    red = np.where(x < 0.75, np.exp(-((x - 0.75) / 0.25) ** 2), np.exp(-((x - 0.75) / 0.04) ** 2))
    red_band = _strip_of(10 + red * np.array([235, 25, 5]))
    # violet LED, blue on the left: a steep rise at the blue end, a long tail toward red
    violet = np.where(x > 0.25, np.exp(-((x - 0.25) / 0.25) ** 2), np.exp(-((x - 0.25) / 0.04) ** 2))
    violet_band = _strip_of(10 + violet * np.array([70, 15, 240]))
    # the same violet LED whose trailing side the camera shows a few levels more purple: a
    # consistent but tiny hue drift (a fraction of a degree) must not decide
    purple_tail = _strip_of(10 + violet * np.array([70, 15, 240]) + (x > 0.25) * violet * np.array([6, 0, 0]))
    for band in (red_band, violet_band, purple_tail):
        blue_left, confidence = pp.find_blue_side(band)
        assert blue_left and 0 < confidence < pp.ONE_COLOUR_CONFIDENCE
        assert not pp.find_blue_side(band[:, ::-1])[0]
    # purple -> blue -> cyan -> green, brightest at the purple end (the (R - B) / (R + G + B) proxy
    # of earlier versions rises again toward purple and got this one backwards)
    t = np.linspace(0, 1, 480)
    hues = np.stack([np.clip(0.5 - 2 * t, 0, None), np.clip(2 * t - 0.3, 0, 1), np.clip(1.3 - 1.2 * t, 0, 1)], 1)
    band = _strip_of(8 + 240 * hues * np.exp(-4 * t)[:, None])
    assert pp.find_blue_side(band)[0] and not pp.find_blue_side(band[:, ::-1])[0]
    assert pp.find_blue_side(band)[1] > pp.ONE_COLOUR_CONFIDENCE


def _app_screenshot(rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A drawn spectrometer-app window (as PySpectrometer shows one): a white plot area with grid
    lines, a filled rainbow curve, labels and a title, and the camera's picture, a noisy band of a
    mercury lamp 760 x 50 pixels, at a known place above the plot. Returns it and that box."""
    from PIL import Image, ImageDraw

    h, w = 480, 800
    screen = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, w, 70), fill=(0, 0, 0))
    draw.text((10, 20), "Spectrometer 2  (calibrated, gain 10)", fill=(255, 255, 0))
    for x in range(20, w, 60):  # the grid
        draw.line((x, 200, x, h - 20), fill=(200, 200, 200))
    hue = np.linspace(0, 1, w)
    colours = (255 * np.stack([np.clip(1.5 - np.abs(hue - p) * 4, 0, 1) for p in (0.9, 0.5, 0.1)], 1)).astype(int)
    curve = 200 + (h - 220) * (1 - np.exp(-((np.arange(w) - 420) / 160.0) ** 2))
    for x in range(w):  # the filled curve, one flat colour per column
        draw.line((x, int(curve[x]), x, h - 20), fill=tuple(int(c) for c in colours[x]))
    for x in (120, 330, 520):
        draw.rectangle((x, 210, x + 50, 224), fill=(255, 255, 0))
        draw.text((x + 3, 211), "546nm", fill=(0, 0, 0))
    photo, truth = synthesis.render_photo(1, np.random.default_rng(11))
    x0, y0, x1, y1 = truth["band_box"]
    band = photo[y0:y1, x0:x1] if truth["dispersion"] == "horizontal" else photo[y0:y1, x0:x1].transpose(1, 0, 2)
    if not truth["blue_first"]:
        band = band[:, ::-1]
    camera = np.asarray(Image.fromarray(np.ascontiguousarray(band)).resize((760, 50)), dtype=np.int16)
    camera = np.clip(camera + rng.normal(0, 3, camera.shape), 0, 255).astype(np.uint8)  # a camera's noise
    array = np.asarray(screen).copy()
    box = (20, 90, 780, 140)
    array[box[1]:box[3], box[0]:box[2]] = camera
    return array, box


def test_an_app_screenshot_is_cut_at_the_camera_picture_not_the_plotted_graph():
    """A screenshot of a spectrometer app (a band above a plotted graph) is recognised by its drawn,
    exactly flat graphics; the band is looked for in the camera's picture only. A camera photo is
    not taken for a screenshot."""
    screen, truth = _app_screenshot(np.random.default_rng(0))
    assert pp.screen_capture_share(screen) >= pp.SCREEN_CAPTURE_SHARE
    view = pp.find_camera_view(screen)
    assert pp.box_iou(view, truth) > 0.8, view
    strip, report = pp.preprocess_photo(screen, name="screenshot.png")
    assert report["camera_view"] is not None
    x0, y0, x1, y1 = report["box"]
    assert truth[1] - 3 <= y0 and y1 <= truth[3] + 3 and x1 - x0 > 300, report["box"]  # inside the picture's rows
    assert report["dispersion"] == "horizontal" and not report["flipped"]
    photo, _ = synthesis.render_photo(1, np.random.default_rng(11))
    assert pp.screen_capture_share(photo) < pp.SCREEN_CAPTURE_SHARE
    assert pp.preprocess_photo(photo)[1]["camera_view"] is None
    blank = np.full((300, 400, 3), 255, np.uint8)
    blank[:40] = 90  # a screenshot of an app with no camera picture in it
    with pytest.raises(pp.PhotoError, match="screenshot"):
        pp.preprocess_photo(blank, name="blank.png")


def test_a_drawn_border_round_the_photo_is_not_taken_for_the_band():
    """A viewer's white frame line along an edge (as in a Theremino capture) is even along its whole
    length, which no spectrum is: the decisions ignore it and find the band inside."""
    photo, truth = synthesis.render_photo(0, np.random.default_rng(21))
    framed = photo.copy()
    framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = 255, 230, 255, 230
    assert pp.blank_frame(photo) is photo  # nothing to blank: the same array back
    _, plain = pp.preprocess_photo(photo)
    _, report = pp.preprocess_photo(framed)
    assert pp.box_iou(report["box"], plain["box"]) > 0.9, (report["box"], plain["box"])


def test_pink_deep_red_lines_at_the_red_end_do_not_turn_the_strip_round():
    """Through a weak IR-cut filter neon's 692-724 nm lines come out pink (hue about 315), which
    could be a violet: read as beyond red, the colours green, orange, red, pink run steadily, so
    the strip is blue-left; mirrored, it is red-left."""
    strip = np.zeros(STRIP_SHAPE, np.float32)
    for col, rgb in ((100, (0.1, 0.8, 0.1)), (200, (0.9, 0.45, 0.05)), (260, (0.9, 0.1, 0.05)),
                     (380, (0.9, 0.3, 0.75)), (420, (0.8, 0.25, 0.7))):
        strip[:, col - 4:col + 4] = rgb
    strip = (strip * 255).astype(np.uint8)
    assert pp.find_blue_side(strip)[0] is True
    assert pp.find_blue_side(strip[:, ::-1])[0] is False


def test_a_blazing_zero_order_in_a_phone_photo_is_left_out():
    """A phone photo through a clip-on grating (iSpex style): the lamp itself (zero order) blazes
    white beyond the blue end, longer and wider than the first order's lines and brighter than any
    of them. It neither sets the band's rows nor joins its columns."""
    photo = np.full((400, 700, 3), 6, np.uint8)
    lines = {330: (70, 20, 200), 360: (30, 120, 230), 440: (20, 235, 40), 475: (235, 180, 20), 520: (240, 30, 20)}
    for x, rgb in lines.items():  # a lamp's lines, violet at the left to red at the right
        photo[230:270, x - 6:x + 6] = rgb
    yy, xx = np.mgrid[0:400, 0:700]
    blaze = 250 * np.exp(-(((xx - 120) / 70.0) ** 6 + ((yy - 220) / 60.0) ** 6))  # wider than the band across
    photo = np.maximum(photo, blaze[:, :, None].astype(np.uint8))
    photo = np.ascontiguousarray(photo.transpose(1, 0, 2))  # dispersed vertically, blue at the top
    _, report = pp.preprocess_photo(photo)
    x0, y0, x1, y1 = report["box"]
    assert report["dispersion"] == "vertical" and not report["flipped"], report
    assert 290 <= y0 <= 325 and 525 <= y1 <= 560, report["box"]  # with the lamp: from about 50
    assert 215 <= x0 <= 232 and 268 <= x1 <= 285, report["box"]  # the lines' rows, not the blaze's 160-280


def test_colour_gradients_are_the_dispersion_cue_and_ignore_the_dark_background():
    """A rainbow band along x on a noisy dark background: the map along x is far the brighter, and the
    background's colour noise (strong in chromaticity, weak in light) adds little to either map."""
    rng = np.random.default_rng(0)
    image = rng.uniform(0.0, 0.02, (60, 150, 3))              # dark, with colour noise
    hue = np.linspace(0, 1, 100)
    image[25:35, 25:125] = np.stack([hue, 1 - np.abs(2 * hue - 1), 1 - hue], axis=1)[None] * 0.8
    along_x, along_y = pp.colour_gradients(image)
    assert along_x.shape == (60, 149) and along_y.shape == (59, 150)
    assert along_x.sum() > 5 * along_y.sum()
    assert along_x[:20].sum() < 0.02 * along_x.sum() and along_y[:20].max() < 0.05 * along_x.max()
    assert pp.find_dispersion(image)[0] == "horizontal"
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)   # over half_above: read at half resolution
    assert pp.colour_gradients(big)[0].shape == (60, 149)
