"""A battery model: the charge each sample, notification and advertising event costs."""

from __future__ import annotations

from dataclasses import dataclass

# Charges in microampere-hours, chosen so a 300 mAh band lasts about ten days of
# continuous HR + SpO2, which is what such bands advertise. A BLE TX event on an
# nRF52-class radio is ~7 mA for ~2.5 ms (~0.005 µAh); a 1 s optical (PPG)
# acquisition at ~0.15 mA average is ~0.04 µAh.
_UAH_PER_SECOND_BASE = 0.25  # ~0.9 mA: MCU, display wake-ups, sensors idling
_UAH_PER_PPG_SAMPLE = 0.04
_UAH_PER_ACCEL_SAMPLE = 0.00004
_UAH_PER_TEMP_SAMPLE = 0.01
_UAH_PER_NOTIFICATION = 0.005
_UAH_PER_ADVERTISING_EVENT = 0.005


@dataclass
class BatteryModel:
    """Remaining charge of the watch's battery.

    Parameters
    ----------
    capacity_mah
        Full capacity in mAh.
    charge_mah
        Current charge; defaults to full.
    """

    capacity_mah: float
    charge_mah: float | None = None

    def __post_init__(self) -> None:
        if self.capacity_mah <= 0:
            raise ValueError(f"battery capacity {self.capacity_mah} mAh must be > 0")
        if self.charge_mah is None:
            self.charge_mah = self.capacity_mah

    def _drain(self, uah: float) -> None:
        assert self.charge_mah is not None
        self.charge_mah = max(0.0, self.charge_mah - uah / 1000.0)

    def on_time(self, seconds: float) -> None:
        self._drain(_UAH_PER_SECOND_BASE * seconds)

    def on_samples(self, ppg: int = 0, accel: int = 0, temperature: int = 0) -> None:
        self._drain(
            ppg * _UAH_PER_PPG_SAMPLE
            + accel * _UAH_PER_ACCEL_SAMPLE
            + temperature * _UAH_PER_TEMP_SAMPLE
        )

    def on_notifications(self, count: int) -> None:
        self._drain(count * _UAH_PER_NOTIFICATION)

    def on_advertising(self, events: int) -> None:
        self._drain(events * _UAH_PER_ADVERTISING_EVENT)

    @property
    def level_percent(self) -> int:
        """Battery Level characteristic value, 0..100."""
        assert self.charge_mah is not None
        return round(100.0 * self.charge_mah / self.capacity_mah)
