"""The shipped baseline model is reproducible bit for bit by its documented command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wearable.baseline import MANIFEST_FILE, MODEL_FILE, MODELS_DIR
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION
from wearable_core.model.runtime import ModelRunner

pytestmark = pytest.mark.integration


def test_the_documented_command_rebuilds_the_shipped_bytes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wearable.baseline", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / MODEL_FILE).read_bytes() == (MODELS_DIR / MODEL_FILE).read_bytes()
    assert (tmp_path / MANIFEST_FILE).read_text() == (MODELS_DIR / MANIFEST_FILE).read_text()


def test_the_shipped_model_matches_its_manifest_and_runs_on_the_gateway() -> None:
    manifest = json.loads((MODELS_DIR / MANIFEST_FILE).read_text())
    model = (MODELS_DIR / MODEL_FILE).read_bytes()
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(model).hexdigest()
    assert manifest["feature_schema_version"] == FEATURE_SCHEMA_VERSION
    assert manifest["features"] == list(FEATURE_NAMES)
    assert manifest["outputs"] == list(ANOMALY_TYPES)
    assert len(model) <= 32 * 1024
    assert manifest["parity"]["decision_agreement"] >= 0.995
    runner = ModelRunner(model)
    scores = runner.predict(np.zeros((3, len(FEATURE_NAMES)), dtype=np.float32))
    assert scores.shape == (3, len(ANOMALY_TYPES))
    assert np.all((scores >= 0) & (scores <= 1))
