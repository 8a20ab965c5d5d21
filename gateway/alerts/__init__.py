"""Alerts: the alert state machine and sinks.

See ``docs/alerts.md``. The safety rules, per-type policies and the alert types are the
window-assessment semantics in :mod:`wearable_core.assessment`; here is what the gateway
does with them. Everything here except :mod:`gateway.alerts.sinks` is pure (no I/O);
persistence lives in :class:`gateway.store.Alerts` (``store.alerts.add`` and friends).
"""

from gateway.alerts.manager import AlertManager

__all__ = ["AlertManager"]
