"""Chaos: the whole loop on real processes with every failure at once.

Processes, as in production: the radio hub (`wearable sim radio`), the watches
(`wearable sim watches --speed 1 --truth DIR --loss P`, every record they produce written
to the truth files, random link drops from the scenario), the gateway service
(`wearable gateway run`, detection on, syncing every few seconds), fake-gcs-server behind
:class:`~tests.support.fault_proxy.FaultProxy`, and the training job
(`wearable train`) as a subprocess mid-run. The bucket starts with the labelled cohorts
and a weak first release (trained on the first ``--starter-hours`` of the cohort).

While the watches produce, all of these happen on a seeded schedule:

- the gateway is killed with SIGKILL several times and restarted after a few seconds;
- the bucket goes away (every connection refused) twice, for a minute or two;
- 500, 503, 429 and connection resets are injected into requests, before they reach the
  bucket and after it acted (lost responses), every ~20 s;
- a bad release is published: a corrupt flatbuffer, correctly hashed and signed, so only
  the gateway's load and canary checks can catch it;
- the training job runs against the faulty bucket (retried like a scheduler would if it
  fails), gates its model against the release the gateways serve, and publishes.

Then the faults stop, the gateway drains, the gateway is stopped and one final
``wearable gateway sync --flush`` runs. What the run proves, read back from the truth
files, the store and the bucket:

- records: every record the watches produced is stored (set equality on device, stream
  and sequence), none stored twice;
- windows: every window the detector assessed is in the bucket exactly once (the bucket's
  hour summaries add up to the windows assessed);
- alerts: no medical alert during a sensor fault, no alert raised twice for one episode,
  recall per type against the scenario's ground truth;
- models: the bad release refused, the gateway ends on the job's release if the gate
  passed it (and on the starter if not).

Usage::

    python benchmarks/bench_chaos.py --minutes 24

Prints one JSON object; exit 0 when every check holds. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The repository root: the GCS emulator and the fault proxy are tests.support.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_gateway_cpu import hub, rss_mb, spawn, stop
from loop_evidence import (
    bucket_contents,
    store_catch_up,
    stored_keys,
    truth_keys,
    windows_assessed,
)

ROOT = Path(__file__).resolve().parents[1]
COHORTS = ROOT / "examples" / "demo" / "cohorts"
BUCKET_NAME = "chaos"
BUCKET_URL = f"gs://{BUCKET_NAME}/fleet"
BAD_VERSION = "chaos-bad-1"

GATEWAY_TOML = """
[ble]
backoff_initial_s = 1.0
backoff_max_s = 5.0

[log]
level = "INFO"

[sync]
bucket = "{bucket}"
interval_s = 5.0
batch_interval_s = 120.0
backoff_base_s = 2.0
backoff_cap_s = 20.0
retry_deadline_s = 3.0

[models]
public_key = "{public_key}"
"""

# Eight watches; every acute type once and every sensor fault, after ten minutes of
# normal data for the personal baselines. Random link drops on top.
SCENARIO = """
[scenario]
name = "chaos"
seed = {seed}
watches = 8
duration = "{minutes}min"
start = "{start}"

[link]
drops_per_hour = {drops}

[[episode]]
watch = 0
kind = "tachycardia"
at = "11min"
duration = "8min"
severity = 0.9

[[episode]]
watch = 1
kind = "bradycardia"
at = "11min"
duration = "8min"
severity = 0.9

[[episode]]
watch = 2
kind = "af"
at = "11min"
duration = "10min"
severity = 0.9

[[episode]]
watch = 3
kind = "desaturation"
at = "12min"
duration = "4min"
severity = 1.0

[[episode]]
watch = 4
kind = "fall"
at = "13min"
duration = "5min"
severity = 0.8

[[episode]]
watch = 5
kind = "motion_artifact"
at = "12min"
duration = "5min"

[[episode]]
watch = 6
kind = "off_wrist"
at = "12min"
duration = "6min"

[[episode]]
watch = 7
kind = "data_gap"
at = "13min"
duration = "4min"

