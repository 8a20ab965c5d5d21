"""One patient's per-minute features and alerts as tidy CSV (``docs/formats/fhir_export.md``).

Times are ISO 8601 UTC (``2026-03-01T08:00:00Z``), every measured column names its unit
(``hr_mean_bpm``, ``temp_level_degc``; dimensionless ones have no suffix), a missing value
is an empty field, and the same data always gives the same bytes (``\\n`` line ends,
shortest round-tripping float text), so two exports can be compared with ``cmp``.

Examples
--------
::

    with Store("gateway-store/gateway.sqlite") as store:
        vitals_csv(patient_windows(store, device), Path("out/vitals.csv"))
        alerts_csv(patient_alerts(store, device), Path("out/alerts.csv"))
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wearable_core.contracts.features import FEATURES, WINDOW_S

__all__ = ["ALERT_CSV_COLUMNS", "VITAL_CSV_COLUMNS", "alerts_csv", "vitals_csv"]

# Unit of FeatureSpec → column suffix (ASCII, lower case, usable as an identifier).
_UNIT_SUFFIX = {
    "bpm": "_bpm",
    "ms": "_ms",
    "%": "_pct",
    "s": "_s",
    "degC": "_degc",
    "degC/h": "_degc_per_h",
    "g": "_g",
    "Hz": "_hz",
    "1": "",
}
#: Feature name → CSV column of :func:`vitals_csv`.
FEATURE_COLUMNS: dict[str, str] = {f.name: f.name + _UNIT_SUFFIX[f.unit] for f in FEATURES}
#: Columns of :func:`vitals_csv`, in order.
VITAL_CSV_COLUMNS: tuple[str, ...] = ("start_utc", "end_utc", *FEATURE_COLUMNS.values())
#: Columns of :func:`alerts_csv`, in order (``docs/alerts.md`` for their meaning).
ALERT_CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "device",
    "type",
    "severity",
    "status",
    "opened_utc",
    "closed_utc",
    "duration_min",
    "evidence_start_utc",
    "evidence_end_utc",
    "peak_score",
    "rule",
    "model_version",
    "status_changed_utc",
    "note",
)
_ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


def _iso(times: pd.Series) -> pd.Series:
    """UTC timestamps as ISO 8601 text with ``Z``; milliseconds only where non-zero."""
    text = pd.to_datetime(times, utc=True).dt.strftime(_ISO)
    # %f gives microseconds: keep milliseconds, and drop them entirely when they are zero.
    text = text.str.slice(0, 23) + "Z"
    return text.str.replace(r"\.000Z$", "Z", regex=True).where(times.notna(), "")


def _iso_ms(ms: pd.Series) -> pd.Series:
    return _iso(pd.to_datetime(ms.astype("Float64"), unit="ms", utc=True))


def _write(frame: pd.DataFrame, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return len(frame)


def vitals_csv(windows: pd.DataFrame, path: Path) -> int:
    """Write per-minute features (:func:`~wearable.analysis.patient.patient_windows`) as CSV.

    Columns: :data:`VITAL_CSV_COLUMNS` — ``start_utc``, ``end_utc`` (the 60 s window) and
    the 25 features with their unit in the name. Returns the number of rows written.

    Raises
    ------
    ValueError
        ``windows`` lacks ``start`` or a feature column.

    Examples
    --------
    >>> import tempfile
    >>> frame = pd.DataFrame({"start": pd.to_datetime([0], unit="ms", utc=True),
    ...                       **{name: [float("nan")] for name in FEATURE_COLUMNS}})
    >>> frame["hr_mean"] = [72.5]
    >>> out = Path(tempfile.mkdtemp()) / "vitals.csv"
    >>> vitals_csv(frame, out)
    1
    >>> out.read_text().splitlines()[1][:46]
    '1970-01-01T00:00:00Z,1970-01-01T00:01:00Z,72.5'
    """
    missing = [c for c in ("start", *FEATURE_COLUMNS) if c not in windows.columns]
    if missing:
        raise ValueError(f"windows lack column(s) {', '.join(missing)}: pass patient_windows()")
    start = pd.to_datetime(windows["start"], utc=True)
    out = pd.DataFrame(
        {
            "start_utc": _iso(start),
            "end_utc": _iso(start + pd.Timedelta(seconds=WINDOW_S)),
            **{column: windows[name] for name, column in FEATURE_COLUMNS.items()},
        },
        columns=list(VITAL_CSV_COLUMNS),
    )
    return _write(out, path)


def alerts_csv(alerts: pd.DataFrame, path: Path) -> int:
    """Write alerts (:func:`~wearable.analysis.patient.patient_alerts`) as CSV, oldest first.

    Columns: :data:`ALERT_CSV_COLUMNS`; the store's millisecond times become ISO UTC
    (``closed_utc`` and ``duration_min`` are empty while an alert is open). Returns the
    number of rows written (an empty frame writes the header only).

    Raises
    ------
    ValueError
        ``alerts`` lacks a column of the store's alert rows.
    """
    needed = (
        "id",
        "device",
        "type",
        "severity",
        "status",
        "opened_ms",
        "closed_ms",
        "evidence_start_ms",
        "evidence_end_ms",
        "peak_score",
        "rule",
        "model_version",
        "status_changed_ms",
        "note",
    )
    missing = [c for c in needed if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts lack column(s) {', '.join(missing)}: pass patient_alerts()")
    rows = alerts.sort_values(["opened_ms", "id"], kind="stable")
    closed = rows["closed_ms"].astype("Float64")
    out = pd.DataFrame(
        {
            "id": rows["id"].astype("int64"),
            "device": rows["device"],
            "type": rows["type"],
            "severity": rows["severity"],
            "status": rows["status"],
            "opened_utc": _iso_ms(rows["opened_ms"]),
            "closed_utc": _iso_ms(rows["closed_ms"]),
            "duration_min": (closed - rows["opened_ms"].astype("Float64")) / 60_000,
            "evidence_start_utc": _iso_ms(rows["evidence_start_ms"]),
            "evidence_end_utc": _iso_ms(rows["evidence_end_ms"]),
            "peak_score": rows["peak_score"].astype("float64"),
            "rule": rows["rule"],
            "model_version": rows["model_version"],
            "status_changed_utc": _iso_ms(rows["status_changed_ms"]),
            "note": rows["note"],
        },
        columns=list(ALERT_CSV_COLUMNS),
    )
    return _write(out, path)
