"""The checks a model release must pass before it is served, as pure functions over bytes.

The gateway's :class:`gateway.model_update.delivery.ModelUpdater` runs them on every
release it downloads (checks 3-7 of its list); the cloud training job runs the same ones
on what it is about to publish, so a release the gateway would refuse is never published.
:func:`pointer_order_check` is the gateway's defence against rollback attacks: a signed
pointer older than the newest one it accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION
from wearable_core.contracts.model_release import (
    CanaryError,
    Pointer,
    ReleaseError,
    SignatureError,
    canary_compare,
    canary_parse,
    manifest_decode,
    manifest_verify,
    sha256_hex,
    signature_object,
)
from wearable_core.model.model_file import ModelManifest, manifest_parse
from wearable_core.model.runtime import ModelError, ModelRunner


class Refused(Exception):
    """One verification step failed: ``check`` names it, the message says how."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class VerifiedManifest:
    """A manifest whose signature, digest and gateway compatibility were checked."""

    raw: bytes
    document: dict[str, Any]
    model_bytes: int | None


# ---------------------------------------------------------------- pure checks


def pointer_order_check(trusted: Pointer | None, pointer: Pointer) -> None:
    """Refuse a verified pointer that is older than ``trusted``, the newest one accepted.

    * ``pointer_replay``: its counter is below the trusted one's, or equal with other
      content (a replayed old pointer; counters grow with every pointer write);
    * ``pointer_rollback``: it names a release the trusted pointer lists as superseded
      (its history) without a rollback statement for it (``wearable train rollback``).

    ``trusted`` is ``None`` on a gateway that never accepted a signed pointer: it trusts
    the first one that verifies (as a TUF client without a trusted timestamp does).

    Raises
    ------
    Refused
        ``pointer_replay`` or ``pointer_rollback``.
    """
    if trusted is None:
        return
    if pointer.counter < trusted.counter or (
        pointer.counter == trusted.counter and pointer != trusted
    ):
        raise Refused(
            "pointer_replay",
            f"pointer counter {pointer.counter} (release {pointer.version}) is "
            f"{'below' if pointer.counter < trusted.counter else 'the same as'} the newest "
            f"this gateway accepted, {trusted.counter} (release {trusted.version}): an old "
            "pointer was put back in the bucket",
        )
    if (
        pointer.version != trusted.version
        and pointer.version in trusted.history
        and pointer.rollback is None
    ):
        raise Refused(
            "pointer_rollback",
            f"pointer goes back from {trusted.version} to {pointer.version}, which it "
            "superseded, without a signed rollback statement",
        )


def manifest_check(
    pointer: Pointer,
    manifest_bytes: bytes,
    signature: bytes | None,
    public_key: Ed25519PublicKey,
) -> VerifiedManifest:
    """Checks 3-5: the manifest's digest, its signature, its version and schema family.

    The model-dependent part of ``manifest_parse`` (the flatbuffer's SHA-256) runs in
    :func:`model_check` once the model is downloaded.

    Raises
    ------
    Refused
        ``manifest_sha256``, ``unsigned``, ``signature``, ``manifest`` or ``incompatible``.
    """
    digest = sha256_hex(manifest_bytes)
    if digest != pointer.manifest_sha256:
        raise Refused(
            "manifest_sha256",
            f"manifest sha256 {digest} is not the pointer's {pointer.manifest_sha256}",
        )
    if signature is None:
        raise Refused(
            "unsigned", f"no signature object {signature_object(pointer.version)}: unsigned"
        )
    try:
        manifest_verify(manifest_bytes, signature, public_key)
    except SignatureError as exc:
        raise Refused("signature", str(exc)) from exc
    # Only now is it worth parsing: the bytes are the signer's.
    try:
        document = manifest_decode(manifest_bytes, "manifest")
    except ReleaseError as exc:
        raise Refused("manifest", str(exc)) from exc
    if document.get("version") != pointer.version:
        raise Refused(
            "manifest",
            f"manifest names version {document.get('version')!r}, the pointer {pointer.version!r}",
        )
    schema = document.get("feature_schema_version")
    if schema != FEATURE_SCHEMA_VERSION:
        raise Refused(
            "incompatible",
            f"feature_schema_version {schema!r}, this gateway computes {FEATURE_SCHEMA_VERSION}",
        )
    if list(document.get("features", [])) != list(FEATURE_NAMES):
        raise Refused("incompatible", "the manifest's features differ from this gateway's")
    if list(document.get("outputs", [])) != list(ANOMALY_TYPES):
        raise Refused(
            "incompatible",
            f"outputs {document.get('outputs')!r}, this gateway expects {list(ANOMALY_TYPES)}",
        )
    size = document.get("bytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise Refused("manifest", f"manifest bytes {size!r} is not a size")
    return VerifiedManifest(manifest_bytes, document, size)


def model_check(manifest: VerifiedManifest, model_bytes: bytes) -> ModelManifest:
    """Check 5-6: size, SHA-256 and the full ``manifest_parse`` against the model bytes.

    Raises
    ------
    Refused
        ``model_size``, ``model_sha256``, ``incompatible`` or ``manifest``.
    """
    if manifest.model_bytes is not None and len(model_bytes) != manifest.model_bytes:
        raise Refused(
            "model_size",
            f"model is {len(model_bytes)} bytes, the manifest says {manifest.model_bytes}",
        )
    digest = sha256_hex(model_bytes)
    if manifest.document.get("sha256") != digest:
        raise Refused(
            "model_sha256",
            f"model sha256 {digest} is not the manifest's {manifest.document.get('sha256')}",
        )
    try:
        return manifest_parse(manifest.document, model_bytes, "manifest")
    except ModelError as exc:
        raise Refused("manifest", str(exc)) from exc


def canary_check(manifest: VerifiedManifest, model_bytes: bytes) -> None:
    """Check 7: the model loads in LiteRT and reproduces its canary (one batch, all rows).

    Raises
    ------
    Refused
        ``model_load`` or ``canary``.
    """
    try:
        canary = canary_parse(manifest.document.get("canary"))
    except CanaryError as exc:
        raise Refused("canary", str(exc)) from exc
    try:
        runner = ModelRunner(model_bytes)
    except ModelError as exc:
        raise Refused("model_load", str(exc)) from exc
    try:
        actual = runner.predict(canary.inputs)
    except (ValueError, RuntimeError) as exc:
        raise Refused("model_load", f"the model fails on the canary inputs: {exc}") from exc
    try:
        canary_compare(canary, actual)
    except CanaryError as exc:
        raise Refused("canary", str(exc)) from exc
