"""A small simulated ward, ingested and assessed like the gateway does, for the sync tests.

Three watches for three hours (a tachycardia on watch 0, a fall on watch 1, watch 2 off
the wrist for a while): every record goes through the real Ingestor into a store, the
Detector assesses it with the shipped model and keeps window summaries for sync. Built
once per session; tests copy the store file and sync their copy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.detection.engine import Detector
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import model_load

SCENARIO = """
[scenario]
name = "sync"
seed = 5
watches = 3
duration = "3h"

[[episode]]
watch = 0
kind = "tachycardia"
at = "40min"
duration = "15min"
severity = 1.0

[[episode]]
watch = 1
kind = "fall"
at = "70min"
duration = "5min"

[[episode]]
watch = 2
kind = "off_wrist"
at = "100min"
duration = "10min"
"""

DELIVERY_LATENCY_MS = 40


@dataclass(frozen=True)
class Ward:
    """The assessed store and every identifier and time a privacy scan must not find."""

    store_path: Path
    start_ms: int
    end_ms: int
    addresses: tuple[str, ...]
    names: tuple[str, ...]
    serials: tuple[str, ...]
    #: Every exact time the store holds: record times (3 clocks), alert times.
    times_ms: frozenset[int]
    windows: int

    def copy_to(self, directory: Path) -> Path:
        """A private copy of the store (file only: the template was checkpointed)."""
        target = directory / "gateway.sqlite"
        shutil.copyfile(self.store_path, target)
        return target


def build_ward(workdir: Path) -> Ward:
    """Simulate, ingest and assess :data:`SCENARIO` into ``workdir/ward.sqlite``."""
    scenario = scenario_parse(SCENARIO)
    start_ms = round(scenario.start_epoch_s * 1000)
    path = workdir / "ward.sqlite"
    now = [start_ms]
    addresses, names, serials = [], [], []
    times: set[int] = set()
    with Store(path) as store:
        ingestor = Ingestor(store, batch_max=5000, clock=lambda: now[0])
        detector = Detector(store, model_load(None), record_windows=True, clock=lambda: now[0])
        for plan in scenario.plan():
            identity = identity_of(plan)
            device = identity.address
            addresses.append(device)
            names.append(plan.device_name)
            serials.append(plan.serial)
            store.devices.upsert(device, name=plan.device_name, extra={"serial": plan.serial})
            ingestor.state(device).live_from = {stream: 0 for stream in Stream}
            firmware = firmware_build(plan, scenario)
            for item in firmware.advance(scenario.duration_s):
                now[0] = start_ms + round(item.true_time_s * 1000) + DELIVERY_LATENCY_MS
                ingestor.on_notification(
                    device, RECORD_CHAR_BY_STREAM[item.stream], bytes(item.record)
                )
            ingestor.flush()
        detector.run_until_idle()
        windows = detector.windows_assessed
        for r in store.records.iter_records():
            times.update((r.watch_time_ms, r.gateway_time_ms, r.aligned_time_ms))
        for alert in store.alerts.list():
            times.update(
                t
                for t in (
                    alert.opened_ms,
                    alert.closed_ms,
                    alert.evidence_start_ms,
                    alert.evidence_end_ms,
                )
                if t is not None
            )
        store.checkpoint()
    return Ward(
        path,
        start_ms,
        now[0],
        tuple(addresses),
        tuple(names),
        tuple(serials),
        frozenset(times),
        windows,
    )
