"""The training job's history in a bucket: every run, and the learning curve it traces.

Every run of ``wearable train`` writes a report to ``training/reports/``
(``docs/operations/training-job.md``): its outcome, the serving model it was judged
against, and the release gate's per-type recall and false-positive rate on the validation
cohort for that model and for the challenger. Read in time order, the reports are the
loop's learning curve as the bucket saw it: after each run, which model the gateways
serve and how it scores on the validation cohort.

That cohort is the gate's own, so this curve shows what the job was judged on. Whether
detection improves on people nobody trained or gated on is the held-out learning curve
(``wearable experiment learning-curve``, ``docs/learning.md``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cloud_training.job import REPORTS_PREFIX
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: Columns of :attr:`TrainingHistory.runs`.
RUN_COLUMNS = (
    "started",
    "outcome",
    "exit_code",
    "judged_against",
    "published",
    "serving_after",
    "reasons",
)
#: Columns of :attr:`TrainingHistory.curve`.
CURVE_COLUMNS = ("step", "run", "started", "type", "model", "published", "recall", "fpr")


@dataclass(frozen=True)
class TrainingHistory:
    """The runs of the training job found in a bucket.

    ``runs``: one row per report in time order (:data:`RUN_COLUMNS`): when it started
    (UTC), its outcome and exit code, the serving model it was judged against, the version
    it published (``None`` when it published nothing), the model serving after it, and
    the gate's reasons for a refusal. ``curve``, per anomaly type, the validation recall
    and false-positive rate of the serving model at each ``step``: step 0 is the model the
    first gated run was judged against, before it (``run`` and ``started`` empty); then
    one step per run that reached the gate, with the model serving after it (the
    challenger's metrics when it was published, the serving model's otherwise); ``run`` is
    the row of ``runs``. ``skipped``: report objects that could not be read, with the
    reason.
    """

    runs: pd.DataFrame
    curve: pd.DataFrame
    skipped: list[dict[str, str]]


def training_history_load(source: Bucket | str) -> TrainingHistory:
    """Read every training-job report in a bucket into a :class:`TrainingHistory`.

    Parameters
    ----------
    source : Bucket or str
        An open bucket, or a bucket URL (``gs://bucket/prefix``, ``file:///dir``, a path).

    A report that is not JSON or lacks the fields read here is listed in
    :attr:`TrainingHistory.skipped`, never raised: one damaged object must not hide the
    history.

    Examples
    --------
    >>> import tempfile
    >>> bucket = bucket_open(tempfile.mkdtemp())
    >>> history = training_history_load(bucket)
    >>> len(history.runs), list(history.curve.columns)[:3]
    (0, ['step', 'run', 'started'])
    """
    bucket = bucket_open(source) if isinstance(source, str) else source
    reports: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for info in bucket.list(REPORTS_PREFIX):
        try:
            report = json.loads(bucket.read(info.name)[0])
            report["_started"] = pd.Timestamp(report["started_utc"])
            report["_name"] = info.name
        except (ValueError, KeyError, TypeError) as exc:
            skipped.append({"name": info.name, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        reports.append(report)
    # Start times have whole seconds; the object name breaks a tie.
    reports.sort(key=lambda r: (r["_started"], r["_name"]))
    runs = [_run_row(r) for r in reports]
    # A run that stopped before the gate names no serving model: the one before it serves.
    for before, run in itertools.pairwise(runs):
        run["serving_after"] = run["serving_after"] or before["serving_after"]
    curve: list[dict[str, Any]] = []
    for index, (report, run) in enumerate(zip(reports, runs, strict=True)):
        gate = report.get("gate") or {}
        if not gate.get("champion"):
            continue  # the run stopped before the gate (no new data, an error)
        if not curve:
            curve += _curve_rows(0, None, None, run["judged_against"], False, gate["champion"])
        side = gate["challenger"] if run["published"] else gate["champion"]
        step = curve[-1]["step"] + 1
        curve += _curve_rows(
            step, index, run["started"], run["serving_after"], bool(run["published"]), side
        )
    frame = pd.DataFrame(curve, columns=list(CURVE_COLUMNS))
    frame["run"] = frame["run"].astype("Int64")  # step 0 has no run
    return TrainingHistory(pd.DataFrame(runs, columns=list(RUN_COLUMNS)), frame, skipped)


def _run_row(report: dict[str, Any]) -> dict[str, Any]:
    published = report.get("version") if report.get("outcome") == "published" else None
    judged_against = report.get("serving_version")
    return {
        "started": report["_started"],
        "outcome": report.get("outcome"),
        "exit_code": report.get("exit_code"),
        "judged_against": judged_against,
        "published": published,
        "serving_after": published or judged_against,
        "reasons": "; ".join((report.get("gate") or {}).get("reasons") or []),
    }


def _curve_rows(
    step: int,
    run: int | None,
    started: pd.Timestamp | None,
    model: str | None,
    published: bool,
    metrics: dict[str, Any],
) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "run": run,
            "started": started,
            "type": name,
            "model": model,
            "published": published,
            "recall": (metrics.get(name) or {}).get("recall"),
            "fpr": (metrics.get(name) or {}).get("fpr"),
        }
        for name in ANOMALY_TYPES
    ]
