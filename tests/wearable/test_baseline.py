"""The shipped baseline model is rebuilt by its documented command: the same recipe and an
equivalent model on any x86-64 CPU, the same bytes on the CPU that built it."""

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

ROOT = Path(__file__).resolve().parents[2]


#: Manifest fields that follow the trained weights; everything else is the recipe.
WEIGHT_FIELDS = ("sha256", "validation", "parity", "thresholds")
#: Decision agreement the rebuild keeps with the shipped model on every type, on a CPU
#: other than the one that built it (measured on an AMD EPYC, 2026-12-07: 0.975 for fever,
#: 0.994-0.9995 for the others, docs/model.md).
MIN_AGREEMENT = 0.95


def test_the_documented_command_rebuilds_the_shipped_model(tmp_path: Path) -> None:
    # On the CPU that built it the bytes are identical. On another x86-64 CPU TensorFlow's
    # kernels round differently and the seeded training ends elsewhere (docs/model.md,
    # "Same seed, same bytes"): what holds everywhere is the same recipe and an
    # equivalent model, checked here; the same bytes on one machine are checked by
    # tests/cloud_training/test_train.py (in one process and across processes).
    result = subprocess.run(
        [sys.executable, "-m", "wearable.baseline", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rebuilt = json.loads((tmp_path / MANIFEST_FILE).read_text())
    shipped = json.loads((MODELS_DIR / MANIFEST_FILE).read_text())
    recipe = {k: v for k, v in rebuilt.items() if k not in WEIGHT_FIELDS}
    assert recipe == {k: v for k, v in shipped.items() if k not in WEIGHT_FIELDS}
    for name in ANOMALY_TYPES:
        assert rebuilt["thresholds"][name] == pytest.approx(shipped["thresholds"][name], abs=0.05)
    if (tmp_path / MODEL_FILE).read_bytes() == (MODELS_DIR / MODEL_FILE).read_bytes():
        return  # the same bytes: nothing more to compare
    [cohort] = (ROOT / "examples" / "demo" / "cohorts" / "validation").glob("*.npz")
    with np.load(cohort) as data:
        X = data["X"].astype(np.float32)
    decisions = {}
    for label, directory, manifest in (
        ("rebuilt", tmp_path, rebuilt),
        ("shipped", MODELS_DIR, shipped),
    ):
        scores = ModelRunner((directory / MODEL_FILE).read_bytes()).predict(X)
        levels = np.array([manifest["thresholds"][t] for t in ANOMALY_TYPES], dtype=np.float32)
        decisions[label] = scores >= levels
    agreement = (decisions["rebuilt"] == decisions["shipped"]).mean(axis=0)
    assert agreement.min() >= MIN_AGREEMENT, dict(
        zip(ANOMALY_TYPES, agreement.round(4), strict=True)
    )


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
