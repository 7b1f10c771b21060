"""Sim-to-real: train on synthetic strips only, test on real nnSIC strips.

Run from the repo root: ``.venv/bin/python benchmarks/bench_sim_to_real.py [--per-class 500] [--epochs 12]``.

The model is the book's compact model (``spectral_nb.model.build_model("compact")`` trained with
``train_model``) when ``spectral_nb/model.py`` exists; until then a small local Keras 1-D CNN of
the same kind (profile extraction inside the model). It trains on ``synthesis.generate_strips``
only and is chosen by a synthetic validation set only. The real strips
(``$SPECTRAL_NB_REALDATA/nnsic_dev.tfrecords``, 88 strips) are used once, at the end, to report
accuracy and the confusion matrix: they judge the generator, nothing else.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spectral_nb import CLASS_NAMES, NUM_CLASSES, STRIP_SHAPE, synthesis  # noqa: E402


def load_real(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    images, labels = [], []
    for record in tf.data.TFRecordDataset(str(path)):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        h, w = feature["height"].int64_list.value[0], feature["width"].int64_list.value[0]
        images.append(np.frombuffer(feature["image"].bytes_list.value[0], np.uint8).reshape(h, w, 3))
        labels.append(feature["label"].int64_list.value[0])
    return np.stack(images), np.array(labels)


def local_model():
    """Fallback while spectral_nb.model is not there: a compact 1-D CNN on the row-mean profile."""
    import keras
    from keras import layers

    inputs = keras.Input(STRIP_SHAPE, dtype="uint8")
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.AveragePooling2D(pool_size=(STRIP_SHAPE[0], 1))(x)  # mean over rows -> (1, 480, 3)
    x = layers.Reshape((STRIP_SHAPE[1], 3))(x)
    for filters, kernel in ((16, 7), (32, 5), (48, 5), (64, 3)):
        x = layers.Conv1D(filters, kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="local_compact")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(x_train, y_train, x_val, y_val, epochs: int, seed: int):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=seed).batch(64)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)
    if (Path(__file__).resolve().parents[1] / "spectral_nb" / "model.py").exists():
        from spectral_nb import model as book_model

        model = book_model.build_model("compact")
        with tempfile.TemporaryDirectory() as out_dir:
            book_model.train_model(model, train_ds, val_ds, epochs, out_dir)
        return model, "spectral_nb.model compact"
    model = local_model()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[stop], verbose=0)
    return model, "local fallback 1-D CNN (spectral_nb.model not there yet)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500, help="synthetic training strips per class")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    realdata = os.environ.get("SPECTRAL_NB_REALDATA")
    real_path = Path(realdata) / "nnsic_dev.tfrecords" if realdata else None
    if real_path is None or not real_path.exists():
        print("skipped: sim-to-real needs SPECTRAL_NB_REALDATA with nnsic_dev.tfrecords (the real data beside the project)")
        return
    start = time.perf_counter()
    x_train, y_train, _ = synthesis.generate_strips((args.per_class,) * NUM_CLASSES, seed=1000 + args.seed)
    x_val, y_val, _ = synthesis.generate_strips((max(20, args.per_class // 5),) * NUM_CLASSES, seed=2000 + args.seed)
    made = time.perf_counter() - start
    model, kind = train(x_train, y_train, x_val, y_val, args.epochs, args.seed)
    trained = time.perf_counter() - start - made
    val_acc = float((model.predict(x_val, verbose=0).argmax(1) == y_val).mean())
    x_real, y_real = load_real(real_path)  # used once, here, for the report
    pred = model.predict(x_real, verbose=0).argmax(1)
    acc = float((pred == y_real).mean())
    print(f"## Sim-to-real ({kind}; {len(x_train)} synthetic training strips, seed {args.seed}; "
          f"generated in {made:.0f} s, trained in {trained:.0f} s)")
    print(f"| synthetic validation accuracy | real nnSIC dev accuracy ({len(y_real)} strips) | target |")
    print("|---|---|---|")
    print(f"| {val_acc:.3f} | {acc:.3f} ({int((pred == y_real).sum())}/{len(y_real)}) | 0.958 |")
    print("\nConfusion matrix on the real strips (rows: true class, columns: predicted)")
    print("| true \\ predicted | " + " | ".join(CLASS_NAMES) + " | recall |")
    print("|---|" + "---|" * (NUM_CLASSES + 1))
    for t in range(NUM_CLASSES):
        row = [int(((y_real == t) & (pred == p)).sum()) for p in range(NUM_CLASSES)]
        recall = row[t] / max(1, sum(row))
        print(f"| {CLASS_NAMES[t]} | " + " | ".join(str(v) for v in row) + f" | {recall:.2f} |")


if __name__ == "__main__":
    main()
