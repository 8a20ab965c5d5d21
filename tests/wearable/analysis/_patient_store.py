"""One simulated patient in a gateway store, ingested and assessed as the gateway does."""

from __future__ import annotations

from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.detection.engine import Detector
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import model_load


def patient_scenario(
    name: str, minutes: int, desaturation_at: int, off_wrist_at: int, off_wrist_minutes: int
) -> str:
    """A one-watch scenario (seed 12, exact clock) with a 6-minute severe desaturation
    and an off-wrist period (times in minutes from the start)."""
    return f"""
[scenario]
name = "{name}"
seed = 12
watches = 1
duration = "{minutes}min"

[watch]
clock_drift_ppm = 0.0
clock_offset_s = 0.0

[[episode]]
watch = 0
kind = "desaturation"
at = "{desaturation_at}min"
duration = "6min"
severity = 1.0

[[episode]]
watch = 0
kind = "off_wrist"
at = "{off_wrist_at}min"
duration = "{off_wrist_minutes}min"
"""


def patient_store_build(path: Path, scenario_toml: str) -> tuple[str, int]:
    """Simulate a one-watch scenario into the store at ``path`` through the real Ingestor
    and Detector (shipped model); return the watch's address and the start (Unix ms)."""
    scenario = scenario_parse(scenario_toml)
    start_ms = round(scenario.start_epoch_s * 1000)
    [plan] = scenario.plan()
    device = identity_of(plan).address
    now = [start_ms]
    with Store(path) as store:
        ingestor = Ingestor(store, batch_max=5000, clock=lambda: now[0])
        ingestor.state(device).live_from = {stream: 0 for stream in Stream}
        for item in firmware_build(plan, scenario).advance(scenario.duration_s):
            now[0] = start_ms + round(item.true_time_s * 1000) + 40
            ingestor.on_notification(device, RECORD_CHAR_BY_STREAM[item.stream], bytes(item.record))
        ingestor.flush()
        Detector(store, model_load(None)).run_until_idle()
    return device, start_ms
