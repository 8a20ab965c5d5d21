"""The ingest guarantee, with no mocks: separate processes for the radio hub, the watch farm
and the gateway service, talking BLE through bumble; the store must end up holding exactly
the records the watches produced (set equality on device, stream, sequence)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_processes import cli_spawn, cli_terminate, radio_hub
from wearable_core.contracts.record_csv import file_name
from wearable_core.contracts.streams import Stream

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

GATEWAY_TOML = """
[ble]
backoff_initial_s = 0.5
backoff_max_s = 2.0
watchdog_s = 6.0

[store]
flush_interval_s = 0.2

[log]
level = "INFO"
"""

Key = tuple[str, str, int]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A ``wearable sim radio`` hub on a free port; yields HOST:PORT; it must stop cleanly."""
    with radio_hub(tmp_path) as (address, process):
        yield address
    assert process.returncode == 0


def _keys(directory: Path) -> set[Key]:
    keys: set[Key] = set()
    for stream in Stream:
        path = directory / file_name(stream)
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                keys.add((row["device"], row["stream"], int(row["sequence"])))
    return keys


def _stored(store: Path, out: Path) -> set[Key]:
    result = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "gateway", "export", "--store", str(store),
         "--out", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.returncode == 0
    return _keys(out)


def _gateway(hub: str, tmp_path: Path, store: Path, tag: str) -> subprocess.Popen[str]:
    config = tmp_path / "gateway.toml"
    config.write_text(GATEWAY_TOML, encoding="utf-8")
    return cli_spawn(
        "gateway", "run", "--config", str(config), "--store", str(store), "--radio", hub,
        log=tmp_path / f"gateway-{tag}.log",
    )  # fmt: skip


def _wait_for_line(process: subprocess.Popen[str], event: str, timeout: float) -> dict[str, object]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"process ended before {event!r}")
        if line.startswith("{"):
            message = json.loads(line)
            if message.get("event") == event:
                return message  # type: ignore[no-any-return]
    raise AssertionError(f"no {event!r} within {timeout} s")


def _converge(store: Path, truth: set[Key], out: Path, timeout: float) -> set[Key]:
    """Poll the store (through export) until it holds every truth record or time is up."""
    deadline = time.monotonic() + timeout
    stored: set[Key] = set()
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        stored = _stored(store, out / f"poll-{attempt}")
        if stored >= truth:
            break
        time.sleep(2.0)
    return stored


def _run_farm(
    hub: str, tmp_path: Path, scenario: Path, speed: str
) -> tuple[subprocess.Popen[str], Path]:
    truth = tmp_path / "truth"
    farm = cli_spawn(
        "sim", "watches", "--radio", hub, "--scenario", str(scenario), "--speed", speed,
        "--truth", str(truth), log=tmp_path / "farm.log",
    )  # fmt: skip
    _wait_for_line(farm, "started", 60)
    return farm, truth


def test_ward_with_link_drops_and_out_of_range_loses_and_duplicates_nothing(
    hub: str, tmp_path: Path
) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    gateway = _gateway(hub, tmp_path, store, "a")
    farm, truth_dir = _run_farm(hub, tmp_path, REPO / "examples" / "ward.toml", "20")
    try:
        _wait_for_line(farm, "finished", 600)
        truth = _keys(truth_dir)
        stored = _converge(store, truth, tmp_path / "export", 120)
    finally:
        gateway_code = cli_terminate(gateway)
        farm_code = cli_terminate(farm)
    assert farm.stdout is not None
    stats = _wait_for_line(farm, "stopped", 10)["stats"]
    assert isinstance(stats, dict)
    drops = sum(w["link_faults"]["drop"] for w in stats.values())
    out_of_range = sum(w["link_faults"]["out_of_range"] for w in stats.values())
    report = {
        "truth_records": len(truth),
        "stored_records": len(stored),
        "missing": len(truth - stored),
        "unexpected": len(stored - truth),
        "link_drops": drops,
        "out_of_range_periods": out_of_range,
        "records_backfilled": sum(w["records_backfilled"] for w in stats.values()),
    }
    print(json.dumps(report))
    assert gateway_code == 0, (tmp_path / "gateway-a.log").read_text()[-3000:]
    assert farm_code == 0
    assert len(truth) > 50_000  # 10 watches x 30 min x 3 streams at 1 Hz, less data gaps
    assert drops >= 20
    assert out_of_range >= 1  # examples/ward.toml: 90 s out of range
    assert stored == truth, report
    # The export is exactly the records, once each (the store is keyed on the triple).
    final = _stored(store, tmp_path / "final")
    assert final == truth
    status = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "gateway", "status", "--store", str(store),
         "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    devices = json.loads(status.stdout)["devices"]
    assert len(devices) == 10
    assert all(d["rejected"] == 0 and d["gaps"] == 0 for d in devices), devices
    assert all(d["kind"] == "sequenced" and d["battery_pct"] is not None for d in devices)
    assert all(d["last_seen_ms"] and d["last_seen_ms"] > d["first_seen_ms"] for d in devices)


def test_kill_9_of_the_gateway_mid_ingest_then_restart(hub: str, tmp_path: Path) -> None:
    scenario = tmp_path / "kill.toml"
    scenario.write_text(
        '[scenario]\nname = "kill"\nseed = 9\nwatches = 4\nduration = "8min"\n'
        "[link]\ndrops_per_hour = 6.0\n",
        encoding="utf-8",
    )
    store = tmp_path / "store" / "gateway.sqlite"
    gateway = _gateway(hub, tmp_path, store, "a")
    farm, truth_dir = _run_farm(hub, tmp_path, scenario, "10")
    try:
        time.sleep(12)  # ~2 simulated minutes in, mid-ingest
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=10)
        assert gateway.returncode == -signal.SIGKILL
        time.sleep(3)  # the watches keep producing while the gateway is dead
        gateway = _gateway(hub, tmp_path, store, "b")
        _wait_for_line(farm, "finished", 600)
        truth = _keys(truth_dir)
        stored = _converge(store, truth, tmp_path / "export", 120)
    finally:
        gateway_code = cli_terminate(gateway)
        cli_terminate(farm)
    print(json.dumps({"truth_records": len(truth), "stored_records": len(stored)}))
    assert gateway_code == 0, (tmp_path / "gateway-b.log").read_text()[-3000:]
    assert stored == truth, {"missing": len(truth - stored), "unexpected": len(stored - truth)}
