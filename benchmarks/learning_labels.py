"""What the fleet's weak labels say about windows whose ground truth is known.

The training job labels the fleet's windows from what the gateway uploads
(``cloud_training.corpus.weak_labels``): a verdict on an alert covering the row, else 0
for an unremarkable window sampled 1 in ``k`` (weight ``k``), else 0 for a notable
window whose model output is under 0.1 with no rule fired, else unknown. This replays
one fleet round of ``wearable experiment learning-curve`` (same scenario, seed, model
and pseudonym key) through the gateway's pipeline, keeps every window summary with its
time, and counts, per type, the windows that lie inside a required clinical label and
what the rules without a verdict make of them: how much negative weight true anomaly
windows carry into training.

Run: ``.venv/bin/python benchmarks/learning_labels.py --seed 101001 --watches 6 --hours 24``
(round 1 of ``--seed 1``; the experiment's fleet of round ``r`` is ``101000 + r``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_training.corpus import NEGATIVE_OUTPUT_MAX
from firmware_sim.cohort import build_firmware, clinical_labeller, identity_of
from firmware_sim.scenario import load_scenario
from gateway.config import GatewayConfig
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store.store import Store
from wearable.evaluation.pipeline import run_watch
from wearable.evaluation.run import produced_batches
from wearable_core.assessment.policy import load_policies
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.model.model_file import model_load

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "eval.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=101_001, help="the fleet's seed")
    parser.add_argument("--experiment-seed", type=int, default=1, help="its pseudonym key")
    parser.add_argument("--watches", type=int, default=6)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--model", type=Path, help="serving model (default: shipped)")
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    model = model_load(args.model)
    secret = f"wearable-learning-curve-pseudonym-key:{args.experiment_seed}".encode()
    key = PseudonymKey(hashlib.sha256(secret).digest())
    k = GatewayConfig().sync.sample_every
    base_ms = round(scenario.start_epoch_s * 1000)
    n_types = len(ANOMALY_TYPES)
    counts = {
        t: {
            "true_windows": 0,
            "notable": 0,
            "notable_rule4_negative": 0,
            "notable_unknown": 0,
            "sampled_negative": 0,
            "not_uploaded": 0,
        }
        for t in ANOMALY_TYPES
    }
    negative_weight_true = np.zeros(n_types)
    negative_weight_all = np.zeros(n_types)
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.watches):
            plan = scenario.plan_watch(index, args.seed)
            device = identity_of(plan).address
            duration = args.hours * 3600
            labeller = clinical_labeller(plan, scenario, duration)
            firmware = build_firmware(plan, scenario, duration, labeller=labeller)
            path = Path(tmp) / f"w{index}.sqlite"
            # A no-op hook keeps the window summaries in the store (as for sync).
            run_watch(
                device,
                produced_batches(firmware),
                scenario.start_epoch_s,
                path,
                model,
                load_policies(None),
                after_batch=lambda _store, _now: None,
            )
            labels = [
                (ANOMALY_TYPES.index(lab.kind.value), lab.onset_s, lab.end_s)
                for lab in labeller.labels()
                if not lab.borderline
            ]
            with Store(path) as store:
                windows = store.pending_windows(device)
            for w in windows:
                s = w.summary
                mid_s = (s.start_ms - base_ms) / 1000 + 30
                truth = np.zeros(n_types, dtype=bool)
                for j, onset, end in labels:
                    truth[j] |= onset <= mid_s < end
                outputs = np.full(n_types, np.nan) if s.outputs is None else s.outputs.astype(float)
                rule = np.array([(s.rules >> j) & 1 for j in range(n_types)], dtype=bool)
                if s.notable:
                    weight = 1.0
                    with np.errstate(invalid="ignore"):
                        negative = ~rule & (outputs < NEGATIVE_OUTPUT_MAX)
                elif key.draw(device, s.start_ms) % k == 0:
                    weight = float(k)
                    negative = np.ones(n_types, dtype=bool)
                else:
                    weight = 0.0
                    negative = np.zeros(n_types, dtype=bool)
                negative_weight_all += weight * negative
                negative_weight_true += weight * (negative & truth)
                for j in np.flatnonzero(truth):
                    c = counts[ANOMALY_TYPES[j]]
                    c["true_windows"] += 1
                    if s.notable:
                        c["notable"] += 1
                        c["notable_rule4_negative" if negative[j] else "notable_unknown"] += 1
                    elif weight:
                        c["sampled_negative"] += 1
                    else:
                        c["not_uploaded"] += 1
    out: dict[str, Any] = {
        "scenario": "examples/eval.toml",
        "seed": args.seed,
        "watches": args.watches,
        "hours": args.hours,
        "model": model.manifest.version,
        "sample_every": k,
        "per_type": counts,
        "negative_weight_on_true_windows": {
            t: round(float(negative_weight_true[j]), 1) for j, t in enumerate(ANOMALY_TYPES)
        },
        "negative_weight_all": {
            t: round(float(negative_weight_all[j]), 1) for j, t in enumerate(ANOMALY_TYPES)
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
