"""The store, its -wal and -shm, its lock and its directory are private whatever the umask."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.store import Store, StoreLock, lock_path
from tests.support.umask import umask

from ._support import make_records


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_a_new_store_and_its_directory_are_private(tmp_path: Path, mask: int) -> None:
    path = tmp_path / "state" / "gateway.sqlite"
    with umask(mask):
        with StoreLock(path), Store(path) as store:
            store.records.add(make_records(range(10)))
            companions = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in companions)
            assert {p.name: mode(p) for p in [path, *companions]} == {
                "gateway.sqlite": 0o600,
                "gateway.sqlite-wal": 0o600,
                "gateway.sqlite-shm": 0o600,
            }
        assert mode(lock_path(path)) == 0o600
        # Reopened after a clean close: SQLite creates -wal and -shm again, private too.
        with Store(path) as store:
            store.records.add(make_records(range(10, 20)))
            assert mode(path.with_name(path.name + "-wal")) == 0o600
    assert mode(path.parent) == 0o700


def test_a_store_made_by_an_older_gateway_is_made_private_on_open(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    with Store(path) as store:
        store.records.add(make_records(range(10)))
        for p in tmp_path.iterdir():
            p.chmod(0o644)
        with Store(path) as second:
            assert second.devices.list()
            assert {p.name: mode(p) for p in sorted(tmp_path.iterdir())} == {
                "gateway.sqlite": 0o600,
                "gateway.sqlite-shm": 0o600,
                "gateway.sqlite-wal": 0o600,
            }


def test_a_read_only_open_changes_no_mode(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    Store(path).close()
    path.chmod(0o640)
    Store(path, read_only=True).close()
    assert mode(path) == 0o640


def test_making_files_private_keeps_the_locks_sqlite_holds(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops this process's POSIX locks on it.

    The service opens a second store on the same file (the sync thread's) while the
    first holds SQLite's locks; were those dropped, another process could take the
    database as unused and truncate the -shm the first has mapped (SIGBUS).
    """
    import subprocess
    import sys

    path = tmp_path / "gateway.sqlite"
    probe = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], timeout=0)\n"
        "print(conn.execute('PRAGMA journal_mode = DELETE').fetchone()[0])\n"
    )
    with Store(path) as first:
        first.records.add(make_records(range(10)))
        with Store(path) as second:
            assert second.devices.list()
            taken = subprocess.run(
                [sys.executable, "-c", probe, str(path)], capture_output=True, text=True
            )
            assert taken.returncode != 0 and "locked" in taken.stderr, taken.stdout
        first.records.add(make_records(range(10, 20)))
    with Store(path, read_only=True) as store:
        assert len(list(store.records.iter_records())) == 20
