"""Where a trained model's served fever false positives fall, over several training seeds.

Trains the job's model (``cloud_training.distributed.distributed_train``, the job's
calibration split and target rate) on the training cohort the demo ships, once per seed,
and scores the validation cohort as gateways serve it (``wearable_core.assessment.served``).
For each fever flag on a window without fever it records whether the person had a
temperature baseline yet and how long after their first window it fell. Cohort data
only, no fleet rows: this isolates the model and the gate from the run-to-run fleet data.

Prints one JSON object. Usage::

    .venv/bin/python benchmarks/fever_flags.py --seeds 20261127 1 2 3 4
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np

from cloud_training.job import CALIBRATION_FRACTION, JobSettings
from cloud_training.labelled_cohorts import cohort_load
from wearable_core.assessment.served import baselines_replay, served_outputs
from wearable_core.buckets import bucket_open
from wearable_core.contracts.anomalies import ANOMALY_TYPES

ROOT = Path(__file__).resolve().parents[1]
COHORTS = ROOT / "examples" / "demo" / "cohorts"
FEVER = ANOMALY_TYPES.index("fever")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[JobSettings().seed])
    parser.add_argument("--epochs", type=int, default=JobSettings().epochs)
    args = parser.parse_args()

    from cloud_training.distributed import distributed_train, strategy_make
    from cloud_training.train import indices_split, keras_scores, thresholds_calibrate

    with tempfile.TemporaryDirectory(prefix="fever-flags-") as tmp:
        bucket = bucket_open(tmp)
        for path in sorted(COHORTS.rglob("*")):
            if path.is_file():
                bucket.create(f"cohorts/{path.relative_to(COHORTS).as_posix()}", path.read_bytes())
        train, validation = cohort_load(bucket, "train"), cohort_load(bucket, "validation")

    start_ms = np.round(validation.start_s * 1000).astype(np.int64)
    since_first_min = np.zeros(len(start_ms))
    has_baseline = np.zeros(len(start_ms), dtype=bool)
    for person in np.unique(validation.device_index):
        rows = np.flatnonzero(validation.device_index == person)
        rows = rows[np.argsort(start_ms[rows])]
        temperature, _ = baselines_replay(start_ms[rows], validation.X[rows])
        has_baseline[rows] = [t is not None for t in temperature]
        since_first_min[rows] = (start_ms[rows] - start_ms[rows[0]]) / 60_000
    negative = ~validation.fault & (validation.Y[:, FEVER] == 0)
    positive = ~validation.fault & (validation.Y[:, FEVER] == 1)

    strategy = strategy_make("default")
    runs = []
    for seed in args.seeds:
        fit, cal = indices_split(len(train.X), CALIBRATION_FRACTION, seed)
        model = distributed_train(
            train.X[fit],
            train.Y[fit],
            np.ones(len(fit), np.float32),
            seed=seed,
            strategy=strategy,
            epochs=args.epochs,
        ).model
        cal_scores = keras_scores(model, train.X[cal])
        thresholds = thresholds_calibrate(cal_scores, train.Y[cal], JobSettings().target_fpr)
        bare = keras_scores(model, validation.X)
        served = served_outputs(bare, validation.X, validation.device_index, start_ms)
        flagged = served[:, FEVER] >= thresholds[FEVER]
        false = flagged & negative
        runs.append(
            {
                "seed": seed,
                "threshold": round(float(thresholds[FEVER]), 4),
                "bare_fpr": round(float((bare[:, FEVER] >= thresholds[FEVER])[negative].mean()), 4),
                "served_fpr": round(float(false.sum() / negative.sum()), 4),
                "served_recall": round(float(flagged[positive].mean()), 4),
                "false_flags": int(false.sum()),
                "false_flags_before_a_baseline": int((false & ~has_baseline).sum()),
                "false_flag_minutes_since_first_window": sorted(
                    int(m) for m in since_first_min[false]
                ),
            }
        )
    print(
        json.dumps(
            {
                "benchmark": "fever_flags",
                "date": datetime.date.today().isoformat(),
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                "validation_negatives": int(negative.sum()),
                "validation_positives": int(positive.sum()),
                "epochs": args.epochs,
                "runs": runs,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
