from __future__ import annotations

import pytest

from firmware_sim.firmware.battery import BatteryModel


def test_battery_drains_with_use_and_reports_percent() -> None:
    idle = BatteryModel(300.0)
    busy = BatteryModel(300.0)
    for _ in range(3600):
        idle.on_time(1.0)
        busy.on_time(1.0)
        busy.on_samples(ppg=1, accel=25)
        busy.on_notifications(3)
    assert idle.level_percent == 100 or idle.level_percent == 99
    assert busy.charge_mah is not None and idle.charge_mah is not None
    assert busy.charge_mah < idle.charge_mah < 300.0


def test_a_full_day_of_streaming_lasts_days_not_hours() -> None:
    battery = BatteryModel(300.0)
    battery.on_time(86_400.0)
    battery.on_samples(ppg=86_400, accel=86_400 * 25, temperature=1440)
    battery.on_notifications(86_400 * 3)
    # A 300 mAh band streaming continuously should last about a week or two.
    assert 80 <= battery.level_percent <= 95


def test_battery_never_goes_negative() -> None:
    battery = BatteryModel(1.0)
    battery.on_time(10_000_000.0)
    assert battery.level_percent == 0


def test_rejects_nonpositive_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        BatteryModel(0.0)
