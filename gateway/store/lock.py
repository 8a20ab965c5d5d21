"""One gateway per store: ``gateway run`` holds an exclusive lock for as long as it runs.

Two gateways on one store would both ingest, both detect and both sync: alerts raised
twice, batches built twice. The lock is ``flock(2)`` on ``<store>.lock`` (beside the
store, mode 0600) with the holder's PID written in it, so the second gateway can say
which process to stop. The kernel drops the lock when the holder's process ends, however
it ends (``kill -9`` included): a lock file left behind never blocks a restart, and is
not deleted (deleting it while another process waits on it would let two hold it).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from gateway.store.errors import StoreError, StoreLockedError
from wearable_core.private_files import private_dir, private_file

#: Appended to the store's file name to name its lock file.
LOCK_SUFFIX = ".lock"


def lock_path(store: Path) -> Path:
    """The lock file of the store at ``store``."""
    return store.with_name(store.name + LOCK_SUFFIX)


class StoreLock:
    """The exclusive lock of one store, held from :meth:`acquire` to :meth:`release`.

    Examples
    --------
    >>> import tempfile
    >>> store = Path(tempfile.mkdtemp()) / "gateway.sqlite"
    >>> with StoreLock(store) as lock:
    ...     lock.path.read_text().strip() == str(os.getpid())
    True
    """

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.path = lock_path(self.store)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StoreLockedError` naming the holder's PID.

        Creates the store's directory (0700) if needed; the store itself is created later.
        Raises :class:`StoreError` when the lock file cannot be created.
        """
        if self._fd is not None:
            return
        try:
            private_dir(self.path.parent)
            private_file(self.path)
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock file {self.path}: {exc.strerror}; check that the "
                "store's directory is writable by the gateway's user"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StoreLockedError(
                f"{self.store} is in use by another gateway (PID {holder}, lock file "
                f"{self.path}): stop that process first, or pass another --store"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent). The file stays; its PID is cleared."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _holder(fd: int) -> str:
    """The PID written in the lock file (``unknown`` while the holder is writing it)."""
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return text if text.isdigit() else "unknown"
