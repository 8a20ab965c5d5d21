"""Simulating labelled cohorts for the cloud training job's bucket.

The cohort format, its bucket index and loading are the training job's
(:mod:`cloud_training.labelled_cohorts`, ``docs/formats/cohort.md``); simulating one needs the
simulator, so it lives here, above both roles: :func:`cohort_write` and the
``wearable train cohort`` command.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cloud_training.dataset import dataset_from_export
from cloud_training.labelled_cohorts import (
    REPO,
    CohortConflict,
    CohortCorrupt,
    CohortInfo,
    CohortScenario,
    cohort_add,
)
from firmware_sim.export import LABELS_FILE, WATCHES_FILE, scenario_export
from firmware_sim.scenario import Scenario, scenario_load
from wearable.progress import TerminalProgress, percent
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket, BucketConfigError, BucketError
from wearable_core.units import duration_format

#: ``--scenario`` default: the evaluation cohort (exists in a source checkout).
DEFAULT_SCENARIO = REPO / "examples" / "eval.toml"


def _device_indexes(directory: Path, devices: npt.NDArray[np.str_]) -> npt.NDArray[np.int32]:
    """Each row's watch index (its row in ``watches.csv``, which is the plan order)."""
    with (directory / WATCHES_FILE).open(newline="", encoding="utf-8") as handle:
        order = {row["device"]: i for i, row in enumerate(csv.DictReader(handle))}
    return np.array([order[str(d)] for d in devices], dtype=np.int32)


def _episodes(directory: Path) -> dict[str, int]:
    with (directory / LABELS_FILE).open(newline="", encoding="utf-8") as handle:
        counts = Counter(row["kind"] for row in csv.DictReader(handle))
    return dict(sorted(counts.items()))


#: ``progress(phase, done, total)`` of :func:`cohort_write`: what it is doing
#: (``"simulating watch 2/6"``) and how far the whole cohort is, in any unit.
CohortProgress = Callable[[str, float, float], None]


