"""Simulated time: speed, and pausing it (the demo pauses while the cloud trains)."""

from __future__ import annotations

import asyncio

import pytest

from firmware_sim.simclock import SimClock


async def test_pause_freezes_time_and_holds_sleepers_until_resume() -> None:
    clock = SimClock(speed=100.0)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep_until(5.0)
        woke.append(clock.now())

    task = asyncio.ensure_future(sleeper())
    await asyncio.sleep(0.01)
    clock.pause()
    frozen = clock.now()
    assert clock.paused and 0.5 < frozen < 5.0
    # Past the wall time the sleeper was due at: it must still be asleep.
    await asyncio.sleep(0.08)
    assert clock.now() == frozen and not woke
    clock.resume()
    await asyncio.wait_for(task, 1.0)
    assert woke[0] >= 5.0
    # Time runs on from where it stopped, not from where the wall clock is.
    assert clock.now() < frozen + 100.0 * 0.08


async def test_sleep_until_a_past_time_returns_at_once() -> None:
    clock = SimClock(speed=10.0, start_s=50.0)
    await asyncio.wait_for(clock.sleep_until(10.0), 0.05)
    with pytest.raises(ValueError, match="speed"):
        SimClock(speed=0.0)
