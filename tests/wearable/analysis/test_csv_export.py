"""CSV export of one patient, from a store the gateway's own code filled and assessed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gateway.store import Store
from wearable.analysis.csv_export import (
    ALERT_CSV_COLUMNS,
    FEATURE_COLUMNS,
    VITAL_CSV_COLUMNS,
    alerts_csv,
    vitals_csv,
)
from wearable.analysis.patient import alert_review, patient_alerts, patient_windows
from wearable_core.contracts.features import FEATURE_NAMES

from ._patient_store import patient_scenario, patient_store_build

SCENARIO = patient_scenario("csv", 30, desaturation_at=8, off_wrist_at=20, off_wrist_minutes=4)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Windows and alerts (one reviewed, with a note) of a simulated, assessed patient."""
    path = tmp_path_factory.mktemp("csv") / "gateway.sqlite"
    device, _ = patient_store_build(path, SCENARIO)
    with Store(path) as store:
        alerts = patient_alerts(store, device)
        first = int(alerts.loc[alerts["type"] == "desaturation", "id"].iloc[0])
        alert_review(store, first, "confirmed", 'SpO2 "low", checked, ok')
        return patient_windows(store, device), patient_alerts(store, device)


def test_vitals_round_trip_through_pandas(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    windows, _ = frames
    path = tmp_path / "vitals.csv"
    assert vitals_csv(windows, path) == len(windows)
    back = pd.read_csv(path)
    assert tuple(back.columns) == VITAL_CSV_COLUMNS
    assert {"hr_mean_bpm", "spo2_mean_pct", "temp_level_degc", "q_contact_fraction"} <= set(
        back.columns
    )
    assert len(back) == len(windows)
    start = pd.to_datetime(back["start_utc"], utc=True)
    assert (start == windows["start"]).all()
    assert back["start_utc"].str.endswith("Z").all()
    assert ((pd.to_datetime(back["end_utc"], utc=True) - start) == pd.Timedelta(minutes=1)).all()
    for name in FEATURE_NAMES:
        column = FEATURE_COLUMNS[name]
        # Missing stays missing; values come back to the float32 the features are.
        assert (back[column].isna() == windows[name].isna()).all(), column
        np.testing.assert_array_equal(
            back[column].to_numpy(dtype="float32"), windows[name].to_numpy(dtype="float32")
        )
    # The off-wrist minutes really are in there, with empty HR.
    assert back["hr_mean_bpm"].isna().sum() >= 3


def test_alerts_round_trip_through_pandas(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, alerts = frames
    path = tmp_path / "alerts.csv"
    assert alerts_csv(alerts, path) == len(alerts) >= 1
    back = pd.read_csv(path, keep_default_na=False, na_values={"closed_utc": [""]})
    assert tuple(back.columns) == ALERT_CSV_COLUMNS
    assert list(back["id"]) == list(alerts.sort_values("opened_ms")["id"])
    row = back.loc[back["type"] == "desaturation"].iloc[0]
    source = alerts.loc[alerts["type"] == "desaturation"].iloc[0]
    assert row["status"] == "confirmed"
    assert row["note"] == 'SpO2 "low", checked, ok'  # quoting survives
    assert row["severity"] == "critical"
    assert pd.Timestamp(row["opened_utc"]) == source["opened"]
    assert pd.Timestamp(row["closed_utc"]) == source["closed"]
    assert float(row["duration_min"]) == pytest.approx(float(source["duration_min"]))
    assert float(row["peak_score"]) == pytest.approx(float(source["peak_score"]))


def test_open_alerts_and_empty_frames(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, alerts = frames
    still_open = alerts.copy()
    still_open["closed_ms"] = None
    alerts_csv(still_open, tmp_path / "open.csv")
    back = pd.read_csv(tmp_path / "open.csv")
    assert back["closed_utc"].isna().all() and back["duration_min"].isna().all()
    assert alerts_csv(alerts.iloc[0:0], tmp_path / "none.csv") == 0
    assert (tmp_path / "none.csv").read_text() == ",".join(ALERT_CSV_COLUMNS) + "\n"
    with pytest.raises(ValueError, match="hr_mean"):
        vitals_csv(pd.DataFrame({"start": []}), tmp_path / "bad.csv")


def test_the_same_data_gives_the_same_bytes(
    tmp_path: Path, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    windows, alerts = frames
    vitals_csv(windows, tmp_path / "a" / "vitals.csv")
    vitals_csv(windows.copy(), tmp_path / "b" / "vitals.csv")
    alerts_csv(alerts, tmp_path / "a" / "alerts.csv")
    alerts_csv(alerts.iloc[::-1], tmp_path / "b" / "alerts.csv")  # input order does not matter
    for name in ("vitals.csv", "alerts.csv"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes()
        assert b"\r" not in first
