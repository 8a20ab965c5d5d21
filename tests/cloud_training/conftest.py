"""Fixtures for the training-job tests: a bucket with cohorts and one day of fleet batches."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cloud_training.labelled_cohorts import cohort_load
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, StoredWindow, WindowSummary
from gateway.sync.aggregates import alerts_batch, windows_batches
from wearable.cohort_simulation import cohort_write
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.aggregate_batch import batch_encode, batch_object_name
from wearable_core.model.runtime import ModelRunner

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


@pytest.fixture(scope="session")
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


def _upload_fleet(bucket: Bucket, X: npt.NDArray[np.float32]) -> None:
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
    alert = AlertRow(
        1, DEVICE, "desaturation", "critical", T0_MS + 300_000, T0_MS + 660_000,
        T0_MS, T0_MS, 0.9, None, "confirmed", T0_MS, "", "baseline-1",
    )  # fmt: skip
    # The gateway links each window to the alerts holding it (format version 2).
    for part in windows_batches(KEY, DEVICE, windows, sample_every=2, alerts=[alert]):
        data = batch_encode(part.batch)
        bucket.create(batch_object_name(part.batch.kind, data, part.first_hour), data)
    batch = alerts_batch(KEY, DEVICE, [alert])
    data = batch_encode(batch)
    bucket.create(batch_object_name(batch.kind, data, T0_MS // 3_600_000), data)


def _baseline_bytes() -> bytes:
    return resources.files("wearable_core").joinpath("models", "baseline.tflite").read_bytes()


@pytest.fixture
def bucket_dir(prepared: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bucket"
    shutil.copytree(prepared, target)
    return target
