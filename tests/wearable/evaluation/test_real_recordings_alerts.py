"""Real recordings as regression tests: expected alerts on every real RR recording.

Each file of ``examples/recordings/real/`` goes through ``wearable eval --recording FILE
--json`` in-process (the CLI, so the same code path as the command: replay through the
watch firmware, ingest, store, detector with the shipped model, alert manager). What is
expected is written down per file: no alert at all on normal sinus rhythm, no AF on
MIT-BIH record 208 (frequent PVCs and bigeminy are not AF; its one alert today is a
model tachycardia at about 105 bpm, docs/evaluation.md), and no alert at all on the
pulse intervals of a wrist PPG at night (about 79 bpm; missed and extra beats from the
optical sensor are not AF). A new file in the directory fails the test until its
expectation is added here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wearable.cli import main

REAL = Path(__file__).resolve().parents[3] / "examples" / "recordings" / "real"

#: Per recording: alert types that must not open (``None``: no alert of any type),
#: and the number of 60-s windows the replay assesses.
EXPECTED: dict[str, tuple[frozenset[str] | None, int]] = {
    "nsrdb_short_rr.csv": (None, 5),
    "nsrdb_long_rr.csv": (None, 60),
    "mitdb208_rr.csv": (frozenset({"af"}), 5),
    "wrist_ppg_rr.csv": (None, 12),
}


def test_every_real_recording_has_an_expectation() -> None:
    assert sorted(p.name for p in REAL.glob("*.csv")) == sorted(EXPECTED)


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_recording_expected_alerts(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--recording", str(REAL / name), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    forbidden, windows = EXPECTED[name]
    assert report["pipeline"]["windows_assessed"] == windows
    opened = [a["type"] for a in report["alert_details"]]
    if forbidden is None:
        assert opened == [], report["alert_details"]
    else:
        assert not forbidden & set(opened), report["alert_details"]
