"""The cohort's aggregates read back from a bucket the real sync filled."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gateway.store import Store
from wearable.analysis.fleet_aggregates import (
    FAULT_COLUMNS,
    RULE_COLUMNS,
    SCORE_COLUMNS,
    cohort_alert_outcomes,
    cohort_daily,
    cohort_load,
    cohort_people,
    cohort_vitals,
    weighted_quantiles,
)
from wearable_core.buckets import bucket_open
from wearable_core.contracts.aggregate_batch import (
    AggregateBatch,
    AlertOutcome,
    BatchKind,
    batch_encode,
    batch_object_name,
)
from wearable_core.contracts.features import FEATURE_NAMES

from ._clinic import Clinic

HOUR = 491_453  # 2026-01-24 05:00 UTC, any hour will do


def test_every_person_hour_and_alert_arrives(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    assert cohort.skipped.empty
    # 3 people x 2 hours, each hour exactly 60 assessed windows.
    assert len(cohort.hours) == 6
    assert (cohort.hours["windows"] == 60).all()
    assert cohort.hours["pseudonym"].nunique() == 3
    assert list(cohort.windows.columns) == [
        "pseudonym",
        "hour",
        "weight",
        "model",
        *RULE_COLUMNS,
        *FAULT_COLUMNS,
        *FEATURE_NAMES,
        *SCORE_COLUMNS,
    ]
    assert str(cohort.hours["hour"].dt.tz) == "UTC"
    with Store(clinic.store_path) as store:
        stored = store.alerts.list()
    assert len(cohort.alerts) == len(stored) == 3
    assert sorted(cohort.alerts["type"]) == sorted(a.type for a in stored)
    assert sorted(cohort.alerts["status"]) == sorted(a.status for a in stored)
    assert sorted(cohort.alerts["model_version"]) == sorted(str(a.model_version) for a in stored)


def test_nothing_in_the_frames_names_a_device(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    text = "\n".join(
        frame.to_csv() for frame in (cohort.windows, cohort.hours, cohort.alerts, cohort.skipped)
    )
    for device in clinic.devices:
        assert device not in text
        assert device.replace(":", "").lower() not in text.lower()


def test_a_bad_object_is_skipped_with_its_reason_and_the_rest_is_read(
    clinic: Clinic, tmp_path: Path
) -> None:
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(clinic.bucket_dir, bucket_dir)
    bucket = bucket_open(str(bucket_dir))
    corrupt = "aggregates/v1/2026-01-05/" + "0" * 64 + ".json.gz"
    bucket.create(corrupt, b"not gzip")
    bucket.create("aggregates/v1/stray.txt", b"hello")
    cohort = cohort_load(bucket)
    assert set(cohort.skipped["name"]) == {corrupt, "aggregates/v1/stray.txt"}
    assert cohort.skipped["reason"].str.len().min() > 0
    assert len(cohort.hours) == 6


def test_days_selects_batches_by_their_day(clinic: Clinic) -> None:
    assert len(cohort_load(str(clinic.bucket_dir), days=["2026-01-05"]).hours) == 6
    empty = cohort_load(str(clinic.bucket_dir), days=["2030-01-01"])
    assert empty.hours.empty and empty.windows.empty and empty.alerts.empty
    assert cohort_people(empty).empty


def _alert(status: str, duration: int | None, revision: int = 0) -> AlertOutcome:
    return AlertOutcome(
        "ab" * 12, "fever", "warning", HOUR, duration, status, None, 0.9, "m-1", revision
    )


@pytest.mark.parametrize("order", [0, 1])
def test_the_latest_revision_of_an_alert_wins(tmp_path: Path, order: int) -> None:
    bucket = bucket_open(str(tmp_path / "bucket"))
    revisions = [_alert("open", None), _alert("confirmed", 25)]
    if order:
        revisions.reverse()
    for revision in revisions:
        data = batch_encode(AggregateBatch(BatchKind.ALERTS, "c" * 32, alerts=(revision,)))
        bucket.create(batch_object_name(BatchKind.ALERTS, data, HOUR), data)
    [row] = cohort_load(bucket).alerts.itertuples()
    assert (row.status, row.duration_min) == ("confirmed", 25.0)


@pytest.mark.parametrize("order", [0, 1])
def test_a_reopened_verdict_loses_to_the_next_one(tmp_path: Path, order: int) -> None:
    # Confirmed, reopened and dismissed on one day: the batch names order them only by
    # hash; the review revision says which verdict is the final one.
    bucket = bucket_open(str(tmp_path / "bucket"))
    revisions = [_alert("confirmed", 25, revision=1), _alert("dismissed", 25, revision=3)]
    if order:
        revisions.reverse()
    for revision in revisions:
        data = batch_encode(AggregateBatch(BatchKind.ALERTS, "c" * 32, alerts=(revision,)))
        bucket.create(batch_object_name(BatchKind.ALERTS, data, HOUR), data)
    [row] = cohort_load(bucket).alerts.itertuples()
    assert row.status == "dismissed"


def test_people_daily_outcomes_and_vitals(clinic: Clinic) -> None:
    cohort = cohort_load(str(clinic.bucket_dir))
    people = cohort_people(cohort)
    assert len(people) == 3
    np.testing.assert_allclose(people["person_days"], 120 / 1440)
    assert people["alerts"].tolist() == [1, 1, 1]
    assert people["confirmed"].sum() == 1 and people["dismissed"].sum() == 1
    assert people["fault_fraction"].between(0, 1).all()
    # The off-wrist and motion-artefact people have faults; nobody is all faults.
    assert (people["fault_fraction"] > 0).sum() >= 1
    daily = cohort_daily(cohort)
    assert daily["people"].tolist() == [3]
    assert daily[["tachycardia", "desaturation", "fall"]].to_numpy().tolist() == [[1, 1, 1]]
    outcomes = cohort_alert_outcomes(cohort).set_index("type")
    assert outcomes["total"].sum() == 3
    assert outcomes.loc["desaturation", "confirmed"] == 1
    vitals = cohort_vitals(cohort)
    assert vitals["hr_mean"].between(40, 120).all()
    assert vitals["spo2_mean"].between(85, 100).all()


def test_weighted_quantiles_equal_quantiles_of_the_repeated_values() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=50)
    weights = rng.integers(1, 10, size=50)
    repeated = np.sort(np.repeat(values, weights))
    qs = [0.1, 0.5, 0.9]
    expected = [repeated[int(np.ceil(q * len(repeated))) - 1] for q in qs]
    got = weighted_quantiles(pd.Series(values), pd.Series(weights), qs)
    np.testing.assert_allclose(got, expected)
    nan = weighted_quantiles(pd.Series([np.nan]), pd.Series([1]), [0.5])
    assert np.isnan(nan[0])
