"""The cohort's anonymized aggregates from a bucket, as tidy DataFrames (cloud side).

What the gateways uploaded (``docs/formats/aggregate_batch.md``) is all this module
sees: pseudonyms, hour buckets, quantized features, raw model outputs and alert
outcomes. Nothing here can name a person or a device; a clinician who needs that opens
the patient pages on the clinic side (:mod:`wearable.analysis.patient`).

Window rows are a sample: unremarkable windows are sent 1 in ``k`` with weight ``k``,
notable ones always with weight 1. Every count and distribution here is weighted, so it
estimates the whole population of windows rather than over-representing notable ones.

Examples
--------
::

    from wearable.analysis.fleet_aggregates import cohort_load, cohort_people

    cohort = cohort_load("gs://my-bucket/gateways")
    cohort.skipped          # objects that are not readable batches, and why
    cohort_people(cohort)   # one row per pseudonym
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.aggregate_batch import (
    ALERT_STATUS_RANK,
    BATCH_FORMAT_VERSIONS,
    BATCH_NAME,
    FAULT_KINDS,
    HOUR_MS,
    AggregateBatch,
    BatchFormatError,
    BatchKind,
    batch_decode,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, WINDOW_S

#: Windows in one person-day (the denominator of "per person-day" rates).
WINDOWS_PER_DAY = 86_400 // WINDOW_S

SCORE_COLUMNS = tuple(f"score_{t}" for t in ANOMALY_TYPES)
RULE_COLUMNS = tuple(f"rule_{t}" for t in ANOMALY_TYPES)
FAULT_COLUMNS = tuple(f"fault_{k}" for k in FAULT_KINDS)
ALERT_COLUMNS = (
    "alert",
    "pseudonym",
    "type",
    "severity",
    "hour",
    "duration_min",
    "status",
    "rule",
    "peak_score",
    "model_version",
)


@dataclass(frozen=True)
class Cohort:
    """Everything the cohort pages plot, read once from a bucket.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per uploaded window row: ``pseudonym``, ``hour`` (UTC timestamp of the
        hour bucket), ``weight``, ``model`` (version string, ``<NA>`` when no model
        served), ``rule_<type>`` and ``fault_<kind>`` booleans, the 25 features, and
        ``score_<type>`` raw model outputs (NaN without a model).
    hours : pandas.DataFrame
        Hourly summaries: ``pseudonym``, ``hour``, ``windows``, ``notable``,
        ``fault_<kind>`` counts and ``noised`` (differential-privacy noise applied).
    alerts : pandas.DataFrame
        The latest revision of every alert (columns :data:`ALERT_COLUMNS`), ``hour`` a
        UTC timestamp, ``duration_min`` NaN while open.
    skipped : pandas.DataFrame
        Objects under the batch prefixes that were not read: ``name`` and ``reason``.
    """

    windows: pd.DataFrame
    hours: pd.DataFrame
    alerts: pd.DataFrame
    skipped: pd.DataFrame


def _hour_ts(hours: Iterable[int]) -> pd.Series:
    return pd.Series(
        pd.to_datetime(np.asarray(list(hours), dtype=np.int64) * HOUR_MS, unit="ms", utc=True)
    )


def _batch_windows(batch: AggregateBatch) -> pd.DataFrame:
    rows = batch.windows
    n = len(rows)
    models = np.array([*batch.models, None], dtype=object)
    frame = pd.DataFrame(
        {
            "pseudonym": [batch.pseudonym] * n,
            "hour": rows.hour,
            "weight": rows.weight,
            # -1 (no model) indexes the trailing None.
            "model": pd.array(models[rows.model], dtype="string"),
        }
    )
    for bit, column in enumerate(RULE_COLUMNS):
        frame[column] = (rows.rules >> bit) & 1 == 1
    for bit, column in enumerate(FAULT_COLUMNS):
        frame[column] = (rows.faults >> bit) & 1 == 1
    features = pd.DataFrame(rows.features, columns=list(FEATURE_NAMES))
    scores = pd.DataFrame(rows.outputs, columns=list(SCORE_COLUMNS))
    return pd.concat([frame, features, scores], axis=1)


def _batch_hours(batch: AggregateBatch) -> list[dict[str, object]]:
    return [
        {
            "pseudonym": batch.pseudonym,
            "hour": h.hour,
            "windows": h.windows,
            "notable": h.notable,
            **{f"fault_{k}": h.faults.get(k, 0) for k in FAULT_KINDS},
            "noised": batch.noise is not None,
        }
        for h in batch.hours
    ]


def _batch_alerts(batch: AggregateBatch, order: int) -> list[dict[str, object]]:
    return [
        {
            "alert": a.alert,
            "pseudonym": batch.pseudonym,
            "type": a.type,
            "severity": a.severity,
            "hour": a.hour,
            "duration_min": np.nan if a.duration_min is None else float(a.duration_min),
            "status": a.status,
            "rule": a.rule,
            "peak_score": np.nan if a.peak_score is None else float(a.peak_score),
            "model_version": a.model_version,
            "_order": order,
            "_revision": a.revision,
        }
        for a in batch.alerts
    ]


def _alerts_latest(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*ALERT_COLUMNS, "_order", "_revision"])
    if frame.empty:
        return frame.drop(columns=["_order", "_revision"])
    # The latest revision: closed beats open, then the higher review revision (a reopen
    # and a new verdict on one day: batch names order them only by hash), then the later
    # batch (by name: day, then hash), then the later lifecycle step; the same rule as
    # the training corpus.
    frame["_closed"] = frame["duration_min"].notna()
    frame["_rank"] = frame["status"].map(ALERT_STATUS_RANK).fillna(0)
    frame = frame.sort_values(["alert", "_closed", "_revision", "_order", "_rank"], kind="stable")
    latest = frame.groupby("alert", sort=False).tail(1)
    latest = latest.drop(columns=["_order", "_revision", "_closed", "_rank"])
    latest = latest.sort_values(["hour", "alert"]).reset_index(drop=True)
    latest["hour"] = _hour_ts(latest["hour"]).to_numpy()
    return latest


def cohort_load(source: Bucket | str, *, days: Iterable[str] | None = None) -> Cohort:
    """Read every aggregates and alerts batch in a bucket (or only those of ``days``).

    Parameters
    ----------
    source : Bucket or str
        An open bucket, or a bucket URL (``gs://bucket/prefix``, ``file:///dir``, a path).
    days : iterable of str, optional
        UTC days ``YYYY-MM-DD`` (the day in the batch's object name) to read; default all.

    Objects that are not readable version-1 batches are listed in :attr:`Cohort.skipped`
    with the reason, never raised: one bad object must not hide a cohort.
    """
    bucket = bucket_open(source) if isinstance(source, str) else source
    wanted = None if days is None else set(days)
    windows: list[pd.DataFrame] = []
    hours: list[dict[str, object]] = []
    alerts: list[dict[str, object]] = []
    skipped: list[dict[str, str]] = []
    names = [
        info.name
        for kind in (BatchKind.AGGREGATES, BatchKind.ALERTS)
        for version in BATCH_FORMAT_VERSIONS
        for info in bucket.list(f"{kind.value}/v{version}/")
    ]
    for order, name in enumerate(sorted(names, key=_name_order)):
        match = BATCH_NAME.match(name)
        if match is None:
            skipped.append({"name": name, "reason": "not a batch object name"})
            continue
        if wanted is not None and match.group("day") not in wanted:
            continue
        try:
            batch = batch_decode(bucket.read(name)[0])
        except BatchFormatError as exc:
            skipped.append({"name": name, "reason": str(exc)})
            continue
        if len(batch.windows):
            windows.append(_batch_windows(batch))
        hours.extend(_batch_hours(batch))
        alerts.extend(_batch_alerts(batch, order))
    # No rows: the same columns, from an empty batch.
    empty = AggregateBatch(BatchKind.AGGREGATES, "")
    window_frame = pd.concat(windows, ignore_index=True) if windows else _batch_windows(empty)
    window_frame["hour"] = _hour_ts(window_frame["hour"]).to_numpy()
    hour_frame = pd.DataFrame(
        hours, columns=["pseudonym", "hour", "windows", "notable", *FAULT_COLUMNS, "noised"]
    )
    hour_frame["hour"] = _hour_ts(hour_frame["hour"]).to_numpy()
    return Cohort(
        windows=window_frame,
        hours=hour_frame.sort_values(["hour", "pseudonym"], ignore_index=True),
        alerts=_alerts_latest(alerts),
        skipped=pd.DataFrame(skipped, columns=["name", "reason"]),
    )


def _name_order(name: str) -> tuple[str, str]:
    match = BATCH_NAME.match(name)
    return (match.group("day") if match else "", name)


def cohort_people(cohort: Cohort) -> pd.DataFrame:
    """One row per pseudonym: monitored time, data quality and alerts.

    Columns: ``pseudonym``, ``first_hour``, ``last_hour``, ``person_days`` (assessed
    windows / 1440), ``notable_fraction``, ``fault_fraction`` (windows with any fault,
    estimated from the weighted window rows), ``alerts``, ``alerts_per_day``,
    ``confirmed``, ``dismissed``, ``open``.
    """
    hours = cohort.hours
    people = hours.groupby("pseudonym").agg(
        first_hour=("hour", "min"),
        last_hour=("hour", "max"),
        windows=("windows", "sum"),
        notable=("notable", "sum"),
    )
    people["person_days"] = people["windows"] / WINDOWS_PER_DAY
    people["notable_fraction"] = people["notable"] / people["windows"].where(people["windows"] > 0)
    w = cohort.windows
    if len(w):
        any_fault = w[list(FAULT_COLUMNS)].any(axis=1)
        faulty = (w["weight"] * any_fault).groupby(w["pseudonym"]).sum()
        sampled = w["weight"].groupby(w["pseudonym"]).sum()
        people["fault_fraction"] = (faulty / sampled).reindex(people.index)
    else:
        people["fault_fraction"] = np.nan
    a = cohort.alerts
    counts = pd.crosstab(a["pseudonym"], a["status"]) if len(a) else pd.DataFrame()
    people["alerts"] = a.groupby("pseudonym").size().reindex(people.index, fill_value=0)
    for status in ("confirmed", "dismissed", "open"):
        column = counts[status] if status in counts else pd.Series(dtype="int64")
        people[status] = column.reindex(people.index, fill_value=0).astype("int64")
    people["alerts_per_day"] = people["alerts"] / people["person_days"].where(
        people["person_days"] > 0
    )
    return people.drop(columns=["windows", "notable"]).reset_index()


def cohort_daily(cohort: Cohort) -> pd.DataFrame:
    """One row per UTC day: people monitored, person-days, and alerts of each type.

    Columns: ``day`` (UTC midnight), ``people``, ``person_days``, then one column per
    anomaly type with the count of alerts opened that day.
    """
    hours = cohort.hours.assign(day=cohort.hours["hour"].dt.floor("D"))
    daily = hours.groupby("day").agg(people=("pseudonym", "nunique"), windows=("windows", "sum"))
    daily["person_days"] = daily["windows"] / WINDOWS_PER_DAY
    a = cohort.alerts.assign(day=cohort.alerts["hour"].dt.floor("D"))
    by_type = pd.crosstab(a["day"], a["type"]) if len(a) else pd.DataFrame(index=daily.index)
    for kind in ANOMALY_TYPES:
        column = by_type[kind] if kind in by_type else pd.Series(dtype="int64")
        daily[kind] = column.reindex(daily.index, fill_value=0).astype("int64")
    return daily.drop(columns="windows").reset_index()


def weighted_quantiles(
    values: pd.Series, weights: pd.Series, quantiles: Iterable[float]
) -> list[float]:
    """Quantiles of ``values`` where each value stands for ``weight`` observations.

    NaN values are ignored; all NaN (or no weight) gives NaN for every quantile.

    Examples
    --------
    >>> weighted_quantiles(pd.Series([1.0, 2.0]), pd.Series([1, 3]), [0.5])
    [2.0]
    """
    v = values.to_numpy(dtype=np.float64)
    w = weights.to_numpy(dtype=np.float64)
    ok = np.isfinite(v) & (w > 0)
    qs = list(quantiles)
    if not ok.any():
        return [float("nan")] * len(qs)
    order = np.argsort(v[ok], kind="stable")
    v, w = v[ok][order], w[ok][order]
    # The smallest value whose cumulative weight share reaches q (the inverted CDF, as
    # if each value were repeated ``weight`` times).
    share = np.cumsum(w) / w.sum()
    index = np.minimum(np.searchsorted(share, np.asarray(qs) - 1e-12), len(v) - 1)
    return [float(x) for x in v[index]]


def cohort_alert_outcomes(cohort: Cohort) -> pd.DataFrame:
    """Alerts by type (rows) and status (columns), with a ``total`` column.

    Every anomaly type and status appears, with zeros where there were none.
    """
    statuses = list(ALERT_STATUS_RANK)
    a = cohort.alerts
    table = pd.crosstab(a["type"], a["status"]) if len(a) else pd.DataFrame()
    table = table.reindex(index=list(ANOMALY_TYPES), columns=statuses, fill_value=0)
    table = table.fillna(0).astype("int64")
    table["total"] = table.sum(axis=1)
    table.index.name = "type"
    table.columns.name = None
    return table.reset_index()


#: Vitals :func:`cohort_vitals` summarises.
VITALS = ("hr_mean", "hrv_rmssd", "spo2_mean", "temp_level", "act_enmo")


def cohort_vitals(cohort: Cohort, vitals: Iterable[str] = VITALS) -> pd.DataFrame:
    """Weighted median of each vital per pseudonym (one row per pseudonym).

    Columns: ``pseudonym``, ``windows`` (weighted window rows), then one median column
    per vital.
    """
    names = list(vitals)
    rows = []
    for pseudonym, group in cohort.windows.groupby("pseudonym", sort=True):
        row: dict[str, object] = {"pseudonym": pseudonym, "windows": int(group["weight"].sum())}
        for name in names:
            [row[name]] = weighted_quantiles(group[name], group["weight"], [0.5])
        rows.append(row)
    return pd.DataFrame(rows, columns=["pseudonym", "windows", *names])
