"""On-device inference: run the anomaly model (a TFLite flatbuffer) with LiteRT.

Uses ``ai_edge_litert.interpreter.Interpreter``; falls back to
``tflite_runtime.interpreter.Interpreter`` where LiteRT is not importable. Never imports
TensorFlow (a test proves it). Model details: ``docs/model.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

try:
    from ai_edge_litert.interpreter import (  # type: ignore[import-untyped]
        Interpreter as _Interpreter,
    )
except ImportError:  # pragma: no cover - depends on the install
    try:
        from tflite_runtime.interpreter import (  # type: ignore[import-not-found, unused-ignore]
            Interpreter as _Interpreter,
        )
    except ImportError:
        _Interpreter = None


class ModelError(RuntimeError):
    """The model cannot be loaded or does not fit the feature contract."""


class ModelRunner:
    """A loaded anomaly model.

    Parameters
    ----------
    model : bytes, str or Path
        The TFLite flatbuffer, or a path to it.
    num_threads : int, optional
        Interpreter threads (default 1).

    Raises
    ------
    ModelError
        No interpreter is installed, the file is unreadable, the bytes are not a valid
        model, or its input/output shapes do not match ``FEATURE_NAMES`` / the six types.
    """

    def __init__(self, model: bytes | str | Path, num_threads: int = 1) -> None:
        if _Interpreter is None:
            raise ModelError("no TFLite interpreter: install ai-edge-litert (or tflite-runtime)")
        if isinstance(model, bytes | bytearray):
            content = bytes(model)
        else:
            try:
                content = Path(model).read_bytes()
            except OSError as exc:
                raise ModelError(f"cannot read model {model}: {exc}") from exc
        self.n_features = len(FEATURE_NAMES)
        try:
            self._interpreter: Any = _Interpreter(model_content=content, num_threads=num_threads)
            self._interpreter.allocate_tensors()
            inputs = self._interpreter.get_input_details()
            outputs = self._interpreter.get_output_details()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"invalid TFLite model: {exc}") from exc
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"expected 1 input and 1 output, got {len(inputs)} and {len(outputs)}")
        in_shape = tuple(int(v) for v in inputs[0]["shape"])
        out_shape = tuple(int(v) for v in outputs[0]["shape"])
        if len(in_shape) != 2 or in_shape[1] != self.n_features:
            raise ModelError(
                f"model input shape {in_shape} does not match the {self.n_features} features "
                "of the feature schema"
            )
        if len(out_shape) != 2 or out_shape[1] != len(ANOMALY_TYPES):
            raise ModelError(f"model output shape {out_shape}, expected (n, {len(ANOMALY_TYPES)})")
        if inputs[0]["dtype"] != np.float32:
            raise ModelError(f"model input dtype {inputs[0]['dtype']}, expected float32")
        self._in = int(inputs[0]["index"])
        self._out = int(outputs[0]["index"])
        self._batch = in_shape[0]
        self.model_bytes = len(content)

    def predict(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Scores ``float32 (n, 6)`` for features ``(n, F)`` or one window ``(F,)``.

        ``nan`` features are allowed (the model imputes them).

        Raises
        ------
        ValueError
            The input is not 1-D/2-D with ``len(FEATURE_NAMES)`` columns.
        """
        x = np.asarray(features, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"features must have shape (n, {self.n_features}) or ({self.n_features},), "
                f"got {np.shape(features)}"
            )
        n = x.shape[0]
        if n == 0:
            return np.empty((0, len(ANOMALY_TYPES)), dtype=np.float32)
        if n != self._batch:
            self._interpreter.resize_tensor_input(self._in, [n, self.n_features])
            self._interpreter.allocate_tensors()
            self._batch = n
        self._interpreter.set_tensor(self._in, np.ascontiguousarray(x))
        self._interpreter.invoke()
        out = self._interpreter.get_tensor(self._out)
        return np.array(out, dtype=np.float32)
