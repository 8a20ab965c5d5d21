"""``wearable train``: the training job, its cohorts, and rollback.

Exit codes of ``wearable train`` (``docs/operations/training-job.md``): 0 a new model was
published; 3 trained but not better than the serving model (nothing published); 4 no
new data since the last run (nothing trained); 5 trained, and the identical release is
already current (nothing published); 1 an error (the message says what; with ``--json``
the report, with an ``error`` object, is printed too); 2 bad arguments or setup (a
missing key, an unusable bucket URL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from wearable.cli.errors import duration_arg, positive_float

if TYPE_CHECKING:  # this module builds every command's parser: it imports nothing heavy
    from cloud_training.job import JobProgress

#: Environment variable naming the signing key when ``--key`` is not given.
KEY_ENV = "WEARABLE_SIGNING_KEY"
#: ``wearable_core.contracts.model_release.POINTER_VALID`` in days (not imported: this
#: module builds the parser of every ``wearable`` command and stays light).
POINTER_VALID_DAYS = 30


def register(commands: Any) -> None:
    """Add ``train`` (and ``train cohort``, ``rollback``, ``refresh``) to the top-level parser.

    Nothing heavy is imported here: every ``wearable`` command builds this parser, and
    the gateway's commands must not pay for the simulator or TensorFlow.
    """
    train = commands.add_parser(
        "train",
        help="the cloud training job: ingest batches, train, gate, publish a signed model",
        description=(
            "Ingest new aggregate batches from the bucket, train on them and the labelled "
            "training cohort, calibrate thresholds, convert to TFLite, and publish a signed "
            "release only if it is not worse than the serving model on the validation "
            "cohort. Exit 0 published, 3 not better, 4 no new data, 5 already current, "
            "1 error, 2 bad setup."
        ),
    )
    train.add_argument("--bucket", help="gs://bucket/prefix, file:///dir or a directory")
    train.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multiworker"),
        default="default",
        help="tf.distribute strategy (multiworker reads TF_CONFIG)",
    )
    train.add_argument("--key", type=Path, help=f"Ed25519 signing key (PEM; default ${KEY_ENV})")
    train.add_argument("--seed", type=int, default=20261127, help="training seed")
    train.add_argument("--epochs", type=int, default=30, help="passes over the training data")
    train.add_argument(
        "--target-fpr",
        type=float,
        default=0.01,
        help="per-window false-positive rate the thresholds are calibrated to",
    )
    train.add_argument("--force", action="store_true", help="train even without new batches")
    train.add_argument("--max-batches", type=int, help="ingest at most this many new batches")
    train.add_argument(
        "--no-weak-labels",
        dest="weak_labels",
        action="store_false",
        help="label the fleet's windows from clinicians' verdicts only, not from the "
        "sampling and the serving model's confidence (an ablation: docs/learning.md)",
    )
    train.add_argument("--json", action="store_true", help="print the report as JSON")
    train.set_defaults(handler=_train)

    actions = train.add_subparsers(dest="train_command", metavar="ACTION")
    _register_cohort(actions)
    ingest = actions.add_parser(
        "ingest",
        help="only ingest new batches into the corpus (before a multi-worker run)",
        description=(
            "Ingest new aggregate and alert batches into the training corpus in the bucket "
            "(checkpointed; bad batches quarantined). Exit 0 new batches, 4 none, 1 error."
        ),
    )
    ingest.add_argument("--bucket", required=True, help="the bucket")
    ingest.add_argument("--max-batches", type=int, help="ingest at most this many")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(handler=_ingest)
    rollback = actions.add_parser(
        "rollback",
        help="point gateways back at the previous (or a named) release",
        description=(
            "Move models/current.json back to an earlier signed release, signing the "
            "rollback statement gateways need to go back to a release they saw superseded."
        ),
    )
    rollback.add_argument("--bucket", required=True, help="the release bucket")
    rollback.add_argument("--to", help="release version (default: the previous one)")
    rollback.add_argument(
        "--key",
        type=Path,
        help=f"the signing key: signs the pointer, checks the target (default ${KEY_ENV})",
    )
    rollback.set_defaults(handler=_rollback)
    refresh = actions.add_parser(
        "refresh",
        help="re-sign models/current.json with a new expiry (and sign a legacy one)",
        description=(
            "Re-sign the model pointer unchanged but for a higher counter and a new expiry. "
            "Gateways refuse an expired pointer; every `wearable train` run does this when "
            "less than half the validity is left. Also signs a pointer written before "
            "pointers were signed: check the release it names first."
        ),
    )
    refresh.add_argument("--bucket", required=True, help="the release bucket")
    refresh.add_argument("--key", type=Path, help=f"the signing key (default ${KEY_ENV})")
    refresh.add_argument(
        "--valid-days",
        type=positive_float,
        default=POINTER_VALID_DAYS,
        help=f"days gateways trust the pointer (default {POINTER_VALID_DAYS})",
    )
    refresh.set_defaults(handler=_refresh)


def _register_cohort(actions: Any) -> None:
    cohort = actions.add_parser(
        "cohort",
        help="simulate a labelled cohort and store it in the bucket (train or validation)",
        description=(
            "Simulate a scenario, cut it into the gateway's feature windows with ground-truth "
            "labels and store it as one immutable object under cohorts/<split>/ "
            "(docs/formats/cohort.md). Same scenario, seed and duration: same bytes; "
            "re-running is a no-op. The validation seed must never be used for training."
        ),
    )
    cohort.add_argument(
        "--bucket", required=True, metavar="URL", help="gs://bucket/prefix, file:///dir or a dir"
    )
    cohort.add_argument(
        "--split", required=True, choices=("train", "validation"), help="which split to add to"
    )
    cohort.add_argument(
        "--scenario",
        type=Path,
        default=None,
        metavar="PATH",
        help="scenario TOML (default: examples/eval.toml of this checkout)",
    )
    cohort.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    cohort.add_argument(
        "--duration",
        type=duration_arg,
        metavar="DURATION",
        help="override the scenario's duration: 600, 90s, 6h, 2d (rounded up to whole minutes)",
    )
    cohort.add_argument(
        "--workdir", type=Path, help="where the temporary export goes (default: system temp)"
    )
    cohort.add_argument("--json", action="store_true", help="machine-readable output")
    cohort.set_defaults(handler=_cohort)


def _cohort(args: argparse.Namespace) -> int:
    from wearable.cohort_simulation import cohort_command

    return cohort_command(args)


def _ingest(args: argparse.Namespace) -> int:
    from cloud_training.corpus import CorpusError, corpus_ingest
    from wearable_core.buckets.base import BucketError

    bucket = _bucket(args.bucket)
    try:
        report = corpus_ingest(bucket, max_batches=args.max_batches)
    except (BucketError, CorpusError) as exc:
        print(f"wearable train ingest: failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(
            f"ingested {report.new_batches} new batches ({report.windows_added} windows, "
            f"{report.alerts_added} alerts), {len(report.quarantined)} quarantined; "
            f"corpus: {report.corpus_windows} windows in {report.corpus_shards} shards"
        )
        for name, reason in report.quarantined:
            print(f"  quarantined {name}: {reason}")
    return 0 if report.new_batches else 4


class SetupExit(SystemExit):
    """Exit ``code`` (2: bad arguments or setup) after one line on stderr; ``message``
    keeps that line for ``--json``, whose reader gets an error object, not nothing."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(code)
        self.message = message


