"""Sync through the real google-cloud-storage client against fake-gcs-server on 127.0.0.1.

The gateway is pointed at the emulator only through ``STORAGE_EMULATOR_HOST`` (the
standard variable), and at injected faults through a proxy in front of it. What the
tests check is what the bucket really holds afterwards: every batch exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.store import Store
from tests.support.fault_proxy import FaultProxy
from tests.support.gcs_emulator import GcsEmulator
from wearable.cli import main as wearable_main
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.aggregate_batch import BatchKind
from wearable_core.contracts.model_release import public_key_encode

from ._support import Ward
from ._synthetic import DEVICES, T0_MS, add_windows, uploaded, windows_by_hour

pytestmark = pytest.mark.integration

UPLOAD = "POST /upload/"


def _direct(url: str, emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """The same bucket opened straight on the emulator, to inspect what really arrived."""
    with monkeypatch.context() as m:
        m.setenv("STORAGE_EMULATOR_HOST", emulator.endpoint)
        return bucket_open(url)


def _config(tmp_path: Path, **sync: object) -> Path:
    lines = ["[sync]", *(f"{k} = {json.dumps(v)}" for k, v in sync.items())]
    path = tmp_path / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_injected_errors_and_resets_still_deliver_exactly_once(
    ward: Ward,
    ward_store: Path,
    tmp_path: Path,
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, url = fault_proxy
    # Faults before the request reaches the bucket, and lost responses after it wrote.
    for kind, when in [
        ("503", "before"),
        ("500", "before"),
        ("429", "before"),
        ("reset", "before"),
        ("503", "after"),
        ("429", "after"),
        ("reset", "after"),
    ]:
        proxy.inject(kind, when=when, match=UPLOAD)  # type: ignore[arg-type]
    # The client retries each request for up to 3 s; what outlasts that is retried by
    # the outbox in the next cycle (tiny backoff here), as cron would run it again.
    config = _config(tmp_path, retry_deadline_s=3, backoff_base_s=0.001, backoff_cap_s=0.001)
    argv = ["gateway", "sync", "--config", str(config), "--store", str(ward_store)]
    argv += ["--bucket", url, "--json"]
    reports = []
    for cycle in range(10):
        code = wearable_main([*argv, "--flush"] if cycle == 0 else argv)
        reports.append(json.loads(capsys.readouterr().out))
        if code == 0 and reports[-1]["backlog_items"] == 0:
            break
        time.sleep(0.01)
    assert code == 0, [r["error"] for r in reports]
    assert proxy.pending_faults == 0 and proxy.faults_injected == 7
    built = sum(reports[0]["built"].values())
    with Store(ward_store) as store:
        status = store.sync.status()
        assert store.outbox.usage().total_items == 0
    # Lost responses were retried into 412s: counted as already there, not re-written.
    assert status["already_present"] >= 1
    assert status["uploaded_objects"] == built

    objects = uploaded(_direct(url, gcs_emulator, monkeypatch))
    assert len(objects) == built
    per_hour = windows_by_hour(b for _, b in objects)
    assert sum(per_hour.values()) == ward.windows  # every assessed window exactly once
    # A second cycle has nothing left to send and adds nothing.
    assert wearable_main(["gateway", "sync", "--store", str(ward_store), "--bucket", url]) == 0
    assert len(_direct(url, gcs_emulator, monkeypatch).list()) == len(objects)


def test_bucket_outage_keeps_everything_until_it_returns(
    ward: Ward,
    ward_store: Path,
    tmp_path: Path,
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, url = fault_proxy
    config = _config(tmp_path, retry_deadline_s=2, backoff_base_s=0.001, backoff_cap_s=0.001)
    proxy.offline = True
    argv = ["gateway", "sync", "--config", str(config), "--store", str(ward_store)]
    argv += ["--bucket", url, "--json"]
    assert wearable_main([*argv, "--flush"]) == 4  # exit 4: bucket unreachable, try later
    down = json.loads(capsys.readouterr().out)
    assert down["uploaded"] == 0 and "unavailable" in down["error"]
    assert down["outcome"] == "bucket_unreachable"
    assert down["backlog_items"] == sum(down["built"].values())

    # Honest status: the error and the backlog, no success.
    assert wearable_main(["gateway", "status", "--store", str(ward_store), "--json"]) == 0
    sync = json.loads(capsys.readouterr().out)["sync"]
    assert sync["last_success_ms"] is None and "unavailable" in sync["last_error"]
    assert sum(sync["backlog_items"].values()) == down["backlog_items"]

    proxy.offline = False
    time.sleep(0.01)  # past the (tiny) backoff
    assert wearable_main(argv) == 0
    up = json.loads(capsys.readouterr().out)
    assert up["outcome"] == "ok"
    assert up["uploaded"] == down["backlog_items"] and up["backlog_items"] == 0
    objects = uploaded(_direct(url, gcs_emulator, monkeypatch))
    assert sum(windows_by_hour(b for _, b in objects).values()) == ward.windows


def test_bucket_down_for_the_model_check_exits_4(
    ward_store: Path,
    tmp_path: Path,
    fault_proxy: tuple[FaultProxy, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy, url = fault_proxy
    config = _config(tmp_path, retry_deadline_s=1, backoff_base_s=0.001, backoff_cap_s=0.001)
    key = public_key_encode(Ed25519PrivateKey.generate())
    config.write_text(config.read_text("utf-8") + f'[models]\npublic_key = "{key}"\n', "utf-8")
    argv = ["gateway", "sync", "--config", str(config), "--store", str(ward_store)]
    argv += ["--bucket", url, "--json"]
    assert wearable_main([*argv, "--flush"]) == 0  # everything uploaded; no release yet
    first = json.loads(capsys.readouterr().out)
    assert first["backlog_items"] == 0 and first["model"]["status"] == "no_release"
    # Nothing left to upload: only the model check needs the bucket, and it is down.
    proxy.offline = True
    assert wearable_main(argv) == 4
    down = json.loads(capsys.readouterr().out)
    assert down["built"] == {} and down["uploaded"] == 0
    assert (down["outcome"], down["model"]["status"]) == ("bucket_unreachable", "unavailable")


def _many_batches(path: Path) -> int:
    """A store with 3 devices x 8 days of window summaries (24 aggregate batches)."""
    with Store(path) as store:
        for day in range(8):
            for i, device in enumerate(DEVICES):
                add_windows(store, device, T0_MS + day * 86_400_000, 1440, T0_MS, seed=i)
                store.alerts.add(device, "af", "warning", T0_MS, T0_MS, T0_MS, 0.4, None, "m")
    return len(DEVICES) * 8


def test_kill_9_mid_upload_leaves_exactly_one_copy_of_each_batch(
    tmp_path: Path, gcs_bucket_url: str, gcs_emulator: GcsEmulator
) -> None:
    store = tmp_path / "gateway.sqlite"
    expected_days = _many_batches(store)
    bucket = bucket_open(gcs_bucket_url)
    env = {**os.environ, "STORAGE_EMULATOR_HOST": gcs_emulator.endpoint}
    command = [sys.executable, "-m", "wearable.cli", "gateway", "sync", "--store", str(store)]
    command += ["--bucket", gcs_bucket_url, "--flush"]
    kills = 0
    # Kill the sync process as soon as the bucket holds 1, then 10, then 20 objects more
    # than before: each kill lands in the middle of the upload loop.
    for step in (1, 10, 20):
        before = len(bucket.list())
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if len(bucket.list()) >= before + step:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.002)
        process.wait(timeout=30)
    assert kills >= 2, "the sync finished before it could be killed: too few batches"
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr

    objects = uploaded(bucket)
    per_hour = windows_by_hour(b for _, b in objects)
    # 8 days x 24 hours per device, 60 windows each: a duplicate batch would show as 120.
    assert len(per_hour) == expected_days * 24 and set(per_hour.values()) == {60}
    aggregates = [b for _, b in objects if b.kind is BatchKind.AGGREGATES]
    assert len(aggregates) == expected_days
    alerts = [a for _, b in objects if b.kind is BatchKind.ALERTS for a in b.alerts]
    assert len(alerts) == len({a.alert for a in alerts}) == expected_days
    with Store(store) as s:
        assert s.outbox.usage().total_items == 0 and s.outbox.pending_window_count() == 0
