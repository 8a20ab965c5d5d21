"""Fixtures for the model delivery tests: a local bucket, a model directory, keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.model_update.installed import ModelDirectory
from wearable_core.buckets import bucket_open

from ._support import RecordingBucket


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def bucket(tmp_path: Path) -> RecordingBucket:
    return RecordingBucket(bucket_open(str(tmp_path / "bucket")))


@pytest.fixture
def directory(tmp_path: Path) -> ModelDirectory:
    return ModelDirectory(tmp_path / "models")
