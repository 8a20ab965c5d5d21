"""``wearable eval`` end to end: a small labelled cohort and a real recording."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import wearable.evaluation.run
from tests.wearable.test_progress import Terminal
from wearable.cli import main
from wearable_core.contracts.anomalies import ANOMALY_TYPES

REPO = Path(__file__).resolve().parents[3]

# Two watches, 40 minutes, exact episodes: every alert and miss is predictable.
SCENARIO = """
[scenario]
name = "eval-small"
seed = 5
watches = 2
duration = "40min"

[rates]
tachycardia = 0
bradycardia = 0
af = 0
desaturation = 0
fever = 0
fall = 0
off_wrist = 0
flat_line = 0
motion_artifact = 0
data_gap = 0

[link]
drops_per_hour = 0
out_of_range_per_day = 0

[[episode]]
watch = 0
kind = "desaturation"
at = "10min"
duration = "6min"
severity = 0.8

[[episode]]
watch = 1
kind = "off_wrist"
at = "12min"
duration = "8min"

[[episode]]
watch = 1
kind = "fall"
at = "30min"
duration = "5min"
severity = 0.8
"""


def _eval(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["eval", *args, "--json"]) == 0
    captured = capsys.readouterr()
    report: dict[str, object] = json.loads(captured.out)
    if "--recording" not in args:
        # Never silent: one progress line per finished watch, the last one complete.
        lines = captured.err.strip().splitlines()
        assert lines and lines[-1].endswith("2/2 watches done"), captured.err
    return report


@pytest.mark.e2e
def test_eval_scores_a_labelled_cohort_through_the_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "small.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    report = _eval(capsys, "--scenario", str(scenario), "--seed", "5", "--workers", "2")
    pipeline = report["pipeline"]
    assert isinstance(pipeline, dict)
    assert pipeline["records_sent"] == pipeline["records_stored"] > 0
    assert pipeline["records_rejected"] == 0
    per_type = report["per_type"]
    assert isinstance(per_type, dict)
    assert set(per_type) == set(ANOMALY_TYPES)
    for metrics in per_type.values():
        for key in (
            "recall",
            "precision",
            "false_alerts_per_user_day",
            "median_latency_s",
            "p95_latency_s",
        ):
            assert key in metrics
    desat, fall = per_type["desaturation"], per_type["fall"]
    assert desat["episodes"] == 1 and desat["recall"] == 1.0
    assert 0 < desat["median_latency_s"] <= 180
    assert fall["episodes"] == 1 and fall["recall"] == 1.0
    assert report["fault_medical_alerts"] == 0
    assert set(report["af_window"]) >= {"sensitivity", "specificity"}  # type: ignore[arg-type]
    assert "false_alerts_per_user_day" in report
    # Same seed, same report, whatever the worker count; the figure is a PNG.
    figure = tmp_path / "eval.png"
    again = _eval(
        capsys,
        "--scenario",
        str(scenario),
        "--seed",
        "5",
        "--workers",
        "1",
        "--figure",
        str(figure),
    )
    assert again == report
    assert figure.read_bytes().startswith(b"\x89PNG")
    # The gateway configuration's policy overrides apply: a 6 min desaturation cannot
    # satisfy a 10 min minimum duration.
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[detection.policies]\ndesaturation = { min_duration_s = 600 }\n", encoding="utf-8"
    )
    strict = _eval(capsys, "--scenario", str(scenario), "--seed", "5", "--config", str(config))
    assert strict["policy_overrides"] == {"desaturation": {"min_duration_s": 600}}
    assert strict["per_type"]["desaturation"]["recall"] == 0.0  # type: ignore[index]


@pytest.mark.e2e
def test_eval_replays_a_real_recording(capsys: pytest.CaptureFixture[str]) -> None:
    recording = REPO / "examples" / "recordings" / "real" / "nsrdb_short_rr.csv"
    report = _eval(capsys, "--recording", str(recording))
    pipeline = report["pipeline"]
    assert isinstance(pipeline, dict)
    assert pipeline["records_sent"] == pipeline["records_stored"] > 0
    assert pipeline["windows_assessed"] == 5
    assert report["hours"] == pytest.approx(299.6 / 3600, abs=1e-3)
    assert report["alerts"] == len(report["alert_details"])  # type: ignore[arg-type]


def test_eval_refuses_a_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nwatches = -1\n", encoding="utf-8")
    assert main(["eval", "--scenario", str(bad)]) == 2
    assert "wearable eval:" in capsys.readouterr().err


def test_eval_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "gateway.toml"
    bad.write_text("[detection.policies]\nfevr = { min_duration_s = 60 }\n", encoding="utf-8")
    assert main(["eval", "--config", str(bad)]) == 2
    assert "detection.policies.fevr" in capsys.readouterr().err


def _two_watches(*args: object, progress: Any, **kwargs: object) -> dict[str, object]:
    """An evaluation that finishes two watches at once (no simulation)."""
    progress(1, 2)
    progress(2, 2)
    return {"pipeline": {}}


def test_on_a_terminal_the_progress_is_a_bar_not_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(wearable.evaluation.run, "scenario_evaluate", _two_watches)
    assert main(["eval", "--json"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "wearable eval: 1/2 watches done",
        "wearable eval: 2/2 watches done",
    ]
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["eval", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"pipeline": {}}
    assert "2/2 watches" in terminal.getvalue()
    assert "watches done" not in terminal.getvalue()
