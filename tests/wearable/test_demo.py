from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.e2e
def test_quick_demo_stores_every_record_it_sent() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "demo", "--quick", "--json", "--speed", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["watches"] == 3
    assert summary["simulated_seconds"] == 120
    assert summary["records_sent"] >= 3 * 120 * 3
    assert summary["records_stored"] == summary["records_sent"]
    assert summary["records_lost"] == 0
    assert all(w["rejected"] == 0 and w["gaps"] == 0 for w in summary["per_watch"])


@pytest.mark.e2e
def test_demo_raises_the_scenario_alerts_and_only_a_data_quality_event_for_the_fault() -> None:
    # examples/quick.toml: tachycardia on watch 0 from 2 to 7 min, a fall on watch 1 at
    # 4 min, watch 2 off the wrist from 3 to 5 min; 10 simulated minutes.
    result = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "demo", "--json", "--speed", "30"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["records_lost"] == 0
    watch0, watch1, watch2 = (w["address"] for w in summary["per_watch"])
    alerts = {(a["device"], a["type"]): a for a in summary["alerts"]}
    assert set(alerts) == {(watch0, "tachycardia"), (watch1, "fall")}
    assert 120 < alerts[(watch0, "tachycardia")]["opened_s"] <= 120 + 180
    assert 240 < alerts[(watch1, "fall")]["opened_s"] <= 240 + 120
    assert all(a["model_version"] == "baseline-1" for a in summary["alerts"])
    faults = [(q["device"], q["fault"]) for q in summary["data_quality_events"]]
    assert (watch2, "off_wrist") in faults
