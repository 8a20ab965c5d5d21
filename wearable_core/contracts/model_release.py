"""Signed model releases in a bucket: the layout, pointer, signature and canary contract.

The training job (``cloud_training.publish``) writes releases and the gateways
(``gateway.model_update``) read them; both import this module so the two sides cannot
drift. Format and rationale: ``docs/formats/model_release.md``.

A release is three immutable objects under ``models/releases/<version>/`` (the TFLite
flatbuffer, its JSON manifest and an Ed25519 signature over the manifest) plus one small,
mutable pointer, ``models/current.json``, that names the serving release. The publisher
writes the immutable objects first and moves the pointer last with a generation-guarded
compare-and-swap, so a gateway that follows the pointer never sees half a release.
The pointer is signed with the same key (another signature context), carries a counter
that grows with every write and an expiry, so gateways can refuse a replayed or stale
pointer (rollback attacks), and an optional signed rollback statement that authorises
going back to an earlier release.

Keys: public keys travel as base64 of the raw 32-byte Ed25519 key (one line in the
gateway config); private keys are PKCS#8 PEM files that only the publisher reads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION, WINDOW_S

#: Every release object lives under this prefix.
RELEASES_PREFIX = "models/releases/"
#: The small, mutable pointer to the serving release (the only object ever rewritten).
POINTER_NAME = "models/current.json"
#: Version of the pointer document's layout: 2 is signed, with a counter and an expiry.
POINTER_FORMAT = 2
#: The unsigned layout before 2026-12-07: parsed for the publisher, refused by gateways.
POINTER_FORMAT_UNSIGNED = 1
#: Prepended to the pointer's signed bytes before signing (domain separation from manifest
#: signatures made with the same key).
POINTER_CONTEXT = b"wearable-model-pointer-v2\n"
#: How long a signed pointer is trusted by default. Gateways refuse an expired pointer
#: (a frozen or replayed bucket); the training job re-signs a pointer whose remaining
#: validity is below half of this, so a job that runs at least weekly keeps it fresh.
POINTER_VALID = timedelta(days=30)
_EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: How many earlier versions the pointer remembers for rollback (keeps it a few KiB).
POINTER_HISTORY_MAX = 20
#: Prepended to the manifest bytes before signing, so a signature made with the model
#: key can never be replayed as a signature over some other kind of document.
SIGNATURE_CONTEXT = b"wearable-model-manifest-v1\n"
#: Ed25519 signatures are always this long.
SIGNATURE_BYTES = 64
#: Raw Ed25519 public keys are always this long.
PUBLIC_KEY_BYTES = 32
#: Default tolerance of the canary: see ``docs/formats/model_release.md`` ("Canary").
CANARY_ATOL = 1e-3
#: A tolerance above this would let a different model pass the canary.
CANARY_ATOL_MAX = 0.05

_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ReleaseError(ValueError):
    """A release object (pointer, manifest, version, canary) is malformed."""


class SignatureError(ReleaseError):
    """A signature is missing, malformed or does not verify with the given key."""


class ReleaseKeyError(ReleaseError):
    """A key cannot be parsed or loaded (the message names the problem and the fix)."""


class PointerUnsignedError(ReleaseError):
    """``models/current.json`` is a legacy unsigned pointer, which gateways no longer follow."""


class PointerExpiredError(ReleaseError):
    """``models/current.json`` is signed but past its ``expires`` time."""


class CanaryError(ReleaseError):
    """The canary block is malformed, or a model's outputs do not reproduce it."""


# --------------------------------------------------------------------------- layout


