"""The 1-D CNNs of chapter 04: nnSIC's M4 and the compact default, their training and inspection.

Both models take the strips themselves, ``uint8 (N, 15, 480, 3)``, and return class
probabilities ``float32 (N, 7)`` (softmax). The step from strip to 1-D profile lives inside the
model, as built-in Keras layers without trainable weights, so a saved ``.keras`` file is the
whole classifier: ``keras.models.load_model(path)`` needs no code from this package, and a photo
strip goes in as it is.

- profile: ``x / 255`` then the equal-weight mean over the 15 rows and the 3 colour channels,
  ``(480, 1)`` in ``[0, 1]`` (pooling layers without weights, so the mean is exact and fixed).
- ``"m4"``: nnSIC's M4 (five wide Conv1D layers and two large Dense layers, about 32 M
  parameters, about 1.7 GFLOP per strip), kept faithful for comparison.
- ``"compact"``: 51,287 parameters and 5.9 MFLOP per strip (1/290 of M4's), on the grey profile.
- ``"colour"``: the book's model (chapter 04): the compact network, twice as wide
  (:data:`COLOUR_WIDTH`), on the row-mean R, G, B profile ``(480, 3)``; 201,575 parameters and
  23.7 MFLOP per strip. A line's colour tells its wavelength on any spectroscope.

The chapter's numbers (parameters, FLOPs, speed, accuracy) come from ``benchmarks/bench_model.py``.
"""
from __future__ import annotations

import csv
import importlib.util
import itertools
import statistics
import time
import warnings
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import keras
from keras import layers

from spectral_nb import files
from spectral_nb import NUM_CLASSES, STRIP_SHAPE, check_strips

#: The architectures :func:`build_model` knows.
MODEL_KINDS: tuple[str, ...] = ("colour", "compact", "m4")

#: Filter multiplier of the colour model over the compact one (16-64 filters -> 32-128). Measured by
#: bench_sim_to_real on the book's pipeline (3 seeds, each its own photos, in one run): width 2 with
#: the learning-rate schedule of :func:`train_model` gives a median of 0.978 on the 90 real dev strips
#: (synthetic test 0.966) against 0.956 (0.954) for width 1 with a constant rate; see the README.
COLOUR_WIDTH = 2

#: Batch-norm momentum of both models (nnSIC's 0.9; Keras' 0.99 lags on short trainings).
BN_MOMENTUM = 0.9

#: Name of the layer whose output is the ``(480, 1)`` profile (for inspection and tests).
PROFILE_LAYER = "profile"


# ------------------------------------------------------------------------------ building


def _grey_profile(strips: keras.KerasTensor) -> keras.KerasTensor:
    """``uint8 (N, 15, 480, 3)`` -> ``float32 (N, 480, 1)``: mean over rows and RGB, in ``[0, 1]``.

    Rows first: viewed as 15 steps of 1440 values (480 columns x RGB, interleaved), the row mean
    is one GlobalAveragePooling1D (a reduction over axis 1, 4x faster on CPU than a pooling
    window over the 15 rows or a reduction over rows and channels at once). Then the RGB mean of
    each column is an AveragePooling1D window of 3 over the interleaved 1440 values. Rescaling
    casts uint8 to float32 itself. No weights, so the mean is exact and nothing can train it.
    """
    rows, columns, channels = STRIP_SHAPE
    x = layers.Reshape((rows, columns * channels), name="rows_by_values")(strips)
    x = layers.Rescaling(1.0 / 255.0, dtype="float32", name="to_unit_range")(x)
    x = layers.GlobalAveragePooling1D(name="row_mean")(x)                       # (1440,)
    x = layers.Reshape((columns * channels, 1), name="interleaved_rgb")(x)
    return layers.AveragePooling1D(channels, name=PROFILE_LAYER)(x)             # (480, 1)


