"""The sync engine: outbox, exactly-once delivery, network policy, backoff, budget, status."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.model_update.delivery import LOCAL_FAILURE, UpdateResult
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from gateway.sync.engine import SyncEngine, SyncSettings
from gateway.sync.network import NetworkState
from gateway.sync.outcome import SyncOutcome
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import (
    Bucket,
    BucketConfigError,
    BucketError,
    BucketUnavailable,
    Created,
    ObjectInfo,
)
from wearable_core.contracts.aggregate_batch import BatchKind

from ._synthetic import DEVICES, MINUTE_MS, T0_MS, add_windows, uploaded, windows_by_hour

HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class Clock:
    """A settable gateway clock."""

    def __init__(self, t_ms: int) -> None:
        self.t_ms = t_ms

    def __call__(self) -> int:
        return self.t_ms


@dataclass
class FlakyBucket:
    """A real local bucket behind scripted transient failures (a unit-test double).

    ``fail_next`` fails that many creates before they reach the bucket; ``lose_next``
    lets that many creates land and then reports a failure (a lost response).
    """

    inner: Bucket
    fail_next: int = 0
    lose_next: int = 0
    creates: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.inner.url

    def create(self, name: str, data: bytes) -> Created:
        self.creates.append(name)
        if self.fail_next:
            self.fail_next -= 1
            raise BucketUnavailable("injected 503", url=self.url)
        result = self.inner.create(name, data)
        if self.lose_next:
            self.lose_next -= 1
            raise BucketUnavailable("injected lost response", url=self.url)
        return result

    def read(self, name: str) -> tuple[bytes, int]:
        return self.inner.read(name)

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        return self.inner.replace(name, data, if_generation=if_generation)

    def stat(self, name: str) -> ObjectInfo | None:
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        self.inner.delete(name, if_generation=if_generation)


class Network:
    """A settable network state (what the OS would report)."""

    def __init__(self, state: NetworkState = NetworkState.UNMETERED) -> None:
        self.state = state

    def __call__(self) -> NetworkState:
        return self.state


@dataclass
class RecordingPoller:
    """Counts model polls (the updater itself is tested in tests/gateway/model_update)."""

    calls: int = 0

    def check(self) -> object:
        self.calls += 1
        return None


def _engine(
    store: Store,
    bucket: Bucket | None,
    clock: Clock,
    network: Network | None = None,
    **settings: object,
) -> SyncEngine:
    defaults: dict[str, object] = {"batch_interval_s": 3600.0, "backoff_base_s": 60.0}
    defaults.update(settings)
    return SyncEngine(
        store,
        PseudonymKey(bytes(range(32))),
        bucket,
        SyncSettings(**defaults),  # type: ignore[arg-type]
        network=network or Network(),
        clock=clock,
        rng=random.Random(1),
    )


@pytest.mark.slow
def test_three_day_outage_then_everything_exactly_once(tmp_path: Path) -> None:
    clock, network = Clock(T0_MS), Network(NetworkState.OFFLINE)
    bucket = bucket_open(str(tmp_path / "bucket"))
    alerts = []
    built = 0
    with Store(tmp_path / "gateway.sqlite") as store:
        engine = _engine(store, bucket, clock, network)
        # Three days offline: windows every 15 minutes, one alert a day per device,
        # confirmed the next day; a sync cycle every 15 minutes.
        for step in range(3 * 96):
            start = T0_MS + step * 15 * MINUTE_MS
            clock.t_ms = start + 15 * MINUTE_MS
            for i, device in enumerate(DEVICES):
                add_windows(store, device, start, 15, clock.t_ms, seed=i)
            if step % 96 == 10:
                for device in DEVICES:
                    alert = store.alerts.add(
                        device, "fall", "critical", start, start, start, 0.9, None, "m"
                    )
                    alerts.append(alert)
            if step % 96 == 20:
                for alert in alerts[-3:]:
                    store.alerts.close(alert, start)
                    store.alerts.set_status(alert, "confirmed", "seen by nurse")
            report = engine.run_once()
            built += sum(report.built.values())
            assert report.uploaded == 0
        assert bucket.list() == []
        status = store.sync.status()
        assert "last_success_ms" not in status and status["network"] == "offline"
        backlog = store.outbox.usage()
        assert backlog.items[BatchKind.AGGREGATES.value] > 0

        network.state = NetworkState.UNMETERED
        clock.t_ms += 15 * MINUTE_MS
        report = engine.run_once(flush=True)
        built += sum(report.built.values())
        assert report.error is None and report.backlog_items == 0
        assert store.outbox.usage().total_items == 0
        assert store.sync.status()["last_success_ms"] == clock.t_ms

    objects = uploaded(bucket)
    assert len(objects) == built == report.uploaded
    per_hour = windows_by_hour(b for _, b in objects)
    # Every window exactly once: each (person, hour) sums to 60 windows, no more, no less.
    assert len(per_hour) == len(DEVICES) * 72
    assert set(per_hour.values()) == {60}
    outcomes = [a for _, b in objects if b.kind is BatchKind.ALERTS for a in b.alerts]
    final = {a.alert: a.status for a in outcomes if a.duration_min is not None}
    assert len(final) == len(alerts) and set(final.values()) == {"confirmed"}


def test_transient_failures_and_lost_responses_deliver_exactly_once(tmp_path: Path) -> None:
    clock = Clock(T0_MS + DAY_MS)
    bucket = FlakyBucket(bucket_open(str(tmp_path / "bucket")), fail_next=2, lose_next=0)
    with Store(tmp_path / "gateway.sqlite") as store:
        for i, device in enumerate(DEVICES):
            add_windows(store, device, T0_MS, 600, T0_MS, seed=i)
        engine = _engine(store, bucket, clock)
        first = engine.run_once(flush=True)
        assert first.uploaded == 0 and first.error and "503" in first.error
        assert first.outcome is SyncOutcome.BUCKET_UNREACHABLE
        # Backed off: a cycle before the retry time does not touch the bucket, and says so.
        attempts = len(bucket.creates)
        clock.t_ms += 1_000
        assert engine.run_once().outcome is SyncOutcome.BACKING_OFF
        assert len(bucket.creates) == attempts
        item = store.outbox.items()[0]
        assert (
            item.attempts == 1 and 30_000 <= item.next_attempt_ms - (clock.t_ms - 1_000) <= 60_000
        )

        clock.t_ms += 60_000
        second = engine.run_once()
        assert second.error and store.outbox.items()[0].attempts == 2

        bucket.lose_next = 1  # the next create lands, but its response is lost
        clock.t_ms += 10 * 60_000
        third = engine.run_once()
        assert third.uploaded == 0 and store.outbox.usage().total_items == 4

        clock.t_ms += 30 * 60_000
        fourth = engine.run_once()
        assert fourth.error is None and fourth.already_present == 1
        assert fourth.outcome is SyncOutcome.OK and fourth.as_dict()["outcome"] == "ok"
        assert store.outbox.usage().total_items == 0
        counters = store.sync.status()
        assert counters["uploaded_objects"] == 4 and counters["already_present"] == 1

    objects = uploaded(bucket.inner)
    assert len(objects) == 4  # 3 device batches + 1 diagnostics: one copy each
    per_hour = windows_by_hour(b for _, b in objects)
    assert sum(per_hour.values()) == 3 * 600


def test_metered_network_sends_essentials_only_and_polls_no_models(tmp_path: Path) -> None:
    clock, network = Clock(T0_MS + DAY_MS), Network(NetworkState.METERED)
    bucket = bucket_open(str(tmp_path / "bucket"))
    poller = RecordingPoller()
    with Store(tmp_path / "gateway.sqlite") as store:
        add_windows(store, DEVICES[0], T0_MS, 120, T0_MS)
        store.alerts.add(DEVICES[0], "af", "warning", T0_MS, T0_MS, T0_MS, 0.5, None, "m")
        engine = _engine(store, bucket, clock, network)
        engine.models = poller
        report = engine.run_once(flush=True)
        assert report.uploaded == 2 and poller.calls == 0
        kinds = {name.split("/")[0] for name, _ in uploaded(bucket)}
        assert kinds == {"alerts", "aggregates"}
        assert store.outbox.usage().items == {"diagnostics": 1}

        network.state = NetworkState.UNMETERED
        report = engine.run_once()
        assert report.uploaded == 1 and poller.calls == 1
        assert store.outbox.usage().total_items == 0


def test_no_bucket_contact_is_not_reported_as_success(tmp_path: Path) -> None:
    clock = Clock(T0_MS)
    bucket = FlakyBucket(bucket_open(str(tmp_path / "bucket")), fail_next=100)
    with Store(tmp_path / "gateway.sqlite") as store:
        add_windows(store, DEVICES[0], T0_MS, 60, T0_MS)
        _engine(store, bucket, clock).run_once(flush=True)
        status = store.sync.status()
        assert "last_success_ms" not in status
        assert status["last_attempt_ms"] == T0_MS and "503" in str(status["last_error"])
        assert store.outbox.usage().total_items == 2


def test_windows_wait_for_the_batch_interval(tmp_path: Path) -> None:
    clock = Clock(T0_MS)
    with Store(tmp_path / "gateway.sqlite") as store:
        add_windows(store, DEVICES[0], T0_MS, 30, T0_MS)
        engine = _engine(store, None, clock, batch_interval_s=3600.0)
        assert engine.run_once().built.get("aggregates", 0) == 0
        clock.t_ms += 3600_000
        assert engine.run_once().built["aggregates"] == 1
        assert store.outbox.pending_window_count() == 0


def test_batches_split_by_day_and_are_reproducible(tmp_path: Path) -> None:
    names = []
    for run in range(2):
        with Store(tmp_path / f"gateway{run}.sqlite") as store:
            add_windows(store, DEVICES[0], T0_MS + 22 * 3600_000, 240, T0_MS)
            engine = _engine(store, None, Clock(T0_MS + 2 * DAY_MS))
            engine.run_once(flush=True)
            names.append(sorted(i.name for i in store.outbox.items() if i.kind == "aggregates"))
    assert len(names[0]) == 2  # 22:00-24:00 and 00:00-02:00 fall on two days
    assert names[0] == names[1]  # same input, same key: same bytes, same names


def test_over_budget_drops_diagnostics_then_compacts_aggregates_never_alerts(
    tmp_path: Path,
) -> None:
    clock = Clock(T0_MS + DAY_MS)
    with Store(tmp_path / "gateway.sqlite") as store:
        engine = _engine(store, None, clock, outbox_budget_bytes=10**9)
        for day in range(4):
            clock.t_ms = T0_MS + (day + 1) * DAY_MS
            for device in DEVICES:
                add_windows(store, device, T0_MS + day * DAY_MS, 1440, clock.t_ms, seed=day)
            store.alerts.add(
                DEVICES[0], "fall", "critical", clock.t_ms, clock.t_ms, clock.t_ms, 1.0, None, "m"
            )
            engine.run_once(flush=True)
        usage = store.outbox.usage()
        alerts_before = usage.items["alerts"]
        budget = usage.total_bytes // 2
        engine.settings = SyncSettings(outbox_budget_bytes=budget)
        report = engine.run_once()
        after = store.outbox.usage()
        assert after.total_bytes <= budget
        assert after.items.get("diagnostics", 0) == 0 and report.dropped >= 4
        assert report.compacted > 0
        assert after.items["alerts"] == alerts_before
        compacted = [i for i in store.outbox.items() if i.compacted]
        assert compacted and all(i.kind == "aggregates" for i in compacted)
        assert store.sync.status()["outbox_compacted"] == report.compacted


def test_differential_privacy_sends_noisy_hours_only_within_budget(tmp_path: Path) -> None:
    clock = Clock(T0_MS + DAY_MS)
    bucket = bucket_open(str(tmp_path / "bucket"))
    with Store(tmp_path / "gateway.sqlite") as store:
        engine = _engine(store, bucket, clock, dp_epsilon=0.5, dp_budget_per_day=1.0)
        for part in range(4):  # four releases of the same person-day
            add_windows(store, DEVICES[0], T0_MS + part * 6 * 3600_000, 360, clock.t_ms)
            report = engine.run_once(flush=True)
            assert report.withheld_windows == (360 if part >= 2 else 0)
        assert store.outbox.pending_window_count() == 0
        assert store.sync.status()["dp_withheld_windows"] == 720
        pseudonym = PseudonymKey(bytes(range(32))).device(DEVICES[0])
        assert store.privacy.spent(pseudonym, (T0_MS // DAY_MS)) == pytest.approx(1.0)
    batches = [b for _, b in uploaded(bucket) if b.kind is BatchKind.AGGREGATES]
    assert len(batches) == 2  # the withheld releases send nothing at all
    for batch in batches:
        assert len(batch.windows) == 0 and batch.noise is not None
        assert batch.noise.epsilon == 0.5 and len(batch.hours) == 6


def test_uploaded_aggregates_let_retention_free_their_records(
    ward_store: Path, tmp_path: Path
) -> None:
    from wearable_core.contracts.streams import Stream

    with Store(ward_store) as store:
        device = store.devices.addresses()[0]
        assert store.records.synced_seq(device, Stream.HEART_RATE) == 0
        clock = Clock(10**13)
        engine = _engine(store, bucket_open(str(tmp_path / "bucket")), clock)
        engine.run_once(flush=True)
        for stream in Stream:
            assert store.records.synced_seq(device, stream) > 0
        assert store.devices.list()[0].backlog < 100


class NoCredentialsBucket(FlakyBucket):
    """A bucket whose client cannot authenticate (what a missing key file gives)."""

    def create(self, name: str, data: bytes) -> Created:
        raise BucketConfigError("no default credentials: set GOOGLE_APPLICATION_CREDENTIALS")


def test_a_bucket_configuration_error_quarantines_nothing(tmp_path: Path) -> None:
    bucket = NoCredentialsBucket(bucket_open(str(tmp_path / "bucket")))
    with Store(tmp_path / "gateway.sqlite") as store:
        add_windows(store, DEVICES[0], T0_MS, 60, T0_MS)
        report = _engine(store, bucket, Clock(T0_MS)).run_once(flush=True)
        assert report.error and "GOOGLE_APPLICATION_CREDENTIALS" in report.error
        assert report.outcome is SyncOutcome.BUCKET_UNUSABLE
        items = store.outbox.items()
        assert len(items) == 2 and not any(i.failed or i.attempts for i in items)


def test_two_batches_with_equal_counts_both_arrive(tmp_path: Path) -> None:
    """Found by benchmarks/bench_chaos.py: with batches shorter than an hour, two batches
    of one person and hour with the same counts and no sampled rows encoded to the same
    bytes, hence the same object name; the second was taken for a retry of the first and
    its windows never arrived (50 of 192 windows in a 24-minute run)."""
    import numpy as np

    from gateway.store import WindowSummary
    from wearable_core.contracts.anomalies import ANOMALY_TYPES
    from wearable_core.contracts.features import FEATURE_NAMES

    def unremarkable(start_ms: int) -> WindowSummary:
        return WindowSummary(
            start_ms,
            "baseline-1",
            np.full(len(FEATURE_NAMES), 50.0, dtype=np.float32),
            np.zeros(len(ANOMALY_TYPES), dtype=np.float32),
            rules=0,
            faults=0,
            notable=False,
        )

    clock = Clock(T0_MS + 10 * MINUTE_MS)
    bucket = bucket_open(str(tmp_path / "bucket"))
    with Store(tmp_path / "gateway.sqlite") as store:
        # sample_every = 1440: no unremarkable window is sampled, so a batch is its counts.
        engine = _engine(store, bucket, clock, batch_interval_s=120.0, sample_every=1440)
        for first in (0, 2):
            windows = [unremarkable(T0_MS + (first + i) * MINUTE_MS) for i in range(2)]
            until = T0_MS + (first + 2) * MINUTE_MS
            store.detection_state.save(DEVICES[0], until, {}, windows=windows, assessed_ms=until)
            assert engine.run_once(flush=True).built["aggregates"] == 1
            clock.t_ms += 2 * MINUTE_MS
        assert store.outbox.usage().total_items == 0

    batches = [b for _, b in uploaded(bucket) if b.kind is BatchKind.AGGREGATES]
    assert len(batches) == 2
    assert batches[0].hours == batches[1].hours  # equal counts, different windows
    assert sum(windows_by_hour(batches).values()) == 4


def test_sync_carries_the_final_verdict_after_reopen(tmp_path: Path) -> None:
    clock = Clock(T0_MS)
    bucket = bucket_open(str(tmp_path / "bucket"))
    with Store(tmp_path / "gateway.sqlite") as store:
        engine = _engine(store, bucket, clock)
        alert = store.alerts.add(DEVICES[0], "fall", "critical", T0_MS, T0_MS, T0_MS, 0.9)
        store.alerts.close(alert, T0_MS + 10 * MINUTE_MS)
        store.alerts.review(alert, "confirm", "nurse saw it")
        clock.t_ms += HOUR_MS
        assert engine.run_once().built[BatchKind.ALERTS.value] == 1
        # Later: the verdict is withdrawn and the opposite one given, then acknowledged.
        store.alerts.review(alert, "reopen", "video shows a dropped watch")
        store.alerts.review(alert, "dismiss")
        store.alerts.review(alert, "acknowledge")
        clock.t_ms += HOUR_MS
        assert engine.run_once().built[BatchKind.ALERTS.value] == 1
        # An acknowledgement of a verdict changes nothing the cloud is told.
        store.alerts.review(alert, "acknowledge")
        clock.t_ms += HOUR_MS
        assert engine.run_once().built[BatchKind.ALERTS.value] == 0

    outcomes = [a for _, b in uploaded(bucket) if b.kind is BatchKind.ALERTS for a in b.alerts]
    assert sorted(a.status for a in outcomes) == ["confirmed", "dismissed"]


class RefusingBucket(FlakyBucket):
    """A bucket that refuses every batch for good (what a 403 on one object gives)."""

    def create(self, name: str, data: bytes) -> Created:
        raise BucketError(f"403 Forbidden: {name}")


@dataclass
class FixedPoller:
    """A model updater that always answers ``result``."""

    result: UpdateResult

    def check(self) -> object:
        return self.result


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (UpdateResult("up_to_date", "m1"), SyncOutcome.OK),
        (UpdateResult("no_release"), SyncOutcome.OK),
        (UpdateResult("refused", "m2", "bad signature", "signature"), SyncOutcome.RELEASE_REFUSED),
        (UpdateResult("unavailable", reason="503"), SyncOutcome.BUCKET_UNREACHABLE),
        (
            UpdateResult("unavailable", "m2", "install failed: disk full", LOCAL_FAILURE),
            SyncOutcome.MODEL_NOT_INSTALLED,
        ),
    ],
)
def test_the_model_check_result_is_the_cycle_outcome(
    tmp_path: Path, result: UpdateResult, expected: SyncOutcome
) -> None:
    with Store(tmp_path / "gateway.sqlite") as store:
        engine = _engine(store, bucket_open(str(tmp_path / "bucket")), Clock(T0_MS))
        engine.models = FixedPoller(result)
        report = engine.run_once()
    assert report.outcome is expected
    assert report.as_dict()["problems"] == ([] if expected is SyncOutcome.OK else [expected.value])


def test_a_refused_batch_and_a_refused_release_report_the_release(tmp_path: Path) -> None:
    bucket = RefusingBucket(bucket_open(str(tmp_path / "bucket")))
    with Store(tmp_path / "gateway.sqlite") as store:
        add_windows(store, DEVICES[0], T0_MS, 60, T0_MS)
        engine = _engine(store, bucket, Clock(T0_MS))
        engine.models = FixedPoller(UpdateResult("refused", "m2", "bad hash", "sha256"))
        report = engine.run_once(flush=True)
    assert report.failed == 2
    assert report.problems == {SyncOutcome.BATCH_REFUSED, SyncOutcome.RELEASE_REFUSED}
    assert report.outcome is SyncOutcome.RELEASE_REFUSED  # the most serious one
