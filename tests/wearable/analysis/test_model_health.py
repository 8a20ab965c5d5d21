"""Model health across versions, from the clinic's aggregates (two model versions)."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.store import Store
from wearable.analysis.fleet_aggregates import WINDOWS_PER_DAY, cohort_load
from wearable.analysis.model_health import (
    PSI_MAJOR,
    feature_drift,
    feature_drift_top,
    model_alert_rates,
    model_score_summary,
    model_scores,
    model_versions,
    psi,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

from ._clinic import Clinic


def test_versions_in_order_of_first_use(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    assert model_versions(cohort) == [clinic.first_version, clinic.second_version]


def test_alert_rates_count_each_versions_alerts_and_verdicts(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    rates = model_alert_rates(cohort).set_index("model")
    with Store(clinic.store_path) as store:
        alerts = store.alerts.list()
    for version in (clinic.first_version, clinic.second_version):
        mine = [a for a in alerts if a.model_version == version]
        row = rates.loc[version]
        assert row["alerts"] == len(mine)
        assert row["confirmed"] == sum(a.status == "confirmed" for a in mine)
        assert row["dismissed"] == sum(a.status == "dismissed" for a in mine)
        assert sum(row[f"alerts_{t}"] for t in ANOMALY_TYPES) == len(mine)
        if row["reviewed"]:
            assert row["confirmation_rate"] == row["confirmed"] / row["reviewed"]
        else:
            assert np.isnan(row["confirmation_rate"])
    # Exposure is the weighted window rows each version scored.
    served = cohort.windows.loc[cohort.windows["model"].notna()]
    total = served["weight"].sum() / WINDOWS_PER_DAY
    assert rates.loc[[clinic.first_version, clinic.second_version], "person_days"].sum() == (
        pytest.approx(total)
    )


def test_scores_are_long_and_weighted(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    scores = model_scores(cohort)
    served = cohort.windows.loc[cohort.windows["model"].notna()]
    assert len(scores) == served[[f"score_{t}" for t in ANOMALY_TYPES]].notna().sum().sum()
    assert scores["score"].between(0, 1).all()
    summary = model_score_summary(cohort)
    assert len(summary) == 2 * len(ANOMALY_TYPES)
    assert (summary["q50"] <= summary["q90"]).all() and (summary["q90"] <= summary["q99"]).all()


def test_psi_is_zero_for_the_same_data_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    w = np.ones_like(x)
    assert psi(x, w, x, w) == pytest.approx(0.0, abs=1e-12)
    assert psi(x, w, rng.normal(size=5000), w) < 0.05
    assert psi(x, w, x + 1.0, w) > PSI_MAJOR
    # Weights count: the same values, weighted towards the top, have shifted.
    assert psi(x, w, x, np.where(x > 1, 20.0, 1.0)) > PSI_MAJOR
    # A constant feature (cadence at rest) is stable against itself, NaN without data.
    zeros = np.zeros(100)
    assert psi(zeros, zeros + 1, zeros, zeros + 1) == pytest.approx(0.0)
    assert np.isnan(psi(np.full(3, np.nan), np.ones(3), x, w))


def test_feature_drift_against_the_reference(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    drift = feature_drift(cohort)
    assert len(drift) == 2 * len(FEATURE_NAMES)
    reference = drift.loc[drift["model"] == clinic.first_version]
    assert (reference.loc[reference["level"] != "no data", "psi"] == 0).all()
    top = feature_drift_top(drift, 5)
    assert set(top["model"]) == {clinic.second_version}
    assert top["psi"].is_monotonic_decreasing
    # The first hour is mostly sleep and the second hour awake: heart rate moved.
    assert drift.set_index(["model", "feature"]).loc[(clinic.second_version, "hr_mean"), "psi"] > (
        PSI_MAJOR
    )
    with pytest.raises(KeyError, match=clinic.first_version):
        feature_drift(cohort, reference="m-unknown")
