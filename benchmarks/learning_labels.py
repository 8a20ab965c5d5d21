"""What the fleet's labels say about windows whose ground truth is known.

The training job labels the fleet's windows from what the gateway uploads
(``cloud_training.corpus.weak_labels``), per row and type, first rule that applies:

1. the row lies inside a **confirmed** alert of the type and the row is notable: 1;
2. the row lies inside a **dismissed** alert of the type: 0;
3. the row is an unremarkable window sampled 1 in ``k`` (weight ``k``): 0;
4. a notable row with the type's model output under 0.1 and no rule fired: 0;
5. else unknown.

This replays one fleet round of ``wearable experiment learning-curve`` (same scenario,
seed, serving model, pseudonym key, and the same seeded fallible clinician) through the
gateway's pipeline and keeps every window summary with its time. Each window lies inside
the alerts whose span holds it, as the gateway's sync links them
(``gateway.sync.aggregates.alerts_holding``); with ``--hour-join``, inside every alert
whose hours hold it, as the corpus joins rows of version-1 batches that carry no link.
The corpus's rules (``cloud_training.corpus.row_labels``) then label it, and the labels
are scored against the clinical labels: a window is truly of a type when its midpoint
lies inside a required label of that type, and near it when inside a borderline one (an
alert there is a true alert to the clinician). Per type: how many positives the verdicts
give, how many of them are true or borderline, how much negative weight true anomaly
windows carry, and how much of either came from a verdict that contradicts the truth
(the fallible clinician's errors, which no join can undo).

Run: ``.venv/bin/python benchmarks/learning_labels.py --round 1 --watches 6 --hours 24``
(the fleet of round ``r`` of ``--seed 1`` has seed ``101000 + r``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_training.corpus import row_labels
from firmware_sim.scenario import scenario_load
from firmware_sim.watch_assembly import clinical_labeller, firmware_build, identity_of
from gateway.config import GatewayConfig
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, Store
from gateway.sync.aggregates import alert_outcome, alerts_holding
from wearable.demo.clinician import clinician_review
from wearable.evaluation.metrics import alert_outcomes
from wearable.evaluation.pipeline import WatchRun, watch_run
from wearable.evaluation.run import clinical_episodes, produced_batches, scored_alert
from wearable.experiments.learning_curve import CurveSettings
from wearable_core.assessment.policy import policies_load
from wearable_core.contracts.aggregate_batch import hour_of
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import feature_index
from wearable_core.model.model_file import model_load

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "eval.toml"
N = len(ANOMALY_TYPES)
HR_MEAN = feature_index("hr_mean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--round", type=int, default=1, help="the experiment's round")
    parser.add_argument("--seed", type=int, default=1, help="the experiment's seed")
    parser.add_argument("--watches", type=int, default=6)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--error-rate", type=float, default=0.10)
    parser.add_argument("--unreviewed", type=float, default=0.20)
    parser.add_argument("--model", type=Path, help="serving model (default: shipped)")
    parser.add_argument(
        "--hour-join",
        action="store_true",
        help="label as from version-1 batches: a verdict holds every row of the hours "
        "from its alert's opening to ceil(duration / 60) later (the join before the "
        "window-alert links)",
    )
    args = parser.parse_args()
    settings = CurveSettings(seed=args.seed)
    fleet_seed = settings.fleet_seed(args.round)
    scenario = scenario_load(SCENARIO)
    model = model_load(args.model)
    secret = f"wearable-learning-curve-pseudonym-key:{args.seed}".encode()
    key = PseudonymKey(hashlib.sha256(secret).digest())
    k = GatewayConfig().sync.sample_every
    base_ms = round(scenario.start_epoch_s * 1000)
    duration = args.hours * 3600
    rows: list[dict[str, Any]] = []
    runs: list[WatchRun] = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.watches):
            plan = scenario.plan_watch(index, fleet_seed)
            device = identity_of(plan).address
            labeller = clinical_labeller(plan, scenario, duration)
            firmware = firmware_build(plan, scenario, duration, labeller=labeller)
            path = Path(tmp) / f"w{index}.sqlite"
            # A no-op hook keeps the window summaries in the store (as for sync).
            run = watch_run(
                device,
                produced_batches(firmware),
                scenario.start_epoch_s,
                path,
                model,
                policies_load(None),
                after_batch=lambda _store, _now: None,
            )
            run.labels = labeller.labels()
            runs.append(run)
        truth_episodes = clinical_episodes(scenario, fleet_seed, duration, runs, args.watches)
        for index, run in enumerate(runs):
            labels = [
                (ANOMALY_TYPES.index(lab.kind.value), lab.onset_s, lab.end_s, lab.borderline)
                for lab in run.labels
            ]
            with Store(Path(tmp) / f"w{index}.sqlite") as store:
                windows = store.outbox.pending_windows(run.device)
                # The experiment's clinician, with the experiment's seeds.
                clinician_review(
                    store,
                    truth_episodes,
                    error_rate=args.error_rate,
                    unreviewed=args.unreviewed,
                    rng=np.random.default_rng([args.seed, args.round, index]),
                    confirm_duplicates=True,
                )
                every = store.alerts.list(run.device)
                # What the clinician concluded from the truth (before its errors): a
                # verdict against it is a wrong one.
                outcomes = alert_outcomes(truth_episodes, [scored_alert(a) for a in every])
                wrong_ids = {
                    a.id
                    for a, o in zip(every, outcomes, strict=True)
                    if a.status in ("confirmed", "dismissed")
                    and (a.status == "confirmed") != (o in ("true", "duplicate"))
                }
                reviewed = [a for a in every if a.type in ANOMALY_TYPES]
            for w in windows:
                s = w.summary
                mid_s = (s.start_ms - base_ms) / 1000 + 30
                truth = np.zeros(N, dtype=bool)
                near = np.zeros(N, dtype=bool)
                for j, onset, end, borderline in labels:
                    inside = onset <= mid_s < end
                    if borderline:
                        near[j] |= inside
                    else:
                        truth[j] |= inside
                confirmed = np.zeros(N, dtype=bool)
                dismissed = np.zeros(N, dtype=bool)
                wrong = np.zeros(N, dtype=bool)
                holding = (
                    _hours_holding(key, reviewed, s.start_ms)
                    if args.hour_join
                    else alerts_holding(reviewed, s.start_ms)
                )
                for alert in holding:
                    j = ANOMALY_TYPES.index(alert.type)
                    if alert.status == "confirmed":
                        confirmed[j] = True
                    elif alert.status == "dismissed":
                        dismissed[j] = True
                    wrong[j] |= alert.id in wrong_ids
                outputs = np.full(N, np.nan) if s.outputs is None else s.outputs.astype(float)
                if s.notable:
                    weight = 1.0
                elif key.draw(run.device, s.start_ms) % k == 0:
                    weight = float(k)
                else:
                    continue  # never uploaded
                label = row_labels(
                    np.array([s.rules]),
                    outputs[None, :],
                    np.array([weight]),
                    confirmed[None, :],
                    dismissed[None, :],
                )[0]
                rows.append(
                    {
                        "truth": truth,
                        "near": near,
                        "wrong": wrong,
                        "label": label,
                        "weight": weight,
                        "dismissed": dismissed,
                        "watch": index,
                        "hr_mean": float(s.features[HR_MEAN]),
                    }
                )
    truth = np.array([r["truth"] for r in rows]).reshape(-1, N)
    label = np.array([r["label"] for r in rows]).reshape(-1, N)
    weight = np.array([r["weight"] for r in rows])
    dismissed = np.array([r["dismissed"] for r in rows]).reshape(-1, N)
    near = np.array([r["near"] for r in rows]).reshape(-1, N)
    wrong = np.array([r["wrong"] for r in rows]).reshape(-1, N)
    watch = np.array([r["watch"] for r in rows])
    with np.errstate(invalid="ignore"):
        slow = np.array([r["hr_mean"] for r in rows]) < 50
    brady = ANOMALY_TYPES.index("bradycardia")
    # Windows under 50 bpm that are not bradycardia by the definition (a person's usual
    # rate is low): what the fleet teaches the model about slow hearts, per watch.
    slow_negative = slow & (label[:, brady] == 0) & ~truth[:, brady]
    slow_by_watch = {
        str(i): {
            "negative_weight": float(weight[slow_negative & (watch == i)].sum()),
            "rows": int((slow_negative & (watch == i)).sum()),
        }
        for i in range(args.watches)
    }
    per_type = {}
    for j, t in enumerate(ANOMALY_TYPES):
        positive, negative = label[:, j] == 1, label[:, j] == 0
        per_type[t] = {
            "uploaded_true_windows": int(truth[:, j].sum()),
            "labelled_positive": int(positive.sum()),
            "labelled_positive_true": int((positive & truth[:, j]).sum()),
            # Positives inside a borderline label of the type (an alert on one is a true
            # alert to the clinician, docs/evaluation.md), and positives a wrong verdict gave.
            "labelled_positive_borderline": int((positive & ~truth[:, j] & near[:, j]).sum()),
            "labelled_positive_by_wrong_verdict": int((positive & wrong[:, j]).sum()),
            "true_labelled_negative": int((negative & truth[:, j]).sum()),
            "true_labelled_negative_weight": float((weight * (negative & truth[:, j])).sum()),
            # Of those, the ones a dismissed alert of the type held (a verdict, right or
            # wrong), and the rest (the fleet's implied negatives).
            "true_labelled_negative_by_dismissal": int(
                (negative & truth[:, j] & dismissed[:, j]).sum()
            ),
            "true_labelled_negative_by_wrong_dismissal": int(
                (negative & truth[:, j] & dismissed[:, j] & wrong[:, j]).sum()
            ),
            "true_unknown": int((np.isnan(label[:, j]) & truth[:, j]).sum()),
            "negative_weight": float((weight * negative).sum()),
        }
    print(
        json.dumps(
            {
                "scenario": "examples/eval.toml",
                "round": args.round,
                "fleet_seed": fleet_seed,
                "watches": args.watches,
                "hours": args.hours,
                "model": model.manifest.version,
                "join": "hour" if args.hour_join else "alerts",
                "sample_every": k,
                "uploaded_rows": len(rows),
                "per_type": per_type,
                "bradycardia_negatives_under_50_bpm_by_watch": slow_by_watch,
            },
            indent=2,
        )
    )


def _hours_holding(key: PseudonymKey, alerts: list[AlertRow], start_ms: int) -> list[AlertRow]:
    """The alerts whose hours hold a window, as the corpus joins version-1 rows."""
    hour = hour_of(start_ms)
    out = []
    for alert in alerts:
        outcome = alert_outcome(key, alert)
        duration = outcome.duration_min
        end = outcome.hour + (math.ceil(duration / 60) if duration is not None else 0)
        if outcome.hour <= hour <= end:
            out.append(alert)
    return out


if __name__ == "__main__":
    main()
