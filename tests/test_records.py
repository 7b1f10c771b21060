"""spectral_nb.records: nnSIC-schema TFRecords, leak-free splits, tf.data pipelines, downloads."""
from __future__ import annotations

import json

import functools
import hashlib
import http.server
import os
import struct
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spectral_nb import NUM_CLASSES, STRIP_SHAPE
from spectral_nb import records

import tensorflow as tf  # noqa: E402  a hard dependency: a broken install fails these tests, it does not skip them


# ----------------------------------------------------------------- helpers (independent of records.py)

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_records(payloads: list[bytes]) -> bytes:
    """TFRecord framing written by hand: length, masked CRC of length, data, masked CRC of data."""
    out = b""
    for p in payloads:
        header = struct.pack("<Q", len(p))
        out += header + struct.pack("<I", masked_crc(header)) + p + struct.pack("<I", masked_crc(p))
    return out


def unframe(data: bytes) -> list[bytes]:
    payloads, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        assert struct.unpack_from("<I", data, pos + 8)[0] == masked_crc(data[pos:pos + 8])
        payload = data[pos + 12: pos + 12 + length]
        assert struct.unpack_from("<I", data, pos + 12 + length)[0] == masked_crc(payload)
        payloads.append(payload)
        pos += 16 + length
    return payloads


def example_bytes(**features) -> bytes:
    """A tf.train.Example with exactly the given features (value: int -> int64, bytes -> bytes)."""
    feats = {}
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        if isinstance(values[0], (bytes, str)):
            values = [v.encode() if isinstance(v, str) else v for v in values]
            feats[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif isinstance(values[0], float):
            feats[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feats[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def good_fields(seed: int = 0, label: int = 1, name: str = "a.jpg") -> dict:
    image = np.random.default_rng(seed).integers(0, 256, STRIP_SHAPE, dtype=np.uint8)
    return dict(height=15, width=480, image=image.tobytes(), label=label, filename=name)


def fake_strips(n_per_class, seed=0):
    """Distinct strips: each has two bright lines at random columns (a known, unique profile)."""
    rng = np.random.default_rng(seed)
    images, labels, names = [], [], []
    for c, n in enumerate(n_per_class):
        for k in range(n):
            img = np.full(STRIP_SHAPE, 10, np.uint8)
            for col in rng.choice(np.arange(10, 470), size=3, replace=False):
                img[:, col - 2: col + 3, c % 3] = 250
                img[:, col - 1: col + 2, (c + 1) % 3] = 200
            images.append(img)
            labels.append(c)
            names.append(f"{c}/{k:03d}.jpg")
    return np.stack(images), np.array(labels), names


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    images, labels, names = fake_strips([2, 1, 1, 1, 1, 1, 1])
    path = tmp_path_factory.mktemp("rec") / "small.tfrecords"
    records.write_records(path, images, labels, names)
    return path, images, labels, names


# ----------------------------------------------------------------- one record, one file

def test_written_file_is_tfrecord_framing_of_nnsic_examples(small_file):
    path, images, labels, names = small_file
    payloads = unframe(path.read_bytes())  # checks every CRC with an independent implementation
    assert len(payloads) == len(images)
    ex = tf.train.Example.FromString(payloads[3])
    f = ex.features.feature
    assert sorted(f) == ["filename", "height", "image", "label", "width"]
    assert f["height"].int64_list.value == [15] and f["width"].int64_list.value == [480]
    assert f["image"].bytes_list.value[0] == images[3].tobytes()
    assert f["label"].int64_list.value == [labels[3]]
    assert f["filename"].bytes_list.value[0] == names[3].encode()


def test_load_examples_round_trips(small_file):
    path, images, labels, names = small_file
    got_images, got_labels, got_names = records.load_examples(path)
    assert got_images.dtype == np.uint8 and got_images.shape == (len(images), *STRIP_SHAPE)
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    assert got_names == names


def test_hand_framed_file_reads_back(tmp_path):
    fields = [good_fields(i, label=i % NUM_CLASSES, name=f"ü{i}.png") for i in range(3)]
    path = tmp_path / "hand.tfrecords"
    path.write_bytes(frame_records([example_bytes(**f) for f in fields]))
    images, labels, names = records.load_examples(path)
    assert [im.tobytes() for im in images] == [f["image"] for f in fields]
    assert labels.tolist() == [0, 1, 2] and names == ["ü0.png", "ü1.png", "ü2.png"]


def test_same_data_same_bytes_and_identical_rewrite_is_kept(tmp_path, small_file):
    _, images, labels, names = small_file
    a = records.write_records(tmp_path / "a.tfrecords", images, labels, names)
    b = records.write_records(tmp_path / "b.tfrecords", images, labels, names)
    assert a.read_bytes() == b.read_bytes()
    mtime = a.stat().st_mtime_ns
    records.write_records(a, images, labels, names)  # same data: no error, file untouched
    assert a.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tfrecords", "b.tfrecords"]


@pytest.mark.slow
def test_bytes_do_not_depend_on_the_process(tmp_path, small_file):
    path, *_ = small_file
    script = ("import sys; from spectral_nb import records as r; x,y,f=r.load_examples(sys.argv[1]);"
              "r.write_records(sys.argv[2], x, y, f)")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "other.tfrecords")],
                   check=True, env=env, cwd=Path(records.__file__).parents[2])
    assert (tmp_path / "other.tfrecords").read_bytes() == path.read_bytes()


