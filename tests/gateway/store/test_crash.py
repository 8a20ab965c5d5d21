"""Crash safety: a writer killed with SIGKILL loses no committed batch and leaves no partial one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.store import Store
from wearable_core.contracts.streams import Stream

from ._support import WATCH_A, WATCH_B

BATCH = 1500
# The child writes batch i as seqs [i*BATCH, (i+1)*BATCH) of watch A's heart rate and of
# watch B's accelerometer, in one add(); it prints i once add() has returned (committed).
# A small flush threshold makes the kill land in inbox-to-records moves too.
CHILD = f"""
import sys
import gateway.store.records as records_module
from wearable_core.records import IngestRecord
from gateway.store import Store
from wearable_core.contracts.streams import Stream

records_module.FLUSH_ROWS = 4000
store = Store(sys.argv[1])
batch = store.records.frontier({WATCH_A!r}, Stream.HEART_RATE) // {BATCH}
while True:
    records = []
    for seq in range(batch * {BATCH}, (batch + 1) * {BATCH}):
        t = 1_699_920_000_000 + seq * 1000
        payload = seq.to_bytes(4, "little") * 10
        records.append(IngestRecord({WATCH_A!r}, Stream.HEART_RATE, seq, t, t, t, payload))
        records.append(IngestRecord({WATCH_B!r}, Stream.ACCEL, seq, t, t, t, payload * 4))
    store.records.add(records)
    print(batch, flush=True)
    batch += 1
"""


def run_and_kill(path: Path, rng: random.Random) -> int:
    """Start the writer, SIGKILL it at a random moment; return the last batch it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    last = -1
    try:
        wanted = rng.randint(3, 12)
        for _ in range(wanted):
            line = child.stdout.readline()
            assert line, "the writer died on its own"
            last = int(line)
        time.sleep(rng.uniform(0, 0.02))  # land anywhere: mid-batch, mid-commit, mid-flush
        os.kill(child.pid, signal.SIGKILL)
        # Batches committed after our last read but before the kill are fine too.
        for line in child.stdout:
            last = int(line)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
def test_sigkill_loses_no_committed_batch_and_leaves_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    rng = random.Random(1234)
    for _ in range(4):
        reported = run_and_kill(path, rng)
        with Store(path) as store:
            hr = store.records.sequences(WATCH_A, Stream.HEART_RATE)
            accel = store.records.sequences(WATCH_B, Stream.ACCEL)
            complete = len(hr) // BATCH
            # All or nothing, and both streams of a batch together.
            assert hr == accel == set(range(complete * BATCH))
            # Every batch the writer saw committed is there.
            assert complete >= reported + 1
            assert store.records.frontier(WATCH_A, Stream.HEART_RATE) == complete * BATCH
            assert store.records.holes(WATCH_A, Stream.HEART_RATE) == []
            for record in store.records.iter_records(device=WATCH_A):
                assert record.payload == record.seq.to_bytes(4, "little") * 10
            assert store.verify() == []
