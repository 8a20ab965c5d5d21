"""The training job end to end on a local-directory bucket: cohorts, fleet batches, gate,
a signed release the gateway's own updater accepts, reports and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cloud_training import gate
from cloud_training.cohort import cohort_load, cohort_write
from cloud_training.job import REPORTS_PREFIX, JobSettings, Outcome, job_run
from gateway.inference import ModelRunner
from gateway.model_update import ModelDirectory, ModelUpdater
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store.outbox import StoredWindow, WindowSummary
from gateway.store.store import AlertRow
from gateway.sync.aggregates import alerts_batch, windows_batches
from wearable.buckets import bucket_open
from wearable.buckets.base import Bucket
from wearable.cli import main as wearable_main
from wearable.contracts.aggregate_batch import batch_encode, batch_object_name
from wearable.contracts.model_release import (
    POINTER_NAME,
    keypair_generate,
    private_key_parse,
    public_key_parse,
)

SCENARIO = """
[scenario]
name = "tiny"
seed = 3
watches = 2
duration = "20min"

[[episode]]
watch = 0
kind = "desaturation"
at = "5min"
duration = "6min"
severity = 1.0

[[episode]]
watch = 1
kind = "tachycardia"
at = "6min"
duration = "8min"
severity = 1.0
"""

KEY = PseudonymKey(bytes(range(32)))
DEVICE = "C4:00:00:00:00:09"
T0_MS = 1_767_571_200_000


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bucket with a training and a validation cohort and one day of fleet batches."""
    root = tmp_path_factory.mktemp("job")
    scenario = root / "tiny.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    bucket = bucket_open(str(root / "template"))
    cohort_write(bucket, "train", scenario, seed=3, workdir=root)
    cohort_write(bucket, "validation", scenario, seed=4, workdir=root)
    _upload_fleet(bucket, cohort_load(bucket, "train").X)
    return root / "template"


def _upload_fleet(bucket: Bucket, X: np.ndarray) -> None:
    """Fleet batches as a gateway would send them, from realistic feature rows."""
    outputs = ModelRunner(_baseline_bytes()).predict(X.astype(np.float32))
    windows = [
        StoredWindow(
            i + 1,
            DEVICE,
            T0_MS,
            WindowSummary(
                T0_MS + i * 60_000, "baseline-1", X[i], outputs[i], 0, 0, notable=i % 3 == 0
            ),
        )
        for i in range(len(X))
    ]
    for part in windows_batches(KEY, DEVICE, windows, sample_every=2):
        data = batch_encode(part.batch)
        bucket.create(batch_object_name(part.batch.kind, data, part.first_hour), data)
    alert = AlertRow(
        1, DEVICE, "desaturation", "critical", T0_MS + 300_000, T0_MS + 660_000,
        T0_MS, T0_MS, 0.9, None, "confirmed", T0_MS, "", "baseline-1",
    )  # fmt: skip
    batch = alerts_batch(KEY, DEVICE, [alert])
    data = batch_encode(batch)
    bucket.create(batch_object_name(batch.kind, data, T0_MS // 3_600_000), data)


def _baseline_bytes() -> bytes:
    from importlib import resources

    return resources.files("gateway").joinpath("models", "baseline.tflite").read_bytes()


@pytest.fixture
def bucket_dir(prepared: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "bucket"
    shutil.copytree(prepared, target)
    return target


SETTINGS = JobSettings(epochs=5, seed=7)


def test_a_run_publishes_a_release_the_gateway_installs(
    bucket_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny data cannot be expected to beat the shipped baseline: this test is about the
    # publishing path, so the gate's margins are opened (the gate has its own tests).
    monkeypatch.setattr(gate, "RECALL_MARGIN", 1.0)
    monkeypatch.setattr(gate, "FPR_MARGIN", 1.0)
    pem, public = keypair_generate()
    bucket = bucket_open(str(bucket_dir))
    lines: list[str] = []
    report = job_run(bucket, private_key_parse(pem), SETTINGS, progress=lines.append)
    assert report.outcome is Outcome.PUBLISHED, report.message
    assert report.ingest["new_batches"] >= 2 and report.ingest["quarantined"] == []
    assert report.data["training_cohort_windows"] > 0 and report.data["fleet_windows"] > 0
    assert report.data["fleet_labelled_positive"]["desaturation"] > 0
    assert report.serving_version == "baseline-1" and report.version
    assert report.training["parity"]["decision_agreement"] >= 0.995
    assert any(line.startswith("train: done") for line in lines)
    reports = bucket.list(REPORTS_PREFIX)
    assert len(reports) == 1
    saved = json.loads(bucket.read(reports[0].name)[0])
    assert saved["outcome"] == "published" and saved["version"] == report.version

    # The gateway's own updater verifies and installs what the job published.
    updater = ModelUpdater(
        bucket,
        ModelDirectory(tmp_path / "models"),
        public_key_parse(public),
        serving_version="baseline-1",
    )
    result = updater.check()
    assert result.status == "installed" and result.version == report.version

    # Nothing new: the next run stops before training.
    again = job_run(bucket, private_key_parse(pem), SETTINGS)
    assert again.outcome is Outcome.NO_NEW_DATA and "train" not in again.seconds


def test_a_worse_model_is_not_published(bucket_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate, "RECALL_MARGIN", -1.0)  # nothing can pass
    pem, _ = keypair_generate()
    bucket = bucket_open(str(bucket_dir))
    report = job_run(bucket, private_key_parse(pem), SETTINGS)
    assert report.outcome is Outcome.NOT_BETTER and report.gate["reasons"]
    assert bucket.stat(POINTER_NAME) is None
    assert json.loads(bucket.read(bucket.list(REPORTS_PREFIX)[0].name)[0])["exit_code"] == 3


def test_the_command_line_exit_codes(
    bucket_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        wearable_main(["train", "--bucket", str(bucket_dir)])
    assert info.value.code == 2 and "keys generate" in capsys.readouterr().err
    assert wearable_main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    key = str(tmp_path / "keys" / "model-signing.pem")
    empty = tmp_path / "empty"
    code = wearable_main(["train", "--bucket", str(empty), "--key", key, "--force"])
    assert code == 1 and "wearable train cohort" in capsys.readouterr().err
    assert wearable_main(["train", "--bucket", str(empty), "--key", key]) == 4


def test_ingest_alone_then_nothing_new(
    bucket_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wearable_main(["train", "ingest", "--bucket", str(bucket_dir)]) == 0
    assert "ingested" in capsys.readouterr().out
    assert wearable_main(["train", "ingest", "--bucket", str(bucket_dir), "--json"]) == 4
    assert json.loads(capsys.readouterr().out)["new_batches"] == 0


def test_a_multi_worker_worker_exits_0() -> None:
    assert Outcome.WORKER_DONE.exit_code == 0 and Outcome.NOT_BETTER.exit_code == 3
