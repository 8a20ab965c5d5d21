"""Per-type alert policies: thresholds with hysteresis, minimum duration, cooldown, severity.

Defaults (``docs/alerts.md`` explains them): acute types open within about a minute of
onset (the mission's latency target), fever after 10 min above the definition's rise
(the clinical definition's own "sustained", ``wearable_core.contracts.clinical``; the rise is
judged against the wrist temperature expected for the person, which no longer mistakes
a warm night for a fever), falls at once. Cooldowns keep one episode from paging a clinician twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from wearable_core.assessment.types import AlertType, Severity


@dataclass(frozen=True)
class AlertPolicy:
    """How one alert type turns scores and rules into alerts.

    A window is *active* when the score is ``>= on_threshold`` or the rule fired; while
    an alert is open it stays active until the score is ``< off_threshold`` (hysteresis).
    It opens after ``min_duration_s`` of consecutive active windows and closes after as
    long inactive; no new alert of the type opens within ``cooldown_s`` of a close unless
    the condition is sustained three times as long (at least 3 minutes;
    ``gateway.alerts.manager.RECURRENCE_FACTOR``).
    """

    on_threshold: float
    off_threshold: float
    min_duration_s: float
    cooldown_s: float
    severity: Severity

    def __post_init__(self) -> None:
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError(
                f"need 0 <= off_threshold ({self.off_threshold}) <= on_threshold "
                f"({self.on_threshold}) <= 1"
            )
        if self.min_duration_s < 0 or self.cooldown_s < 0:
            raise ValueError("min_duration_s and cooldown_s must be >= 0")


DEFAULT_POLICIES: Mapping[AlertType, AlertPolicy] = {
    AlertType.TACHYCARDIA: AlertPolicy(0.7, 0.5, 60, 1800, Severity.WARNING),
    AlertType.BRADYCARDIA: AlertPolicy(0.7, 0.5, 60, 1800, Severity.WARNING),
    AlertType.AF: AlertPolicy(0.8, 0.6, 120, 3600, Severity.WARNING),
    AlertType.DESATURATION: AlertPolicy(0.7, 0.5, 60, 900, Severity.CRITICAL),
    AlertType.FEVER: AlertPolicy(0.7, 0.5, 600, 4 * 3600, Severity.WARNING),
    AlertType.FALL: AlertPolicy(0.8, 0.5, 0, 300, Severity.CRITICAL),
}


def policies_load(
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[AlertType, AlertPolicy]:
    """The defaults with ``overrides`` applied, e.g. ``{"fever": {"min_duration_s": 3600}}``.

    Raises :class:`ValueError` naming an unknown type or field, or an invalid value.
    """
    policies = dict(DEFAULT_POLICIES)
    names = {f.name for f in fields(AlertPolicy)}
    for type_name, values in (overrides or {}).items():
        try:
            kind = AlertType(type_name)
        except ValueError:
            known = ", ".join(t.value for t in AlertType)
            raise ValueError(f"unknown alert type {type_name!r}: use one of {known}") from None
        unknown = set(values) - names
        if unknown:
            raise ValueError(
                f"unknown alert policy field(s) {sorted(unknown)} for {type_name}: "
                f"use {sorted(names)}"
            )
        changes: dict[str, Any] = {}
        for key, value in values.items():
            changes[key] = Severity(value) if key == "severity" else float(value)
        policies[kind] = replace(policies[kind], **changes)
    return policies