def _colour_profile(strips: keras.KerasTensor) -> keras.KerasTensor:
    """``uint8 (N, 15, 480, 3)`` -> ``float32 (N, 480, 3)``: the row mean of each column's R, G, B, in ``[0, 1]``.

    The same row mean as :func:`_grey_profile`, without averaging the channels: a line's colour tells
    its wavelength on any spectroscope, whatever its window and dispersion (the grey profile
    keeps only brightness). No weights.
    """
    rows, columns, channels = STRIP_SHAPE
    x = layers.Reshape((rows, columns * channels), name="rows_by_values")(strips)
    x = layers.Rescaling(1.0 / 255.0, dtype="float32", name="to_unit_range")(x)
    x = layers.GlobalAveragePooling1D(name="row_mean")(x)                       # (1440,)
    return layers.Reshape((columns, channels), name=PROFILE_LAYER)(x)           # (480, 3)


def _conv_bn_relu(x, filters: int, kernel_size: int, seeds: Iterator[int], name: str,
                  strides: int = 1, dilation_rate: int = 1):
    """Conv1D ('same', no bias: BN's offset replaces it) -> BatchNormalization -> ReLU."""
    x = layers.Conv1D(filters, kernel_size, strides=strides, dilation_rate=dilation_rate, padding="same",
                      use_bias=False, kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _dense_bn_relu(x, units: int, seeds: Iterator[int], name: str):
    """Dense (no bias) -> BatchNormalization -> ReLU, as in nnSIC's fully connected layers."""
    x = layers.Dense(units, use_bias=False, kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
                     name=f"{name}_dense")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _m4_head(profile, seeds: Iterator[int], dropout: float, seed: int):
    """nnSIC's M4 on a ``(480, 1)`` profile: 5 Conv1D (k 5/15/45/90/105, 32/64/64/96/96 filters),
    one MaxPool1D(2), Flatten (240*96 = 23,040), Dense 1280 and 640, Dropout, Dense 7."""
    x = profile
    for i, (kernel, filters) in enumerate(zip((5, 15, 45, 90, 105), (32, 64, 64, 96, 96)), start=1):
        x = _conv_bn_relu(x, filters, kernel, seeds, name=f"conv{i}")
    x = layers.MaxPool1D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense_bn_relu(x, 1280, seeds, name="fc1")
    x = _dense_bn_relu(x, 640, seeds, name="fc2")
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _compact_head(profile, seeds: Iterator[int], dropout: float, seed: int, width: int = 1):
    """The compact model on a ``(480, 1)`` (or, for the colour model, ``(480, 3)``) profile; ``width``
    multiplies every layer's filters (1: 16, 24, 32, 48, 64, 64).

    - per-profile standardisation (LayerNormalization over the 480 columns, no learned scale):
      exposure and background level of a photo stop mattering; epsilon 1e-4 (std floor 0.01 in
      [0, 1] units, about 2.5 grey levels) keeps an almost flat, dark profile from being blown up
      to unit-variance noise;
    - a stride-2 stem, then small convs with a max-pool after each stage (240 -> 120 -> 60 -> 30
      columns): receptive field about 170 px, enough for line groups and continuum slopes.
      Pooling rather than dilation widens it: dilated Conv1D measured 1.5x slower on CPU;
    - global average and max pooling: position-free features, since line positions move between
      spectroscopes (and chapter 04's shift and stretch augmentations move them on purpose).
    """
    # over the columns and (for a colour profile) the channels together: the ratios between R, G and
    # B, i.e. the colours, survive
    axes = [1] if profile.shape[-1] == 1 else [1, 2]
    x = layers.LayerNormalization(axis=axes, center=False, scale=False, epsilon=1e-4, name="standardise")(profile)
    w = int(width)
    x = _conv_bn_relu(x, 16 * w, 7, seeds, name="stem", strides=2)          # 240 x 16w
    x = _conv_bn_relu(x, 24 * w, 5, seeds, name="block1")
    x = layers.MaxPool1D(2, name="pool1")(x)                                # 120 x 24w
    x = _conv_bn_relu(x, 32 * w, 5, seeds, name="block2")
    x = layers.MaxPool1D(2, name="pool2")(x)                                # 60 x 32w
    x = _conv_bn_relu(x, 48 * w, 5, seeds, name="block3")
    x = _conv_bn_relu(x, 64 * w, 5, seeds, name="block4")
    x = layers.MaxPool1D(2, name="pool3")(x)                                # 30 x 64w
    x = _conv_bn_relu(x, 64 * w, 5, seeds, name="block5")
    x = layers.Concatenate(name="pooled")([layers.GlobalAveragePooling1D(name="mean_pool")(x),
                                           layers.GlobalMaxPooling1D(name="max_pool")(x)])
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def build_model(kind: str = "compact", seed: int = 0, dropout: float = 0.5, width: int | None = None) -> keras.Model:
    """A new, uncompiled model: ``uint8 (N, 15, 480, 3)`` strips -> ``float32 (N, 7)`` probabilities.

    ``kind``: ``"compact"`` (this function's default; 51,287 parameters), ``"colour"`` (the book's
    model; 201,575) or ``"m4"`` (nnSIC's M4, 32,059,815 parameters). ``width`` multiplies the compact and
    colour models' filters (default: 1 for compact, :data:`COLOUR_WIDTH` for colour; the colour model
    at width 1 has 51,511 parameters). ``seed`` fixes the initial weights and the dropout masks. The output
    is a softmax; train with ``SparseCategoricalCrossentropy(from_logits=False)`` (see
    :func:`compile_model`). nnSIC's TF1 code fed its softmax output to a loss that expects logits,
    i.e. applied softmax twice, which flattens the gradients; that bug is not reproduced here.
    Built-in layers only, so a saved file loads with plain ``keras.models.load_model``.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, MODEL_KINDS))}, not {kind!r}")
    if width is not None and (kind == "m4" or int(width) != width or width < 1):
        raise ValueError(f"width is a whole filter multiplier >= 1 for the compact and colour models, "
                         f"not {width!r} for {kind!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is a rate in [0, 1), not {dropout!r}")
    # a fresh seed per initializer: one seed fixes every weight without touching the global
    # random state (a seeded initializer reused across layers would repeat its values)
    seeds = itertools.count(int(seed) * 1000 + 1)
    strips = keras.Input(STRIP_SHAPE, dtype="uint8", name="strips")
    profile = _colour_profile(strips) if kind == "colour" else _grey_profile(strips)
    if kind == "m4":
        features = _m4_head(profile, seeds, dropout, seed)
    else:
        features = _compact_head(profile, seeds, dropout, seed, width=width or (COLOUR_WIDTH if kind == "colour" else 1))
    probabilities = layers.Dense(NUM_CLASSES, activation="softmax",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
                                 name="probabilities")(features)
    return keras.Model(strips, probabilities, name=kind)


def compile_model(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with Adam, sparse categorical cross-entropy on probabilities, and accuracy; returns it."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=["accuracy"])
    return model


def build_and_compile(kind: str = "compact", strategy=None, seed: int = 0,
                      learning_rate: float = 1e-3, dropout: float = 0.5) -> keras.Model:
    """:func:`build_model` + :func:`compile_model`, under ``strategy.scope()`` when a
    ``tf.distribute.Strategy`` is given (the variables must be created inside it)."""
    if strategy is None:
        return compile_model(build_model(kind, seed=seed, dropout=dropout), learning_rate)
    with strategy.scope():
        return compile_model(build_model(kind, seed=seed, dropout=dropout), learning_rate)


# ------------------------------------------------------------------------------ measuring


def _layers_flat(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer, with nested models expanded in order."""
    flat = []
    for layer in model.layers:
        flat.extend(_layers_flat(layer) if isinstance(layer, keras.Model) else [layer])
    return flat


def count_flops(model: keras.Model) -> int:
    """Forward-pass FLOPs per strip, counted analytically (one multiply-add = 2 FLOPs).

    - Conv1D: ``2 * kernel_size * (C_in / groups) * C_out * L_out`` (dilation does not change it);
    - Dense: ``2 * inputs * units`` per position it is applied at.
    Biases, batch norm, activations, pooling, normalisation and the profile mean are elementwise or
    reductions (about 3 % of the compact model's count, 0.1 % of M4's) and are not counted: the
    number compares architectures, it does not predict run time. M4: 1,727,036,160; compact: 5,892,352.
    """
    flops = 0
    for layer in _layers_flat(model):
        if isinstance(layer, layers.Conv1D):
            length, c_out = layer.output.shape[1], layer.output.shape[2]
            c_in = layer.input.shape[-1]
            flops += 2 * layer.kernel_size[0] * (c_in // layer.groups) * c_out * length
        elif isinstance(layer, layers.Dense):
            positions = int(np.prod(layer.output.shape[1:-1], dtype=np.int64)) if len(layer.output.shape) > 2 else 1
            flops += 2 * layer.input.shape[-1] * layer.units * positions
    return int(flops)


def summary_text(model: keras.Model) -> str:
    """``model.summary()`` as one string (layers, output shapes, parameter counts)."""
    lines: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: lines.append(text), line_length=80)
    return "\n".join(line.rstrip("\n") for line in lines)


# ------------------------------------------------------------------------------ training


def _is_compiled(model: keras.Model) -> bool:
    return bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None


#: The learning-rate schedule of :func:`train_model`: ``ReduceLROnPlateau`` multiplies the rate by
#: this factor after ``lr_patience`` epochs without a lower validation loss, down to LR_FLOOR.
LR_FACTOR = 0.3
LR_FLOOR = 1e-5


def training_callbacks(out_dir: str | Path, patience: int = 12, lr_patience: int | None = 3
                       ) -> list[keras.callbacks.Callback]:
    """The callbacks of :func:`train_model` (chapter 04 writes the same list out), writing into ``out_dir``.

    ``EarlyStopping`` on ``val_loss`` after ``patience`` epochs, keeping the best weights;
    ``ReduceLROnPlateau`` (x :data:`LR_FACTOR` after ``lr_patience`` epochs, down to :data:`LR_FLOOR`;
    left out for ``None``); ``ModelCheckpoint`` of the best epoch (``checkpoint.keras``); ``TensorBoard``
    logs (``logs/``); ``CSVLogger`` (``training_log.csv``, one row per epoch).
    """
    out_dir = Path(out_dir)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(out_dir / "checkpoint.keras"), monitor="val_loss", save_best_only=True),
        keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs")),
        keras.callbacks.CSVLogger(str(out_dir / "training_log.csv")),
    ]
    if lr_patience is not None:
        callbacks.insert(1, keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=LR_FACTOR,
                                                              patience=lr_patience, min_lr=LR_FLOOR))
    return callbacks


