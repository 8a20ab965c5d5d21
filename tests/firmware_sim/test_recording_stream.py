"""Recordings replayed an hour at a time: same signals, bounded memory (issue 19, item 5)."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from firmware_sim.recording import recording_load, recording_to_chunk
from firmware_sim.recording_stream import percentile_of_counts, scan_recording, streamed
from firmware_sim.replay import replay_firmware, start_parse
from firmware_sim.scenario import DEFAULT_START
from firmware_sim.truth import TruthWriter
from wearable.cli import main
from wearable_core.contracts.record_csv import file_name
from wearable_core.contracts.streams import Stream

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "recordings"
SETS = [
    sorted(SAMPLES.glob("rest_*.csv")),
    [SAMPLES / "fall_hr.csv", SAMPLES / "fall_accel.csv"],
    [SAMPLES / "tachycardia_hr.csv"],
    *([path] for path in sorted((SAMPLES / "real").glob("*.csv"))),
]
FIELDS = ("hr_bpm", "spo2_pct", "skin_temp_c", "gap", "contact", "beat_times_s", "rr_ms")


def _rr_file(path: Path, beats: int, seed: int = 3) -> Path:
    """An RR recording of ``beats`` beats around 850 ms, with a few long pauses."""
    rng = np.random.default_rng(seed)
    rr = np.round(850.0 + rng.normal(0.0, 40.0, beats), 1)
    rr[rng.integers(0, beats, 5)] = 9000.0  # pauses: data gaps
    times = np.cumsum(rr) / 1000.0
    lines = [f"{t:.3f},{r:.1f}" for t, r in zip(times, rr, strict=True)]
    path.write_text("time_s,rr_ms\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("paths", SETS, ids=lambda paths: paths[0].stem)
@pytest.mark.parametrize("window_s", [120, 3600])
def test_hourly_chunks_equal_the_whole_recording_chunk(paths: list[Path], window_s: int) -> None:
    recording = recording_load(paths)
    whole = recording_to_chunk(recording)
    for source in (scan_recording(paths), streamed(recording)):
        chunks = list(source.chunks(window_s))
        assert [c.start_s for c in chunks] == list(range(0, whole.duration_s, window_s))
        assert source.chunk_s == whole.duration_s
        for field in FIELDS:
            joined = np.concatenate([getattr(c, field) for c in chunks])
            assert np.array_equal(joined, getattr(whole, field), equal_nan=True), field
        joined = np.concatenate([c.accel_g for c in chunks])
        assert np.array_equal(joined, whole.accel_g)
        heart = whole.hr_bpm[~whole.gap]
        assert source.resting_hr_bpm() == float(np.percentile(heart[np.isfinite(heart)], 5))


def test_beats_made_from_a_heart_rate_cross_window_edges_intact(tmp_path: Path) -> None:
    # A rate that puts beats exactly on window edges (60 bpm from t = 0).
    path = tmp_path / "hr.csv"
    rows = "\n".join(f"{t},{60 + (t // 700) * 7}" for t in range(0, 4000))
    path.write_text("time_s,heart_rate_bpm\n" + rows + "\n", encoding="utf-8")
    whole = recording_to_chunk(recording_load([path]))
    chunks = list(scan_recording([path]).chunks(60))
    for field in ("beat_times_s", "rr_ms"):
        assert np.array_equal(
            np.concatenate([getattr(c, field) for c in chunks]), getattr(whole, field)
        )


@pytest.mark.parametrize("size", [1, 2, 5, 20, 21, 99, 1000, 1001])
def test_percentile_of_counts_is_numpys(size: int) -> None:
    rng = np.random.default_rng(size)
    values = rng.integers(40, 180, size).astype(np.float64)
    counts = Counter(values.tolist())
    assert percentile_of_counts(counts, 5.0) == float(np.percentile(values, 5))
    assert percentile_of_counts(Counter(), 5.0) is None


@pytest.mark.slow
def test_the_replay_writes_the_records_of_the_whole_recording(tmp_path: Path) -> None:
    # Through the command line: three hours and a bit, so the firmware gets four chunks.
    recording = _rr_file(tmp_path / "rr.csv", 13_000)
    assert main(["sim", "replay", "--recording", str(recording), "--out", str(tmp_path / "o")]) == 0
    firmware = replay_firmware(
        recording_to_chunk(recording_load([recording])), start_parse(DEFAULT_START)
    )
    with TruthWriter(tmp_path / "whole") as truth:
        while not firmware.finished:
            for item in firmware.advance(firmware.produced_until_s + 3600):
                truth.write("address", item)
    for stream in Stream:
        streamed_rows = (tmp_path / "o" / file_name(stream)).read_text().splitlines()
        whole_rows = (tmp_path / "whole" / file_name(stream)).read_text().splitlines()
        assert len(streamed_rows) == len(whole_rows) > 1
        # Same records; only the device column (the replay watch's address) differs.
        strip = [row.split(",", 1)[1] for row in streamed_rows[1:]]
        assert strip == [row.split(",", 1)[1] for row in whole_rows[1:]]


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        source = scan_recording([path])
        source.resting_hr_bpm()
        for _chunk in source.chunks():
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_recording(tmp_path: Path) -> None:
    # 2 and 4 MB of RR intervals (1.5 and 3 days): the whole-recording path peaked at
    # ~120x the input; the streamed one holds a block of rows and an hour of signals.
    small = _rr_file(tmp_path / "small.csv", 150_000)
    large = _rr_file(tmp_path / "large.csv", 300_000)
    assert large.stat().st_size > 1.9 * small.stat().st_size
    small_peak, large_peak = _peak_bytes(small), _peak_bytes(large)
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
    assert large_peak < 10 * large.stat().st_size
