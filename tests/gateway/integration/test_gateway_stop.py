"""SIGTERM stops a real ``wearable gateway run`` within 5 s, even with connects pending.

Issue 19, item 6: the service used to wait for every pending connect to run out
(``ble.connect_timeout_s``, 20 s by default, one after another), 14-42 s in all, beyond
the documented unit's ``TimeoutStopSec=30``. Here the watches vanish (their process is
killed), so every link is stuck in a connect that waits for a device that never
advertises again, with a connect timeout of two minutes: only cancelling it stops the
gateway in time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_processes import cli_spawn, cli_terminate, gateway_status, radio_hub
from wearable_core.contracts.record_csv import file_name
from wearable_core.contracts.streams import Stream

pytestmark = pytest.mark.integration

#: What the issue promises. Measured about 1 s on an idle machine; the bound holds on
#: one loaded by other test processes, and without the fix a stop takes ~2 minutes.
STOP_BUDGET_S = 5.0

GATEWAY_TOML = """
[ble]
connect_timeout_s = 120.0
backoff_initial_s = 0.5
backoff_max_s = 2.0
watchdog_s = 6.0

[store]
flush_interval_s = 0.2

[detection]
enabled = false

[log]
level = "INFO"
"""

SCENARIO = '[scenario]\nname = "stop"\nseed = 5\nwatches = 2\nduration = "30min"\n'


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A ``wearable sim radio`` hub on a free port; yields HOST:PORT."""
    with radio_hub(tmp_path) as (address, _):
        yield address


def _wait_status(
    store: Path,
    gateway: subprocess.Popen[str],
    condition: Callable[[dict[str, Any]], bool],
    timeout: float,
    what: str,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert gateway.poll() is None, "the gateway ended early"
        status = gateway_status(store)
        if status and condition(status):
            return status
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s; last status: {gateway_status(store)}")


def _links_in(state: str, count: int) -> Callable[[dict[str, Any]], bool]:
    def check(status: dict[str, Any]) -> bool:
        links = status.get("links", [])
        return len(links) == count and all(link["state"] == state for link in links)

    return check


def test_sigterm_with_connects_pending_stops_within_5_s_with_the_store_checkpointed(
    hub: str, tmp_path: Path
) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    config = tmp_path / "gateway.toml"
    config.write_text(GATEWAY_TOML, encoding="utf-8")
    scenario = tmp_path / "stop.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    gateway = cli_spawn(
        "gateway", "run", "--config", str(config), "--store", str(store), "--radio", hub,
        log=tmp_path / "gateway.log",
    )  # fmt: skip
    farm = cli_spawn(
        "sim", "watches", "--radio", hub, "--scenario", str(scenario), "--speed", "1",
        log=tmp_path / "farm.log",
    )  # fmt: skip
    try:
        _wait_status(store, gateway, _links_in("streaming", 2), 120, "two streaming links")
        _wait_status(store, gateway, lambda s: s["records_ingested"] >= 20, 60, "records committed")
        # The watches vanish: the hub drops their links after its supervision timeout,
        # and each link's reconnect waits for a device that never advertises again.
        farm.kill()
        farm.wait(timeout=10)
        status = _wait_status(
            store, gateway, _links_in("connecting", 2), 60, "two links reconnecting"
        )
        committed = status["records_ingested"]
        time.sleep(1.0)  # well into the connect: nothing is about to finish by itself
        assert gateway.poll() is None
        started = time.monotonic()
        gateway.send_signal(signal.SIGTERM)
        try:
            code = gateway.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        elapsed = time.monotonic() - started
    finally:
        cli_terminate(gateway)
        cli_terminate(farm)
    log = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    print(json.dumps({"stop_s": round(elapsed, 2), "records_committed": committed}))
    assert code == 0, log[-3000:]
    assert elapsed < STOP_BUDGET_S, f"stopped after {elapsed:.1f} s\n{log[-3000:]}"
    assert "gateway stopped" in log
    # Checkpointed and out of WAL mode: the store is one self-contained file.
    wal = store.with_name(store.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    exported = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "gateway", "export", "--store", str(store),
         "--out", str(tmp_path / "export")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    rows = sum(
        len((tmp_path / "export" / file_name(stream)).read_text(encoding="utf-8").splitlines()) - 1
        for stream in Stream
    )
    assert committed > 0
    assert rows >= committed, (rows, committed)