def test_never_overwrites_a_different_file(tmp_path, small_file):
    _, images, labels, names = small_file
    target = tmp_path / "mine.tfrecords"
    target.write_bytes(b"a user's file")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        records.write_records(target, images, labels, names)
    assert target.read_bytes() == b"a user's file"
    records.write_records(target, images, labels, names, overwrite=True)
    assert len(records.load_examples(target)[0]) == len(images)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.tfrecords"]


def test_failed_write_leaves_no_file(tmp_path, small_file):
    _, images, labels, names = small_file
    bad = labels.copy()
    bad[4] = 9
    with pytest.raises(ValueError, match=r"bad.tfrecords, record 4: .*label 9"):
        records.write_records(tmp_path / "bad.tfrecords", images, bad, names)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- bad records: file and record named

def write_payloads(path: Path, payloads: list[bytes]) -> Path:
    with tf.io.TFRecordWriter(str(path)) as w:
        for p in payloads:
            w.write(p)
    return path


@pytest.mark.parametrize("change, message", [
    (dict(label=None), r"missing \['label'\]"),
    (dict(extra=3), r"unexpected \['extra'\]"),
    (dict(label=b"1"), r"'label' should hold one int64 value, found bytes_list"),
    (dict(image=[1, 2, 3]), r"'image' should hold one bytes value, found int64_list"),
    (dict(label=1.0), r"'label' should hold one int64 value, found float_list"),
    (dict(height=14), r"height 14 x width 480 x 3 = 20160 bytes, but the image holds 21600"),
    (dict(height=10, image=bytes(10 * 480 * 3)), r"a 10x480 strip"),
    (dict(label=7), r"label 7 is outside 0..6"),
    (dict(label=-1), r"label -1 is outside 0..6"),
    (dict(filename=b"\xff\xfe"), r"filename is not UTF-8"),
])
def test_bad_schema_names_file_and_record(tmp_path, change, message):
    bad = good_fields(2)
    for k, v in change.items():
        if v is None:
            del bad[k]
        else:
            bad[k] = v
    path = write_payloads(tmp_path / "bad.tfrecords",
                          [example_bytes(**good_fields(0)), example_bytes(**good_fields(1)), example_bytes(**bad)])
    with pytest.raises(records.RecordError, match=r"bad\.tfrecords, record 2: .*" + message):
        records.load_examples(path)


def test_not_an_example(tmp_path):
    path = write_payloads(tmp_path / "junk.tfrecords", [example_bytes(**good_fields(0)), b"\xff\xff\xff"])
    with pytest.raises(records.RecordError, match=r"junk\.tfrecords, record 1: not a tf.train.Example"):
        records.load_examples(path)


def test_crc_damage_names_the_record(tmp_path, small_file):
    path, *_ = small_file
    data = bytearray(path.read_bytes())
    record_len = len(data) // 8
    data[2 * record_len + 5000] ^= 0x01  # inside the image bytes of record 2
    damaged = tmp_path / "damaged.tfrecords"
    damaged.write_bytes(bytes(data))
    with pytest.raises(records.RecordError, match=r"damaged\.tfrecords, record 2: damaged \(CRC check failed\)"):
        records.load_examples(damaged)


