"""The real recordings in ``examples/recordings/real/`` load, look physiological and replay.

They are RR-interval series from real people (PhysioNet ECG data shipped inside the pyhrv
and SciPy wheels, and wrist PPG shipped inside the e2epyppg wheel; see that directory's
README), committed as CSV files in the recording format of ``docs/formats/recordings.md``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from firmware_sim.recording import Recording, recording_load
from firmware_sim.replay import replay_export, replay_identity, replay_start_epoch_s

REAL = Path(__file__).resolve().parents[2] / "examples" / "recordings" / "real"
EXPECTED = ("mitdb208_rr.csv", "nsrdb_long_rr.csv", "nsrdb_short_rr.csv", "wrist_ppg_rr.csv")
#: Seconds of replay inside a heart-stream silence of more than 5 s (a data gap: the watch
#: sends no record). The wrist PPG loses the pulse with the wrist still: no beat row from
#: 424.96 s to 431.75 s (the one pulse found between them, at 430.07 s, ended an
#: impossible 5.11 s interval and was dropped with its row), so seconds 425-430.
GAP_SECONDS = {"wrist_ppg_rr.csv": 6}
RECORDINGS = sorted(REAL.glob("*.csv"))


def _load(path: Path) -> Recording:
    rec = recording_load([path])
    assert rec.rr_time_s is not None and rec.rr_ms is not None, "an RR recording"
    return rec


def test_the_real_recordings_are_committed_and_documented() -> None:
    assert tuple(p.name for p in RECORDINGS) == EXPECTED
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert name in readme


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_real_recording_is_physiological(path: Path) -> None:
    rec = _load(path)
    assert rec.rr_time_s is not None and rec.rr_ms is not None
    assert rec.hr_time_s is None and rec.spo2_time_s is None and rec.accel_time_s is None
    assert rec.duration_s >= 60.0
    assert 40.0 <= 60000.0 / float(np.median(rec.rr_ms)) <= 120.0
    # Impossible intervals were dropped by make_real.py; nothing else was changed.
    assert rec.rr_ms.min() >= 250.0 and rec.rr_ms.max() <= 2500.0
    # Each interval ends at its beat and starts at the previous detected beat, which is
    # the previous row unless that row was dropped: never longer than the row spacing
    # (0.2 ms: both columns are rounded).
    spacing_ms = np.diff(rec.rr_time_s) * 1000.0
    assert np.all(rec.rr_ms[1:] <= spacing_ms + 0.2)
    assert np.mean(np.abs(rec.rr_ms[1:] - spacing_ms) <= 0.2) >= 0.99
    # Real, not a smooth synthetic rhythm: beat-to-beat variability is present.
    assert float(np.std(np.diff(rec.rr_ms))) > 10.0


# MIT-BIH record 208 has a 4-5 s beat pause (electrode artifact at ~209-214 s): one
# second without a heart-rate reading that is not a data gap. Replay must survive it.
@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_real_recording_replays(path: Path, tmp_path: Path) -> None:
    rec = _load(path)
    summary = replay_export(rec, tmp_path, replay_identity(), replay_start_epoch_s(rec), [path])
    assert summary.records > 0
    assert summary.duration_s == 60 * int(np.ceil(rec.duration_s / 60.0))
    with (tmp_path / "hr.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # A heart-rate record for every second outside a silence of over 5 s.
    assert len(rows) == summary.duration_s - GAP_SECONDS.get(path.name, 0)
    bpm = np.array([int(r["heart_rate_bpm"]) for r in rows])
    assert 40 <= float(np.median(bpm[bpm > 0])) <= 120
