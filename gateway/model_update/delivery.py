"""Poll the bucket for a new model release, verify it completely, and install it.

One :meth:`ModelUpdater.check` per sync cycle. The checks, in order (each a pure
function over bytes; the bucket reads are at the edges):

1. pointer ``models/current.json`` is signed (format 2), verifies with the configured
   Ed25519 public key and has not expired; its counter is not below the newest pointer
   this gateway accepted (kept in ``<dir>/pointer.json``), and it goes back to a release
   that pointer superseded only with a signed rollback statement; its version differs
   from the serving one;
2. this pointer (version + manifest SHA-256) was not refused before (memory and disk);
3. the manifest's SHA-256 equals the pointer's;
4. the signature object exists ("unsigned" otherwise) and verifies with the configured
   Ed25519 public key over the exact manifest bytes;
5. the manifest names the pointer's version and fits this gateway (``manifest_parse``:
   feature schema, features, outputs, thresholds, window);
6. the model object's size and SHA-256 match the manifest;
7. the flatbuffer loads in LiteRT and reproduces the manifest's canary (finite, within
   ``atol``);
8. install: files first, then an atomic swap of ``current.json``; then the pointer is
   recorded as the newest accepted (also when it names the serving release).

Any failure is a refusal: one ERROR log line naming the version, the check and what to
do; ``current.json`` is not touched, so the serving model keeps serving. Transient
bucket errors are not refusals (status ``unavailable``; the next poll retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.model_update.installed import (
    InstalledModel,
    ModelDirectory,
    ModelDirectoryError,
    Refusal,
)
from wearable_core.buckets.base import Bucket, BucketUnavailable, ObjectNotFound
from wearable_core.contracts.features import FEATURE_SCHEMA_VERSION
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    Pointer,
    PointerExpiredError,
    PointerUnsignedError,
    ReleaseError,
    SignatureError,
    model_object,
    pointer_verify,
    public_key_encode,
    sha256_hex,
    signature_object,
)
from wearable_core.model.release_checks import (
    Refused,
    canary_check,
    manifest_check,
    model_check,
    pointer_order_check,
)

log = logging.getLogger(__name__)

Status = Literal["up_to_date", "installed", "refused", "no_release", "unavailable"]

#: A model larger than this is refused before download (the baseline is ~9 KiB).
MODEL_BYTES_MAX = 64 * 1024 * 1024

# What an operator should do after each failed check.
_ADVICE: dict[str, str] = {
    "pointer": "fix models/current.json (re-run the publish or a rollback)",
    "pointer_unsigned": (
        "upgrade the training job, then sign the pointer: `wearable train refresh --bucket "
        "...` (check the release it names first) or publish a new release"
    ),
    "pointer_signature": (
        "check that [models] public_key is the public half of the signing key; if it is, "
        "someone other than the training job wrote models/current.json: re-sign it with "
        "`wearable train refresh` and review who can write the bucket"
    ),
    "pointer_expired": (
        "re-sign the pointer with `wearable train refresh --bucket ...` (the training job "
        "does this on every run; is it still running?), or fix this gateway's clock"
    ),
    "pointer_replay": (
        "someone put an older signed pointer back into the bucket: review who can write "
        "it, then publish or `wearable train refresh` to sign a newer one"
    ),
    "pointer_rollback": (
        "to go back to an earlier release use `wearable train rollback --to VERSION`, "
        "which signs the rollback statement"
    ),
    "manifest_missing": "the release is incomplete: publish it again under a new version",
    "manifest_sha256": "the pointer and the manifest do not belong together: re-publish",
    "unsigned": "publish with cloud_training.publish.release_publish and the signing key",
    "signature": (
        "check that [models] public_key is the public half of the signing key, and "
        "re-publish under a new version if the manifest was altered"
    ),
    "manifest": "the manifest is malformed: fix the training job and publish a new version",
    "incompatible": (
        f"this gateway computes feature schema {FEATURE_SCHEMA_VERSION}: retrain on it, or "
        "upgrade the gateway before pointing it at this model"
    ),
    "model_missing": "the release is incomplete: publish it again under a new version",
    "model_size": "the model object is corrupt or was replaced: publish a new version",
    "model_sha256": "the model object is corrupt or was replaced: publish a new version",
    "model_load": "the flatbuffer does not load in this gateway's LiteRT: check the conversion",
    "canary": (
        "the model does not reproduce its published outputs here: check the LiteRT version "
        "and the conversion, then publish a new version"
    ),
}


#: ``UpdateResult.check`` of an ``unavailable`` result that the gateway's own model
#: directory caused (disk full, permissions), not the bucket: a monitor tells them apart.
LOCAL_FAILURE = "local"


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of one :meth:`ModelUpdater.check`.

    ``installed`` is set when ``status == "installed"``: load ``installed.path`` with
    ``wearable_core.model.model_file.model_load`` and swap it in. ``check`` names the
    check a ``refused`` release failed, and is :data:`LOCAL_FAILURE` for an
    ``unavailable`` result the gateway's own model directory caused.
    """

    status: Status
    version: str | None = None
    reason: str = ""
    check: str | None = None
    installed: InstalledModel | None = None


