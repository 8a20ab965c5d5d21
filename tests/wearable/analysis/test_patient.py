"""One patient's data as DataFrames, from a store the gateway's own code filled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gateway.store import Store
from wearable.analysis.patient import (
    UnknownDevice,
    alert_review,
    patient_alerts,
    patient_quality,
    patient_windows,
)
from wearable_core.contracts.features import FEATURE_NAMES

from ._patient_store import patient_scenario, patient_store_build

SCENARIO = patient_scenario("patient", 40, desaturation_at=10, off_wrist_at=25, off_wrist_minutes=5)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """A 40-minute patient ingested and assessed like the gateway does."""
    path = tmp_path_factory.mktemp("patient") / "gateway.sqlite"
    device, start_ms = patient_store_build(path, SCENARIO)
    return path, device, start_ms


def test_windows_are_one_row_per_minute_with_every_feature(
    store_path: tuple[Path, str, int],
) -> None:
    path, device, start_ms = store_path
    with Store(path) as store:
        frame = patient_windows(store, device)
    assert list(frame.columns) == ["start", *FEATURE_NAMES]
    assert 38 <= len(frame) <= 41
    assert frame["start"].is_monotonic_increasing
    assert (frame["start"].diff().dropna() == pd.Timedelta(minutes=1)).all()
    assert frame["start"].iloc[0] <= pd.Timestamp(start_ms + 60_000, unit="ms", tz="UTC")
    minute = (frame["start"] - pd.Timestamp(start_ms, unit="ms", tz="UTC")) / pd.Timedelta(
        minutes=1
    )
    desat = frame[(minute >= 11) & (minute < 15)]
    assert desat["spo2_mean"].max() < frame["spo2_mean"].iloc[:8].min()


def test_alerts_quality_and_a_review_written_back(store_path: tuple[Path, str, int]) -> None:
    path, device, start_ms = store_path
    with Store(path) as store:
        alerts = patient_alerts(store, device)
        quality = patient_quality(store, device)
        assert "desaturation" in set(alerts["type"])
        assert set(quality["fault"]) >= {"off_wrist"}
        assert (alerts["opened"] >= pd.Timestamp(start_ms, unit="ms", tz="UTC")).all()
        first = int(alerts["id"].iloc[0])
        row = alert_review(store, first, "confirmed", "seen on the ward round")
        assert row.status == "confirmed"
        with pytest.raises(ValueError, match="confirmed"):
            alert_review(store, first, "maybe")
    with Store(path) as store:
        again = patient_alerts(store, device)
        assert again.loc[again["id"] == first, "status"].item() == "confirmed"
        assert np.isnan(again["duration_min"]).sum() == again["closed_ms"].isna().sum()


def test_an_unknown_device_names_the_known_ones(store_path: tuple[Path, str, int]) -> None:
    path, device, _ = store_path
    with Store(path) as store, pytest.raises(UnknownDevice, match=device):
        patient_windows(store, "C4:00:00:00:00:00")
