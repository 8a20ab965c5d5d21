"""windows_from_records and windows_from_export agree on the same simulated watch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_sim.export import scenario_export
from firmware_sim.scenario import scenario_parse
from wearable_core.features import features_extract_many, windows_from_export, windows_from_records

from ._support import SCENARIO, simulate_records

DRIFTING = SCENARIO.replace("clock_offset_s = 0.0", "clock_offset_s = 2.37").replace(
    "clock_drift_ppm = 0.0", "clock_drift_ppm = 35.0"
)

FIELDS = ("hr_bpm", "rr_ms", "rr_second", "spo2_pct", "temp_c", "accel_g", "contact", "present")


def test_records_and_export_give_identical_windows(tmp_path: Path) -> None:
    scenario = scenario_parse(DRIFTING)
    device, records = simulate_records(scenario)
    scenario_export(scenario, tmp_path)
    from_records = list(windows_from_records(records))
    from_export = list(windows_from_export(tmp_path, device))
    assert len(from_records) == len(from_export) > 30
    for a, b in zip(from_records, from_export, strict=True):
        assert (a.start_ms, a.device) == (b.start_ms, b.device)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(
        features_extract_many(from_records), features_extract_many(from_export)
    )
    assert list(windows_from_export(tmp_path, "C4:00:00:00:00:00")) == []