[[episode]]
watch = 5
kind = "flat_line"
at = "19min"
duration = "4min"
"""


@dataclass
class Chaos:
    """What was done to the system, counted."""

    kills: list[float] = field(default_factory=list)
    restarts: int = 0
    outages: list[tuple[float, float]] = field(default_factory=list)
    faults_scheduled: Counter[str] = field(default_factory=Counter)
    bad_release_at: float | None = None


def _env(emulator: str) -> dict[str, str]:
    return dict(os.environ, STORAGE_EMULATOR_HOST=emulator, PYTHONUNBUFFERED="1")


def bucket_seed(bucket: Any) -> None:
    """The labelled cohorts the demo ships, as the training job expects them."""
    for path in sorted(COHORTS.rglob("*")):
        if path.is_file():
            bucket.create(f"cohorts/{path.relative_to(COHORTS).as_posix()}", path.read_bytes())


def final_sync_ok(returncode: int, stdout: str) -> bool:
    """Whether the last ``wearable gateway sync --json`` ended as it should.

    Exit 0, or exit 5 (release refused) when the only problem is the bad release this
    run planted: if no good release was published after it, the bucket's pointer still
    names it, and ``sync`` reports the refusal on every run (docs/operations/
    gateway-service.md). Any other code (3 backing off, 4 bucket down, ...) is a failure.
    """
    if returncode == 0:
        return True
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return False
    return (
        returncode == 5
        and report.get("problems") == ["release_refused"]
        and (report.get("model") or {}).get("version") == BAD_VERSION
    )


def publish_bad_release(bucket: Any, key_path: Path) -> None:
    """Publish a corrupt flatbuffer whose manifest has its true size and SHA-256 and is
    signed with the fleet's key: what a broken converter would ship."""
    from datetime import UTC, datetime

    from wearable_core.contracts.model_release import (
        POINTER_NAME,
        manifest_decode,
        manifest_encode,
        manifest_object,
        manifest_sign,
        model_object,
        pointer_expiry,
        pointer_for,
        pointer_parse,
        pointer_sign,
        private_key_load,
        sha256_hex,
        signature_object,
    )

    raw, generation = bucket.read(POINTER_NAME)
    current = pointer_parse(raw)
    model = bytearray(bucket.read(model_object(current.version))[0])
    model[4:8] = b"XXXX"  # the flatbuffer identifier "TFL3"
    model[0:4] = b"\xff\xff\xff\x7f"  # root table offset far past the end
    manifest = manifest_decode(bucket.read(manifest_object(current.version))[0])
    manifest.update(version=BAD_VERSION, sha256=sha256_hex(bytes(model)), bytes=len(model))
    encoded = manifest_encode(manifest)
    bucket.create(model_object(BAD_VERSION), bytes(model))
    bucket.create(manifest_object(BAD_VERSION), encoded)
    key = private_key_load(key_path)
    bucket.create(signature_object(BAD_VERSION), manifest_sign(encoded, key))
    history = (current.version, *current.history)
    expires = pointer_expiry(datetime.now(UTC))
    pointer = pointer_for(
        BAD_VERSION, encoded, history, counter=current.counter + 1, expires=expires
    )
    bucket.replace(POINTER_NAME, pointer_sign(pointer, key), if_generation=generation)


def schedule(rng: random.Random, minutes: float) -> list[tuple[float, str]]:
    """The failure schedule, seconds after the watches start."""
    span = minutes * 60
    events: list[tuple[float, str]] = []
    for fraction in (0.17, 0.38, 0.62, 0.85):
        events.append((fraction * span + rng.uniform(-30, 30), "kill"))
    for fraction in (0.25, 0.7):
        start = fraction * span + rng.uniform(-20, 20)
        events.append((start, "outage_start"))
        events.append((start + rng.uniform(60, 120), "outage_end"))
    events.append((0.28 * span, "bad_release"))
    events.append((0.5 * span, "train"))
    t = 20.0
    while t < span:
        events.append((t, "inject"))
        t += rng.uniform(10, 30)
    return sorted(events)


def gateway_start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wearable.cli", "gateway", "run", *args],
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
        text=True,
        env=env,
    )


