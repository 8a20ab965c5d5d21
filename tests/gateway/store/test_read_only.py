"""Read-only opening: never creates or changes a file, and refuses what it cannot read.

Real SQLite files on disk: a missing path, an empty file, a foreign database, a store
copied from a running gateway without its ``-wal``, a store with a corrupt page.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.store import (
    NotAStoreError,
    Store,
    StoreDamagedError,
    StoreError,
    StoreNotFoundError,
    StoreWalMissingError,
)
from gateway.store.export import staged_directory, store_export
from tests.support.stores import WATCHES, naive_copy, pages_damage, store_build, store_fill

from ._support import make_records


def listing(directory: Path) -> dict[str, bytes]:
    """Every file of ``directory`` with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_a_missing_path_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "gateway.sqlite"
    with pytest.raises(StoreNotFoundError, match=r"no store at .*pass --store"):
        Store(path, read_only=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "an empty file"), (b"hello, world\n" * 20, "not a SQLite database")],
)
def test_an_empty_or_foreign_file_is_not_a_store(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "gateway.sqlite"
    path.write_bytes(content)
    with pytest.raises(NotAStoreError, match=f"not a gateway store \\({what}\\)"):
        Store(path, read_only=True)
    assert listing(tmp_path) == {"gateway.sqlite": content}


def test_another_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = listing(tmp_path)
    with pytest.raises(NotAStoreError, match="not a gateway store"):
        Store(path, read_only=True)
    assert listing(tmp_path) == before


def test_a_copy_without_its_wal_is_refused(tmp_path: Path) -> None:
    running = tmp_path / "live" / "gateway.sqlite"
    with Store(running) as store:
        store_fill(store, 100)  # committed, still in the WAL
        copy = naive_copy(running, tmp_path / "gateway.sqlite")
        with pytest.raises(StoreWalMissingError, match=r"WAL missing: copy with `sqlite3 \.backup"):
            Store(copy, read_only=True)
    # SQLite would have created the -wal and -shm beside the copy; the check comes first.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gateway.sqlite", "live"]


def test_a_cleanly_closed_store_is_one_file_read_without_a_change(tmp_path: Path) -> None:
    path = store_build(tmp_path / "gateway.sqlite", 50)
    before = listing(tmp_path)
    assert list(before) == ["gateway.sqlite"]  # out of WAL mode: no -wal, no -shm
    with Store(path, read_only=True) as store:
        assert [d.id for d in store.devices.list()] == list(WATCHES)
        assert len(list(store.records.iter_records())) == 100
        assert store.quick_check() == []
        with pytest.raises(StoreError, match="opened read-only"):
            store.records.add(make_records(range(100, 101)))
    assert listing(tmp_path) == before


def test_a_reader_sees_the_records_a_running_writer_has_not_flushed(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite"
    with Store(path) as writer:
        writer.records.add(make_records(range(10)))
        writer.records.flush()
        writer.records.add(make_records(range(10, 25)))  # in the inbox
        with Store(path, read_only=True) as reader:
            assert [r.seq for r in reader.records.iter_records()] == list(range(25))
            assert reader.devices.list()[0].records == writer.devices.list()[0].records
            assert reader.verify() == []
        assert len(writer.records.sequences(WATCHES[0], make_records([0])[0].stream)) == 25


def test_an_older_schema_is_refused_not_migrated(tmp_path: Path) -> None:
    from gateway.store.schema import migrate

    path = tmp_path / "gateway.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=3)
    conn.close()
    before = listing(tmp_path)
    with pytest.raises(StoreError, match=r"schema version 3, older .* `wearable gateway run`"):
        Store(path, read_only=True)
    assert listing(tmp_path) == before


def test_quick_check_reports_a_corrupt_page(tmp_path: Path) -> None:
    path = store_build(tmp_path / "gateway.sqlite")
    pages_damage(path)
    with Store(path, read_only=True) as store:
        assert store.quick_check() != []


def test_export_of_a_damaged_store_writes_nothing(tmp_path: Path) -> None:
    path = store_build(tmp_path / "store" / "gateway.sqlite")
    pages_damage(path)
    out = tmp_path / "export"
    with Store(path, read_only=True) as store, pytest.raises(StoreDamagedError, match="damaged"):
        store_export(store, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_export_stops_without_partial_files_when_a_read_fails(tmp_path: Path) -> None:
    # quick_check passes (a damaged page it does not see), then a read fails mid-export.
    path = store_build(tmp_path / "store" / "gateway.sqlite")
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("kept\n", encoding="utf-8")
    with Store(path, read_only=True) as store:
        store.quick_check = lambda limit=20: []  # type: ignore[method-assign]
        pages_damage(path)
        with pytest.raises(StoreDamagedError, match="malformed"):
            store_export(store, out)
    assert listing(out) == {"old.txt": b"kept\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "store"]


def test_staged_directory_moves_files_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_directory(out) as stage:
        (stage / "a.csv").write_text("a\n", encoding="utf-8")
    assert listing(out) == {"a.csv": b"a\n"}
    with pytest.raises(RuntimeError), staged_directory(out) as stage:
        (stage / "a.csv").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert listing(out) == {"a.csv": b"a\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="is a file"), staged_directory(tmp_path / "file"):
        pass


def test_a_reader_in_the_writers_process_keeps_the_writers_locks(tmp_path: Path) -> None:
    """Reading the header (open, close) would drop the writer's POSIX locks on the file."""
    import subprocess
    import sys

    path = tmp_path / "gateway.sqlite"
    probe = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], timeout=0)\n"
        "print(conn.execute('PRAGMA journal_mode = DELETE').fetchone()[0])\n"
    )
    with Store(path) as writer:
        writer.records.add(make_records(range(10)))
        with Store(path, read_only=True) as reader:
            assert len(list(reader.records.iter_records())) == 10
        taken = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True
        )
        assert taken.returncode != 0 and "locked" in taken.stderr, taken.stdout
