"""Gateway CPU at 10, 50 and 100 live watches, as separate processes on the radio hub.

For each watch count: a radio hub, a watch farm at real-time speed and the gateway
service run as three processes (`wearable sim radio`, `wearable sim watches`,
`wearable gateway run`). Once every watch is streaming into the store, we read the
gateway process's CPU time from /proc over a fixed window and count the records it
stored. The baseline, measured in the same run, is the same gateway with no watches
(scanning an empty radio); ``--detection both`` also measures each count with detection
switched off, so what detection costs is a same-run difference.

Usage::

    python benchmarks/bench_gateway_cpu.py --counts 10,50,100 --window 60

Prints one JSON object. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
GATEWAY_TOML = """
[ble]
backoff_initial_s = 1.0
backoff_max_s = 10.0

[log]
level = "WARNING"
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spawn(*args: str, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wearable.cli", *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def stored_records(store: Path) -> int:
    if not store.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        try:
            # The store stages new rows in an inbox before packing them into blocks of
            # consecutive records, [start_seq, end_seq) each.
            query = (
                "SELECT (SELECT coalesce(sum(end_seq - start_seq), 0) FROM record_blocks) "
                "+ (SELECT COUNT(*) FROM inbox)"
            )
            return int(db.execute(query).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


@contextlib.contextmanager
def hub(workdir: Path) -> Iterator[str]:
    process = spawn("sim", "radio", "--listen", "127.0.0.1:0", log=workdir / "hub.log")
    assert process.stdout is not None
    address = process.stdout.readline().strip().rsplit(" ", 1)[-1]
    try:
        yield address
    finally:
        stop(process)


def measure(watches: int, window_s: float, workdir: Path, detection: bool = True) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "bench.toml"
    scenario.write_text(
        f'[scenario]\nname = "bench"\nseed = 1\nwatches = {max(watches, 1)}\nduration = "3h"\n'
    )
    config = workdir / "gateway.toml"
    config.write_text(GATEWAY_TOML + f"\n[detection]\nenabled = {str(detection).lower()}\n")
    store = workdir / "store" / "gateway.sqlite"
    with hub(workdir) as address:
        farm = None
        if watches:
            farm = spawn(
                "sim", "watches", "--radio", address, "--scenario", str(scenario),
                "--speed", "1", log=workdir / "farm.log",
            )  # fmt: skip
            assert farm.stdout is not None
            farm.stdout.readline()  # "started"
        gateway = spawn(
            "gateway", "run", "--config", str(config), "--store", str(store),
            "--radio", address, log=workdir / "gateway.log",
        )  # fmt: skip
        try:
            # Wait until every watch streams: ~3 records/s each into the store.
            setup_started = time.monotonic()
            target_rate = 3 * watches * 0.95
            previous, rate = stored_records(store), 0.0
            while watches and time.monotonic() - setup_started < 600:
                time.sleep(5)
                current = stored_records(store)
                rate = (current - previous) / 5
                previous = current
                if rate >= target_rate:
                    break
            setup_s = time.monotonic() - setup_started
            time.sleep(5)  # let catch-up backfills drain
            cpu0, wall0, rec0 = cpu_seconds(gateway.pid), time.monotonic(), stored_records(store)
            time.sleep(window_s)
            cpu1, wall1, rec1 = cpu_seconds(gateway.pid), time.monotonic(), stored_records(store)
            memory = rss_mb(gateway.pid)
            farm_cpu = cpu_seconds(farm.pid) if farm else 0.0
        finally:
            stop(gateway)
            if farm is not None:
                stop(farm)
    wall = wall1 - wall0
    return {
        "watches": watches,
        "detection": detection,
        "setup_s": round(setup_s, 1),
        "window_s": round(wall, 1),
        "gateway_cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / wall, 2),
        "records_stored_per_s": round((rec1 - rec0) / wall, 1),
        "gateway_rss_mb": round(memory, 1),
        "farm_cpu_s_total": round(farm_cpu, 1),
        "store_bytes": store.stat().st_size if store.exists() else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10,50,100")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument(
        "--detection",
        choices=("on", "off", "both"),
        default="on",
        help="run the gateway with detection on, off, or each count both ways (what "
        "detection costs, measured in the same run)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        base = Path(tmp)
        modes = {"on": [True], "off": [False], "both": [True, False]}[args.detection]
        baseline = measure(0, args.window, base / "idle", modes[0])
        runs = [
            measure(int(n), args.window, base / f"n{n}-{'det' if on else 'nodet'}", on)
            for n in args.counts.split(",")
            for on in modes
        ]
    print(
        json.dumps(
            {
                "benchmark": "gateway_cpu",
                "date": time.strftime("%Y-%m-%d"),
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                "baseline_idle_gateway": baseline,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
