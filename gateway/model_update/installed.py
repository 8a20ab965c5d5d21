"""The gateway's local model directory: installed releases, the current one, rollback.

Layout under ``root``::

    <version>/model.tflite     the flatbuffer
    <version>/model.json       its manifest, byte for byte as signed in the bucket
    current.json               {"format": 1, "current": "<v>", "previous": "<v>" | null}
    pointer.json               the newest signed bucket pointer accepted, byte for byte
    refused.json               releases refused before (see ModelUpdater)

``current.json`` is the only thing that decides which model serves, and it is replaced
atomically (temp file, fsync, ``os.replace``, fsync of the directory). A version's files
are written into a temporary directory, fsynced and renamed into place *before* the
swap, so a crash at any point leaves either the old or the new model current, never a
half-written one; leftovers of an interrupted install are removed by the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wearable_core.contracts.model_release import (
    Pointer,
    ReleaseError,
    pointer_parse,
    version_check,
)

CURRENT_FILE = "current.json"
#: The newest signed pointer this gateway accepted: its counter is the floor below which
#: a pointer is a replay (``wearable_core.model.release_checks.pointer_order_check``).
POINTER_FILE = "pointer.json"
REFUSED_FILE = "refused.json"
MODEL_FILE = "model.tflite"
MANIFEST_FILE = "model.json"
_FORMAT = 1
_TMP_PREFIX = ".tmp-"
#: Refusals remembered on disk (oldest dropped first); each is ~200 bytes.
REFUSED_MAX = 100


class ModelDirectoryError(RuntimeError):
    """The local model directory cannot be read or changed as asked."""


@dataclass(frozen=True)
class InstalledModel:
    """An installed release: ``path`` is the flatbuffer (``model_load(path)`` loads it)."""

    version: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        """The manifest beside the flatbuffer."""
        return self.path.with_name(MANIFEST_FILE)

    def manifest_sha256(self) -> str:
        """SHA-256 of the installed manifest bytes (equals the pointer's ``manifest_sha256``)."""
        return hashlib.sha256(self.manifest_path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    """A release refused before: by version and manifest digest, with the failed check."""

    version: str
    manifest_sha256: str
    check: str
    reason: str
    context: str


def _fsync_dir(path: Path) -> None:
    # Directory fsync makes the rename itself durable; not supported on every platform.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp + fsync + os.replace)."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


class ModelDirectory:
    """Installed models under ``root`` with an atomically swapped ``current.json``.

    Parameters
    ----------
    root : Path
        Created if missing. One gateway process owns it (no cross-process locking).

    Examples
    --------
    >>> import tempfile
    >>> d = ModelDirectory(Path(tempfile.mkdtemp()))
    >>> d.current() is None
    True
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelDirectoryError(f"cannot create model directory {self.root}: {exc}") from exc

    # ------------------------------------------------------------------ state

    def _state(self) -> dict[str, Any]:
        path = self.root / CURRENT_FILE
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": _FORMAT, "current": None, "previous": None}
        except (OSError, ValueError) as exc:
            raise ModelDirectoryError(
                f"{path} is unreadable ({exc}): delete it to fall back to the shipped model"
            ) from exc
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ModelDirectoryError(
                f"{path}: unknown format: delete it to fall back to the shipped model"
            )
        return document

    def _installed(self, version: object) -> InstalledModel | None:
        if version is None:
            return None
        try:
            checked = version_check(version)
        except ReleaseError as exc:
            raise ModelDirectoryError(f"{self.root / CURRENT_FILE}: {exc}") from exc
        return InstalledModel(checked, self.root / checked / MODEL_FILE)

    def _swap(self, current: str, previous: str | None) -> None:
        document = {"format": _FORMAT, "current": current, "previous": previous}
        atomic_write(self.root / CURRENT_FILE, json.dumps(document).encode("utf-8"))

    def current(self) -> InstalledModel | None:
        """The installed model that should serve, or ``None`` (serve the shipped one).

        Raises
        ------
        ModelDirectoryError
            ``current.json`` is corrupt (the message says how to recover).
        """
        return self._installed(self._state().get("current"))

    def previous(self) -> InstalledModel | None:
        """The model that served before the current one (the rollback target), if any."""
        return self._installed(self._state().get("previous"))

    # ------------------------------------------------------------------ changes

    def install(self, version: str, model_bytes: bytes, manifest_bytes: bytes) -> InstalledModel:
        """Write release ``version`` and make it current; the old current becomes previous.

        The files are complete and fsynced before ``current.json`` is swapped. Installing the
        version that is already current rewrites nothing but its files' content check.

        Raises
        ------
        ModelDirectoryError
            The files cannot be written (the old model stays current).
        wearable_core.contracts.model_release.ReleaseError
            ``version`` is not a safe path segment (nothing is written).
        """
        version = version_check(version)
        target = self.root / version
        state = self._state()
        try:
            if not self._same_files(target, model_bytes, manifest_bytes):
                self._write_version(target, model_bytes, manifest_bytes)
            if state.get("current") != version:
                self._swap(version, state.get("current"))
        except OSError as exc:
            raise ModelDirectoryError(
                f"cannot install model {version} in {self.root}: {exc}"
            ) from exc
        self.prune()
        return InstalledModel(version, target / MODEL_FILE)

    @staticmethod
    def _same_files(target: Path, model_bytes: bytes, manifest_bytes: bytes) -> bool:
        try:
            return (target / MODEL_FILE).read_bytes() == model_bytes and (
                target / MANIFEST_FILE
            ).read_bytes() == manifest_bytes
        except OSError:
            return False

    def _write_version(self, target: Path, model_bytes: bytes, manifest_bytes: bytes) -> None:
        staging = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{target.name}.", dir=self.root))
        try:
            _write_synced(staging / MODEL_FILE, model_bytes)
            _write_synced(staging / MANIFEST_FILE, manifest_bytes)
            _fsync_dir(staging)
            if target.exists():
                # Stale files under this name (an earlier, different build of the version).
                # It is not current (install() compares content first); move it aside so the
                # rename below is a single atomic step.
                aside = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}old.", dir=self.root))
                os.replace(target, aside / target.name)
            os.replace(staging, target)
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def rollback(self) -> InstalledModel:
        """Make the previous model current again (and the current one previous).

        Only local: the bucket's pointer is unchanged, so a gateway that still polls a
        pointer naming the rolled-back release installs it again; roll the bucket back too
        (``cloud_training.publish.release_rollback``).

        Raises
        ------
        ModelDirectoryError
            There is no previous model, or its files are gone.
        """
        state = self._state()
        previous = self._installed(state.get("previous"))
        if previous is None:
            raise ModelDirectoryError(
                f"{self.root}: no previous model to roll back to (current: "
                f"{state.get('current') or 'the shipped model'})"
            )
        if not previous.path.is_file() or not previous.manifest_path.is_file():
            raise ModelDirectoryError(
                f"{self.root}: previous model {previous.version} is missing its files: "
                "cannot roll back"
            )
        self._swap(previous.version, state.get("current"))
        return previous

    def prune(self) -> list[str]:
        """Delete installed versions other than current and previous, and install leftovers.

        Returns the names removed.
        """
        state = self._state()
        keep = {state.get("current"), state.get("previous")}
        removed: list[str] = []
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or entry.name in keep:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
        for entry in self.root.glob(_TMP_PREFIX + "*"):
            # Temp files of an interrupted atomic_write; never referenced.
            if entry.is_file():
                entry.unlink(missing_ok=True)
                removed.append(entry.name)
        return removed

    # ------------------------------------------------------------------ trusted pointer

    def trusted_pointer(self) -> Pointer | None:
        """The newest signed bucket pointer accepted, or ``None`` (none yet).

        Kept as the signed bytes (like a TUF client's trusted metadata); not re-verified,
        since the key may have been rotated since and only its counter, version and
        history are used.

        Raises
        ------
        ModelDirectoryError
            The file is unreadable or not a signed pointer. Deleting it makes the gateway
            trust the next pointer that verifies, losing the replay floor until then, so it
            is a decision for an operator, not something to do silently.
        """
        path = self.root / POINTER_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ModelDirectoryError(f"{path} is unreadable: {exc}") from exc
        try:
            pointer = pointer_parse(raw)
            if not pointer.signed:
                raise ReleaseError("not a signed pointer")
        except ReleaseError as exc:
            raise ModelDirectoryError(
                f"{path}: {exc}: delete it; the gateway then trusts the next signed pointer "
                "that verifies (check that the bucket's pointer is the one you expect)"
            ) from exc
        return pointer

    def trusted_pointer_set(self, raw: bytes) -> None:
        """Remember ``raw`` (a verified, signed pointer) as the newest accepted, atomically.

        Raises
        ------
        ModelDirectoryError
            It cannot be written.
        """
        try:
            atomic_write(self.root / POINTER_FILE, raw)
        except OSError as exc:
            raise ModelDirectoryError(
                f"cannot record the accepted pointer in {self.root / POINTER_FILE}: {exc}"
            ) from exc

    # ------------------------------------------------------------------ refusals

    def refusals(self) -> list[Refusal]:
        """Refusals remembered on disk (an unreadable file counts as none)."""
        try:
            document = json.loads((self.root / REFUSED_FILE).read_text(encoding="utf-8"))
            entries = document["refused"]
            return [
                Refusal(
                    str(e["version"]),
                    str(e["manifest_sha256"]),
                    str(e["check"]),
                    str(e["reason"]),
                    str(e["context"]),
                )
                for e in entries
            ]
        except (OSError, ValueError, KeyError, TypeError):
            # Losing the memory only costs a re-download and a repeated log line.
            return []

    def refusal_add(self, refusal: Refusal) -> None:
        """Remember a refusal on disk (atomically; keeps the newest ``REFUSED_MAX``)."""
        entries = [
            r
            for r in self.refusals()
            if (r.version, r.manifest_sha256) != (refusal.version, refusal.manifest_sha256)
        ]
        entries.append(refusal)
        document = {"format": _FORMAT, "refused": [vars(r) for r in entries[-REFUSED_MAX:]]}
        atomic_write(self.root / REFUSED_FILE, json.dumps(document, indent=1).encode("utf-8"))
