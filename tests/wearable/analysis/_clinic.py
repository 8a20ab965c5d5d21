"""A small simulated clinic for the analysis and notebook tests: a gateway store and the
bucket its sync filled, under two model versions.

Three people for two hours from 05:00 UTC (the first sleeping into the morning): every
record of the simulator goes through the real Ingestor into a store; the Detector assesses
the first hour with the shipped model and the second hour with a second release; two
alerts get a clinician's verdict; the real sync engine uploads everything to a
local-directory bucket. Nothing here is written by hand except the scenario.

The second release is the shipped network with recalibrated thresholds (every threshold
moved 0.05 towards 1), a real release shape (a model file and a manifest that passes
every gateway check) that needs no training run. Its score distributions therefore
differ from the first version only through the data the second hour brings.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.detection.engine import Detector
from gateway.ingest import Ingestor
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from gateway.sync.engine import SyncEngine, SyncSettings
from wearable_core.buckets import bucket_open
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import LoadedModel, model_load

SCENARIO = """
[scenario]
name = "clinic"
seed = 21
watches = 3
duration = "2h"
start = "2026-01-05T05:00:00Z"

[[episode]]
watch = 0
kind = "desaturation"
at = "20min"
duration = "5min"
severity = 1.0

[[episode]]
watch = 0
kind = "off_wrist"
at = "70min"
duration = "10min"

[[episode]]
watch = 1
kind = "tachycardia"
at = "75min"
duration = "20min"
severity = 1.0

[[episode]]
watch = 1
kind = "motion_artifact"
at = "30min"
duration = "5min"

[[episode]]
watch = 2
kind = "fall"
at = "85min"
duration = "10min"
"""

#: The second model version's name.
SECOND_VERSION = "baseline-recal-1"
#: The first phase (first model) in simulated seconds.
PHASE_S = 3600
DELIVERY_LATENCY_MS = 40


@dataclass(frozen=True)
class Clinic:
    """Where the data went, and what a test needs to check it."""

    store_path: Path
    bucket_dir: Path
    devices: tuple[str, ...]
    first_version: str
    second_version: str
    #: Alert id -> decision the builder recorded before the last sync.
    reviewed: dict[int, str]


def _second_model(directory: Path) -> LoadedModel:
    """The shipped network as a second release with recalibrated thresholds."""
    package = resources.files("wearable_core").joinpath("models")
    manifest = json.loads(package.joinpath("baseline.json").read_text("utf-8"))
    manifest["version"] = SECOND_VERSION
    manifest["thresholds"] = {k: min(0.95, v + 0.05) for k, v in manifest["thresholds"].items()}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(package.joinpath("baseline.tflite").read_bytes())
    (directory / "model.json").write_text(json.dumps(manifest), encoding="utf-8")
    return model_load(directory / "model.tflite")


def build_clinic(workdir: Path) -> Clinic:
    """Simulate, ingest, assess, review and sync :data:`SCENARIO` under ``workdir``."""
    scenario = scenario_parse(SCENARIO)
    start_ms = round(scenario.start_epoch_s * 1000)
    store_path = workdir / "gateway-store" / "gateway.sqlite"
    store_path.parent.mkdir(parents=True)
    bucket_dir = workdir / "bucket"
    now = [start_ms]
    plans = scenario.plan()
    firmwares = [firmware_build(plan, scenario) for plan in plans]
    devices = tuple(identity_of(plan).address for plan in plans)
    first = model_load(None)
    with Store(store_path) as store:
        ingestor = Ingestor(store, batch_max=5000, clock=lambda: now[0])
        # On the minute grid: these tests read back one alert per person (desaturation,
        # tachycardia, fall). At the default 15 s hop the second model (thresholds moved
        # by hand) also pages on watch 0 asleep at 49 bpm, a borderline window the grid
        # does not cut; detection quality is measured by `wearable eval`, not here.
        detector = Detector(store, first, record_windows=True, clock=lambda: now[0], hop_s=60)
        for plan, device in zip(plans, devices, strict=True):
            store.devices.upsert(device, name=plan.device_name, extra={"serial": plan.serial})
            ingestor.state(device).live_from = {stream: 0 for stream in Stream}
        for phase_end_s, model in ((PHASE_S, first), (scenario.duration_s, None)):
            if model is None:
                detector.set_model(_second_model(workdir / "model-2"))
            for firmware, device in zip(firmwares, devices, strict=True):
                for item in firmware.advance(phase_end_s):
                    now[0] = start_ms + round(item.true_time_s * 1000) + DELIVERY_LATENCY_MS
                    ingestor.on_notification(
                        device, RECORD_CHAR_BY_STREAM[item.stream], bytes(item.record)
                    )
            ingestor.flush()
            now[0] = start_ms + phase_end_s * 1000 + DELIVERY_LATENCY_MS
            detector.run_until_idle()
        alerts = store.alerts.list()
        reviewed: dict[int, str] = {}
        for alert, decision in zip(alerts, ("confirmed", "dismissed"), strict=False):
            store.alerts.set_status(alert.id, decision, "clinic fixture")
            reviewed[alert.id] = decision
        # A day later: every batch interval has passed, so sync uploads everything.
        now[0] += 24 * 3600 * 1000
        engine = SyncEngine(
            store,
            PseudonymKey(bytes(range(32))),
            bucket_open(str(bucket_dir)),
            SyncSettings(batch_interval_s=3600.0),
            clock=lambda: now[0],
            rng=random.Random(1),
        )
        engine.run_once(flush=True)
        store.checkpoint()
    return Clinic(
        store_path=store_path,
        bucket_dir=bucket_dir,
        devices=devices,
        first_version=first.manifest.version,
        second_version=SECOND_VERSION,
        reviewed=reviewed,
    )
