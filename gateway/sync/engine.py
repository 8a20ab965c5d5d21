"""One sync cycle: build batches into the outbox, keep it in budget, upload, poll models.

The outbox lives in the store (``gateway.store.outbox``), so everything here survives a
crash or a reboot: a batch is built once (its inputs are consumed in the same
transaction), uploaded under a content-derived name with a create-only write, and
removed from the outbox only after the bucket confirmed it. A retry after a crash or a
lost response finds the object already there (``Created.ALREADY_PRESENT``): delivered
exactly once. See ``docs/sync.md``.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gateway.ingest import now_ms
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from gateway.sync.aggregates import (
    alert_state,
    alerts_batch,
    diagnostics_batch,
    windows_batches,
)
from gateway.sync.backoff import backoff_delay_s
from gateway.sync.network import NetworkState
from gateway.sync.outcome import SyncOutcome, model_outcome, worst
from wearable_core.buckets.base import (
    Bucket,
    BucketConfigError,
    BucketError,
    BucketUnavailable,
    Created,
)
from wearable_core.contracts.aggregate_batch import (
    AggregateBatch,
    BatchKind,
    WindowRows,
    batch_decode,
    batch_encode,
    batch_object_name,
    hour_of,
)

logger = logging.getLogger(__name__)

_HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SyncSettings:
    """How the gateway syncs (the ``[sync]`` and ``[privacy]`` config sections)."""

    #: Windows wait at most this long (gateway clock) before they are batched.
    batch_interval_s: float = 12 * 3600.0
    #: One in ``sample_every`` unremarkable windows is uploaded (weight ``k``).
    sample_every: int = 10
    #: The outbox is compacted when its payloads exceed this.
    outbox_budget_bytes: int = 20_000_000
    #: Retry delays: exponential from ``backoff_base_s`` up to ``backoff_cap_s``, jittered.
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 900.0
    #: Differential privacy: epsilon per release (``None``: off) and budget per person-day.
    dp_epsilon: float | None = None
    dp_budget_per_day: float = 1.0
    #: Build a diagnostics batch at most once per this many seconds.
    diagnostics_interval_s: float = 12 * 3600.0


class ModelPoller(Protocol):
    """What the engine needs from the model updater (``gateway.model_update``)."""

    def check(self) -> object:
        """Poll the bucket for a new model and install it if it passes every check."""
        ...


@dataclass
class CycleReport:
    """What one cycle did (also logged, and summed into the persisted status)."""

    network: str
    built: Counter[str] = field(default_factory=Counter)
    uploaded: int = 0
    uploaded_bytes: int = 0
    already_present: int = 0
    failed: int = 0
    compacted: int = 0
    dropped: int = 0
    withheld_windows: int = 0
    error: str | None = None
    #: Uploads pause until then after a transient failure (``None``: not backing off).
    backing_off_until_ms: int | None = None
    model: object | None = None
    backlog_items: int = 0
    backlog_bytes: int = 0
    #: Everything that kept the cycle from doing all that was due, recorded where it
    #: happened (empty: :attr:`outcome` is ``OK``).
    problems: set[SyncOutcome] = field(default_factory=set)

    @property
    def outcome(self) -> SyncOutcome:
        """The most serious problem of the cycle, or ``OK`` (``gateway.sync.outcome``)."""
        return worst(self.problems)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``wearable gateway sync --json``)."""
        return {
            "outcome": self.outcome.value,
            "problems": sorted(p.value for p in self.problems),
            "network": self.network,
            "built": dict(self.built),
            "uploaded": self.uploaded,
            "uploaded_bytes": self.uploaded_bytes,
            "already_present": self.already_present,
            "failed": self.failed,
            "compacted": self.compacted,
            "dropped": self.dropped,
            "withheld_windows": self.withheld_windows,
            "error": self.error,
            "backing_off_until_ms": self.backing_off_until_ms,
            "model": _describe(self.model),
            "backlog_items": self.backlog_items,
            "backlog_bytes": self.backlog_bytes,
        }


def _describe(result: object | None) -> object:
    if result is None:
        return None
    fields = ("status", "version", "reason", "check")
    return {f: getattr(result, f) for f in fields if hasattr(result, f)} or str(result)


