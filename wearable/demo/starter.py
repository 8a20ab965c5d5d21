"""The demo fleet's first release: a model trained on the first hours of labelled data.

A fresh deployment has little labelled data when its first model ships; the loop then
improves on it as cohorts and clinicians' verdicts accumulate. The demo plays that out:
``starter-1`` is trained by the same training code (``cloud_training.train.model_train``)
on the first :data:`STARTER_HOURS` hours of the shipped training cohort (about 720
windows of 4,324), published to the demo bucket with the demo's key, and installed by
the gateway before the watches start. The training job then has to beat it on the
validation cohort to ship its model. The shipped baseline (trained on all 12 hours)
is not used by the demo: a model it could not beat would make the loop a no-op.

Measured while designing the demo (2026-11-27): a job trained on the whole cohort plus a
ward's aggregates passed the gate against ``starter-1`` on every type; against
``baseline-1`` it was refused (same data, its false-positive rates three ways above).

Run as ``python -m wearable.demo.starter --bucket DIR --key PEM``; it imports TensorFlow,
so the demo runs it in a subprocess of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: Hours of the training cohort the first release learns from.
STARTER_HOURS = 2
STARTER_VERSION = "starter-1"
STARTER_SEED = 20261101


def starter_publish(
    bucket_url: str, key_path: Path, hours: float = STARTER_HOURS
) -> dict[str, Any]:
    """Train the first release on ``hours`` of the bucket's training cohort and publish it.

    Returns the manifest (with version, thresholds and how many windows it saw).
    """
    import numpy as np

    from cloud_training.labelled_cohorts import cohort_load
    from cloud_training.publish import release_publish
    from cloud_training.train import convert, indices_split, model_train, parity
    from wearable_core.buckets import bucket_open
    from wearable_core.contracts.model_release import manifest_header, private_key_load

    bucket = bucket_open(bucket_url)
    cohort = cohort_load(bucket, "train")
    first = cohort.start_s < hours * 3600
    X, Y = cohort.X[first], cohort.Y[first]
    model, thresholds, _ = model_train(X, Y, seed=STARTER_SEED)
    model_bytes = convert(model, X, "dynamic")
    _, held_out = indices_split(len(X), 0.25, STARTER_SEED)
    check = parity(model, model_bytes, X[held_out], thresholds)
    manifest: dict[str, Any] = {
        **manifest_header(STARTER_VERSION, thresholds),
        "parity": {k: round(float(v), 6) for k, v in vars(check).items()},
        "training": {"cohort_hours": hours, "windows": int(first.sum()), "seed": STARTER_SEED},
    }
    usable = np.isfinite(X).all(axis=1)
    release_publish(
        bucket, model_bytes, manifest, private_key_load(key_path), canary_inputs=X[usable][:16]
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="the demo bucket")
    parser.add_argument("--key", type=Path, required=True, help="the signing key (PEM)")
    parser.add_argument("--hours", type=float, default=STARTER_HOURS)
    args = parser.parse_args(argv)
    manifest = starter_publish(args.bucket, args.key, args.hours)
    json.dump(manifest, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
