"""Records a watch made before the gateway set its clock land on the gateway's clock.

The gateway reads the watch's clock at connect (``DeviceClock.clock_read``), before it
writes it; records stamped with the old clock, wherever it was, are aligned with that
reading. Driven through :class:`~gateway.ingest.Ingestor` as the link drives it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.clock_sync import DeviceClock
from gateway.decoders import current_time_decode
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt import uuids
from wearable_core.contracts.gatt.current_time import CurrentTime
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.record_envelope import SequencedRecord
from wearable_core.contracts.streams import Stream

#: Gateway time when the watch made its first record: 2026-12-01T00:00:00Z.
G0 = 1_796_083_200_000
HR = bytes(HeartRateMeasurement(heart_rate=72, sensor_contact=True, rr_intervals=(850,)))
DAY_MS = 86_400_000
#: Watch clock minus gateway clock before the gateway sets it.
SKEWS = {
    "in sync": 0,
    "11 months slow": -335 * DAY_MS,
    "20 years fast": 7305 * DAY_MS,
    "firmware default 2000-01-01": 946_684_800_000 - G0,
}
STORED = 300  # records made before the connect, one a second
LIVE = 120  # records after it
LATENCY_MS = 30


class Clock:
    def __init__(self) -> None:
        self.now = G0

    def __call__(self) -> int:
        return self.now


def _notify(ingest: Ingestor, seq: int, watch_ms: int) -> None:
    data = bytes(SequencedRecord(seq=seq, watch_time_ms=watch_ms, payload=HR))
    ingest.on_notification("dev", uuids.HR_RECORD_CHAR, data)


def _read(watch_ms: int) -> int:
    """The watch's clock as a Current Time read gives it (1/256 s)."""
    reading = current_time_decode(bytes(CurrentTime.from_epoch_ms(watch_ms)))
    assert isinstance(reading, int)
    return reading


def _connect_and_stream(ingest: Ingestor, clock: Clock, skew_ms: int, first_seq: int) -> None:
    """Connect at ``first_seq``: read the clock, set it, backfill, then stream live."""
    state = ingest.state("dev")
    connect_ms = clock.now
    state.clock.clock_read({Stream.HEART_RATE: first_seq}, _read(connect_ms + skew_ms), connect_ms)
    state.live_from[Stream.HEART_RATE] = STORED
    state.clock.clock_set({Stream.HEART_RATE: STORED}, connect_ms, connect_ms)
    # Backfill of what was stored, with the old clock's stamps, arriving late.
    for seq in range(first_seq, STORED):
        clock.now = connect_ms + 500 + seq
        _notify(ingest, seq, G0 + seq * 1000 + skew_ms)
    # Live records, stamped with the set clock, each sent at the end of its second.
    for k in range(LIVE):
        start = connect_ms + k * 1000
        clock.now = start + 1000 + LATENCY_MS
        _notify(ingest, STORED + k, start)
    ingest.flush()


def _aligned(store: Store) -> dict[int, int]:
    return {r.seq: r.aligned_time_ms for r in store.records.iter_records("dev", Stream.HEART_RATE)}


@pytest.mark.parametrize("skew_ms", SKEWS.values(), ids=SKEWS.keys())
def test_records_made_before_the_clock_was_set_are_aligned_from_the_first(
    tmp_path: Path, skew_ms: int
) -> None:
    clock = Clock()
    with Store(tmp_path / "s.sqlite") as store:
        ingest = Ingestor(store, clock=clock)
        clock.now = G0 + STORED * 1000
        _connect_and_stream(ingest, clock, skew_ms, first_seq=0)
        aligned = _aligned(store)
    assert sorted(aligned) == list(range(STORED + LIVE))
    # Every record at its true start: within the reading's 1/256 s and the latency floor.
    errors = [aligned[seq] - (G0 + seq * 1000) for seq in aligned]
    assert max(abs(e) for e in errors) <= 40, errors[:3]
    assert all(b > a for a, b in zip(aligned.values(), list(aligned.values())[1:], strict=False))


def test_a_watch_far_off_in_either_direction_aligns_like_one_in_sync(tmp_path: Path) -> None:
    runs = {}
    for name, skew_ms in SKEWS.items():
        clock = Clock()
        with Store(tmp_path / f"{skew_ms}.sqlite") as store:
            clock.now = G0 + STORED * 1000
            _connect_and_stream(Ingestor(store, clock=clock), clock, skew_ms, first_seq=0)
            runs[name] = _aligned(store)
    reference = runs.pop("in sync")
    for name, aligned in runs.items():
        worst = max(abs(aligned[seq] - reference[seq]) for seq in reference)
        assert worst <= 4, f"{name}: {worst} ms from the in-sync watch"


