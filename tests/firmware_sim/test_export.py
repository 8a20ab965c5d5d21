from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from firmware_sim.export import LABELS_FILE, WATCHES_FILE, scenario_export
from firmware_sim.scenario import scenario_parse
from wearable_core.contracts.record_csv import file_name, header
from wearable_core.contracts.streams import Stream

SCENARIO = """
[scenario]
name = "export-test"
seed = 3
watches = 2
duration = "5min"

[[episode]]
watch = 1
kind = "desaturation"
at = "1min"
duration = "2min"
severity = 1.0

[[episode]]
watch = 0
kind = "off_wrist"
at = "2min"
duration = "1min"
"""


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path: Path) -> None:
    scenario = scenario_parse(SCENARIO)
    scenario_export(scenario, tmp_path / "a", seed=3)
    scenario_export(scenario, tmp_path / "b", seed=3)
    scenario_export(scenario, tmp_path / "c", seed=4)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["hr.csv"] != c["hr.csv"]
    assert set(a) == {
        "hr.csv",
        "spo2.csv",
        "temp.csv",
        "accel.csv",
        LABELS_FILE,
        WATCHES_FILE,
        "export.json",
    }


def test_records_are_complete_contiguous_and_decoded(tmp_path: Path) -> None:
    summary = scenario_export(scenario_parse(SCENARIO), tmp_path)
    rows = {s: list(csv.DictReader((tmp_path / file_name(s)).open())) for s in Stream}
    for stream in Stream:
        assert list(rows[stream][0]) == header(stream)
    devices = {r["device"] for r in rows[Stream.HEART_RATE]}
    assert len(devices) == 2
    for device in devices:
        for stream, per_device in ((Stream.HEART_RATE, 300), (Stream.TEMPERATURE, 5)):
            seqs = [int(r["sequence"]) for r in rows[stream] if r["device"] == device]
            assert seqs == list(range(per_device))
    assert summary.records == sum(len(r) for r in rows.values())
    # The off-wrist watch reports no contact and no SpO2 during the fault.
    labels = list(csv.DictReader((tmp_path / LABELS_FILE).open()))
    off = next(label for label in labels if label["kind"] == "off_wrist")
    during = [
        r
        for r in rows[Stream.HEART_RATE]
        if r["device"] == off["device"] and 130 <= int(r["sequence"]) < 170
    ]
    assert during and all(r["sensor_contact"] == "0" for r in during)
    # Desaturation shows up in the SpO2 stream of the other watch.
    desat = next(label for label in labels if label["kind"] == "desaturation")
    spo2 = [
        float(r["spo2_pct"])
        for r in rows[Stream.SPO2]
        if r["device"] == desat["device"] and 100 <= int(r["sequence"]) < 160 and r["spo2_pct"]
    ]
    assert spo2 and min(spo2) < 88


def test_duration_override(tmp_path: Path) -> None:
    summary = scenario_export(scenario_parse(SCENARIO), tmp_path, duration_s=120)
    assert summary.duration_s == 120
    hr = list(csv.DictReader((tmp_path / "hr.csv").open()))
    assert len(hr) == 2 * 120


@pytest.mark.parametrize("bad", ["0", "-60"])
def test_cli_rejects_bad_duration(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wearable.cli import main

    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    with pytest.raises(SystemExit) as raised:
        main(["sim", "export", "--scenario", str(scenario), "--out", str(tmp_path / "o"),
              "--duration", bad])  # fmt: skip
    assert raised.value.code == 2
    assert "--duration" in capsys.readouterr().err
