"""Simulated time that runs a fixed multiple faster than the event loop's clock."""

from __future__ import annotations

import asyncio


class SimClock:
    """Seconds of simulated (true) time since the simulation started.

    Parameters
    ----------
    speed
        Simulated seconds per wall-clock second (1 = real time).
    start_s
        Simulated time at creation.
    """

    def __init__(self, speed: float = 1.0, start_s: float = 0.0) -> None:
        if not speed > 0:
            raise ValueError(f"simulation speed must be > 0, got {speed}")
        self.speed = speed
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time() - start_s / speed

    def now(self) -> float:
        return (self._loop.time() - self._t0) * self.speed

    async def sleep_until(self, sim_s: float) -> None:
        """Sleep until simulated time reaches ``sim_s`` (returns at once if it has)."""
        delay = sim_s / self.speed - (self._loop.time() - self._t0)
        await asyncio.sleep(max(delay, 0.0))
