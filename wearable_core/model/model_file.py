"""Load an anomaly model and its manifest, and refuse one that does not fit.

A model is two files: the TFLite flatbuffer and a JSON manifest beside it (same name,
``.json``; format in ``docs/formats/model_manifest.md``). The manifest names the feature
schema, the output order and the per-type decision thresholds calibrated in training;
the gateway checks all of them, and the flatbuffer's SHA-256, before it serves a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from wearable_core.contracts.anomalies import ANOMALY_TYPES, AnomalyType
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION, WINDOW_S
from wearable_core.model.runtime import ModelError, ModelRunner

#: The model that ships with the gateway (package data in ``wearable_core/models``).
BASELINE_MODEL = "baseline.tflite"


@dataclass(frozen=True)
class ModelManifest:
    """What the gateway needs to know about a model (the rest is for people)."""

    version: str
    sha256: str
    thresholds: dict[AnomalyType, float]


@dataclass(frozen=True)
class LoadedModel:
    """A runner that passed every check, with its manifest."""

    runner: ModelRunner
    manifest: ModelManifest
    source: str


def manifest_path(model_path: Path) -> Path:
    """The manifest that belongs to ``model_path`` (``model.tflite`` -> ``model.json``)."""
    return model_path.with_suffix(".json")


def manifest_parse(document: Any, model_bytes: bytes, source: str = "manifest") -> ModelManifest:
    """Validate a manifest against the feature contract and the model's bytes.

    Raises
    ------
    ModelError
        Naming the field that does not match and what the gateway expects.

    Examples
    --------
    >>> manifest_parse({}, b"")
    Traceback (most recent call last):
    ...
    wearable_core.model.runtime.ModelError: manifest: missing field 'version'
    """
    if not isinstance(document, dict):
        raise ModelError(f"{source}: must be a JSON object")
    for key in ("version", "sha256", "feature_schema_version", "features", "outputs"):
        if key not in document:
            raise ModelError(f"{source}: missing field {key!r}")
    if document["feature_schema_version"] != FEATURE_SCHEMA_VERSION:
        raise ModelError(
            f"{source}: feature_schema_version {document['feature_schema_version']!r}, this "
            f"gateway computes version {FEATURE_SCHEMA_VERSION}: retrain on the current schema"
        )
    if list(document["features"]) != list(FEATURE_NAMES):
        raise ModelError(f"{source}: features differ from the gateway's feature list")
    if list(document["outputs"]) != list(ANOMALY_TYPES):
        raise ModelError(
            f"{source}: outputs {document['outputs']!r}, expected {list(ANOMALY_TYPES)}"
        )
    if int(document.get("window_s", WINDOW_S)) != WINDOW_S:
        raise ModelError(f"{source}: window_s {document['window_s']}, expected {WINDOW_S}")
    digest = hashlib.sha256(model_bytes).hexdigest()
    if document["sha256"] != digest:
        raise ModelError(
            f"{source}: sha256 {document['sha256']} does not match the model file ({digest}): "
            "the model or its manifest is corrupt or they do not belong together"
        )
    raw = document.get("thresholds", {})
    thresholds: dict[AnomalyType, float] = {}
    for kind in AnomalyType:
        value = raw.get(kind.value)
        if not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
            raise ModelError(f"{source}: thresholds.{kind.value} must be a number in (0, 1)")
        thresholds[kind] = float(value)
    return ModelManifest(str(document["version"]), digest, thresholds)


def model_load(path: Path | None = None, num_threads: int = 1) -> LoadedModel:
    """Load and check a model and its manifest; ``None`` loads the shipped baseline.

    Raises
    ------
    ModelError
        The file or manifest cannot be read, or any check fails.
    """
    if path is None:
        package = resources.files("wearable_core").joinpath("models")
        model_bytes = package.joinpath(BASELINE_MODEL).read_bytes()
        text = package.joinpath(BASELINE_MODEL.replace(".tflite", ".json")).read_text("utf-8")
        source = f"wearable_core/models/{BASELINE_MODEL}"
    else:
        try:
            model_bytes = path.read_bytes()
            text = manifest_path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelError(
                f"cannot read model {path} or its manifest {manifest_path(path)}: {exc}"
            ) from exc
        source = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{source}: the manifest is not valid JSON: {exc}") from exc
    manifest = manifest_parse(document, model_bytes, f"{source} manifest")
    runner = ModelRunner(model_bytes, num_threads=num_threads)
    return LoadedModel(runner, manifest, source)
