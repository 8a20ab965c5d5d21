"""LocalBucket under concurrency, crashes and restarts (beyond the shared contract)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from wearable_core.buckets import (
    RESERVED_PREFIX,
    BucketError,
    Created,
    GenerationMismatch,
    LocalBucket,
)

REPO = Path(__file__).resolve().parents[3]


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    """Start ``script`` in a fresh interpreter that can import the repository."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _race_replace(bucket: LocalBucket, writers: int, start: int) -> dict[int, int | None]:
    """``writers`` threads replace "ptr" from generation ``start`` at once; each result is
    the new generation, or ``None`` for a GenerationMismatch."""
    barrier = threading.Barrier(writers)
    outcomes: dict[int, int | None] = {}

    def racer(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = bucket.replace("ptr", f"writer {i}".encode(), if_generation=start)
        except GenerationMismatch:
            outcomes[i] = None

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_threads_racing_replace_on_one_generation_have_one_winner(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    generation = 0
    for _ in range(5):
        start = bucket.replace("ptr", b"start", if_generation=generation)
        outcomes = _race_replace(bucket, 8, start)
        winners = {i: g for i, g in outcomes.items() if g is not None}
        assert len(outcomes) == 8 and len(winners) == 1, outcomes
        ((winner, generation),) = winners.items()
        assert bucket.read("ptr") == (f"writer {winner}".encode(), generation)


_COUNTER_WORKER = """
    import sys, time
    from pathlib import Path
    from wearable_core.buckets import LocalBucket, GenerationMismatch
    bucket = LocalBucket(Path(sys.argv[1]))
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    conflicts = 0
    for _ in range(int(sys.argv[3])):
        while True:  # the read-modify-CAS loop a pointer writer uses
            data, generation = bucket.read("counter")
            try:
                bucket.replace("counter", str(int(data) + 1).encode(), if_generation=generation)
                break
            except GenerationMismatch:
                conflicts += 1
    print(conflicts)
"""


def test_processes_incrementing_through_cas_lose_no_update(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    LocalBucket(root).create("counter", b"0")
    go = tmp_path / "go"
    workers = [_python(_COUNTER_WORKER, str(root), str(go), "25") for _ in range(4)]
    time.sleep(0.3)  # let them all reach the start line
    go.touch()
    conflicts = 0
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        conflicts += int(out)
    assert LocalBucket(root).read("counter")[0] == b"100"
    # Not guaranteed, but with 4 processes hammering one name some CAS must have failed;
    # if none did, the test did not exercise the race at all.
    assert conflicts > 0


_SLOW_WRITER = """
    import os, sys
    from pathlib import Path
    from wearable_core.buckets import LocalBucket
    bucket = LocalBucket(Path(sys.argv[1]))
    real_fsync = os.fsync
    def stalled_fsync(fd):
        # The temp file is fully written; announce it and wait to be killed.
        print("writing", flush=True)
        import time; time.sleep(60)
    os.fsync = stalled_fsync
    bucket.{call}
"""


@pytest.mark.parametrize(
    "call",
    [
        'create("big/object", b"x" * (8 << 20))',
        'replace("ptr", b"new contents", if_generation=int(sys.argv[2]))',
    ],
)
def test_writer_killed_mid_write_leaves_no_partial_object(tmp_path: Path, call: str) -> None:
    bucket = LocalBucket(tmp_path)
    g = bucket.replace("ptr", b"old contents", if_generation=0)
    writer = _python(_SLOW_WRITER.replace("{call}", call), str(tmp_path), str(g))
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    # The killed write left its temp file behind ...
    assert list((tmp_path / RESERVED_PREFIX / "tmp").iterdir())
    # ... but no reader, fresh or old, sees it or any trace of the write.
    for reader in (bucket, LocalBucket(tmp_path)):
        assert reader.stat("big/object") is None
        assert reader.read("ptr") == (b"old contents", g)
        assert [o.name for o in reader.list()] == ["ptr"]
    assert bucket.create("big/object", b"y") is Created.CREATED


_CHURN_WRITER = """
    import hashlib, os, sys
    from pathlib import Path
    from wearable_core.buckets import LocalBucket
    bucket = LocalBucket(Path(sys.argv[1]))
    print("ready", flush=True)
    generation = bucket.read("obj")[1]
    while True:
        body = os.urandom(int.from_bytes(os.urandom(3), "big") % (1 << 20) + 1)
        generation = bucket.replace("obj", hashlib.sha256(body).digest() + body,
                                    if_generation=generation)
"""


def test_writer_killed_at_random_points_never_exposes_torn_data(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    body = b"initial"
    bucket.create("obj", hashlib.sha256(body).digest() + body)
    rng = random.Random(1234)
    generations = set()
    for _ in range(6):
        writer = _python(_CHURN_WRITER, str(tmp_path))
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        data, generation = bucket.read("obj")
        assert hashlib.sha256(data[32:]).digest() == data[:32], "torn object"
        assert [(o.name, o.size, o.generation) for o in bucket.list()] == [
            ("obj", len(data), generation)
        ]
        generations.add(generation)
    assert len(generations) > 1, "the writer never completed a write before being killed"


def test_generations_survive_restart_and_keep_increasing(tmp_path: Path) -> None:
    g1 = LocalBucket(tmp_path).replace("p", b"1", if_generation=0)
    reopened = LocalBucket(tmp_path)
    assert reopened.read("p") == (b"1", g1)
    g2 = reopened.replace("p", b"2", if_generation=g1)
    assert g2 > g1
    other_process = _python(
        """
        import sys
        from wearable_core.buckets import LocalBucket
        print(LocalBucket(sys.argv[1]).read("p")[1])
        """,
        str(tmp_path),
    )
    out, err = other_process.communicate(timeout=30)
    assert int(out) == g2, err


def test_generation_is_the_file_mtime(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    g = bucket.replace("a/b", b"x", if_generation=0)
    assert (tmp_path / "a" / "b").stat().st_mtime_ns == g
    # Generations double as real modification times (nanoseconds since the epoch).
    assert abs(g - time.time_ns()) < 60 * 10**9


def test_file_and_directory_with_one_name_cannot_coexist(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    bucket.create("a", b"file")
    with pytest.raises(BucketError, match="cannot hold both"):
        bucket.create("a/b", b"child")
    bucket.create("c/d", b"child")
    with pytest.raises(BucketError, match="cannot hold both"):
        bucket.create("c", b"file")
    with pytest.raises(BucketError, match="cannot hold both"):
        bucket.replace("c", b"file", if_generation=0)
    assert [o.name for o in bucket.list()] == ["a", "c/d"]


def test_delete_prunes_empty_directories(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    bucket.create("x/y/z", b"1")
    bucket.create("x/keep", b"2")
    bucket.delete("x/y/z")
    assert not (tmp_path / "x" / "y").exists()
    assert (tmp_path / "x" / "keep").is_file()
    bucket.delete("x/keep")
    assert sorted(p.name for p in tmp_path.iterdir()) == [RESERVED_PREFIX]


def test_stray_files_in_metadata_dir_are_invisible(tmp_path: Path) -> None:
    bucket = LocalBucket(tmp_path)
    (tmp_path / RESERVED_PREFIX / "tmp" / "orphan.tmp").write_bytes(b"half")
    (tmp_path / ".hidden").write_bytes(b"a real object whose name starts with a dot")
    assert [o.name for o in bucket.list()] == [".hidden"]
