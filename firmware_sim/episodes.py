"""Ground-truth labels: anomaly episodes and sensor faults on a simulated watch."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wearable_core.contracts.anomalies import AnomalyType

#: Medical anomalies the gateway must detect (one list for labels, model and alerts).
AnomalyKind = AnomalyType


class FaultKind(enum.StrEnum):
    """Sensor faults: data-quality events, never medical alerts."""

    OFF_WRIST = "off_wrist"
    FLAT_LINE = "flat_line"
    MOTION_ARTIFACT = "motion_artifact"
    DATA_GAP = "data_gap"


@dataclass(frozen=True, order=True)
class Episode:
    """One labelled interval of simulated time.

    Times are seconds since the scenario start (true time, not the watch's drifting
    clock). ``severity`` is in [0, 1]: 0 is the mildest form the simulator produces,
    1 the most extreme; each kind documents how it maps severity to physiology.
    """

    onset_s: float
    end_s: float
    kind: AnomalyKind | FaultKind
    severity: float = 0.5

    def __post_init__(self) -> None:
        if not self.end_s > self.onset_s >= 0:
            raise ValueError(
                f"episode {self.kind}: need 0 <= onset_s < end_s, got {self.onset_s}..{self.end_s}"
            )
        if not 0.0 <= self.severity <= 1.0:
            raise ValueError(f"episode {self.kind}: severity {self.severity} outside [0, 1]")

    @property
    def is_fault(self) -> bool:
        return isinstance(self.kind, FaultKind)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.onset_s