def test_truncated_file_names_the_record(tmp_path, small_file):
    path, *_ = small_file
    data = path.read_bytes()
    cut = tmp_path / "cut.tfrecords"
    cut.write_bytes(data[: len(data) * 5 // 8 + 100])  # ends inside record 5
    with pytest.raises(records.RecordError, match=r"cut\.tfrecords, record 5: truncated"):
        records.load_examples(cut)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.tfrecords").write_bytes(b"")
    with pytest.raises(records.RecordError, match="empty.tfrecords: the file holds no records"):
        records.load_examples(tmp_path / "empty.tfrecords")
    with pytest.raises(FileNotFoundError, match="nothere.tfrecords"):
        records.load_examples(tmp_path / "nothere.tfrecords")


# ----------------------------------------------------------------- strip folders

def make_strip_folder(folder: Path, images, labels, photos=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["strip,label,photo"]
    for i, (img, lab) in enumerate(zip(images, labels)):
        rel = f"{lab}_x/s{i:03d}.png"
        (folder / rel).parent.mkdir(exist_ok=True)
        Image.fromarray(img).save(folder / rel)
        rows.append(f"{rel},{lab},{photos[i] if photos else f'{lab}_x/p{i:03d}.jpg'}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_read_strip_folder(tmp_path):
    images, labels, _ = fake_strips([1, 2, 0, 0, 0, 0, 1])
    folder = make_strip_folder(tmp_path / "strips", images, labels)
    got, got_labels, names = records.read_strip_folder(folder)
    assert np.array_equal(got, images) and np.array_equal(got_labels, labels)
    assert names == [f"{lab}_x/p{i:03d}.jpg" for i, lab in enumerate(labels)]


def test_strip_folder_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no manifest.csv in .*empty.*chapter 02"):
        records.read_strip_folder(empty)
    (empty / "manifest.csv").write_text("strip,label,photo\n")
    with pytest.raises(ValueError, match="lists no strips"):
        records.read_strip_folder(empty)
    images, labels, _ = fake_strips([1, 1, 0, 0, 0, 0, 0])
    folder = make_strip_folder(tmp_path / "s", images, labels)
    text = (folder / "manifest.csv").read_text()
    (folder / "manifest.csv").write_text(text.replace("1_x/s001.png,1,", "1_x/s001.png,8,"))
    with pytest.raises(ValueError, match=r"manifest.csv, row 3: label 8 is outside 0..6"):
        records.read_strip_folder(folder)
    (folder / "manifest.csv").write_text(text)
    Image.fromarray(np.zeros((20, 480, 3), np.uint8)).save(folder / "1_x/s001.png")
    with pytest.raises(ValueError, match=r"s001.png: a \(20, 480, 3\) image"):
        records.read_strip_folder(folder)
    (folder / "1_x/s001.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"row 3: strip .*s001.png does not exist"):
        records.read_strip_folder(folder)


# ----------------------------------------------------------------- near-duplicates and splits

def test_near_duplicates_are_grouped():
    images, _, _ = fake_strips([4, 0, 0, 0, 0, 0, 0], seed=3)
    rng = np.random.default_rng(0)
    resaved = np.clip(images[0] * 0.8 + rng.normal(0, 3, STRIP_SHAPE), 0, 255).astype(np.uint8)
    flipped = images[1][::-1]
    batch = np.stack([*images, resaved, flipped])
    groups = records.group_near_duplicates(batch)
    assert groups[4] == groups[0] and groups[5] == groups[1]
    assert len(set(groups[:4].tolist())) == 4  # different photos stay apart
    # The same photo name (other extension/case) groups strips whatever they look like.
    by_name = records.group_near_duplicates(images, ["a/1.png", "b/2.png", "A/1.JPG", "c/3.png"])
    assert by_name[0] == by_name[2] and len(set(by_name.tolist())) == 3


def test_oversample_to_minimum_is_even():
    labels = np.array([0] * 3 + [1] * 10)
    index = records.oversample_to_minimum(labels, minimum=8, seed=1)
    counts = Counter(labels[index].tolist())
    assert counts == {0: 8, 1: 10}
    repeats = Counter(index[labels[index] == 0].tolist())
    assert sorted(repeats.values()) == [2, 3, 3]  # 8 = 2 whole copies of 3, plus 2 picked once more
    assert set(range(13)) <= set(index.tolist())


@pytest.fixture(scope="module")
def split_data():
    images, labels, names = fake_strips([30, 30, 20, 12, 12, 10, 12], seed=5)
    # Near-duplicates: re-saved copies of 15 photos under other names.
    rng = np.random.default_rng(1)
    dup_of = rng.choice(len(images), 15, replace=False)
    copies = np.clip(images[dup_of] * 0.9 + 5, 0, 255).astype(np.uint8)
    images = np.concatenate([images, copies])
    labels = np.concatenate([labels, labels[dup_of]])
    names = names + [f"copy/{i}.png" for i in range(15)]
    return images, labels, names, dup_of


def test_splits_are_leak_free_stratified_and_over_sampled(split_data):
    images, labels, names, dup_of = split_data
    splits = records.make_splits(images, labels, names, min_per_class=40, seed=7)
    side = {}
    for name, s in splits.items():
        for i in s.source_index.tolist():
            side.setdefault(i, set()).add(name)
    assert all(len(v) == 1 for v in side.values())  # no strip in two splits
    assert len(side) == len(images)  # every strip used
    for k, original in enumerate(dup_of):  # each re-saved copy sits with its original
        assert side[len(labels) - 15 + k] == side[int(original)]
    assert len(set(splits["vali"].source_index)) == len(splits["vali"].source_index)  # no copies outside train
    assert len(set(splits["test"].source_index)) == len(splits["test"].source_index)
    train = Counter(splits["train"].labels.tolist())
    assert min(train.values()) >= 40
    n = Counter(labels.tolist())
    test = Counter(splits["test"].labels.tolist())
    for c in range(NUM_CLASSES):
        assert 1 <= test[c] <= round(0.1 * n[c]) + 2  # ~1/10 per class (whole groups)
    # Written images are the source strips, flipped where recorded; half of train and vali flipped.
    for name, s in splits.items():
        expected = images[s.source_index].copy()
        expected[s.flipped] = expected[s.flipped][:, ::-1]
        assert np.array_equal(s.images, expected)
        assert s.flipped.sum() == (0 if name == "test" else len(s.labels) // 2)


def test_splits_are_seeded(split_data):
    images, labels, names, _ = split_data
    a = records.make_splits(images, labels, names, min_per_class=20, seed=3)
    b = records.make_splits(images, labels, names, min_per_class=20, seed=3)
    c = records.make_splits(images, labels, names, min_per_class=20, seed=4)
    assert all(np.array_equal(a[s].source_index, b[s].source_index) for s in records.SPLITS)
    assert not np.array_equal(np.sort(a["test"].source_index), np.sort(c["test"].source_index))


def test_empty_or_tiny_class_is_refused(split_data):
    images, labels, names, _ = split_data
    keep = labels != 4
    with pytest.raises(ValueError, match=r"manifest.csv: class 4 \(helium\) has no strips"):
        records.make_splits(images[keep], labels[keep], [n for n, k in zip(names, keep) if k],
                            source="manifest.csv")
    keep = (labels != 4) | (np.cumsum(labels == 4) <= 2)
    with pytest.raises(ValueError, match=r"class 4 \(helium: 2\) has fewer than 3 distinct photos"):
        records.make_splits(images[keep], labels[keep], [n for n, k in zip(names, keep) if k])
    with pytest.raises(ValueError, match="no strips"):
        records.make_splits(images[:0], labels[:0], [])


def test_write_splits_refuses_then_overwrites(tmp_path, split_data):
    images, labels, names, _ = split_data
    splits = records.make_splits(images, labels, names, min_per_class=15, seed=1)
    files = records.write_splits(splits, tmp_path, "demo")
    for s, path in files.items():
        got, got_labels, got_names = records.load_examples(path)
        assert np.array_equal(got, splits[s].images) and got_names == splits[s].filenames
    before = {p: p.read_bytes() for p in files.values()}
    assert records.write_splits(splits, tmp_path, "demo") == files  # same data: fine, untouched
    other = records.make_splits(images, labels, names, min_per_class=15, seed=2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        records.write_splits(other, tmp_path, "demo")
    assert {p: p.read_bytes() for p in files.values()} == before
    records.write_splits(other, tmp_path, "demo", overwrite=True)
    assert files["test"].read_bytes() != before[files["test"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files.values())


def test_write_splits_replaces_its_own_stale_records_but_not_edited_or_foreign_ones(tmp_path, split_data):
    """Records written with a provenance (chapter 03: the strips' source and the split settings)
    are stale derived data once their strips change (a recut, a newer generator): the same
    provenance replaces them without overwrite=True. Other settings, records without a note, or
    records changed since they were written are refused as before."""
    images, labels, names, _ = split_data
    settings = {"source": "InputData/strips/manifest.csv", "settings": {"seed": 1, "min_per_class": 15}}
    first = records.make_splits(images, labels, names, min_per_class=15, seed=1)
    files = records.write_splits(first, tmp_path, "demo", provenance=settings)
    sidecar = records.provenance_path(tmp_path, "demo")
    assert json.loads(sidecar.read_text())["provenance"] == settings
    recut = records.make_splits(np.clip(images.astype(int) + 3, 0, 255).astype(np.uint8), labels, names,
                                min_per_class=15, seed=1)  # the same photos, cut again: other bytes
    records.write_splits(recut, tmp_path, "demo", provenance=settings)  # replaced, no overwrite needed
    assert np.array_equal(records.load_examples(files["test"])[0], recut["test"].images)
    other_settings = {**settings, "settings": {"seed": 2, "min_per_class": 15}}
    before = {p: p.read_bytes() for p in files.values()}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        records.write_splits(first, tmp_path, "demo", provenance=other_settings)
    with open(files["vali"], "ab") as f:  # somebody changed a file since: not ours to replace any more
        f.write(b"\0")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        records.write_splits(first, tmp_path, "demo", provenance=settings)
    assert files["test"].read_bytes() == before[files["test"]]
    sidecar.unlink()  # records of unknown origin (an older book wrote no note): refused
    files["vali"].write_bytes(before[files["vali"]])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        records.write_splits(first, tmp_path, "demo", provenance=settings)


def test_count_table():
    table = records.count_table({"train": [0, 0, 1], "test": [6]})
    lines = table.splitlines()
    assert lines[1].split() == ["0", "LED", "2", "0"]
    assert lines[7].split() == ["6", "nitrogen", "0", "1"]
    assert lines[-1].split() == ["total", "3", "1"]


# ----------------------------------------------------------------- tf.data

def test_make_dataset_matches_load_examples(small_file):
    path, images, labels, _ = small_file
    batches = list(records.make_dataset(path, batch_size=3))
    assert batches[0][0].dtype == tf.uint8 and batches[0][1].dtype == tf.int64
    assert batches[0][0].shape == (3, *STRIP_SHAPE)
    assert np.array_equal(np.concatenate([b[0] for b in batches]), images)
    assert np.array_equal(np.concatenate([b[1] for b in batches]), labels)


def test_shuffle_is_a_seeded_permutation(small_file):
    path, images, labels, _ = small_file

    def order(seed):
        batches = records.make_dataset(path, 3, shuffle=True, seed=seed)
        return [im.tobytes() for b in batches for im in b[0].numpy()]

    a, b, c = order(5), order(5), order(6)
    assert a == b and sorted(a) == sorted(im.tobytes() for im in images)
    assert a != [im.tobytes() for im in images] or c != a  # actually shuffled


def test_augmentations():
    images, _, _ = fake_strips([4, 4, 0, 0, 0, 0, 0], seed=2)
    rows_sum = lambda x: np.asarray(x, np.int64).sum(axis=1)  # what a row-averaging model sees
    ud = records.augment_images(images, 1, "flip_ud").numpy()
    assert np.array_equal(rows_sum(ud), rows_sum(images))  # flipping top-bottom changes nothing
    lr = records.augment_images(images, 1, "flip_lr").numpy()
    flipped = [not np.array_equal(a, b) for a, b in zip(lr, images)]
    assert any(flipped)
    for a, b, f in zip(lr, images, flipped):
        assert np.array_equal(a, b[:, ::-1] if f else b)
    moved = records.augment_images(images, 2, "shift", max_shift_px=10).numpy()
    assert not np.array_equal(moved, images)
    peak = lambda x: rows_sum(x)[..., :].sum(-1).argmax(-1)
    assert np.all(np.abs(peak(moved) - peak(images)) <= 11)
    same = records.augment_images(images, 2, ("shift", "stretch"), max_shift_px=0, max_stretch=0).numpy()
    assert np.array_equal(same, images)
    assert np.array_equal(records.augment_images(images, 9, "stretch").numpy(),
                          records.augment_images(images, 9, "stretch").numpy())
    with pytest.raises(ValueError, match="unknown augmentation"):
        records.augment_images(images, 1, "rotate")


def test_photometric_augmentations_act_as_a_camera_would():
    grey = np.full((16, 15, 480, 3), 100, np.uint8)
    grey[:, :, 200:210] = 200  # a line, for the blur
    same = lambda names, seed=4: np.array_equal(records.augment_images(grey, seed, names).numpy(),
                                                records.augment_images(grey, seed, names).numpy())
    for name in records.PHOTOMETRIC_AUGMENTATIONS:
        if name == "greyscale":
            continue  # leaves a grey strip as it is (its own test below)
        out = records.augment_images(grey, 4, name).numpy()
        assert out.dtype == np.uint8 and out.shape == grey.shape
        assert same(name), name  # seeded
        assert not np.array_equal(out, grey), name
    gain = records.augment_images(grey, 4, "gain").numpy().astype(int)
    means = gain.mean(axis=(1, 2, 3))
    assert means.std() > 5  # each strip its own exposure, applied alike to every pixel of it
    assert np.array_equal(gain[:, :, :, 0], gain[:, :, :, 2])  # a grey strip stays grey
    wb = records.augment_images(grey, 4, "white_balance").numpy().astype(int)
    assert (wb[:, 0, 0, 0] != wb[:, 0, 0, 2]).any()  # channels scaled apart: grey turns tinted
    blur = records.augment_images(grey, 4, "blur").numpy().astype(int)
    # the column beside the line: 100 if sharp; blurred, taps 4 and 1 of [1, 4, 6, 4, 1] / 16 reach
    # the line at 200: 100 + 100 * 5 / 16 = 131.25 -> 131
    edge = blur[:, 0, 199, 0]
    assert set(np.unique(edge)) == {100, 131}
    black = records.augment_images(np.zeros_like(grey), 4, "black_level").numpy()
    assert black.max() > 0 and black.min() == 0  # a raised black level lifts the floor, a lowered one clips
    combined = records.augment_images(grey, 4, ("shift", "gain", "noise")).numpy()
    assert combined.shape == grey.shape and not np.array_equal(combined, grey)


def test_make_dataset_with_augment_is_seeded(small_file):
    path, images, _, _ = small_file
    run = lambda: np.concatenate([b[0] for b in records.make_dataset(path, 4, augment=("flip_lr", "shift"), seed=3)])
    a, b = run(), run()
    assert a.shape == images.shape and np.array_equal(a, b)


def test_make_dataset_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tfrecords"):
        records.make_dataset(tmp_path / "missing.tfrecords")


# ----------------------------------------------------------------- named datasets and downloads

def test_dataset_files(scratch_book, small_file):
    from spectral_nb.book import book_paths, MissingInputError

    paths = book_paths()
    with pytest.raises(MissingInputError, match="03_tfrecord_creation.ipynb"):
        records.dataset_files("synthetic", paths)
    with pytest.raises(FileNotFoundError, match="download_nnsic"):
        records.dataset_files("nnsic", paths)
    paths.records_dir.mkdir(parents=True)
    for s in records.SPLITS:
        (paths.records_dir / f"synthetic_{s}.tfrecords").write_bytes(small_file[0].read_bytes())
    files = records.dataset_files("synthetic", paths)
    assert files["vali"] == paths.records_dir / "synthetic_vali.tfrecords"
    with pytest.raises(ValueError, match="dataset name"):
        records.dataset_files("../x", paths)


def test_git_blob_id(tmp_path):
    (tmp_path / "f").write_bytes(b"hello\n")
    assert records.git_blob_id(tmp_path / "f") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """A local HTTP server on 127.0.0.1 serving tmp_path/served; yields (url, folder, request log)."""
    served = tmp_path / "served"
    served.mkdir()
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            log.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield f"http://127.0.0.1:{server.server_address[1]}/data/", served, log
    server.shutdown()
    server.server_close()


def blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_download_verifies_and_caches(http_folder, tmp_path, small_file):
    url, served, log = http_folder
    (served / "data").mkdir()
    data = small_file[0].read_bytes()
    (served / "data" / "MyDataV2_test.tfrecords").write_bytes(data)
    dest = tmp_path / "nnsic"
    files = records.download_nnsic(dest, base_url=url, blob_ids={"test": blob(data)})
    assert files["test"].read_bytes() == data
    assert len(log) == 1
    records.download_nnsic(dest, base_url=url, blob_ids={"test": blob(data)})
    assert len(log) == 1  # cached: verified, not downloaded again
    assert sorted(p.name for p in dest.iterdir()) == ["MyDataV2_test.tfrecords"]


def test_download_rejects_a_wrong_file(http_folder, tmp_path):
    url, served, log = http_folder
    (served / "data").mkdir()
    (served / "data" / "MyDataV2_vali.tfrecords").write_bytes(b"not the published file")
    dest = tmp_path / "nnsic"
    with pytest.raises(ValueError, match="rejected and removed"):
        records.download_nnsic(dest, base_url=url, blob_ids={"vali": blob(b"the published file")})
    assert list(dest.iterdir()) == []
    with pytest.raises(ConnectionError, match="MyDataV2_train.tfrecords"):  # 404
        records.download_nnsic(dest, base_url=url, blob_ids={"train": "0" * 40})
    assert list(dest.iterdir()) == []


def test_download_never_touches_a_users_file(http_folder, tmp_path):
    url, served, log = http_folder
    dest = tmp_path / "nnsic"
    dest.mkdir()
    (dest / "MyDataV2_test.tfrecords").write_bytes(b"mine")
    with pytest.raises(ValueError, match="move it away"):
        records.download_nnsic(dest, base_url=url, blob_ids={"test": blob(b"published")})
    assert (dest / "MyDataV2_test.tfrecords").read_bytes() == b"mine" and log == []


# ----------------------------------------------------------------- real data

@pytest.mark.realdata
def test_real_nnsic_dev_loads(realdata):
    path = realdata / "nnsic_dev.tfrecords"
    images, labels, names = records.load_examples(path)
    assert images.shape[1:] == STRIP_SHAPE and images.dtype == np.uint8
    assert Counter(labels.tolist()) == {0: 22, 1: 32, 2: 14, 3: 8, 4: 3, 5: 5, 6: 6}
    assert all(n for n in names)
    # Decoded fields agree with TensorFlow's own parser, record by record.
    for i, raw in enumerate(tf.data.TFRecordDataset(str(path))):
        parsed = tf.io.parse_single_example(raw, {"image": tf.io.FixedLenFeature([], tf.string),
                                                  "label": tf.io.FixedLenFeature([], tf.int64),
                                                  "filename": tf.io.FixedLenFeature([], tf.string)})
        assert parsed["image"].numpy() == images[i].tobytes()
        assert parsed["label"].numpy() == labels[i] and parsed["filename"].numpy().decode() == names[i]
    # Our pipeline reads nnSIC's file exactly as load_examples does.
    got = np.concatenate([b[0] for b in records.make_dataset(path, batch_size=32)])
    assert np.array_equal(got, images)
    # Re-encoded by us, the fields come back the same (nnSIC's and our files are interchangeable).
    again = records.decode_example(records.encode_example(images[5], labels[5], names[5]))
    assert np.array_equal(again[0], images[5]) and again[1:] == (labels[5], names[5])


def test_chapter_04_trains_with_the_book_augmentations_the_package_names():
    """records.BOOK_AUGMENTATIONS / BOOK_AUGMENT_OPTIONS (what the benchmarks and adapt.fine_tune train
    with, "as chapter 04 does") are the values chapter 04's own cell sets."""
    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "04_model_building.ipynb").read_text())["cells"]
    source = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    names = {"records": records}
    for line in source.splitlines():
        if line.startswith(("AUGMENT = ", "AUGMENT_OPTIONS = ")):
            exec(line.split("#")[0], names)
    assert names["AUGMENT"] == records.BOOK_AUGMENTATIONS
    assert names["AUGMENT_OPTIONS"] == dict(records.BOOK_AUGMENT_OPTIONS)


def test_the_benchmarks_book_recipe_is_the_books():
    """``bench_sim_to_real``'s configuration named ``results_io.BOOK_RECIPE`` (what the README's "the
    book's" rows measure) trains with chapter 04's augmentations and options, the colour model and no
    training overrides."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_sim_to_real
    from results_io import BOOK_RECIPE

    kind, names, options, training = bench_sim_to_real.CONFIGS[BOOK_RECIPE]
    assert (kind, tuple(names), dict(options), training) == (
        "colour", records.BOOK_AUGMENTATIONS, dict(records.BOOK_AUGMENT_OPTIONS), {})


def test_greyscale_makes_a_share_of_the_strips_monochrome_and_leaves_the_rest():
    """``greyscale`` turns about GREYSCALE_SHARE of the strips into R = G = B (the mean of the three
    channels, as a sensor without a colour filter sums the light) and leaves every other strip as it was."""
    rng = np.random.default_rng(3)
    colour = rng.integers(0, 256, (400, 15, 480, 3), dtype=np.uint8)
    out = records.augment_images(colour, 11, "greyscale").numpy()
    grey = (out[..., 0] == out[..., 1]).all(axis=(1, 2)) & (out[..., 1] == out[..., 2]).all(axis=(1, 2))
    assert abs(grey.mean() - records.GREYSCALE_SHARE) < 0.05, grey.mean()
    assert np.array_equal(out[~grey], colour[~grey])
    expected = np.round(colour[grey].astype(np.float64).mean(axis=-1))
    assert np.abs(out[grey][..., 0] - expected).max() <= 1
    # the share is an option (augment_batches passes it through), and the book's recipe uses the default
    none = records.augment_images(colour, 11, "greyscale", greyscale_share=0.0).numpy()
    every = records.augment_images(colour, 11, "greyscale", greyscale_share=1.0).numpy()
    assert np.array_equal(none, colour)
    assert (every[..., 0] == every[..., 1]).all() and (every[..., 1] == every[..., 2]).all()
    batches = records.augment_batches(tf.data.Dataset.from_tensors((colour[:8], np.zeros(8, np.int64))), "greyscale",
                                      greyscale_share=1.0)
    first = next(iter(batches))[0].numpy()
    assert (first[..., 0] == first[..., 2]).all()
    assert "greyscale" in records.BOOK_AUGMENTATIONS and "greyscale" in records.PHOTOMETRIC_AUGMENTATIONS
    assert records.BOOK_AUGMENT_OPTIONS["greyscale_share"] == records.GREYSCALE_SHARE == 0.05


def _chapter_04_cell(marker: str) -> str:
    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "04_model_building.ipynb").read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and marker in "".join(c["source"]))


def test_chapter_04_writes_out_the_input_chain_of_make_dataset(small_file):
    """Chapter 04's ``read_records`` (the tf.data chain written out) gives the same batches as
    ``records.make_dataset``: plain, shuffled, and shuffled with the book's augmentations."""
    import spectral_nb as snb

    path, images, labels, _ = small_file
    names = {"tf": tf, "snb": snb, "records": records, "SEED": 42}
    exec(_chapter_04_cell("def read_records("), names)
    settings = ({}, {"shuffle": True, "seed": 5},
                {"shuffle": True, "seed": 5, "augment": records.BOOK_AUGMENTATIONS, **records.BOOK_AUGMENT_OPTIONS})
    for options in settings:
        ours = [(a.numpy(), b.numpy()) for a, b in names["read_records"](path, 3, **options)]
        package = [(a.numpy(), b.numpy()) for a, b in records.make_dataset(path, 3, **options)]
        assert len(ours) == len(package) == 3
        for (a, b), (c, d) in zip(ours, package):
            assert a.dtype == np.uint8 and a.shape[1:] == STRIP_SHAPE
            assert np.array_equal(a, c) and np.array_equal(b, d)
    first = names["read_records"](path, 32)
    assert np.array_equal(np.concatenate([a for a, _ in first]), images)


def test_chapter_03_builds_the_example_that_encode_example_builds():
    """Chapter 03's ``strip_example`` (the tf.train.Example written out) serialises to the same bytes as
    ``records.encode_example`` for any strip, label and name."""
    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "03_tfrecord_creation.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and "def strip_example(" in "".join(c["source"]))
    names = {"tf": tf}
    exec(source[:source.index("\nserialized = ")], names)
    images, labels, filenames = fake_strips([1, 1, 0, 0, 1, 0, 1], seed=4)
    for image, label, name in zip(images, labels, filenames):
        ours = names["strip_example"](image, label, name).SerializeToString(deterministic=True)
        assert ours == records.encode_example(image, label, name)
    odd = names["strip_example"](images[0], 6, "ünïcode name.png").SerializeToString(deterministic=True)
    assert odd == records.encode_example(images[0], 6, "ünïcode name.png")


def test_balanced_class_weights_make_every_class_count_alike():
    """Weight x count is the same for every class (n / 7 each), as over-sampling to equal counts would make it."""
    labels = np.array([0] * 10 + [1] * 5 + [2, 3, 4, 5, 6] * 2)
    weights = records.balanced_class_weights(labels)
    counts = np.bincount(labels)
    assert sorted(weights) == list(range(NUM_CLASSES))
    for c in range(NUM_CLASSES):
        assert weights[c] * counts[c] == pytest.approx(len(labels) / NUM_CLASSES)
    with pytest.raises(ValueError, match=r"class 6 \(nitrogen\) has no strips"):
        records.balanced_class_weights(labels[labels != 6])


def test_the_benchmarks_class_weight_recipe_trains_on_each_photo_once():
    """``bench_sim_to_real.once_each`` keeps the first strip of every photo name: the over-sampled
    training split without its copies."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_sim_to_real

    names = ["b.jpg", "a.jpg", "b.jpg", "c.jpg", "a.jpg", "b.jpg"]
    assert bench_sim_to_real.once_each(names).tolist() == [0, 1, 3]
    kind, augment, options, training = bench_sim_to_real.CONFIGS["book with class weights, not over-sampled"]
    assert (kind, augment, options, training) == ("colour", records.BOOK_AUGMENTATIONS,
                                                  dict(records.BOOK_AUGMENT_OPTIONS), {"class_weights": True})
    assert set(bench_sim_to_real.BOOK_ABLATION_CONFIGS) <= set(bench_sim_to_real.CONFIGS)


def test_max_log_gain_widens_the_exposure_range_upward_into_clipping():
    """``gain`` draws exposures from e^-0.9 to e^max_log_gain (0.5 unless told: x0.41-1.65); a wider
    ceiling reaches x3.3 at 1.2, and the brightest pixels clip at 255 as an over-exposed camera's do."""
    grey = np.full((2000, *STRIP_SHAPE), 60, np.uint8)
    default = records.augment_images(grey, 4, "gain").numpy()[:, 0, 0, 0] / 60
    wide = records.augment_images(grey, 4, "gain", max_log_gain=1.2).numpy()[:, 0, 0, 0] / 60
    assert default.max() <= np.exp(0.5) + 0.02 and default.max() > np.exp(0.5) - 0.05
    assert wide.max() <= np.exp(1.2) + 0.02 and wide.max() > np.exp(1.2) - 0.15
    assert abs(wide.min() - np.exp(-0.9)) < 0.02
    bright = np.full((500, *STRIP_SHAPE), 200, np.uint8)
    assert (records.augment_images(bright, 4, "gain", max_log_gain=1.2).numpy() == 255).any()
