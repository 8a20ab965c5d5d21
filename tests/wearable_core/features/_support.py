"""Shared simulated watch (every anomaly and fault once) for the feature tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from firmware_sim.scenario import Scenario, scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from wearable_core.features import WindowData, features_extract_many, windows_from_records
from wearable_core.records import IngestRecord

# Exact episodes, one per window range (true seconds); noon, so the wearer walks.
SCENARIO = """
[scenario]
name = "features"
seed = 3
watches = 1
duration = "40min"
start = "2026-01-05T12:00:00Z"

[watch]
clock_offset_s = 0.0
clock_drift_ppm = 0.0

# No premature beats here (ectopy has its own tests): the windows below are labelled.
[[person]]
watch = 0
pvc_burden = 0.0
pac_burden = 0.0

[[episode]]
watch = 0
kind = "af"
at = "2min"
duration = "6min"

[[episode]]
watch = 0
kind = "desaturation"
at = "10min"
duration = "3min"
severity = 0.8

[[episode]]
watch = 0
kind = "fall"
at = "15min10s"
duration = "5min"
severity = 0.7

[[episode]]
watch = 0
kind = "off_wrist"
at = "22min"
duration = "3min"

[[episode]]
watch = 0
kind = "data_gap"
at = "27min"
duration = "3min"

[[episode]]
watch = 0
kind = "flat_line"
at = "32min"
duration = "3min"

[[episode]]
watch = 0
kind = "motion_artifact"
at = "36min"
duration = "3min"
severity = 0.7
"""


@dataclass(frozen=True)
class Simulated:
    scenario: Scenario
    device: str
    records: list[IngestRecord]
    windows: list[WindowData]
    features: npt.NDArray[np.float32]

    def minute(self, k: int) -> int:
        """Index of the window covering minute ``k`` of the scenario."""
        start_ms = int(self.scenario.start_epoch_s * 1000) + 60_000 * k
        return [w.start_ms for w in self.windows].index(start_ms)


def simulate_records(scenario: Scenario) -> tuple[str, list[IngestRecord]]:
    plan = scenario.plan()[0]
    device = identity_of(plan).address
    firmware = firmware_build(plan, scenario)
    records = []
    for item in firmware.advance(scenario.duration_s):
        r = item.record
        t = r.watch_time_ms
        records.append(IngestRecord(device, item.stream, r.seq, t, t, t, r.payload))
    return device, records


@pytest.fixture(scope="session")
def simulated() -> Simulated:
    scenario = scenario_parse(SCENARIO)
    device, records = simulate_records(scenario)
    windows = list(windows_from_records(records))
    return Simulated(scenario, device, records, windows, features_extract_many(windows))
