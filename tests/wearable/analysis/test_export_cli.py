"""``wearable export fhir|csv`` through its own parser (as ``wearable.cli`` registers it).

Here, not beside ``tests/wearable/test_cli.py``: it shares the analysis tests' patient
store builder, and ``tests/wearable`` cannot be a package (it would shadow ``wearable``)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from fhirclient.models.bundle import Bundle

from gateway.store import Store
from wearable.cli import export as export_cli

from ._patient_store import patient_scenario, patient_store_build

SCENARIO = patient_scenario("export", 30, desaturation_at=8, off_wrist_at=20, off_wrist_minutes=4)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """A 30-minute patient ingested and assessed like the gateway does."""
    path = tmp_path_factory.mktemp("export") / "gateway.sqlite"
    device, start_ms = patient_store_build(path, SCENARIO)
    return path, device, start_ms


def run(*argv: str) -> int:
    """Parse like ``wearable`` does (a top-level parser with export registered) and run."""
    parser = argparse.ArgumentParser(prog="wearable")
    commands = parser.add_subparsers(dest="command", required=True)
    export_cli.register(commands)
    args = parser.parse_args(["export", *argv])
    code: int = args.handler(args)
    return code


def _iso(ms: int) -> str:
    return str(pd.Timestamp(ms, unit="ms", tz="UTC").isoformat())


def test_fhir_writes_a_valid_bundle_deterministically(
    tmp_path: Path, store: tuple[Path, str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    path, device, _ = store
    common = ("--store", str(path), "--device", device, "--patient", "Patient/p1")
    first, second = tmp_path / "a" / "bundle.json", tmp_path / "b.json"
    assert run("fhir", *common, "--out", str(first)) == 0
    assert "vital-sign" in capsys.readouterr().out
    assert run("fhir", *common, "--out", str(second)) == 0
    assert first.read_bytes() == second.read_bytes()
    bundle = json.loads(first.read_text())
    Bundle(bundle, strict=True)
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]}
    assert {"8867-4", "2708-6", "61008-9", "desaturation"} <= codes
    assert {e["resource"]["subject"]["reference"] for e in bundle["entry"]} == {"Patient/p1"}
    body = tmp_path / "body.json"
    assert run("fhir", *common, "--out", str(body), "--temperature", "body") == 0
    codes = {
        e["resource"]["code"]["coding"][0]["code"] for e in json.loads(body.read_text())["entry"]
    }
    assert "8310-5" in codes and "61008-9" not in codes


def test_start_and_end_select_minutes_and_overlapping_alerts(
    tmp_path: Path, store: tuple[Path, str, int]
) -> None:
    path, device, start_ms = store

    def export(first_min: int, end_min: int, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        window = (
            *("--start", _iso(start_ms + first_min * 60_000)),
            *("--end", _iso(start_ms + end_min * 60_000)),
        )
        argv = ("--store", str(path), "--device", device, "--out", str(out), *window)
        assert run("csv", *argv) == 0
        return (
            pd.read_csv(out / export_cli.VITALS_FILE),
            pd.read_csv(out / export_cli.ALERTS_FILE),
        )

    vitals, alerts = export(16, 20, tmp_path / "after")
    assert len(vitals) == 4
    assert vitals["start_utc"].iloc[0] == _iso(start_ms + 16 * 60_000).replace("+00:00", "Z")
    # The desaturation alert (about minutes 9-15) closed before minute 16.
    assert "desaturation" not in set(alerts["type"])
    vitals, alerts = export(10, 12, tmp_path / "during")
    assert len(vitals) == 2
    assert "desaturation" in set(alerts["type"])
    everything = tmp_path / "all"
    assert run("csv", "--store", str(path), "--device", device, "--out", str(everything)) == 0
    assert "desaturation" in set(pd.read_csv(everything / export_cli.ALERTS_FILE)["type"])
    assert len(pd.read_csv(everything / export_cli.VITALS_FILE)) >= 29


def test_csv_writes_no_rows_for_months_without_data(
    tmp_path: Path, store: tuple[Path, str, int]
) -> None:
    """The same 30 minutes, the last 15 of them eleven months later (a watch clock far
    off, or a watch left in a drawer): one row per minute of data, none for the gap."""
    path, device, start_ms = store
    shift = 335 * 86_400_000
    resume = start_ms + 15 * 60_000
    gapped = tmp_path / "gapped.sqlite"
    with Store(path) as source, Store(gapped) as target:
        target.records.add(
            [
                r
                if r.aligned_time_ms < resume
                else dataclasses.replace(r, aligned_time_ms=r.aligned_time_ms + shift)
                for r in source.records.iter_records(device)
            ]
        )
    out = tmp_path / "csv"
    assert run("csv", "--store", str(gapped), "--device", device, "--out", str(out)) == 0
    starts = pd.read_csv(out / export_cli.VITALS_FILE)["start_utc"].tolist()
    expected = [start_ms + m * 60_000 for m in range(15)]
    expected += [start_ms + m * 60_000 + shift for m in range(15, 30)]
    assert starts == [_iso(ms).replace("+00:00", "Z") for ms in expected]
    # --start months before the data adds no empty rows either.
    early = tmp_path / "early"
    argv = ("--store", str(gapped), "--device", device, "--out", str(early))
    assert run("csv", *argv, "--start", _iso(start_ms - shift)) == 0
    assert pd.read_csv(early / export_cli.VITALS_FILE)["start_utc"].tolist() == starts


@pytest.mark.parametrize(
    ("argv", "flag", "fix"),
    [
        (("--device", "C4:00:00:00:00:00"), "--device", "pass one of those"),
        (("--start", "yesterday"), "--start", "2026-03-01T08:00:00Z"),
        (("--start", "2026-01-05T01:00:00Z", "--end", "2026-01-05T00:00:00Z"), "--end", "swap"),
        (("--patient", "p1"), "--patient", "Patient/123"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(
    tmp_path: Path,
    store: tuple[Path, str, int],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    flag: str,
    fix: str,
) -> None:
    path, device, _ = store
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    options = {"--store": str(path), "--device": device, "--patient": "Patient/p1", **given}
    out = tmp_path / "bundle.json"
    flat = [item for pair in options.items() for item in pair]
    assert run("fhir", *flat, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"wearable export fhir: {flag}")
    assert fix in err
    if flag == "--device":
        assert device in err  # lists the devices the store has
    assert not out.exists()


def test_a_missing_store_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "gateway.sqlite"
    code = run(
        "csv", "--store", str(missing), "--device", "C4:00:00:00:00:00", "--out", str(tmp_path)
    )
    assert code == 2
    assert "--store" in capsys.readouterr().err
    assert not missing.exists() and not missing.parent.exists()


def test_an_unwritable_output_exits_1(
    tmp_path: Path, store: tuple[Path, str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    path, device, _ = store
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = run("csv", "--store", str(path), "--device", device, "--out", str(blocker / "sub"))
    assert code == 1
    assert "--out" in capsys.readouterr().err
