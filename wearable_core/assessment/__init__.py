"""Window assessment: features → safety rules, per-type policies and the model's gated
scores → one :class:`WindowAssessment` per window (``docs/alerts.md``,
``docs/detection.md``).

The gateway serves these semantics; the cloud training gate replays them.
"""

from wearable_core.assessment.policy import DEFAULT_POLICIES, AlertPolicy, policies_load
from wearable_core.assessment.rules import RuleInputs, rules_evaluate
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
    "policies_load",
    "rules_evaluate",
]
