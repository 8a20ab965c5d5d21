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
        self._paused_at: float | None = None
        self._running = asyncio.Event()
        self._running.set()

    def now(self) -> float:
        if self._paused_at is not None:
            return self._paused_at
        return (self._loop.time() - self._t0) * self.speed

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        """Stop simulated time (watches stop producing; sleepers wait for :meth:`resume`)."""
        if self._paused_at is None:
            self._paused_at = self.now()
            self._running.clear()

    def resume(self) -> None:
        """Let simulated time run on from where it stopped."""
        if self._paused_at is not None:
            self._t0 = self._loop.time() - self._paused_at / self.speed
            self._paused_at = None
            self._running.set()

    async def sleep_until(self, sim_s: float) -> None:
        """Sleep until simulated time reaches ``sim_s`` (returns at once if it has)."""
        while self.now() < sim_s:
            if self._paused_at is not None:
                await self._running.wait()
                continue
            # A pause during the sleep is caught by the loop: now() is then frozen.
            await asyncio.sleep(sim_s / self.speed - (self._loop.time() - self._t0))