class TrainingRuns:
    """The training job as a scheduler runs it: started once, run again 30 s after an
    error exit (1), at most ``retries`` times. Each run's JSON report is ``job-N.json``."""

    def __init__(self, work: Path, key: Path, env: dict[str, str], retries: int = 2) -> None:
        self.work, self.key, self.env, self.retries = work, key, env, retries
        self.process: subprocess.Popen[str] | None = None
        self.retry_at: float | None = None
        self.runs: list[dict[str, Any]] = []

    def start(self) -> None:
        n = len(self.runs)
        argv = [sys.executable, "-m", "wearable.cli", "train", "--bucket", BUCKET_URL]
        argv += ["--key", str(self.key), "--force", "--json"]
        self.process = subprocess.Popen(
            argv,
            stdout=(self.work / f"job-{n}.json").open("w"),
            stderr=(self.work / f"job-{n}.log").open("w"),
            text=True,
            env=self.env,
        )

    def poll(self, now: float) -> None:
        """Record a finished run; start the retry when it is due."""
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.runs.append({"at_s": round(now), "exit": code})
            self.process = None
            if code == 1 and len(self.runs) <= self.retries:
                self.retry_at = now + 30
        if self.process is None and self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            self.start()

    @property
    def busy(self) -> bool:
        return self.process is not None or self.retry_at is not None

    def reports(self) -> list[dict[str, Any]]:
        out = []
        for n in range(len(self.runs)):
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads((self.work / f"job-{n}.json").read_text()))
        return out


def alerts_scored(
    alerts: list[Any], scenario_path: Path, seed: int, duration_s: int, shift_ms: int
) -> dict[str, Any]:
    """Alerts against the scenario's ground truth (shifted onto the gateway's clock)."""
    from firmware_sim.scenario import scenario_load
    from wearable.evaluation.metrics import ScoredAlert, TruthEpisode, evaluate
    from wearable.evaluation.run import scenario_episodes

    scenario = scenario_load(scenario_path)
    episodes = [
        TruthEpisode(e.device, e.kind, e.onset_ms + shift_ms, e.end_ms + shift_ms, e.is_fault)
        for e in scenario_episodes(scenario, seed, duration_s)
    ]
    scored = [
        ScoredAlert(
            a.device, a.type, a.opened_ms, a.evidence_start_ms, a.evidence_end_ms, a.closed_ms
        )
        for a in alerts
    ]
    user_days = scenario.watches * duration_s / 86400
    result = evaluate(episodes, scored, [], user_days)
    # An alert raised twice for one condition: same device and type, overlapping in time.
    repeated = 0
    by_key: dict[tuple[str, str], list[Any]] = {}
    for a in sorted(alerts, key=lambda a: a.opened_ms):
        earlier = by_key.setdefault((a.device, a.type), [])
        if any(b.closed_ms is None or b.closed_ms > a.opened_ms for b in earlier):
            repeated += 1
        earlier.append(a)
    return {
        "per_type": {
            kind: {k: v[k] for k in ("episodes", "detected", "recall", "false_alerts")}
            for kind, v in result["per_type"].items()
            if v["episodes"] or v["false_alerts"]
        },
        "false_alerts": result["false_alerts"],
        "fault_medical_alerts": result["fault_medical_alerts"],
        "fault_medical_alert_details": result["fault_medical_alert_details"],
        "alerts_raised_twice": repeated,
        "missed": result["missed_episode_details"],
    }


