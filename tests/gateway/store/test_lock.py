"""One gateway per store: the exclusive lock ``gateway run`` holds on ``<store>.lock``."""

from __future__ import annotations

import doctest
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import StoreLock, StoreLockedError, lock_path
from gateway.store import lock as lock_module

#: A second process that takes the lock, says so, and holds it until killed.
HOLDER = """
import sys, time
from pathlib import Path
from gateway.store import StoreLock
lock = StoreLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``tmp_path / 'gateway.sqlite'``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "gateway.sqlite")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_the_second_holder_is_refused_with_the_first_ones_pid(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    store = tmp_path / "gateway.sqlite"
    with pytest.raises(StoreLockedError, match=f"another gateway \\(PID {holder.pid}, "):
        StoreLock(store).acquire()
    assert lock_path(store).read_text(encoding="ascii") == f"{holder.pid}\n"


def test_a_killed_holder_leaves_no_lock(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with StoreLock(tmp_path / "gateway.sqlite") as lock:
        assert lock.path.read_text(encoding="ascii") == f"{os.getpid()}\n"


def test_release_lets_the_next_one_in_and_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "new" / "gateway.sqlite"
    first = StoreLock(store)
    first.acquire()
    assert lock_path(store).stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoreLockedError, match=f"PID {os.getpid()}"):
        StoreLock(store).acquire()
    first.release()
    first.release()
    assert lock_path(store).read_text(encoding="ascii") == ""
    with StoreLock(store):
        pass


def test_doctests() -> None:
    assert doctest.testmod(lock_module).failed == 0
