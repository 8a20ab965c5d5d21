"""The alert manager after a restart (``AlertManager.resume``) and subsumed types."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gateway.alerts import AlertManager
from gateway.alerts.manager import SUBSUMED_BY, SUBSUMED_SETTLE_MS
from wearable_core.assessment import (
    AlertEvent,
    AlertType,
    DataQualityEvent,
    FaultKind,
    QualityFlags,
    Severity,
    WindowAssessment,
)

DEV = "C4:12:00:00:00:0A"
W = 60_000  # window length, ms
T = AlertType
CLEAN = QualityFlags()
OFF_WRIST = QualityFlags(contact_fraction=0.0)


def window(
    i: int,
    scores: dict[AlertType, float] | None = None,
    rules: dict[AlertType, bool] | None = None,
    quality: QualityFlags = CLEAN,
) -> WindowAssessment:
    return WindowAssessment(DEV, i * W, (i + 1) * W, scores or {}, rules or {}, quality)


def alerts(events: Sequence[object]) -> list[AlertEvent]:
    return [e for e in events if isinstance(e, AlertEvent)]


def feed(m: AlertManager, windows: Sequence[WindowAssessment]) -> list[object]:
    return [e for w in windows for e in m.assess(w)]


def test_an_open_alert_stays_open_and_closes_with_its_original_opening() -> None:
    before = AlertManager(model_version="m1")  # tachycardia: opens after 60 s
    [opened] = alerts(feed(before, [window(i, {T.TACHYCARDIA: 0.9}) for i in range(4)]))
    assert (opened.opened_ms, opened.evidence_start_ms) == (W, 0)
    # Restart after window 3: a new manager, resumed from what the store kept.
    after = AlertManager(model_version="m2")
    after.resume(DEV, last_end_ms=4 * W, open_alerts=[opened])
    assert after.open_alerts(DEV) == [opened]
    assert feed(after, [window(3, {T.TACHYCARDIA: 0.1})]) == []  # replayed: ignored
    assert feed(after, [window(4, {T.TACHYCARDIA: 0.6})]) == []  # above off: still open
    [closed] = alerts(feed(after, [window(5, {T.TACHYCARDIA: 0.1})]))
    assert closed.kind == "closed" and closed.at_ms == 6 * W
    assert (closed.opened_ms, closed.evidence_start_ms, closed.evidence_end_ms) == (
        opened.opened_ms,
        opened.evidence_start_ms,
        opened.evidence_end_ms,
    )
    assert closed.model_version == "m1" and closed.severity is Severity.WARNING
    assert closed.peak_score == 0.9
    assert after.open_alerts() == []
    assert feed(after, [window(i, {T.TACHYCARDIA: 0.1}) for i in range(6, 9)]) == []


def test_a_resumed_open_alert_is_not_opened_again() -> None:
    m = AlertManager()
    opened = AlertEvent("opened", DEV, T.DESATURATION, Severity.CRITICAL, W, W, 0, W, 1.0, None)
    m.resume(DEV, last_end_ms=W, open_alerts=[opened])
    out = feed(m, [window(i, {T.DESATURATION: 1.0}) for i in range(1, 6)])
    assert out == []
    assert m.open_alerts(DEV) == [opened]


def test_cooldown_from_the_last_close_is_honoured_after_resume() -> None:
    m = AlertManager()  # tachycardia: 60 s to open, cooldown 1800 s
    closed_ms = 10 * W
    m.resume(DEV, last_end_ms=10 * W, last_closed_ms={T.TACHYCARDIA: closed_ms})
    active, quiet = {T.TACHYCARDIA: 0.95}, {T.TACHYCARDIA: 0.1}
    # A 2-minute flap inside the cooldown does not open (it would without the cooldown).
    assert alerts(feed(m, [window(10, active), window(11, active), window(12, quiet)])) == []
    # A streak sustained for RECURRENCE_MIN_S (3 x the 60 s minimum) in it does.
    assert alerts(feed(m, [window(i, active) for i in range(13, 15)])) == []
    [opened] = alerts(feed(m, [window(15, active)]))
    assert opened.opened_ms == 16 * W < closed_ms + 1800 * 1000
    assert opened.evidence_start_ms == 13 * W


def test_without_a_resumed_close_there_is_no_cooldown() -> None:
    m = AlertManager()
    m.resume(DEV, last_end_ms=10 * W)
    [opened] = alerts(feed(m, [window(i, {T.TACHYCARDIA: 0.95}) for i in range(10, 12)]))
    assert opened.opened_ms == 11 * W


def test_resumed_open_faults_are_not_reported_again() -> None:
    m = AlertManager()
    m.resume(DEV, last_end_ms=5 * W, faults=[FaultKind.OFF_WRIST])
    assert feed(m, [window(5, quality=OFF_WRIST), window(6, quality=OFF_WRIST)]) == []
    assert feed(m, [window(7)]) == [DataQualityEvent("closed", DEV, FaultKind.OFF_WRIST, 7 * W)]
    # A fresh manager (no resume) reports the same fault as newly opened.
    fresh = AlertManager()
    assert fresh.assess(window(5, quality=OFF_WRIST)) == [
        DataQualityEvent("opened", DEV, FaultKind.OFF_WRIST, 5 * W)
    ]


def test_a_resumed_fault_still_suppresses_medical_alerts() -> None:
    m = AlertManager()
    m.resume(DEV, last_end_ms=0, faults=[FaultKind.OFF_WRIST])
    out = feed(m, [window(i, {T.TACHYCARDIA: 0.95}, quality=OFF_WRIST) for i in range(5)])
    assert out == []


def test_resume_replaces_state_only_for_its_device() -> None:
    m = AlertManager()
    m.resume(DEV, last_end_ms=3 * W)
    other = WindowAssessment("C4:12:00:00:00:0B", 0, W, {T.FALL: 1.0})
    assert [e.kind for e in alerts(m.assess(other))] == ["opened"]  # fall: no min duration
    assert m.assess(window(2, {T.FALL: 1.0})) == []  # before DEV's resumed end: ignored


def test_tachycardia_does_not_open_while_af_is_open() -> None:
    assert SUBSUMED_BY == {T.TACHYCARDIA: T.AF}
    m = AlertManager()  # AF: 120 s to open; tachycardia: 60 s
    both = {T.AF: 0.95, T.TACHYCARDIA: 0.95}
    out = [alerts(m.assess(window(i, {T.AF: 0.95}))) for i in range(2)]
    assert [e.type for e in out[1]] == [T.AF]
    assert alerts(feed(m, [window(i, both) for i in range(2, 8)])) == []
    assert [e.type for e in m.open_alerts(DEV)] == [T.AF]


def test_tachycardia_opens_when_no_af_alert_is_open() -> None:
    m = AlertManager()
    out = alerts(feed(m, [window(i, {T.TACHYCARDIA: 0.95, T.AF: 0.1}) for i in range(2)]))
    assert [(e.kind, e.type) for e in out] == [("opened", T.TACHYCARDIA)]


def test_tachycardia_after_af_closes_waits_for_the_rate_to_settle() -> None:
    m = AlertManager()
    assert [e.type for e in alerts(feed(m, [window(i, {T.AF: 0.95}) for i in range(2)]))] == [T.AF]
    # AF ends (closes after 120 s inactive); the fast rate goes on.
    tachy = {T.AF: 0.1, T.TACHYCARDIA: 0.95}
    out = [alerts(m.assess(window(i, tachy))) for i in range(2, 12)]
    assert out[0] == []
    assert [(e.kind, e.type) for e in out[1]] == [("closed", T.AF)]
    # For 5 minutes after the close (4 W) the rate is the AF's settling; then the
    # tachycardia needs its own 60 s.
    assert SUBSUMED_SETTLE_MS == 5 * W
    assert all(o == [] for o in out[2:7])
    assert [(e.kind, e.type) for e in out[7]] == [("opened", T.TACHYCARDIA)]
    assert (out[7][0].evidence_start_ms, out[7][0].opened_ms) == (9 * W, 10 * W)


def test_the_settling_time_after_af_survives_a_restart() -> None:
    m = AlertManager()
    m.resume(DEV, last_end_ms=4 * W, last_closed_ms={T.AF: 4 * W})
    tachy = {T.AF: 0.1, T.TACHYCARDIA: 0.95}
    out = [alerts(m.assess(window(i, tachy))) for i in range(4, 11)]
    assert all(o == [] for o in out[:5])
    # Evidence from the first window after the settling time.
    assert [(e.kind, e.type, e.evidence_start_ms, e.opened_ms) for e in out[5]] == [
        ("opened", T.TACHYCARDIA, 9 * W, 10 * W)
    ]


def test_an_already_open_tachycardia_is_not_closed_by_af_opening() -> None:
    m = AlertManager()
    out = alerts(feed(m, [window(i, {T.TACHYCARDIA: 0.95}) for i in range(2)]))
    assert [e.type for e in out] == [T.TACHYCARDIA]
    both = {T.AF: 0.95, T.TACHYCARDIA: 0.95}
    out = alerts(feed(m, [window(i, both) for i in range(2, 5)]))
    assert [(e.kind, e.type) for e in out] == [("opened", T.AF)]
    assert {e.type for e in m.open_alerts(DEV)} == {T.AF, T.TACHYCARDIA}


def test_a_fast_rate_while_af_builds_up_is_one_af_alert() -> None:
    # AF needs 120 s to open, tachycardia 60 s: both active from the first window.
    m = AlertManager()
    both = {T.AF: 0.95, T.TACHYCARDIA: 0.95}
    out = alerts(feed(m, [window(i, both) for i in range(8)]))
    assert [(e.kind, e.type) for e in out] == [("opened", T.AF)]
    assert [e.type for e in m.open_alerts(DEV)] == [T.AF]


def test_an_af_alert_carries_its_rate_and_says_when_it_is_rapid() -> None:
    m = AlertManager()  # AF opens after 120 s, closes after 120 s inactive
    rates = [150.0, 130.0, 110.0, 90.0, 70.0, 70.0]
    scores = [0.95, 0.95, 0.95, 0.95, 0.1, 0.1]
    events = []
    for i, (rate, score) in enumerate(zip(rates, scores, strict=True)):
        w = dataclasses.replace(window(i, {T.AF: score, T.TACHYCARDIA: 0.95}), hr_mean_bpm=rate)
        events.extend(alerts(m.assess(w)))
    opened, closed = events
    # The rate of the two windows that opened it, repeated at the close. The fast rate
    # is part of the AF alert: no tachycardia alert.
    assert (opened.kind, opened.type, opened.rate_bpm) == ("opened", T.AF, 140.0)
    assert opened.rapid_ventricular_response is True
    assert opened.to_json()["rapid_ventricular_response"] is True
    assert (closed.kind, closed.rate_bpm) == ("closed", 140.0)
    slow = dataclasses.replace(opened, rate_bpm=80.0)
    assert slow.rapid_ventricular_response is False
    assert dataclasses.replace(opened, type=T.FALL).rapid_ventricular_response is None


def test_an_open_alert_resumes_with_its_rate() -> None:
    m = AlertManager()
    opened = AlertEvent(
        "opened", DEV, T.AF, Severity.WARNING, 2 * W, 2 * W, 0, 2 * W, 0.9, None, None, 140.0
    )
    m.resume(DEV, last_end_ms=2 * W, open_alerts=[opened])
    events = []
    for i in range(2, 5):
        w = dataclasses.replace(window(i, {T.AF: 0.95 if i == 2 else 0.1}), hr_mean_bpm=100.0)
        events.extend(alerts(m.assess(w)))
    [closed] = events
    assert closed.rate_bpm == 140.0
