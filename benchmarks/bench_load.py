"""Load: 100 watches at real-time rate on one gateway, with sync on; nothing lost.

Three processes on the machine, as in production: the radio hub (`wearable sim radio`),
the watches (`wearable sim watches --speed 1 --truth DIR`, every record they produce
written to the truth files) and the gateway service (`wearable gateway run`, detection on,
syncing to a local-directory bucket every 60 s with 10-minute batches). The watches
produce for ``--minutes`` and keep serving backfill; then the gateway gets up to
``--drain`` seconds to hold exactly what the truth files list.

Measured: the gateway's CPU (fraction of one core) and RSS over the production window,
records the watches produced against records the store holds (set equality on device,
stream and sequence: lost and extra), rows stored twice under another sequence number,
and what sync uploaded. The same-run baseline is the gateway's CPU with no watches in
``bench_gateway_cpu.py``; this run reports absolute figures.

Usage::

    python benchmarks/bench_load.py --watches 100 --minutes 10

Prints one JSON object. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gateway_cpu import cpu_seconds, hub, rss_mb, spawn, stop
from loop_evidence import (
    bucket_contents,
    store_catch_up,
    stored_keys,
    truth_keys,
    windows_assessed,
)

GATEWAY_TOML = """
[ble]
backoff_initial_s = 1.0
backoff_max_s = 10.0

[log]
level = "WARNING"

[sync]
bucket = "{bucket}"
interval_s = 60.0
batch_interval_s = 600.0
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=600.0, help="seconds to catch up")
    args = parser.parse_args()
    from wearable_core.buckets import bucket_open

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        scenario = work / "load.toml"
        scenario.write_text(
            f'[scenario]\nname = "load"\nseed = 3\nwatches = {args.watches}\n'
            f"duration_s = {round(args.minutes * 60)}\n"
            # Watch clocks start near the gateway's (as after a charge on the phone), so
            # windows assessed can be counted from the first record's minute.
            f'start = "{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}"\n'
        )
        bucket, store, truth = work / "bucket", work / "store" / "gateway.sqlite", work / "truth"
        config = work / "gateway.toml"
        config.write_text(GATEWAY_TOML.format(bucket=bucket))
        with hub(work) as address:
            farm = spawn(
                "sim", "watches", "--radio", address, "--scenario", str(scenario),
                "--speed", "1", "--truth", str(truth), log=work / "farm.log",
            )  # fmt: skip
            assert farm.stdout is not None
            farm.stdout.readline()  # "started"
            gateway = spawn(
                "gateway", "run", "--config", str(config), "--store", str(store),
                "--radio", address, log=work / "gateway.log",
            )  # fmt: skip
            try:
                started = time.monotonic()
                cpu0 = cpu_seconds(gateway.pid)
                peak_rss = 0.0
                while time.monotonic() - started < args.minutes * 60:
                    time.sleep(10)
                    peak_rss = max(peak_rss, rss_mb(gateway.pid))
                produce_s = time.monotonic() - started
                cpu_producing = cpu_seconds(gateway.pid) - cpu0
                drain_s = store_catch_up(truth, store, args.drain)
                time.sleep(65)  # one more sync cycle
                peak_rss = max(peak_rss, rss_mb(gateway.pid))
            finally:
                stop(gateway)
                stop(farm)
        held, rows, duplicates = stored_keys(store)
        expected = truth_keys(truth)
        assessed, pending = windows_assessed(store)
        result: dict[str, Any] = {
            "benchmark": "load",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "watches": args.watches,
            "producing_s": round(produce_s, 1),
            "gateway_cpu_percent_of_one_core": round(100 * cpu_producing / produce_s, 2),
            "gateway_peak_rss_mb": round(peak_rss, 1),
            "records_produced": len(expected),
            "records_stored": len(held & expected),
            "records_lost": len(expected - held),
            "records_not_produced_but_stored": len(held - expected),
            "store_rows": rows,
            "rows_duplicated": duplicates,
            "drain_s": round(drain_s, 1),
            "store_bytes": store.stat().st_size,
            "windows_assessed": sum(assessed.values()),
            "windows_not_yet_batched": sum(pending.values()),
            **bucket_contents(bucket_open(str(bucket))),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
