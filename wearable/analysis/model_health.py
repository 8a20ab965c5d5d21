"""How each model version behaves in the field, from the cohort's aggregates.

The questions the ML team and the clinical lead ask of a new release: does it alert more
or less often than the one before, do clinicians confirm what it raises, have its scores
moved, and has the data it sees moved away from what the previous version saw? All of
it comes from :class:`wearable.analysis.fleet_aggregates.Cohort`; window rows are weighted by the
sampling weight, so distributions describe all windows, not the notable ones only.

Examples
--------
::

    from wearable.analysis.fleet_aggregates import cohort_load
    from wearable.analysis.model_health import model_alert_rates, feature_drift

    cohort = cohort_load("file:///srv/bucket")
    model_alert_rates(cohort)   # one row per model version
    feature_drift(cohort)       # PSI of every feature against the first version
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from wearable.analysis.fleet_aggregates import (
    SCORE_COLUMNS,
    WINDOWS_PER_DAY,
    Cohort,
    weighted_quantiles,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

#: PSI above which a feature has moved enough to look at (the usual rule of thumb:
#: below 0.1 stable, 0.1-0.25 some shift, above 0.25 a shift worth acting on).
PSI_SHIFT = 0.1
PSI_MAJOR = 0.25
#: Bins of the drift histogram (deciles of the reference distribution).
DRIFT_BINS = 10
# Empty-bin floor of the PSI: a bin no reference window fell in would give log(x/0).
_PSI_FLOOR = 1e-4

NO_MODEL = "(none)"


def _model_column(windows: pd.DataFrame) -> pd.Series:
    return windows["model"].fillna(NO_MODEL).astype(str)


def model_versions(cohort: Cohort) -> list[str]:
    """Model versions in order of first appearance in the windows (hour, then name)."""
    w = cohort.windows
    served = w.loc[w["model"].notna()]
    if served.empty:
        return []
    first = served.groupby(served["model"].astype(str))["hour"].min()
    return list(first.sort_values(kind="stable").index)


def model_alert_rates(cohort: Cohort) -> pd.DataFrame:
    """One row per model version: exposure, alert rates and clinicians' verdicts.

    Columns: ``model``, ``person_days`` (weighted windows it scored / 1440), ``alerts``,
    ``alerts_per_person_day``, ``reviewed`` (confirmed + dismissed), ``confirmed``,
    ``dismissed``, ``confirmation_rate`` (confirmed / reviewed; NaN with none reviewed),
    then ``alerts_<type>`` per anomaly type. Alerts are attributed to the model serving
    when they opened; rule-only alerts count too (they were raised under that model).
    """
    w = cohort.windows
    exposure = w.groupby(_model_column(w))["weight"].sum() / WINDOWS_PER_DAY
    a = cohort.alerts
    versions = [*model_versions(cohort)]
    alert_models = a["model_version"].fillna(NO_MODEL).astype(str)
    versions += sorted(set(alert_models) - set(versions))
    if NO_MODEL in exposure.index and NO_MODEL not in versions:
        versions.append(NO_MODEL)
    rows = []
    for version in versions:
        mine = a.loc[alert_models == version]
        days = float(exposure.get(version, 0.0))
        confirmed = int((mine["status"] == "confirmed").sum())
        dismissed = int((mine["status"] == "dismissed").sum())
        reviewed = confirmed + dismissed
        row: dict[str, object] = {
            "model": version,
            "person_days": days,
            "alerts": len(mine),
            "alerts_per_person_day": len(mine) / days if days > 0 else np.nan,
            "reviewed": reviewed,
            "confirmed": confirmed,
            "dismissed": dismissed,
            "confirmation_rate": confirmed / reviewed if reviewed else np.nan,
        }
        for kind in ANOMALY_TYPES:
            row[f"alerts_{kind}"] = int((mine["type"] == kind).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def model_scores(cohort: Cohort) -> pd.DataFrame:
    """Scores in long form: ``model``, ``type``, ``score``, ``weight`` (rows with a score).

    The raw model probability of each anomaly type, for histograms per version.
    """
    w = cohort.windows
    served = w.loc[w["model"].notna()]
    long = served.melt(
        id_vars=["model", "weight"],
        value_vars=list(SCORE_COLUMNS),
        var_name="type",
        value_name="score",
    )
    long["type"] = long["type"].str.removeprefix("score_")
    long["model"] = long["model"].astype(str)
    return long.dropna(subset=["score"]).reset_index(drop=True)[
        ["model", "type", "score", "weight"]
    ]


def model_score_summary(
    cohort: Cohort, quantiles: Sequence[float] = (0.5, 0.9, 0.99)
) -> pd.DataFrame:
    """Weighted score quantiles per model version and anomaly type.

    Columns: ``model``, ``type``, ``windows`` (weighted count), then ``q50``, ``q90``,
    ``q99`` (or the quantiles asked for).
    """
    scores = model_scores(cohort)
    rows = []
    for (version, kind), group in scores.groupby(["model", "type"], sort=False):
        values = weighted_quantiles(group["score"], group["weight"], quantiles)
        row: dict[str, object] = {
            "model": version,
            "type": kind,
            "windows": int(group["weight"].sum()),
        }
        row.update({f"q{round(q * 100)}": v for q, v in zip(quantiles, values, strict=True)})
        rows.append(row)
    columns = ["model", "type", "windows", *(f"q{round(q * 100)}" for q in quantiles)]
    return pd.DataFrame(rows, columns=columns)


def psi(
    reference: np.ndarray,
    reference_weight: np.ndarray,
    current: np.ndarray,
    current_weight: np.ndarray,
    bins: int = DRIFT_BINS,
) -> float:
    """Population stability index of ``current`` against ``reference`` (weighted).

    Bin edges are the weighted quantiles of the reference, so each reference bin holds
    about ``1/bins`` of its weight; a feature with fewer distinct values gets fewer bins.
    NaN values are left out of both. Returns NaN when either side has no values.

    Examples
    --------
    >>> x = np.arange(1000.0)
    >>> ones = np.ones(1000)
    >>> round(psi(x, ones, x, ones), 6)
    0.0
    >>> psi(x, ones, x + 500, ones) > PSI_MAJOR
    True
    """
    r_ok = np.isfinite(reference) & (reference_weight > 0)
    c_ok = np.isfinite(current) & (current_weight > 0)
    if not r_ok.any() or not c_ok.any():
        return float("nan")
    r, rw = reference[r_ok], reference_weight[r_ok].astype(np.float64)
    c, cw = current[c_ok], current_weight[c_ok].astype(np.float64)
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    inner = np.unique(weighted_quantiles(pd.Series(r), pd.Series(rw), qs))
    # Right-closed bins: a value equal to an edge falls in the lower bin, so a feature
    # that is mostly one value (e.g. 0 cadence at rest) has that value in one bin.
    r_bin = np.searchsorted(inner, r, side="left")
    c_bin = np.searchsorted(inner, c, side="left")
    n = len(inner) + 1
    p = np.bincount(r_bin, weights=rw, minlength=n) / rw.sum()
    q = np.bincount(c_bin, weights=cw, minlength=n) / cw.sum()
    p, q = np.maximum(p, _PSI_FLOOR), np.maximum(q, _PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def feature_drift(
    cohort: Cohort, reference: str | None = None, features: Sequence[str] = FEATURE_NAMES
) -> pd.DataFrame:
    """Drift of each input feature, per model version, against a reference version.

    Parameters
    ----------
    cohort : Cohort
        From :func:`wearable.analysis.fleet_aggregates.cohort_load`.
    reference : str, optional
        The version to compare against; default the first one seen.
    features : sequence of str
        Features to compare; default all 25.

    Returns
    -------
    pandas.DataFrame
        One row per (version, feature): ``model``, ``feature``, ``psi``,
        ``median_ref``, ``median``, ``level`` (``stable``, ``shift`` above
        :data:`PSI_SHIFT`, ``major`` above :data:`PSI_MAJOR`, ``no data``). The
        reference's own rows have PSI 0.

    Raises
    ------
    KeyError
        ``reference`` is not a version in the cohort (the message lists them).
    """
    versions = model_versions(cohort)
    if not versions:
        return pd.DataFrame(columns=["model", "feature", "psi", "median_ref", "median", "level"])
    ref = versions[0] if reference is None else reference
    if ref not in versions:
        raise KeyError(f"model {ref!r} not in the cohort; versions: {', '.join(versions)}")
    w = cohort.windows
    by_model = {v: w.loc[w["model"] == v] for v in versions}
    base = by_model[ref]
    rows = []
    for version in versions:
        current = by_model[version]
        for feature in features:
            value = psi(
                base[feature].to_numpy(np.float64),
                base["weight"].to_numpy(np.float64),
                current[feature].to_numpy(np.float64),
                current["weight"].to_numpy(np.float64),
            )
            [median_ref] = weighted_quantiles(base[feature], base["weight"], [0.5])
            [median] = weighted_quantiles(current[feature], current["weight"], [0.5])
            rows.append(
                {
                    "model": version,
                    "feature": feature,
                    "psi": value,
                    "median_ref": median_ref,
                    "median": median,
                    "level": _drift_level(value),
                }
            )
    return pd.DataFrame(rows)


def _drift_level(value: float) -> str:
    if not np.isfinite(value):
        return "no data"
    if value > PSI_MAJOR:
        return "major"
    return "shift" if value > PSI_SHIFT else "stable"


def feature_drift_top(drift: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest drifts of versions other than the reference, largest first.

    ``drift`` is :func:`feature_drift`'s result; its first version is the reference.
    Empty when there is no second version.
    """
    if drift.empty:
        return drift
    others = drift.loc[drift["model"] != drift["model"].iloc[0]]
    return others.sort_values("psi", ascending=False, na_position="last").head(n)
