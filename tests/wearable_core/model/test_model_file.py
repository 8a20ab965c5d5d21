"""Loading a model with its manifest, and refusing one that does not fit the gateway."""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.config import DetectionConfig
from gateway.service import serving_model_load
from wearable_core.contracts.anomalies import AnomalyType
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION
from wearable_core.model.model_file import (
    manifest_parse,
    manifest_path,
    model_load,
)
from wearable_core.model.runtime import ModelError

_PACKAGE = resources.files("wearable_core").joinpath("models")
BASELINE_BYTES = _PACKAGE.joinpath("baseline.tflite").read_bytes()
BASELINE_MANIFEST: dict[str, Any] = json.loads(
    _PACKAGE.joinpath("baseline.json").read_text("utf-8")
)


def manifest(**changes: Any) -> dict[str, Any]:
    """A copy of the shipped manifest with ``changes`` (``None`` removes a field)."""
    document: dict[str, Any] = json.loads(json.dumps(BASELINE_MANIFEST))
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """The shipped model and manifest copied to ``tmp_path``."""
    path = tmp_path / "model.tflite"
    path.write_bytes(BASELINE_BYTES)
    manifest_path(path).write_text(json.dumps(BASELINE_MANIFEST), encoding="utf-8")
    return path


def test_the_shipped_baseline_loads() -> None:
    loaded = model_load(None)
    assert loaded.manifest.version == "baseline-3"
    assert loaded.manifest.sha256 == hashlib.sha256(BASELINE_BYTES).hexdigest()
    assert set(loaded.manifest.thresholds) == set(AnomalyType) and len(AnomalyType) == 6
    assert all(0.0 < t < 1.0 for t in loaded.manifest.thresholds.values())
    assert loaded.manifest.thresholds[AnomalyType.FEVER] == pytest.approx(
        BASELINE_MANIFEST["thresholds"]["fever"]
    )
    assert loaded.source == "wearable_core/models/baseline.tflite"
    vectors = np.zeros((2, len(FEATURE_NAMES)), dtype=np.float32)
    assert loaded.runner.predict(vectors).shape == (2, len(AnomalyType))


def test_a_copy_with_its_manifest_loads(model_copy: Path) -> None:
    loaded = model_load(model_copy)
    assert loaded.manifest == model_load(None).manifest
    assert loaded.source == str(model_copy)
    assert manifest_path(model_copy) == model_copy.with_name("model.json")


def test_corrupt_model_bytes_are_refused_by_the_sha256(model_copy: Path) -> None:
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256") as caught:
        model_load(model_copy)
    assert str(model_copy) in str(caught.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"feature_schema_version": FEATURE_SCHEMA_VERSION + 1}, "feature_schema_version"),
        ({"features": list(reversed(FEATURE_NAMES))}, "features"),
        ({"features": [*FEATURE_NAMES, "extra"]}, "features"),
        (
            {"outputs": ["af", "tachycardia", "bradycardia", "desaturation", "fever", "fall"]},
            "outputs",
        ),
        ({"outputs": ["tachycardia"]}, "outputs"),
        ({"window_s": 30}, "window_s"),
        ({"version": None}, "missing field 'version'"),
        ({"sha256": None}, "missing field 'sha256'"),
        ({"features": None}, "missing field 'features'"),
        ({"outputs": None}, "missing field 'outputs'"),
        ({"feature_schema_version": None}, "missing field 'feature_schema_version'"),
        ({"sha256": "0" * 64}, "sha256"),
        ({"thresholds": None}, "thresholds.tachycardia"),
        ({"thresholds": {**BASELINE_MANIFEST["thresholds"], "fever": 1.0}}, "thresholds.fever"),
        ({"thresholds": {**BASELINE_MANIFEST["thresholds"], "fall": 0.0}}, "thresholds.fall"),
        ({"thresholds": {**BASELINE_MANIFEST["thresholds"], "af": "0.2"}}, "thresholds.af"),
        ({"thresholds": {**BASELINE_MANIFEST["thresholds"], "af": -0.1}}, "thresholds.af"),
    ],
)
def test_a_manifest_that_does_not_fit_is_refused_naming_the_field(
    changes: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ModelError, match=r"^m\.json: ") as caught:
        manifest_parse(manifest(**changes), BASELINE_BYTES, "m.json")
    assert fragment in str(caught.value)


def test_the_unchanged_manifest_parses() -> None:
    parsed = manifest_parse(manifest(), BASELINE_BYTES)
    assert parsed.version == BASELINE_MANIFEST["version"]
    assert {k.value: v for k, v in parsed.thresholds.items()} == BASELINE_MANIFEST["thresholds"]


def test_a_manifest_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ModelError, match="JSON object"):
        manifest_parse([1, 2], BASELINE_BYTES)


def test_a_wrong_manifest_file_is_refused_by_model_load(model_copy: Path) -> None:
    manifest_path(model_copy).write_text(
        json.dumps(manifest(feature_schema_version=99)), encoding="utf-8"
    )
    with pytest.raises(ModelError, match="feature_schema_version 99"):
        model_load(model_copy)
    manifest_path(model_copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        model_load(model_copy)


def test_a_missing_manifest_or_model_is_refused(model_copy: Path, tmp_path: Path) -> None:
    manifest_path(model_copy).unlink()
    with pytest.raises(ModelError, match="cannot read model") as caught:
        model_load(model_copy)
    assert "model.json" in str(caught.value)
    with pytest.raises(ModelError, match="cannot read model"):
        model_load(tmp_path / "absent.tflite")


def test_a_refused_configured_model_falls_back_to_the_baseline(
    model_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(model_copy.read_bytes())
    data[100] ^= 0x01
    model_copy.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="gateway.service"):
        loaded = serving_model_load(DetectionConfig(model=model_copy))
    assert loaded is not None
    assert loaded.source == "wearable_core/models/baseline.tflite"
    assert loaded.manifest.version == "baseline-3"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "model refused" in record.getMessage()
    assert record.__dict__["model"] == str(model_copy)
    assert "sha256" in record.__dict__["error"]


def test_a_good_configured_model_is_served(
    model_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        loaded = serving_model_load(DetectionConfig(model=model_copy))
    assert loaded is not None and loaded.source == str(model_copy)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    default = serving_model_load(DetectionConfig())
    assert default is not None and default.source == "wearable_core/models/baseline.tflite"