def train_model(model: keras.Model, train_ds, vali_ds, epochs: int, out_dir: str | Path, patience: int = 12,
                strategy=None, verbose: int = 2, seed: int = 0, lr_patience: int | None = 3,
                class_weight: Mapping[int, float] | None = None) -> keras.callbacks.History:
    """Fit on ``train_ds``, keep the weights of the best validation loss; returns the History.

    Datasets yield ``(uint8 (B, 15, 480, 3), int (B,))`` batches (see ``records.make_dataset``).
    Writes into ``out_dir``: ``checkpoint.keras`` (best epoch so far), ``training_log.csv`` (one row
    per epoch) and ``logs/`` (TensorBoard). Cuts the learning rate by :data:`LR_FACTOR` after
    ``lr_patience`` epochs without a lower ``val_loss`` (``None``: a constant rate), stops after
    ``patience`` epochs without one and restores the best weights. Patience 12 leaves room for
    about three cuts; with the cuts, fine adjustments late in training raised accuracy on real
    strips (bench_sim_to_real, see the README). An uncompiled model is compiled with
    :func:`compile_model` (under ``strategy.scope()`` when ``strategy`` is given); for training on
    several devices build it with :func:`build_and_compile` so its variables live in the strategy.
    ``class_weight`` (e.g. ``records.balanced_class_weights``) weighs each class's strips in the loss, the
    alternative to over-sampling (the book over-samples; ``bench_sim_to_real --book-ablation`` compares).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, not {epochs!r}")
    if lr_patience is not None and lr_patience < 1:
        raise ValueError(f"lr_patience must be at least 1 epoch (or None for a constant rate), not {lr_patience!r}")
    if importlib.util.find_spec("tensorboard") is None:
        # The TensorBoard callback fails only at the end of the first epoch; say it before training.
        raise ImportError("train_model writes TensorBoard logs, but the tensorboard package is not installed: "
                          "pip install 'tensorboard>=2.21,<2.22' (it is in pyproject.toml's dependencies)")
    keras.utils.set_random_seed(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not _is_compiled(model):
        if strategy is None:
            compile_model(model)
        else:
            with strategy.scope():
                compile_model(model)
    callbacks = training_callbacks(out_dir, patience, lr_patience)
    with warnings.catch_warnings():
        # a tf.data dataset has no length until its first epoch ends: Keras warns that it "ran out"
        warnings.filterwarnings("ignore", message=".*input ran out of data", category=UserWarning)
        # shuffle=False: the datasets shuffle themselves (fit would ignore True, with a warning)
        return model.fit(train_ds, validation_data=vali_ds, epochs=epochs, callbacks=callbacks, verbose=verbose,
                         shuffle=False, class_weight=None if class_weight is None else dict(class_weight))


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save as a ``.keras`` file, atomically (a temporary file beside it, then ``os.replace``);
    an existing file is replaced (the book retrains). Creates the folder. Returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a model file name must end in .keras (Keras 3's format)")
    with files.atomic_path(path, suffix=".keras") as tmp:  # Keras insists on the extension
        model.save(tmp)
    return path


def load_trained_model(path: str | Path) -> keras.Model:
    """The model saved at ``path`` (``keras.models.load_model``); a clear error if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trained model at {path}: run notebooks/04_model_building.ipynb first "
                                f"(it trains the model and saves it there)")
    return keras.models.load_model(path)


