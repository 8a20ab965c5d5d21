"""Publishing signed model releases: write order, contents, CAS on the pointer, rollback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_training.publish import (
    PointerConflict,
    PublishError,
    canary_inputs_default,
    release_publish,
    release_refresh,
    release_rollback,
)
from tests.support.fault_proxy import FaultProxy
from wearable.cli import main as wearable_main
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket, Created, ObjectConflict, ObjectInfo
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    RollbackStatement,
    canary_compare,
    canary_parse,
    keypair_generate,
    manifest_object,
    manifest_verify,
    model_object,
    pointer_parse,
    pointer_verify,
    private_key_parse,
    public_key_parse,
    sha256_hex,
    signature_object,
)
from wearable_core.model.runtime import ModelRunner

_PACKAGE = resources.files("wearable_core").joinpath("models")
MODEL = _PACKAGE.joinpath("baseline.tflite").read_bytes()
MANIFEST: dict[str, Any] = json.loads(_PACKAGE.joinpath("baseline.json").read_text("utf-8"))
KEY = Ed25519PrivateKey.generate()
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def manifest(version: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(MANIFEST))
    document.update(version=version, training_data={"from": "2026-01-01", "to": "2026-11-01"})
    document.update(changes)
    return document


class Recorder:
    """Delegates to a bucket, records writes; ``before_create`` runs before each create."""

    def __init__(self, inner: Bucket) -> None:
        self.inner = inner
        self.writes: list[tuple[str, str]] = []
        self.before_create: Any = None

    @property
    def url(self) -> str:
        return self.inner.url

    def create(self, name: str, data: bytes) -> Created:
        if self.before_create is not None:
            hook, self.before_create = self.before_create, None
            hook()
        self.writes.append(("create", name))
        return self.inner.create(name, data)

    def read(self, name: str) -> tuple[bytes, int]:
        return self.inner.read(name)

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        self.writes.append(("replace", name))
        return self.inner.replace(name, data, if_generation=if_generation)

    def stat(self, name: str) -> ObjectInfo | None:
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        self.writes.append(("delete", name))
        self.inner.delete(name, if_generation=if_generation)


@pytest.fixture
def bucket(tmp_path: Path) -> Recorder:
    return Recorder(bucket_open(str(tmp_path / "bucket")))


def test_writes_immutable_objects_first_and_the_pointer_last(bucket: Recorder) -> None:
    assert release_publish(bucket, MODEL, manifest("v2"), KEY) == "v2"
    assert bucket.writes == [
        ("create", model_object("v2")),
        ("create", manifest_object("v2")),
        ("create", signature_object("v2")),
        ("replace", POINTER_NAME),
    ]


def test_release_contents(bucket: Recorder) -> None:
    release_publish(bucket, MODEL, manifest("v2"), KEY)
    raw, _ = bucket.read(manifest_object("v2"))
    signature, _ = bucket.read(signature_object("v2"))
    manifest_verify(raw, signature, KEY.public_key())
    document = json.loads(raw)
    assert raw == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["sha256"] == sha256_hex(MODEL) and document["bytes"] == len(MODEL)
    assert document["training_data"] == {"from": "2026-01-01", "to": "2026-11-01"}
    canary = canary_parse(document["canary"])
    assert canary.inputs.shape == (16, len(FEATURE_NAMES))
    canary_compare(canary, ModelRunner(MODEL).predict(canary.inputs))
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert pointer.version == "v2"
    assert pointer.manifest == manifest_object("v2")
    assert pointer.manifest_sha256 == sha256_hex(raw)
    assert len(bucket.read(POINTER_NAME)[0]) < 1024


def test_republishing_the_same_release_is_idempotent(bucket: Recorder) -> None:
    release_publish(bucket, MODEL, manifest("v2"), KEY)
    generation = bucket.read(POINTER_NAME)[1]
    release_publish(bucket, MODEL, manifest("v2"), KEY)
    assert bucket.read(POINTER_NAME)[1] == generation


def test_a_version_is_immutable(bucket: Recorder) -> None:
    release_publish(bucket, MODEL, manifest("v2"), KEY)
    with pytest.raises(ObjectConflict):
        release_publish(
            bucket,
            MODEL,
            manifest("v2", thresholds=dict.fromkeys(MANIFEST["thresholds"], 0.5)),
            KEY,
        )
    assert pointer_parse(bucket.read(POINTER_NAME)[0]).version == "v2"


def test_pointer_conflict_between_two_publishers(tmp_path: Path, bucket: Recorder) -> None:
    release_publish(bucket, MODEL, manifest("v1"), KEY)
    other = bucket_open(str(tmp_path / "bucket"))
    # Publisher B finishes while publisher A is uploading its model.
    bucket.before_create = lambda: release_publish(other, MODEL, manifest("v3"), KEY)
    with pytest.raises(PointerConflict, match=r"another publisher moved models/current\.json"):
        release_publish(bucket, MODEL, manifest("v2"), KEY)
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert pointer.version == "v3" and pointer.history == ("v1",)
    # A's objects are complete (a re-run can make them current), just not current.
    assert bucket.stat(signature_object("v2")) is not None


def test_incompatible_manifest_is_not_published(bucket: Recorder) -> None:
    with pytest.raises(PublishError, match="feature_schema_version 99"):
        release_publish(bucket, MODEL, manifest("v2", feature_schema_version=99), KEY)
    with pytest.raises(PublishError, match="safe path segment"):
        release_publish(bucket, MODEL, manifest("a/b"), KEY)
    assert bucket.writes == []


def test_canary_that_overflows_is_not_published(bucket: Recorder) -> None:
    with pytest.raises(PublishError, match="NaN"):
        release_publish(
            bucket, MODEL, manifest("v2"), KEY, canary_inputs=np.full((2, len(FEATURE_NAMES)), 1e38)
        )
    assert bucket.writes == []


def test_history_and_rollback(bucket: Recorder) -> None:
    for version in ("v1", "v2", "v3"):
        release_publish(bucket, MODEL, manifest(version), KEY)
    assert pointer_parse(bucket.read(POINTER_NAME)[0]).history == ("v2", "v1")

    assert release_rollback(bucket, KEY) == "v2"
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert (pointer.version, pointer.history) == ("v2", ("v1",))
    raw, _ = bucket.read(manifest_object("v2"))
    assert pointer.manifest_sha256 == sha256_hex(raw)

    assert release_rollback(bucket, KEY, to_version="v3") == "v3"
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert (pointer.version, pointer.history) == ("v3", ("v2", "v1"))

    assert release_rollback(bucket, KEY) == "v2"
    assert release_rollback(bucket, KEY) == "v1"
    with pytest.raises(PublishError, match="no earlier release"):
        release_rollback(bucket, KEY)


def test_rollback_refuses_missing_or_badly_signed_targets(bucket: Recorder) -> None:
    with pytest.raises(PublishError, match="nothing was published"):
        release_rollback(bucket, KEY)
    release_publish(bucket, MODEL, manifest("v1"), KEY)
    with pytest.raises(PublishError, match="no manifest"):
        release_rollback(bucket, KEY, to_version="v0")
    with pytest.raises(PublishError, match="does not verify"):
        release_rollback(bucket, Ed25519PrivateKey.generate(), to_version="v1")


def test_default_canary_inputs_are_deterministic_and_plausible() -> None:
    first, second = canary_inputs_default(), canary_inputs_default()
    assert first.dtype == np.float32 and first.shape == (16, len(FEATURE_NAMES))
    assert np.array_equal(first, second)
    assert np.isfinite(first).all() and (first >= 0).all()
    assert np.isfinite(ModelRunner(MODEL).predict(first)).all()


@pytest.mark.integration
def test_a_lost_pointer_response_still_publishes(fault_proxy: tuple[FaultProxy, str]) -> None:
    # The pointer write lands on the GCS emulator, its reply is lost and the retry gets
    # 412: the release IS current (gateways install it), so no PointerConflict.
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    release_publish(bucket, MODEL, manifest("v1"), KEY)
    _, generation = bucket.read(POINTER_NAME)
    proxy.inject("reset", when="after", match=f"ifGenerationMatch={generation}")

    assert release_publish(bucket, MODEL, manifest("v2"), KEY) == "v2"

    assert proxy.faults_injected == 1
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert (pointer.version, pointer.history) == ("v2", ("v1",))


def test_republishing_a_version_with_other_provenance_reuses_the_release(
    bucket: Recorder,
) -> None:
    # The training job's rerun on unchanged data: same model and thresholds, so the same
    # version, but its manifest names another release it replaces. It used to fail
    # forever with "already exists with different content".
    release_publish(bucket, MODEL, manifest("v1", training={"replaces": "baseline-3"}), KEY)
    stored = bucket.read(manifest_object("v1"))[0]
    release_publish(bucket, MODEL, manifest("v2"), KEY)

    again = manifest("v1", training={"replaces": "v2"}, validation={"recall": 0.9})
    assert release_publish(bucket, MODEL, again, KEY) == "v1"

    assert bucket.read(manifest_object("v1"))[0] == stored  # kept as signed
    pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    assert (pointer.version, pointer.history) == ("v1", ("v2",))
    manifest_verify(stored, bucket.read(signature_object("v1"))[0], KEY.public_key())
    # What a gateway acts on must match: other thresholds under v1 are still refused.
    other = manifest("v1", thresholds=dict.fromkeys(MANIFEST["thresholds"], 0.5))
    with pytest.raises(ObjectConflict, match="v1"):
        release_publish(bucket, MODEL, other, KEY)


# ---------------------------------------------------------------- the signed pointer


def test_every_pointer_write_is_signed_with_a_higher_counter(bucket: Recorder) -> None:
    counters = []
    for version in ("v1", "v2"):
        release_publish(bucket, MODEL, manifest(version), KEY, now=NOW)
        pointer = pointer_verify(bucket.read(POINTER_NAME)[0], KEY.public_key(), NOW)
        counters.append(pointer.counter)
        assert pointer.expires == NOW + timedelta(days=30) and pointer.rollback is None
    release_rollback(bucket, KEY, now=NOW)
    release_refresh(bucket, KEY, now=NOW)
    counters += [pointer_parse(bucket.read(POINTER_NAME)[0]).counter]
    assert counters == [1, 2, 4]


def test_same_inputs_same_pointer_bytes(tmp_path: Path) -> None:
    written = []
    for name in ("a", "b"):
        bucket = bucket_open(str(tmp_path / name))
        release_publish(bucket, MODEL, manifest("v1"), KEY, now=NOW, valid_for=timedelta(days=2))
        written.append(bucket.read(POINTER_NAME)[0])
    assert written[0] == written[1]
    assert b'"expires":"2026-12-09T12:00:00Z"' in written[0]


def test_rollback_writes_a_signed_rollback_statement(bucket: Recorder) -> None:
    for version in ("v1", "v2", "v3"):
        release_publish(bucket, MODEL, manifest(version), KEY)
    release_rollback(bucket, KEY, to_version="v1", now=NOW)
    pointer = pointer_verify(bucket.read(POINTER_NAME)[0], KEY.public_key(), NOW)
    assert pointer.rollback == RollbackStatement("v3", "v1")
    assert (pointer.version, pointer.history, pointer.counter) == ("v1", ("v3", "v2"), 4)
    # The next publish is a step forward again: no statement.
    release_publish(bucket, MODEL, manifest("v4"), KEY)
    assert pointer_parse(bucket.read(POINTER_NAME)[0]).rollback is None


def test_publishing_an_earlier_release_again_is_a_signed_rollback(bucket: Recorder) -> None:
    release_publish(bucket, MODEL, manifest("v1"), KEY)
    release_publish(bucket, MODEL, manifest("v2"), KEY)
    release_publish(bucket, MODEL, manifest("v1", training={"replaces": "v2"}), KEY)
    assert pointer_parse(bucket.read(POINTER_NAME)[0]).rollback == RollbackStatement("v2", "v1")


def test_refresh_renews_the_expiry_and_keeps_the_release(bucket: Recorder) -> None:
    with pytest.raises(PublishError, match="nothing was published"):
        release_refresh(bucket, KEY, now=NOW)
    assert release_refresh(bucket, KEY, now=NOW, min_remaining=timedelta(days=15)) is None
    release_publish(bucket, MODEL, manifest("v1"), KEY, now=NOW)
    release_publish(bucket, MODEL, manifest("v2"), KEY, now=NOW)
    release_rollback(bucket, KEY, now=NOW)
    rolled = pointer_parse(bucket.read(POINTER_NAME)[0])

    # More than half the validity left: nothing written.
    later = NOW + timedelta(days=14)
    assert release_refresh(bucket, KEY, now=later, min_remaining=timedelta(days=15)) is None
    assert pointer_parse(bucket.read(POINTER_NAME)[0]) == rolled

    later = NOW + timedelta(days=16)
    fresh = release_refresh(bucket, KEY, now=later, min_remaining=timedelta(days=15))
    assert fresh is not None
    assert pointer_verify(bucket.read(POINTER_NAME)[0], KEY.public_key(), later) == fresh
    assert (fresh.version, fresh.history, fresh.rollback) == (
        rolled.version,
        rolled.history,
        rolled.rollback,
    )
    assert fresh.counter == rolled.counter + 1 and fresh.expires == later + timedelta(days=30)


def test_refresh_signs_a_legacy_pointer(bucket: Recorder) -> None:
    # A bucket published before pointers were signed: the publisher reads it (counter 0)
    # and the refresh (or the next publish) signs it; the release must verify first.
    release_publish(bucket, MODEL, manifest("v1"), KEY)
    raw, _ = bucket.read(manifest_object("v1"))
    legacy = {
        "format": 1,
        "version": "v1",
        "manifest": manifest_object("v1"),
        "manifest_sha256": sha256_hex(raw),
        "history": [],
    }
    info = bucket.stat(POINTER_NAME)
    assert info is not None
    bucket.replace(POINTER_NAME, json.dumps(legacy).encode(), if_generation=info.generation)
    assert not pointer_parse(bucket.read(POINTER_NAME)[0]).signed
    with pytest.raises(PublishError, match="does not verify"):
        release_refresh(bucket, Ed25519PrivateKey.generate(), now=NOW)
    fresh = release_refresh(bucket, KEY, now=NOW)
    assert fresh is not None and fresh.counter == 1
    pointer_verify(bucket.read(POINTER_NAME)[0], KEY.public_key(), NOW)


def test_cli_rollback_and_refresh_sign_the_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEARABLE_SIGNING_KEY", raising=False)
    pem, public = keypair_generate()
    key_path = tmp_path / "model-signing.pem"
    key_path.write_bytes(pem)
    key = private_key_parse(pem)
    bucket = bucket_open(str(tmp_path / "bucket"))
    release_publish(bucket, MODEL, manifest("v1"), key)
    release_publish(bucket, MODEL, manifest("v2"), key)
    common = ["--bucket", str(tmp_path / "bucket"), "--key", str(key_path)]

    assert wearable_main(["train", "rollback", *common]) == 0
    assert "now points at v1 (signed rollback statement)" in capsys.readouterr().out
    now = datetime.now(UTC)
    pointer = pointer_verify(bucket.read(POINTER_NAME)[0], public_key_parse(public), now)
    assert pointer.rollback == RollbackStatement("v2", "v1") and pointer.counter == 3

    assert wearable_main(["train", "refresh", *common, "--valid-days", "2"]) == 0
    assert "release v1, counter 4" in capsys.readouterr().out
    pointer = pointer_verify(bucket.read(POINTER_NAME)[0], public_key_parse(public), now)
    assert pointer.counter == 4 and pointer.expires is not None
    assert pointer.expires - now < timedelta(days=2, seconds=10)


def test_every_training_run_keeps_the_pointer_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wearable.cli.train import _keep_pointer_fresh

    bucket = bucket_open(str(tmp_path / "bucket"))
    _keep_pointer_fresh(bucket, KEY)  # nothing published yet: nothing to do, no warning
    assert bucket.stat(POINTER_NAME) is None and capsys.readouterr().err == ""
    twenty_days_ago = datetime.now(UTC) - timedelta(days=20)
    release_publish(bucket, MODEL, manifest("v1"), KEY, now=twenty_days_ago)
    _keep_pointer_fresh(bucket, KEY)  # 10 of 30 days left: re-signed
    assert "re-signed models/current.json (counter 2" in capsys.readouterr().err
    _keep_pointer_fresh(bucket, KEY)  # 30 days left: nothing written
    assert pointer_parse(bucket.read(POINTER_NAME)[0]).counter == 2
    _keep_pointer_fresh(bucket, Ed25519PrivateKey.generate())  # fresh: the key is not used
    assert capsys.readouterr().err == ""
