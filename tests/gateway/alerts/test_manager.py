"""The alert state machine: duration, hysteresis, cooldown, severity, suppression."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gateway.alerts import AlertManager
from wearable_core.assessment import (
    AlertEvent,
    AlertPolicy,
    AlertType,
    DataQualityEvent,
    FaultKind,
    QualityFlags,
    Severity,
    WindowAssessment,
    policies_load,
)

DEV = "C4:12:00:00:00:0A"
W = 30_000  # window length, ms
T = AlertType
CLEAN = QualityFlags()


def window(
    i: int,
    scores: dict[AlertType, float] | None = None,
    rules: dict[AlertType, bool] | None = None,
    quality: QualityFlags = CLEAN,
) -> WindowAssessment:
    return WindowAssessment(DEV, i * W, (i + 1) * W, scores or {}, rules or {}, quality)


def run(manager: AlertManager, windows: list[WindowAssessment]) -> list[list[object]]:
    return [list(manager.assess(w)) for w in windows]


def alerts(events: Sequence[object]) -> list[AlertEvent]:
    return [e for e in events if isinstance(e, AlertEvent)]


def test_opens_after_min_duration_and_carries_evidence() -> None:
    m = AlertManager(model_version="m7")
    out = run(m, [window(i, {T.TACHYCARDIA: 0.9 if i else 0.75}) for i in range(3)])
    assert out[0] == []  # 30 s active < 60 s
    [opened] = alerts(out[1])
    assert opened.kind == "opened" and opened.type is T.TACHYCARDIA
    assert (opened.evidence_start_ms, opened.evidence_end_ms) == (0, 2 * W)
    assert opened.peak_score == 0.9 and opened.rule is None
    assert opened.severity is Severity.WARNING and opened.model_version == "m7"
    assert out[2] == [] and m.open_alerts() == [opened]


def test_interrupted_streak_does_not_open() -> None:
    m = AlertManager()
    scores = [0.9, 0.2, 0.9, 0.2, 0.9]
    out = run(m, [window(i, {T.TACHYCARDIA: s}) for i, s in enumerate(scores)])
    assert all(o == [] for o in out)


def test_gap_between_windows_restarts_the_streak() -> None:
    m = AlertManager()
    assert m.assess(window(0, {T.TACHYCARDIA: 0.9})) == []
    assert m.assess(window(3, {T.TACHYCARDIA: 0.9})) == []  # not contiguous
    assert alerts(m.assess(window(4, {T.TACHYCARDIA: 0.9})))


def test_rule_alone_opens_and_is_named() -> None:
    m = AlertManager()
    out = run(m, [window(i, rules={T.DESATURATION: True}) for i in range(2)])
    [opened] = alerts(out[1])
    assert opened.type is T.DESATURATION and opened.severity is Severity.CRITICAL
    assert opened.rule == "spo2<88%>=60s"


def test_hysteresis_and_close_after_min_duration() -> None:
    m = AlertManager()
    scores = [0.9, 0.9, 0.6, 0.55, 0.4, 0.4, 0.9]
    out = run(m, [window(i, {T.TACHYCARDIA: s}) for i, s in enumerate(scores)])
    assert alerts(out[1])[0].kind == "opened"
    assert out[2] == [] and out[3] == []  # 0.6, 0.55 >= off threshold 0.5: stays open
    assert out[4] == []  # inactive 30 s < 60 s
    [closed] = alerts(out[5])
    assert closed.kind == "closed" and closed.at_ms == 6 * W and closed.opened_ms == 2 * W
    assert out[6] == []  # cooldown: no new alert


def test_cooldown_blocks_then_allows_a_new_alert() -> None:
    policy = AlertPolicy(0.7, 0.5, 0, 120, Severity.WARNING)
    m = AlertManager({T.TACHYCARDIA: policy})
    scores = [0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9]
    out = run(m, [window(i, {T.TACHYCARDIA: s}) for i, s in enumerate(scores)])
    assert alerts(out[0])[0].kind == "opened"
    assert alerts(out[1])[0].kind == "closed"  # closed at 2W, cooldown until 2W + 120 s
    assert out[2] == out[3] == out[4] == []
    [again] = alerts(out[5])
    assert again.kind == "opened" and again.evidence_start_ms == 2 * W


def test_fall_opens_at_once() -> None:
    m = AlertManager()
    [opened] = alerts(m.assess(window(0, rules={T.FALL: True})))
    assert opened.type is T.FALL and opened.rule == "impact>=3g_then_still"


def test_fever_needs_ten_minutes() -> None:
    m = AlertManager()
    out = run(m, [window(i, {T.FEVER: 0.9}) for i in range(60)])
    opened = [i for i, o in enumerate(out) if alerts(o)]
    assert opened == [19]  # 20 windows of 30 s = 10 min


FAULTS = [
    (QualityFlags(contact_fraction=0.5), FaultKind.OFF_WRIST),
    (QualityFlags(data_fraction=0.5), FaultKind.DROPOUT),
    (QualityFlags(flat_line=True), FaultKind.FLAT_LINE),
    (QualityFlags(motion_artifact=True), FaultKind.MOTION_ARTIFACT),
]


@pytest.mark.parametrize(("quality", "fault"), FAULTS)
def test_fault_gives_a_quality_event_and_no_medical_alert(
    quality: QualityFlags, fault: FaultKind
) -> None:
    m = AlertManager()
    scores = {T.TACHYCARDIA: 1.0, T.BRADYCARDIA: 1.0, T.AF: 1.0, T.DESATURATION: 1.0}
    rules = {T.TACHYCARDIA: True, T.DESATURATION: True}
    out = run(m, [window(i, scores, rules, quality) for i in range(6)])
    events = [e for o in out for e in o]
    assert events == [DataQualityEvent("opened", DEV, fault, 0)]
    closing = m.assess(window(6))
    assert closing == [DataQualityEvent("closed", DEV, fault, 6 * W)]


@pytest.mark.parametrize(("quality", "fault"), FAULTS)
def test_fault_holds_an_open_alert(quality: QualityFlags, fault: FaultKind) -> None:
    m = AlertManager()
    run(m, [window(i, {T.AF: 0.9}) for i in range(4)])
    assert m.open_alerts()
    out = run(m, [window(i, {T.AF: 0.0}, quality=quality) for i in range(4, 10)])
    assert [e for o in out for e in o] == [DataQualityEvent("opened", DEV, fault, 4 * W)]
    assert m.open_alerts()  # neither closed nor extended by untrustworthy windows


def test_fault_breaks_a_pending_streak() -> None:
    m = AlertManager()
    m.assess(window(0, {T.TACHYCARDIA: 0.9}))
    m.assess(window(1, {T.TACHYCARDIA: 0.9}, quality=QualityFlags(motion_artifact=True)))
    assert alerts(m.assess(window(2, {T.TACHYCARDIA: 0.9}))) == []


def test_fall_is_not_suppressed_by_motion() -> None:
    m = AlertManager()
    events = m.assess(window(0, rules={T.FALL: True}, quality=QualityFlags(motion_artifact=True)))
    assert [e.type for e in alerts(events)] == [T.FALL]
    assert DataQualityEvent("opened", DEV, FaultKind.MOTION_ARTIFACT, 0) in events


def test_fall_is_suppressed_off_wrist() -> None:
    m = AlertManager()
    events = m.assess(window(0, {T.FALL: 1.0}, {T.FALL: True}, QualityFlags(contact_fraction=0)))
    assert events == [DataQualityEvent("opened", DEV, FaultKind.OFF_WRIST, 0)]


def test_fever_is_not_suppressed_by_motion() -> None:
    m = AlertManager({T.FEVER: AlertPolicy(0.7, 0.5, 0, 0, Severity.WARNING)})
    events = m.assess(window(0, {T.FEVER: 0.9}, quality=QualityFlags(motion_artifact=True)))
    assert [e.type for e in alerts(events)] == [T.FEVER]


def test_devices_are_independent_and_replays_are_ignored() -> None:
    m = AlertManager()
    m.assess(window(0, {T.TACHYCARDIA: 0.9}))
    other = WindowAssessment("OTHER", W, 2 * W, {T.TACHYCARDIA: 0.9})
    assert m.assess(other) == []
    assert m.assess(window(0, {T.TACHYCARDIA: 0.9})) == []  # replayed window
    assert alerts(m.assess(window(1, {T.TACHYCARDIA: 0.9})))[0].device == DEV


def test_deterministic() -> None:
    windows = [
        window(i, {T.AF: (i * 37 % 10) / 10}, quality=QualityFlags(flat_line=i % 7 == 0))
        for i in range(200)
    ]
    assert run(AlertManager(), windows) == run(AlertManager(), windows)


def test_load_policies_overrides_and_validates() -> None:
    policies = policies_load({"fever": {"min_duration_s": 3600, "severity": "critical"}})
    assert policies[T.FEVER].min_duration_s == 3600
    assert policies[T.FEVER].severity is Severity.CRITICAL
    assert policies[T.FALL] == policies_load()[T.FALL]
    with pytest.raises(ValueError, match="unknown alert type"):
        policies_load({"cough": {}})
    with pytest.raises(ValueError, match="unknown alert policy field"):
        policies_load({"af": {"threshold": 1}})
    with pytest.raises(ValueError, match="off_threshold"):
        policies_load({"af": {"off_threshold": 0.95}})
