"""wearable_core.model.runtime.ModelRunner on a model trained in the test; no TensorFlow
on the gateway."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.model.runtime import ModelError, ModelRunner

# Every test here trains or builds a Keras model (TensorFlow): `make unit` leaves them out.
pytestmark = pytest.mark.slow

F = len(FEATURE_NAMES)


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    from cloud_training.train import convert, model_train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, F)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    y = np.zeros((200, len(ANOMALY_TYPES)), dtype=np.float32)
    y[:, 0] = np.nan_to_num(x[:, 0]) > 1.0
    model, _, _ = model_train(x, y, seed=1, epochs=5)
    return convert(model, x, "dynamic")


def test_predict_shapes(model_bytes: bytes) -> None:
    runner = ModelRunner(model_bytes)
    x = np.zeros((7, F), dtype=np.float32)
    out = runner.predict(x)
    assert out.shape == (7, len(ANOMALY_TYPES)) and out.dtype == np.float32
    assert ((out >= 0) & (out <= 1)).all()
    one = runner.predict(x[0])
    assert one.shape == (1, len(ANOMALY_TYPES))
    np.testing.assert_allclose(one[0], out[0], rtol=1e-6)
    # Batch size changes back and forth; NaN features are fine.
    x[2, 3] = np.nan
    assert np.isfinite(runner.predict(x[:3])).all()
    assert runner.predict(np.empty((0, F), np.float32)).shape == (0, len(ANOMALY_TYPES))


def test_from_path(model_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(model_bytes)
    out = ModelRunner(path).predict(np.zeros(F, np.float32))
    np.testing.assert_array_equal(out, ModelRunner(model_bytes).predict(np.zeros(F)))


@pytest.mark.parametrize("shape", [(F + 1,), (3, F - 1), (2, 3, F)])
def test_rejects_wrong_width(model_bytes: bytes, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=f"\\(n, {F}\\)"):
        ModelRunner(model_bytes).predict(np.zeros(shape, np.float32))


def test_corrupt_model(model_bytes: bytes, tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        ModelRunner(b"not a model at all")
    with pytest.raises(ModelError):
        ModelRunner(model_bytes[: len(model_bytes) // 2])
    with pytest.raises(ModelError, match="cannot read"):
        ModelRunner(tmp_path / "missing.tflite")


def test_incompatible_model_width() -> None:
    # cloud_training first: it pins TensorFlow's CPU kernels and quiets it before import
    # (tests/cloud_training/test_tensorflow_env.py).
    from cloud_training.train import convert

    # isort: split
    import keras  # type: ignore[import-untyped]

    inputs = keras.Input(shape=(F - 2,))
    model = keras.Model(inputs, keras.layers.Dense(len(ANOMALY_TYPES))(inputs))
    with pytest.raises(ModelError, match="feature schema"):
        ModelRunner(convert(model, np.zeros((1, F - 2), np.float32), "float32"))


def test_gateway_never_imports_tensorflow(model_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(model_bytes)
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import wearable_core.model.runtime as inference
        runner = inference.ModelRunner({str(path)!r})
        out = runner.predict(np.zeros({F}, dtype=np.float32))
        assert out.shape == (1, 6), out.shape
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not leaked, leaked
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
