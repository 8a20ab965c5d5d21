"""The commands that only read a store, run through ``wearable``'s entry point.

``gateway status``, ``gateway export``, ``gateway alerts list`` and ``export fhir|csv``
open the store read-only: they never create or change a file beside it, refuse what
they cannot read faithfully with exit 2 and one line naming the fix, and report a
damaged store with exit 1 instead of "healthy" (an export then writes nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store import Store
from tests.support.stores import WATCHES, naive_copy, pages_damage, store_build, store_fill
from wearable.cli import main

COMMANDS = {
    "status": ["gateway", "status", "--store", "STORE"],
    "export": ["gateway", "export", "--store", "STORE", "--out", "OUT"],
    "alerts list": ["gateway", "alerts", "list", "--store", "STORE"],
    "export fhir": [
        *("export", "fhir", "--store", "STORE", "--device", WATCHES[1]),
        *("--patient", "Patient/1", "--out", "OUT/bundle.json"),
    ],
    "export csv": ["export", "csv", "--store", "STORE", "--device", WATCHES[1], "--out", "OUT"],
}


def run(command: str, store: Path, out: Path) -> int:
    """Run ``command`` like the console script does; return its exit status."""
    argv = [a.replace("STORE", str(store)).replace("OUT", str(out)) for a in COMMANDS[command]]
    try:
        return main(argv)
    except SystemExit as stop:
        assert isinstance(stop.code, int), stop.code  # a code, the message on stderr
        return stop.code


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def refused(command: str, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``command`` on a store it must refuse; check exit 2 and that nothing changed."""
    before = files(store.parent) if store.parent.exists() else None
    capsys.readouterr()
    assert run(command, store, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    after = files(store.parent) if store.parent.exists() else None
    assert after == before
    assert not (tmp_path / "out").exists()
    return err


def test_a_missing_store_is_refused_and_not_created(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "typo" / "gateway.sqlite"
    assert "no store at" in refused(command, store, tmp_path, capsys)
    assert not store.parent.exists()


def test_an_empty_file_is_not_a_gateway_store(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    store.parent.mkdir()
    store.write_bytes(b"")
    assert "not a gateway store" in refused(command, store, tmp_path, capsys)


def test_a_copy_without_its_wal_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live" / "gateway.sqlite"
    copy = tmp_path / "store" / "gateway.sqlite"
    copy.parent.mkdir()
    with Store(live) as running:
        store_fill(running, 100)
        naive_copy(live, copy)
        err = refused(command, copy, tmp_path, capsys)
    assert "WAL missing: copy with `sqlite3 .backup` / `VACUUM INTO`, or stop the gateway" in err


@pytest.mark.parametrize("name", ["status", "export", "alerts list"])
def test_a_sound_store_is_read_and_left_byte_for_byte(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_build(tmp_path / "store" / "gateway.sqlite", 50)
    before = files(store.parent)
    assert run(name, store, tmp_path / "out") == 0
    assert files(store.parent) == before  # no -wal, no -shm, not one byte changed
    if name == "status":
        assert "integrity ok" in capsys.readouterr().out
    if name == "export":
        assert sorted(files(tmp_path / "out")) == [
            "accel.csv",
            "devices.csv",
            "gaps.csv",
            "hr.csv",
            "spo2.csv",
            "temp.csv",
        ]


@pytest.mark.parametrize("name", ["status", "export", "export fhir", "export csv"])
def test_a_damaged_store_exits_1_and_exports_nothing(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_build(tmp_path / "store" / "gateway.sqlite")
    pages_damage(store)
    capsys.readouterr()
    assert run(name, store, tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "healthy" not in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no output, no temp


def test_status_json_of_a_damaged_store_lists_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_build(tmp_path / "gateway.sqlite")
    pages_damage(store)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["gateway", "status", "--store", str(store), "--json"])
    assert stop.value.code == 1
    assert '"integrity": [' in capsys.readouterr().out
