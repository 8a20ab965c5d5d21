"""The model release contract: keys, signatures, versions, pointer, canary; keys CLI."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wearable.cli import main as wearable_main
from wearable_core.contracts.features import FEATURE_NAMES
from wearable_core.contracts.model_release import (
    Canary,
    CanaryError,
    Pointer,
    PointerExpiredError,
    PointerUnsignedError,
    ReleaseError,
    ReleaseKeyError,
    RollbackStatement,
    SignatureError,
    canary_compare,
    canary_encode,
    canary_parse,
    keypair_generate,
    manifest_encode,
    manifest_header,
    manifest_object,
    manifest_sign,
    manifest_verify,
    pointer_expiry,
    pointer_for,
    pointer_parse,
    pointer_sign,
    pointer_verify,
    private_key_load,
    public_key_encode,
    public_key_parse,
    version_check,
)

MANIFEST = manifest_encode({"version": "v2", "sha256": "0" * 64})


def test_sign_verify_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    signature = manifest_sign(MANIFEST, key)
    assert len(signature) == 64
    assert manifest_sign(MANIFEST, key) == signature  # deterministic: retries are idempotent
    manifest_verify(MANIFEST, signature, key.public_key())


def test_verify_refuses_tampering_wrong_key_and_garbage() -> None:
    key = Ed25519PrivateKey.generate()
    signature = manifest_sign(MANIFEST, key)
    with pytest.raises(SignatureError, match="altered after signing"):
        manifest_verify(MANIFEST.replace(b"v2", b"v3"), signature, key.public_key())
    with pytest.raises(SignatureError, match="signed with a different key"):
        manifest_verify(MANIFEST, signature, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError, match="is 3 bytes"):
        manifest_verify(MANIFEST, b"sig", key.public_key())


def test_signature_is_domain_separated() -> None:
    # A raw Ed25519 signature over the manifest bytes (no context) must not verify.
    key = Ed25519PrivateKey.generate()
    with pytest.raises(SignatureError):
        manifest_verify(MANIFEST, key.sign(MANIFEST), key.public_key())


def test_keypair_round_trip(tmp_path: Path) -> None:
    pem, public = keypair_generate()
    path = tmp_path / "k.pem"
    path.write_bytes(pem)
    key = private_key_load(path)
    assert public_key_encode(key) == public
    parsed = public_key_parse(f"  {public}\n")
    manifest_verify(MANIFEST, manifest_sign(MANIFEST, key), parsed)


def test_public_key_parse_names_the_problem() -> None:
    with pytest.raises(ReleaseKeyError, match="not valid base64"):
        public_key_parse("not base64!")
    with pytest.raises(ReleaseKeyError, match="decodes to 16 bytes"):
        public_key_parse(base64.b64encode(bytes(16)).decode())
    pem, _ = keypair_generate()
    with pytest.raises(ReleaseKeyError):
        public_key_parse(pem.decode())


def test_private_key_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ReleaseKeyError, match="cannot read model signing key"):
        private_key_load(tmp_path / "missing.pem")
    (tmp_path / "bad.pem").write_text("hello")
    with pytest.raises(ReleaseKeyError, match="keys generate"):
        private_key_load(tmp_path / "bad.pem")


@pytest.mark.parametrize("good", ["v1", "2026-11-26.1", "baseline-1", "A_b.c-9"])
def test_version_check_accepts(good: str) -> None:
    assert version_check(good) == good


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", ".hidden", "-x", "a b", "x" * 65, 3])
def test_version_check_rejects(bad: object) -> None:
    with pytest.raises(ReleaseError, match="safe path segment"):
        version_check(bad)


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


def signed_pointer(**changes: object) -> Pointer:
    fields: dict[str, object] = {"counter": 4, "expires": pointer_expiry(NOW)}
    fields.update(changes)
    return pointer_for("v2", MANIFEST, ("v1",), **fields)  # type: ignore[arg-type]


def test_pointer_round_trip_and_validation() -> None:
    pointer = signed_pointer(rollback=RollbackStatement("v3", "v2"))
    assert pointer == Pointer(
        "v2",
        manifest_object("v2"),
        pointer.manifest_sha256,
        ("v1",),
        4,
        datetime(2027, 1, 6, 12, 0, tzinfo=UTC),
        RollbackStatement("v3", "v2"),
    )
    raw = pointer_sign(pointer, KEY)
    assert pointer_sign(pointer, KEY) == raw  # deterministic: same inputs, same bytes
    assert pointer_verify(raw, KEY.public_key(), NOW) == pointer
    assert pointer_parse(raw) == pointer
    assert len(raw) < 1024
    outside = raw.replace(b"models/releases/v2/", b"models/elsewhere/")
    with pytest.raises(ReleaseError, match=r"is not 'models/releases/v2/manifest\.json'"):
        pointer_parse(outside)
    with pytest.raises(ReleaseError, match="format 3"):
        pointer_parse(b'{"format": 3}')
    with pytest.raises(ReleaseError, match="not valid"):
        pointer_parse(b"\xff")


def test_pointer_signature_covers_every_field() -> None:
    raw = pointer_sign(signed_pointer(), KEY)
    for old, new in (
        (b'"counter":4', b'"counter":5'),
        (b'"expires":"2027-01-06T12:00:00Z"', b'"expires":"2099-01-06T12:00:00Z"'),
        (b'"history":["v1"]', b'"history":[]'),
        (b'"rollback":null', b'"rollback":{"from":"v3","to":"v2"}'),
    ):
        tampered = raw.replace(old, new)
        assert tampered != raw
        with pytest.raises(SignatureError, match="altered after signing"):
            pointer_verify(tampered, KEY.public_key(), NOW)
    with pytest.raises(SignatureError, match="signed with a different key"):
        pointer_verify(raw, Ed25519PrivateKey.generate().public_key(), NOW)
    document = json.loads(raw)
    document["signature"] = "AAAA"
    with pytest.raises(SignatureError, match="is 3 bytes"):
        pointer_verify(json.dumps(document).encode(), KEY.public_key(), NOW)


def test_a_manifest_signature_is_not_a_pointer_signature() -> None:
    # Domain separation: the same key signs manifests; a manifest signature over bytes
    # that happen to be a pointer's signed part must not verify as the pointer's.
    raw = pointer_sign(signed_pointer(), KEY)
    document = json.loads(raw)
    signed = json.dumps(document["signed"], sort_keys=True, separators=(",", ":")).encode()
    document["signature"] = base64.b64encode(manifest_sign(signed, KEY)).decode()
    with pytest.raises(SignatureError):
        pointer_verify(json.dumps(document).encode(), KEY.public_key(), NOW)


def test_pointer_expiry() -> None:
    raw = pointer_sign(signed_pointer(expires=NOW + timedelta(seconds=1)), KEY)
    pointer_verify(raw, KEY.public_key(), NOW)
    with pytest.raises(PointerExpiredError, match="expired at 2026-12-07T12:00:01Z"):
        pointer_verify(raw, KEY.public_key(), NOW + timedelta(seconds=1))
    with pytest.raises(ReleaseError, match="positive"):
        pointer_expiry(NOW, timedelta(0))
    with pytest.raises(ReleaseError, match="time-zone aware"):
        pointer_expiry(datetime(2026, 12, 7))


def test_legacy_unsigned_pointer_parses_but_does_not_verify() -> None:
    legacy = json.dumps(
        {
            "format": 1,
            "version": "v2",
            "manifest": manifest_object("v2"),
            "manifest_sha256": "ab" * 32,
            "history": ["v1"],
        }
    ).encode()
    pointer = pointer_parse(legacy)
    assert (pointer.version, pointer.history, pointer.signed) == ("v2", ("v1",), False)
    with pytest.raises(PointerUnsignedError, match="upgrade the training job"):
        pointer_verify(legacy, KEY.public_key(), NOW)


def test_pointer_fields_are_checked() -> None:
    with pytest.raises(ReleaseError, match="counter >= 1 and an expiry"):
        pointer_sign(pointer_for("v2", MANIFEST), KEY)
    raw = pointer_sign(signed_pointer(rollback=RollbackStatement("v3", "v2")), KEY)
    with pytest.raises(ReleaseError, match="authorises v1, the pointer names v2"):
        pointer_parse(raw.replace(b'"to":"v2"', b'"to":"v1"'))
    with pytest.raises(ReleaseError, match="counter 0 must be"):
        pointer_parse(raw.replace(b'"counter":4', b'"counter":0'))
    with pytest.raises(ReleaseError, match="is not a UTC time"):
        pointer_parse(raw.replace(b"2027-01-06T12:00:00Z", b"2027-01-06 12:00"))


def test_manifest_encode_refuses_nan() -> None:
    with pytest.raises(ReleaseError, match="strict JSON"):
        manifest_encode({"x": float("nan")})


def test_canary_round_trip_and_compare() -> None:
    inputs = np.random.default_rng(1).normal(size=(3, len(FEATURE_NAMES))).astype(np.float32)
    outputs = np.random.default_rng(2).uniform(size=(3, 6)).astype(np.float32)
    canary = canary_parse(canary_encode(inputs, outputs, 1e-3))
    assert isinstance(canary, Canary)
    assert np.array_equal(canary.inputs, inputs) and np.array_equal(canary.outputs, outputs)
    canary_compare(canary, outputs + 5e-4)
    with pytest.raises(CanaryError, match="> atol"):
        canary_compare(canary, outputs + 2e-3)
    nan = outputs.copy()
    nan[1, 4] = np.nan
    with pytest.raises(CanaryError, match="row 1 fever"):
        canary_compare(canary, nan)
    with pytest.raises(CanaryError, match="shape"):
        canary_compare(canary, outputs[:2])


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (None, "no canary"),
        ({"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[0.0] * 6]}, "no 'atol'"),
        ({"inputs": [[0.0] * 24], "outputs": [[0.0] * 6], "atol": 1e-3}, "inputs have shape"),
        (
            {"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[0.0] * 5], "atol": 1e-3},
            "outputs have shape",
        ),
        (
            {"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[float("nan")] * 6], "atol": 1e-3},
            "NaN",
        ),
        ({"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[0.0] * 6], "atol": 0.5}, "atol 0.5"),
        (
            {"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[0.0] * 6], "atol": "x"},
            "not a number",
        ),
    ],
)
def test_canary_parse_rejects(block: object, message: str) -> None:
    with pytest.raises(CanaryError, match=message):
        canary_parse(block)


def test_keys_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "secrets"
    assert wearable_main(["keys", "generate", "--out", str(out)]) == 0
    private, public = out / "model-signing.pem", out / "model-signing.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = private_key_load(private)
    line = public.read_text().strip()
    assert public_key_encode(key) == line
    assert f'public_key = "{line}"' in capsys.readouterr().out

    before = private.read_bytes()
    assert wearable_main(["keys", "generate", "--out", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert private.read_bytes() == before
    assert public.read_text().strip() == line


def test_keys_generate_keeps_the_key_private_whatever_the_umask(tmp_path: Path) -> None:
    from tests.support.umask import umask

    out = tmp_path / "new" / "secrets"
    with umask(0):
        assert wearable_main(["keys", "generate", "--out", str(out)]) == 0
    assert stat.S_IMODE((out / "model-signing.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700


def test_manifest_header_is_what_the_shipped_baseline_declares() -> None:
    import json
    from importlib import resources

    shipped = json.loads(
        resources.files("wearable_core").joinpath("models", "baseline.json").read_text("utf-8")
    )
    header = manifest_header(shipped["version"], list(shipped["thresholds"].values()))
    assert header == {key: shipped[key] for key in header}
    assert set(header) == {
        "version",
        "feature_schema_version",
        "features",
        "window_s",
        "outputs",
        "thresholds",
    }


@pytest.mark.parametrize("thresholds", [[0.5] * 5, [[0.5] * 6]])
def test_manifest_header_needs_one_threshold_per_type(thresholds: list[object]) -> None:
    with pytest.raises(ReleaseError, match="one threshold per anomaly type"):
        manifest_header("v1", thresholds)  # type: ignore[arg-type]


def test_manifest_header_checks_the_version() -> None:
    with pytest.raises(ReleaseError):
        manifest_header("../escape", [0.5] * 6)