# ------------------------------------------------------------------------------ predicting


def predict_proba(model: keras.Model, images, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``float32 (N, 7)`` of strips ``uint8 (N, 15, 480, 3)``; rows sum to 1."""
    images = check_strips(images)
    if len(images) == 0:
        return np.zeros((0, NUM_CLASSES), dtype=np.float32)
    # predict_on_batch per slice: model.predict wraps numpy input in a tf.data pipeline, which
    # measured 2x slower for the compact model on 2 CPU cores.
    batches = [model.predict_on_batch(images[start:start + batch_size])
               for start in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype(np.float32, copy=False)


def inference_speed(model: keras.Model, n: int = 2048, batch_size: int = 256, repeats: int = 3) -> float:
    """Median strips per second of :func:`predict_proba` on ``n`` random strips, after one warm-up
    pass (which traces the graph); ``repeats`` timed passes."""
    images = np.random.default_rng(0).integers(0, 256, (n, *STRIP_SHAPE), dtype=np.uint8)
    predict_proba(model, images[:batch_size], batch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_proba(model, images, batch_size)
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


# ------------------------------------------------------------------------------ figures


def _history_dict(history_or_csv_path) -> dict[str, list[float]]:
    """Per-epoch metrics from a History, a dict of lists, or a CSVLogger file."""
    if isinstance(history_or_csv_path, keras.callbacks.History):
        return {k: [float(v) for v in vs] for k, vs in history_or_csv_path.history.items()}
    if isinstance(history_or_csv_path, dict):
        return {k: [float(v) for v in vs] for k, vs in history_or_csv_path.items()}
    path = Path(history_or_csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"no training log at {path}: run notebooks/04_model_building.ipynb first")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no epochs; training stopped before the first one ended")
    return {k: [float(r[k]) for r in rows] for k in rows[0] if k != "epoch"}


def plot_learning_curves(history_or_csv_path, fig=None):
    """Loss and accuracy per epoch, training vs validation, best epoch (lowest val_loss, the
    weights kept) marked. Takes a History, its ``.history`` dict, or ``training_log.csv``; returns the figure."""
    import matplotlib.pyplot as plt

    history = _history_dict(history_or_csv_path)
    if fig is None:
        fig = plt.figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    best = int(np.argmin(history["val_loss"])) if "val_loss" in history else None
    for ax, metric, label in zip(axes, ("loss", "accuracy"), ("cross-entropy loss", "accuracy")):
        for key, name, style in ((metric, "training", "-"), (f"val_{metric}", "validation", "--")):
            if key in history:
                epochs = np.arange(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], style, marker="o", markersize=3, label=name)
        if best is not None:
            ax.axvline(best + 1, color="grey", linewidth=1, linestyle=":", label=f"best epoch ({best + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[1].set_ylim(top=1.0)
    fig.tight_layout()
    return fig


def _inbound_layers(model: keras.Model) -> dict[str, list[str]]:
    """``{layer name: names of the layers feeding it}`` of a functional model, from its config."""
    def history(node):
        if isinstance(node, dict):
            if "keras_history" in node:
                yield node["keras_history"][0]
            for value in node.values():
                yield from history(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                yield from history(value)

    return {c["name"]: list(dict.fromkeys(history(c.get("inbound_nodes", [])))) for c in model.get_config()["layers"]}


def plot_architecture(model: keras.Model, ax=None):
    """The layer graph as boxes from input (top) to output: layer name, type, output shape and
    parameter count, one row per step, and parallel branches (the mean and max pooling into the
    ``Concatenate``) side by side in one row. Plain matplotlib (``keras.utils.plot_model`` needs
    graphviz). Returns the axes."""
    import matplotlib.pyplot as plt

    inbound = _inbound_layers(model)
    depth: dict[str, int] = {}
    for layer in model.layers:  # topological order: every layer after those feeding it
        depth[layer.name] = 1 + max((depth[n] for n in inbound.get(layer.name, []) if n in depth), default=-1)
    rows: dict[int, list] = {}
    for layer in model.layers:
        rows.setdefault(depth[layer.name], []).append(layer)
    n_rows = max(rows) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.42 * n_rows + 0.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(n_rows, 0)
    ax.axis("off")
    colours = {"Conv1D": "#9ecae1", "Dense": "#fdae6b", "BatchNormalization": "#e5e5e5", "ReLU": "#e5e5e5",
               "InputLayer": "#c7e9c0"}
    centres: dict[str, tuple[float, int]] = {}
    for row, members in rows.items():
        width = 0.96 / len(members)
        for k, layer in enumerate(members):
            kind = type(layer).__name__
            shape = tuple(layer.output.shape[1:]) if not isinstance(layer, keras.layers.InputLayer) \
                else tuple(layer.batch_shape[1:])
            if len(members) > 1:  # a branch: half a row, two lines, no parameter count
                text = f"{layer.name}\n({kind})  {shape}"
            else:
                params = layer.count_params() if layer.built else 0
                text = f"{layer.name}  ({kind})   {shape}" + (f"   {params:,} params" if params else "")
            x0 = 0.02 + k * width
            ax.add_patch(plt.Rectangle((x0 + 0.005, row + 0.1), width - 0.01, 0.8,
                                       facecolor=colours.get(kind, "#f7f7f7"), edgecolor="black", linewidth=0.6))
            ax.text(x0 + width / 2, row + 0.5, text, ha="center", va="center",
                    fontsize=7, family="monospace")
            centres[layer.name] = (x0 + width / 2, row)
    for name, (x, row) in centres.items():
        for source in inbound.get(name, []):
            if source in centres:
                sx, srow = centres[source]
                ax.annotate("", xy=(x, row + 0.1), xytext=(sx, srow + 0.9),
                            arrowprops=dict(arrowstyle="->", linewidth=0.6))
    ax.set_title(f"{model.name}: {model.count_params():,} parameters, "
                 f"{count_flops(model) / 1e6:,.1f} MFLOP per strip", fontsize=9)
    return ax


__all__ = [
    "MODEL_KINDS", "PROFILE_LAYER", "build_model", "compile_model", "build_and_compile", "count_flops",
    "summary_text", "train_model", "save_model", "load_trained_model", "predict_proba", "inference_speed",
    "plot_learning_curves", "plot_architecture",
]
