"""ModelUpdater: a good release installs; every bad one is refused and the old one serves."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_training.publish import release_publish, release_rollback
from gateway.model_update.delivery import ModelUpdater, UpdateResult
from gateway.model_update.installed import ModelDirectory
from wearable_core.buckets.base import BucketUnavailable
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    RollbackStatement,
    manifest_object,
    model_object,
    pointer_parse,
    signature_object,
)
from wearable_core.model.model_file import model_load

from ._support import (
    BASELINE_BYTES,
    NOW,
    RecordingBucket,
    baseline_canary,
    manifest_for,
    pointer_write,
    publish_raw,
)

LOGGER = "test.model_update"


class Serving:
    """The gateway's serving version, as the detector would report it."""

    def __init__(self, version: str = "baseline-1") -> None:
        self.version = version

    def __call__(self) -> str:
        return self.version


def make_updater(
    bucket: Any, directory: ModelDirectory, key: Ed25519PrivateKey, serving: Serving
) -> ModelUpdater:
    return ModelUpdater(
        bucket,
        directory,
        key.public_key(),
        serving_version=serving,
        logger=logging.getLogger(LOGGER),
        clock=lambda: NOW,
    )


@pytest.fixture
def serving() -> Serving:
    return Serving()


@pytest.fixture
def updater(
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
) -> ModelUpdater:
    """An updater already serving release v1 (published and installed)."""
    release_publish(bucket, BASELINE_BYTES, manifest_for("v1"), signing_key)
    result = make_updater(bucket, directory, signing_key, serving).check()
    assert result.status == "installed", result
    serving.version = "v1"
    return make_updater(bucket, directory, signing_key, serving)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def assert_refused(
    result: UpdateResult,
    check: str,
    caplog: pytest.LogCaptureFixture,
    directory: ModelDirectory,
    *,
    version: str = "v2",
    text: str = "",
) -> None:
    assert result.status == "refused", result
    assert result.check == check, result
    assert result.version == version
    lines = errors(caplog)
    assert len(lines) == 1, lines
    assert f"model release {version} refused: {check} check failed" in lines[0]
    assert "still serving v1" in lines[0]
    assert text in lines[0]
    current = directory.current()
    assert current is not None and current.version == "v1"
    assert model_load(current.path).manifest.version == "v1"


# ---------------------------------------------------------------- good releases


