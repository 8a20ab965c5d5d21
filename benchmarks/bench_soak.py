"""Soak: the gateway service over 7 simulated days, accelerated.

Runs the whole-loop demo (`wearable demo --no-train`) on a week-long scenario: watches
with randomly sampled anomalies, sensor faults, link drops and out-of-range periods
stream over the in-process radio to the real gateway service, which stores, detects,
alerts and syncs to a local-directory bucket, on the simulation's clock at ``--speed``.
From outside the process, every ``--every`` seconds, we read its resident memory and CPU
time from /proc and the store's row count and size.

What a week-long run must show: nothing lost or duplicated (the demo's own count of
records sent against stored), no medical alert during a sensor fault, memory that levels
off instead of growing with the store, and an ingest rate on the last day like the
first (the store's indexes must not slow it down as it grows). The baseline for the rates
is the same run's first simulated day.

Usage::

    python benchmarks/bench_soak.py --days 7 --watches 1 --speed 300

Prints one JSON object. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gateway_cpu import cpu_seconds, rss_mb, stored_records

# Random anomalies and faults per user-day, link trouble per hour and day. The simulator
# has no charger, so the battery is large enough for the week. At 300x a watch's 256 KB of
# flash (about 25 simulated minutes of records) is 5 s of wall time: a few seconds of
# contention on a shared host would overflow it, which is the harness, not the gateway
# (the first run lost 333 of 1.8 M records that way while other benchmarks ran). 4 MB
# gives the accelerated watch about a minute of wall time.
SCENARIO = """
[scenario]
name = "soak"
seed = {seed}
watches = {watches}
days = {days}
start = "2026-01-05T00:00:00Z"

[watch]
battery_mah = 100000.0
flash_bytes = 4194304

[rates]
tachycardia = 0.5
bradycardia = 0.5
af = 0.3
desaturation = 0.5
fever = 0.15
fall = 0.3
off_wrist = 1.0
flat_line = 0.5
motion_artifact = 2.0
data_gap = 0.5

[link]
drops_per_hour = 1.0
out_of_range_per_day = 2.0
"""


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _crossing(samples: list[dict[str, float]], rows: int) -> float | None:
    """Wall second at which the store reached ``rows`` rows (linear between samples)."""
    for a, b in itertools.pairwise(samples):
        if a["rows"] < rows <= b["rows"]:
            return a["wall_s"] + (rows - a["rows"]) / (b["rows"] - a["rows"]) * (
                b["wall_s"] - a["wall_s"]
            )
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--watches", type=int, default=1)
    parser.add_argument("--speed", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        scenario = work / "soak.toml"
        scenario.write_text(SCENARIO.format(seed=args.seed, watches=args.watches, days=args.days))
        out = work / "demo"
        store = out / "gateway-store" / "gateway.sqlite"
        started = time.monotonic()
        demo = subprocess.Popen(
            [sys.executable, "-m", "wearable.cli", "demo", "--scenario", str(scenario),
             "--no-train", "--speed", str(args.speed), "--out", str(out), "--json"],
            stdout=subprocess.PIPE, stderr=(work / "demo.log").open("w"), text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )  # fmt: skip
        samples: list[dict[str, float]] = []
        while demo.poll() is None:
            time.sleep(args.every)
            with contextlib.suppress(OSError, sqlite3.Error):
                samples.append(
                    {
                        "wall_s": round(time.monotonic() - started, 1),
                        "rss_mb": round(rss_mb(demo.pid), 1),
                        "cpu_s": round(cpu_seconds(demo.pid), 1),
                        "rows": stored_records(store),
                        "store_mb": round(store.stat().st_size / 2**20, 1),
                    }
                )
        stdout, _ = demo.communicate()
        wall = time.monotonic() - started
        summary = json.loads(stdout) if demo.returncode in (0, 1) else {}
    # A simulated day is 3 records a second per watch (plus one a minute): when the store
    # crossed each day's worth of rows, interpolated between samples.
    day_rows = args.watches * 86400 * 3
    crossed = [_crossing(samples, k * day_rows) for k in range(args.days + 1)]
    crossed[0] = next((s["wall_s"] for s in samples if s["rows"] > 0), None)
    days = [(a, b) for a, b in itertools.pairwise(crossed) if a is not None and b is not None]
    rates = [round(day_rows / (b - a), 1) for a, b in days]
    rss_by_day = [_mean([s["rss_mb"] for s in samples if a <= s["wall_s"] < b]) for a, b in days]
    keys = (
        "watches", "simulated_seconds", "records_sent", "records_stored", "records_lost",
        "records_duplicated", "alerts", "per_type", "medical_alerts_during_faults",
        "uploaded_bytes", "raw_bytes", "model_version_start", "model_version_end",
        "wall_seconds",
    )  # fmt: skip
    result: dict[str, Any] = {
        "benchmark": "soak",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "days": args.days,
        "speed": args.speed,
        "seed": args.seed,
        "exit_code": demo.returncode,
        "wall_s": round(wall, 1),
        "demo": {k: summary.get(k) for k in keys},
        "memory_mb_by_day": rss_by_day,
        "memory_mb_peak_producing": max(
            (s["rss_mb"] for s in samples if days and s["wall_s"] < days[-1][1]), default=0.0
        ),
        "memory_mb_peak": max((s["rss_mb"] for s in samples), default=0.0),
        "records_per_s_by_day": rates,
        "last_day_over_first": round(rates[-1] / rates[0], 3) if rates else None,
        "store_mb_at_end": samples[-1]["store_mb"] if samples else None,
        "cpu_s_total": samples[-1]["cpu_s"] if samples else None,
        "samples": samples,
    }
    print(json.dumps(result, indent=2))
    return demo.returncode


if __name__ == "__main__":
    raise SystemExit(main())