def _gate_table(gate: dict[str, Any]) -> dict[str, dict[str, list[float | None]]]:
    """Per type, ``[recall, false-positive rate]`` of the job's model and the one it was
    judged against, as gateways serve them (the job's gate metrics)."""
    return {
        who: {t: [m.get("recall"), m.get("fpr")] for t, m in (gate.get(who) or {}).items()}
        for who in ("challenger", "champion")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=24.0, help="watches produce this long")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--loss", type=float, default=0.01, help="live notifications lost")
    parser.add_argument("--drops", type=float, default=6.0, help="link drops per watch-hour")
    parser.add_argument("--starter-hours", type=float, default=1.0)
    parser.add_argument("--drain", type=float, default=600.0, help="seconds to catch up")
    parser.add_argument("--keep", type=Path, help="copy the work directory here")
    args = parser.parse_args()
    if args.minutes < 24:
        parser.error("--minutes must be >= 24: the scenario's episodes end at 23 min")

    from gateway.store import Store
    from tests.support.fault_proxy import FaultProxy
    from tests.support.gcs_emulator import GcsEmulator
    from wearable.cli.keys import PRIVATE_FILE, keys_generate
    from wearable_core.buckets import bucket_open

    rng = random.Random(args.seed)
    chaos = Chaos()
    wall0 = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp,
        GcsEmulator() as emulator,
        FaultProxy(emulator.endpoint) as proxy,
    ):
        work = Path(tmp)
        emulator.create_bucket(BUCKET_NAME)
        direct_env, faulty_env = _env(emulator.endpoint), _env(proxy.endpoint)
        os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint
        bucket = bucket_open(BUCKET_URL)  # the ML team's own view, not through the faults
        bucket_seed(bucket)
        public_key = keys_generate(work / "secrets")
        key = work / "secrets" / PRIVATE_FILE
        started = time.monotonic()
        starter = subprocess.run(
            [sys.executable, "-m", "wearable.demo.starter", "--bucket", BUCKET_URL,
             "--key", str(key), "--hours", str(args.starter_hours)],
            capture_output=True, text=True, env=direct_env, check=True,
        )  # fmt: skip
        starter_version = json.loads(starter.stdout)["version"]
        setup_s = time.monotonic() - started

        store = work / "store" / "gateway.sqlite"
        config = work / "gateway.toml"
        config.write_text(GATEWAY_TOML.format(bucket=BUCKET_URL, public_key=public_key))
        truth = work / "truth"
        scenario = work / "chaos.toml"
        start_s = int(time.time()) + 5
        scenario.write_text(
            SCENARIO.format(
                seed=args.seed,
                minutes=round(args.minutes),
                drops=args.drops,
                start=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s)),
            )
        )
        peak_rss = 0.0
        with hub(work) as address:
            farm = spawn(
                "sim", "watches", "--radio", address, "--scenario", str(scenario),
                "--speed", "1", "--truth", str(truth), "--loss", str(args.loss),
                log=work / "farm.log",
            )  # fmt: skip
            assert farm.stdout is not None
            farm.stdout.readline()  # "started": simulated second 0 is now
            shift_ms = round(time.time() * 1000) - start_s * 1000
            gw_args = ["--config", str(config), "--store", str(store), "--radio", address]
            gateway = gateway_start(gw_args, work / "gateway.log", faulty_env)
            training = TrainingRuns(work, key, faulty_env)
            produce_started = time.monotonic()
            try:
                for at, action in schedule(rng, args.minutes):
                    while (now := time.monotonic() - produce_started) < at:
                        time.sleep(min(1.0, at - now))
                        if gateway.poll() is not None:  # died by itself: restart, count it
                            chaos.restarts += 1
                            gateway = gateway_start(gw_args, work / "gateway.log", faulty_env)
                        peak_rss = max(peak_rss, rss_mb(gateway.pid))
                        training.poll(now)
                    if action == "kill":
                        gateway.send_signal(signal.SIGKILL)
                        gateway.wait()
                        chaos.kills.append(round(at, 1))
                        time.sleep(rng.uniform(2, 10))
                        gateway = gateway_start(gw_args, work / "gateway.log", faulty_env)
                    elif action == "outage_start":
                        proxy.offline = True
                        chaos.outages.append((round(at, 1), 0.0))
                    elif action == "outage_end":
                        proxy.offline = False
                        begun = chaos.outages[-1][0]
                        chaos.outages[-1] = (begun, round(at - begun, 1))
                    elif action == "bad_release":
                        publish_bad_release(bucket, key)
                        chaos.bad_release_at = round(at, 1)
                    elif action == "train":
                        training.start()
                    elif action == "inject":
                        kind = rng.choice(["500", "503", "429", "reset"])
                        when = rng.choice(["before", "after"])
                        proxy.inject(kind, when=when, count=rng.randint(1, 3))  # type: ignore[arg-type]
                        chaos.faults_scheduled[f"{kind}/{when}"] += 1
                produce_s = time.monotonic() - produce_started
                # The faults stop; the job finishes; the gateway catches up and syncs.
                proxy.offline = False
                proxy.clear()
                while training.busy:
                    time.sleep(2)
                    training.poll(time.monotonic() - produce_started)
                drain_s = store_catch_up(truth, store, args.drain)
                time.sleep(150)  # the last windows wait for late streams, then one more sync
                drain_s += 150
                peak_rss = max(peak_rss, rss_mb(gateway.pid))
            finally:
                stop(gateway)
                stop(farm)
                if training.process is not None:
                    training.process.kill()
        final_sync = subprocess.run(
            [sys.executable, "-m", "wearable.cli", "gateway", "sync", "--config", str(config),
             "--store", str(store), "--flush", "--json"],
            capture_output=True, text=True, env=faulty_env,
        )  # fmt: skip

        held, rows, duplicates = stored_keys(store)
        expected = truth_keys(truth)
        assessed, pending = windows_assessed(store)
        with Store.open(store) as db:
            alerts, quality = db.alerts.list(), db.quality_events.list()
        contents = bucket_contents(bucket)
        models_dir = store.parent / "models"
        current = json.loads((models_dir / "current.json").read_text())["current"]
        refused_path = models_dir / "refused.json"
        refused = json.loads(refused_path.read_text()) if refused_path.exists() else {}
        job_reports = training.reports()
        published = [r["version"] for r in job_reports if r.get("outcome") == "published"]
        expected_model = published[-1] if published else starter_version
        log_text = (work / "gateway.log").read_text(errors="replace")
        detection = alerts_scored(alerts, scenario, args.seed, round(args.minutes * 60), shift_ms)
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)

    assessed_total = sum(assessed.values())
    checks = {
        "nothing_lost": len(expected - held) == 0,
        "nothing_stored_twice": duplicates == 0 and len(held - expected) == 0,
        "every_window_in_the_bucket_once": contents["windows_total"] == assessed_total
        and sum(pending.values()) == 0,
        "no_person_hour_over_60_windows": contents["max_windows_in_a_person_hour"] <= 60,
        "no_medical_alert_in_a_fault": detection["fault_medical_alerts"] == 0,
        "no_alert_raised_twice": detection["alerts_raised_twice"] == 0,
        "bad_release_refused": BAD_VERSION in {r["version"] for r in refused.get("refused", [])}
        and current != BAD_VERSION,
        "ends_on_the_gated_model": current == expected_model,
        "final_sync_ok": final_sync_ok(final_sync.returncode, final_sync.stdout),
    }
    result: dict[str, Any] = {
        "benchmark": "chaos",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "watches": 8,
        "minutes": args.minutes,
        "seed": args.seed,
        "chaos": {
            "gateway_kills": chaos.kills,
            "gateway_unplanned_restarts": chaos.restarts,
            "bucket_outages_s": chaos.outages,
            "faults_scheduled": dict(chaos.faults_scheduled),
            "faults_injected": proxy.faults_injected,
            "requests_through_proxy": proxy.requests_seen,
            "bad_release_at_s": chaos.bad_release_at,
            "training_jobs": training.runs,
            "notification_loss": args.loss,
            "link_drops_per_watch_hour": args.drops,
            "gateway_log_lines": {
                level: log_text.count(f'"level":"{level}"') for level in ("warning", "error")
            },
        },
        "records": {
            "produced": len(expected),
            "stored": len(held & expected),
            "lost": len(expected - held),
            "stored_not_produced": len(held - expected),
            "store_rows": rows,
            "rows_duplicated": duplicates,
        },
        "windows": {
            "assessed": assessed_total,
            "not_yet_batched": sum(pending.values()),
            **{k: v for k, v in contents.items() if k.startswith(("windows", "max"))},
        },
        "bucket": {k: contents[k] for k in ("objects", "release_objects", "alert_ids")},
        "alerts": {"stored": len(alerts), "quality_events": len(quality), **detection},
        "models": {
            "starter": starter_version,
            "jobs": [
                {k: r.get(k) for k in ("outcome", "version", "serving_version", "message")}
                | {
                    "skipped_releases": r.get("gate", {}).get("skipped_releases"),
                    "gate_reasons": r.get("gate", {}).get("reasons"),
                    "recall_fpr": _gate_table(r.get("gate", {})),
                }
                for r in job_reports
            ],
            "refused": refused,
            "serving_at_end": current,
            "expected_at_end": expected_model,
        },
        "final_sync": json.loads(final_sync.stdout or "null"),
        "timings_s": {
            "setup": round(setup_s, 1),
            "producing": round(produce_s, 1),
            "drain": round(drain_s, 1),
            "total": round(time.monotonic() - wall0, 1),
        },
        "gateway_peak_rss_mb": round(peak_rss, 1),
        "checks": checks,
        "passed": all(checks.values()),
    }
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
