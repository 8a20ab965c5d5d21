"""Train the anomaly model, calibrate per-type thresholds, convert to TFLite, check parity.

Conversion uses ``tf.lite.TFLiteConverter.from_keras_model`` restricted to TFLite builtin
ops (no TensorFlow fallback ops); every converted model is *run* in the LiteRT interpreter
and compared with Keras (:func:`parity`), because a converter can report success and still
produce a wrong model.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import keras  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import tensorflow as tf  # type: ignore[import-untyped]
from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-untyped]

from cloud_training.model import model_build
from wearable_core.contracts.anomalies import ANOMALY_TYPES

logging.getLogger("tensorflow").setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)

ConvertMode = Literal["float32", "dynamic", "int8"]
#: Target false-positive rate per window and type used for threshold calibration.
TARGET_FPR = 0.01
#: Thresholds are never set below this: keeps decisions away from the sigmoid's flat tail,
#: where quantisation noise would flip them.
MIN_THRESHOLD = 0.2
MAX_THRESHOLD = 0.95


@dataclass(frozen=True)
class TypeMetrics:
    """Validation metrics of one anomaly type at its calibrated threshold."""

    threshold: float
    positives: int
    recall: float
    fpr: float


@dataclass(frozen=True)
class Parity:
    """Keras vs converted-model agreement on the same windows."""

    decision_agreement: float  # over all (window, type) decisions
    window_agreement: float  # windows whose 6 decisions all agree
    max_abs_diff: float  # largest score difference


def indices_split(
    n: int, fraction: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A seeded random split of ``range(n)`` into (rest, held-out ``fraction``)."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * fraction))
    return np.sort(order[k:]), np.sort(order[:k])


def _weighted_bce(pos_weight: npt.NDArray[np.float32]) -> Any:
    w = tf.constant(pos_weight)

    def loss(y_true: Any, y_pred: Any) -> Any:
        p = tf.clip_by_value(y_pred, 1e-7, 1.0 - 1e-7)
        per = -(w * y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
        return tf.reduce_mean(per, axis=-1)

    return loss


def thresholds_calibrate(
    scores: npt.NDArray[np.float32], Y: npt.NDArray[np.float32], target_fpr: float = TARGET_FPR
) -> npt.NDArray[np.float32]:
    """Per type: the lowest threshold whose false-positive rate on ``Y == 0`` is ≤ target.

    Clipped to ``[MIN_THRESHOLD, MAX_THRESHOLD]``.
    """
    out = np.empty(Y.shape[1], dtype=np.float32)
    for j in range(Y.shape[1]):
        neg = np.sort(scores[Y[:, j] == 0, j])
        if neg.size == 0:
            out[j] = 0.5
            continue
        allowed = int(np.floor(target_fpr * neg.size))  # negatives allowed at/above
        top = float(neg[neg.size - 1 - allowed]) if allowed < neg.size else 0.0
        # Midway to the next higher validation score, so no validation window sits on the
        # threshold (a tie would flip on float rounding between Keras and TFLite).
        above = scores[:, j][scores[:, j] > top]
        t = (top + float(above.min())) / 2.0 if above.size else (top + 1.0) / 2.0
        out[j] = np.float32(np.clip(t, MIN_THRESHOLD, MAX_THRESHOLD))
    return out


def evaluate(
    scores: npt.NDArray[np.float32], Y: npt.NDArray[np.float32], thresholds: npt.NDArray[np.float32]
) -> dict[str, TypeMetrics]:
    """Window-level recall and false-positive rate per type."""
    decided = scores >= thresholds
    result: dict[str, TypeMetrics] = {}
    for j, name in enumerate(ANOMALY_TYPES):
        pos = Y[:, j] == 1
        neg = ~pos
        result[name] = TypeMetrics(
            threshold=float(thresholds[j]),
            positives=int(pos.sum()),
            recall=float(decided[pos, j].mean()) if pos.any() else float("nan"),
            fpr=float(decided[neg, j].mean()) if neg.any() else float("nan"),
        )
    return result


def keras_scores(model: Any, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The Keras model's scores (one graph call, no ``predict`` overhead)."""
    return np.asarray(model(np.asarray(X, np.float32), training=False), dtype=np.float32)


def model_train(
    X: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    seed: int,
    epochs: int = 150,
    val_fraction: float = 0.25,
    batch_size: int = 32,
) -> tuple[Any, npt.NDArray[np.float32], dict[str, TypeMetrics]]:
    """Fit on a seeded split, calibrate thresholds on the rest.

    Returns ``(model, thresholds (6,), validation metrics per type)``. The same inputs and
    seed give bit-identical weights.
    """
    fit_idx, val_idx = indices_split(len(X), val_fraction, seed)
    Xf, Yf = X[fit_idx], Y[fit_idx].astype(np.float32)
    model = model_build(Xf, seed)  # seeds Keras, numpy and TF
    positives = Yf.sum(axis=0)
    pos_weight = np.clip((len(Yf) - positives) / np.maximum(positives, 1.0), 1.0, 20.0)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=_weighted_bce(pos_weight.astype(np.float32)),
        steps_per_execution=16,
    )
    ds = (
        tf.data.Dataset.from_tensor_slices((Xf, Yf))
        .shuffle(len(Xf), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .repeat(epochs)
    )
    # One Keras "epoch" over the repeated data: per-epoch overhead dominates tiny data sets.
    model.fit(ds, epochs=1, verbose=0, shuffle=False)
    val_scores = keras_scores(model, X[val_idx])
    thresholds = thresholds_calibrate(val_scores, Y[val_idx])
    return model, thresholds, evaluate(val_scores, Y[val_idx], thresholds)


def convert(model: Any, X_rep: npt.NDArray[np.float32], mode: ConvertMode = "dynamic") -> bytes:
    """Convert to a TFLite flatbuffer with builtin ops only.

    ``float32``: no optimisation. ``dynamic``: ``Optimize.DEFAULT`` without representative
    data (int8 weights, float activations). ``int8``: full integer quantisation calibrated on
    ``X_rep`` (float input/output kept; NaN is replaced by the column mean in the calibration data,
    since the quantiser cannot range NaN).
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        rep = np.asarray(X_rep, np.float32)
        rep = np.where(np.isnan(rep), np.nanmean(rep, axis=0), rep).astype(np.float32)

        def representative() -> Iterator[list[npt.NDArray[np.float32]]]:
            for row in rep:
                yield [row[None, :]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif mode != "float32":
        raise ValueError(f"unknown conversion mode {mode!r}")
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the exported signature
        flat: bytes = converter.convert()
    return flat


def tflite_scores(tflite_bytes: bytes, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Run a converted model on ``X`` in the LiteRT interpreter."""
    interpreter = Interpreter(model_content=tflite_bytes, num_threads=1)
    inp = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(inp, list(X.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp, np.ascontiguousarray(X, dtype=np.float32))
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    return np.array(out, dtype=np.float32)


def parity(
    model: Any,
    tflite_bytes: bytes,
    X: npt.NDArray[np.float32],
    thresholds: npt.NDArray[np.float32],
) -> Parity:
    """Keras vs TFLite (LiteRT interpreter) decisions at ``thresholds`` on ``X``."""
    k = keras_scores(model, X)
    t = tflite_scores(tflite_bytes, X)
    dk, dt = k >= thresholds, t >= thresholds
    return Parity(
        decision_agreement=float((dk == dt).mean()),
        window_agreement=float((dk == dt).all(axis=1).mean()),
        max_abs_diff=float(np.nanmax(np.abs(k - t))) if not np.isnan(t).all() else float("inf"),
    )