def test_an_unseen_clock_step_starts_a_new_epoch_at_the_frontier(tmp_path: Path) -> None:
    """The watch lost power while disconnected and came back on its firmware's default date:
    records from the frontier on carry that clock, those before keep their alignment."""
    clock = Clock()
    with Store(tmp_path / "s.sqlite") as store:
        ingest = Ingestor(store, clock=clock)
        state = ingest.state("dev")
        # First connection at G0, clock set, 100 live records, then the link drops.
        state.clock.clock_read({Stream.HEART_RATE: 0}, _read(G0), G0)
        state.live_from[Stream.HEART_RATE] = 0
        state.clock.clock_set({Stream.HEART_RATE: 0}, G0, G0)
        for seq in range(100):
            clock.now = G0 + seq * 1000 + 1000 + LATENCY_MS
            _notify(ingest, seq, G0 + seq * 1000)
        ingest.flush()
        before = _aligned(store)
        # Reset at gateway time G0 + 100 s: the clock restarts at its default, 2001-01-01.
        default = 978_307_200_000
        reconnect = G0 + 200_000
        state.clock.clock_read(
            {Stream.HEART_RATE: store.records.frontier("dev", Stream.HEART_RATE)},
            _read(default + 100_000),
            reconnect,
        )
        assert len(state.clock.epochs) == 3
        state.live_from[Stream.HEART_RATE] = 200
        state.clock.clock_set({Stream.HEART_RATE: 200}, reconnect, reconnect)
        for seq in range(100, 200):
            clock.now = reconnect + 500
            _notify(ingest, seq, default + (seq - 100) * 1000)
        ingest.flush()
        aligned = _aligned(store)
    assert {seq: aligned[seq] for seq in before} == before
    assert max(abs(aligned[seq] - (G0 + seq * 1000)) for seq in range(100, 200)) <= 10


def test_a_reading_that_agrees_with_the_model_changes_nothing() -> None:
    device = DeviceClock()
    device.clock_read({Stream.HEART_RATE: 0}, G0 + 1234, G0)
    device.clock_set({Stream.HEART_RATE: 10}, G0 + 5000, G0 + 5000)
    # Reconnect 10 min later: the set clock still agrees with the gateway's (within 2 s).
    assert not device.clock_read({Stream.HEART_RATE: 500}, G0 + 600_300, G0 + 600_000)
    assert len(device.epochs) == 2
    # The first epoch keeps the offset read at connect.
    assert device.align(Stream.HEART_RATE, 3, G0 + 1234 + 3000) == G0 + 3000


def test_an_unread_clock_is_the_identity_as_before() -> None:
    device = DeviceClock()
    assert not device.current.anchored
    assert device.align(Stream.HEART_RATE, 0, G0) == G0


def test_epochs_before_the_previous_one_keep_their_mapping_and_drop_their_bins() -> None:
    # Hourly resyncs for a day, the watch 40 ppm slow: every epoch learns its own fit.
    device = DeviceClock()
    hour = 3_600_000
    probes: dict[int, tuple[int, int]] = {}  # epoch index -> (watch ms, gateway ms then)
    for h in range(24):
        start = G0 + h * hour
        for k in range(0, hour, 20_000):
            watch = start + k
            device.current.observe(watch, watch + 2_000 + round(k * 40e-6) + LATENCY_MS)
        probe = start + hour // 2
        probes[len(device.epochs) - 1] = (probe, device.current.to_gateway_ms(probe))
        device.clock_set({Stream.HEART_RATE: (h + 1) * 180}, start + hour, start + hour)
    models = [epoch.model for epoch in device.epochs]
    assert [m.frozen for m in models] == [True] * (len(models) - 2) + [False, False]
    # A frozen epoch maps as it did before it was frozen, and learns nothing more.
    for index, (watch, gateway) in probes.items():
        assert models[index].to_gateway_ms(watch) == gateway
    models[0].observe(probes[0][0], probes[0][1] + 60_000)
    assert models[0].to_gateway_ms(probes[0][0]) == probes[0][1]
    # The newest epochs still learn.
    models[-1].observe(G0 + 25 * hour, G0 + 25 * hour + 2_000)
    assert models[-1].observations == 1
