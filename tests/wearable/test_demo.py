"""``wearable demo``: the whole loop, and the pieces it is made of."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from tests.support.log_lines import MAC_SHAPED, root_logger_restored
from wearable.demo import _log_to_file
from wearable.demo.clinician import clinician_review
from wearable.demo.workspace import MARKER, WorkspaceError, gateway_config, workspace_prepare
from wearable.evaluation.metrics import TruthEpisode

#: The keys the issue asks ``wearable demo --json`` for.
REQUIRED = {
    "watches",
    "simulated_seconds",
    "records_sent",
    "records_stored",
    "records_lost",
    "records_duplicated",
    "alerts",
    "per_type",
    "uploaded_bytes",
    "raw_bytes",
    "model_version_start",
    "model_version_end",
    "wall_seconds",
}


@pytest.mark.e2e
def test_quick_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    # The first 100 minutes of examples/demo.toml at 60x: 6 watches, one episode of each
    # type, four kinds of sensor fault, a dropped link; at 50 min the clinician reviews
    # and the training job runs.
    out = tmp_path / "demo-run"
    result = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "demo", "--quick", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The gateway's log lines went to the workspace, redacted; the terminal got none.
    log = (out / "gateway.log").read_text(encoding="utf-8")
    assert "alert opened" in log and "alert opened" not in result.stderr
    assert MAC_SHAPED.findall(log + result.stderr) == []
    summary = json.loads(result.stdout)
    assert summary.keys() >= REQUIRED
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (summary["watches"], summary["simulated_seconds"]) == (6, 6000)
    # Nothing lost or duplicated between the watches and the store.
    assert summary["records_sent"] >= 6 * 6000 * 2.9  # ~3 records/s, less in faults
    assert summary["records_stored"] == summary["records_sent"]
    assert summary["records_lost"] == summary["records_duplicated"] == 0
    assert summary["medical_alerts_during_faults"] == 0
    assert set(summary["per_type"]) == {
        "tachycardia",
        "bradycardia",
        "af",
        "desaturation",
        "fever",
        "fall",
    }
    for kind in ("tachycardia", "bradycardia", "af", "desaturation", "fall"):
        assert summary["per_type"][kind]["episodes"] == 1
        assert summary["per_type"][kind]["recall"] == 1.0, kind
    assert summary["per_type"]["fever"]["episodes"] == 1
    # Aggregates, not records, left the gateway.
    assert 0 < summary["uploaded_bytes"] < summary["raw_bytes"] / 50
    # The loop: the first release served; the clinician's verdicts and the aggregates
    # reached the job; what the gate decided is what the gateway serves at the end.
    # (Runs differ: docs/demo.md has how often the job published, and why.)
    assert summary["model_version_start"] == "starter-1"
    assert summary["review"]["confirmed"] >= 4
    training = summary["training"]
    assert training["outcome"] in ("published", "not_better"), training
    job = json.loads((out / "train" / "job.json").read_text())
    assert job["ingest"]["new_batches"] > 0 and job["data"]["fleet_windows"] > 50
    assert sum(job["data"]["fleet_labelled_positive"].values()) > 0
    if training["outcome"] == "published":
        assert summary["model_version_end"] == training["version"]
        [_, change] = summary["model_changes"]
        assert change["at_s"] >= training["started_at_s"]
        assert summary["by_model"][training["version"]]["from_s"] == change["at_s"]
        # The running service itself swapped the release in. (Whether it then alerts
        # depends on what happens after the swap: --quick's episodes all come before it.)
        assert f'"to_version":"{training["version"]}"' in log
    else:
        assert summary["model_version_end"] == "starter-1"
        assert training["gate"]["reasons"]
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2
    assert (out / "bucket" / "models" / "current.json").exists()


def test_the_workspace_never_deletes_what_the_demo_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="non-empty directory the demo did not make"):
        workspace_prepare(mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    space, public = workspace_prepare(tmp_path / "demo")
    assert (space.root / MARKER).exists() and len(public) == 44
    assert (space.bucket / "cohorts" / "train" / "index.json").exists()
    assert space.private_key.stat().st_mode & 0o077 == 0
    # A second run replaces the first one's directory.
    (space.root / "old.txt").write_text("from the last run")
    again, _ = workspace_prepare(tmp_path / "demo")
    assert not (again.root / "old.txt").exists()


def test_the_clinician_confirms_true_alerts_and_dismisses_the_rest(tmp_path: Path) -> None:
    t0 = 1_767_600_000_000
    with Store(tmp_path / "gateway.sqlite") as store:
        for device in ("A", "B"):
            store.devices.upsert(device)
        true = store.alerts.add("A", "fall", "critical", t0 + 60_000, t0, t0 + 60_000, 1.0, None)
        false = store.alerts.add("B", "fall", "critical", t0 + 60_000, t0, t0 + 60_000, 1.0, None)
        episodes = [TruthEpisode("A", "fall", t0, t0 + 600_000, is_fault=False)]
        review = clinician_review(store, episodes)
        assert (review.confirmed, review.dismissed) == (1, 1)
        status = {a.id: a.status for a in store.alerts.list()}
        assert status == {true: "confirmed", false: "dismissed"}
        # A second round changes nothing already decided.
        again = clinician_review(store, episodes)
        assert (again.confirmed, again.dismissed) == (0, 0)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    with root_logger_restored():
        yield


@pytest.mark.usefixtures("restore_logging")
def test_the_demo_logs_to_its_workspace_redacted_not_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space, public = workspace_prepare(tmp_path / "demo", seed=42)
    config = gateway_config(space, public, 60.0)
    _log_to_file(space, config)
    logging.getLogger("gateway.alerts.sinks").warning(
        "alert opened: fall on C4:12:00:00:00:0A", extra={"device": "C4:12:00:00:00:0A"}
    )
    assert capsys.readouterr().err == ""
    log = space.log.read_text(encoding="utf-8")
    pseudonym = PseudonymKey.load(config.key_file).device("C4:12:00:00:00:0A")
    assert MAC_SHAPED.findall(log) == [] and log.count(pseudonym) == 2
