"""Alerts: safety rules, per-type policies, the alert state machine, and sinks.

See ``docs/alerts.md``. Everything here except :mod:`gateway.alerts.sinks` is pure (no
I/O); persistence lives in :class:`gateway.store.Store` (``add_alert`` and friends).
"""

from gateway.alerts.manager import AlertManager
from gateway.alerts.policy import DEFAULT_POLICIES, AlertPolicy, load_policies
from gateway.alerts.rules import RuleInputs, evaluate_rules
from gateway.alerts.types import (
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
    "AlertManager",
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
