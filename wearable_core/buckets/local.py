"""A bucket in a local directory, with the same guarantees as a GCS bucket.

Layout under the root::

    <root>/<object name>              the objects, as plain files (``a/b`` -> ``<root>/a/b``)
    <root>/.bucket-meta/lock          flock(2) lock serialising every write and delete
    <root>/.bucket-meta/counter       the last generation handed out
    <root>/.bucket-meta/tmp/          temp files being written (never listed)

How each guarantee is kept:

- **Atomic writes.** Data goes to a temp file in ``.bucket-meta/tmp`` (same filesystem),
  is fsynced, and only then linked or renamed onto the object's name, followed by an
  fsync of the directory. A reader opens either the old inode or the new one, and a
  writer killed at any point leaves at most an orphan temp file that ``list`` never shows.
- **Generations.** The generation *is* the object file's ``st_mtime_ns``, set on the temp
  file before it is published, so data and generation change in one atomic rename and
  survive restarts without a sidecar that could disagree with the data. Values come from
  ``max(counter + 1, time.time_ns())`` under the lock: strictly increasing per bucket
  (so a name never gets a generation twice) and still a meaningful modification time.
  The filesystem must keep nanosecond mtimes; the constructor checks.
- **Create-only / compare-and-swap / guarded delete.** Every mutation takes an exclusive
  ``flock`` on ``.bucket-meta/lock``, so the check of the current generation and the
  publish are one step for every process and thread using this class. ``create`` also
  publishes with ``os.link``, which fails if the name exists, as a second line of defence.

Reads, ``stat`` and ``list`` take no lock: a published inode is never modified in place,
so ``read`` returns the bytes and generation of one inode (``fstat`` of the open file).

Limitation of a directory as a bucket: an object ``a`` and an object ``a/b`` cannot
coexist (a path cannot be both a file and a directory); writing the second raises
:class:`BucketError`.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import os
import secrets
import stat as stat_mod
import time
from collections.abc import Iterator
from pathlib import Path

from wearable_core.buckets.base import (
    RESERVED_PREFIX,
    BucketConfigError,
    BucketError,
    BucketUnavailable,
    Created,
    GenerationMismatch,
    ObjectConflict,
    ObjectInfo,
    ObjectNotFound,
    object_name_check,
)

#: errnos that say "try again later" rather than "this cannot work".
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR}
#: Orphan temp files (from killed writers) older than this are removed on open.
_STALE_TEMP_S = 24 * 3600.0
_TEMP_SUFFIX = ".tmp"


class LocalBucket:
    """A :class:`~wearable_core.buckets.base.Bucket` stored in the directory ``root``.

    The directory (and its ``.bucket-meta`` subdirectory) is created if missing. Safe for
    concurrent use by several threads and processes on one host (``flock`` is not
    reliable over NFS: do not share the directory between hosts).
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).expanduser().absolute()
        self._url = self._root.as_uri()
        self._meta = self._root / RESERVED_PREFIX
        self._tmp = self._meta / "tmp"
        self._lock_path = self._meta / "lock"
        self._counter_path = self._meta / "counter"
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._lock_path.touch(exist_ok=True)
        except OSError as exc:
            raise BucketConfigError(
                f"{self._url}: cannot create the bucket directory {self._meta}: {exc}",
                url=self._url,
            ) from exc
        self._check_nanosecond_mtime()
        self._remove_stale_temps()

    @property
    def url(self) -> str:
        """``file:///absolute/path`` of the bucket's root directory."""
        return self._url

    @property
    def root(self) -> Path:
        """The bucket's root directory (absolute)."""
        return self._root

    # -- Bucket protocol ----------------------------------------------------------------

    def create(self, name: str, data: bytes) -> Created:
        """Write ``data`` at ``name`` only if absent; see :meth:`Bucket.create`."""
        path = self._path(name)
        with self._os_errors(name):
            tmp_fd, tmp_path = self._write_temp(data)
            try:
                with self._locked():
                    if _lstat_file(path) is not None:
                        return self._compare_existing(name, path, data)
                    self._stamp(tmp_fd, self._next_generation())
                    self._make_parent(name, path)
                    # link(2) fails with EEXIST instead of overwriting, so even a writer
                    # that bypasses our lock cannot be clobbered.
                    try:
                        os.link(tmp_path, path)
                    except FileExistsError:
                        return self._compare_existing(name, path, data)
                    _fsync_dir(path.parent)
                    return Created.CREATED
            finally:
                os.close(tmp_fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)

    def read(self, name: str) -> tuple[bytes, int]:
        """The object's bytes and generation; :class:`ObjectNotFound` if absent."""
        path = self._path(name)
        with self._os_errors(name):
            try:
                with open(path, "rb") as f:
                    st = os.fstat(f.fileno())
                    if not stat_mod.S_ISREG(st.st_mode):
                        raise ObjectNotFound(name, url=self._url)
                    return f.read(), st.st_mtime_ns
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                raise ObjectNotFound(name, url=self._url) from None

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        """Compare-and-swap write; see :meth:`Bucket.replace`."""
        path = self._path(name)
        with self._os_errors(name):
            tmp_fd, tmp_path = self._write_temp(data)
            try:
                with self._locked():
                    current = self._generation(path)
                    if current != if_generation:
                        raise GenerationMismatch(name, if_generation, current, url=self._url)
                    generation = self._next_generation()
                    self._stamp(tmp_fd, generation)
                    self._make_parent(name, path)
                    os.replace(tmp_path, path)
                    _fsync_dir(path.parent)
                    return generation
            finally:
                os.close(tmp_fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)

    def stat(self, name: str) -> ObjectInfo | None:
        """The object's info, or ``None`` if absent."""
        path = self._path(name)
        with self._os_errors(name):
            st = _lstat_file(path)
        if st is None:
            return None
        return ObjectInfo(name=name, size=st.st_size, generation=st.st_mtime_ns)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose name starts with ``prefix``, sorted by name."""
        if "\x00" in prefix:
            raise BucketError(f"{self._url}: list prefix contains a NUL byte", url=self._url)
        # Start the walk at the deepest directory the prefix names, not at the root.
        directory, _, _ = prefix.rpartition("/")
        if directory and any(s in ("", ".", "..") for s in directory.split("/")):
            return []  # no valid object name can start with this prefix
        found: list[ObjectInfo] = []
        with self._os_errors(prefix):
            self._walk(self._root / directory if directory else self._root, directory, found)
        found = [info for info in found if info.name.startswith(prefix)]
        found.sort(key=lambda info: info.name)
        return found

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        """Delete ``name`` (guarded by generation when given)."""
        path = self._path(name)
        with self._os_errors(name), self._locked():
            current = self._generation(path)
            if current == 0:
                raise ObjectNotFound(name, url=self._url)
            if if_generation is not None and current != if_generation:
                raise GenerationMismatch(name, if_generation, current, url=self._url)
            os.unlink(path)
            _fsync_dir(path.parent)
            self._prune_empty_dirs(path.parent)

    # -- internals ----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"LocalBucket({str(self._root)!r})"

    def _path(self, name: str) -> Path:
        object_name_check(name, url=self._url)
        return self._root.joinpath(*name.split("/"))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # A fresh open file description per call: flock locks belong to it, so this
        # excludes other threads of this process as well as other processes.
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _next_generation(self) -> int:
        """Hand out a generation; caller holds the lock."""
        fd = os.open(self._counter_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            raw = os.pread(fd, 64, 0)
            try:
                last = int(raw.decode("ascii").strip() or 0)
            except (UnicodeDecodeError, ValueError):
                last = 0  # torn by a crash; the clock term below still moves forward
            generation = max(last + 1, time.time_ns())
            encoded = f"{generation}\n".encode("ascii")
            os.pwrite(fd, encoded, 0)
            os.ftruncate(fd, len(encoded))
            return generation
        finally:
            os.close(fd)

    def _generation(self, path: Path) -> int:
        st = _lstat_file(path)
        return 0 if st is None else st.st_mtime_ns

    def _write_temp(self, data: bytes) -> tuple[int, Path]:
        """Write ``data`` to a new fsynced temp file; returns its open fd and path."""
        path = self._tmp / f"{secrets.token_hex(12)}{_TEMP_SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        return fd, path

    @staticmethod
    def _stamp(fd: int, generation: int) -> None:
        os.utime(fd, ns=(generation, generation))
        # Make the new mtime durable before the name points at this inode.
        os.fsync(fd)

    def _make_parent(self, name: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise BucketError(
                f"{self._url}: cannot store {name!r}: a parent path is already an object "
                "(a local bucket cannot hold both 'a' and 'a/b')",
                url=self._url,
            ) from exc
        if path.is_dir():
            raise BucketError(
                f"{self._url}: cannot store {name!r}: objects exist under {name + '/'!r} "
                "(a local bucket cannot hold both 'a' and 'a/b')",
                url=self._url,
            )

    def _compare_existing(self, name: str, path: Path, data: bytes) -> Created:
        existing, _ = self.read(name)
        if existing == data:
            return Created.ALREADY_PRESENT
        raise ObjectConflict(name, url=self._url)

    def _walk(self, directory: Path, rel: str, found: builtins.list[ObjectInfo]) -> None:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if not rel and entry.name == RESERVED_PREFIX:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    self._walk(Path(entry.path), name, found)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    found.append(ObjectInfo(name, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                continue  # deleted while we listed

    def _prune_empty_dirs(self, directory: Path) -> None:
        while directory != self._root and self._root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return  # not empty (or already gone): stop climbing
            directory = directory.parent

    def _check_nanosecond_mtime(self) -> None:
        probe = self._tmp / f"probe-{secrets.token_hex(6)}{_TEMP_SUFFIX}"
        wanted = 1_500_000_000_123_456_789
        try:
            probe.touch()
            os.utime(probe, ns=(wanted, wanted))
            got = probe.stat().st_mtime_ns
        except OSError as exc:
            raise BucketConfigError(
                f"{self._url}: cannot write in {self._tmp}: {exc}", url=self._url
            ) from exc
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
        if got != wanted:
            raise BucketConfigError(
                f"{self._url}: the filesystem rounds modification times "
                f"({wanted} became {got}); a local bucket stores generations there and "
                "needs nanosecond timestamps (ext4, xfs, btrfs, tmpfs, apfs)",
                url=self._url,
            )

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_S
        with contextlib.suppress(OSError):
            for entry in os.scandir(self._tmp):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    # ctime, because writers set mtime to the generation.
                    if st.st_ctime < cutoff and entry.name.endswith(_TEMP_SUFFIX):
                        os.unlink(entry.path)

    @contextlib.contextmanager
    def _os_errors(self, name: str) -> Iterator[None]:
        """Turn stray OSErrors into bucket errors that name the bucket and object."""
        try:
            yield
        except BucketError:
            raise
        except OSError as exc:
            message = f"{self._url}: {name!r}: {exc.strerror or exc} ({exc.filename})"
            if exc.errno in _TRANSIENT_ERRNOS:
                raise BucketUnavailable(message, url=self._url) from exc
            raise BucketError(message, url=self._url) from exc


def _lstat_file(path: Path) -> os.stat_result | None:
    """``lstat`` of ``path`` if it is a regular file, else ``None``."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if stat_mod.S_ISREG(st.st_mode) else None


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry durable; the rename itself is already atomic.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["LocalBucket"]
