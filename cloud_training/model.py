"""The anomaly model: NaN-safe preprocessing baked in, then a small multi-label MLP.

``features (n, F) float32 (nan allowed) -> impute nan with the training mean -> standardise
-> Dense 32 relu -> Dense 16 relu -> Dense 6 sigmoid`` (one probability per anomaly type,
``cloud_training.dataset.ANOMALY_TYPES`` order). The preprocessing uses TFLite builtin ops
only (``NOT_EQUAL``, ``SELECT_V2``, ``SUB``, ``MUL``), so the converted model takes raw
gateway features and needs no TensorFlow fallback ops.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import keras  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import tensorflow as tf  # type: ignore[import-untyped]

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

HIDDEN = (32, 16)


class ImputeStandardise(keras.layers.Layer):  # type: ignore[misc]
    """``x -> (where(isnan(x), mean, x) - mean) / std`` with constants fixed at build time.

    NaN is detected as ``x != x`` (TFLite ``NOT_EQUAL``): ``tf.math.is_nan`` has no TFLite
    builtin kernel.
    """

    def __init__(self, mean: Any, std: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean_values = np.asarray(mean, dtype=np.float32)
        self.inv_std_values = (1.0 / np.asarray(std, dtype=np.float32)).astype(np.float32)

    def call(self, x: Any) -> Any:
        mean = tf.constant(self.mean_values)
        inv_std = tf.constant(self.inv_std_values)
        filled = tf.where(tf.math.not_equal(x, x), mean, x)
        return (filled - mean) * inv_std

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(mean=self.mean_values.tolist(), std=(1.0 / self.inv_std_values).tolist())
        return config


def preprocessing_stats(
    X: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """NaN-ignoring per-feature mean and standard deviation (std 1 where constant/empty)."""
    finite = np.isfinite(X)
    count = finite.sum(axis=0)
    safe = np.where(finite, X, 0.0).astype(np.float64)
    mean = np.divide(safe.sum(axis=0), count, out=np.zeros(X.shape[1]), where=count > 0)
    dev = np.where(finite, X - mean, 0.0)
    var = np.divide((dev**2).sum(axis=0), count, out=np.zeros(X.shape[1]), where=count > 0)
    std = np.sqrt(var)
    std = np.where(std > 1e-6, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def model_build(X_train: npt.NDArray[np.float32], seed: int) -> Any:
    """The Keras model with preprocessing constants from ``X_train``; seeds Keras first."""
    keras.utils.set_random_seed(seed)
    mean, std = preprocessing_stats(X_train)
    inputs = keras.Input(shape=(len(FEATURE_NAMES),), dtype="float32", name="features")
    x = ImputeStandardise(mean, std, name="impute_standardise")(inputs)
    for i, units in enumerate(HIDDEN):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = keras.layers.Dense(len(ANOMALY_TYPES), activation="sigmoid", name="scores")(x)
    return keras.Model(inputs, outputs, name="anomaly_mlp")
