"""Window assessment: features → safety rules, per-type policies and the model's gated
scores → one :class:`WindowAssessment` per window (``docs/alerts.md``,
``docs/detection.md``).

The gateway serves these semantics; the cloud training gate replays them.
"""

from wearable_core.assessment.policy import DEFAULT_POLICIES, AlertPolicy, load_policies
from wearable_core.assessment.rules import RuleInputs, evaluate_rules
from wearable_core.assessment.types import (
    AlertEvent,
    AlertType,
    DataQualityEvent,
    FaultKind,
    QualityFlags,
    Severity,
    WindowAssessment,
)

__all__ = [
    "DEFAULT_POLICIES",
    "AlertEvent",
    "AlertPolicy",
    "AlertType",
    "DataQualityEvent",
    "FaultKind",
    "QualityFlags",
    "RuleInputs",
    "Severity",
    "WindowAssessment",
    "evaluate_rules",
    "load_policies",
]
