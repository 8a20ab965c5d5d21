"""Peak memory of ``wearable sim replay`` on a long generated RR recording (issue 19, item 5).

Writes an RR-interval recording of about ``--mb`` megabytes (a healthy resting rhythm
with slow variability), replays it with ``wearable sim replay --out`` in a child
process, and prints one JSON object: the input's bytes and beats, the seconds of signal
replayed, the records written, the wall time and the child's peak resident memory
(``ru_maxrss``). The replay streams the recording, so peak memory should not grow
with the input; before, a 200 MB file needed 22.6 GB.

    .venv/bin/python benchmarks/bench_replay_memory.py --mb 200
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Beats generated and written at a time (bounded memory in the generator too).
_BEATS_PER_BLOCK = 50_000


def write_rr_recording(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write ``time_s,rr_ms`` rows until the file reaches ``target_bytes``; return beats."""
    rng = np.random.default_rng(seed)
    beats = 0
    t = 0.0
    with path.open("w", encoding="utf-8") as out:
        out.write("time_s,rr_ms\n")
        while out.tell() < target_bytes:
            n = _BEATS_PER_BLOCK
            phase = (beats + np.arange(n)) / 90.0
            rr = 850.0 + 60.0 * np.sin(phase) + rng.normal(0.0, 25.0, n)
            rr = np.round(np.clip(rr, 400.0, 1500.0), 1)
            times = t + np.cumsum(rr) / 1000.0
            t = float(times[-1])
            rows = np.char.add(np.char.add(np.char.mod("%.3f", times), ","), rr.astype(str))
            out.write("\n".join(rows.tolist()))
            out.write("\n")
            beats += n
    return beats


def _hwm(pid: int) -> dict[str, float]:
    """The process's peak and current resident memory so far, MB (Linux /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "peak_rss_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="input size, MB (default 200)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-replay-"))
    work.mkdir(parents=True, exist_ok=True)
    recording = work / "long_rr.csv"
    beats = write_rr_recording(recording, int(args.mb * 1e6))
    out = work / "out"
    command = [
        sys.executable,
        "-m",
        "wearable.cli",
        "sim",
        "replay",
        "--recording",
        str(recording),
        "--out",
        str(out),
    ]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Progress on stderr: the child's peak RSS so far (VmHWM), every 30 s.
    peak_mb = 0.0
    reported = started
    while child.poll() is None:
        time.sleep(1.0)
        memory = _hwm(child.pid)
        peak_mb = max(peak_mb, memory.get("peak_rss_mb", 0.0))
        if time.monotonic() - reported >= 30:
            reported = time.monotonic()
            elapsed = round(reported - started)
            print(json.dumps({"elapsed_s": elapsed, **memory}), file=sys.stderr, flush=True)
    stdout, stderr = child.communicate()
    wall_s = time.monotonic() - started
    if child.returncode != 0:
        print(stderr, file=sys.stderr)
        return child.returncode
    summary = json.loads(stdout)
    # ru_maxrss of the (only) child, kilobytes on Linux. It also counts this process's
    # peak before the child's exec, so the VmHWM read from /proc is reported beside it.
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "input_bytes": recording.stat().st_size,
                "beats": beats,
                "replayed_s": summary["duration_s"],
                "records": summary["records"],
                "wall_s": round(wall_s, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "peak_rss_mb_proc": peak_mb,
                "peak_rss_over_input": round(peak_kb * 1024 / recording.stat().st_size, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
