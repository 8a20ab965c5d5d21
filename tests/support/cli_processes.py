"""`wearable` commands as real processes, for the tests that stop them with a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def cli_spawn(*args: str, log: Path) -> subprocess.Popen[str]:
    """Start ``python -m wearable.cli ARGS``: stdout piped (text), stderr to ``log``."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("w", encoding="utf-8") as handle:
        # The child keeps its own copy of the descriptor; ours can close.
        return subprocess.Popen(
            [sys.executable, "-m", "wearable.cli", *args],
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            env=env,
        )


def cli_terminate(process: subprocess.Popen[str], timeout: float = 30) -> int:
    """SIGTERM (if still running), wait up to ``timeout`` s, then kill; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@contextmanager
def radio_hub(directory: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A ``wearable sim radio`` hub on a free port: ``(HOST:PORT, process)``; stopped on
    exit (the caller may check the process's exit code after)."""
    process = cli_spawn("sim", "radio", "--listen", "127.0.0.1:0", log=directory / "hub.log")
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, (directory / "hub.log").read_text()
    try:
        yield line.strip().rsplit(" ", 1)[-1], process
    finally:
        cli_terminate(process)


def gateway_status(store: Path) -> dict[str, Any]:
    """The status file a running gateway keeps next to ``store`` (``{}``: none yet)."""
    path = store.parent / "gateway-status.json"
    try:
        status: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written yet, or caught mid-replace
        return {}
    return status