def _simulate(
    scenario: Scenario,
    seed: int,
    duration_s: int,
    workdir: Path | None,
    progress: CohortProgress | None = None,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, int]]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    tell = progress or (lambda phase, done, total: None)
    # Progress in simulated watch-seconds: simulating a watch counts its duration, and
    # cutting it into feature windows counts it once more (each took about as long).
    watches = scenario.watches
    total = 2.0 * watches * duration_s

    def simulated(done_s: float, _: float) -> None:
        watch = min(int(done_s // duration_s) + 1, watches)
        tell(f"simulating watch {watch}/{watches}", done_s, total)

    def cut(done: int, of: int) -> None:
        tell(f"cutting windows, watch {done}/{of}", (watches + done) * duration_s, total)

    # The export is ~45 MB of CSV per watch-day: workdir lets a job put it on a big disk.
    with tempfile.TemporaryDirectory(prefix="cohort-export-", dir=workdir) as tmp:
        tell(f"simulating watch 1/{watches}", 0.0, total)
        scenario_export(scenario, tmp, seed=seed, duration_s=duration_s, progress=simulated)
        data = dataset_from_export(tmp, progress=cut)
        arrays: dict[str, npt.NDArray[Any]] = {
            "X": data.X,
            "Y": data.Y,
            "fault": data.fault,
            "start_s": data.start_s,
            "device_index": _device_indexes(Path(tmp), data.device),
        }
        episodes = _episodes(Path(tmp))
    tell("storing the cohort", total, total)
    return arrays, episodes


def cohort_write(
    bucket: Bucket,
    split: str,
    scenario_path: Path,
    *,
    seed: int | None = None,
    duration_s: int | None = None,
    workdir: Path | None = None,
    progress: CohortProgress | None = None,
) -> CohortInfo:
    """Simulate a scenario and store it as one immutable cohort object of ``split``.

    :func:`cloud_training.labelled_cohorts.cohort_add` with the simulator: idempotent, create-only,
    listed in ``cohorts/<split>/index.json`` by compare-and-swap (see there).

    Parameters
    ----------
    bucket : Bucket
        Where the cohort goes (``wearable_core.buckets.bucket_open``).
    split : str
        ``"train"`` or ``"validation"``.
    scenario_path : pathlib.Path
        Scenario TOML (``docs/formats/scenario.md``).
    seed : int, optional
        Overrides the scenario's seed.
    duration_s : int, optional
        Overrides the scenario's duration (rounded up to whole minutes).
    workdir : pathlib.Path, optional
        Parent of the temporary export directory (default: the system temp directory).
    progress : callable, optional
        Told what the simulation is doing and how far it is (:data:`CohortProgress`,
        ``done`` never decreasing; not called when the cohort is already present). It
        never changes the cohort's bytes.

    Returns
    -------
    CohortInfo
        The cohort as listed in the index.

    Raises
    ------
    ValueError
        Unknown split, bad seed or duration, or an invalid scenario (``ScenarioError``).
    cloud_training.labelled_cohorts.CohortLeak
        The seed is used by a cohort of the other split.
    cloud_training.labelled_cohorts.CohortConflict
        The split already holds the same scenario and seed otherwise, or the index kept
        changing during the compare-and-swap.
    wearable_core.buckets.BucketError
        The bucket failed (``BucketUnavailable`` is safe to retry).
    """

    def load(path: Path) -> CohortScenario:
        scenario = scenario_load(path)

        def simulate(
            seed: int, duration_s: int
        ) -> tuple[dict[str, npt.NDArray[Any]], dict[str, int]]:
            # Looked up when called, so a test can replace it.
            return _simulate(scenario, seed, duration_s, workdir, progress)

        return CohortScenario(
            name=scenario.name,
            seed=scenario.seed,
            duration_s=scenario.duration_s,
            start_epoch_s=scenario.start_epoch_s,
            watches=scenario.watches,
            simulate=simulate,
        )

    return cohort_add(bucket, split, scenario_path, load, seed=seed, duration_s=duration_s)


def cohort_command(args: argparse.Namespace) -> int:
    """Run ``wearable train cohort``: write the cohort, print a summary.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by ``wearable train cohort`` (``wearable/cli/train.py``); ``duration`` in
        seconds (``wearable.cli.errors.duration_arg``) or ``None``.

    Returns
    -------
    int
        0 on success (written or already present), 2 for a usage error (bad bucket URL,
        scenario, seed or duration, a leaked or doubled seed), 1 for a bucket failure.
    """
    scenario_path: Path = args.scenario if args.scenario is not None else DEFAULT_SCENARIO
    started = time.monotonic()
    try:
        bucket = bucket_open(args.bucket)
        # A live bar on a terminal only: a pipe, a log and --json see what they did before.
        with TerminalProgress(sys.stderr, 0, percent) as bar:

            def progress(phase: str, done: float, total: float) -> None:
                bar.phase(phase)
                bar.advance(done, total=total)

            info = cohort_write(
                bucket,
                args.split,
                scenario_path,
                seed=args.seed,
                duration_s=args.duration,
                workdir=getattr(args, "workdir", None),
                progress=progress if bar.enabled else None,
            )
    except (ValueError, BucketConfigError, CohortConflict, CohortCorrupt) as exc:
        # ScenarioError, CohortLeak and BucketConfigError are ValueErrors: bad input
        print(f"wearable train cohort: {exc}", file=sys.stderr)
        return 2
    except BucketError as exc:
        print(f"wearable train cohort: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    status = "already present" if info.already_present else "created"
    if args.json:
        out = {**info.to_json(), "split": info.split, "status": status}
        out["seconds"] = round(seconds, 3)
        print(json.dumps(out, sort_keys=True))
        return 0
    positives = ", ".join(f"{t} {n}" for t, n in info.positives.items())
    print(f"{info.name}: {status}")
    print(
        f"  {info.scenario} seed {info.seed}, {duration_format(info.duration_s)}, "
        f"{info.watches} watches: {info.windows} windows, {info.bytes / 1e6:.2f} MB"
    )
    print(f"  positive windows: {positives}; fault windows {info.fault_windows}")
    print(f"  took {seconds:.1f} s")
    return 0