class SyncEngine:
    """Runs sync cycles for one store (``run_once``; the service calls it periodically).

    Parameters
    ----------
    store
        The gateway's store (window summaries and alerts in, outbox and status).
    key
        The install's pseudonym key.
    bucket
        Where batches go; ``None`` builds and queues only (no bucket configured yet).
    settings
        Batching, budget, backoff and privacy settings.
    network
        Returns the current network state (the OS's view; simulated in tests).
    models
        The model updater, polled on unmetered networks; ``None``: no model delivery.
    clock
        Gateway clock in Unix ms.
    rng
        Jitter source (seed it for reproducible tests).
    counters
        Extra gateway counters for the diagnostics batch (e.g. ingest statistics).
    """

    def __init__(
        self,
        store: Store,
        key: PseudonymKey,
        bucket: Bucket | None,
        settings: SyncSettings | None = None,
        *,
        network: Callable[[], NetworkState] = lambda: NetworkState.UNMETERED,
        models: ModelPoller | None = None,
        clock: Callable[[], int] | None = None,
        rng: random.Random | None = None,
        counters: Callable[[], dict[str, int | float | str]] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.bucket = bucket
        self.settings = settings or SyncSettings()
        self.network = network
        self.models = models
        self.clock = clock or now_ms
        self.rng = rng or random.Random()
        self.counters = counters

    # ------------------------------------------------------------------ build
    def build(self, now_ms: int, *, flush: bool = False) -> CycleReport:
        """Turn pending windows, changed alerts and due diagnostics into outbox batches.

        Windows of a device are batched once its oldest pending window has waited
        ``batch_interval_s`` (or at once with ``flush``).
        """
        report = CycleReport(self.network().value)
        self._build_alerts(now_ms, report)
        self._build_windows(now_ms, flush, report)
        self._build_diagnostics(now_ms, flush, report)
        return report

    def _queue(
        self,
        batch: AggregateBatch,
        hour: int,
        now_ms: int,
        report: CycleReport,
        *,
        covers: dict[str, int] | None = None,
        consumed_windows: tuple[int, ...] = (),
        alert_states: dict[int, str] | None = None,
    ) -> None:
        data = batch_encode(batch)
        name = batch_object_name(batch.kind, data, hour)
        self.store.outbox.add(
            batch.kind.value,
            batch.kind.priority,
            name,
            data,
            now_ms,
            covers=covers,
            consumed_windows=consumed_windows,
            alert_states=alert_states,
        )
        report.built[batch.kind.value] += 1

    def _build_alerts(self, now_ms: int, report: CycleReport) -> None:
        changed: dict[str, list[int]] = {}
        for alert_id, device, _ in self.store.alerts.unsynced():
            changed.setdefault(device, []).append(alert_id)
        for device, ids in sorted(changed.items()):
            rows = [self.store.alerts.get(i) for i in ids]
            batch = alerts_batch(self.key, device, rows)
            self._queue(
                batch,
                min(hour_of(r.opened_ms) for r in rows),
                now_ms,
                report,
                alert_states={r.id: alert_state(r) for r in rows},
            )

    def _build_windows(self, now_ms: int, flush: bool, report: CycleReport) -> None:
        wait_ms = int(self.settings.batch_interval_s * 1000)
        due = [
            device
            for device, oldest in sorted(self.store.outbox.pending_window_ages().items())
            if flush or now_ms - oldest >= wait_ms
        ]
        for device in due:
            windows = self.store.outbox.pending_windows(device)
            epsilon = self.settings.dp_epsilon
            for part in windows_batches(
                self.key,
                device,
                windows,
                sample_every=self.settings.sample_every,
                noise_epsilon=epsilon,
                alerts=self.store.alerts.list(device),
            ):
                if epsilon is not None and not self.store.privacy.spend(
                    part.batch.pseudonym,
                    part.first_hour // 24,
                    epsilon,
                    self.settings.dp_budget_per_day,
                ):
                    # Over the person's budget for that day: nothing is sent; the windows
                    # are dropped (and counted) so they are not offered again.
                    self.store.outbox.windows_discard(part.window_ids)
                    report.withheld_windows += len(part.window_ids)
                    self.store.sync.count(dp_withheld_windows=len(part.window_ids))
                    continue
                self._queue(
                    part.batch,
                    part.first_hour,
                    now_ms,
                    report,
                    covers={device: part.covers_until_ms},
                    consumed_windows=part.window_ids,
                )

    def _build_diagnostics(self, now_ms: int, flush: bool, report: CycleReport) -> None:
        status = self.store.sync.status()
        last = status.get("diagnostics_built_ms")
        interval_ms = int(self.settings.diagnostics_interval_s * 1000)
        if isinstance(last, int) and now_ms - last < interval_ms and not flush:
            return
        usage = self.store.outbox.usage()
        rejections: Counter[str] = Counter()
        for r in self.store.devices.rejections():
            rejections[r.reason] += r.count
        counters: dict[str, int | float | str] = {
            "hour": hour_of(now_ms),
            "devices": len(self.store.devices.addresses()),
            "gaps": self.store.records.gap_count(),
            "outbox_items": usage.total_items,
            "outbox_bytes": usage.total_bytes,
            "outbox_failed": usage.failed,
            "store_bytes": self.store.retention.usage().file_bytes,
            **{f"rejected_{reason}": n for reason, n in sorted(rejections.items())},
            **{
                k: v
                for k, v in status.items()
                if k in _DIAGNOSTIC_STATUS and isinstance(v, int | float)
            },
        }
        if self.counters is not None:
            counters.update(self.counters())
        self._queue(diagnostics_batch(self.key, counters), hour_of(now_ms), now_ms, report)
        self.store.sync.update_status(diagnostics_built_ms=now_ms)

    # ---------------------------------------------------------------- budget
    def enforce_budget(self, report: CycleReport) -> None:
        """Bring the outbox under its byte budget; alerts are never touched.

        First drop diagnostics (oldest first), then compact never-attempted aggregate
        batches (oldest first) to their hourly summaries, then drop aggregate batches
        (oldest first). Items already attempted are only dropped, never rewritten: the
        bucket may hold them, and a rewritten batch would be a second copy.
        """
        budget = self.settings.outbox_budget_bytes
        usage = self.store.outbox.usage()
        if usage.total_bytes <= budget:
            return
        total = usage.total_bytes
        items = self.store.outbox.items()
        for item in items:
            if total <= budget:
                break
            if item.kind == BatchKind.DIAGNOSTICS.value:
                self.store.outbox.drop(item.id)
                total -= len(item.payload)
                report.dropped += 1
        for item in items:
            if total <= budget:
                break
            if item.kind != BatchKind.AGGREGATES.value or item.compacted or item.attempts:
                continue
            batch = batch_decode(item.payload)
            if not len(batch.windows):
                continue
            small = AggregateBatch(
                batch.kind,
                batch.pseudonym,
                hours=batch.hours,
                noise=batch.noise,
                windows=WindowRows.empty(),
                windows_id=batch.windows_id,
            )
            data = batch_encode(small)
            hour = min(h.hour for h in batch.hours) if batch.hours else hour_of(item.created_ms)
            self.store.outbox.rewrite(item.id, batch_object_name(small.kind, data, hour), data)
            total -= len(item.payload) - len(data)
            report.compacted += 1
        for item in items:
            if total <= budget:
                break
            if item.kind == BatchKind.AGGREGATES.value:
                self.store.outbox.drop(item.id)
                total -= len(item.payload)
                report.dropped += 1
        if report.compacted or report.dropped:
            self.store.sync.count(outbox_compacted=report.compacted, outbox_dropped=report.dropped)
            logger.warning(
                "outbox over its %d byte budget: compacted %d batches, dropped %d",
                budget,
                report.compacted,
                report.dropped,
            )

    # ---------------------------------------------------------------- upload
    def upload(self, now_ms: int, network: NetworkState, report: CycleReport) -> None:
        """Upload due outbox items, most urgent first, as far as the network allows.

        A transient failure backs the item off and ends the cycle, and no upload is tried
        before that item's retry time (the bucket is likely down for all of them); a
        permanent one quarantines the item and goes on.
        """
        max_priority = network.max_priority
        if self.bucket is None or max_priority is None:
            return
        retry_at = self.store.sync.status().get("retry_at_ms")
        if isinstance(retry_at, int) and now_ms < retry_at:
            report.backing_off_until_ms = retry_at
            # Nothing is tried, the model check included: the bucket failed a moment
            # ago. A scheduler must still see that this cycle did not do its work.
            report.problems.add(SyncOutcome.BACKING_OFF)
            return
        for item in self.store.outbox.due(now_ms, max_priority):
            try:
                outcome = self.bucket.create(item.name, item.payload)
            except BucketUnavailable as exc:
                delay = backoff_delay_s(
                    item.attempts + 1,
                    self.rng,
                    base_s=self.settings.backoff_base_s,
                    cap_s=self.settings.backoff_cap_s,
                )
                retry_at = now_ms + int(delay * 1000)
                self.store.outbox.retry(item.id, retry_at, str(exc))
                self.store.sync.update_status(retry_at_ms=retry_at)
                report.error = f"bucket unavailable: {exc}"
                report.backing_off_until_ms = retry_at
                report.problems.add(SyncOutcome.BUCKET_UNREACHABLE)
                return
            except BucketConfigError as exc:
                # Credentials or bucket settings: nothing wrong with the batch itself.
                report.error = f"bucket not usable: {exc}"
                report.problems.add(SyncOutcome.BUCKET_UNUSABLE)
                logger.error("sync: %s", report.error)
                return
            except BucketError as exc:
                self.store.outbox.fail(item.id, str(exc))
                report.failed += 1
                report.problems.add(SyncOutcome.BATCH_REFUSED)
                report.error = f"batch {item.name} refused: {exc}"
                logger.error("sync: %s; it stays in the outbox, quarantined", report.error)
                continue
            self.store.outbox.done(item.id)
            for device, until_ms in item.covers.items():
                self.store.records.mark_synced_until(device, until_ms)
            if outcome is Created.ALREADY_PRESENT:
                report.already_present += 1
            report.uploaded += 1
            report.uploaded_bytes += len(item.payload)

    # ----------------------------------------------------------------- cycle
    def run_once(self, *, flush: bool = False) -> CycleReport:
        """One full cycle: build, budget, upload, poll models, persist the status."""
        now_ms = self.clock()
        network = self.network()
        report = self.build(now_ms, flush=flush)
        self.enforce_budget(report)
        if self.bucket is not None and network is not NetworkState.OFFLINE:
            self.upload(now_ms, network, report)
            if (
                self.models is not None
                and network.models_allowed
                and report.backing_off_until_ms is None
            ):
                try:
                    report.model = self.models.check()
                except BucketConfigError as exc:
                    report.error = f"model poll failed: {exc}"
                    report.problems.add(SyncOutcome.BUCKET_UNUSABLE)
                    logger.error("sync: %s", report.error)
                except BucketError as exc:
                    report.error = f"model poll failed: {exc}"
                    report.problems.add(SyncOutcome.BUCKET_UNREACHABLE)
                    logger.error("sync: %s", report.error)
                else:
                    # The updater reports refusals and outages as results, not errors.
                    outcome = model_outcome(report.model)
                    if outcome is not SyncOutcome.OK:
                        report.problems.add(outcome)
        usage = self.store.outbox.usage()
        report.backlog_items = usage.total_items
        report.backlog_bytes = usage.total_bytes
        self._record(now_ms, network, report)
        return report

    def _record(self, now_ms: int, network: NetworkState, report: CycleReport) -> None:
        fields: dict[str, object] = {"last_cycle_ms": now_ms, "network": network.value}
        contacted = report.backing_off_until_ms is None or report.error is not None
        if self.bucket is not None and network is not NetworkState.OFFLINE and contacted:
            fields["last_attempt_ms"] = now_ms
            # A success is the bucket having answered: an upload, or a model poll that
            # reached it. A cycle with nothing to send proves nothing about the link.
            polled = report.model is not None and getattr(report.model, "status", "") not in (
                "unavailable",
            )
            if report.error is None and (report.uploaded or polled):
                fields["last_success_ms"] = now_ms
        if report.error is not None:
            fields["last_error"] = report.error
            fields["last_error_ms"] = now_ms
        if report.model is not None:
            fields["model_check"] = _describe(report.model)
        self.store.sync.update_status(**fields)
        if report.uploaded:
            self.store.sync.count(
                uploaded_objects=report.uploaded,
                uploaded_bytes=report.uploaded_bytes,
                already_present=report.already_present,
            )


#: Persisted status counters that are also worth sending in diagnostics.
_DIAGNOSTIC_STATUS = frozenset(
    {"uploaded_objects", "uploaded_bytes", "already_present", "outbox_compacted", "outbox_dropped"}
)
