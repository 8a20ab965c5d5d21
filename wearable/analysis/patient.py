"""One patient's data from a gateway store, as tidy DataFrames (identified, clinic side).

The notebooks call these functions and plot what they return; nothing is computed in a
notebook cell. Windows are cut and featurised by the gateway's own code
(``wearable_core.features``), so what a clinician sees is what detection assessed.

Examples
--------
::

    from gateway.store import Store
    from wearable.analysis.patient import patient_alerts, patient_windows

    with Store("gateway-store/gateway.sqlite") as store:
        vitals = patient_windows(store, "C4:12:34:56:78:9A")
        alerts = patient_alerts(store, "C4:12:34:56:78:9A")
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from gateway.store import AlertRow, Store
from wearable_core.contracts.features import FEATURE_NAMES, TEMP_CONTEXT_S, WINDOW_S
from wearable_core.contracts.streams import Stream
from wearable_core.features.extract import features_extract_many
from wearable_core.features.window import windows_from_records

#: Longest stretch without any record that still gives (empty) per-minute rows; the
#: detector walks as much of a gap window by window (``Detector(max_gap_walk_s=...)``).
MAX_GAP_S = 3600

#: Clinician decisions :func:`alert_review` accepts (confirmed and dismissed become
#: training labels; open reopens an alert, withdrawing its verdict).
REVIEW_DECISIONS = ("acknowledged", "confirmed", "dismissed", "open")


class UnknownDevice(KeyError):
    """The store has no data for the device (the message lists the devices it has)."""


def _utc(ms: pd.Series) -> pd.Series:
    return pd.to_datetime(ms, unit="ms", utc=True)


def patient_windows(
    store: Store, device: str, start_ms: int | None = None, end_ms: int | None = None
) -> pd.DataFrame:
    """Per-minute features of one device: one row per 60 s window, in time order.

    Minutes of a gap in the data longer than :data:`MAX_GAP_S` have no row.

    Columns: ``start`` (UTC timestamp) then the 25 features of ``FEATURE_NAMES``
    (``docs/features.md``; NaN where a window has no data for a feature).

    Raises
    ------
    UnknownDevice
        The store has no records of ``device``.
    """
    horizons = [h for s in Stream if (h := store.records.stream_horizon(device, s)) is not None]
    if not horizons:
        raise UnknownDevice(
            f"no records of {device!r} in {store.path}; "
            f"devices: {', '.join(store.devices.addresses())}"
        )
    window_ms = WINDOW_S * 1000
    lo = min(h.first_ms for h in horizons) if start_ms is None else start_ms
    lo = lo // window_ms * window_ms
    hi = max(h.latest_ms for h in horizons) if end_ms is None else end_ms
    records = []
    for stream in Stream:
        # Temperature reaches back for the trend feature, as detection's does.
        since = lo - TEMP_CONTEXT_S * 1000 if stream is Stream.TEMPERATURE else lo
        records.extend(store.records.records_between(device, stream, since, hi))
    # Minutes with no record at all are rows (NaN) within a gap of up to MAX_GAP_S; a
    # longer gap gives no rows, so the frame is bounded by the data, not the time spanned.
    windows = list(windows_from_records(records, start_ms=lo, max_gap_s=MAX_GAP_S))
    frame = pd.DataFrame(features_extract_many(windows), columns=list(FEATURE_NAMES))
    frame.insert(0, "start", _utc(pd.Series([w.start_ms for w in windows], dtype="int64")))
    return frame


def patient_alerts(store: Store, device: str | None = None) -> pd.DataFrame:
    """Alerts (of one device, or all), oldest first, with UTC ``opened`` / ``closed``.

    Columns: every field of an alert row (``docs/alerts.md``) plus ``opened``, ``closed``
    and ``duration_min`` (NaN while open).
    """
    rows = store.alerts.list(device)
    columns = [*AlertRow.__dataclass_fields__]
    frame = pd.DataFrame([asdict(r) for r in rows], columns=columns)
    frame["opened"] = _utc(frame["opened_ms"].astype("int64"))
    closed = frame["closed_ms"].astype("Float64")
    frame["closed"] = pd.to_datetime(closed, unit="ms", utc=True)
    frame["duration_min"] = (closed - frame["opened_ms"]) / 60_000
    return frame


def patient_quality(store: Store, device: str | None = None) -> pd.DataFrame:
    """Data-quality periods (sensor faults that suppressed alerts), oldest first."""
    rows = store.quality_events.list(device)
    frame = pd.DataFrame(
        [asdict(r) for r in rows], columns=["id", "device", "fault", "opened_ms", "closed_ms"]
    )
    frame["opened"] = _utc(frame["opened_ms"].astype("int64"))
    frame["closed"] = pd.to_datetime(frame["closed_ms"].astype("Float64"), unit="ms", utc=True)
    return frame


def alert_review(store: Store, alert_id: int, decision: str, note: str = "") -> AlertRow:
    """Record a clinician's decision on an alert in the gateway store.

    ``confirmed`` and ``dismissed`` reach the cloud with the next sync as training labels
    (``docs/formats/aggregate_batch.md``). A verdict stands until it is withdrawn:
    ``acknowledged`` keeps it, and the opposite verdict needs ``open`` (reopen, with a
    note saying why) first. Every decision is kept (``store.alert_history``). An empty
    ``note`` keeps the alert's current note.

    Raises
    ------
    ValueError
        ``decision`` is not one of :data:`REVIEW_DECISIONS`.
    gateway.store.ReviewRefused
        The decision would change a verdict without reopening the alert first.
    """
    if decision not in REVIEW_DECISIONS:
        raise ValueError(f"decision {decision!r}: use one of {', '.join(REVIEW_DECISIONS)}")
    return store.alerts.set_status(alert_id, decision, note or None)
