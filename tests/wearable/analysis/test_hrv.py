"""The HRV report uses resting, clean minutes and says how many it rests on."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.store import Store
from wearable.analysis.hrv import HRV_MIN_MINUTES, RR_MIN_COUNT, hrv_report, hrv_usable
from wearable.analysis.patient import patient_windows

from ._clinic import Clinic


@pytest.mark.parametrize("index", [0, 1, 2])
def test_report_counts_usable_minutes_per_hour(clinic: Clinic, index: int) -> None:
    with Store(clinic.store_path) as store:
        windows = patient_windows(store, clinic.devices[index])
    usable = hrv_usable(windows)
    # Never a minute without enough beats or with motion artefacts.
    assert (windows.loc[usable, "rr_count"] >= RR_MIN_COUNT).all()
    assert not (windows.loc[usable, "q_motion_artifact"] > 0.1).any()
    report = hrv_report(windows, "1h")
    assert len(report) == 2
    assert report["minutes"].sum() == usable.sum()
    assert report["coverage"].between(0, 1).all()
    enough = report["minutes"] >= HRV_MIN_MINUTES
    assert report.loc[enough, "hrv_rmssd"].between(5, 200).all()
    assert report.loc[~enough, "hrv_rmssd"].isna().all()
    # Counting moving minutes as well can only add minutes.
    assert (hrv_report(windows, "1h", rest_only=False)["minutes"] >= report["minutes"]).all()


def test_motion_artefact_minutes_are_left_out(clinic: Clinic) -> None:
    # Watch 1 has a motion artefact from minute 30 to 35.
    with Store(clinic.store_path) as store:
        windows = patient_windows(store, clinic.devices[1])
    flagged = windows["q_motion_artifact"] > 0.1
    assert flagged.sum() >= 3
    assert not np.any(hrv_usable(windows)[flagged])
