"""Detection in the running gateway: stored records -> windows -> alerts, per device.

The :class:`Detector` reads what ingest stored, so it sees live and backfilled data
alike and needs no radio. Per device it keeps how far it has assessed
(``processed_until_ms``, in the store). A 60 s window is assessed once every stream has
delivered it (``Store.stream_horizon``), or at the latest ``max_wait_s`` after newer data
arrived on some stream, so one stalled stream cannot hold alerts back. Each step:

1. cut the device's records into windows (``wearable_core.features.window``),
2. compute the feature vectors, run the model on them in one batch (LiteRT) and map its
   outputs onto the policy scale with the thresholds of its manifest,
3. evaluate the safety rules (the fever rule against the person's own temperature
   baseline) and feed :class:`~gateway.alerts.manager.AlertManager`,
4. persist alerts and data-quality events, save the progress, hand alert events to the
   sinks.

After a restart the manager is resumed from the store: open alerts stay open, cooldowns
continue, open faults stay open. Windows are assessed exactly in time order; data that
arrives for an already-assessed window is stored but not assessed again.

Work is bounded by the data present, not by the time it spans. Empty time (no record of
any stream) is assessed window by window for at most ``max_gap_walk_s`` after the last
data, which flags it as a dropout (and summarises its windows for sync); after that the
detector jumps to the window of the next record. The alert manager sees the same thing
either way: every empty window carries the same dropout fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gateway.alerts.manager import AlertManager
from gateway.alerts.sinks import AlertSink
from gateway.config import DEFAULT_HOP_S
from gateway.ingest import now_ms
from gateway.store import Store, WindowSummary
from wearable_core.assessment.assess import (
    ArtifactSettle,
    scores_from_outputs,
    window_assess,
)
from wearable_core.assessment.personal_baselines import PersonalBaselines
from wearable_core.assessment.policy import AlertPolicy
from wearable_core.assessment.types import (
    AlertEvent,
    AlertType,
    DataQualityEvent,
    FaultKind,
    Severity,
)
from wearable_core.contracts.aggregate_batch import FAULT_KINDS
from wearable_core.contracts.features import TEMP_CONTEXT_S, WINDOW_S
from wearable_core.contracts.streams import Stream
from wearable_core.features.extract import features_extract_many
from wearable_core.features.window import windows_overlapping
from wearable_core.model.model_file import LoadedModel

logger = logging.getLogger(__name__)

_WINDOW_MS = WINDOW_S * 1000
#: A window is "notable" (always uploaded, never sampled away) when its assessed score
#: (the model output on the policy scale, after clinical gating) reaches this fraction of
#: the policy's ``on_threshold``, a rule fires or a fault is present.
NOTABLE_FRACTION = 0.5

#: Called with every assessed window (the evaluation uses it for per-window metrics).
WindowObserver = Callable[[str, int, npt.NDArray[np.float32], "WindowResult"], None]


@dataclass(frozen=True)
class WindowResult:
    """What detection concluded about one window (for observers)."""

    scores: Mapping[AlertType, float]
    rules: Mapping[AlertType, bool]
    faults: frozenset[FaultKind]


@dataclass
class _DeviceProgress:
    processed_until_ms: int | None
    baselines: PersonalBaselines
    # Not kept across restarts: a restart inside an artifact's settle time reopens the
    # model's fall at most ARTIFACT_SETTLE_S early.
    artifact: ArtifactSettle = field(default_factory=ArtifactSettle)


class Detector:
    """Assesses every device's stored data window by window (see the module doc).

    Parameters
    ----------
    store
        The gateway's store (records in; alerts, events and progress out).
    model
        A checked model (:func:`wearable_core.model.model_file.model_load`), or ``None``
        for safety rules only.
    policies
        Alert policies (defaults: ``wearable_core.assessment.policy.DEFAULT_POLICIES``).
    sinks
        Where alert events go besides the store (log, webhook).
    max_wait_s
        Longest a window waits for a lagging stream once newer data exists elsewhere.
    max_windows_per_step
        Windows assessed per device per step (bounds memory and event-loop stalls
        during a long backfill).
    max_gap_walk_s
        Longest stretch of empty time assessed window by window after a device's last
        data; the rest of a longer gap is skipped (see the module doc).
    observer
        Called with every assessed window on the minute grid (not the overlapping
        windows between them).
    record_windows
        Keep a summary of every assessed window in the store for sync
        (``docs/sync.md``); off when nothing will upload them.
    clock
        The gateway's clock in Unix ms (when a window was assessed).
    hop_s
        How often a window is assessed: every ``hop_s`` a 60 s window ends (a divisor of
        60; 60 assesses the minute grid alone).
    """

    def __init__(
        self,
        store: Store,
        model: LoadedModel | None,
        policies: Mapping[AlertType, AlertPolicy] | None = None,
        *,
        sinks: Sequence[AlertSink] = (),
        max_wait_s: float = 120.0,
        max_windows_per_step: int = 60,
        max_gap_walk_s: float = 3600.0,
        observer: WindowObserver | None = None,
        record_windows: bool = False,
        clock: Callable[[], int] | None = None,
        hop_s: int = DEFAULT_HOP_S,
    ) -> None:
        if hop_s <= 0 or WINDOW_S % hop_s:
            raise ValueError(f"hop_s must divide the {WINDOW_S} s window, got {hop_s}")
        self.hop_ms = hop_s * 1000
        self.store = store
        self.record_windows = record_windows
        self.clock = clock if clock is not None else now_ms
        self.model = model
        self.manager = AlertManager(
            policies, model_version=model.manifest.version if model else None
        )
        self.sinks = list(sinks)
        self.max_wait_ms = int(max_wait_s * 1000)
        self.max_windows_per_step = max_windows_per_step
        # Whole windows, so a step capped at the walk's end stays on window boundaries.
        self.max_gap_walk_ms = -(-int(max_gap_walk_s * 1000) // _WINDOW_MS) * _WINDOW_MS
        self.observer = observer
        #: Minutes of data assessed (windows on the minute grid) and assessments run
        #: (those plus the overlapping windows between them).
        self.windows_assessed = 0
        self.assessments = 0
        self.alerts_opened = 0
        self._devices: dict[str, _DeviceProgress] = {}
        self._alert_ids: dict[tuple[str, AlertType], int] = {}
        self._fault_ids: dict[tuple[str, FaultKind], int] = {}

    def set_model(self, model: LoadedModel | None) -> None:
        """Serve ``model`` from the next step on (a delivered model, or a rollback).

        Open alerts keep the model version they were opened with.
        """
        self.model = model
        self.manager.model_version = model.manifest.version if model else None

    # ---------------------------------------------------------------- state
    def _progress(self, device: str) -> _DeviceProgress:
        progress = self._devices.get(device)
        if progress is None:
            progress = self._resume(device)
            self._devices[device] = progress
        return progress

    def _resume(self, device: str) -> _DeviceProgress:
        """Rebuild a device's detection state from the store (first sight, or restart)."""
        saved = self.store.detection_state.get(device)
        processed, state = saved if saved is not None else (None, {})
        open_alerts: list[AlertEvent] = []
        last_closed: dict[AlertType, int] = {}
        for row in self.store.alerts.list(device):
            kind = AlertType(row.type)
            if row.closed_ms is None:
                open_alerts.append(
                    AlertEvent(
                        "opened",
                        device,
                        kind,
                        Severity(row.severity),
                        row.opened_ms,
                        row.opened_ms,
                        row.evidence_start_ms,
                        row.evidence_end_ms,
                        0.0 if row.peak_score is None else row.peak_score,
                        row.rule,
                        row.model_version,
                        row.rate_bpm,
                    )
                )
                self._alert_ids[(device, kind)] = row.id
            else:
                last_closed[kind] = max(last_closed.get(kind, row.closed_ms), row.closed_ms)
        faults: list[FaultKind] = []
        for event in self.store.quality_events.list(device):
            if event.closed_ms is None:
                fault = FaultKind(event.fault)
                faults.append(fault)
                self._fault_ids[(device, fault)] = event.id
        self.manager.resume(
            device,
            last_end_ms=processed,
            open_alerts=open_alerts,
            last_closed_ms=last_closed,
            faults=faults,
        )
        return _DeviceProgress(
            processed,
            PersonalBaselines.from_state(state),
        )

    # ------------------------------------------------------------- schedule
    def due(self, device: str) -> tuple[int, int] | None:
        """``(from_ms, until_ms)``: the windows of ``device`` ready to assess, or ``None``.

        ``from_ms`` is where assessment stopped, or past a long empty stretch there: the
        window of the next record (see the module doc).
        """
        horizons = [
            h for s in Stream if (h := self.store.records.stream_horizon(device, s)) is not None
        ]
        if not horizons:
            return None
        progress = self._progress(device)
        start = progress.processed_until_ms
        if start is None:
            start = min(h.first_ms for h in horizons) // _WINDOW_MS * _WINDOW_MS
        latest = max(h.latest_ms for h in horizons)
        ready = max(min(h.complete_ms for h in horizons), latest - self.max_wait_ms)
        until = min(ready, latest) // self.hop_ms * self.hop_ms
        if until <= start:
            return None
        stretch = self._empty_stretch(device, start)
        if stretch is not None:
            walk_end, next_start = stretch
            if start >= walk_end:
                start = next_start  # past the walk: jump to the next data
            elif walk_end < next_start:
                until = min(until, walk_end)
            if until <= start:
                return None
        return start, min(until, start + self.max_windows_per_step * _WINDOW_MS)

    def _empty_stretch(self, device: str, start: int) -> tuple[int, int] | None:
        """``(walk_end_ms, next_start_ms)`` if no record starts in the window at ``start``.

        ``next_start_ms`` is the window of the next record of any stream; ``walk_end_ms``
        is ``max_gap_walk_s`` after the window in which the data before it ended.
        ``None`` when the window holds data or no record follows.
        """
        data_end: int | None = None
        following: int | None = None
        for stream in Stream:
            before, after = self.store.records.data_around(device, stream, start)
            if after is not None:
                following = after if following is None else min(following, after)
            if before is not None:
                end = before + int(stream.record_period_s * 1000)
                data_end = end if data_end is None else max(data_end, end)
        if following is None:
            return None
        next_start = following // _WINDOW_MS * _WINDOW_MS
        if next_start <= start:
            return None
        gap_from = start if data_end is None else -(-data_end // _WINDOW_MS) * _WINDOW_MS
        return gap_from + self.max_gap_walk_ms, next_start

    # ----------------------------------------------------------------- work
    def step(self, device: str) -> list[AlertEvent | DataQualityEvent]:
        """Assess the next due windows of ``device``; return the events they caused."""
        due = self.due(device)
        if due is None:
            return []
        start, until = due
        progress = self._progress(device)
        # Overlapping windows end every hop after the last one assessed; after a jump (or
        # at first sight) the first window starts at `start`, not in the empty time before.
        first = start - _WINDOW_MS + self.hop_ms if progress.processed_until_ms == start else start
        records = []
        for stream in Stream:
            lo = first - TEMP_CONTEXT_S * 1000 if stream is Stream.TEMPERATURE else first
            records.extend(self.store.records.records_between(device, stream, lo, until))
        # Records end before `until`; temperature reaches back before `first` for context.
        windows = windows_overlapping(records, first, until, self.hop_ms // 1000, device)
        vectors = features_extract_many(windows)
        # One batched model call per step; no model: the safety rules alone.
        outputs = None if self.model is None else self.model.runner.predict(vectors)
        thresholds = None if self.model is None else self.model.manifest.thresholds
        events: list[AlertEvent | DataQualityEvent] = []
        summaries: list[WindowSummary] = []
        for i, window in enumerate(windows):
            scores = (
                None
                if outputs is None or thresholds is None
                else scores_from_outputs(outputs[i], thresholds, self.manager.policies)
            )
            # Windows on the minute grid teach the baselines, are summarised for sync and
            # observed; the overlapping ones between them only lower the latency.
            on_grid = window.start_ms % _WINDOW_MS == 0
            baselines = progress.baselines
            context = (
                baselines.step(window.start_ms, vectors[i])
                if on_grid
                else baselines.peek(window.start_ms, vectors[i])
            )
            assessment = window_assess(
                device,
                window.start_ms,
                vectors[i],
                scores,
                context.temp_expected_c,
                hr_floor_bpm=context.hr_floor_bpm,
                at_rest=context.at_rest,
                lying_still=context.lying_still,
                after_artifact=progress.artifact.after_artifact(window.start_ms, vectors[i]),
            )
            faults = assessment.quality.faults()
            events.extend(self.manager.assess(assessment))
            if not on_grid:
                continue
            if self.record_windows:
                summaries.append(
                    _summary(
                        window.start_ms,
                        vectors[i],
                        None if outputs is None else outputs[i],
                        {
                            kind: score / self.manager.policies[kind].on_threshold
                            for kind, score in assessment.scores.items()
                        },
                        assessment.rules,
                        faults,
                        self.model.manifest.version if self.model else None,
                    )
                )
            if self.observer is not None:
                self.observer(
                    device,
                    window.start_ms,
                    vectors[i],
                    WindowResult(assessment.scores, assessment.rules, faults),
                )
        self.assessments += len(windows)
        self.windows_assessed += sum(w.start_ms % _WINDOW_MS == 0 for w in windows)
        for event in events:
            self._persist(event)
        progress.processed_until_ms = until
        self.store.detection_state.save(
            device,
            until,
            progress.baselines.to_state(),
            windows=summaries,
            assessed_ms=self.clock(),
        )
        return events

    def _persist(self, event: AlertEvent | DataQualityEvent) -> None:
        if isinstance(event, DataQualityEvent):
            fault_key = (event.device, event.fault)
            if event.kind == "opened":
                self._fault_ids[fault_key] = self.store.quality_events.add(
                    event.device, event.fault.value, event.at_ms
                )
            elif (fault_id := self._fault_ids.pop(fault_key, None)) is not None:
                self.store.quality_events.close(fault_id, event.at_ms)
            return
        alert_key = (event.device, event.type)
        if event.kind == "opened":
            self.alerts_opened += 1
            self._alert_ids[alert_key] = self.store.alerts.add(
                event.device,
                event.type.value,
                event.severity.value,
                event.opened_ms,
                event.evidence_start_ms,
                event.evidence_end_ms,
                event.peak_score,
                event.rule,
                event.model_version,
                event.rate_bpm,
            )
        elif (alert_id := self._alert_ids.pop(alert_key, None)) is not None:
            self.store.alerts.close(alert_id, event.at_ms)

    def run_until_idle(self) -> list[AlertEvent | DataQualityEvent]:
        """Step every device until nothing is due (evaluation, tests, shutdown)."""
        events: list[AlertEvent | DataQualityEvent] = []
        busy = True
        while busy:
            busy = False
            for device in self.store.devices.addresses():
                new = self.step(device)
                events.extend(new)
                busy = busy or self.due(device) is not None
        return events

    async def run(self, stop: asyncio.Event, interval_s: float = 5.0) -> None:
        """Step every device every ``interval_s`` until ``stop``; deliver alert events.

        A failure in one step is logged and retried on the next tick: detection must not
        take ingest down with it.
        """
        while not stop.is_set():
            for device in self.store.devices.addresses():
                try:
                    events = self.step(device)
                except Exception:
                    logger.exception("detection step failed", extra={"device": device})
                    continue
                for event in events:
                    if isinstance(event, AlertEvent):
                        for sink in self.sinks:
                            await sink.send(event)
                    else:
                        logger.info(
                            "data quality %s: %s on %s",
                            event.kind,
                            event.fault.value,
                            event.device,
                            extra={"device": event.device, "fault": event.fault.value},
                        )
                await asyncio.sleep(0)  # let ingest run between devices
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    def describe(self) -> dict[str, object]:
        """Counters and progress for the status file."""
        return {
            "model": self.model.manifest.version if self.model else None,
            "windows_assessed": self.windows_assessed,
            "assessments": self.assessments,
            "alerts_opened": self.alerts_opened,
            "processed_until_ms": {
                d: p.processed_until_ms for d, p in sorted(self._devices.items())
            },
        }


def _summary(
    start_ms: int,
    vector: npt.NDArray[np.float32],
    outputs: npt.NDArray[np.float32] | None,
    alarm: Mapping[AlertType, float],
    rules: Mapping[AlertType, bool],
    faults: frozenset[FaultKind],
    model_version: str | None,
) -> WindowSummary:
    """One window's summary for sync: features, raw outputs, rule and fault bitmasks.

    ``alarm`` is each type's assessed score as a fraction of its policy's on-threshold.
    """
    rule_bits = sum(1 << i for i, kind in enumerate(AlertType) if rules.get(kind, False))
    fault_bits = sum(1 << i for i, kind in enumerate(FAULT_KINDS) if FaultKind(kind) in faults)
    near = any(value >= NOTABLE_FRACTION for value in alarm.values())
    return WindowSummary(
        start_ms,
        model_version,
        vector,
        outputs,
        rule_bits,
        fault_bits,
        bool(rule_bits or fault_bits or near),
    )
