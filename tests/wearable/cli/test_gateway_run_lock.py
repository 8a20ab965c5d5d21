"""``wearable gateway run`` on a store another gateway is running on exits 2, naming its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.lock import lock_path
from wearable.cli import main


def _spawn(*args: str, log: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "wearable.cli", *args],
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            env=env,
        )


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A ``wearable sim radio`` hub on a free port; yields HOST:PORT."""
    process = _spawn("sim", "radio", "--listen", "127.0.0.1:0", log=tmp_path / "hub.log")
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, (tmp_path / "hub.log").read_text()
    yield line.strip().rsplit(" ", 1)[-1]
    _stop(process)


@pytest.mark.integration
def test_a_second_gateway_on_the_same_store_exits_2_naming_the_first(
    hub: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    first = _spawn(
        "gateway", "run", "--store", str(store), "--radio", hub, log=tmp_path / "first.log"
    )
    try:
        deadline = time.monotonic() + 60
        while not store.exists():
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the first gateway did not start"
            time.sleep(0.2)
        assert lock_path(store).read_text(encoding="ascii") == f"{first.pid}\n"
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            main(["gateway", "run", "--store", str(store), "--radio", hub])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"in use by another gateway (PID {first.pid}" in err
        assert first.poll() is None  # the first one runs on, undisturbed
    finally:
        assert _stop(first) == 0, (tmp_path / "first.log").read_text()
    # Stopped: the next gateway may take the store.
    assert lock_path(store).read_text(encoding="ascii") == ""
