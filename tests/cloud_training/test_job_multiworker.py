"""``wearable train --strategy multiworker``: two workers on 127.0.0.1 run the whole job.

After ``wearable train ingest``, two processes with TF_CONFIG train together; the chief
gates and reports, the other worker exits 0 after training. A single-worker run of the
same command on a copy of the same bucket must reach the same model quality.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wearable.cli import main as wearable_main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:  # bound together, so the ports differ
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_run_the_job_and_match_one(bucket_dir: Path, tmp_path: Path) -> None:
    assert wearable_main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    key = str(tmp_path / "keys" / "model-signing.pem")
    assert wearable_main(["train", "ingest", "--bucket", str(bucket_dir)]) == 0
    single_bucket = tmp_path / "single-bucket"
    shutil.copytree(bucket_dir, single_bucket)

    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    base = [sys.executable, "-m", "wearable.cli", "train", "--key", key, "--json"]
    base += ["--epochs", "5", "--seed", "7"]
    runs = {
        "chief": ([*base, "--bucket", str(bucket_dir), "--strategy", "multiworker"], 0),
        "worker": ([*base, "--bucket", str(bucket_dir), "--strategy", "multiworker"], 1),
        "single": ([*base, "--bucket", str(single_bucket), "--force"], None),
    }
    procs = {}
    for name, (command, index) in runs.items():
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        if index is not None:
            env["TF_CONFIG"] = json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            )
        procs[name] = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=(tmp_path / f"{name}.out").open("wb"),
            stderr=(tmp_path / f"{name}.err").open("wb"),
        )
    deadline = time.monotonic() + 240
    codes = {}
    try:
        for name, proc in procs.items():
            codes[name] = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out = {name: (tmp_path / f"{name}.out").read_text() for name in procs}
    err = {name: (tmp_path / f"{name}.err").read_text() for name in procs}
    assert codes["worker"] == 0, err["worker"]
    assert codes["chief"] in (0, 3), err["chief"]
    assert codes["single"] in (0, 3), err["single"]
    chief, worker, single = (json.loads(out[n]) for n in ("chief", "worker", "single"))
    assert worker["outcome"] == "worker_done"
    assert chief["training"]["replicas"] == 2 and single["training"]["replicas"] == 1
    assert chief["training"]["windows"] == single["training"]["windows"]
    # The same data, seed and global batches: the two runs must reach the same quality.
    for name, metrics in chief["gate"]["challenger"].items():
        other = single["gate"]["challenger"][name]
        for field in ("recall", "fpr"):
            if metrics[field] is None:
                assert other[field] is None
            else:
                assert abs(metrics[field] - other[field]) <= 0.02, (name, field)
    for name, threshold in chief["training"]["thresholds"].items():
        assert abs(threshold - single["training"]["thresholds"][name]) <= 0.02, name
