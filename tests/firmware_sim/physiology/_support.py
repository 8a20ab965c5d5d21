"""Helpers and scenario definitions shared by the physiology tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.physiology import PersonProfile, SignalChunk

#: 2023-11-14 00:00:00 UTC: scenarios start at a known time of day.
DAY0 = 1_699_920_000
HOUR = 3600


def office_worker() -> PersonProfile:
    return PersonProfile(
        age_years=42,
        sex="female",
        resting_hr_bpm=66.0,
        fitness=0.8,
        spo2_baseline_pct=97.5,
        skin_temp_baseline_c=33.0,
    )


def beats_between(c: SignalChunk, a: float, b: float) -> npt.NDArray[np.float64]:
    """RR intervals (ms) of the beats in [a, b)."""
    sel = (c.beat_times_s >= a) & (c.beat_times_s < b)
    return c.rr_ms[sel]


def runs_of(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


#: The anomaly scenario: one episode of each kind, 4 h from 09:00 UTC.
ANOMALY_EPISODES = (
    Episode(1800, 2700, AnomalyKind.AF, 0.0),
    Episode(3600, 4500, AnomalyKind.AF, 1.0),
    Episode(5400, 6000, AnomalyKind.TACHYCARDIA, 0.5),
    Episode(6600, 7200, AnomalyKind.BRADYCARDIA, 1.0),
    Episode(7800, 8400, AnomalyKind.DESATURATION, 1.0),
    Episode(9000.3, 9600, AnomalyKind.FALL, 0.5),
    Episode(10_000, 10_600, FaultKind.OFF_WRIST),
    Episode(11_000, 11_300, FaultKind.FLAT_LINE),
    Episode(12_000, 12_300, FaultKind.MOTION_ARTIFACT, 0.5),
    Episode(13_000, 13_100, FaultKind.DATA_GAP),
)
