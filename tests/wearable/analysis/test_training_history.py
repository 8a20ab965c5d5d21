"""The training job's reports in a bucket read back as its history and learning curve."""

from __future__ import annotations

import doctest
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cloud_training.job import REPORTS_PREFIX, JobSettings, job_run
from wearable.analysis import training_history
from wearable.analysis.training_history import training_history_load
from wearable.demo.workspace import SHIPPED_COHORTS
from wearable_core.buckets import bucket_open
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.model_release import keypair_generate, private_key_parse


def test_docstring_examples() -> None:
    assert doctest.testmod(training_history, raise_on_error=True).attempted > 0


def _report(started: str, outcome: str, **fields: Any) -> bytes:
    return json.dumps({"started_utc": started, "outcome": outcome, **fields}).encode()


def _side(recall: float) -> dict[str, dict[str, float]]:
    return {t: {"recall": recall, "fpr": 0.001} for t in ANOMALY_TYPES}


def test_runs_in_time_order_with_the_model_serving_after_each(tmp_path: Path) -> None:
    bucket = bucket_open(str(tmp_path / "bucket"))
    # Written out of order: the history sorts by start time, not by listing order.
    bucket.create(
        f"{REPORTS_PREFIX}b.json",
        _report(
            "2026-12-02T00:00:00Z",
            "not_better",
            exit_code=3,
            serving_version="m-1",
            gate={"challenger": _side(0.2), "champion": _side(0.8), "reasons": ["refused: x"]},
        ),
    )
    bucket.create(
        f"{REPORTS_PREFIX}a.json",
        _report(
            "2026-12-01T00:00:00Z",
            "published",
            exit_code=0,
            version="m-1",
            serving_version="baseline-3",
            gate={"challenger": _side(0.8), "champion": _side(0.5), "reasons": []},
        ),
    )
    bucket.create(f"{REPORTS_PREFIX}c.json", _report("2026-12-03T00:00:00Z", "no_new_data"))
    bucket.create(f"{REPORTS_PREFIX}d.json", b"{not json")
    history = training_history_load(bucket)
    runs = history.runs
    assert runs["outcome"].tolist() == ["published", "not_better", "no_new_data"]
    assert runs["serving_after"].tolist() == ["m-1", "m-1", "m-1"]
    assert runs["published"].tolist()[0] == "m-1" and runs["published"].isna().tolist()[1:] == [
        True,
        True,
    ]
    assert runs["reasons"].tolist()[1] == "refused: x"
    curve = history.curve[history.curve["type"] == "af"]
    # Before the first run, after it (published: the challenger), after the refusal (the
    # serving model again); the run that stopped before the gate adds no step.
    assert curve["step"].tolist() == [0, 1, 2]
    assert curve["model"].tolist() == ["baseline-3", "m-1", "m-1"]
    assert curve["recall"].tolist() == [0.5, 0.8, 0.8]
    assert curve["run"].tolist()[1:] == [0, 1] and curve["run"].isna().tolist()[0]
    assert [s["name"] for s in history.skipped] == [f"{REPORTS_PREFIX}d.json"]


@pytest.mark.integration
def test_the_history_of_real_job_runs(tmp_path: Path) -> None:
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(SHIPPED_COHORTS, bucket_dir / "cohorts")
    bucket = bucket_open(str(bucket_dir))
    pem, _ = keypair_generate()
    key = private_key_parse(pem)
    settings = JobSettings(epochs=2, seed=7, force=True)
    first = job_run(bucket, key, settings)
    second = job_run(bucket, key, settings)
    history = training_history_load(str(bucket_dir))
    outcomes = [first.outcome, second.outcome]
    assert history.runs["outcome"].tolist() == [o.name.lower() for o in outcomes]
    assert history.runs["exit_code"].tolist() == [o.exit_code for o in outcomes]
    assert history.runs["judged_against"].tolist()[0] == "baseline-3"
    curve = history.curve
    assert curve["step"].max() == 2 and len(curve) == 3 * len(ANOMALY_TYPES)
    tachycardia = curve[curve["type"] == "tachycardia"].set_index("step")
    assert tachycardia.loc[0, "recall"] == first.gate["champion"]["tachycardia"]["recall"]
    after_first = first.gate["challenger" if first.version else "champion"]
    assert tachycardia.loc[1, "recall"] == after_first["tachycardia"]["recall"]
