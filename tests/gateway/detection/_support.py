"""Helpers shared by the detection tests: a small simulated cohort ingested like the gateway.

The simulator's firmware produces every record as the notification the watch would send;
the gateway's :class:`~gateway.ingest.Ingestor` decodes, aligns and stores them exactly as
``wearable/evaluation/pipeline.py::watch_run`` does (no radio). That happens once per
session; tests copy the stored records into stores of their own (``Store.add``), whole
or in parts, so each can cut the data where it needs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.ingest import Ingestor
from gateway.store import Store
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

#: Watch 0: a severe desaturation from 10 to 15 min. Watch 1: off the wrist from 10 to
#: 16 min. Clocks are exact so the episode times are the aligned times.
SCENARIO = """
[scenario]
name = "engine"
seed = 11
watches = 2
duration = "36min"

[watch]
clock_drift_ppm = 0.0
clock_offset_s = 0.0

[[episode]]
watch = 0
kind = "desaturation"
at = "10min"
duration = "5min"
severity = 1.0

[[episode]]
watch = 1
kind = "off_wrist"
at = "10min"
duration = "6min"

# No premature beats: these tests are about other events (watch 1 would otherwise have
# 8 % PVCs, bigeminy runs and their beat-quality events).
[[person]]
watch = 0
pvc_burden = 0.0
pac_burden = 0.0

[[person]]
watch = 1
pvc_burden = 0.0
pac_burden = 0.0
"""

DURATION_MIN = 36
#: Radio latency added to each record's delivery (as in the evaluation pipeline).
DELIVERY_LATENCY_MS = 40

Produced = list[tuple[Stream, bytes, float]]


@dataclass(frozen=True)
class Cohort:
    """The simulated cohort: what each watch sent and what the gateway stored."""

    start_ms: int
    epoch_start_s: float
    desat: str
    off_wrist: str
    produced: dict[str, Produced]
    records: dict[str, list[IngestRecord]]

    def at(self, minutes: float) -> int:
        """Aligned time (Unix ms) ``minutes`` after the scenario start."""
        return self.start_ms + round(minutes * 60_000)

    def fill(self, store: Store, keep: Callable[[IngestRecord], bool] | None = None) -> int:
        """Store the ingested records of every watch (those ``keep`` accepts)."""
        return store.records.add(
            [r for rs in self.records.values() for r in rs if keep is None or keep(r)]
        )


def ingest(store: Store, device: str, produced: Produced, start_ms: int) -> None:
    """Feed one watch's notifications through the gateway's ingest, as ``watch_run`` does."""
    now = [0]
    ingestor = Ingestor(store, batch_max=5000, clock=lambda: now[0])
    ingestor.state(device).live_from = {stream: 0 for stream in Stream}
    for stream, data, true_time_s in produced:
        now[0] = start_ms + round(true_time_s * 1000) + DELIVERY_LATENCY_MS
        ingestor.on_notification(device, RECORD_CHAR_BY_STREAM[stream], data)
    ingestor.flush()


def build_cohort(workdir: Path) -> Cohort:
    """Simulate :data:`SCENARIO` and ingest every watch into a store under ``workdir``."""
    scenario = scenario_parse(SCENARIO)
    start_ms = round(scenario.start_epoch_s * 1000)
    produced: dict[str, Produced] = {}
    for plan in scenario.plan():
        firmware = firmware_build(plan, scenario)
        items = firmware.advance(scenario.duration_s)
        produced[identity_of(plan).address] = [
            (item.stream, bytes(item.record), item.true_time_s) for item in items
        ]
    desat, off_wrist = produced
    records: dict[str, list[IngestRecord]] = {}
    with Store(workdir / "ingested.sqlite") as store:
        for device, notifications in produced.items():
            ingest(store, device, notifications, start_ms)
            records[device] = [
                r
                for stream in Stream
                for r in store.records.records_between(device, stream, 0, 1 << 62)
            ]
    return Cohort(start_ms, scenario.start_epoch_s, desat, off_wrist, produced, records)