# ---------------------------------------------------------------- the updater


class ModelUpdater:
    """Follows the bucket's model pointer and installs verified releases.

    Parameters
    ----------
    bucket : Bucket
        Where releases are published.
    directory : ModelDirectory
        The gateway's local model directory.
    public_key : Ed25519PublicKey
        The release signing key's public half (``public_key_parse(config value)``).
    serving_version : str or callable returning str
        The version the gateway serves now (a callable is asked on every check, so a
        hot swap is seen at once).
    logger : logging.Logger, optional
        Where refusals and installs are logged (default: this module's logger).
    clock : callable returning datetime, optional
        The current UTC time, against which the pointer's expiry is checked (default:
        the system clock; tests pass a fixed one).

    Examples
    --------
    ::

        updater = ModelUpdater(bucket, ModelDirectory(dir), public_key_parse(key_b64),
                               serving_version=lambda: detector.model_version)
        result = updater.check()
        if result.status == "installed":
            detector.swap(model_load(result.installed.path))
    """

    def __init__(
        self,
        bucket: Bucket,
        directory: ModelDirectory,
        public_key: Ed25519PublicKey,
        *,
        serving_version: Callable[[], str] | str,
        logger: logging.Logger | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.bucket = bucket
        self._clock = clock or (lambda: datetime.now(UTC))
        self.directory = directory
        self.public_key = public_key
        self._serving = serving_version
        self.log = logger or log
        # Refusals depend on the release *and* on this gateway (key, feature schema):
        # a key rotation or a gateway upgrade must get a fresh look at old releases.
        self.context = f"schema={FEATURE_SCHEMA_VERSION};key={public_key_encode(public_key)}"
        self._refused: dict[tuple[str, str], Refusal] = {
            (r.version, r.manifest_sha256): r
            for r in directory.refusals()
            if r.context == self.context
        }

    def serving_version(self) -> str:
        """The version the gateway serves now."""
        return self._serving() if callable(self._serving) else self._serving

    def check(self) -> UpdateResult:
        """Poll once: install the pointer's release if it is new and passes every check.

        Never raises for bucket or release problems (they are results); the current model
        keeps serving unless the status is ``installed``.
        """
        try:
            return self._check()
        except BucketUnavailable as exc:
            self.log.warning("model update: bucket unavailable, will retry: %s", exc)
            return UpdateResult("unavailable", reason=str(exc))
        except ModelDirectoryError as exc:
            # Local state, not the release: keep serving what is loaded, retry next poll.
            self.log.error("model update: local model directory: %s", exc)
            return UpdateResult("unavailable", reason=str(exc), check=LOCAL_FAILURE)

    def _check(self) -> UpdateResult:
        serving = self.serving_version()
        try:
            raw_pointer, _ = self.bucket.read(POINTER_NAME)
        except ObjectNotFound:
            return UpdateResult("no_release", reason=f"no {POINTER_NAME} in {self.bucket.url}")
        # The pointer checks are cheap and run on every poll (an expiry refused because
        # of a wrong clock clears once the clock is right); a refusal is logged once.
        pointer_digest = sha256_hex(raw_pointer)
        try:
            pointer = self._pointer_verify(raw_pointer)
        except Refused as refusal:
            return self._refuse(("?", pointer_digest), None, refusal, serving)
        trusted = self.directory.trusted_pointer()
        try:
            pointer_order_check(trusted, pointer)
        except Refused as refusal:
            return self._refuse(
                (pointer.version, pointer_digest), pointer.version, refusal, serving
            )
        if pointer.version == serving:
            self._trust(trusted, pointer, raw_pointer)
            return UpdateResult("up_to_date", pointer.version)
        key = (pointer.version, pointer.manifest_sha256)
        known = self._refused.get(key)
        if known is not None:
            self.log.debug("model release %s: refused before (%s)", pointer.version, known.check)
            return UpdateResult(
                "refused",
                pointer.version,
                f"refused before ({known.check}): {known.reason}",
                known.check,
            )
        local = self.directory.current()
        if (
            local is not None
            and local.version == pointer.version
            and local.manifest_sha256() == pointer.manifest_sha256
        ):
            # Installed by an earlier check, but the gateway did not load it (for example
            # it restarted in between): no need to download it again.
            self._trust(trusted, pointer, raw_pointer)
            return UpdateResult("installed", local.version, "installed earlier", None, local)
        try:
            result = self._download_install(pointer, serving)
        except Refused as refusal:
            return self._refuse(key, pointer.version, refusal, serving)
        if result.status == "installed":
            self._trust(trusted, pointer, raw_pointer)
        return result

    def _pointer_verify(self, raw: bytes) -> Pointer:
        """Check 1 up to the counter: signed, this key, not expired (else ``Refused``)."""
        try:
            return pointer_verify(raw, self.public_key, self._clock())
        except PointerUnsignedError as exc:
            raise Refused("pointer_unsigned", str(exc)) from exc
        except PointerExpiredError as exc:
            raise Refused("pointer_expired", str(exc)) from exc
        except SignatureError as exc:
            raise Refused("pointer_signature", str(exc)) from exc
        except ReleaseError as exc:
            raise Refused("pointer", str(exc)) from exc

    def _trust(self, trusted: Pointer | None, pointer: Pointer, raw: bytes) -> None:
        """Record ``raw`` as the newest accepted pointer if it is newer than ``trusted``."""
        if trusted is None or pointer.counter > trusted.counter:
            if pointer.rollback is not None:
                self.log.warning(
                    "model pointer %d: signed rollback from %s to %s accepted",
                    pointer.counter,
                    pointer.rollback.from_version,
                    pointer.rollback.to_version,
                    extra={"model_version": pointer.version},
                )
            self.directory.trusted_pointer_set(raw)

    def _read_optional(self, name: str) -> bytes | None:
        try:
            data, _ = self.bucket.read(name)
        except ObjectNotFound:
            return None
        return data

    def _download_install(self, pointer: Pointer, serving: str) -> UpdateResult:
        manifest_bytes = self._read_optional(pointer.manifest)
        if manifest_bytes is None:
            raise Refused("manifest_missing", f"no manifest object {pointer.manifest}")
        signature = self._read_optional(signature_object(pointer.version))
        manifest = manifest_check(pointer, manifest_bytes, signature, self.public_key)
        name = model_object(pointer.version)
        info = self.bucket.stat(name)
        if info is None:
            raise Refused("model_missing", f"no model object {name}")
        expected = manifest.model_bytes
        # Stat first so a wrong or huge object is refused without downloading it.
        if info.size > MODEL_BYTES_MAX or (expected is not None and info.size != expected):
            raise Refused(
                "model_size",
                f"model object is {info.size} bytes, the manifest says {expected} "
                f"(limit {MODEL_BYTES_MAX})",
            )
        model_bytes = self._read_optional(name)
        if model_bytes is None:
            raise Refused("model_missing", f"no model object {name}")
        model_check(manifest, model_bytes)
        canary_check(manifest, model_bytes)
        try:
            installed = self.directory.install(pointer.version, model_bytes, manifest.raw)
        except (OSError, RuntimeError) as exc:
            # Local disk trouble is not the release's fault: do not remember it.
            self.log.error(
                "model release %s verified but not installed: %s; still serving %s",
                pointer.version,
                exc,
                serving,
            )
            return UpdateResult(
                "unavailable", pointer.version, f"install failed: {exc}", LOCAL_FAILURE
            )
        self.log.info(
            "model release %s installed (was serving %s)",
            pointer.version,
            serving,
            extra={"model_version": pointer.version},
        )
        return UpdateResult("installed", pointer.version, "", None, installed)

    def _refuse(
        self, key: tuple[str, str], version: str | None, refusal: Refused, serving: str
    ) -> UpdateResult:
        if key in self._refused:
            return UpdateResult("refused", version, str(refusal), refusal.check)
        advice = _ADVICE.get(refusal.check, "publish a new version")
        label = version if version is not None else "(unreadable pointer)"
        self.log.error(
            "model release %s refused: %s check failed: %s; still serving %s; %s",
            label,
            refusal.check,
            refusal,
            serving,
            advice,
            extra={"model_version": label, "check": refusal.check},
        )
        entry = Refusal(key[0], key[1], refusal.check, str(refusal), self.context)
        self._refused[key] = entry
        try:
            self.directory.refusal_add(entry)
        except OSError as exc:
            self.log.warning("cannot remember the refusal on disk: %s", exc)
        return UpdateResult("refused", version, str(refusal), refusal.check)
