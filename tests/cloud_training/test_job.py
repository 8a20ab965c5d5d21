"""The training job end to end on a local-directory bucket: cohorts, fleet batches, gate,
a signed release the gateway's own updater accepts, reports and exit codes."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_training import gate
from cloud_training import job as job_module
from cloud_training.job import (
    REPORTS_PREFIX,
    STAGES,
    TRAINED_NAME,
    JobProgress,
    JobReport,
    JobSettings,
    Outcome,
    job_run,
)
from gateway.model_update import ModelDirectory, ModelUpdater
from wearable.cli import main as wearable_main
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import BucketUnavailable
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    keypair_generate,
    private_key_parse,
    public_key_parse,
)

# TensorFlow training: `make test` runs these, `make unit` leaves them out.
pytestmark = pytest.mark.slow

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
    steps: list[JobProgress] = []
    report = job_run(bucket, private_key_parse(pem), SETTINGS, progress=steps.append)
    assert report.outcome is Outcome.PUBLISHED, report.message
    assert report.ingest["new_batches"] >= 2 and report.ingest["quarantined"] == []
    assert report.data["training_cohort_windows"] > 0 and report.data["fleet_windows"] > 0
    assert report.data["fleet_labelled_positive"]["desaturation"] > 0
    assert report.serving_version == "baseline-3" and report.version
    assert report.training["parity"]["decision_agreement"] >= 0.995
    # Judged as served: the detector's gates only ever close scores, so no type flags
    # more validation windows than the bare model does, and the report keeps both views.
    for who in ("challenger", "champion"):
        for kind, served in report.gate[who].items():
            bare = report.gate["unserved"][who][kind]
            assert served["fpr"] <= bare["fpr"] and served["negatives"] == bare["negatives"]
    lines = [step.line for step in steps if step.line is not None]
    assert any(line.startswith("train: done") for line in lines)
    assert "train: epoch 5/5 [####################] loss" in "\n".join(lines)
    # A live display's view: steps only move forward, through the stages in order, one
    # per batch read and per epoch, and end at the total.
    done = [step.done for step in steps]
    order = [STAGES.index(step.stage) for step in steps]
    assert done == sorted(done) and order == sorted(order) and done[-1] == steps[-1].total
    assert steps[-1].total == len(STAGES) + SETTINGS.epochs + report.ingest["new_batches"]
    assert [s.detail for s in steps if s.stage == "ingest" and s.line is None] == [
        f"batch {n}/{report.ingest['new_batches']}"
        for n in range(1, report.ingest["new_batches"] + 1)
    ]
    assert sum(s.detail.startswith("epoch ") for s in steps) == SETTINGS.epochs
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
    with pytest.raises(SystemExit) as info:
        wearable_main(["train", "--bucket", str(bucket_dir), "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert info.value.code == printed["exit_code"] == 2
    assert (
        printed["error"]["type"] == "SetupError" and "keys generate" in printed["error"]["message"]
    )
    assert wearable_main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    key = str(tmp_path / "keys" / "model-signing.pem")
    empty = tmp_path / "empty"
    code = wearable_main(["train", "--bucket", str(empty), "--key", key, "--force"])
    assert code == 1 and "wearable train cohort" in capsys.readouterr().err
    # With --json a failed run prints its report with an error object, and the report
    # is in the bucket like a successful run's.
    code = wearable_main(["train", "--bucket", str(empty), "--key", key, "--force", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 1 and printed["outcome"] == "error" and printed["exit_code"] == 1
    assert printed["error"]["type"] == "CohortMissing"
    assert "wearable train cohort" in printed["error"]["message"]
    saved = json.loads(bucket_open(str(empty)).read(printed["report_object"])[0])
    assert saved["error"] == printed["error"]
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
    assert Outcome.ALREADY_CURRENT.exit_code == 5


def test_same_seed_same_model(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.setattr(gate, "RECALL_MARGIN", 1.0)
    monkeypatch.setattr(gate, "FPR_MARGIN", 1.0)
    pem, _ = keypair_generate()
    versions = []
    for run in range(2):
        copy = tmp_path / f"run{run}"
        shutil.copytree(prepared, copy)
        report = job_run(bucket_open(str(copy)), private_key_parse(pem), SETTINGS)
        assert report.outcome is Outcome.PUBLISHED
        versions.append(report.version)
    # The version digests the model and its thresholds: the same seed and data give the
    # same bytes and thresholds.
    assert versions[0] == versions[1]


def test_rollback_without_history_says_so(
    bucket_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEARABLE_SIGNING_KEY", raising=False)
    key = tmp_path / "model-signing.pem"
    key.write_bytes(keypair_generate()[0])
    with pytest.raises(SystemExit) as info:
        wearable_main(["train", "rollback", "--bucket", str(bucket_dir), "--key", str(key)])
    assert info.value.code == 1 and capsys.readouterr().err.startswith("wearable train:")
    # The rollback signs the pointer: without a key it cannot.
    with pytest.raises(SystemExit) as info:
        wearable_main(["train", "rollback", "--bucket", str(bucket_dir)])
    assert info.value.code == 2 and "no signing key" in capsys.readouterr().err


def test_the_champion_is_the_newest_release_a_gateway_would_serve(tmp_path: Path) -> None:
    from importlib import resources

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from cloud_training.job import serving_release
    from cloud_training.publish import release_publish
    from wearable_core.contracts.model_release import model_object

    bucket = bucket_open(str(tmp_path / "bucket"))
    key = Ed25519PrivateKey.generate()
    assert serving_release(bucket, key.public_key()) == (None, [])
    package = resources.files("wearable_core").joinpath("models")
    model = package.joinpath("baseline.tflite").read_bytes()
    manifest = json.loads(package.joinpath("baseline.json").read_text("utf-8"))
    release_publish(bucket, model, {**manifest, "version": "good-1"}, key)
    release_publish(bucket, model, {**manifest, "version": "bad-2"}, key)
    # The newest release's model is damaged in storage: every gateway refuses it and
    # keeps serving good-1, so good-1 is the model to beat.
    info = bucket.stat(model_object("bad-2"))
    assert info is not None
    damaged = model[:-1] + bytes([model[-1] ^ 1])
    bucket.replace(model_object("bad-2"), damaged, if_generation=info.generation)

    release, skipped = serving_release(bucket, key.public_key())

    assert release is not None
    version, champion, thresholds = release
    assert (version, champion) == ("good-1", model)
    assert list(thresholds) == pytest.approx(list(manifest["thresholds"].values()))
    assert [(s["version"], s["check"]) for s in skipped] == [("bad-2", "model_sha256")]
    # Signed by another key: nothing this job would sign is serving.
    release, skipped = serving_release(bucket, Ed25519PrivateKey.generate().public_key())
    assert release is None
    assert [s["check"] for s in skipped] == ["signature", "signature"]


def test_a_retry_trains_what_a_failed_run_ingested_and_a_forced_rerun_is_already_current(
    bucket_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "RECALL_MARGIN", 1.0)
    monkeypatch.setattr(gate, "FPR_MARGIN", 1.0)
    pem, _ = keypair_generate()
    key = private_key_parse(pem)
    bucket = bucket_open(str(bucket_dir))
    # The run ingests (the checkpoint moves), then fails before training.
    cohort_load = job_module.cohort_load

    def unavailable(*args: object, **kwargs: object) -> None:
        raise BucketUnavailable(f"{bucket.url}: 'cohorts/train': 503", url=bucket.url)

    monkeypatch.setattr(job_module, "cohort_load", unavailable)
    failed = JobReport()
    with pytest.raises(BucketUnavailable):
        job_run(bucket, key, SETTINGS, report=failed)
    assert failed.ingest["new_batches"] >= 2 and failed.report_object is not None
    saved = json.loads(bucket.read(failed.report_object)[0])
    assert (saved["outcome"], saved["exit_code"]) == ("error", 1)
    assert saved["error"] == {
        "type": "BucketUnavailable",
        "message": f"{bucket.url}: 'cohorts/train': 503",
    }
    monkeypatch.setattr(job_module, "cohort_load", cohort_load)

    # Nothing new to ingest, but nothing trained on what was: the retry trains (it used
    # to exit 4 and leave those batches untrained until more arrived).
    retry = job_run(bucket, key, SETTINGS)
    assert retry.outcome is Outcome.PUBLISHED, retry.message
    assert retry.ingest["new_batches"] == 0 and retry.ingest["untrained_corpus"] is True
    recorded = json.loads(bucket.read(TRAINED_NAME)[0])
    assert (recorded["outcome"], recorded["release"]) == ("published", retry.version)
    assert job_run(bucket, key, SETTINGS).outcome is Outcome.NO_NEW_DATA

    # --force on unchanged data: same model and thresholds, same version, already
    # current. It used to fail forever with "already exists with different content".
    pointer = bucket.stat(POINTER_NAME)
    releases = bucket.list("models/")
    forced = job_run(bucket, key, dataclasses.replace(SETTINGS, force=True))
    assert forced.outcome is Outcome.ALREADY_CURRENT, forced.message
    assert forced.outcome.exit_code == 5 and forced.version == retry.version
    assert bucket.stat(POINTER_NAME) == pointer and bucket.list("models/") == releases


def test_the_shipped_baseline_is_a_floor_below_which_no_release_goes(
    bucket_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "RECALL_MARGIN", 1.0)
    monkeypatch.setattr(gate, "FPR_MARGIN", 1.0)
    bucket = bucket_open(str(bucket_dir))
    key = private_key_parse(keypair_generate()[0])
    first = job_run(bucket, key, SETTINGS)
    assert first.outcome is Outcome.PUBLISHED, first.message
    # Judged against the shipped baseline itself: no second comparison.
    assert "floor" not in first.gate

    # Another model on the same data, against the release: the real gate on both sides.
    second = job_run(bucket, key, dataclasses.replace(SETTINGS, seed=8, force=True))
    floor = second.gate["floor"]
    assert second.serving_version == first.version and floor["version"] == "baseline-3"
    assert floor["passed"] and floor["reasons"] == [] and len(floor["notes"]) > 0
    assert any("vs the floor baseline-3" in note for note in floor["notes"])
    assert set(floor["intervals"]) == set(second.gate["intervals"])

    # A challenger the floor refuses is not published, whatever the serving model says;
    # the refusal is the floor's own sentence.
    def refusing_floor(*args: object, **kwargs: object) -> gate.GateDecision:
        decision = gate.gate_decide(*args, **kwargs)  # type: ignore[arg-type]
        if str(kwargs.get("against", "")).startswith("the floor"):
            return dataclasses.replace(decision, passed=False, reasons=("refused: by the floor",))
        return decision

    monkeypatch.setattr(job_module, "gate_decide", refusing_floor)
    third = job_run(bucket, key, dataclasses.replace(SETTINGS, seed=9, force=True))
    assert third.outcome is Outcome.NOT_BETTER
    assert third.message == "not published: worse than the floor baseline-3 on the gate metrics"
    assert third.gate["reasons"] == ["refused: by the floor"]
    assert third.gate["floor"]["passed"] is False


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr on a console does."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_display_and_the_json_is_the_same(
    bucket_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same data twice, published and judged alike: one run on a pipe, one on a
    # terminal. Only stderr differs: the stages' lines there, the live display here.
    monkeypatch.setattr(gate, "RECALL_MARGIN", 1.0)
    monkeypatch.setattr(gate, "FPR_MARGIN", 1.0)
    assert wearable_main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    key = str(tmp_path / "keys" / "model-signing.pem")
    capsys.readouterr()
    argv = ["--key", key, "--epochs", "2", "--seed", "7", "--json"]
    shutil.copytree(bucket_dir, tmp_path / "again")
    assert wearable_main(["train", "--bucket", str(bucket_dir), *argv]) == 0
    piped, err = capsys.readouterr()
    # (Other tests in this process may have left a log handler: lines besides ours.)
    stages = [line for line in err.splitlines() if line.startswith("[train] ")]
    assert stages[0] == "[train] ingest ..." and "[train] train: epoch 2/2 " in err
    assert "━" not in err  # no bar on a pipe
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert wearable_main(["train", "--bucket", str(tmp_path / "again"), *argv]) == 0
    shown, err = capsys.readouterr()
    assert err == "" and "[train]" not in terminal.getvalue()
    assert "writing the report" in terminal.getvalue() and "100%" in terminal.getvalue()
    first, second = json.loads(piped), json.loads(shown)
    for report in (first, second):  # when it ran and how fast aside
        del report["started_utc"], report["seconds"], report["report_object"]
        del report["training"]["windows_per_s"]
    # Same seed, same release: the version is the digest of the model bytes.
    assert first == second and first["outcome"] == "published" and first["version"]


def test_a_scheduled_run_does_not_load_the_display(tmp_path: Path) -> None:
    # A scheduler's stderr is a pipe or a log: the live display stays unloaded. (Keras
    # itself loads rich's console for its model summaries, so rich as such is in.)
    assert wearable_main(["keys", "generate", "--out", str(tmp_path / "keys")]) == 0
    key = str(tmp_path / "keys" / "model-signing.pem")
    code = (
        "import atexit, sys\n"
        "from wearable.cli import main\n"
        "atexit.register(lambda: print(' '.join(sys.modules), flush=True))\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["train", "--bucket", str(tmp_path / "empty"), "--key", key]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 4, done.stderr
    modules = done.stdout.split()
    assert "cloud_training.job" in modules and "wearable.progress" in modules
    assert "rich.progress" not in modules and "rich.live" not in modules
    assert done.stderr.splitlines()[0] == "[train] ingest ..."
