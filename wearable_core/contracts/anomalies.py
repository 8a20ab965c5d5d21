"""The medical anomaly types: simulator labels, model outputs and gateway alerts alike."""

from __future__ import annotations

import enum


class AnomalyType(enum.StrEnum):
    """A medical anomaly the gateway must detect (sensor faults are not among them)."""

    TACHYCARDIA = "tachycardia"
    BRADYCARDIA = "bradycardia"
    AF = "af"
    DESATURATION = "desaturation"
    FEVER = "fever"
    FALL = "fall"


#: The model's outputs, in order: one score in [0, 1] per anomaly type.
ANOMALY_TYPES: tuple[str, ...] = tuple(t.value for t in AnomalyType)
