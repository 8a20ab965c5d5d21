"""Publish a trained model to the bucket as a signed release, and roll the pointer back.

Layout, pointer and signature: ``wearable_core.contracts.model_release`` and
``docs/formats/model_release.md``. The order of writes is what makes a release safe to
read at any moment:

1. ``models/releases/<v>/model.tflite`` (create-only: immutable);
2. ``models/releases/<v>/manifest.json`` with ``sha256``, ``bytes`` and ``canary`` filled
   in (create-only);
3. ``models/releases/<v>/manifest.sig`` (create-only);
4. ``models/current.json``, signed with the same key (counter one above the pointer it
   replaces, an expiry ``valid_for`` after ``now``) and moved by compare-and-swap on the
   generation read *before* step 1, so two publishers racing cannot silently undo each
   other.

A gateway only follows the pointer, and the pointer only ever names a release whose three
objects are complete. Every step is idempotent: re-running a publish that crashed midway
finds identical bytes already present (canonical JSON, deterministic Ed25519) and goes on.
Publishing a version again with the same model and the same gateway-facing manifest
fields (:data:`RELEASE_FIELDS`) but other provenance (validation metrics, the release it
replaces) reuses the release already stored instead of failing: its objects are kept as
they are and the pointer is moved to it. A lost response on the pointer write is the
bucket's to recognise (``Bucket.replace``), so it is not mistaken for another publisher.

Gateways refuse a pointer whose counter is below the newest they accepted (a replayed old
pointer), an expired one, and one that moves them back to a release they saw superseded
unless it carries a signed rollback statement, which :func:`release_rollback` (and a
publish that makes an earlier release current again) writes. :func:`release_refresh`
re-signs the pointer before it expires.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wearable_core.buckets.base import Bucket, GenerationMismatch, ObjectConflict, ObjectNotFound
from wearable_core.contracts.features import FEATURE_NAMES, feature_index
from wearable_core.contracts.model_release import (
    CANARY_ATOL,
    POINTER_HISTORY_MAX,
    POINTER_NAME,
    POINTER_VALID,
    Pointer,
    ReleaseError,
    RollbackStatement,
    SignatureError,
    canary_encode,
    manifest_decode,
    manifest_encode,
    manifest_object,
    manifest_sign,
    manifest_verify,
    model_object,
    pointer_expiry,
    pointer_for,
    pointer_parse,
    pointer_sign,
    sha256_hex,
    signature_object,
    version_check,
)
from wearable_core.model.model_file import manifest_parse
from wearable_core.model.runtime import ModelError, ModelRunner

log = logging.getLogger(__name__)

#: Seed of the default canary inputs (fixed so a re-publish writes identical bytes).
CANARY_SEED = 20261126
#: Rows in the default canary.
CANARY_ROWS = 16
#: Manifest fields that decide what a gateway runs and how: two manifests of one version
#: that agree on these describe the same release, whatever their provenance fields say.
RELEASE_FIELDS = (
    "version",
    "sha256",
    "bytes",
    "feature_schema_version",
    "features",
    "window_s",
    "outputs",
    "thresholds",
)

# A resting adult with good signal: the centre the default canary rows vary around.
_NORMAL: dict[str, float] = {
    "hr_mean": 72.0,
    "hr_min": 66.0,
    "hr_max": 79.0,
    "rr_count": 71.0,
    "hrv_rmssd": 35.0,
    "hrv_sdnn": 45.0,
    "hrv_pnn50": 12.0,
    "irr_nrmssd": 0.04,
    "irr_shannon_entropy": 0.45,
    "irr_tpr": 0.66,
    "spo2_mean": 97.0,
    "spo2_min": 95.0,
    "spo2_s_below_90": 0.0,
    "spo2_s_below_88": 0.0,
    "temp_level": 33.5,
    "temp_trend": 0.0,
    "act_enmo": 0.01,
    "act_cadence": 0.0,
    "act_mag_sd": 0.01,
    "fall_peak": 1.1,
    "fall_stillness": 0.01,
    "q_contact_fraction": 1.0,
    "q_data_fraction": 1.0,
    "q_motion_artifact": 0.0,
    "q_flat_line": 0.0,
    "irr_ectopic_fraction": 0.01,
    "irr_nn_nrmssd": 0.04,
    "q_beat_coverage": 1.0,
    "fall_free_fall": 0.95,
    "hr_nn_mean": 70.0,
}
# One archetype per anomaly type, so the canary exercises every output away from 0.
_ARCHETYPES: tuple[dict[str, float], ...] = (
    {
        "hr_mean": 145.0,
        "hr_min": 138.0,
        "hr_max": 152.0,
        "rr_count": 144.0,
        "hrv_rmssd": 8.0,
        "hr_nn_mean": 145.0,
    },
    {
        "hr_mean": 38.0,
        "hr_min": 35.0,
        "hr_max": 42.0,
        "rr_count": 38.0,
        "hrv_rmssd": 40.0,
        "hr_nn_mean": 38.0,
    },
    {
        "hr_mean": 110.0,
        "hr_nn_mean": 110.0,
        "hr_min": 80.0,
        "hr_max": 150.0,
        "hrv_rmssd": 160.0,
        "hrv_sdnn": 130.0,
        "hrv_pnn50": 70.0,
        "irr_nrmssd": 0.28,
        "irr_shannon_entropy": 0.85,
        "irr_tpr": 0.75,
        "irr_ectopic_fraction": 0.4,
        "irr_nn_nrmssd": 0.15,
        "q_beat_coverage": 0.6,
    },
    {"spo2_mean": 86.0, "spo2_min": 83.0, "spo2_s_below_90": 50.0, "spo2_s_below_88": 40.0},
    {
        "temp_level": 36.0,
        "temp_trend": 1.2,
        "hr_mean": 92.0,
        "hr_min": 86.0,
        "hr_max": 99.0,
        "hr_nn_mean": 92.0,
    },
    {
        "fall_peak": 4.5,
        "fall_stillness": 0.005,
        "fall_free_fall": 0.25,
        "act_enmo": 0.12,
        "act_mag_sd": 0.6,
    },
)


class PublishError(RuntimeError):
    """A release cannot be published (the message says why and what to do)."""


class PointerConflict(PublishError):
    """Another publisher moved ``models/current.json`` while this one was publishing."""


def canary_inputs_default(rows: int = CANARY_ROWS, seed: int = CANARY_SEED) -> npt.NDArray[Any]:
    """Deterministic, plausible feature vectors for the canary, ``float32 (rows, F)``.

    Row 0 is a resting adult, rows 1-6 one archetype per anomaly type (tachycardia,
    bradycardia, AF, desaturation, fever, fall), the rest the resting adult with seeded
    multiplicative jitter (±30 %), so outputs are spread between 0 and 1 rather than all
    saturated, which is where a different or corrupted model shows.

    Examples
    --------
    >>> canary_inputs_default().shape
    (16, 28)
    >>> bool((canary_inputs_default() == canary_inputs_default()).all())
    True
    """
    base = np.array([_NORMAL[name] for name in FEATURE_NAMES], dtype=np.float64)
    table = [base.copy()]
    for archetype in _ARCHETYPES:
        row = base.copy()
        for name, value in archetype.items():
            row[feature_index(name)] = value
        table.append(row)
    rng = np.random.default_rng(seed)
    while len(table) < rows:
        table.append(base * rng.uniform(0.7, 1.3, size=base.shape))
    return np.asarray(table[:rows], dtype=np.float32)


def canary_compute(
    model_bytes: bytes, inputs: npt.ArrayLike, atol: float = CANARY_ATOL
) -> dict[str, Any]:
    """Run the model with LiteRT (as a gateway will) and return the manifest's canary block.

    All rows run as one batch, as the gateway runs them.

    Raises
    ------
    PublishError
        The model does not load, or gives non-finite outputs on the canary inputs.
    """
    try:
        runner = ModelRunner(model_bytes)
        outputs = runner.predict(inputs)
    except (ModelError, ValueError) as exc:
        raise PublishError(f"cannot compute the canary: {exc}") from exc
    try:
        return canary_encode(inputs, outputs, atol)
    except ReleaseError as exc:
        raise PublishError(f"refusing to publish: {exc}") from exc


def _pointer_read(bucket: Bucket) -> tuple[Pointer | None, int]:
    try:
        data, generation = bucket.read(POINTER_NAME)
    except ObjectNotFound:
        return None, 0
    return pointer_parse(data), generation


def _history(current: Pointer | None, new_version: str) -> tuple[str, ...]:
    if current is None:
        return ()
    earlier = (current.version, *current.history)
    # A version appears once: re-publishing an old version moves it, it does not repeat.
    seen: list[str] = []
    for version in earlier:
        if version != new_version and version not in seen:
            seen.append(version)
    return tuple(seen[:POINTER_HISTORY_MAX])


def _pointer_next(
    current: Pointer | None,
    target: str,
    manifest_bytes: bytes,
    history: tuple[str, ...],
    *,
    now: datetime | None,
    valid_for: timedelta,
    rollback: RollbackStatement | None,
) -> Pointer:
    """The pointer that replaces ``current``: counter one higher, expiry from ``now``."""
    try:
        expires = pointer_expiry(datetime.now(UTC) if now is None else now, valid_for)
    except ReleaseError as exc:
        raise PublishError(str(exc)) from exc
    counter = (current.counter if current is not None else 0) + 1
    return pointer_for(
        target, manifest_bytes, history, counter=counter, expires=expires, rollback=rollback
    )


def _pointer_move(
    bucket: Bucket,
    pointer: Pointer,
    private_key: Ed25519PrivateKey,
    generation: int,
    seen: Pointer | None,
) -> None:
    try:
        bucket.replace(POINTER_NAME, pointer_sign(pointer, private_key), if_generation=generation)
    except GenerationMismatch as exc:
        was = seen.version if seen else "nothing"
        raise PointerConflict(
            f"{bucket.url}: another publisher moved {POINTER_NAME} (expected generation "
            f"{generation}, when it named {was}; now at {exc.actual}) while release "
            f"{pointer.version} was being published. The release objects are uploaded but "
            f"{pointer.version} is NOT current: check which release should serve, then re-run "
            "the publish (idempotent) or roll back"
        ) from exc


def release_publish(
    bucket: Bucket,
    model_bytes: bytes,
    manifest: dict[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    canary_inputs: npt.ArrayLike | None = None,
    canary_atol: float = CANARY_ATOL,
    now: datetime | None = None,
    valid_for: timedelta = POINTER_VALID,
) -> str:
    """Publish ``model_bytes`` as release ``manifest["version"]`` and make it current.

    ``manifest`` is the training job's manifest (``docs/formats/model_manifest.md``:
    version, feature schema, features, outputs, thresholds, metrics, training data
    range...); ``sha256``, ``bytes`` and ``canary`` are filled in here. It is checked with
    the gateway's own ``manifest_parse`` first, so a release a gateway would refuse for
    its schema is never published.

    Parameters
    ----------
    bucket : Bucket
        Where releases live.
    model_bytes : bytes
        The TFLite flatbuffer.
    manifest : dict
        The manifest; not modified.
    private_key : Ed25519PrivateKey
        The signing key (``private_key_load(path)``).
    canary_inputs : array-like (n, F), optional
        Feature rows for the canary; default :func:`canary_inputs_default`.
    canary_atol : float, optional
        Tolerance gateways apply to the canary outputs (default ``CANARY_ATOL``).
    now : datetime, optional
        The time the pointer's expiry counts from (default: the clock; tests pass it).
    valid_for : timedelta, optional
        How long gateways trust the new pointer (default ``POINTER_VALID``).

    Returns
    -------
    str
        The published version.

    Raises
    ------
    PublishError
        The manifest or model fails a check, or the canary cannot be computed.
    PointerConflict
        Another publisher moved the pointer meanwhile (this release is uploaded, not current).
    wearable_core.buckets.base.ObjectConflict
        Release ``version`` already exists with a different model or different
        :data:`RELEASE_FIELDS`: versions are immutable, publish under a new version. (A
        stored release that differs only in provenance is reused and made current.)
    wearable_core.buckets.base.BucketUnavailable
        Transient storage failure; re-running is safe.
    """
    document = copy.deepcopy(manifest)
    try:
        version = version_check(document.get("version"))
    except ReleaseError as exc:
        raise PublishError(str(exc)) from exc
    document["sha256"] = sha256_hex(model_bytes)
    document["bytes"] = len(model_bytes)
    try:
        manifest_parse(document, model_bytes, f"release {version} manifest")
    except ModelError as exc:
        raise PublishError(f"refusing to publish: {exc}") from exc
    inputs = canary_inputs_default() if canary_inputs is None else canary_inputs
    document["canary"] = canary_compute(model_bytes, inputs, canary_atol)
    try:
        manifest_bytes = manifest_encode(document)
    except ReleaseError as exc:
        raise PublishError(f"refusing to publish: {exc}") from exc
    signature = manifest_sign(manifest_bytes, private_key)

    # Read before uploading: the CAS then covers the whole publish, so a release that
    # another publisher made current meanwhile is never silently pushed into history.
    current, generation = _pointer_read(bucket)
    bucket.create(model_object(version), model_bytes)
    try:
        bucket.create(manifest_object(version), manifest_bytes)
    except ObjectConflict:
        manifest_bytes = _same_release(bucket, version, document)
        signature = manifest_sign(manifest_bytes, private_key)
    bucket.create(signature_object(version), signature)
    if (
        current is not None
        and current.signed
        and (current.version, current.manifest_sha256) == (version, sha256_hex(manifest_bytes))
    ):
        log.info("model release %s is already current", version)
        return version
    rollback = None
    if current is not None and version in current.history:
        # Gateways refuse to go back to a release they saw superseded unless the signed
        # pointer says so; a publish that does it (a rerun that rebuilt an earlier model and
        # passed the gate) means it, so it says so, and the log shows it.
        rollback = RollbackStatement(current.version, version)
        log.warning("release %s was current before: publishing it again is a rollback", version)
    pointer = _pointer_next(
        current,
        version,
        manifest_bytes,
        _history(current, version),
        now=now,
        valid_for=valid_for,
        rollback=rollback,
    )
    _pointer_move(bucket, pointer, private_key, generation, current)
    log.info(
        "published model release %s (sha256 %s, %d bytes)",
        version,
        document["sha256"],
        len(model_bytes),
        extra={"model_version": version},
    )
    return version


def _same_release(bucket: Bucket, version: str, document: dict[str, Any]) -> bytes:
    """The stored manifest of ``version`` if it describes the same release as ``document``
    (equal :data:`RELEASE_FIELDS`), else :class:`ObjectConflict`.

    Why reuse rather than refuse: a rerun of the training job on unchanged data (``--force``,
    or a retry) builds the same model and thresholds, hence the same version, but its
    manifest names another release it replaces. Refusing made that rerun fail forever.
    """
    stored, _ = bucket.read(manifest_object(version))
    try:
        existing = manifest_decode(stored)
    except ReleaseError:
        raise ObjectConflict(manifest_object(version), url=bucket.url) from None
    differing = [f for f in RELEASE_FIELDS if existing.get(f) != document.get(f)]
    if differing:
        log.error(
            "release %s already exists and differs in %s: versions are immutable",
            version,
            ", ".join(differing),
        )
        raise ObjectConflict(manifest_object(version), url=bucket.url)
    log.info("release %s already exists with the same model and thresholds: reusing it", version)
    return stored


def release_rollback(
    bucket: Bucket,
    private_key: Ed25519PrivateKey,
    to_version: str | None = None,
    *,
    now: datetime | None = None,
    valid_for: timedelta = POINTER_VALID,
) -> str:
    """Point ``models/current.json`` back at an earlier release; returns its version.

    Without ``to_version``: the previous serving release (the head of the pointer's
    history), which is removed from the history, so rolling back twice goes two releases
    back. With ``to_version``: that release (it must exist in the bucket); the version
    serving now goes to the head of the history. Release objects are never deleted.

    The new pointer is signed, its counter one above the current one, and it carries the
    rollback statement (from the serving version to the target) without which gateways
    refuse to go back to a release they saw superseded.

    Parameters
    ----------
    bucket : Bucket
        Where releases live.
    private_key : Ed25519PrivateKey
        The release signing key: it signs the pointer, and the target's manifest signature
        is verified with its public half first, so the pointer is never moved to a release
        every gateway would refuse.
    to_version : str, optional
        The release to serve.
    now : datetime, optional
        The time the pointer's expiry counts from (default: the clock).
    valid_for : timedelta, optional
        How long gateways trust the new pointer (default ``POINTER_VALID``).

    Raises
    ------
    PublishError
        No pointer, empty history, the target release is missing or its signature fails.
    PointerConflict
        Another publisher moved the pointer meanwhile.
    """
    current, generation = _pointer_read(bucket)
    if current is None:
        raise PublishError(f"{bucket.url}: no {POINTER_NAME}: nothing was published yet")
    if to_version is None:
        if not current.history:
            raise PublishError(
                f"{bucket.url}: release {current.version} has no earlier release in the "
                "pointer's history: pass to_version (see the releases under models/releases/)"
            )
        target, history = current.history[0], current.history[1:]
    else:
        target = version_check(to_version)
        history = _history(current, target)
    manifest_bytes = _signed_manifest(bucket, target, private_key, "cannot roll back to it")
    pointer = _pointer_next(
        current,
        target,
        manifest_bytes,
        history,
        now=now,
        valid_for=valid_for,
        rollback=RollbackStatement(current.version, target),
    )
    _pointer_move(bucket, pointer, private_key, generation, current)
    log.warning(
        "rolled model release back from %s to %s (pointer counter %d)",
        current.version,
        target,
        pointer.counter,
        extra={"model_version": target},
    )
    return target


def release_refresh(
    bucket: Bucket,
    private_key: Ed25519PrivateKey,
    *,
    now: datetime | None = None,
    valid_for: timedelta = POINTER_VALID,
    min_remaining: timedelta | None = None,
) -> Pointer | None:
    """Re-sign ``models/current.json`` unchanged but for a higher counter and a new expiry.

    What keeps gateways following a bucket in which nothing is published for a while
    (they refuse an expired pointer), and how a legacy unsigned pointer is signed for the
    first time: check that it names the release you want serving first, since anyone who
    could write the bucket could have moved an unsigned pointer. A rollback statement in the
    pointer is kept, so gateways that have not yet followed the rollback still accept it.

    Parameters
    ----------
    bucket, private_key
        As for :func:`release_publish`.
    now : datetime, optional
        The time the expiry counts from (default: the clock).
    valid_for : timedelta, optional
        How long gateways trust the new pointer (default ``POINTER_VALID``).
    min_remaining : timedelta, optional
        Only re-sign when the signed pointer expires within this (``None``: always).

    Returns
    -------
    Pointer or None
        The new pointer; ``None`` (nothing written) when it still had at least
        ``min_remaining`` left, or, with ``min_remaining``, when there is no pointer yet.

    Raises
    ------
    PublishError
        No pointer, or the release it names is missing or its signature fails.
    PointerConflict
        Another publisher moved the pointer meanwhile.
    """
    when = datetime.now(UTC) if now is None else now
    current, generation = _pointer_read(bucket)
    if current is None:
        if min_remaining is not None:
            return None  # keeping fresh what does not exist is nothing to do
        raise PublishError(f"{bucket.url}: no {POINTER_NAME}: nothing was published yet")
    if (
        min_remaining is not None
        and current.expires is not None
        and current.expires - when >= min_remaining
    ):
        return None
    manifest_bytes = _signed_manifest(
        bucket, current.version, private_key, "refusing to re-sign a pointer to it"
    )
    pointer = _pointer_next(
        current,
        current.version,
        manifest_bytes,
        current.history,
        now=when,
        valid_for=valid_for,
        rollback=current.rollback,
    )
    _pointer_move(bucket, pointer, private_key, generation, current)
    log.info(
        "re-signed %s: release %s, counter %d, expires %s",
        POINTER_NAME,
        pointer.version,
        pointer.counter,
        pointer.expires,
        extra={"model_version": pointer.version},
    )
    return pointer


def _signed_manifest(
    bucket: Bucket, target: str, private_key: Ed25519PrivateKey, consequence: str
) -> bytes:
    """The manifest bytes of release ``target``, checked to name it and to verify with
    ``private_key``'s public half, so no pointer is ever signed for a release every gateway
    would refuse."""
    try:
        manifest_bytes, _ = bucket.read(manifest_object(target))
    except ObjectNotFound:
        raise PublishError(
            f"{bucket.url}: release {target} has no manifest ({manifest_object(target)}): "
            f"{consequence}"
        ) from None
    try:
        if manifest_decode(manifest_bytes).get("version") != target:
            raise PublishError(f"release {target}: its manifest names another version")
        signature, _ = bucket.read(signature_object(target))
        manifest_verify(manifest_bytes, signature, private_key.public_key())
    except ObjectNotFound:
        raise PublishError(f"release {target} is unsigned: {consequence}") from None
    except (SignatureError, ReleaseError) as exc:
        raise PublishError(f"release {target}: {exc}: {consequence}") from exc
    return manifest_bytes
