"""Seeded simulations shared by the physiology tests (computed once per session)."""

from __future__ import annotations

import pytest

from firmware_sim.physiology import PersonProfile, SignalChunk, simulate

from ._support import ANOMALY_EPISODES, DAY0, HOUR, office_worker


@pytest.fixture(scope="session")
def anomaly_run() -> SignalChunk:
    return simulate(office_worker(), ANOMALY_EPISODES, 5, DAY0 + 9 * HOUR, 4 * HOUR)


@pytest.fixture(scope="session")
def night_run() -> SignalChunk:
    """12 h from 20:00 UTC, no episodes: evening, a night's sleep, early morning."""
    return simulate(office_worker(), [], 21, DAY0 + 20 * HOUR, 12 * HOUR)


@pytest.fixture(scope="session")
def day_run() -> SignalChunk:
    """10 h from 08:00 UTC, no episodes, a fit person: walks and usually exercise."""
    fit = PersonProfile(
        age_years=30,
        sex="male",
        resting_hr_bpm=58.0,
        fitness=0.95,
        spo2_baseline_pct=98.0,
        skin_temp_baseline_c=32.5,
    )
    return simulate(fit, [], 3, DAY0 + 8 * HOUR, 10 * HOUR)
