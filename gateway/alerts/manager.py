"""The alert state machine: one per (device, alert type), plus data-quality tracking.

Pure and deterministic: :meth:`AlertManager.assess` takes one window's assessment and
returns the events it causes; it does no I/O and reads no clock (times come from the
windows). States per (device, type)::

    idle ──active──▶ pending ──active for min_duration (and not in cooldown, or
                               sustained RECURRENCE_FACTOR × as long in it)──▶ open
      ▲                 │ inactive / gap / fault                                │
      └─────────────────┘                    closed ◀──inactive for min_duration─┘

Windows that show a sensor fault relevant to a type say nothing about that type: a
pending streak is dropped, an open alert is held (neither extended nor closed), and a
:class:`DataQualityEvent` is emitted instead of any medical alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wearable_core.assessment.policy import DEFAULT_POLICIES, AlertPolicy
from wearable_core.assessment.rules import RULE_NAMES
from wearable_core.assessment.types import (
    AlertEvent,
    AlertType,
    DataQualityEvent,
    FaultKind,
    WindowAssessment,
)
from wearable_core.contracts.clinical import REST_AFTER_ACTIVITY_S

#: Types whose signals (PPG rate, RR intervals, PPG SpO2) motion corrupts. Fever (skin
#: temperature) and falls (which *are* motion) are not suppressed by motion artifacts.
MOTION_SENSITIVE = frozenset(
    {AlertType.TACHYCARDIA, AlertType.BRADYCARDIA, AlertType.AF, AlertType.DESATURATION}
)


#: A type that does not open while another type's alert is open, or building up, on the
#: device: a fast rate during atrial fibrillation is AF with rapid ventricular response,
#: part of the AF alert, not a second condition to page about.
SUBSUMED_BY: dict[AlertType, AlertType] = {AlertType.TACHYCARDIA: AlertType.AF}
#: ...nor for this long after that alert closes: the rate settling after AF ends is
#: still the AF's doing (the clinical labels leave the same span out,
#: ``firmware_sim/clinical_labels.py``; resting rate is read after 5 minutes).
SUBSUMED_SETTLE_MS = REST_AFTER_ACTIVITY_S * 1000


#: Within a cooldown, a condition that stays active this many times the policy's minimum
#: duration (at least :data:`RECURRENCE_MIN_S`) opens a new alert: a sustained recurrence,
#: not the flapping around a threshold the cooldown is for. Without it a cooldown
#: swallowed recurrences a clinician would want paged: on development seeds, a
#: bradycardia at 37 bpm for 4 minutes 11 minutes after the last one closed, and a
#: tachycardia at 143 bpm at rest 13 minutes after walking had closed the first alert.
RECURRENCE_FACTOR = 3
RECURRENCE_MIN_S = 180


#: Faults that suppress only some types: motion artifacts the motion-sensitive ones,
#: poor beat quality (a beat series too irregular or gappy to judge) only AF.
PARTIAL_FAULTS: dict[FaultKind, frozenset[AlertType]] = {
    FaultKind.MOTION_ARTIFACT: MOTION_SENSITIVE,
    FaultKind.BEAT_QUALITY: frozenset({AlertType.AF}),
}


def suppressed_by(kind: AlertType, faults: frozenset[FaultKind]) -> bool:
    """Whether a window with these sensor faults may not count for ``kind``."""
    if any(kind in PARTIAL_FAULTS[f] for f in faults & PARTIAL_FAULTS.keys()):
        return True
    return bool(faults - PARTIAL_FAULTS.keys())


@dataclass
class _Track:
    """State of one (device, type)."""

    streak_start_ms: int | None = None  # first window of the current active run
    inactive_since_ms: int | None = None  # while open: first window of the inactive run
    peak: float = 0.0
    rule: str | None = None
    open: AlertEvent | None = None
    cooldown_until_ms: int = -(2**62)
    last_closed_ms: int | None = None
    # Heart rate summed over the active windows of the streak that opens an alert.
    hr_sum: float = 0.0
    hr_count: int = 0

    def add_rate(self, hr_mean_bpm: float | None) -> None:
        if hr_mean_bpm is not None:
            self.hr_sum += hr_mean_bpm
            self.hr_count += 1

    def rate(self) -> float | None:
        return self.hr_sum / self.hr_count if self.hr_count else None


@dataclass
class _Device:
    last_end_ms: int | None = None
    faults: frozenset[FaultKind] = frozenset()
    tracks: dict[AlertType, _Track] = field(default_factory=dict)


class AlertManager:
    """Turns per-window assessments into alert and data-quality events (see module doc)."""

    def __init__(
        self,
        policies: Mapping[AlertType, AlertPolicy] | None = None,
        *,
        model_version: str | None = None,
    ) -> None:
        self.policies = {**DEFAULT_POLICIES, **(policies or {})}
        self.model_version = model_version
        self._devices: dict[str, _Device] = {}

    def resume(
        self,
        device: str,
        *,
        last_end_ms: int | None,
        open_alerts: Iterable[AlertEvent] = (),
        last_closed_ms: Mapping[AlertType, int] | None = None,
        faults: Iterable[FaultKind] = (),
    ) -> None:
        """Restore one device's state after a restart, from what the store kept.

        Open alerts stay open (and close normally later), cooldowns run from the last
        close of each type, and faults that were open stay open (no duplicate
        data-quality event). Pending streaks are not stored: a condition that was
        building up when the gateway stopped needs its minimum duration again.
        """
        dev = self._devices.setdefault(device, _Device())
        dev.last_end_ms = last_end_ms
        dev.faults = frozenset(faults)
        for kind, closed_ms in (last_closed_ms or {}).items():
            track = dev.tracks.setdefault(kind, _Track())
            track.cooldown_until_ms = closed_ms + int(self.policies[kind].cooldown_s * 1000)
            track.last_closed_ms = closed_ms
        for event in open_alerts:
            track = dev.tracks.setdefault(event.type, _Track())
            track.open = event
            track.peak = event.peak_score
            track.rule = event.rule
            track.streak_start_ms = event.evidence_start_ms

    def open_alerts(self, device: str | None = None) -> list[AlertEvent]:
        """The ``opened`` events of alerts still open."""
        return [
            track.open
            for name, dev in sorted(self._devices.items())
            if device is None or name == device
            for _, track in sorted(dev.tracks.items())
            if track.open is not None
        ]

    def assess(self, window: WindowAssessment) -> list[AlertEvent | DataQualityEvent]:
        """Feed one window (in time order per device); return the events it causes.

        A window that does not end after the device's previous one is ignored (replay).
        """
        dev = self._devices.setdefault(window.device, _Device())
        if dev.last_end_ms is not None and window.end_ms <= dev.last_end_ms:
            return []
        contiguous = dev.last_end_ms is None or window.start_ms <= dev.last_end_ms
        dev.last_end_ms = window.end_ms
        events: list[AlertEvent | DataQualityEvent] = []
        faults = window.quality.faults()
        for fault in sorted(faults - dev.faults):
            events.append(DataQualityEvent("opened", window.device, fault, window.start_ms))
        for fault in sorted(dev.faults - faults):
            events.append(DataQualityEvent("closed", window.device, fault, window.start_ms))
        dev.faults = faults
        was_open = {kind for kind, track in dev.tracks.items() if track.open is not None}
        # Parents first, so a subsumed type sees whether its parent is building up.
        for kind in sorted(AlertType, key=lambda k: k in SUBSUMED_BY):
            track = dev.tracks.setdefault(kind, _Track())
            parent = SUBSUMED_BY.get(kind)
            held = None if parent is None else dev.tracks.get(parent, _Track())
            # Open before or after this window, building up in it, or closed less than
            # the settling time ago: a fast rate while AF is confirmed, or as it ends,
            # is the AF's.
            parent_busy = held is not None and (
                parent in was_open
                or held.open is not None
                or held.streak_start_ms is not None
                or (
                    held.last_closed_ms is not None
                    and window.start_ms < held.last_closed_ms + SUBSUMED_SETTLE_MS
                )
            )
            if parent_busy and track.open is None:
                track.streak_start_ms = None
                continue
            event = self._step(kind, track, window, faults, contiguous)
            if event is not None:
                events.append(event)
        return events

    def _step(
        self,
        kind: AlertType,
        track: _Track,
        window: WindowAssessment,
        faults: frozenset[FaultKind],
        contiguous: bool,
    ) -> AlertEvent | None:
        policy = self.policies[kind]
        if suppressed_by(kind, faults):
            track.streak_start_ms = None
            track.inactive_since_ms = None
            return None
        score = float(window.scores.get(kind, 0.0))
        rule = bool(window.rules.get(kind, False))
        min_ms = int(policy.min_duration_s * 1000)
        if track.open is not None:
            still = rule or score >= policy.off_threshold
            if still:
                track.inactive_since_ms = None
                track.peak = max(track.peak, score)
                return None
            if track.inactive_since_ms is None or not contiguous:
                track.inactive_since_ms = window.start_ms
            if window.end_ms - track.inactive_since_ms < min_ms:
                return None
            opened = track.open
            track.open = None
            track.streak_start_ms = None
            track.inactive_since_ms = None
            track.cooldown_until_ms = window.end_ms + int(policy.cooldown_s * 1000)
            track.last_closed_ms = window.end_ms
            return AlertEvent(
                "closed",
                opened.device,
                kind,
                opened.severity,
                window.end_ms,
                opened.opened_ms,
                opened.evidence_start_ms,
                opened.evidence_end_ms,
                track.peak,
                opened.rule,
                opened.model_version,
                opened.rate_bpm,
            )
        if not (rule or score >= policy.on_threshold):
            track.streak_start_ms = None
            return None
        if track.streak_start_ms is None or not contiguous:
            track.streak_start_ms = window.start_ms
            track.peak = 0.0
            track.rule = None
            track.hr_sum, track.hr_count = 0.0, 0
        track.peak = max(track.peak, score)
        track.add_rate(window.hr_mean_bpm)
        if rule:
            track.rule = RULE_NAMES.get(kind, "rule")
        sustained_ms = window.end_ms - track.streak_start_ms
        if sustained_ms < min_ms:
            return None
        recurrence_ms = max(RECURRENCE_FACTOR * min_ms, RECURRENCE_MIN_S * 1000)
        if window.end_ms < track.cooldown_until_ms and sustained_ms < recurrence_ms:
            return None
        track.open = AlertEvent(
            "opened",
            window.device,
            kind,
            policy.severity,
            window.end_ms,
            window.end_ms,
            track.streak_start_ms,
            window.end_ms,
            track.peak,
            track.rule,
            self.model_version,
            track.rate(),
        )
        return track.open
