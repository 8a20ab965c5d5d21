"""The demo's summary: detections against ground truth, bytes, models, timings.

``summary_build`` gives the JSON ``wearable demo --json`` prints (keys in
``docs/demo.md``). Detection is scored with the evaluation's rules
(:func:`wearable.evaluation.metrics.evaluate`), overall and per model version: an alert
belongs to the model that served when it opened, an episode to the model serving at its
onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.store import AlertRow, Store
from wearable.demo.live import LiveResult, ModelChange
from wearable.demo.workspace import Workspace
from wearable.evaluation.metrics import ScoredAlert, TruthEpisode, evaluate
from wearable_core.buckets import bucket_open
from wearable_core.contracts.aggregate_batch import BatchKind

#: The per-type fields the summary keeps from the evaluation.
PER_TYPE_KEYS = (
    "episodes",
    "detected",
    "recall",
    "false_alerts",
    "false_alerts_per_user_day",
    "median_latency_s",
)


def _scored(alerts: Sequence[AlertRow]) -> list[ScoredAlert]:
    return [
        ScoredAlert(
            a.device, a.type, a.opened_ms, a.evidence_start_ms, a.evidence_end_ms, a.closed_ms
        )
        for a in alerts
    ]


def _score(
    episodes: Sequence[TruthEpisode], alerts: Sequence[AlertRow], user_days: float
) -> dict[str, Any]:
    result = evaluate(episodes, _scored(alerts), [], user_days)
    return {
        "per_type": {
            kind: {key: value[key] for key in PER_TYPE_KEYS}
            for kind, value in result["per_type"].items()
        },
        "false_alerts": result["false_alerts"],
        "fault_medical_alerts": result["fault_medical_alerts"],
        "missed": result["missed_episode_details"],
    }


def _model_at(changes: Sequence[ModelChange], t_s: float) -> str:
    current = changes[0].version if changes else ""
    for change in changes:
        if change.at_s <= t_s:
            current = change.version
    return current


def uploaded_bytes(space: Workspace) -> dict[str, int]:
    """Bytes the gateway uploaded to the bucket, per batch kind."""
    bucket = bucket_open(str(space.bucket))
    return {
        kind.value: sum(info.size for info in bucket.list(f"{kind.value}/")) for kind in BatchKind
    }


def summary_build(
    live: LiveResult,
    space: Workspace,
    episodes: Sequence[TruthEpisode],
    watches: int,
    wall_seconds: float,
) -> dict[str, Any]:
    """The summary of one demo run (JSON-ready)."""
    user_days = watches * live.simulated_seconds / 86_400
    with Store(space.store) as store:
        totals = store.records.record_totals()
    sent = sum(live.produced.values())
    kept = sum(live.stored.values())
    scores = _score(episodes, live.alerts, user_days)
    uploaded = uploaded_bytes(space)
    start = live.models[0].version if live.models else ""
    end = live.models[-1].version if live.models else ""
    by_model: dict[str, Any] = {}
    for version in dict.fromkeys(c.version for c in live.models):
        mine = [a for a in live.alerts if a.model_version == version]
        onset_s = [(e.onset_ms - live.start_ms) / 1000 for e in episodes]
        theirs = [
            e
            for e, t in zip(episodes, onset_s, strict=True)
            if _model_at(live.models, t) == version
        ]
        served = [c for c in live.models if c.version == version]
        scored = _score(theirs, mine, user_days) if theirs or mine else None
        by_model[version] = {
            "from_s": round(served[0].at_s, 1),
            "alerts": len(mine),
            "episodes": sum(not e.is_fault for e in theirs),
            "detected": None
            if scored is None
            else sum(v["detected"] for v in scored["per_type"].values()),
            "false_alerts": None if scored is None else scored["false_alerts"],
        }
    job = live.train_report or {}
    return {
        "watches": watches,
        "simulated_seconds": live.simulated_seconds,
        "records_sent": sent,
        "records_stored": kept,
        "records_lost": sent - kept,
        "records_duplicated": totals.duplicates,
        "alerts": len(live.alerts),
        "per_type": scores["per_type"],
        "false_alerts": scores["false_alerts"],
        "medical_alerts_during_faults": scores["fault_medical_alerts"],
        "missed_episodes": scores["missed"],
        "data_quality_events": len(live.quality),
        "uploaded_bytes": sum(uploaded.values()),
        "uploaded_bytes_by_kind": uploaded,
        "raw_bytes": totals.payload_bytes,
        "model_version_start": start,
        "model_version_end": end,
        "model_changes": [
            {"at_s": round(c.at_s, 1), "version": c.version, "wall_s": round(c.wall_s, 1)}
            for c in live.models
        ],
        "by_model": by_model,
        "review": None
        if live.review is None
        else {"confirmed": live.review.confirmed, "dismissed": live.review.dismissed},
        "training": {
            "started_at_s": None
            if live.train_started_s is None
            else round(live.train_started_s, 1),
            "outcome": job.get("outcome"),
            "message": job.get("message"),
            "version": job.get("version"),
            "wall_s": None if live.train_wall_s is None else round(live.train_wall_s, 1),
            "gate": job.get("gate"),
        },
        "per_watch": live.per_watch,
        "timings": {k: round(v, 2) for k, v in live.timings.items()},
        "wall_seconds": round(wall_seconds, 2),
        "output": str(space.root),
    }
