"""Rules-only detection on simulated exports: features → rules → alert manager."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from firmware_sim.export import scenario_export
from firmware_sim.scenario import scenario_parse
from gateway.alerts.manager import AlertManager
from wearable_core.assessment.assess import windows_assess
from wearable_core.assessment.types import AlertEvent, AlertType, DataQualityEvent
from wearable_core.features.window import windows_from_export

SCENARIO = """
[scenario]
name = "detect"
seed = 17
watches = 3
duration = "20min"

[[episode]]
watch = 0
kind = "desaturation"
at = "6min"
duration = "5min"
severity = 1.0

[[episode]]
watch = 1
kind = "off_wrist"
at = "6min"
duration = "6min"

[[episode]]
watch = 2
kind = "fall"
at = "8min"
duration = "8min"
severity = 0.9
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    scenario_export(scenario_parse(SCENARIO), out)
    return out


def _events(export: Path, device: str) -> list[AlertEvent | DataQualityEvent]:
    manager = AlertManager()
    events: list[AlertEvent | DataQualityEvent] = []
    for _window, _vector, assessment in windows_assess(windows_from_export(export, device)):
        events.extend(manager.assess(assessment))
    return events


def _devices(export: Path) -> list[str]:
    with (export / "watches.csv").open() as handle:
        return [row["device"] for row in csv.DictReader(handle)]


def _start_ms(export: Path) -> int:
    import datetime

    start = json.loads((export / "export.json").read_text())["start_utc"]
    return int(datetime.datetime.fromisoformat(start).timestamp() * 1000)


def test_desaturation_raises_one_alert_during_the_episode(export: Path) -> None:
    device = _devices(export)[0]
    opened = [
        e for e in _events(export, device) if isinstance(e, AlertEvent) and e.kind == "opened"
    ]
    assert [e.type for e in opened] == [AlertType.DESATURATION]
    onset = _start_ms(export) + 6 * 60_000
    latency_s = (opened[0].at_ms - onset) / 1000
    assert 0 <= latency_s <= 180


def test_off_wrist_is_a_data_quality_event_never_a_medical_alert(export: Path) -> None:
    device = _devices(export)[1]
    events = _events(export, device)
    assert not [e for e in events if isinstance(e, AlertEvent)]
    quality = [e for e in events if isinstance(e, DataQualityEvent) and e.kind == "opened"]
    assert quality, "the off-wrist period must show as a data-quality event"


def test_fall_is_detected_by_the_rule(export: Path) -> None:
    device = _devices(export)[2]
    opened = [
        e for e in _events(export, device) if isinstance(e, AlertEvent) and e.kind == "opened"
    ]
    assert AlertType.FALL in {e.type for e in opened}
    assert all(e.type is AlertType.FALL for e in opened), opened
