"""``wearable eval``: the gateway's detection measured on a held-out simulated cohort or
on replayed real recordings.

A scenario run simulates every watch of the scenario with the given seed, pushes its
records through the real gateway pipeline (:mod:`wearable.evaluation.pipeline`) and
scores the alerts against the scenario's labels (:mod:`wearable.evaluation.metrics`).
Watches are independent, so they run in worker processes, each with its own store;
results are merged in device order, so the report does not depend on the worker count.

A recording run replays real recordings (``docs/formats/recordings.md``) through the
watch firmware and the same pipeline. Real recordings carry no labels here, so it
reports every alert and the rate of alerts per hour of recording: on recordings of
people without the anomalies, each one is a false alert.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_sim.firmware.watch_firmware import WatchFirmware
from firmware_sim.scenario import Scenario, scenario_load
from firmware_sim.watch_assembly import clinical_labeller, firmware_build, identity_of
from gateway.config import DEFAULT_HOP_S
from gateway.store import AlertRow, Store
from wearable.evaluation.metrics import (
    ScoredAlert,
    TruthEpisode,
    evaluate,
    targets_met,
    targets_report,
)
from wearable.evaluation.pipeline import STEP_S, WatchRun, watch_run
from wearable_core.assessment.policy import policies_load
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import model_load


def produced_batches(firmware: WatchFirmware) -> Iterator[list[tuple[Stream, bytes, float]]]:
    """The firmware's records as notifications, :data:`STEP_S` of simulated time a batch."""
    while not firmware.finished:
        items = firmware.advance(firmware.produced_until_s + STEP_S)
        yield [(item.stream, bytes(item.record), item.true_time_s) for item in items]


#: Per-type alert policy overrides, as in ``[detection.policies]`` of the gateway config.
PolicyOverrides = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SyncTarget:
    """Sync each watch's gateway store to a bucket as the service does (picklable).

    A sync cycle runs after every simulated hour, with the gateway's default ``[sync]``
    settings and this pseudonym key, on the gateway's (simulated) clock. Model delivery
    is not polled here: whoever runs the fleet installs releases between runs.
    """

    bucket: str
    pseudonym_key: bytes


def watch_store_path(workdir: Path, index: int) -> Path:
    """The SQLite store of watch ``index`` of a scenario run in ``workdir``."""
    return workdir / f"watch-{index:03d}.sqlite"


def sync_once(target: SyncTarget, store: Store, now_ms: int, *, flush: bool = False) -> None:
    """One sync cycle of ``store`` into ``target`` at gateway time ``now_ms``, with the
    gateway's default ``[sync]`` settings; ``flush`` batches every pending window now
    (the end of a run, as at the next cycle)."""
    from gateway.config import GatewayConfig
    from gateway.privacy.pseudonym import PseudonymKey
    from gateway.sync.engine import SyncEngine
    from gateway.sync.setup import sync_settings
    from wearable_core.buckets import bucket_open

    engine = SyncEngine(
        store,
        PseudonymKey(target.pseudonym_key),
        bucket_open(target.bucket),
        sync_settings(GatewayConfig()),
        # The simulated clock and seeded jitter: the same run uploads the same batches.
        clock=lambda: now_ms,
        rng=random.Random(now_ms),
    )
    engine.run_once(flush=flush)


def _sync_hook(target: SyncTarget) -> Callable[[Store, int], None]:
    """An ``after_batch`` hook: a sync cycle after every simulated hour, as the service
    runs them (the engine keeps its state in the store, so one per cycle is the same)."""

    def sync(store: Store, now_ms: int) -> None:
        sync_once(target, store, now_ms)

    return sync


def _run_planned_watch(
    scenario_path: str,
    seed: int,
    index: int,
    duration_s: int,
    workdir: str,
    model: str | None,
    policies: PolicyOverrides | None = None,
    sync: SyncTarget | None = None,
    hop_s: int = DEFAULT_HOP_S,
) -> WatchRun:
    """One watch of a scenario (a worker-process entry point: arguments are picklable)."""
    scenario = scenario_load(scenario_path)
    if index >= scenario.watches:
        # More watches than the file lists: each plan depends only on (seed, index).
        scenario = dataclasses.replace(scenario, watches=index + 1)
    plan = scenario.plan_watch(index, seed)
    device = identity_of(plan).address
    labeller = clinical_labeller(plan, scenario, duration_s)
    firmware = firmware_build(plan, scenario, duration_s, labeller=labeller)
    loaded = model_load(None if model is None else Path(model))
    run = watch_run(
        device,
        produced_batches(firmware),
        scenario.start_epoch_s,
        watch_store_path(Path(workdir), index),
        loaded,
        policies_load(policies),
        hop_s=hop_s,
        after_batch=None if sync is None else _sync_hook(sync),
    )
    run.labels = labeller.labels()
    return run