def version_check(version: object) -> str:
    """Return ``version`` if it is a safe single path segment, else raise.

    Allowed: 1-64 characters of ``A-Z a-z 0-9 . _ -``, starting with a letter or digit
    (so never ``.``, ``..``, hidden names, slashes or empty strings).

    Raises
    ------
    ReleaseError
        Naming the rejected value and the rule.

    Examples
    --------
    >>> version_check("2026-11-26.1")
    '2026-11-26.1'
    >>> version_check("../x")
    Traceback (most recent call last):
    ...
    wearable_core.contracts.model_release.ReleaseError: model version '../x' is not a safe \
path segment: use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit
    """
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ReleaseError(
            f"model version {version!r} is not a safe path segment: use 1-64 of "
            "A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )
    return version


def release_prefix(version: str) -> str:
    """``models/releases/<version>/`` (validated).

    Examples
    --------
    >>> release_prefix("v2")
    'models/releases/v2/'
    """
    return f"{RELEASES_PREFIX}{version_check(version)}/"


def model_object(version: str) -> str:
    """Object name of a release's flatbuffer, ``models/releases/<version>/model.tflite``."""
    return release_prefix(version) + "model.tflite"


def manifest_object(version: str) -> str:
    """Object name of a release's manifest, ``models/releases/<version>/manifest.json``."""
    return release_prefix(version) + "manifest.json"


def signature_object(version: str) -> str:
    """Object name of a release's signature, ``models/releases/<version>/manifest.sig``."""
    return release_prefix(version) + "manifest.sig"


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def manifest_header(version: str, thresholds: npt.ArrayLike) -> dict[str, Any]:
    """The part of a release manifest that ties a model to this feature contract: version,
    feature schema, feature names, window length, outputs, and per-type thresholds
    (rounded to 6 decimals). Whoever trained the model adds its own validation, parity
    and training blocks; ``sha256``, ``bytes`` and ``canary`` are filled in at publishing.

    Raises
    ------
    ReleaseError
        A bad version, or not one threshold per anomaly type.

    Examples
    --------
    >>> header = manifest_header("v1", [0.5] * len(ANOMALY_TYPES))
    >>> header["outputs"] == list(ANOMALY_TYPES), header["thresholds"]["fall"]
    (True, 0.5)
    """
    values = np.asarray(thresholds, dtype=np.float64)
    if values.shape != (len(ANOMALY_TYPES),):
        raise ReleaseError(
            f"need one threshold per anomaly type ({len(ANOMALY_TYPES)}), got shape {values.shape}"
        )
    return {
        "version": version_check(version),
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
        "features": list(FEATURE_NAMES),
        "window_s": WINDOW_S,
        "outputs": list(ANOMALY_TYPES),
        "thresholds": {t: round(float(v), 6) for t, v in zip(ANOMALY_TYPES, values, strict=True)},
    }


def manifest_encode(manifest: dict[str, Any]) -> bytes:
    """Canonical manifest bytes: sorted keys, compact separators, UTF-8, no NaN/inf.

    These exact bytes are stored, hashed into the pointer and signed; canonical form makes a
    retried publish produce identical bytes (so create-only writes are idempotent).

    Raises
    ------
    ReleaseError
        The manifest holds a non-finite number or a value JSON cannot represent.

    Examples
    --------
    >>> manifest_encode({"b": 1, "a": [0.5]})
    b'{"a":[0.5],"b":1}'
    """
    try:
        text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ReleaseError(f"manifest cannot be encoded as strict JSON: {exc}") from exc
    return text.encode("utf-8")


def manifest_decode(data: bytes, source: str = "manifest") -> dict[str, Any]:
    """Parse manifest bytes into a JSON object (no schema checks: see ``manifest_parse``).

    Raises
    ------
    ReleaseError
        Not UTF-8 JSON, or not an object.
    """
    return _json_object(data, source)


def _json_object(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{source}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ReleaseError(f"{source}: must be a JSON object")
    return document


# --------------------------------------------------------------------------- keys


def public_key_parse(text: str | bytes) -> Ed25519PublicKey:
    """Parse a public key given as base64 of the raw 32-byte Ed25519 key.

    Surrounding whitespace is ignored, so the contents of a ``.pub`` file work as is.

    Raises
    ------
    ReleaseKeyError
        The text is not base64, or does not decode to 32 bytes.

    Examples
    --------
    >>> key = public_key_parse("A" * 43 + "=")
    >>> public_key_parse("abc")
    Traceback (most recent call last):
    ...
    wearable_core.contracts.model_release.ReleaseKeyError: model public key is not valid \
base64 (Incorrect padding): paste the one line printed by `wearable keys generate`
    """
    raw_text = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    try:
        raw = base64.b64decode(raw_text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReleaseKeyError(
            f"model public key is not valid base64 ({exc}): paste the one line printed "
            "by `wearable keys generate`"
        ) from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ReleaseKeyError(
            f"model public key decodes to {len(raw)} bytes, an Ed25519 public key is "
            f"{PUBLIC_KEY_BYTES}: paste the one line printed by `wearable keys generate` "
            "(not the private key, not a PEM file)"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_encode(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Base64 of the raw 32-byte public key (of a private key: its public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def private_key_parse(pem: bytes, source: str = "private key") -> Ed25519PrivateKey:
    """Parse an unencrypted PKCS#8 PEM Ed25519 private key.

    Raises
    ------
    ReleaseKeyError
        Not PEM, encrypted, or not an Ed25519 key.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ReleaseKeyError(
            f"{source}: not an unencrypted PEM private key ({exc}): create one with "
            "`wearable keys generate --out DIR`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ReleaseKeyError(
            f"{source}: is a {type(key).__name__}, model releases are signed with Ed25519: "
            "create one with `wearable keys generate --out DIR`"
        )
    return key


def private_key_load(path: str | Path) -> Ed25519PrivateKey:
    """Load the Ed25519 signing key from a PEM file.

    Raises
    ------
    ReleaseKeyError
        The file cannot be read or does not hold an Ed25519 private key.
    """
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ReleaseKeyError(f"cannot read model signing key {path}: {exc}") from exc
    return private_key_parse(pem, str(path))


def keypair_generate() -> tuple[bytes, str]:
    """A new signing key: ``(private key as PKCS#8 PEM bytes, public key as base64)``.

    Examples
    --------
    >>> pem, public = keypair_generate()
    >>> pem.startswith(b"-----BEGIN PRIVATE KEY-----"), len(public)
    (True, 44)
    """
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, public_key_encode(key)


# --------------------------------------------------------------------------- signatures


def manifest_sign(manifest_bytes: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """The 64-byte Ed25519 signature over ``SIGNATURE_CONTEXT + manifest_bytes``.

    Ed25519 is deterministic: the same key and bytes give the same signature, so a retried
    publish writes identical signature bytes.

    Examples
    --------
    >>> key = Ed25519PrivateKey.generate()
    >>> signature = manifest_sign(b"{}", key)
    >>> manifest_verify(b"{}", signature, key.public_key())
    """
    return private_key.sign(SIGNATURE_CONTEXT + manifest_bytes)


def manifest_verify(manifest_bytes: bytes, signature: bytes, public_key: Ed25519PublicKey) -> None:
    """Check that ``signature`` is the given key's signature over ``manifest_bytes``.

    Raises
    ------
    SignatureError
        The signature has the wrong length, or does not verify (the manifest was changed
        after signing, or it was signed with a different key).

    Examples
    --------
    >>> key = Ed25519PrivateKey.generate()
    >>> manifest_verify(b"{}", manifest_sign(b"{ }", key), key.public_key())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wearable_core.contracts.model_release.SignatureError: manifest signature does not verify \
with the configured public key ...: the manifest was altered after signing, or it was signed \
with a different key
    """
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(
            f"manifest signature is {len(signature)} bytes, an Ed25519 signature is "
            f"{SIGNATURE_BYTES}: the .sig object is corrupt or not a signature"
        )
    try:
        public_key.verify(signature, SIGNATURE_CONTEXT + manifest_bytes)
    except InvalidSignature:
        raise SignatureError(
            "manifest signature does not verify with the configured public key "
            f"{public_key_encode(public_key)[:12]}...: the manifest was altered after "
            "signing, or it was signed with a different key"
        ) from None


# --------------------------------------------------------------------------- pointer


@dataclass(frozen=True)
class RollbackStatement:
    """The signed authorisation to serve an earlier release again.

    ``wearable train rollback`` puts one in the pointer it writes; a gateway refuses a
    pointer that moves it back to a release it has seen superseded unless the pointer
    carries one whose ``to_version`` is the pointer's version.
    """

    from_version: str
    to_version: str


@dataclass(frozen=True)
class Pointer:
    """The serving release as named by ``models/current.json``.

    ``history`` lists earlier serving versions, most recent first (for rollback).
    ``counter`` grows by one with every pointer write (0: a legacy unsigned pointer),
    ``expires`` is when gateways stop trusting it (``None``: legacy), and ``rollback`` is
    the statement that authorises going back to an earlier release.
    """

    version: str
    manifest: str
    manifest_sha256: str
    history: tuple[str, ...] = field(default=())
    counter: int = 0
    expires: datetime | None = None
    rollback: RollbackStatement | None = None

    @property
    def signed(self) -> bool:
        """Whether this pointer came in (or is meant for) the signed format."""
        return self.counter > 0


def pointer_for(
    version: str,
    manifest_bytes: bytes,
    history: tuple[str, ...] = (),
    *,
    counter: int = 0,
    expires: datetime | None = None,
    rollback: RollbackStatement | None = None,
) -> Pointer:
    """The pointer to release ``version`` whose manifest is ``manifest_bytes``.

    ``counter`` and ``expires`` are required by :func:`pointer_sign`; a pointer built only
    to compare a release with (``cloud_training.job.serving_release``) needs neither.
    """
    return Pointer(
        version_check(version),
        manifest_object(version),
        sha256_hex(manifest_bytes),
        tuple(history)[:POINTER_HISTORY_MAX],
        counter,
        expires,
        rollback,
    )


def pointer_expiry(now: datetime, valid_for: timedelta = POINTER_VALID) -> datetime:
    """``now + valid_for`` in UTC, whole seconds (what :func:`pointer_sign` can encode).

    ``now`` is an argument, never read from the clock here, so the same inputs give the
    same pointer bytes.

    Raises
    ------
    ReleaseError
        ``now`` has no time zone, or ``valid_for`` is not positive.

    Examples
    --------
    >>> pointer_expiry(datetime(2026, 12, 7, 1, 2, 3, 456, tzinfo=UTC)).isoformat()
    '2027-01-06T01:02:03+00:00'
    """
    if now.tzinfo is None:
        raise ReleaseError("pointer expiry: `now` must be time-zone aware (use UTC)")
    if valid_for <= timedelta(0):
        raise ReleaseError(f"pointer validity {valid_for} must be positive")
    return (now + valid_for).astimezone(UTC).replace(microsecond=0)


def _expires_encode(expires: datetime) -> str:
    return expires.astimezone(UTC).strftime(_EXPIRES_FORMAT)


def _signed_encode(pointer: Pointer) -> bytes:
    """The canonical bytes the pointer signature covers (every field but the signature)."""
    if pointer.counter < 1 or pointer.expires is None:
        raise ReleaseError(
            f"pointer to {pointer.version}: a signed pointer needs a counter >= 1 and an "
            "expiry (build it with pointer_for(..., counter=, expires=))"
        )
    rollback = pointer.rollback
    document = {
        "counter": pointer.counter,
        "expires": _expires_encode(pointer.expires),
        "history": list(pointer.history[:POINTER_HISTORY_MAX]),
        "manifest": pointer.manifest,
        "manifest_sha256": pointer.manifest_sha256,
        "rollback": (
            None if rollback is None else {"from": rollback.from_version, "to": rollback.to_version}
        ),
        "version": version_check(pointer.version),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def pointer_sign(pointer: Pointer, private_key: Ed25519PrivateKey) -> bytes:
    """The signed pointer document's bytes (small canonical JSON, format 2).

    ``{"format":2,"signature":"<base64>","signed":{...}}``; the Ed25519 signature covers
    ``POINTER_CONTEXT`` + the canonical JSON of ``signed``. Deterministic: the same pointer
    and key give the same bytes.

    Raises
    ------
    ReleaseError
        The pointer has no counter or expiry.

    Examples
    --------
    >>> key = Ed25519PrivateKey.generate()
    >>> expires = datetime(2027, 1, 1, tzinfo=UTC)
    >>> raw = pointer_sign(pointer_for("v2", b"{}", counter=3, expires=expires), key)
    >>> raw[:25]
    b'{"format":2,"signature":"'
    >>> pointer_verify(raw, key.public_key(), datetime(2026, 12, 7, tzinfo=UTC)).counter
    3
    """
    signed = _signed_encode(pointer)
    signature = private_key.sign(POINTER_CONTEXT + signed)
    return (
        b'{"format":2,"signature":"' + base64.b64encode(signature) + b'","signed":' + signed + b"}"
    )


def pointer_parse(data: bytes) -> Pointer:
    """Parse and validate ``models/current.json`` (either format) **without** verifying it.

    For the publisher, which needs the serving release, history and counter of whatever
    pointer is there (including a legacy unsigned one, ``counter == 0``). Gateways use
    :func:`pointer_verify`. The manifest name must be the one the layout gives for the
    version, so a pointer can never lead a gateway outside ``models/releases/<version>/``.

    Raises
    ------
    ReleaseError
        Naming the malformed field.

    Examples
    --------
    >>> legacy = {"format": 1, "version": "v2", "manifest": manifest_object("v2"),
    ...           "manifest_sha256": "ab" * 32}
    >>> pointer = pointer_parse(json.dumps(legacy).encode())
    >>> pointer.version, pointer.signed
    ('v2', False)
    """
    return _pointer_document(data)[0]


def pointer_verify(data: bytes, public_key: Ed25519PublicKey, now: datetime) -> Pointer:
    """Parse ``models/current.json`` as a gateway must: signed, with this key, not expired.

    Raises
    ------
    PointerUnsignedError
        A legacy unsigned (format 1) pointer: re-sign it with the training job of this
        version (``wearable train refresh``).
    SignatureError
        The signature is malformed or does not verify with ``public_key``.
    PointerExpiredError
        ``expires`` is not after ``now``.
    ReleaseError
        Any other malformed field.
    """
    pointer, signature = _pointer_document(data)
    if signature is None:
        raise PointerUnsignedError(
            f"{POINTER_NAME} is an unsigned format-{POINTER_FORMAT_UNSIGNED} pointer; this "
            f"gateway follows only signed format-{POINTER_FORMAT} pointers: upgrade the "
            "training job and run `wearable train refresh --bucket ...` (or publish) to "
            "sign it"
        )
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(
            f"{POINTER_NAME}: signature is {len(signature)} bytes, an Ed25519 signature is "
            f"{SIGNATURE_BYTES}: the pointer is corrupt"
        )
    try:
        public_key.verify(signature, POINTER_CONTEXT + _signed_encode(pointer))
    except InvalidSignature:
        raise SignatureError(
            f"{POINTER_NAME}: signature does not verify with the configured public key "
            f"{public_key_encode(public_key)[:12]}...: the pointer was altered after signing "
            "or signed with a different key"
        ) from None
    assert pointer.expires is not None  # _signed_encode above refuses a pointer without
    if now.tzinfo is None:
        raise ReleaseError("pointer check: `now` must be time-zone aware (use UTC)")
    if pointer.expires <= now:
        raise PointerExpiredError(
            f"{POINTER_NAME} (counter {pointer.counter}, release {pointer.version}) expired "
            f"at {_expires_encode(pointer.expires)}, it is now {_expires_encode(now)}: "
            "re-sign it (`wearable train refresh`, or publish/roll back), or check this "
            "gateway's clock"
        )
    return pointer


def _pointer_document(data: bytes) -> tuple[Pointer, bytes | None]:
    """The pointer in ``data`` and its raw signature (``None`` for a legacy pointer)."""
    document = _json_object(data, POINTER_NAME)
    pointer_format = document.get("format")
    if pointer_format == POINTER_FORMAT_UNSIGNED:
        return _pointer_fields(document, signed=False), None
    if pointer_format != POINTER_FORMAT:
        raise ReleaseError(
            f"{POINTER_NAME}: format {pointer_format!r}, this code reads formats "
            f"{POINTER_FORMAT_UNSIGNED} and {POINTER_FORMAT}: upgrade the gateway"
        )
    signed = document.get("signed")
    if not isinstance(signed, dict):
        raise ReleaseError(f"{POINTER_NAME}: `signed` must be a JSON object")
    encoded = document.get("signature")
    try:
        signature = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
    except (binascii.Error, ValueError):
        signature = None
    if signature is None:
        raise SignatureError(f"{POINTER_NAME}: `signature` must be base64 of 64 bytes")
    return _pointer_fields(signed, signed=True), signature


def _pointer_fields(document: dict[str, Any], *, signed: bool) -> Pointer:
    version = version_check(document.get("version"))
    manifest = document.get("manifest")
    if manifest != manifest_object(version):
        raise ReleaseError(
            f"{POINTER_NAME}: manifest {manifest!r} is not {manifest_object(version)!r}"
        )
    digest = document.get("manifest_sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ReleaseError(f"{POINTER_NAME}: manifest_sha256 must be 64 lower-case hex digits")
    history = document.get("history", [])
    if not isinstance(history, list):
        raise ReleaseError(f"{POINTER_NAME}: history must be a list of versions")
    pointer = Pointer(version, manifest, digest, tuple(version_check(v) for v in history))
    if not signed:
        return pointer
    counter = document.get("counter")
    if not isinstance(counter, int) or isinstance(counter, bool) or counter < 1:
        raise ReleaseError(f"{POINTER_NAME}: counter {counter!r} must be an integer >= 1")
    expires = document.get("expires")
    try:
        when = datetime.strptime(str(expires), _EXPIRES_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ReleaseError(
            f"{POINTER_NAME}: expires {expires!r} is not a UTC time like 2027-01-06T01:02:03Z"
        ) from None
    statement = document.get("rollback")
    rollback = None
    if statement is not None:
        if not isinstance(statement, dict):
            raise ReleaseError(f"{POINTER_NAME}: rollback must be null or {{from, to}}")
        rollback = RollbackStatement(
            version_check(statement.get("from")), version_check(statement.get("to"))
        )
        if rollback.to_version != version:
            raise ReleaseError(
                f"{POINTER_NAME}: rollback statement authorises {rollback.to_version}, the "
                f"pointer names {version}"
            )
    return replace(pointer, counter=counter, expires=when, rollback=rollback)


# --------------------------------------------------------------------------- canary

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Canary:
    """Stored inputs ``(n, F)`` and the outputs ``(n, 6)`` the publisher's LiteRT gave."""

    inputs: FloatArray
    outputs: FloatArray
    atol: float


def canary_encode(
    inputs: npt.ArrayLike, outputs: npt.ArrayLike, atol: float = CANARY_ATOL
) -> dict[str, Any]:
    """The manifest's ``canary`` block; float32 values written as shortest round-trip text.

    Raises
    ------
    CanaryError
        Wrong shapes, non-finite values or a tolerance out of range.
    """
    canary = _canary_arrays(inputs, outputs, atol)
    # float32 -> Python float is exact, and repr() of that round-trips, so the gateway
    # reads back exactly the float32 values the publisher fed and received.
    return {
        "inputs": [[float(v) for v in row] for row in canary.inputs],
        "outputs": [[float(v) for v in row] for row in canary.outputs],
        "atol": canary.atol,
    }


def canary_parse(document: object) -> Canary:
    """Validate a manifest's ``canary`` block.

    Raises
    ------
    CanaryError
        Missing, wrong shapes, non-finite values, or a tolerance outside (0, 0.05].
    """
    if document is None:
        raise CanaryError("manifest has no canary: publish with cloud_training.publish")
    if not isinstance(document, dict):
        raise CanaryError("manifest canary must be an object with inputs, outputs and atol")
    for key in ("inputs", "outputs", "atol"):
        if key not in document:
            raise CanaryError(f"manifest canary has no {key!r}")
    try:
        inputs = np.asarray(document["inputs"], dtype=np.float32)
        outputs = np.asarray(document["outputs"], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise CanaryError(f"manifest canary inputs/outputs are not numeric tables: {exc}") from exc
    atol = document["atol"]
    if not isinstance(atol, int | float) or isinstance(atol, bool):
        raise CanaryError(f"manifest canary atol {atol!r} is not a number")
    return _canary_arrays(inputs, outputs, float(atol))


def _canary_arrays(inputs: npt.ArrayLike, outputs: npt.ArrayLike, atol: float) -> Canary:
    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(outputs, dtype=np.float32)
    n_features, n_outputs = len(FEATURE_NAMES), len(ANOMALY_TYPES)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != n_features:
        raise CanaryError(f"canary inputs have shape {x.shape}, expected (n >= 1, {n_features})")
    if y.shape != (x.shape[0], n_outputs):
        raise CanaryError(f"canary outputs have shape {y.shape}, expected ({x.shape[0]}, 6)")
    if not np.isfinite(x).all():
        raise CanaryError("canary inputs contain NaN or infinite values")
    if not np.isfinite(y).all():
        raise CanaryError("canary expected outputs contain NaN or infinite values")
    if not (math.isfinite(atol) and 0.0 < atol <= CANARY_ATOL_MAX):
        raise CanaryError(f"canary atol {atol} must be in (0, {CANARY_ATOL_MAX}]")
    return Canary(x, y, atol)


def canary_compare(canary: Canary, actual: npt.ArrayLike) -> None:
    """Check a model's outputs on the canary inputs against the expected ones.

    Raises
    ------
    CanaryError
        Wrong shape, any non-finite output, or any output further than ``atol`` from the
        expected value (the message gives the worst row, column and difference).

    Examples
    --------
    >>> c = canary_parse({"inputs": [[0.0] * len(FEATURE_NAMES)], "outputs": [[0.5] * 6],
    ...                   "atol": 0.001})
    >>> canary_compare(c, [[0.5] * 6])
    >>> canary_compare(c, [[0.5] * 5 + [0.6]])
    Traceback (most recent call last):
    ...
    wearable_core.contracts.model_release.CanaryError: canary mismatch: row 0 fall = 0.6, \
expected 0.5 (|diff| 0.1 > atol 0.001)
    """
    y = np.asarray(actual, dtype=np.float32)
    if y.shape != canary.outputs.shape:
        raise CanaryError(f"canary outputs have shape {y.shape}, expected {canary.outputs.shape}")
    bad = ~np.isfinite(y)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise CanaryError(
            f"canary output is not finite: row {row} {ANOMALY_TYPES[col]} = {y[row, col]} "
            f"({int(bad.sum())} non-finite values)"
        )
    diff = np.abs(y.astype(np.float64) - canary.outputs.astype(np.float64))
    row, col = (int(v) for v in np.unravel_index(int(np.argmax(diff)), diff.shape))
    worst = float(diff[row, col])
    if worst > canary.atol:
        raise CanaryError(
            f"canary mismatch: row {row} {ANOMALY_TYPES[col]} = {float(y[row, col]):.6g}, "
            f"expected {float(canary.outputs[row, col]):.6g} "
            f"(|diff| {worst:.3g} > atol {canary.atol:g})"
        )
