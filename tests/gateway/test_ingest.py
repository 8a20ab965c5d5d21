from __future__ import annotations

from pathlib import Path

from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.streams import Stream

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
HR = bytes(HeartRateMeasurement(heart_rate=72, sensor_contact=True, rr_intervals=(850,)))


class FakeClock:
    """The gateway clock, advanced by the test (a unit test of ingest logic)."""

    def __init__(self) -> None:
        self.now = T0 + 400

    def __call__(self) -> int:
        return self.now


def _record(seq: int, watch_ms: int) -> bytes:
    return bytes(SequencedRecord(seq=seq, watch_time_ms=watch_ms, payload=HR))


def test_sequenced_records_are_stored_once_and_live_ones_feed_the_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    with Store(tmp_path / "s.sqlite") as store:
        ingest = Ingestor(store, batch_max=1000, clock=clock)
        ingest.state("dev").live_from[Stream.HEART_RATE] = 5
        for seq in range(10):
            clock.now = T0 + seq * 1000 + 1000 + 30  # sent at the end of its second
            ingest.on_notification("dev", uuids.HR_RECORD_CHAR, _record(seq, T0 + seq * 1000))
        ingest.on_notification("dev", uuids.HR_RECORD_CHAR, _record(3, T0 + 3000))  # duplicate
        assert ingest.flush() == 10
        assert store.records.sequences("dev", Stream.HEART_RATE) == set(range(10))
        assert store.records.frontier("dev", Stream.HEART_RATE) == 10
        rows = {r.seq: r for r in store.records.iter_records("dev", Stream.HEART_RATE)}
        assert rows[2].backfilled and not rows[7].backfilled
        # Watch and gateway clocks agree here: aligned time is within the latency.
        assert abs(rows[7].aligned_time_ms - (T0 + 7000)) <= 30
        assert ingest.state("dev").max_seen[Stream.HEART_RATE] == 9


def test_rejections_are_counted_persisted_and_never_raise(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        ingest = Ingestor(store, clock=FakeClock())
        ingest.on_notification("dev", uuids.HR_RECORD_CHAR, b"\x01\x02")
        ingest.on_notification("dev", "0000ffff-0000-1000-8000-00805f9b34fb", HR)
        ingest.on_notification("dev", uuids.HR_RECORD_CHAR, _record(0, 5))  # 1970: implausible
        assert ingest.rejections.total == 3
        ingest.flush()
        (device,) = store.devices.list()
        assert device.rejected == 3


def test_standard_devices_get_durable_local_sequence_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        ingest = Ingestor(store, clock=FakeClock())
        for _ in range(3):
            ingest.on_notification("strap", uuids.HEART_RATE_MEASUREMENT_CHAR, HR)
        ingest.flush()
        first = store.records.sequences("strap", Stream.HEART_RATE)
    with Store(path) as store:  # a restart must not reuse numbers
        ingest = Ingestor(store, clock=FakeClock())
        ingest.on_notification("strap", uuids.HEART_RATE_MEASUREMENT_CHAR, HR)
        ingest.flush()
        after = store.records.sequences("strap", Stream.HEART_RATE)
    assert len(first) == 3
    assert len(after) == 4
    assert max(after) > max(first)
