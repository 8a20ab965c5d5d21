"""``wearable sim export``: what every watch of a scenario would send, without any radio."""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from firmware_sim.scenario import Scenario
from firmware_sim.truth import TruthWriter
from firmware_sim.watch_assembly import firmware_build, identity_of

LABELS_FILE = "labels.csv"
WATCHES_FILE = "watches.csv"
MANIFEST_FILE = "export.json"
LABEL_COLUMNS = (
    "device",
    "kind",
    "category",
    "onset_s",
    "end_s",
    "onset_utc",
    "end_utc",
    "severity",
)
WATCH_COLUMNS = (
    "device",
    "name",
    "serial",
    "seed",
    "age_years",
    "sex",
    "resting_hr_bpm",
    "fitness",
    "spo2_baseline_pct",
    "skin_temp_baseline_c",
    "clock_drift_ppm",
    "clock_offset_s",
)


@dataclass(frozen=True)
class ExportSummary:
    scenario: str
    seed: int
    watches: int
    duration_s: int
    start_utc: str
    records: int


def _utc(epoch_s: float) -> str:
    return datetime.datetime.fromtimestamp(epoch_s, tz=datetime.UTC).isoformat()


def scenario_export(
    scenario: Scenario,
    out_dir: str | Path,
    seed: int | None = None,
    duration_s: int | None = None,
    *,
    progress: Callable[[float, float], None] | None = None,
) -> ExportSummary:
    """Write per-stream record CSVs, the label timeline and the cohort to ``out_dir``.

    The same scenario and seed give byte-identical files. ``progress`` (a live display)
    is called with ``(done, total)`` in simulated watch-seconds after each simulated
    hour of each watch, ``total`` being watches times the duration; it never changes
    the files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    used_seed = scenario.seed if seed is None else seed
    plans = scenario.plan(used_seed)
    duration = scenario.duration_s if duration_s is None else duration_s
    with (
        TruthWriter(out) as truth,
        (out / LABELS_FILE).open("w", newline="", encoding="utf-8") as labels_file,
        (out / WATCHES_FILE).open("w", newline="", encoding="utf-8") as watches_file,
    ):
        labels = csv.writer(labels_file, lineterminator="\n")
        labels.writerow(LABEL_COLUMNS)
        watches = csv.writer(watches_file, lineterminator="\n")
        watches.writerow(WATCH_COLUMNS)
        for index, plan in enumerate(plans):
            identity = identity_of(plan)
            device = identity.address
            profile = plan.profile
            watches.writerow(
                [
                    device,
                    plan.device_name,
                    plan.serial,
                    plan.seed,
                    profile.age_years,
                    profile.sex,
                    profile.resting_hr_bpm,
                    profile.fitness,
                    profile.spo2_baseline_pct,
                    profile.skin_temp_baseline_c,
                    plan.clock_drift_ppm,
                    plan.clock_offset_s,
                ]
            )
            for episode in plan.episodes:
                if episode.onset_s >= duration:
                    continue
                end = min(episode.end_s, float(duration))
                labels.writerow(
                    [
                        device,
                        episode.kind.value,
                        "fault" if episode.is_fault else "anomaly",
                        episode.onset_s,
                        end,
                        _utc(scenario.start_epoch_s + episode.onset_s),
                        _utc(scenario.start_epoch_s + end),
                        episode.severity,
                    ]
                )
            firmware = firmware_build(plan, scenario, duration)
            # Produce an hour at a time so memory stays flat over long scenarios.
            while not firmware.finished:
                for item in firmware.advance(firmware.produced_until_s + 3600):
                    truth.write(device, item)
                if progress is not None:
                    watch_done = min(firmware.produced_until_s, float(duration))
                    progress(index * duration + watch_done, len(plans) * duration)
        records = truth.rows
    summary = ExportSummary(
        scenario=scenario.name,
        seed=used_seed,
        watches=len(plans),
        duration_s=duration,
        start_utc=_utc(scenario.start_epoch_s),
        records=records,
    )
    (out / MANIFEST_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
