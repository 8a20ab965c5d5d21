"""Per-window inference latency of the shipped model: LiteRT vs Keras vs tf.function.

One window at a time (batch 1, one thread), as the gateway runs it. The same inputs go
through the LiteRT interpreter (what the gateway uses), the Keras model's ``predict``
and a ``tf.function`` of a Keras model, all in this process, so the ratios are measured
against baselines in the same run. The Keras model has the shipped model's architecture
and preprocessing, built untrained (its weights do not change the cost of a pass).

Usage::

    python benchmarks/bench_inference.py --windows 2000

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from wearable.baseline import MODEL_FILE, MODELS_DIR
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.model.runtime import ModelRunner


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    us = np.array(samples_s) * 1e6
    return {
        "p50_us": round(float(np.percentile(us, 50)), 2),
        "p99_us": round(float(np.percentile(us, 99)), 2),
    }


def _time_each(fn: Any, rows: np.ndarray) -> list[float]:
    out = []
    for row in rows:
        t0 = time.perf_counter()
        fn(row[None, :])
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--keras-windows", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.windows, len(FEATURE_NAMES))).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    model_path = Path(MODELS_DIR) / MODEL_FILE
    runner = ModelRunner(model_path.read_bytes(), num_threads=1)
    runner.predict(X[:1])
    litert = _time_each(runner.predict, X)

    # cloud_training first: it pins TensorFlow's CPU kernels (oneDNN off) before import,
    # so the Keras timings are of the kernels the training job runs.
    from cloud_training.model import model_build

    # isort: split
    import tensorflow as tf

    keras_model = model_build(X, seed=0)  # same architecture and size; weights irrelevant
    keras_model.predict(X[:1], verbose=0)
    keras = _time_each(lambda x: keras_model.predict(x, verbose=0), X[: args.keras_windows])
    graph = tf.function(lambda x: keras_model(x, training=False))
    graph(tf.constant(X[:1]))
    function = _time_each(lambda x: graph(tf.constant(x)).numpy(), X)
    result = {
        "benchmark": "inference_per_window",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "model_bytes": model_path.stat().st_size,
        "litert": _percentiles(litert),
        "keras_predict": _percentiles(keras),
        "tf_function": _percentiles(function),
    }
    result["ratio_keras_to_litert_p50"] = round(
        result["keras_predict"]["p50_us"] / result["litert"]["p50_us"], 1
    )
    result["ratio_tf_function_to_litert_p50"] = round(
        result["tf_function"]["p50_us"] / result["litert"]["p50_us"], 1
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