def scenario_episodes(
    scenario: Scenario, seed: int, duration_s: int, watches: int | None = None
) -> list[TruthEpisode]:
    """The planned episodes and faults of every watch (the first ``watches``, default
    the scenario's count) that begin before ``duration_s``, clipped to it, on the
    gateway's time axis (Unix ms). The demo's timeline uses them; detection is scored
    against :func:`clinical_episodes`."""
    base_ms = round(scenario.start_epoch_s * 1000)
    count = scenario.watches if watches is None else watches
    out = []
    for plan in dataclasses.replace(scenario, watches=count).plan(seed):
        device = identity_of(plan).address
        for episode in plan.episodes:
            if episode.onset_s >= duration_s:
                continue
            out.append(
                TruthEpisode(
                    device,
                    episode.kind.value,
                    base_ms + round(episode.onset_s * 1000),
                    base_ms + round(min(episode.end_s, duration_s) * 1000),
                    episode.is_fault,
                )
            )
    return out


def clinical_episodes(
    scenario: Scenario,
    seed: int,
    duration_s: int,
    runs: Sequence[WatchRun],
    watches: int | None = None,
) -> list[TruthEpisode]:
    """The ground truth of a scenario run, on the gateway's time axis (Unix ms): the
    clinical labels of every watch's run (medical) and the planned sensor faults that
    begin before ``duration_s``, clipped to it (of the first ``watches`` watches)."""
    base_ms = round(scenario.start_epoch_s * 1000)
    out = [
        TruthEpisode(
            run.device,
            label.kind.value,
            base_ms + round(label.onset_s * 1000),
            base_ms + round(label.end_s * 1000),
            False,
            label.cause,
            not label.borderline,
        )
        for run in runs
        for label in run.labels
    ]
    out.extend(e for e in scenario_episodes(scenario, seed, duration_s, watches) if e.is_fault)
    return out


def labels_by_cause(truth: Sequence[TruthEpisode]) -> dict[str, dict[str, int]]:
    """How many medical labels of each type each cause produced."""
    out: dict[str, dict[str, int]] = {}
    for t in truth:
        if not t.is_fault:
            causes = out.setdefault(t.kind, {})
            causes[t.cause] = causes.get(t.cause, 0) + 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def scored_alert(row: AlertRow) -> ScoredAlert:
    """A stored alert as the metrics score it."""
    return ScoredAlert(
        row.device,
        row.type,
        row.opened_ms,
        row.evidence_start_ms,
        row.evidence_end_ms,
        row.closed_ms,
        row.rule,
    )


def _alerts(runs: Sequence[WatchRun]) -> list[ScoredAlert]:
    return [scored_alert(a) for run in runs for a in run.alerts]


def _pipeline_counts(runs: Sequence[WatchRun]) -> dict[str, int]:
    return {
        "records_sent": sum(r.records for r in runs),
        "records_stored": sum(r.stored for r in runs),
        "records_rejected": sum(r.rejected for r in runs),
        "windows_assessed": sum(r.windows for r in runs),
        "data_quality_events": sum(len(r.quality_events) for r in runs),
    }


