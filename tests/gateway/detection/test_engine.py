"""The running detector: stored records -> windows -> model and rules -> stored alerts.

Data: the session's simulated cohort (``_support.SCENARIO``), ingested like the gateway
does; each test copies the records it needs into a store of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import astuple
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from gateway.config import DEFAULT_HOP_S
from gateway.detection.engine import Detector, WindowResult
from gateway.store import AlertRow, DataQualityRow, Store
from wearable.evaluation.pipeline import watch_run
from wearable_core.assessment.rules import RULE_NAMES
from wearable_core.assessment.types import AlertEvent, AlertType, DataQualityEvent
from wearable_core.assessment.wrist_temperature import SENSOR_SETTLE_S
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import LoadedModel
from wearable_core.records import IngestRecord

from ._support import DURATION_MIN, Cohort

WINDOW_MS = 60_000
HOP_MS = DEFAULT_HOP_S * 1000
#: The desaturation episode on ``cohort.desat`` and the off-wrist fault on
#: ``cohort.off_wrist`` (minutes from the start).
DESAT = (10, 15)
OFF_WRIST = (10, 16)


class Windows:
    """An observer recording every window it is called with."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.results: dict[tuple[str, int], WindowResult] = {}

    def __call__(
        self, device: str, start_ms: int, vector: npt.NDArray[np.float32], result: WindowResult
    ) -> None:
        assert vector.dtype == np.float32
        self.seen.append((device, start_ms))
        self.results[(device, start_ms)] = result

    def starts(self, device: str) -> list[int]:
        return [s for d, s in self.seen if d == device]


def alert_rows(store: Store, device: str | None = None) -> list[tuple[object, ...]]:
    """Alert rows without their ids (comparable between stores)."""
    return [astuple(row)[1:] for row in store.alerts.list(device)]


def quality_rows(store: Store, device: str | None = None) -> list[tuple[object, ...]]:
    return [astuple(row)[1:] for row in store.quality_events.list(device)]


def full_run(cohort: Cohort, path: Path, model: LoadedModel | None) -> tuple[Store, Detector]:
    store = Store(path)
    cohort.fill(store)
    detector = Detector(store, model)
    detector.run_until_idle()
    return store, detector


def before(t_ms: int) -> Callable[[IngestRecord], bool]:
    return lambda r: r.aligned_time_ms < t_ms


# ------------------------------------------------------------------ alerts and faults


