"""The alert pipeline's value types (the gateway's own: it never imports the simulator)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wearable_core.contracts.anomalies import AnomalyType
from wearable_core.contracts.clinical import AF_RAPID_BPM

#: The alert types are the medical anomaly types of the contracts.
AlertType = AnomalyType


class Severity(enum.StrEnum):
    """How urgently a clinician should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class FaultKind(enum.StrEnum):
    """Sensor faults: data-quality events, never medical alerts."""

    OFF_WRIST = "off_wrist"
    DROPOUT = "dropout"
    FLAT_LINE = "flat_line"
    MOTION_ARTIFACT = "motion_artifact"
    #: The beat series is too irregular or gappy to judge the rhythm (few intervals
    #: left after the ectopic-beat filter): suppresses AF only, never raises it.
    BEAT_QUALITY = "beat_quality"


#: A window's contact or data fraction below this is a fault (off-wrist, dropout).
MIN_FRACTION = 0.8


@dataclass(frozen=True)
class QualityFlags:
    """Signal quality of one window, from the feature extractor."""

    contact_fraction: float = 1.0
    data_fraction: float = 1.0
    motion_artifact: bool = False
    flat_line: bool = False
    #: Whether the window's beats can be judged for AF (``wearable_core.assessment.assess``).
    beats_judgeable: bool = True

    def faults(self) -> frozenset[FaultKind]:
        """The sensor faults these flags show.

        Poor beat quality is reported only in a window with contact and data (off-wrist
        and dropout already explain missing beats).
        """
        out = set()
        if self.contact_fraction < MIN_FRACTION:
            out.add(FaultKind.OFF_WRIST)
        if self.data_fraction < MIN_FRACTION:
            out.add(FaultKind.DROPOUT)
        if self.flat_line:
            out.add(FaultKind.FLAT_LINE)
        if self.motion_artifact:
            out.add(FaultKind.MOTION_ARTIFACT)
        if not self.beats_judgeable and not out:
            out.add(FaultKind.BEAT_QUALITY)
        return frozenset(out)


@dataclass(frozen=True)
class WindowAssessment:
    """What the model and the safety rules said about one device's window."""

    device: str
    start_ms: int
    end_ms: int
    scores: Mapping[AlertType, float] = field(default_factory=dict)
    rules: Mapping[AlertType, bool] = field(default_factory=dict)
    quality: QualityFlags = field(default_factory=QualityFlags)
    #: Mean heart rate of the window, bpm (``None``: not measured); an alert carries the
    #: mean over its active windows.
    hr_mean_bpm: float | None = None


@dataclass(frozen=True)
class AlertEvent:
    """An alert opened or closed; carries the evidence that triggered it."""

    kind: Literal["opened", "closed"]
    device: str
    type: AlertType
    severity: Severity
    at_ms: int
    opened_ms: int
    evidence_start_ms: int
    evidence_end_ms: int
    peak_score: float
    rule: str | None = None
    model_version: str | None = None
    #: Mean heart rate over the active windows that opened the alert, bpm (what the
    #: clinician is paged with; a ``closed`` event repeats it); ``None`` unmeasured.
    rate_bpm: float | None = None

    @property
    def rapid_ventricular_response(self) -> bool | None:
        """For AF: whether the ventricular rate is rapid (above
        :data:`~wearable_core.contracts.clinical.AF_RAPID_BPM`); ``None`` for other types
        or an unmeasured rate. AF with a fast rate is one AF alert, not a tachycardia."""
        if self.type is not AlertType.AF or self.rate_bpm is None:
            return None
        return self.rate_bpm > AF_RAPID_BPM

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for sinks and logs)."""
        return {
            "event": f"alert_{self.kind}",
            "device": self.device,
            "type": self.type.value,
            "severity": self.severity.value,
            "at_ms": self.at_ms,
            "opened_ms": self.opened_ms,
            "evidence_start_ms": self.evidence_start_ms,
            "evidence_end_ms": self.evidence_end_ms,
            "peak_score": self.peak_score,
            "rule": self.rule,
            "model_version": self.model_version,
            "rate_bpm": None if self.rate_bpm is None else round(self.rate_bpm, 1),
            "rapid_ventricular_response": self.rapid_ventricular_response,
        }


@dataclass(frozen=True)
class DataQualityEvent:
    """A sensor fault began (``opened``) or ended (``closed``) on one device."""

    kind: Literal["opened", "closed"]
    device: str
    fault: FaultKind
    at_ms: int
