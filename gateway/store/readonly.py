"""Checks a store file must pass before a read-only command lets SQLite open it.

SQLite opened with ``mode=ro`` still creates ``-wal`` and ``-shm`` files beside a
database whose header says WAL, and reads a WAL database copied without its ``-wal`` as
if the missing commits never happened. So the read-only commands (``gateway status``,
``gateway export``, ``gateway alerts list``, ``export fhir|csv``) look at the file first
and refuse, with the fix in the message, what they cannot read faithfully.

A gateway that stops cleanly switches its store out of WAL mode (``Store.close``), so a
header that still says WAL with no ``-wal`` beside it means the file was copied from a
running gateway (or from one killed mid-write) without the file that holds its latest
commits.
"""

from __future__ import annotations

from pathlib import Path

from gateway.store.errors import (
    NotAStoreError,
    StoreError,
    StoreNotFoundError,
    StoreWalMissingError,
)

#: The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Size of the SQLite file header.
HEADER_BYTES = 100
#: Header bytes 18 and 19 (file format write/read version): 1 = rollback journal, 2 = WAL.
WAL_FORMAT = 2


def wal_path(path: Path) -> Path:
    """The write-ahead log SQLite keeps beside ``path``."""
    return path.with_name(path.name + "-wal")


def shm_path(path: Path) -> Path:
    """The shared-memory index SQLite keeps beside ``path`` in WAL mode."""
    return path.with_name(path.name + "-shm")


def store_file_check(path: Path, *, read_header: bool = True, check_wal: bool = True) -> None:
    """Refuse a path a read-only command must not hand to SQLite; return if it may.

    ``read_header=False`` skips reading the file's header: the caller passes it when a
    connection of this process already has the file open, because closing any
    descriptor of a file drops every POSIX lock the process holds on it (SQLite's
    included), and such a file is a store in use, not a copy. ``check_wal=False`` skips
    the "WAL missing" check (for a command that writes to an existing store).

    Raises
    ------
    StoreNotFoundError
        Nothing at ``path``.
    NotAStoreError
        A directory, an empty file, or a file that is not a SQLite database.
    StoreWalMissingError
        The header says WAL mode but the ``-wal`` file is absent (a naive copy).
    StoreError
        The file cannot be read (permissions).
    """
    if not path.exists():
        raise StoreNotFoundError(
            f"no store at {path}: pass --store with the path `wearable gateway run` uses"
        )
    if path.is_dir():
        raise NotAStoreError(
            f"{path} is not a gateway store but a directory: pass the store file "
            "(e.g. gateway-store/gateway.sqlite)"
        )
    if not read_header:
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(HEADER_BYTES)
    except OSError as exc:
        raise StoreError(
            f"cannot read {path}: {exc.strerror}; run the command as the gateway's service user"
        ) from exc
    if not header:
        raise NotAStoreError(
            f"{path} is not a gateway store (an empty file): pass the path of the gateway's "
            "store, or restore the file from a backup"
        )
    if len(header) < HEADER_BYTES or not header.startswith(SQLITE_MAGIC):
        raise NotAStoreError(
            f"{path} is not a gateway store (not a SQLite database): pass the path of the "
            "gateway's store"
        )
    if check_wal and WAL_FORMAT in (header[18], header[19]) and not wal_path(path).exists():
        raise StoreWalMissingError(
            f"{path}: WAL missing: copy with `sqlite3 .backup` / `VACUUM INTO`, or stop the "
            f"gateway first (the file is in WAL mode but {wal_path(path).name} is not beside "
            "it, so the latest commits are not in it)"
        )
