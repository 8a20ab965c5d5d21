"""The watch's firmware loop: sample the sensors once a second, encode, store in flash.

The firmware is driven by simulated time (``advance``), not by the wall clock, so the
same seed produces the same bytes at any simulation speed, with or without a radio.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from dataclasses import dataclass

from firmware_sim.firmware.battery import BatteryModel
from firmware_sim.firmware.clock import WatchClock
from firmware_sim.firmware.flash import FlashRingBuffer
from firmware_sim.firmware.records import (
    ENERGY_EXPENDED_EVERY,
    MISSING,
    QuantizedChunk,
    accel_frame_encode,
    heart_rate_encode,
    quantize_chunk,
    spo2_encode,
    temperature_encode,
)
from firmware_sim.physiology.generator import SignalChunk
from wearable_core.contracts.gatt.date_time import DateTime
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ, Stream

# Basal metabolism ~7,000 kJ/day, plus a linear cost per bpm above rest: a crude
# stand-in for the HR-based energy models watches use; only the field's shape matters.
_BASAL_KJ_PER_S = 7000.0 / 86400.0
_ACTIVE_KJ_PER_S_PER_BPM = 0.004


@dataclass(frozen=True)
class ProducedRecord:
    """A record the firmware just produced, with the true time its period ended."""

    stream: Stream
    record: SequencedRecord
    true_time_s: float


@dataclass(frozen=True)
class FirmwareConfig:
    """What the firmware needs besides its signals."""

    epoch_at_start_s: float
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    flash_bytes: int = 256 * 1024
    battery_mah: float = 300.0
    resting_hr_bpm: float = 65.0


class WatchFirmware:
    """Turns a stream of signal chunks into sequenced, stored records.

    Parameters
    ----------
    config
        Clock, flash and battery settings.
    chunks
        Signal chunks in time order (from the physiology generator or a replay).
    duration_s
        Simulated seconds to produce; after that ``advance`` produces nothing more.
    """

    def __init__(
        self, config: FirmwareConfig, chunks: Iterator[SignalChunk], duration_s: int
    ) -> None:
        self.config = config
        self.clock = WatchClock(
            epoch_at_start_s=config.epoch_at_start_s,
            offset_s=config.clock_offset_s,
            drift_ppm=config.clock_drift_ppm,
        )
        self.flash = FlashRingBuffer(config.flash_bytes)
        self.battery = BatteryModel(config.battery_mah)
        self.duration_s = duration_s
        self.produced_until_s = 0
        self._chunks = chunks
        self._chunk: QuantizedChunk | None = None
        self._energy_kj = 0.0
        self._hr_count = 0

    @property
    def finished(self) -> bool:
        return self.produced_until_s >= self.duration_s

    def advance(self, until_s: float) -> list[ProducedRecord]:
        """Produce every record whose period ends at or before ``until_s`` (true seconds)."""
        target = min(math.floor(until_s), self.duration_s)
        out: list[ProducedRecord] = []
        while self.produced_until_s < target:
            self._produce_second(self.produced_until_s, out)
            self.produced_until_s += 1
        return out

    def _chunk_for(self, second: int) -> QuantizedChunk:
        chunk = self._chunk
        while chunk is None or second >= chunk.start_s + chunk.duration_s:
            chunk = quantize_chunk(next(self._chunks))
        self._chunk = chunk
        return chunk

    def _store(self, out: list[ProducedRecord], stream: Stream, t0: float, payload: bytes) -> None:
        # Records are stamped with the watch-clock time at the start of their period.
        record = self.flash.append(stream, self.clock.watch_ms(t0), payload)
        out.append(ProducedRecord(stream, record, true_time_s=t0 + stream.record_period_s))

    def _produce_second(self, second: int, out: list[ProducedRecord]) -> None:
        chunk = self._chunk_for(second)
        i = second - chunk.start_s
        self.battery.on_time(1.0)
        if not chunk.gap[i]:
            contact = bool(chunk.contact[i])
            hr = int(chunk.heart_rate[i])
            reading = contact and hr != MISSING
            active = max(hr - self.config.resting_hr_bpm, 0.0) if reading else 0.0
            self._energy_kj += _BASAL_KJ_PER_S + active * _ACTIVE_KJ_PER_S_PER_BPM
            energy = None
            if self._hr_count % ENERGY_EXPENDED_EVERY == 0:
                # The field saturates at 0xFFFF kJ until reset, per the spec.
                energy = min(int(self._energy_kj), 0xFFFF)
            self._hr_count += 1
            rr = tuple(chunk.rr_units[chunk.beat_edges[i] : chunk.beat_edges[i + 1]].tolist())
            self._store(out, Stream.HEART_RATE, second, heart_rate_encode(hr, rr, contact, energy))
            spo2 = spo2_encode(int(chunk.spo2[i]), hr, contact)
            self._store(out, Stream.SPO2, second, spo2)
            frame = chunk.accel_raw[i * ACCEL_SAMPLE_RATE_HZ : (i + 1) * ACCEL_SAMPLE_RATE_HZ]
            self._store(out, Stream.ACCEL, second, accel_frame_encode(frame))
            self.battery.on_samples(ppg=1, accel=ACCEL_SAMPLE_RATE_HZ)
        if (second + 1) % 60 == 0:
            minute_start = second - 59
            j = minute_start - chunk.start_s
            if j >= 0 and not chunk.gap[j : i + 1].any():
                t0 = float(minute_start)
                stamp = DateTime.from_datetime(_utc(self.clock.watch_ms(t0)))
                payload = temperature_encode(int(chunk.skin_temp_centi_c[j // 60]), stamp)
                self._store(out, Stream.TEMPERATURE, t0, payload)
                self.battery.on_samples(temperature=1)

    def reset_energy_expended(self) -> None:
        """Heart Rate Control Point "Reset Energy Expended"."""
        self._energy_kj = 0.0

    def set_clock(self, true_s: float, epoch_ms: int) -> None:
        """Apply a Current Time write received at simulated time ``true_s``."""
        self.clock.set(true_s, epoch_ms)


def _utc(epoch_ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_ms / 1000.0, tz=datetime.UTC)
