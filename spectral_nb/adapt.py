"""Adapting the book's model to one's own spectroscope with a few labelled strips (chapter 07).

A model trained on synthetic strips meets a new instrument the way it met the real strips: its
camera, window and exposure habit move the strips away from what it saw. A handful of labelled
strips from that instrument, and a short fine-tuning, move the model back (supervised domain
adaptation; Lalor et al. 2024, arXiv 2412.07069, did the same for gamma spectra: 75% -> 96% with 64
measured spectra).

- :func:`fine_tune`: a new model (the one passed in is not changed) with the same contract as
  ``OutputModel/spectral_cnn.keras``: ``uint8 (N, 15, 480, 3)`` strips in, 7 probabilities out.
- :func:`draw_few`: a stratified draw of ``k`` strips per class to fine-tune on, the rest to test
  on, never the same source photo on both sides.
- :func:`second_spectroscope`: a synthetic spectroscope that differs from the book's on purpose (an
  Infragram-style infrared-converted camera behind a blue filter), so chapter 07 shows the shift and
  its cure offline.

The recipe's defaults (what trains, the synthetic replay, the steps) were chosen by
``benchmarks/bench_adapt.py`` (see the README); nothing in it stops early or chooses on the strips
it is judged on.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from spectral_nb import NUM_CLASSES, check_labels, check_strips
from spectral_nb.records.pipeline import BOOK_AUGMENT_OPTIONS, BOOK_AUGMENTATIONS

#: What :func:`fine_tune` lets move: ``"all"`` (every weight but the batch-norm layers') or
#: ``"head"`` (only the dense layers after the convolutions: in the book's model, the final one).
TRAINABLE = ("all", "head")
#: The options of the book's training augmentations (chapter 04), applied to the few strips too
#: (``records.BOOK_AUGMENT_OPTIONS``, named here for chapter 07).
AUGMENT_OPTIONS = BOOK_AUGMENT_OPTIONS


def copy_model(model):
    """A new Keras model with ``model``'s architecture and weights (nothing shared)."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _set_trainable(model, trainable: str) -> None:
    """Batch-norm layers frozen (a few strips cannot estimate their statistics), and for ``"head"``
    everything but the dense layers."""
    from keras import layers

    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
        elif trainable == "head":
            layer.trainable = isinstance(layer, layers.Dense)


def fine_tune(model, strips, labels, *, seed: int = 0, replay: tuple[np.ndarray, np.ndarray] | None = None,
              replay_share: float = 0.5, trainable: str = "all", steps: int = 150, batch_size: int = 32,
              learning_rate: float = 1e-4, augment: Sequence[str] | None = None):
    """Fine-tune a copy of ``model`` on a few labelled strips; returns the copy (``model`` is unchanged).

    ``strips`` ``uint8 (N, 15, 480, 3)``, ``labels`` ``int (N,)`` in 0-6: from one strip per class up,
    and classes may be missing. ``replay`` (synthetic strips and labels, e.g. a sample of chapter 03's
    training records) is mixed into every batch at ``replay_share``, so the classes the few strips
    lack, and what the model knew of the others, are not forgotten. ``trainable``: ``"all"`` or
    ``"head"`` (see :data:`TRAINABLE`); batch-norm layers (statistics, scale, offset) never move. A fixed number of
    ``steps`` of Adam at ``learning_rate`` on batches of ``batch_size``, each strip augmented as in
    chapter 04 (``augment``: the names of ``records.augment_images``; default the book's): there is
    no validation set to stop on, on purpose. The copy is compiled and saves and loads like the
    book's model (``keras.models.load_model``).
    """
    import keras
    import tensorflow as tf

    from spectral_nb import records
    from spectral_nb.model import compile_model

    strips = check_strips(strips)
    labels = check_labels(labels, n=len(strips))
    if len(strips) == 0:
        raise ValueError("fine_tune needs at least one labelled strip (one per class you have is a start)")
    if trainable not in TRAINABLE:
        raise ValueError(f"trainable must be one of {TRAINABLE}, not {trainable!r}")
    if not 0.0 <= replay_share < 1.0:
        raise ValueError(f"replay_share is a share of each batch in [0, 1), not {replay_share!r}")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1, not {steps!r} and {batch_size!r}")
    keras.utils.set_random_seed(seed)
    tuned = copy_model(model)
    _set_trainable(tuned, trainable)
    compile_model(tuned, learning_rate)

    def endless(x, y, salt):
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed + salt).repeat()

    data = endless(strips, labels, 0)
    if replay is not None and replay_share > 0:
        x_replay = check_strips(replay[0])
        y_replay = check_labels(replay[1], "replay labels", n=len(x_replay))
        data = tf.data.Dataset.sample_from_datasets(
            [data, endless(x_replay, y_replay, 1)], weights=[1 - replay_share, replay_share], seed=seed)
    data = data.batch(batch_size)
    names = BOOK_AUGMENTATIONS if augment is None else tuple(augment)
    if names:
        data = records.augment_batches(data, names, seed, **AUGMENT_OPTIONS)
    tuned.fit(data.take(steps).prefetch(2), epochs=1, verbose=0, shuffle=False)  # the data shuffle themselves
    return tuned


