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
