"""User errors exit 2 with one line naming the fix, never a traceback (issue 19, item 10)."""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wearable.cli import main
from wearable.cli.errors import user_error_message

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "examples" / "quick.toml"
RR = REPO / "examples" / "recordings" / "rest_rr.csv"


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A local port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``wearable argv``; assert exit 2 without a traceback; return stderr's last line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["sim", "watches", "--radio", "h:1", "--scenario", "s", "--speed", "-1"], "--speed"),
        (["sim", "watches", "--radio", "h:1", "--scenario", "s", "--speed", "nan"], "> 0"),
        (["sim", "watches", "--radio", "h:1", "--scenario", "s", "--count", "0"], "at least 1"),
        (["sim", "probe", "--radio", "h:1", "--count", "0", "--seconds", "1"], "at least 1"),
        (["sim", "probe", "--radio", "h:1", "--count", "1", "--seconds", "-2"], "--seconds"),
        (["sim", "replay", "--recording", "r.csv", "--radio", "h:1", "--speed", "-1"], "> 0"),
        (["sim", "radio", "--supervision-timeout", "0"], "--supervision-timeout"),
    ],
)
def test_bad_numbers_are_refused_by_the_parser(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(argv, capsys)
    assert line.startswith(f"wearable {argv[0]} {argv[1]}: error: argument")
    assert words in line


def test_a_file_or_a_path_under_a_file_is_not_an_output_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "file"
    afile.write_text("mine")
    for out in (afile, afile / "sub"):
        line = _refused(["sim", "export", "--scenario", str(SCENARIO), "--out", str(out)], capsys)
        assert "is a file, not a directory" in line
        line = _refused(["sim", "replay", "--recording", str(RR), "--out", str(out)], capsys)
        assert "is a file, not a directory" in line
        line = _refused(
            ["sim", "watches", "--radio", "h:1", "--scenario", str(SCENARIO), "--truth", str(out)],
            capsys,
        )
        assert "--truth" in line
        line = _refused(["gateway", "export", "--store", "s", "--out", str(out)], capsys)
        assert "--out" in line
    assert afile.read_text() == "mine"


def test_a_directory_is_not_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(["gateway", "run", "--store", str(tmp_path), "--radio", "h:1"], capsys)
    assert f"pass the path of a file in it, e.g. {tmp_path / 'gateway.sqlite'}" in line
    afile = tmp_path / "file"
    afile.write_text("")
    line = _refused(["gateway", "run", "--store", str(afile / "s.db")], capsys)
    assert "is a file, not a directory" in line


def test_a_binary_scenario_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "scenario.toml"
    binary.write_bytes(bytes(range(256)))
    line = _refused(["sim", "export", "--scenario", str(binary), "--out", str(tmp_path)], capsys)
    assert "not UTF-8 text" in line and "TOML scenario file" in line


def test_an_unreachable_radio_names_the_fix(
    closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = f"127.0.0.1:{closed_port}"
    line = _refused(["sim", "probe", "--radio", hub, "--count", "1", "--seconds", "1"], capsys)
    assert line.startswith(f"wearable sim probe: cannot reach the radio hub at {hub}")
    assert f"wearable sim radio --listen {hub}" in line
    line = _refused(["sim", "watches", "--radio", hub, "--scenario", str(SCENARIO)], capsys)
    assert line.startswith("wearable sim watches: cannot reach the radio hub")


def test_a_port_in_use_names_the_fix(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(["sim", "radio", "--listen", f"127.0.0.1:{busy_port}"], capsys)
    assert line.startswith(f"wearable sim radio: cannot listen on 127.0.0.1:{busy_port}")
    assert "pick another address" in line


def test_a_message_exit_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `raise SystemExit("message")` deep in a command would exit 1: main makes it 2.
    line = _refused(
        ["sim", "replay", "--recording", str(RR), "--out", str(tmp_path / "o"), "--truth", "t"],
        capsys,
    )
    assert line == (
        "wearable sim replay: --truth goes with --radio; --out DIR already writes every record"
    )


def _gateway_json_lines(err: str) -> list[dict[str, Any]]:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return [json.loads(line) for line in lines]


def test_the_service_logs_an_unreachable_radio_as_one_json_line(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = f"127.0.0.1:{closed_port}"
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["gateway", "run", "--store", str(tmp_path / "s.db"), "--radio", hub])
    assert stop.value.code == 2
    (entry,) = _gateway_json_lines(capsys.readouterr().err)
    assert entry["level"] == "critical" and entry["exit_code"] == 2
    assert entry["msg"].startswith(f"wearable gateway run: cannot reach the radio hub at {hub}")


def test_the_service_logs_a_full_disk_as_one_json_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gateway.service

    async def full(config: object) -> int:
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = 13  # SQLITE_FULL, as sqlite3 sets it
        raise error

    monkeypatch.setattr(gateway.service, "service_run", full)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["gateway", "run", "--store", str(tmp_path / "s.db"), "--radio", "h:1"])
    assert stop.value.code == 2
    (entry,) = _gateway_json_lines(capsys.readouterr().err)
    assert "database or disk is full: the disk is full: free space" in entry["msg"]


def _run_a_service_that_raises(
    error: Exception,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> dict[str, Any]:
    """``gateway run`` whose service dies of ``error``: exit 1, its one JSON log line."""
    import gateway.service

    async def bug(config: object) -> int:
        raise error

    monkeypatch.setattr(gateway.service, "service_run", bug)
    capsys.readouterr()
    assert main(["gateway", "run", "--store", str(tmp_path / "s.db"), "--radio", "h:1"]) == 1
    (entry,) = _gateway_json_lines(capsys.readouterr().err)
    return entry


def test_a_bug_in_the_service_is_logged_with_its_traceback_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = _run_a_service_that_raises(KeyError("a bug"), tmp_path, monkeypatch, capsys)
    assert entry["level"] == "critical" and "KeyError: 'a bug'" in entry["exc"]


def test_a_malformed_pseudonym_key_is_one_json_line_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # log.redact (the default) needs the key before the service starts.
    (tmp_path / "pseudonym.key").write_bytes(b"abc")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["gateway", "run", "--store", str(tmp_path / "s.db"), "--radio", "h:1"])
    assert stop.value.code == 2
    (entry,) = _gateway_json_lines(capsys.readouterr().err)
    assert "pseudonym.key holds 3 bytes" in entry["msg"] and "rotate-key" in entry["msg"]
    assert not (tmp_path / "s.db").exists()


def test_a_fatal_line_carries_no_device_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = KeyError("C4:12:00:00:00:0A")
    entry = _run_a_service_that_raises(error, tmp_path, monkeypatch, capsys)
    assert "KeyError: '" in entry["exc"] and "C4:12" not in entry["exc"]


def test_bugs_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import wearable.cli.sim

    def bug(args: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(wearable.cli.sim, "_run_probe", bug)
    with pytest.raises(KeyError):
        main(["sim", "probe", "--radio", "h:1", "--count", "1", "--seconds", "1"])
    assert user_error_message(KeyError("x")) is None
    assert user_error_message(OSError(errno.EIO, "I/O error")) is None


def test_a_full_disk_leaves_the_last_status_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import gateway.service
    from gateway.service import STATUS_FILE, Gateway

    status = tmp_path / STATUS_FILE
    status.write_text('{"links": []}')

    class FullDisk:
        """A file on a full disk: created (0 bytes), every write fails with ENOSPC."""

        def __init__(self, path: Path, *args: object, **kwargs: object) -> None:
            path.touch()

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gateway.service, "open", FullDisk, raising=False)
    fake = SimpleNamespace(
        config=SimpleNamespace(store=SimpleNamespace(path=tmp_path / "gateway.sqlite")),
        status=lambda: {"links": [1]},
        _status_write_failed=False,
    )
    for _ in range(3):
        Gateway._write_status(fake)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATUS_FILE]
    assert status.read_text() == '{"links": []}'
    warnings = [r for r in caplog.records if "cannot write the status file" in r.message]
    assert len(warnings) == 1  # once until a write succeeds, not every 2 s
    monkeypatch.undo()
    Gateway._write_status(fake)  # type: ignore[arg-type]
    assert json.loads(status.read_text()) == {"links": [1]}
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATUS_FILE]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full: free space"),
        (errno.EACCES, "permission denied: choose a location this user can write"),
        (errno.EROFS, "read-only: choose a writable location"),
        (errno.EADDRINUSE, "choose another port"),
    ],
)
def test_operating_system_errors_name_the_path_and_the_fix(code: int, words: str) -> None:
    message = user_error_message(OSError(code, os.strerror(code), "/data/store.sqlite"))
    assert message is not None
    assert message.startswith("/data/store.sqlite: ") and words in message


def test_an_unwritable_output_is_refused_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What root cannot be denied in a test: the first write hits a read-only file system.
    import firmware_sim.truth

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(firmware_sim.truth.Path, "mkdir", read_only)
    out = tmp_path / "o"
    line = _refused(["sim", "replay", "--recording", str(RR), "--out", str(out)], capsys)
    assert (
        line
        == f"wearable sim replay: {out}: the file system is read-only: choose a writable location"
    )
