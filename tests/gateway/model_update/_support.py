"""Helpers for the model delivery tests: the shipped model as a release, bucket wrappers."""

from __future__ import annotations

import builtins
import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wearable_core.buckets.base import Bucket, Created, ObjectInfo
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    RollbackStatement,
    canary_encode,
    manifest_encode,
    manifest_object,
    manifest_sign,
    model_object,
    pointer_for,
    pointer_parse,
    pointer_sign,
    sha256_hex,
    signature_object,
)
from wearable_core.model.runtime import ModelRunner

_PACKAGE = resources.files("wearable_core").joinpath("models")
BASELINE_BYTES = _PACKAGE.joinpath("baseline.tflite").read_bytes()
BASELINE_MANIFEST: dict[str, Any] = json.loads(
    _PACKAGE.joinpath("baseline.json").read_text("utf-8")
)
#: The fixed "now" of the pointer tests: pointers expire 30 days after it.
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CANARY_INPUTS = (
    np.random.default_rng(7).normal(50.0, 30.0, (8, len(FEATURE_NAMES))).astype(np.float32)
)


def manifest_for(
    version: str, model_bytes: bytes = BASELINE_BYTES, **changes: Any
) -> dict[str, Any]:
    """The shipped manifest as release ``version`` of ``model_bytes`` (with a canary)."""
    document: dict[str, Any] = json.loads(json.dumps(BASELINE_MANIFEST))
    document["version"] = version
    document["sha256"] = sha256_hex(model_bytes)
    document["bytes"] = len(model_bytes)
    document["canary"] = baseline_canary()
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


def baseline_canary(inputs: Any = CANARY_INPUTS) -> dict[str, Any]:
    """The canary block the baseline model gives on ``inputs``."""
    return canary_encode(inputs, ModelRunner(BASELINE_BYTES).predict(inputs))


def publish_raw(
    bucket: Bucket,
    version: str,
    manifest: dict[str, Any] | bytes,
    key: Ed25519PrivateKey | None,
    model_bytes: bytes = BASELINE_BYTES,
    *,
    pointer_key: Ed25519PrivateKey | None = None,
) -> bytes:
    """Write a release bypassing every publisher check (to build bad releases).

    ``key=None`` leaves the manifest unsigned; the pointer is signed with ``pointer_key``
    (default ``key``). Returns the manifest bytes.
    """
    raw = manifest if isinstance(manifest, bytes) else manifest_encode(manifest)
    bucket.create(model_object(version), model_bytes)
    bucket.create(manifest_object(version), raw)
    if key is not None:
        bucket.create(signature_object(version), manifest_sign(raw, key))
    signer = pointer_key or key
    assert signer is not None, "a gateway only follows a signed pointer: pass pointer_key"
    pointer_write(bucket, version, raw, signer)
    return raw


def pointer_write(
    bucket: Bucket,
    version: str,
    manifest_bytes: bytes,
    key: Ed25519PrivateKey,
    *,
    counter: int | None = None,
    expires: datetime | None = None,
    rollback: RollbackStatement | None = None,
) -> bytes:
    """Sign and write a pointer to ``version`` like a publisher (next counter, history),
    with any field overridden; returns the bytes written."""
    info = bucket.stat(POINTER_NAME)
    current = pointer_parse(bucket.read(POINTER_NAME)[0]) if info else None
    history = (current.version, *current.history) if current else ()
    pointer = pointer_for(
        version,
        manifest_bytes,
        tuple(v for v in history if v != version),
        counter=counter if counter is not None else (current.counter if current else 0) + 1,
        expires=expires or NOW + timedelta(days=30),
        rollback=rollback,
    )
    raw = pointer_sign(pointer, key)
    bucket.replace(POINTER_NAME, raw, if_generation=info.generation if info else 0)
    return raw


class RecordingBucket:
    """Delegates to ``inner`` and records every call as ``(method, name)``."""

    def __init__(self, inner: Bucket) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return self.inner.url

    def create(self, name: str, data: bytes) -> Created:
        self.calls.append(("create", name))
        return self.inner.create(name, data)

    def read(self, name: str) -> tuple[bytes, int]:
        self.calls.append(("read", name))
        return self.inner.read(name)

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        self.calls.append(("replace", name))
        return self.inner.replace(name, data, if_generation=if_generation)

    def stat(self, name: str) -> ObjectInfo | None:
        self.calls.append(("stat", name))
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        self.calls.append(("list", prefix))
        return self.inner.list(prefix)

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        self.calls.append(("delete", name))
        self.inner.delete(name, if_generation=if_generation)

    def reads(self) -> builtins.list[str]:
        """Names read, in order."""
        return [name for method, name in self.calls if method == "read"]