def test_good_release_installs_and_becomes_current(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    with caplog.at_level(logging.INFO, LOGGER):
        result = updater.check()
    assert result.status == "installed"
    assert result.version == "v2" and result.installed is not None
    loaded = model_load(result.installed.path)
    assert loaded.manifest.version == "v2"
    current, previous = directory.current(), directory.previous()
    assert current is not None and current.version == "v2"
    assert previous is not None and previous.version == "v1"
    assert not errors(caplog)
    assert any("model release v2 installed" in r.getMessage() for r in caplog.records)


def test_up_to_date_reads_only_the_pointer(updater: ModelUpdater, bucket: RecordingBucket) -> None:
    bucket.calls.clear()
    result = updater.check()
    assert result == UpdateResult("up_to_date", "v1")
    assert bucket.reads() == [POINTER_NAME]


def test_no_release(
    bucket: RecordingBucket, directory: ModelDirectory, signing_key: Ed25519PrivateKey
) -> None:
    result = make_updater(bucket, directory, signing_key, Serving()).check()
    assert result.status == "no_release"
    assert directory.current() is None


def test_installed_but_not_loaded_is_not_downloaded_again(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    signing_key: Ed25519PrivateKey,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    # The gateway restarted before loading v2: it still serves v1.
    bucket.calls.clear()
    result = updater.check()
    assert result.status == "installed" and result.installed is not None
    assert result.installed.version == "v2"
    assert bucket.reads() == [POINTER_NAME]


def test_bucket_rollback_reaches_the_gateway(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    serving.version = "v2"
    assert release_rollback(bucket, signing_key) == "v1"
    result = updater.check()
    assert result.status == "installed" and result.version == "v1"
    current = directory.current()
    assert current is not None and current.version == "v1"


def test_transient_bucket_error_is_not_a_refusal(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    real_read = bucket.read

    def flaky(name: str) -> tuple[bytes, int]:
        if name == model_object("v2"):
            raise BucketUnavailable("503 from the bucket", url=bucket.url)
        return real_read(name)

    monkeypatch.setattr(bucket, "read", flaky)
    result = updater.check()
    assert result.status == "unavailable"
    assert "503" in result.reason
    assert directory.refusals() == []
    monkeypatch.setattr(bucket, "read", real_read)
    assert updater.check().status == "installed"


# ---------------------------------------------------------------- refusals


def test_tampered_model_bytes(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    tampered = bytearray(BASELINE_BYTES)
    tampered[-100] ^= 0xFF
    _, generation = bucket.read(model_object("v2"))
    bucket.replace(model_object("v2"), bytes(tampered), if_generation=generation)
    assert_refused(updater.check(), "model_sha256", caplog, directory, text="sha256")


def test_truncated_model_is_refused_before_download(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    _, generation = bucket.read(model_object("v2"))
    bucket.replace(model_object("v2"), BASELINE_BYTES[:1000], if_generation=generation)
    bucket.calls.clear()
    assert_refused(updater.check(), "model_size", caplog, directory, text="1000 bytes")
    assert model_object("v2") not in bucket.reads()


def test_tampered_manifest_fails_the_signature(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    raw, generation = bucket.read(manifest_object("v2"))
    document = json.loads(raw)
    document["thresholds"]["fall"] = 0.99  # silence fall alerts
    tampered = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    bucket.replace(manifest_object("v2"), tampered, if_generation=generation)
    # Even a pointer signed over the tampered manifest's digest (here by the key holder:
    # an attacker cannot sign one) leaves the manifest signature to tell.
    pointer_write(bucket, "v2", tampered, signing_key)
    assert_refused(updater.check(), "signature", caplog, directory, text="does not verify")


def test_pointer_altered_after_signing(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Someone who can write the bucket edits the signed pointer: here its counter, to
    # outrun the gateway's replay floor.
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    raw, generation = bucket.read(POINTER_NAME)
    assert b'"counter":2,' in raw
    bucket.replace(
        POINTER_NAME, raw.replace(b'"counter":2,', b'"counter":9,'), if_generation=generation
    )
    result = updater.check()
    assert (result.status, result.check, result.version) == ("refused", "pointer_signature", None)
    (line,) = errors(caplog)
    assert "pointer_signature check failed" in line and "does not verify" in line
    assert "still serving v1" in line and "wearable train refresh" in line


def test_pointer_signed_by_another_key(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), Ed25519PrivateKey.generate())
    result = updater.check()
    assert (result.status, result.check) == ("refused", "pointer_signature")
    assert "[models] public_key" in errors(caplog)[0]
    current = directory.current()
    assert current is not None and current.version == "v1"


def test_manifest_not_matching_the_pointer(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    raw, generation = bucket.read(manifest_object("v2"))
    bucket.replace(manifest_object("v2"), raw + b" ", if_generation=generation)
    assert_refused(updater.check(), "manifest_sha256", caplog, directory)


def test_manifest_signed_by_the_wrong_key(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = Ed25519PrivateKey.generate()
    publish_raw(bucket, "v2", manifest_for("v2"), other, pointer_key=signing_key)
    assert_refused(updater.check(), "signature", caplog, directory, text="public_key")


def test_unsigned(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish_raw(bucket, "v2", manifest_for("v2"), None, pointer_key=signing_key)
    assert bucket.stat(signature_object("v2")) is None
    assert_refused(updater.check(), "unsigned", caplog, directory, text="unsigned")


def test_corrupt_flatbuffer_correctly_signed_and_hashed(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    corrupt = bytearray(BASELINE_BYTES)
    corrupt[4:8] = b"XXXX"  # the flatbuffer identifier "TFL3"
    corrupt[0:4] = b"\xff\xff\xff\x7f"  # root table offset far past the end
    model = bytes(corrupt)
    publish_raw(bucket, "v2", manifest_for("v2", model), signing_key, model)
    assert_refused(updater.check(), "model_load", caplog, directory, text="invalid TFLite")


def test_schema_incompatible_correctly_signed(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish_raw(bucket, "v2", manifest_for("v2", feature_schema_version=99), signing_key)
    bucket.calls.clear()
    assert_refused(
        updater.check(), "incompatible", caplog, directory, text="feature_schema_version 99"
    )
    # Refused from the manifest alone: the model was never downloaded.
    assert model_object("v2") not in bucket.reads()


def test_canary_mismatch(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = baseline_canary()
    canary["outputs"][3][2] += 0.25
    publish_raw(bucket, "v2", manifest_for("v2", canary=canary), signing_key)
    assert_refused(updater.check(), "canary", caplog, directory, text="row 3 af")


def test_nan_in_model_outputs_on_the_canary(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The baseline overflows to NaN on absurd inputs: a model that does that on its
    # own canary must not serve, whatever the manifest expects.
    inputs = np.full((2, len(FEATURE_NAMES)), 1e38, dtype=np.float32)
    canary = {"inputs": inputs.tolist(), "outputs": [[0.5] * 6] * 2, "atol": 1e-3}
    publish_raw(bucket, "v2", manifest_for("v2", canary=canary), signing_key)
    assert_refused(updater.check(), "canary", caplog, directory, text="not finite")


def test_nan_in_expected_canary_outputs(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = baseline_canary()
    canary["outputs"][0][0] = float("nan")
    raw = json.dumps(manifest_for("v2", canary=canary), sort_keys=True).encode()
    assert b"NaN" in raw
    publish_raw(bucket, "v2", raw, signing_key)
    assert_refused(updater.check(), "canary", caplog, directory, text="NaN")


def test_missing_canary(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish_raw(bucket, "v2", manifest_for("v2", canary=None), signing_key)
    assert_refused(updater.check(), "canary", caplog, directory, text="no canary")


def test_malformed_pointer_is_refused_once(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, b'{"format": 1, "version": "../etc"}', if_generation=generation)
    first, second = updater.check(), updater.check()
    assert first.status == second.status == "refused"
    assert first.check == "pointer"
    assert len(errors(caplog)) == 1
    current = directory.current()
    assert current is not None and current.version == "v1"


# ---------------------------------------------------------------- memory of refusals


def test_refusal_is_remembered_across_polls_and_restarts(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = baseline_canary()
    canary["outputs"][0][0] += 0.5
    publish_raw(bucket, "v2", manifest_for("v2", canary=canary), signing_key)
    bucket.calls.clear()
    assert updater.check().status == "refused"
    assert model_object("v2") in bucket.reads()

    bucket.calls.clear()
    again = updater.check()
    assert again.status == "refused" and again.check == "canary"
    assert "refused before" in again.reason
    assert bucket.reads() == [POINTER_NAME]

    # A restarted gateway reads the refusal from the model directory.
    restarted = make_updater(bucket, ModelDirectory(directory.root), signing_key, serving)
    bucket.calls.clear()
    assert restarted.check().status == "refused"
    assert bucket.reads() == [POINTER_NAME]
    assert len(errors(caplog)) == 1

    # A new release (new pointer) gets a fresh look and installs.
    release_publish(bucket, BASELINE_BYTES, manifest_for("v3"), signing_key)
    assert restarted.check().status == "installed"


def test_refusal_is_forgotten_when_the_key_changes(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
) -> None:
    other = Ed25519PrivateKey.generate()
    raw = publish_raw(bucket, "v2", manifest_for("v2"), other, pointer_key=signing_key)
    assert updater.check().check == "signature"
    # The operator rotates to the key the release was really signed with, and re-signs
    # the pointer with it (`wearable train refresh`).
    pointer_write(bucket, "v2", raw, other)
    rotated = make_updater(bucket, directory, other, serving)
    assert rotated.check().status == "installed"


def test_refusals_file_is_bounded_json(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
) -> None:
    publish_raw(bucket, "v2", manifest_for("v2"), None, pointer_key=signing_key)
    updater.check()
    document = json.loads((directory.root / "refused.json").read_text())
    assert [e["version"] for e in document["refused"]] == ["v2"]
    assert document["refused"][0]["check"] == "unsigned"


def test_corrupt_local_state_is_unavailable_not_a_crash(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    (directory.root / "current.json").write_text("{broken")
    result = updater.check()
    assert result.status == "unavailable"
    assert "delete it to fall back" in result.reason


# ---------------------------------------------------------------- rollback attacks


def assert_pointer_refused(
    result: UpdateResult, check: str, caplog: pytest.LogCaptureFixture, serving: str, *texts: str
) -> None:
    """Refused at the pointer, before any release object is read; one ERROR line."""
    assert (result.status, result.check) == ("refused", check), result
    (line,) = errors(caplog)
    assert f"{check} check failed" in line and f"still serving {serving}" in line
    for text in texts:
        assert text in line, line


def test_replayed_old_pointer_is_refused(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # v1's pointer is validly signed; whoever can write the bucket keeps a copy and puts
    # it back after v2 (say, a fix for v1's weakness) was installed.
    old, _ = bucket.read(POINTER_NAME)
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    serving.version = "v2"
    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, old, if_generation=generation)
    bucket.calls.clear()

    result = updater.check()
    assert_pointer_refused(
        result, "pointer_replay", caplog, "v2", "counter 1", "newest this gateway accepted, 2"
    )
    assert result.version == "v1" and bucket.reads() == [POINTER_NAME]
    current = directory.current()
    assert current is not None and current.version == "v2"
    assert updater.check().check == "pointer_replay" and len(errors(caplog)) == 1


def test_accepted_counter_survives_a_restart(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old, _ = bucket.read(POINTER_NAME)
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    serving.version = "v2"
    assert pointer_parse((directory.root / "pointer.json").read_bytes()).counter == 2

    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, old, if_generation=generation)
    restarted = make_updater(bucket, ModelDirectory(directory.root), signing_key, serving)
    assert restarted.check().check == "pointer_replay"


def test_up_to_date_pointer_raises_the_floor(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
) -> None:
    # A re-signed pointer to the serving release (`wearable train refresh`) is accepted
    # without downloading anything, and its counter becomes the floor.
    raw, _ = bucket.read(manifest_object("v1"))
    before, _ = bucket.read(POINTER_NAME)
    pointer_write(bucket, "v1", raw, signing_key)
    bucket.calls.clear()
    assert updater.check().status == "up_to_date"
    assert bucket.reads() == [POINTER_NAME]
    assert pointer_parse((directory.root / "pointer.json").read_bytes()).counter == 2
    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, before, if_generation=generation)
    assert updater.check().check == "pointer_replay"


def test_expired_pointer_is_refused(
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(
        bucket,
        BASELINE_BYTES,
        manifest_for("v1"),
        signing_key,
        now=NOW,
        valid_for=timedelta(days=7),
    )
    serving.version = "v1"
    on_time = make_updater(bucket, directory, signing_key, serving)
    assert on_time.check().status == "up_to_date"

    late = ModelUpdater(
        bucket,
        directory,
        signing_key.public_key(),
        serving_version=serving,
        logger=logging.getLogger(LOGGER),
        clock=lambda: NOW + timedelta(days=7),
    )
    result = late.check()
    assert_pointer_refused(
        result, "pointer_expired", caplog, "v1", "expired at 2026-12-14T12:00:00Z", "refresh"
    )
    assert late.check().status == "refused" and len(errors(caplog)) == 1


def test_legacy_unsigned_pointer_is_refused(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    caplog: pytest.LogCaptureFixture,
) -> None:
    legacy = {
        "format": 1,
        "version": "v1",
        "manifest": manifest_object("v1"),
        "manifest_sha256": pointer_parse(bucket.read(POINTER_NAME)[0]).manifest_sha256,
        "history": [],
    }
    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, json.dumps(legacy).encode(), if_generation=generation)
    assert_pointer_refused(
        updater.check(), "pointer_unsigned", caplog, "v1", "unsigned format-1", "upgrade"
    )


def test_going_back_without_a_rollback_statement_is_refused(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    serving.version = "v2"
    # A newer counter, signed, but back to v1 and no statement: not what rollback writes.
    raw, _ = bucket.read(manifest_object("v1"))
    pointer_write(bucket, "v1", raw, signing_key)
    result = updater.check()
    assert_pointer_refused(
        result, "pointer_rollback", caplog, "v2", "from v2 to v1", "wearable train rollback"
    )
    current = directory.current()
    assert current is not None and current.version == "v2"


def test_signed_rollback_is_accepted_and_old_pointers_stay_refused(
    updater: ModelUpdater,
    bucket: RecordingBucket,
    directory: ModelDirectory,
    signing_key: Ed25519PrivateKey,
    serving: Serving,
    caplog: pytest.LogCaptureFixture,
) -> None:
    release_publish(bucket, BASELINE_BYTES, manifest_for("v2"), signing_key)
    assert updater.check().status == "installed"
    serving.version = "v2"
    v2_pointer, _ = bucket.read(POINTER_NAME)

    with caplog.at_level(logging.WARNING, LOGGER):
        assert release_rollback(bucket, signing_key) == "v1"
        rolled = pointer_parse(bucket.read(POINTER_NAME)[0])
        assert rolled.rollback == RollbackStatement("v2", "v1") and rolled.counter == 3
        result = updater.check()
    assert (result.status, result.version) == ("installed", "v1")
    assert any("signed rollback from v2 to v1 accepted" in r.getMessage() for r in caplog.records)
    serving.version = "v1"
    assert pointer_parse((directory.root / "pointer.json").read_bytes()).counter == 3

    # The pointer to v2 that the rollback replaced is now a replay.
    _, generation = bucket.read(POINTER_NAME)
    bucket.replace(POINTER_NAME, v2_pointer, if_generation=generation)
    assert updater.check().check == "pointer_replay"


def test_corrupt_trusted_pointer_is_a_local_failure(
    updater: ModelUpdater, directory: ModelDirectory
) -> None:
    (directory.root / "pointer.json").write_text("{broken")
    result = updater.check()
    assert (result.status, result.check) == ("unavailable", "local")
    assert "pointer.json" in result.reason and "delete it" in result.reason