def draw_few(labels, k: int, rng: np.random.Generator, groups: Sequence[str] | None = None,
             max_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(fine-tune indices, test indices)``: ``k`` strips per class (fewer where a class has fewer:
    never more than ``max_share`` of its source photos), the rest to test on.

    ``groups`` (e.g. each strip's source photo file name) keeps a photo's strips on one side; by
    default every strip is its own group. A class with one photo gives none to fine-tuning.
    """
    labels = check_labels(labels)
    groups = np.asarray([str(i) for i in range(len(labels))] if groups is None else [str(g) for g in groups])
    if groups.shape != labels.shape:
        raise ValueError(f"groups must be one per strip ({len(labels)}), not {groups.shape}")
    if k < 0:
        raise ValueError(f"k is a number of strips per class, not {k!r}")
    chosen: list[int] = []
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(labels == c)
        photos = np.unique(groups[members])
        take = min(k, int(len(photos) * max_share))
        for photo in rng.permutation(photos)[:take]:
            chosen.extend(members[groups[members] == photo].tolist())
    train = np.array(sorted(chosen), dtype=np.int64)
    test = np.setdiff1d(np.arange(len(labels)), train)
    return train, test


def second_spectroscope():
    """A synthetic spectroscope unlike any of the book's training mix, on purpose: ``synthesis.Spectroscope``.

    Its camera is an infrared-converted one behind a blue filter, as in Public Lab's Infragram
    cameras (the same community as Spectral Workbench): the IR-cut filter is gone, and the blue
    filter stops most of the light between about 500 and 700 nm. So the blue channel sees violet
    and blue, the green channel a little of the blue-green, and the red channel almost nothing of
    the visible light but near-infrared (here beyond the strip's window, except its tail at the red
    end): a visible spectrum comes out blue and cyan at one end, nearly dark over its yellow and
    orange, and dim red at the deep-red end (the camera's white balance lifts the weak red). A
    window framed on 400-700 nm with a slightly curved dispersion and a 5-pixel slit, and an
    owner who exposes by hand for the brightest part at 1-4 times full scale. The response curves
    are drawn to that description (channel peaks and widths), not measured. No camera of the
    book's mix renders colours like these. Strips:
    ``synthesis.generate_strips(..., spectroscope=second_spectroscope())``.
    """
    from spectral_nb import synthesis

    camera = synthesis.Camera(name="infrared-converted camera behind a blue filter", peaks=(830.0, 470.0, 450.0),
                              left_fwhm=(160.0, 60.0, 80.0), right_fwhm=(160.0, 60.0, 80.0), ir_cut_50=1000.0,
                              ir_cut_width=20.0, uv_cut_50=390.0, red_blue_lobe=0.0, gains=(1.0, 0.4, 1.0),
                              nir_leak=0.6, nir_leak_nm=720.0)
    instrument = synthesis.Instrument(nm_start=400.0, nm_end=700.0, curvature=0.05, lsf_sigma_px=1.5,
                                      wing_fraction=0.1, slit_px=5.0)
    return synthesis.Spectroscope("second spectroscope (Infragram camera)", instrument, camera, by_hand=(1.0, 4.0))


def replay_strips(per_class: int = 100, seed: int = 7000, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic strips of the book's mix to replay while fine-tuning: ``(uint8 (7 * per_class, 15,
    480, 3), labels)`` from ``synthesis.generate_strips`` (seed 7000: none of the book's own seeds)."""
    from spectral_nb import synthesis

    x, y, _ = synthesis.generate_strips((per_class,) * NUM_CLASSES, seed=seed, workers=workers)
    return x, y


def strips_from_folder(folder, params=None) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """A labelled folder of photos (chapter 02's layout: sub-folders ``0_LED``, ``1_mercury``, ... or a
    ``labels.csv``) cut to strips in memory: ``(strips uint8 (N, 15, 480, 3), labels (N,), photo names,
    refusals)``; a photo with no usable spectrum is left out and its reason listed, nothing is written."""
    from pathlib import Path

    from spectral_nb import preprocessing

    folder = Path(folder)
    strips, labels, names, refused = [], [], [], []
    for rel, label in preprocessing.read_labelled_folder(folder):
        try:
            strip, _ = preprocessing.preprocess_photo(folder / rel, params, name=rel)
        except preprocessing.PhotoError as error:
            refused.append(str(error))
            continue
        strips.append(strip)
        labels.append(label)
        names.append(rel)
    if not strips:
        raise ValueError(f"{folder}: none of its photos gave a strip ({len(refused)} refused"
                         + (f"; the first: {refused[0]}" if refused else "; it holds no labelled photos") + ")")
    return np.stack(strips), np.array(labels, dtype=np.int64), names, refused


def save_adapted(model, path, info: dict, overwrite: bool = False):
    """Save an adapted model as ``path`` (``.keras``) and what it was adapted on beside it
    (``path`` with ``.json``: ``info`` plus the strips per class); an existing file is kept unless
    ``overwrite``. Returns the model's path."""
    import json
    from pathlib import Path

    from spectral_nb import files
    from spectral_nb.model import save_model

    path = Path(path)
    sidecar = path.with_suffix(".json")
    if not overwrite:
        for p in (path, sidecar):
            if p.exists():
                raise FileExistsError(f"{p} exists: it may be an adapted model you made; choose another name, "
                                      "or pass overwrite=True (--overwrite) to replace it")
    save_model(model, path)
    with files.atomic_path(sidecar, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return path


def default_adapted_path(folder, model_path):
    """Where ``python -m spectral_nb adapt FOLDER`` saves: beside the synthetic model, named after the folder."""
    from pathlib import Path

    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(folder).resolve().name) or "folder"
    return Path(model_path).with_name(f"spectral_cnn_adapted_{name}.keras")


def run_adapt(folder, model_path=None, params_path=None, out=None, overwrite: bool = False, seed: int = 0,
              steps: int | None = None) -> int:
    """The ``adapt`` subcommand: cut a labelled folder of one's own photos to strips, fine-tune the
    book's model on them (with synthetic replay) and save the adapted model under its own name.
    Prints what it used; exit status 0 when saved, 1 when no photo gave a strip, 2 for usage errors."""
    import datetime
    import sys
    from collections import Counter
    from pathlib import Path

    from spectral_nb import CLASS_NAMES
    from spectral_nb.book import book_paths
    from spectral_nb.cli import UsageError, load_model, resolve_model_path, resolve_params

    def fail(message: str, status: int = 2) -> int:
        print(f"spectral-nb adapt: error: {message}", file=sys.stderr)
        return status

    path = resolve_model_path(model_path)
    target = Path(out) if out is not None else default_adapted_path(folder, path)
    if target.suffix != ".keras":
        return fail(f"--out must name a .keras file, not {target}")
    shown = book_paths().relative  # paths inside the project are shown from its root, not the machine's
    if not overwrite and (target.exists() or target.with_suffix(".json").exists()):
        return fail(f"{shown(target)} exists (an adapted model you made?): choose --out, or pass --overwrite")
    try:
        params, params_from = resolve_params(params_path)
        model = load_model(path)
        strips, labels, names, refused = strips_from_folder(folder, params)
    except (UsageError, FileNotFoundError) as error:
        return fail(str(error))
    except ValueError as error:
        return fail(str(error), status=1)
    if Path(params_from).is_file():
        params_from = shown(params_from)
    for reason in refused:
        print(f"left out: {reason}")
    counts = Counter(labels.tolist())
    print(f"{len(labels)} strips from {folder} (parameters: {params_from}): "
          + ", ".join(f"{CLASS_NAMES[c]} {counts[c]}" for c in sorted(counts)))
    missing = [CLASS_NAMES[c] for c in range(NUM_CLASSES) if c not in counts]
    if missing:
        print(f"no photos of {', '.join(missing)}: the adapted model keeps what the synthetic model knew of them "
              "(synthetic strips are replayed while it learns)")
    options = {} if steps is None else {"steps": steps}
    tuned = fine_tune(model, strips, labels, seed=seed, replay=replay_strips(), **options)
    info = {"adapted_from": shown(path), "folder": str(folder), "photos": names,
            "strips_per_class": {CLASS_NAMES[c]: int(counts[c]) for c in sorted(counts)},
            "left_out": refused, "preprocessing": params_from, "seed": seed,
            "recipe": {k: v for k, v in fine_tune.__kwdefaults__.items() if k not in ("seed", "replay", "augment")} | options,
            "date": datetime.date.today().isoformat()}
    save_adapted(tuned, target, info, overwrite=overwrite)
    print(f"wrote {shown(target)} (and {target.with_suffix('.json').name}: what it was adapted on); "
          f"classify with: python -m spectral_nb classify PHOTO --model {shown(target)}")
    return 0


def learning_curve(model, strips, labels, ks: Sequence[int], draws: int, replay=None, groups=None,
                   test_extra: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, **options) -> list[dict]:
    """Accuracy on the strips not fine-tuned on, against strips per class ``k`` (0: ``model`` as it is).

    For each k, ``draws`` stratified draws (:func:`draw_few`, seeded ``seed + 1000 k + draw``; never
    more than half of a class, a ``groups`` member never on both sides), each fine-tuned with
    :func:`fine_tune` (``replay`` and ``options``) and scored on the rest. ``test_extra`` (strips,
    labels), e.g. synthetic strips of the book's mix, is scored too: does the adapted model forget?
    Returns one dict per k: ``k``, ``runs`` (per draw: ``n_train``, ``n_test``, ``acc``, ``base_acc``
    (``model`` unadapted on the same test strips), ``extra_acc``), ``median``, ``min``, ``max``,
    ``base_median``, ``extra_median``, ``n_train`` and ``n_test`` (medians).
    """
    from spectral_nb.model import predict_proba

    strips = check_strips(strips)
    labels = check_labels(labels, n=len(strips))

    def accuracy(m, x, y) -> float:
        return float((predict_proba(m, x).argmax(1) == y).mean()) if len(y) else float("nan")

    rows = []
    for k in ks:
        runs = []
        for d in range(max(1, draws)):
            train, test = draw_few(labels, k, np.random.default_rng(seed + 1000 * k + d), groups=groups)
            base = accuracy(model, strips[test], labels[test])
            tuned = model if len(train) == 0 else fine_tune(model, strips[train], labels[train], seed=seed + d,
                                                             replay=replay, **options)
            runs.append({"draw": d, "n_train": int(len(train)), "n_test": int(len(test)),
                         "acc": base if tuned is model else accuracy(tuned, strips[test], labels[test]),
                         "base_acc": base,
                         "extra_acc": accuracy(tuned, *test_extra) if test_extra is not None else None})
            if len(train) == 0:  # nothing to fine-tune on: the same model on every draw
                break
        accs = [r["acc"] for r in runs]
        extras = [r["extra_acc"] for r in runs if r["extra_acc"] is not None]
        rows.append({"k": int(k), "runs": runs, "median": float(np.median(accs)), "min": float(min(accs)),
                     "base_median": float(np.median([r["base_acc"] for r in runs])),
                     "max": float(max(accs)), "extra_median": float(np.median(extras)) if extras else None,
                     "n_train": int(np.median([r["n_train"] for r in runs])),
                     "n_test": int(np.median([r["n_test"] for r in runs]))})
    return rows


def plot_learning_curve(rows: Sequence[dict], ax=None, label: str | None = None, target: float | None = None):
    """Accuracy on the rest against strips per class: the draws' median, their range as a band; returns ``ax``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ks = np.array([r["k"] for r in rows], float)
    median = [r["median"] for r in rows]
    (line,) = ax.plot(ks, median, "o-", label=label)
    ax.fill_between(ks, [r["min"] for r in rows], [r["max"] for r in rows], color=line.get_color(), alpha=0.2)
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1)
        ax.annotate(f"target {target:.3f}", (ks.max(), target), ha="right", va="bottom", fontsize=8, color="grey")
    ax.set_xscale("symlog", linthresh=1)
    # every curve drawn on these axes keeps its ks labelled: the ticks are the x values of all the curves' markers
    shown = sorted({float(k) for curve in ax.get_lines() if curve.get_marker() == "o" for k in curve.get_xdata()})
    ax.set_xticks(shown)
    ax.set_xticklabels([str(int(k)) for k in shown])
    ax.set_xlabel("labelled strips per class fine-tuned on (k)")
    ax.set_ylabel("accuracy on the other strips")
    if label:
        ax.legend(loc="lower right")
    return ax


def weight_changes(before, after) -> list[tuple[str, float]]:
    """``(layer name, relative change)`` for every layer with weights: ``|w_after - w_before| / |w_before|``
    over all of the layer's trainable weights (L2 norms); batch-norm statistics are not counted."""
    out = []
    for a, b in zip(before.layers, after.layers):
        # the same layer class and config: its weights come in the same order in both models
        pairs = [(np.asarray(wa), np.asarray(wb)) for wa, wb in zip(a.weights, b.weights) if "moving" not in wa.path]
        if not pairs:
            continue
        norm = np.sqrt(sum(float((wa ** 2).sum()) for wa, _ in pairs))
        delta = np.sqrt(sum(float(((wb - wa) ** 2).sum()) for wa, wb in pairs))
        out.append((a.name, delta / norm if norm > 0 else 0.0))
    return out
