"""Turn what the gateway stored into anonymized batches (pure functions, no I/O).

Per device, the assessed windows become one :class:`AggregateBatch` per UTC day:

- every *notable* window (a rule fired, a fault, or a model output at half its
  threshold) is sent with weight 1; of the others, a keyed 1-in-``k`` sample is sent
  with weight ``k``, so weighted counts stay unbiased while a normal day costs a few KB;
- windows are ordered by a keyed hash within their hour, so the order gives no time;
- every hour gets a summary: windows, notable windows, fault windows per kind. With
  differential privacy on, only these summaries are sent, with discrete Laplace noise.

Alerts become :class:`AlertOutcome` rows; the gateway's own counters become a diagnostics
batch. Identifiers are replaced by :class:`~gateway.privacy.pseudonym.PseudonymKey`
pseudonyms; times by hour buckets (``docs/privacy.md``).

Each window row names the alerts whose span holds it (:func:`alerts_holding`), by the
same pseudonymous alert id the alert outcomes carry. The gateway knows both times; the
cloud gets the link, never the time, and joins a verdict to exactly the windows of its
alert, even when the verdict arrives batches later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gateway.privacy.noise import MECHANISM, WINDOW_L1_SENSITIVITY, counts_privatize
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, StoredWindow
from wearable_core.contracts.aggregate_batch import (
    FAULT_KINDS,
    HOUR_MS,
    AggregateBatch,
    AlertOutcome,
    BatchKind,
    HourSummary,
    PrivacyNoise,
    WindowRows,
    hour_of,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, WINDOW_S

DAY_HOURS = 24


@dataclass(frozen=True)
class DeviceBatch:
    """One device-day batch and what it consumed."""

    batch: AggregateBatch
    device: str
    window_ids: tuple[int, ...]
    #: Aligned time up to which the batch summarises the device's records.
    covers_until_ms: int
    #: The UTC hour of the first window (names the object's day).
    first_hour: int


def windows_batches(
    key: PseudonymKey,
    device: str,
    windows: Sequence[StoredWindow],
    *,
    sample_every: int,
    noise_epsilon: float | None = None,
    alerts: Sequence[AlertRow] = (),
) -> list[DeviceBatch]:
    """Batch one device's pending windows, one batch per UTC day of window start.

    Parameters
    ----------
    key
        The install's pseudonym key.
    device
        The device address (only its pseudonym goes into the batch).
    windows
        Pending window summaries of this device.
    sample_every
        ``k``: one in ``k`` unremarkable windows is sent, with weight ``k``.
    noise_epsilon
        With differential privacy on: the epsilon of each day's release. Window rows
        are then left out and the hourly counts get discrete Laplace noise.
    """
    if sample_every < 1:
        raise ValueError(f"sample_every must be >= 1, got {sample_every}")
    by_day: dict[int, list[StoredWindow]] = defaultdict(list)
    for w in windows:
        by_day[hour_of(w.summary.start_ms) // DAY_HOURS].append(w)
    pseudonym = key.device(device)
    out = []
    for day in sorted(by_day):
        rows = by_day[day]
        hours = _hour_summaries(rows)
        noise = None
        if noise_epsilon is not None:
            hours = _privatize(hours, noise_epsilon)
            noise = PrivacyNoise(MECHANISM, noise_epsilon, WINDOW_L1_SENSITIVITY)
            models: tuple[str, ...] = ()
            table = WindowRows.empty()
        else:
            models, table = _window_rows(key, device, rows, sample_every, alerts)
        batch = AggregateBatch(
            BatchKind.AGGREGATES,
            pseudonym,
            models=models,
            windows=table,
            hours=tuple(hours),
            noise=noise,
            windows_id=key.windows(
                device,
                min(w.summary.start_ms for w in rows),
                max(w.summary.start_ms for w in rows),
                len(rows),
            ),
        )
        out.append(
            DeviceBatch(
                batch,
                device,
                tuple(w.id for w in rows),
                max(w.summary.start_ms for w in rows) + WINDOW_S * 1000,
                min(hour_of(w.summary.start_ms) for w in rows),
            )
        )
    return out


def alerts_holding(alerts: Sequence[AlertRow], start_ms: int) -> list[AlertRow]:
    """The alerts whose span holds the window starting at ``start_ms``.

    An alert's span runs from the start of the windows that opened it
    (``evidence_start_ms``) to its close, or on while it is open.

    Examples
    --------
    >>> from gateway.store import AlertRow
    >>> a = AlertRow(1, "d", "fever", "warning", 60_000, 600_000, 0, 60_000, None, None,
    ...              "confirmed", 0, "", None)
    >>> [len(alerts_holding([a], t)) for t in (-15_000, 0, 599_985, 600_000)]
    [0, 1, 1, 0]
    """
    return [
        a
        for a in alerts
        if a.evidence_start_ms <= start_ms and (a.closed_ms is None or start_ms < a.closed_ms)
    ]


def _window_rows(
    key: PseudonymKey,
    device: str,
    rows: Sequence[StoredWindow],
    sample_every: int,
    alerts: Sequence[AlertRow],
) -> tuple[tuple[str, ...], WindowRows]:
    chosen: list[tuple[int, int, int, StoredWindow]] = []
    for w in rows:
        draw = key.draw(device, w.summary.start_ms)
        if w.summary.notable:
            weight = 1
        elif draw % sample_every == 0:
            weight = sample_every
        else:
            continue
        chosen.append((hour_of(w.summary.start_ms), draw, weight, w))
    # Within an hour, order by the keyed draw: the cloud learns the hour, not the minute.
    chosen.sort(key=lambda c: (c[0], c[1], c[3].summary.start_ms))
    models = tuple(sorted({m for *_, w in chosen if (m := w.summary.model_version)}))
    index = {m: i for i, m in enumerate(models)}
    n = len(chosen)
    features = np.full((n, len(FEATURE_NAMES)), np.nan)
    outputs = np.full((n, len(ANOMALY_TYPES)), np.nan)
    for i, (*_, w) in enumerate(chosen):
        features[i] = w.summary.features
        if w.summary.outputs is not None:
            outputs[i] = w.summary.outputs
    table = WindowRows(
        np.array([c[0] for c in chosen], dtype=np.int64),
        np.array([c[2] for c in chosen], dtype=np.int64),
        np.array(
            [index.get(w.summary.model_version or "", -1) for *_, w in chosen], dtype=np.int64
        ),
        np.array([w.summary.rules for *_, w in chosen], dtype=np.int64),
        np.array([w.summary.faults for *_, w in chosen], dtype=np.int64),
        features,
        outputs,
        tuple(
            tuple(sorted(key.alert(device, a.id) for a in alerts_holding(alerts, start)))
            for start in (w.summary.start_ms for *_, w in chosen)
        ),
    )
    return models, table


def _hour_summaries(rows: Sequence[StoredWindow]) -> list[HourSummary]:
    counts: dict[int, list[int]] = {}
    for w in rows:
        c = counts.setdefault(hour_of(w.summary.start_ms), [0] * (2 + len(FAULT_KINDS)))
        c[0] += 1
        c[1] += int(w.summary.notable)
        for i in range(len(FAULT_KINDS)):
            c[2 + i] += (w.summary.faults >> i) & 1
    return [_summary(hour, c) for hour, c in sorted(counts.items())]


def _summary(hour: int, c: Sequence[int]) -> HourSummary:
    return HourSummary(hour, c[0], c[1], {kind: c[2 + i] for i, kind in enumerate(FAULT_KINDS)})


def _privatize(hours: Sequence[HourSummary], epsilon: float) -> list[HourSummary]:
    # Hours hold disjoint windows: one noisy vector per hour costs epsilon once per window.
    out = []
    for h in hours:
        vector = [int(h.windows), int(h.notable), *(int(h.faults[k]) for k in FAULT_KINDS)]
        out.append(_summary(h.hour, counts_privatize(vector, epsilon)))
    return out


def alert_state(row: AlertRow) -> str:
    """The part of an alert the cloud is told about when it changes: status and open/closed.

    Examples
    --------
    >>> from gateway.store import AlertRow
    >>> alert_state(AlertRow(1, "d", "fall", "critical", 0, None, 0, 0, None, None,
    ...                      "confirmed", 0, "", None))
    'confirmed:open'
    """
    return f"{row.status}:{'open' if row.closed_ms is None else 'closed'}"


def alert_outcome(key: PseudonymKey, row: AlertRow) -> AlertOutcome:
    """One alert as the cloud may see it: pseudonymous id, hour, rounded duration."""
    duration = None
    if row.closed_ms is not None:
        minutes = (row.closed_ms - row.opened_ms) / 60_000
        duration = int(5 * round(minutes / 5))
    return AlertOutcome(
        key.alert(row.device, row.id),
        row.type,
        row.severity,
        hour_of(row.opened_ms),
        duration,
        row.status,
        row.rule,
        None if row.peak_score is None else round(float(row.peak_score), 2),
        row.model_version,
        row.revision,
        None if row.rate_bpm is None else round(row.rate_bpm),
    )


def alerts_batch(key: PseudonymKey, device: str, rows: Sequence[AlertRow]) -> AggregateBatch:
    """The alert outcomes of one device (the latest state of each changed alert)."""
    return AggregateBatch(
        BatchKind.ALERTS,
        key.device(device),
        alerts=tuple(alert_outcome(key, r) for r in rows),
    )


def diagnostics_batch(
    key: PseudonymKey, counters: Mapping[str, int | float | str]
) -> AggregateBatch:
    """The gateway's own health counters, under the gateway's pseudonym."""
    return AggregateBatch(BatchKind.DIAGNOSTICS, key.gateway(), diagnostics=dict(counters))


def hour_start_ms(hour: int) -> int:
    """The first millisecond of an hour bucket."""
    return hour * HOUR_MS
