from __future__ import annotations

import pytest

from firmware_sim.firmware.clock import WatchClock

EPOCH = 1_767_571_200.0  # 2026-01-05T00:00:00Z


def test_drift_accumulates_linearly() -> None:
    clock = WatchClock(EPOCH, offset_s=0.0, drift_ppm=50.0)
    day = 86_400.0
    # 50 ppm over a day is 4.32 s fast.
    assert clock.watch_ms(day) - clock.true_epoch_ms(day) == pytest.approx(4320, abs=1)


def test_offset_and_set_removes_offset_but_keeps_drift() -> None:
    clock = WatchClock(EPOCH, offset_s=-3.0, drift_ppm=-20.0)
    assert clock.watch_ms(0) == int((EPOCH - 3.0) * 1000)
    clock.set(1000.0, clock.true_epoch_ms(1000.0))
    assert clock.watch_ms(1000.0) == clock.true_epoch_ms(1000.0)
    # After another 10,000 s, -20 ppm is 200 ms slow again.
    assert clock.watch_ms(11_000.0) - clock.true_epoch_ms(11_000.0) == pytest.approx(-200, abs=1)


def test_rejects_absurd_drift() -> None:
    with pytest.raises(ValueError, match="ppm"):
        WatchClock(EPOCH, drift_ppm=5000.0)