def scenario_runs(
    scenario_path: Path,
    seed: int,
    duration_s: int,
    workdir: Path,
    *,
    watches: int | None = None,
    model: Path | None = None,
    policies: PolicyOverrides | None = None,
    hop_s: int = DEFAULT_HOP_S,
    workers: int = 1,
    sync: SyncTarget | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[WatchRun]:
    """Simulate ``watches`` watches of the scenario through the gateway pipeline.

    Each watch gets its own store in ``workdir`` (:func:`watch_store_path`); with
    ``sync`` each store syncs to that bucket after every simulated hour. Returns the
    runs in device order, so the result does not depend on ``workers``.
    """
    count = scenario_load(scenario_path).watches if watches is None else watches
    workdir.mkdir(parents=True, exist_ok=True)
    model_arg = None if model is None else str(model)
    args = [
        (str(scenario_path), seed, i, duration_s, str(workdir), model_arg, policies, sync, hop_s)
        for i in range(count)
    ]
    runs: list[WatchRun] = []
    if workers > 1:
        # Spawned, not forked: a fork copies whatever the caller's process holds
        # (TensorFlow's runtime and threads when the caller trained a model), and a
        # forked child that touches it can crash (seen: a segfault in TF's GC).
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            futures = [pool.submit(_run_planned_watch, *a) for a in args]
            for future in as_completed(futures):
                runs.append(future.result())
                if progress is not None:
                    progress(len(runs), len(args))
    else:
        for a in args:
            runs.append(_run_planned_watch(*a))
            if progress is not None:
                progress(len(runs), len(args))
    runs.sort(key=lambda r: r.device)
    return runs


def scenario_evaluate(
    scenario_path: Path,
    seed: int | None = None,
    *,
    duration_s: int | None = None,
    watches: int | None = None,
    model: Path | None = None,
    policies: PolicyOverrides | None = None,
    hop_s: int = DEFAULT_HOP_S,
    workers: int = 1,
    workdir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Simulate the cohort, run the gateway pipeline on it, score the alerts.

    Parameters
    ----------
    scenario_path
        Scenario TOML (``examples/eval.toml`` is the standard evaluation cohort).
    seed
        Cohort seed (default: the scenario's). Never tune on the evaluation seed.
    duration_s
        Simulate only this long (default: the scenario's duration).
    watches
        Simulate this many watches (default: the scenario's count).
    model
        Model file with its manifest (default: the gateway's shipped baseline).
    policies
        Alert policy overrides (default: the gateway's defaults).
    hop_s
        Assessment hop of the detector (``[detection] hop_s``).
    workers
        Worker processes (watches are independent; the result does not depend on it).
    workdir
        Where the per-watch stores go (default: a temporary directory, removed after).
    progress
        Called with ``(watches done, watches)`` as each watch finishes.

    Returns
    -------
    dict
        The metrics of :func:`wearable.evaluation.metrics.evaluate` plus the run's
        parameters, pipeline counts and ``targets`` (met or not, with the wording).
    """
    scenario = scenario_load(scenario_path)
    used_seed = scenario.seed if seed is None else seed
    duration = scenario.duration_s if duration_s is None else duration_s
    count = scenario.watches if watches is None else watches
    with tempfile.TemporaryDirectory(prefix="wearable-eval-") as tmp:
        runs = scenario_runs(
            scenario_path,
            used_seed,
            duration,
            workdir or Path(tmp),
            watches=count,
            model=model,
            policies=policies,
            hop_s=hop_s,
            workers=workers,
            progress=progress,
        )
    user_days = count * duration / 86_400
    windows = [w for r in runs for w in r.outcomes]
    truth = clinical_episodes(scenario, used_seed, duration, runs, count)
    result = evaluate(truth, _alerts(runs), windows, user_days)
    loaded = model_load(model)
    report: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": used_seed,
        "watches": count,
        "duration_s": duration,
        "model": loaded.manifest.version,
        "policy_overrides": policies or {},
        "hop_s": hop_s,
        "pipeline": _pipeline_counts(runs),
        "labels_by_cause": labels_by_cause(truth),
        **result,
    }
    report["targets"] = {"met": targets_met(result), "report": targets_report(result)}
    return report


def recording_evaluate(
    paths: Sequence[Path],
    *,
    model: Path | None = None,
    policies: PolicyOverrides | None = None,
    hop_s: int = DEFAULT_HOP_S,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Replay one real recording (one file per stream) through the gateway pipeline.

    Returns the pipeline counts, every alert (type, time from the recording start, rule)
    and ``alerts_per_hour``. There are no labels: on a recording of a person without
    the anomalies, each alert is a false one.
    """
    from firmware_sim.recording import recording_load, recording_to_chunk
    from firmware_sim.replay import replay_firmware, replay_identity, replay_start_epoch_s

    recording = recording_load(paths)
    start_s = replay_start_epoch_s(recording)
    firmware = replay_firmware(recording_to_chunk(recording), start_s)
    device = replay_identity().address
    with tempfile.TemporaryDirectory(prefix="wearable-eval-") as tmp:
        store = Path(workdir or tmp) / "recording.sqlite"
        store.parent.mkdir(parents=True, exist_ok=True)
        loaded = model_load(model)
        run = watch_run(
            device,
            produced_batches(firmware),
            start_s,
            store,
            loaded,
            policies_load(policies),
            hop_s=hop_s,
        )
    hours = recording.duration_s / 3600.0
    start_ms = round(start_s * 1000)
    return {
        "recordings": [str(p) for p in paths],
        "model": loaded.manifest.version,
        "hours": hours,
        "pipeline": _pipeline_counts([run]),
        "alerts": len(run.alerts),
        "alerts_per_hour": len(run.alerts) / hours if hours > 0 else 0.0,
        "alert_details": [
            {"type": a.type, "at_s": (a.opened_ms - start_ms) / 1000, "rule": a.rule}
            for a in run.alerts
        ],
        "data_quality_events": [
            {"fault": q.fault, "at_s": (q.opened_ms - start_ms) / 1000} for q in run.quality_events
        ],
    }