def _fail(message: str, code: int = 2) -> SetupExit:
    print(f"wearable train: {message}", file=sys.stderr)
    return SetupExit(message, code)


def _key(path: Path | None) -> Any:
    from wearable_core.contracts.model_release import ReleaseError, private_key_load

    chosen = path or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    if chosen is None:
        raise _fail(
            f"no signing key: pass --key PEM or set {KEY_ENV} "
            "(create one with `wearable keys generate --out DIR`)"
        )
    try:
        return private_key_load(chosen)
    except (ReleaseError, OSError) as exc:
        raise _fail(f"cannot use the signing key {chosen}: {exc}") from exc


def _bucket(url: str | None) -> Any:
    from wearable_core.buckets import bucket_open
    from wearable_core.buckets.base import BucketConfigError

    if not url:
        raise _fail("no bucket: pass --bucket URL")
    try:
        return bucket_open(url)
    except BucketConfigError as exc:
        raise _fail(str(exc)) from exc


def _train(args: argparse.Namespace) -> int:
    from cloud_training.corpus import CorpusError
    from cloud_training.job import JobReport, JobSettings, job_run
    from cloud_training.labelled_cohorts import CohortError
    from wearable_core.buckets.base import BucketError

    try:
        bucket = _bucket(args.bucket)
        key = _key(args.key)
    except SetupExit as exc:
        if args.json:
            error = {"type": "SetupError", "message": exc.message}
            print(json.dumps({"outcome": "error", "exit_code": exc.code, "error": error}))
        raise
    settings = JobSettings(
        strategy=args.strategy,
        seed=args.seed,
        epochs=args.epochs,
        target_fpr=args.target_fpr,
        force=args.force,
        max_batches=args.max_batches,
        weak_labels=args.weak_labels,
    )

    report = JobReport()
    try:
        with _job_progress(sys.stderr) as progress:
            job_run(bucket, key, settings, progress=progress, report=report)
    except (BucketError, CohortError, CorpusError, RuntimeError, ValueError) as exc:
        # Expected failures: the message names the problem and the fix.
        print(f"wearable train: failed: {exc}", file=sys.stderr)
        return _failed(report, args.json)
    except Exception as exc:  # a batch job reports a failure, it does not crash
        # Unexpected: keep the traceback for whoever debugs it, on stderr only.
        traceback.print_exc(file=sys.stderr)
        print(f"wearable train: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _failed(report, args.json)
    _keep_pointer_fresh(bucket, key)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_human(report.as_dict())
    return report.outcome.exit_code


#: What a terminal's progress display calls each stage of a run.
STAGE_TEXT = {
    "ingest": "reading batches",
    "load": "loading data",
    "train": "training",
    "convert": "calibrating, converting",
    "gate": "validating (gate)",
    "publish": "publishing",
    "report": "writing the report",
}


@contextmanager
def _job_progress(stream: TextIO) -> Iterator[Callable[[JobProgress], None]]:
    """The training job's ``progress`` callback: a live bar on ``stream`` when it is a
    terminal, else each stage's line as ``[train] ...`` (what a log or scheduler keeps).

    rich is imported only for a terminal (``wearable.progress``), and nothing here
    changes what the run does.
    """
    from wearable.progress import TerminalProgress, percent

    with TerminalProgress(stream, 0, percent) as bar:
        # What the first seconds go to, before the run reports its first stage.
        bar.phase("loading TensorFlow")

        def progress(step: JobProgress) -> None:
            if bar.enabled:
                bar.phase(STAGE_TEXT.get(step.stage, step.stage))
                bar.advance(step.done, step.detail, total=step.total)
            elif step.line is not None:
                print(f"[train] {step.line}", file=stream, flush=True)

        yield progress


def _keep_pointer_fresh(bucket: Any, key: Any) -> None:
    """Re-sign the pointer when less than half its validity is left, so gateways keep
    following a bucket in which nothing was published for weeks. A failure here only
    warns: the run's own outcome stands, and the next run tries again."""
    from cloud_training.publish import PublishError, release_refresh
    from wearable_core.buckets.base import BucketError
    from wearable_core.contracts.model_release import POINTER_VALID

    try:
        pointer = release_refresh(bucket, key, min_remaining=POINTER_VALID / 2)
    except (PublishError, BucketError) as exc:
        print(f"wearable train: warning: models/current.json not re-signed: {exc}", file=sys.stderr)
        return
    if pointer is not None:
        print(
            f"[train] re-signed models/current.json (counter {pointer.counter}, expires "
            f"{pointer.expires:%Y-%m-%dT%H:%M:%SZ})",
            file=sys.stderr,
        )


def _failed(report: Any, as_json: bool) -> int:
    """Print the failed run's report (``error`` set) when ``--json`` asked; exit 1."""
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    elif report.report_object:
        print(f"wearable train: report written to {report.report_object}", file=sys.stderr)
    return int(report.outcome.exit_code)


def _print_human(report: dict[str, Any]) -> None:
    ingest = report["ingest"]
    print(
        f"{report['outcome']}: {report['message']}\n"
        f"  ingest: {ingest.get('new_batches', 0)} new batches, "
        f"{len(ingest.get('quarantined', []))} quarantined, "
        f"{ingest.get('corpus_windows', 0)} windows in the corpus"
    )
    if report["training"]:
        t = report["training"]
        print(
            f"  train: {t['windows']} windows, {t['epochs']} epochs, strategy {t['strategy']} "
            f"({t['replicas']} replicas), {t['windows_per_s']} windows/s"
        )
    gate = report["gate"]
    if gate:
        verdict = "passed" if gate["passed"] else "failed"
        floor = gate.get("floor")
        # The same rule against the shipped baseline too (docs/model.md, "The floor").
        against = f" and the floor {floor['version']}" if floor else ""
        print(f"  gate against {report['serving_version']}{against}: {verdict}")
        for name, new in gate["challenger"].items():
            old = (gate["champion"] or {}).get(name, {})
            print(
                f"    {name:13s} recall {_num(new['recall'])} (serving {_num(old.get('recall'))})"
                f"  fpr {_num(new['fpr'])} (serving {_num(old.get('fpr'))})"
            )
        if floor:
            print(f"    the floor alone: {'passed' if floor['passed'] else 'failed'}")
        for reason in gate["reasons"]:
            print(f"    - {reason}")
    print(f"  seconds: {json.dumps(report['seconds'])}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _rollback(args: argparse.Namespace) -> int:
    from cloud_training.publish import PublishError, release_rollback

    bucket = _bucket(args.bucket)
    key = _key(args.key)
    try:
        version = release_rollback(bucket, key, args.to)
    except PublishError as exc:
        raise _fail(str(exc), 1) from exc
    print(f"models/current.json now points at {version} (signed rollback statement)")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from cloud_training.publish import PublishError, release_refresh

    bucket = _bucket(args.bucket)
    key = _key(args.key)
    try:
        pointer = release_refresh(bucket, key, valid_for=timedelta(days=args.valid_days))
    except PublishError as exc:
        raise _fail(str(exc), 1) from exc
    assert pointer is not None  # no min_remaining: always re-signed
    print(
        f"models/current.json re-signed: release {pointer.version}, counter {pointer.counter}, "
        f"expires {pointer.expires:%Y-%m-%dT%H:%M:%SZ}"
    )
    return 0