def test_desaturation_raises_one_model_alert_around_the_episode(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    with Store(store_path) as store:
        cohort.fill(store)
        detector = Detector(store, baseline_model)
        events = detector.run_until_idle()
        [row] = store.alerts.list(cohort.desat)
    onset, end = cohort.at(DESAT[0]), cohort.at(DESAT[1])
    assert (row.type, row.severity, row.model_version) == ("desaturation", "critical", "baseline-3")
    # Evidence starts with the first (overlapping) window that is mostly inside the
    # episode, which may begin before the onset; the alert opens at its end.
    assert onset - WINDOW_MS // 2 <= row.evidence_start_ms < onset + 2 * WINDOW_MS
    assert row.opened_ms == row.evidence_end_ms
    assert row.evidence_start_ms + WINDOW_MS <= row.evidence_end_ms <= onset + 3 * WINDOW_MS
    # It closes after the episode, within the policy's 60 s of inactivity (+ a ramp).
    assert row.closed_ms is not None and end < row.closed_ms <= end + 3 * WINDOW_MS
    assert row.peak_score is not None and row.peak_score >= 0.7
    alert_events = [e for e in events if isinstance(e, AlertEvent)]
    assert [(e.kind, e.type, e.device) for e in alert_events] == [
        ("opened", AlertType.DESATURATION, cohort.desat),
        ("closed", AlertType.DESATURATION, cohort.desat),
    ]
    assert alert_events[0].opened_ms == row.opened_ms
    assert alert_events[1].at_ms == row.closed_ms
    assert detector.alerts_opened == 1


def test_rules_only_still_raises_the_desaturation_rule_alert(
    cohort: Cohort, store_path: Path
) -> None:
    with Store(store_path) as store:
        cohort.fill(store)
        Detector(store, None).run_until_idle()
        [row] = store.alerts.list(cohort.desat)
    onset, end = cohort.at(DESAT[0]), cohort.at(DESAT[1])
    assert (row.type, row.rule, row.model_version) == (
        "desaturation",
        RULE_NAMES[AlertType.DESATURATION],
        None,
    )
    # The rule needs 60 s below 88 % in a window, then the policy's 60 s: later than the
    # model, but inside the episode.
    assert onset <= row.evidence_start_ms and row.evidence_end_ms <= end
    # It closes around the end: the recovery ramp lifts SpO2 above 88 % before the
    # episode's end, which a window ending every 15 s sees up to half a window early.
    assert (
        row.closed_ms is not None and end - WINDOW_MS // 2 <= row.closed_ms <= end + 2 * WINDOW_MS
    )


def test_off_wrist_is_a_data_quality_event_and_no_alert(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    watcher = Windows()
    with Store(store_path) as store:
        cohort.fill(store)
        events = Detector(store, baseline_model, observer=watcher).run_until_idle()
        quality = store.quality_events.list(cohort.off_wrist)
        alerts = store.alerts.list(cohort.off_wrist)
        assert store.quality_events.list(cohort.desat) == []
    fault_start, fault_end = cohort.at(OFF_WRIST[0]), cohort.at(OFF_WRIST[1])
    [event] = quality
    # The event opens with the first window that shows the fault: an overlapping one
    # may begin up to a hop short of a window before it.
    assert event.fault == "off_wrist" and event.closed_ms == fault_end
    assert fault_start - WINDOW_MS + HOP_MS <= event.opened_ms <= fault_start
    # This watch has no medical episode at all: any alert (in the fault or not) is false.
    assert alerts == []
    dq = [e for e in events if isinstance(e, DataQualityEvent)]
    assert [(e.kind, e.device, e.at_ms) for e in dq] == [
        ("opened", cohort.off_wrist, event.opened_ms),
        ("closed", cohort.off_wrist, fault_end),
    ]
    # The observer saw the fault on exactly the off-wrist windows.
    faulted = [
        s for s in watcher.starts(cohort.off_wrist) if watcher.results[(cohort.off_wrist, s)].faults
    ]
    assert faulted == list(range(fault_start, fault_end, WINDOW_MS))


# --------------------------------------------------------------- progress and schedule


def test_progress_and_the_expected_wrist_temperature_are_saved(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    with Store(store_path) as store:
        cohort.fill(store)
        detector = Detector(store, baseline_model)
        detector.run_until_idle()
        described = detector.describe()
        saved = {d: store.detection_state.get(d) for d in (cohort.desat, cohort.off_wrist)}
    end = cohort.at(DURATION_MIN)
    for device, state in saved.items():
        assert state is not None
        processed, extra = state
        assert processed == end
        temperature = extra["wrist_temperature"]
        assert isinstance(temperature, dict)
        # Faulty windows are skipped, and so is the sensor's rewarming after the off-wrist.
        skipped = 6 + SENSOR_SETTLE_S // 60 if device == cohort.off_wrist else 0
        expected = DURATION_MIN - skipped
        assert temperature["learnt"] == expected, device
        assert temperature["last_ms"] == cohort.at(DURATION_MIN - 1)
    assert described["model"] == "baseline-3"
    assert described["windows_assessed"] == 2 * DURATION_MIN
    assert described["processed_until_ms"] == {cohort.desat: end, cohort.off_wrist: end}


def test_observer_sees_every_window_once_in_order(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    watcher = Windows()
    with Store(store_path) as store:
        cohort.fill(store)
        detector = Detector(store, baseline_model, observer=watcher, max_windows_per_step=7)
        detector.run_until_idle()
    assert len(watcher.seen) == len(set(watcher.seen)) == detector.windows_assessed
    for device in (cohort.desat, cohort.off_wrist):
        assert watcher.starts(device) == [cohort.at(m) for m in range(DURATION_MIN)]


def test_nothing_new_is_nothing_to_do(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    watcher = Windows()
    with Store(store_path) as store:
        cohort.fill(store)
        detector = Detector(store, baseline_model, observer=watcher)
        detector.run_until_idle()
        seen = len(watcher.seen)
        for device in (cohort.desat, cohort.off_wrist):
            assert detector.due(device) is None
            assert detector.step(device) == []
        assert detector.run_until_idle() == []
        assert detector.due("C4:12:00:00:00:FF") is None  # a device with no data
        assert detector.step("C4:12:00:00:00:FF") == []
        assert len(watcher.seen) == seen
        assert len(store.alerts.list()) == 1


def test_due_waits_for_a_lagging_stream_at_most_max_wait(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    # Every stream up to 20 min, temperature (one record a minute) only up to 15 min.
    def keep(r: IngestRecord) -> bool:
        limit = cohort.at(15) if r.stream is Stream.TEMPERATURE else cohort.at(20)
        return r.device == cohort.desat and r.aligned_time_ms < limit

    with Store(store_path) as store:
        cohort.fill(store, keep)
        device = cohort.desat
        patient = Detector(store, baseline_model, max_wait_s=3600)
        assert patient.due(device) == (cohort.at(0), cohort.at(15))
        hasty = Detector(store, baseline_model, max_wait_s=120)
        assert hasty.due(device) == (cohort.at(0), cohort.at(18))
        small = Detector(store, baseline_model, max_wait_s=120, max_windows_per_step=5)
        assert small.due(device) == (cohort.at(0), cohort.at(5))
        small.step(device)
        assert small.due(device) == (cohort.at(5), cohort.at(10))
        assert store.detection_state.get(device) is not None
        assert store.detection_state.get(device)[0] == cohort.at(5)  # type: ignore[index]


def test_a_stalled_stream_holds_windows_back_only_for_max_wait(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    # Temperature stops at 20 min; the other streams run to the end (36 min).
    def keep(r: IngestRecord) -> bool:
        return r.stream is not Stream.TEMPERATURE or r.aligned_time_ms < cohort.at(20)

    with Store(store_path) as store:
        cohort.fill(store, keep)
        patient = Detector(store, baseline_model, max_wait_s=3600)
        patient.run_until_idle()
        assert store.detection_state.get(cohort.desat)[0] == cohort.at(20)  # type: ignore[index]
        assert patient.due(cohort.desat) is None
        # A detector with the default wait resumes from the saved progress and assesses
        # the windows that waited, up to max_wait before the newest data.
        watcher = Windows()
        hasty = Detector(store, baseline_model, max_wait_s=120, observer=watcher)
        hasty.run_until_idle()
        assert store.detection_state.get(cohort.desat)[0] == cohort.at(34)  # type: ignore[index]
        assert watcher.starts(cohort.desat) == [cohort.at(m) for m in range(20, 34)]
        assert hasty.due(cohort.desat) is None


# -------------------------------------------------------------------------- restart


def test_restart_resumes_without_duplicates(
    cohort: Cohort, baseline_model: LoadedModel, tmp_path: Path
) -> None:
    reference, _ = full_run(cohort, tmp_path / "reference.sqlite", baseline_model)
    with reference:
        expected_alerts = alert_rows(reference)
        expected_quality = quality_rows(reference)
        expected_state = {d: reference.detection_state.get(d) for d in cohort.records}
    assert len(expected_alerts) == 1 and len(expected_quality) == 1

    # First run: data up to 12 min, in the middle of both the desaturation alert and
    # the off-wrist fault; then the gateway stops.
    path = tmp_path / "restarted.sqlite"
    split = cohort.at(12)
    with Store(path) as store:
        cohort.fill(store, before(split))
        Detector(store, baseline_model).run_until_idle()
        [open_alert] = store.alerts.list(cohort.desat)
        assert open_alert.closed_ms is None
        [open_fault] = store.quality_events.list(cohort.off_wrist)
        assert open_fault.closed_ms is None
        assert store.detection_state.get(cohort.desat)[0] == split  # type: ignore[index]

    # Restart: a new store object and detector on the same file, then the rest arrives.
    with Store(path) as store:
        cohort.fill(store, lambda r: r.aligned_time_ms >= split)
        detector = Detector(store, baseline_model)
        events = detector.run_until_idle()
        assert alert_rows(store) == expected_alerts
        assert quality_rows(store) == expected_quality
        assert {d: store.detection_state.get(d) for d in cohort.records} == expected_state
        [row] = store.alerts.list(cohort.desat)
    assert (row.id, row.opened_ms) == (open_alert.id, open_alert.opened_ms)
    # After the restart only the closes happen: no second "opened" of either.
    assert sorted((type(e).__name__, e.kind, e.device) for e in events) == [
        ("AlertEvent", "closed", cohort.desat),
        ("DataQualityEvent", "closed", cohort.off_wrist),
    ]
    closed = next(e for e in events if isinstance(e, AlertEvent))
    assert closed.opened_ms == open_alert.opened_ms
    assert detector.alerts_opened == 0


def test_restart_after_everything_was_assessed_does_nothing(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    store, _ = full_run(cohort, store_path, baseline_model)
    with store:
        expected = alert_rows(store), quality_rows(store)
    with Store(store_path) as store:
        detector = Detector(store, baseline_model)
        assert detector.run_until_idle() == []
        assert (alert_rows(store), quality_rows(store)) == expected
        assert detector.windows_assessed == 0


# ----------------------------------------------------------------- the whole pipeline


def test_run_watch_agrees_with_the_detector(
    cohort: Cohort, baseline_model: LoadedModel, tmp_path: Path
) -> None:
    device = cohort.desat
    run = watch_run(
        device,
        [cohort.produced[device]],
        cohort.epoch_start_s,
        tmp_path / "watch.sqlite",
        baseline_model,
    )
    store, _ = full_run(cohort, tmp_path / "direct.sqlite", baseline_model)
    with store:
        expected: list[AlertRow] = store.alerts.list(device)
        expected_quality: list[DataQualityRow] = store.quality_events.list(device)
    assert run.records == len(cohort.produced[device])
    assert run.stored == len(cohort.records[device]) and run.rejected == 0
    assert run.windows == DURATION_MIN
    assert [astuple(a)[1:] for a in run.alerts] == [astuple(a)[1:] for a in expected]
    assert run.quality_events == expected_quality
    assert len(run.outcomes) == DURATION_MIN


# ------------------------------------------------------------------------ async loop


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    async def send(self, event: AlertEvent) -> None:
        self.events.append(event)


async def test_run_delivers_alert_events_to_the_sinks_until_stopped(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    sink = RecordingSink()
    with Store(store_path) as store:
        cohort.fill(store)
        detector = Detector(store, baseline_model, sinks=[sink])
        stop = asyncio.Event()
        task = asyncio.create_task(detector.run(stop, interval_s=0.01))
        for _ in range(500):
            if all(detector.due(d) is None for d in cohort.records) and len(sink.events) >= 2:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5.0)
        rows = store.alerts.list()
    assert [(e.kind, e.type) for e in sink.events] == [
        ("opened", AlertType.DESATURATION),
        ("closed", AlertType.DESATURATION),
    ]
    assert [r.opened_ms for r in rows] == [sink.events[0].opened_ms]


def test_a_data_gap_at_the_end_of_a_step_is_still_assessed(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    """Found by benchmarks/bench_chaos.py (a watch's data-gap fault): windows with no
    record at all at the end of a step were never assessed, so the gap was not flagged
    and its windows never reached the bucket."""
    gap = (cohort.at(5), cohort.at(8))  # the first step below is minutes 0-7

    def keep(r: IngestRecord) -> bool:
        return r.device == cohort.desat and not gap[0] <= r.aligned_time_ms < gap[1]

    watcher = Windows()
    with Store(store_path) as store:
        cohort.fill(store, keep)
        detector = Detector(store, baseline_model, observer=watcher, max_windows_per_step=8)
        detector.run_until_idle()
        faults = [
            (q.fault, q.opened_ms, q.closed_ms) for q in store.quality_events.list(cohort.desat)
        ]
    # Every window up to well after the gap, each once (the dropped records leave sequence
    # holes, which hold the last few windows back for max_wait; a real data gap has none).
    assert watcher.starts(cohort.desat)[:12] == [cohort.at(m) for m in range(12)]
    assert any(
        kind == "dropout" and gap[0] - WINDOW_MS + HOP_MS <= opened <= gap[0] and closed == gap[1]
        for kind, opened, closed in faults
    )


def test_work_is_bounded_by_the_data_not_by_an_empty_stretch_of_months(
    cohort: Cohort, baseline_model: LoadedModel, store_path: Path
) -> None:
    """Eleven months between two runs of data (a clock far off, an unworn watch): the
    first hour of the gap is assessed and flagged as a dropout, the rest is skipped."""
    shift = 335 * 86_400_000
    resume = cohort.at(20)
    records = [
        r
        if r.aligned_time_ms < resume
        else dataclasses.replace(r, aligned_time_ms=r.aligned_time_ms + shift)
        for r in cohort.records[cohort.desat]
    ]
    watcher = Windows()
    with Store(store_path) as store:
        store.records.add(records)
        detector = Detector(store, baseline_model, observer=watcher)
        detector.run_until_idle()
        faults = [(q.fault, q.opened_ms, q.closed_ms) for q in store.quality_events.list()]
        assert store.detection_state.get(cohort.desat)[0] == cohort.at(DURATION_MIN) + shift  # type: ignore[index]
        assert detector.due(cohort.desat) is None
    # The data ends early in minute 20 (the last temperature record covers a minute):
    # the walk goes on for an hour after that minute.
    walked = [cohort.at(m) for m in range(20 + 61)]
    after = [cohort.at(m) + shift for m in range(20, DURATION_MIN)]
    assert watcher.starts(cohort.desat) == walked + after
    assert detector.windows_assessed == len(walked) + len(after)
    # The alert manager sees what a full walk would show it: one dropout over the gap
    # (from the first overlapping window that reaches into it).
    assert any(
        kind == "dropout"
        and resume - WINDOW_MS + HOP_MS <= opened <= resume
        and closed == resume + shift
        for kind, opened, closed in faults
    )


def test_a_shorter_hop_opens_the_alert_sooner_and_learns_each_minute_once(
    cohort: Cohort, baseline_model: LoadedModel, tmp_path: Path
) -> None:
    opened, counts = {}, {}
    for hop_s in (60, DEFAULT_HOP_S):
        with Store(tmp_path / f"hop-{hop_s}.sqlite") as store:
            cohort.fill(store)
            watcher = Windows()
            detector = Detector(store, baseline_model, observer=watcher, hop_s=hop_s)
            detector.run_until_idle()
            [row] = store.alerts.list(cohort.desat)
            opened[hop_s] = row.opened_ms
            counts[hop_s] = (detector.windows_assessed, detector.assessments, len(watcher.seen))
    # Each minute of data teaches the baselines and reaches the observer once, whatever
    # the hop; a 15 s hop runs about four assessments a minute.
    minutes = counts[60][0]
    assert counts[60] == (minutes, minutes, minutes)
    assert counts[DEFAULT_HOP_S][0] == counts[DEFAULT_HOP_S][2] == minutes
    assert 4 * minutes - 2 * 4 <= counts[DEFAULT_HOP_S][1] <= 4 * minutes
    # The desaturation alert opens at least a hop sooner, within a window of the other.
    assert opened[60] - WINDOW_MS <= opened[DEFAULT_HOP_S] <= opened[60] - HOP_MS


def test_a_hop_that_does_not_divide_the_window_is_refused(store_path: Path) -> None:
    with Store(store_path) as store, pytest.raises(ValueError, match="hop_s"):
        Detector(store, None, hop_s=7)
