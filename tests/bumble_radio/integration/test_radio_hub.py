"""Watches and a central in separate processes, meeting on `wearable sim radio` (no mocks)."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bumble_radio.attach import hub_host_open
from firmware_sim.probe_central import ProbeCentral, follow
from wearable_core.contracts.record_csv import file_name
from wearable_core.contracts.streams import Stream

pytestmark = pytest.mark.integration

SCENARIO = """
[scenario]
name = "hub-test"
seed = 5
watches = 2
duration = "3min"

[[link.event]]
watch = 0
kind = "drop"
at = "40s"

[[link.event]]
watch = 1
kind = "out_of_range"
at = "60s"
duration = "40s"
"""


def _wearable(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "wearable.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out + err


@pytest.fixture
def hub() -> Iterator[str]:
    process = _wearable("sim", "radio", "--listen", "127.0.0.1:0", "--supervision-timeout", "0.5")
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, line + _stop(process)[1]
    address = line.strip().rsplit(" ", 1)[-1]
    yield address
    code, output = _stop(process)
    assert code == 0, output


def _truth(directory: Path) -> set[tuple[str, str, int]]:
    rows: set[tuple[str, str, int]] = set()
    for stream in Stream:
        with (directory / file_name(stream)).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows.add((row["device"], row["stream"], int(row["sequence"])))
    return rows


async def test_watch_farm_and_central_in_separate_processes(hub: str, tmp_path: Path) -> None:
    scenario = tmp_path / "hub.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    truth_dir = tmp_path / "truth"
    farm = _wearable(
        "sim", "watches", "--radio", hub, "--scenario", str(scenario), "--count", "2",
        "--speed", "20", "--truth", str(truth_dir),
    )  # fmt: skip
    try:
        assert farm.stdout is not None
        started = json.loads(await asyncio.to_thread(farm.stdout.readline))
        assert started["event"] == "started", started
        addresses = {w["address"] for w in started["watches"]}
        async with hub_host_open(hub) as host:
            central = ProbeCentral(host)
            await central.start()
            found = await central.discover(2)
            assert set(found) == addresses
            stop = asyncio.Event()
            followers = [asyncio.ensure_future(follow(central, a, stop)) for a in sorted(found)]
            finished = json.loads(await asyncio.to_thread(farm.stdout.readline))
            assert finished["event"] == "finished", finished
            expected = _truth(truth_dir)

            def received() -> set[tuple[str, str, int]]:
                return {
                    (address, stream.value, seq)
                    for address, session in central.sessions.items()
                    for stream in Stream
                    for seq in session.records[stream]
                }

            for _ in range(150):
                if received() >= expected:
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.gather(*followers)
        got = received()
        assert len(expected) > 2 * 180 * 3  # hr, spo2, accel per second, plus temperature
        assert got == expected, f"missing {len(expected - got)}, unexpected {len(got - expected)}"
    finally:
        code, output = _stop(farm)
    assert code == 0, output
    stopped = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    stats = stopped[-1]["stats"]
    assert sum(s["link_faults"]["drop"] for s in stats.values()) == 1
    assert sum(s["link_faults"]["out_of_range"] for s in stats.values()) == 1
    assert sum(s["records_backfilled"] for s in stats.values()) > 0


async def test_a_vanished_watch_process_drops_the_link_after_the_supervision_timeout(
    hub: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "one.toml"
    scenario.write_text('[scenario]\nwatches = 1\nduration = "10min"\n', encoding="utf-8")
    farm = _wearable("sim", "watches", "--radio", hub, "--scenario", str(scenario))
    try:
        assert farm.stdout is not None
        started = json.loads(await asyncio.to_thread(farm.stdout.readline))
        (watch,) = started["watches"]
        async with hub_host_open(hub) as host:
            central = ProbeCentral(host)
            await central.start()
            await central.discover(1)
            session = await central.connect(watch["address"])
            lost = asyncio.Event()
            session.connection.on("disconnection", lambda _reason: lost.set())
            farm.kill()  # kill -9: no goodbye on the air
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await asyncio.wait_for(lost.wait(), 10)
            # The hub's supervision timeout is 0.5 s in the fixture.
            assert 0.3 <= loop.time() - killed_at < 5
    finally:
        _stop(farm)
