"""The scheduled training job: ingest, train, calibrate, convert, gate, publish, report.

One run (:func:`job_run`, ``wearable train --bucket URL``):

1. **ingest** new aggregate and alert batches into the corpus kept in the bucket
   (``cloud_training.corpus``: checkpointed, deduplicated, bad batches quarantined);
   nothing new and no ``force``: stop with :attr:`Outcome.NO_NEW_DATA`;
2. **data**: the labelled training cohort (``cohorts/train``, ground truth) plus the
   fleet corpus with weak labels from alert outcomes (``weak_labels``), sample weights
   from the gateways' sampling;
3. **train** with the model code the shipped baseline uses, through one custom loop under
   the chosen tf.distribute strategy (``cloud_training.distributed``), seeded;
4. **calibrate** per-type thresholds to the target false-positive rate on a held-out
   split of the training data (never on the validation cohort, which judges);
5. **convert** to TFLite (builtin ops) and check Keras-vs-LiteRT parity;
6. **gate**: score the challenger and the serving model (the newest release a gateway
   would accept, else the shipped baseline) with LiteRT on the validation cohort
   (``cohorts/validation``), as gateways serve them (``wearable_core.assessment.served``: scores
   the detector's clinical gates would close count as not flagged), and publish only if
   not worse (``cloud_training.gate``);
7. **publish** the signed release (model, manifest, then the pointer;
   ``cloud_training.publish``) and write the report to ``training/reports/``.

Exit codes (:class:`Outcome`) let a scheduler act: 0 published, 3 not better, 4 no new
data, 5 already current, 1 error, 2 bad arguments.

Idempotence, so that a retry is always safe and never loses work:

- "No new data" means the corpus is the one the last *finished* run (published, not
  better or already current) trained on, recorded in ``training/trained.json``
  (:data:`TRAINED_NAME`), not merely "nothing new to ingest": a run that ingested and then
  failed (a crash, a lost response, a full disk) leaves batches in the corpus that no
  model has seen, and the next run trains on them instead of exiting 4.
- The release version is a digest of the model bytes *and* of everything in the manifest
  a gateway acts on (:func:`release_version`), so the same data and settings give the same
  version. A run whose release is already the one ``models/current.json`` names stops
  with :attr:`Outcome.ALREADY_CURRENT` (exit 5) and writes nothing but its report; one
  whose release exists but is not current makes the existing release current again.
- A run that fails still writes its report, with ``error`` set (type and message), and
  re-raises.

With ``--strategy multiworker`` every worker runs the same command (``TF_CONFIG`` tells
them apart) and trains on the same data, so nobody ingests during the run: the schedule
runs ``wearable train ingest`` first, then the workers. Only the chief gates, publishes
and writes the report; the other workers stop after training with exit 0.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud_training import gate as gate_rule
from cloud_training.corpus import corpus_ingest, corpus_load, corpus_shards, weak_labels
from cloud_training.gate import (
    CONFIDENCE,
    EPISODE_TYPES,
    GateDecision,
    TypeScore,
    gate_decide,
    gate_intervals,
    gate_scores,
    recall_at_fpr,
)
from cloud_training.labelled_cohorts import cohort_load
from wearable_core.assessment.served import served_outputs
from wearable_core.buckets.base import Bucket, BucketError, GenerationMismatch, ObjectNotFound
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.model_release import (
    POINTER_NAME,
    manifest_header,
    manifest_object,
    model_object,
    pointer_for,
    pointer_parse,
    signature_object,
)
from wearable_core.model.release_checks import Refused, canary_check, manifest_check, model_check

log = logging.getLogger(__name__)

#: Where run reports go (one JSON object per run, create-only).
REPORTS_PREFIX = "training/reports/"
#: Which corpus the last finished run trained on (compare-and-swap; see the module doc).
TRAINED_NAME = "training/trained.json"
#: ``format`` and ``version`` fields of :data:`TRAINED_NAME`.
TRAINED_FORMAT = "wearable.training_trained"
TRAINED_VERSION = 1
#: Held-out fraction of the training data used to calibrate thresholds.
CALIBRATION_FRACTION = 0.25
#: Canary rows published with a release (validation windows without faults).
CANARY_ROWS = 32


class Outcome(enum.IntEnum):
    """How a run ended; :attr:`exit_code` is the process exit code."""

    PUBLISHED = 0
    ERROR = 1
    NOT_BETTER = 3
    NO_NEW_DATA = 4
    #: Trained, passed the gate, and the identical release (same model and thresholds)
    #: is already the current one: nothing published (for example ``--force`` without
    #: new data). The fleet runs what this data and these settings give.
    ALREADY_CURRENT = 5
    #: A non-chief worker of a multi-worker run finished its part (exit 0).
    WORKER_DONE = 10

    @property
    def exit_code(self) -> int:
        """0 published or worker done, 1 error, 3 not better, 4 no new data, 5 already
        current."""
        return 0 if self is Outcome.WORKER_DONE else int(self)


@dataclass
class JobSettings:
    """What a run does (the command line's options)."""

    strategy: str = "default"
    seed: int = 20261127
    epochs: int = 30
    batch_size: int = 64
    target_fpr: float = 0.01
    force: bool = False
    max_batches: int | None = None
    #: Label the fleet's windows the clinicians did not review (``weak_labels``' rules 3
    #: and 4); ``False`` trains on the cohort plus the verdicts only (an ablation).
    weak_labels: bool = True


@dataclass
class JobReport:
    """Everything a run measured and decided; written to the bucket and printed.

    ``error`` is ``{"type": ..., "message": ...}`` when the run failed with an exception.
    """

    outcome: Outcome = Outcome.ERROR
    started_utc: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    seconds: dict[str, float] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    serving_version: str | None = None
    message: str = ""
    error: dict[str, str] | None = None
    #: Name of the report object in the bucket, once written.
    report_object: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome.name.lower(),
            "exit_code": self.outcome.exit_code,
            "started_utc": self.started_utc,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "ingest": self.ingest,
            "data": self.data,
            "training": self.training,
            "gate": self.gate,
            "version": self.version,
            "serving_version": self.serving_version,
            "message": self.message,
            "error": self.error,
            "report_object": self.report_object,
        }


#: The stages of a run in order, as :class:`JobProgress` names them; ``report`` is
#: writing the run's report, :attr:`JobReport.seconds` times each of the others.
STAGES: tuple[str, ...] = ("ingest", "load", "train", "convert", "gate", "publish", "report")


@dataclass(frozen=True)
class JobProgress:
    """How far a run is: what ``job_run`` tells its ``progress`` callback.

    ``done`` of ``total`` counts the steps of the whole run: one per stage of
    :data:`STAGES`, plus one per new batch read and one per training epoch. ``done``
    never decreases; ``total`` grows once, when ingest has listed the new batches, and a
    run that ends early (no new data, not better) jumps to ``done == total`` with its
    report. ``detail`` says where the stage is (``"batch 3/55"``, ``"epoch 7/30, loss
    0.1234"``). ``line`` is the same as one line of text for a log or a pipe, or ``None``
    for a step too small to be worth a line (one batch read).
    """

    stage: str
    done: int
    total: int
    detail: str = ""
    line: str | None = None


class _Steps:
    """Times each stage into the report and tells ``progress`` how far the run is."""

    def __init__(
        self, report: JobReport, progress: Callable[[JobProgress], None], epochs: int
    ) -> None:
        self.report = report
        self.progress = progress
        self.stage = STAGES[0]
        self.done = 0
        self.total = len(STAGES) + epochs

    def tell(self, line: str | None = None, detail: str = "") -> None:
        """Report the current step, with a log ``line`` when there is one."""
        self.progress(JobProgress(self.stage, self.done, self.total, detail, line))

    def run(self, stage: str, fn: Callable[[], Any]) -> Any:
        """Run one stage: ``fn``'s result, its time in ``report.seconds[stage]``."""
        self.stage = stage
        self.tell(f"{stage} ...")
        start = time.perf_counter()
        result = fn()
        took = time.perf_counter() - start
        self.report.seconds[stage] = took
        self.done += 1
        self.tell(f"{stage}: done in {took:.1f} s")
        return result

    def skip(self, stage: str) -> None:
        """A stage this run does not have (ingest of a multi-worker run): one step on."""
        self.stage = stage
        self.done += 1

    def batch(self, read: int, to_read: int) -> None:
        """``corpus_ingest``'s ``on_batch``: one step per batch, learnt once listed."""
        if read == 0:
            self.total += to_read
            return
        self.done += 1
        self.tell(detail=f"batch {read}/{to_read}")

    def epoch(self, epoch: int, epochs: int, loss: float) -> None:
        """``distributed_train``'s ``on_epoch``: one step and one line per epoch."""
        self.done += 1
        self.tell(
            f"train: epoch {epoch}/{epochs} {_bar(epoch, epochs)} loss {loss:.4f}",
            f"epoch {epoch}/{epochs}, loss {loss:.4f}",
        )

    def finish(self) -> None:
        """The run is done (its report written, or a worker's part finished), whichever
        stages it skipped."""
        self.stage = "report"
        self.done = self.total
        self.tell()


def _bar(done: int, total: int, width: int = 20) -> str:
    """A text progress bar, e.g. ``[######..............]``."""
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def serving_release(
    bucket: Bucket, public_key: Ed25519PublicKey
) -> tuple[tuple[str, bytes, npt.NDArray[np.float32]] | None, list[dict[str, str]]]:
    """The release the gateways serve, ``(version, model bytes, thresholds)`` or ``None``,
    and the newer releases skipped on the way to it (version, failed check, reason).

    That is the newest release in the pointer and its history that passes every check a
    gateway makes (``gateway.model_update.delivery``). A gateway refuses a broken release
    and keeps its previous model, so judging a challenger against a broken current
    release would compare it with a model no gateway runs, or crash on a corrupt
    flatbuffer and leave the fleet stuck on the last good model.
    """
    try:
        pointer = pointer_parse(bucket.read(POINTER_NAME)[0])
    except ObjectNotFound:
        return None, []
    skipped: list[dict[str, str]] = []
    for version in (pointer.version, *pointer.history):
        try:
            manifest_bytes = bucket.read(manifest_object(version))[0]
            signature_info = bucket.stat(signature_object(version))
            signature = bucket.read(signature_object(version))[0] if signature_info else None
            named = pointer if version == pointer.version else pointer_for(version, manifest_bytes)
            verified = manifest_check(named, manifest_bytes, signature, public_key)
            model = bucket.read(model_object(version))[0]
            model_check(verified, model)
            canary_check(verified, model)
        except ObjectNotFound as exc:
            skipped.append({"version": version, "check": "missing", "reason": str(exc)})
        except Refused as exc:
            skipped.append({"version": version, "check": exc.check, "reason": str(exc)})
        else:
            return (version, model, _thresholds(verified.document)), skipped
    return None, skipped


def _shipped_baseline() -> tuple[str, bytes, npt.NDArray[np.float32]]:
    package = resources.files("wearable_core").joinpath("models")
    manifest = json.loads(package.joinpath("baseline.json").read_text("utf-8"))
    return (
        str(manifest["version"]),
        package.joinpath("baseline.tflite").read_bytes(),
        _thresholds(manifest),
    )


def _thresholds(manifest: dict[str, Any]) -> npt.NDArray[np.float32]:
    return np.array([manifest["thresholds"][t] for t in ANOMALY_TYPES], dtype=np.float32)


def _scores_dict(scores: dict[str, TypeScore]) -> dict[str, dict[str, float | None]]:
    """Gate metrics as JSON (strict: an undefined recall, no positives, is ``None``)."""
    # The five per-window fields only: this dict is also the release manifest's
    # ``validation``; the episode counts and intervals go to ``gate.intervals``.
    fields = ("threshold", "positives", "negatives", "recall", "fpr")
    return {name: {k: _json_number(getattr(s, k)) for k in fields} for name, s in scores.items()}


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)


def release_version(model_bytes: bytes, thresholds: npt.ArrayLike) -> str:
    """The version the job publishes a model under: ``m-`` and 12 hex digits of the
    SHA-256 of the model bytes and of the manifest fields a gateway acts on (feature
    contract and thresholds, as :func:`manifest_header` writes them).

    Same model and thresholds, same version; a different threshold (another
    ``--target-fpr``), a different version. Provenance (validation metrics, the release it
    replaces) is left out: it changes between runs that publish the same thing.

    Examples
    --------
    >>> a = release_version(b"model", [0.5] * len(ANOMALY_TYPES))
    >>> a == release_version(b"model", [0.5] * len(ANOMALY_TYPES)), a.startswith("m-")
    (True, True)
    >>> a == release_version(b"model", [0.6] * len(ANOMALY_TYPES))
    False
    """
    header = manifest_header("m-0", thresholds)
    del header["version"]
    digest = hashlib.sha256(model_bytes)
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return "m-" + digest.hexdigest()[:12]


def job_run(
    bucket: Bucket,
    private_key: Any,
    settings: JobSettings | None = None,
    *,
    progress: Callable[[JobProgress], None] = lambda _: None,
    report: JobReport | None = None,
) -> JobReport:
    """One training run against ``bucket``; see the module docstring.

    Parameters
    ----------
    bucket
        Where batches, cohorts, corpus, releases and reports live.
    private_key
        The Ed25519 key that signs releases (``private_key_load``).
    settings
        Strategy, seed, epochs, target false-positive rate, ``force``.
    progress
        Called as the run moves on (:class:`JobProgress`: the stage, steps done of the
        total, and a line for a log); a live display on a terminal, log lines elsewhere.
        It never changes what the run does.
    report
        Filled in and returned; pass one to still have the partial report (with
        ``error`` set) when the run raises. Default: a new one.

    Raises
    ------
    Exception
        Whatever stopped the run (``BucketError``, ``CohortError``, ``CorpusError``,
        ``PublishError``...), after the report with ``outcome: error`` and ``error`` was
        written to the bucket (unless the bucket itself failed).
    """
    report = report if report is not None else JobReport()
    try:
        return _job_run(bucket, private_key, settings or JobSettings(), progress, report)
    except Exception as exc:
        report.outcome = Outcome.ERROR
        report.error = {"type": type(exc).__name__, "message": str(exc)}
        report.message = report.message or f"failed: {exc}"
        if report.report_object is None:
            try:
                _finish(bucket, report)
            except BucketError as write_exc:
                # The bucket is what failed, most likely: the exception says more.
                log.warning("could not write the failed run's report: %s", write_exc)
        raise


def _job_run(
    bucket: Bucket,
    private_key: Any,
    settings: JobSettings,
    progress: Callable[[JobProgress], None],
    report: JobReport,
) -> JobReport:
    # TensorFlow is imported here, not at module import: `wearable train --help` and
    # the no-new-data exit stay fast.
    from cloud_training.distributed import distributed_train, is_chief, strategy_make
    from cloud_training.publish import release_publish
    from cloud_training.train import (
        convert,
        indices_split,
        parity,
        tflite_scores,
        thresholds_calibrate,
    )

    watch = _Steps(report, progress, settings.epochs)

    # Created first: under multiworker this joins the cluster, and every worker must
    # then see the same corpus, which is why multi-worker runs do not ingest.
    strategy = strategy_make(settings.strategy)
    if settings.strategy == "multiworker":
        report.ingest = {"skipped": "multi-worker run: `wearable train ingest` runs before it"}
        watch.skip("ingest")
    else:
        ingest = watch.run(
            "ingest",
            lambda: corpus_ingest(bucket, max_batches=settings.max_batches, on_batch=watch.batch),
        )
        report.ingest = ingest.as_dict()
        if ingest.new_batches == 0 and not settings.force:
            shards = corpus_shards(bucket)
            if not shards or _trained_read(bucket) == _corpus_digest(shards):
                report.outcome = Outcome.NO_NEW_DATA
                report.message = "no new batches since the last run (use --force to train anyway)"
                return _finish(bucket, report, steps=watch)
            # Ingested by a run that did not finish (or before this record existed):
            # exiting 4 here would leave those batches untrained until more arrive.
            report.ingest["untrained_corpus"] = True
            watch.tell("ingest: no new batches, but no finished run trained on this corpus")

    def load() -> tuple[Any, ...]:
        corpus = corpus_load(bucket)
        y_fleet = weak_labels(corpus, fleet_negatives=settings.weak_labels)
        cohort = cohort_load(bucket, "train")
        validation = cohort_load(bucket, "validation")
        X = np.concatenate([cohort.X, corpus.X]).astype(np.float32)
        Y = np.concatenate([cohort.Y, y_fleet]).astype(np.float32)
        w = np.concatenate([np.ones(len(cohort.X)), corpus.weight]).astype(np.float32)
        return corpus, cohort, validation, X, Y, w

    corpus, cohort, validation, X, Y, weight = watch.run("load", load)
    known = ~np.isnan(Y)
    report.data = {
        "training_cohort_windows": len(cohort.X),
        "fleet_windows": len(corpus.X),
        "fleet_labelled_positive": {
            t: int(np.nansum(Y[len(cohort.X) :, j] == 1)) for j, t in enumerate(ANOMALY_TYPES)
        },
        "labels_known_fraction": round(float(known.mean()), 4) if Y.size else 0.0,
        "validation_windows": len(validation.X),
        "weak_labels": settings.weak_labels,
        "fleet_hours": [int(corpus.hour.min()), int(corpus.hour.max())]
        if len(corpus.hour)
        else None,
    }

    fit_idx, cal_idx = indices_split(len(X), CALIBRATION_FRACTION, settings.seed)
    result = watch.run(
        "train",
        lambda: distributed_train(
            X[fit_idx],
            Y[fit_idx],
            weight[fit_idx],
            seed=settings.seed,
            strategy=strategy,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            on_epoch=watch.epoch,
        ),
    )
    model = result.model
    if not is_chief(strategy):
        report.outcome = Outcome.WORKER_DONE
        report.message = "worker finished training; the chief gates and publishes"
        watch.finish()
        return report

    def calibrate_and_convert() -> tuple[npt.NDArray[np.float32], bytes, Any]:
        from cloud_training.train import keras_scores

        cal_scores = keras_scores(model, X[cal_idx])
        # Unknown labels count as neither positive nor negative for calibration.
        y_cal = np.where(np.isnan(Y[cal_idx]), -1.0, Y[cal_idx]).astype(np.float32)
        thresholds = thresholds_calibrate(cal_scores, y_cal, settings.target_fpr)
        flat = convert(model, X[fit_idx], "dynamic")
        check = parity(model, flat, X[cal_idx], thresholds)
        return thresholds, flat, check

    thresholds, model_bytes, check = watch.run("convert", calibrate_and_convert)
    report.training = {
        "strategy": settings.strategy,
        "replicas": int(result.replicas),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "windows": len(fit_idx),
        "windows_per_s": round(float(result.windows_per_second), 1),
        "final_loss": round(float(result.losses[-1]), 5) if len(result.losses) else None,
        "thresholds": {
            t: round(float(v), 6) for t, v in zip(ANOMALY_TYPES, thresholds, strict=True)
        },
        "parity": {k: round(float(v), 6) for k, v in vars(check).items()},
        "bytes": len(model_bytes),
    }
    if check.decision_agreement < 0.995:
        report.message = (
            f"Keras and LiteRT disagree on {1 - check.decision_agreement:.2%} of decisions: "
            "refusing this conversion"
        )
        return _finish(bucket, report, steps=watch)

    def judge() -> tuple[GateDecision, str, list[str]]:
        """The decision, the serving version, and the models it was shown worse than."""
        release, skipped = serving_release(bucket, private_key.public_key())
        for item in skipped:
            log.warning(
                "release %s is not the serving model (%s: %s); judging against an older one",
                item["version"],
                item["check"],
                item["reason"],
            )
        if skipped:
            report.gate["skipped_releases"] = skipped
        serving = release or _shipped_baseline()
        version, champion_bytes, champion_thresholds = serving
        raw = {
            "challenger": tflite_scores(model_bytes, validation.X),
            "champion": tflite_scores(champion_bytes, validation.X),
        }
        # Judged as gateways serve them: a score the detector would not let count
        # (clinical definitions, the person's own baselines) flags nothing.
        start_ms = np.round(validation.start_s * 1000).astype(np.int64)
        served = {
            name: served_outputs(scores, validation.X, validation.device_index, start_ms)
            for name, scores in raw.items()
        }
        levels = {"challenger": thresholds, "champion": champion_thresholds}
        report.gate["unserved"] = {
            name: _scores_dict(gate_scores(scores, validation.Y, levels[name], validation.fault))
            for name, scores in raw.items()
        }
        # Person and time let the gate count fever per episode, not per window.
        who = {"device": validation.device_index, "start_s": validation.start_s}
        new = gate_scores(served["challenger"], validation.Y, thresholds, validation.fault, **who)

        def against(
            scores: npt.NDArray[np.float32], levels: npt.ArrayLike, name: str
        ) -> tuple[GateDecision, dict[str, float], dict[str, TypeScore]]:
            old = gate_scores(scores, validation.Y, levels, validation.fault, **who)
            matched = recall_at_fpr(
                served["challenger"],
                validation.Y,
                {t: s.fpr for t, s in old.items()},
                validation.fault,
                **who,
            )
            decision = gate_decide(
                new, old, matched_recall=matched, fpr_budget=settings.target_fpr, against=name
            )
            return decision, matched, old

        decision, matched, old = against(served["champion"], champion_thresholds, "serving")
        worse_than = [] if decision.passed else [version]
        report.gate["matched_recall"] = {t: round(v, 4) for t, v in matched.items()}
        report.gate["intervals"] = gate_intervals(new, old, matched)
        floor_version, floor_bytes, floor_thresholds = _shipped_baseline()
        if version != floor_version:
            # Each round is judged against the model it replaces, so losses too small to
            # show in one round could add up; the shipped baseline is the floor no
            # release may be shown to fall below (docs/model.md, "The floor").
            floor_scores = served_outputs(
                tflite_scores(floor_bytes, validation.X),
                validation.X,
                validation.device_index,
                start_ms,
            )
            floor, floor_matched, floor_old = against(
                floor_scores, floor_thresholds, f"the floor {floor_version}"
            )
            report.gate["floor"] = {
                "version": floor_version,
                "passed": floor.passed,
                "reasons": list(floor.reasons),
                "notes": list(floor.notes),
                "intervals": gate_intervals(new, floor_old, floor_matched),
            }
            decision = replace(
                decision,
                passed=decision.passed and floor.passed,
                reasons=decision.reasons + floor.reasons,
            )
            worse_than += [] if floor.passed else [f"the floor {floor_version}"]
        return decision, version, worse_than

    decision, serving_version, worse_than = watch.run("gate", judge)
    report.serving_version = serving_version
    report.gate = {
        **report.gate,
        "passed": decision.passed,
        "reasons": list(decision.reasons),
        "notes": list(decision.notes),
        "rule": {
            "confidence": CONFIDENCE,
            "recall_margin": gate_rule.RECALL_MARGIN,
            "fpr_margin": gate_rule.FPR_MARGIN,
            "fpr_budget": settings.target_fpr,
            "episode_types": sorted(EPISODE_TYPES),
        },
        "challenger": _scores_dict(decision.challenger),
        "champion": None if decision.champion is None else _scores_dict(decision.champion),
    }
    if not decision.passed:
        report.outcome = Outcome.NOT_BETTER
        report.message = f"not published: worse than {' and '.join(worse_than)} on the gate metrics"
        return _finish(bucket, report, trained=corpus.shards, steps=watch)

    version = release_version(model_bytes, thresholds)
    report.version = version
    if _pointer_version(bucket) == version:
        report.outcome = Outcome.ALREADY_CURRENT
        report.message = (
            f"{version} (this model with these thresholds) is already current: nothing to publish"
        )
        return _finish(bucket, report, trained=corpus.shards, steps=watch)
    manifest: dict[str, Any] = {
        **manifest_header(version, thresholds),
        "validation": report.gate["challenger"],
        "parity": report.training["parity"],
        "training": {
            "strategy": settings.strategy,
            "seed": settings.seed,
            "epochs": settings.epochs,
            "windows": report.training["windows"],
            "data_hours": report.data["fleet_hours"],
            "cohort_windows": report.data["training_cohort_windows"],
            "fleet_windows": report.data["fleet_windows"],
            "conversion": "dynamic",
            "replaces": serving_version,
        },
    }
    # Real validation windows make a stronger canary than synthetic rows; the canary
    # format holds finite numbers only, so windows with an undefined feature are skipped.
    usable = ~validation.fault & np.isfinite(validation.X).all(axis=1)
    canary = validation.X[usable][:CANARY_ROWS] if usable.sum() >= 4 else None
    watch.run(
        "publish",
        lambda: release_publish(bucket, model_bytes, manifest, private_key, canary_inputs=canary),
    )
    report.outcome = Outcome.PUBLISHED
    report.message = f"published {version} (was {serving_version})"
    return _finish(bucket, report, trained=corpus.shards, steps=watch)


def _pointer_version(bucket: Bucket) -> str | None:
    try:
        return pointer_parse(bucket.read(POINTER_NAME)[0]).version
    except ObjectNotFound:
        return None


def _corpus_digest(shards: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(shards).encode("utf-8")).hexdigest()


def _trained_read(bucket: Bucket) -> str | None:
    """The corpus digest the last finished run trained on, or ``None`` if unknown."""
    try:
        data, _ = bucket.read(TRAINED_NAME)
    except ObjectNotFound:
        return None
    try:
        doc = json.loads(data)
        if doc.get("format") != TRAINED_FORMAT or doc.get("version") != TRAINED_VERSION:
            raise ValueError(f"format {doc.get('format')!r} version {doc.get('version')!r}")
        return str(doc["corpus_sha256"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # Unknown means "train": the safe side is one run too many, not batches skipped.
        log.warning(
            "%s/%s is unreadable (%r): training as if unrecorded", bucket.url, TRAINED_NAME, exc
        )
        return None


def _trained_write(bucket: Bucket, report: JobReport, shards: tuple[str, ...]) -> None:
    """Record that a run finished on the corpus ``shards`` (see the module docstring)."""
    doc = {
        "format": TRAINED_FORMAT,
        "version": TRAINED_VERSION,
        "corpus_sha256": _corpus_digest(shards),
        "corpus_shards": len(shards),
        "outcome": report.outcome.name.lower(),
        "release": report.version,
        "started_utc": report.started_utc,
    }
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    info = bucket.stat(TRAINED_NAME)
    try:
        bucket.replace(TRAINED_NAME, data, if_generation=0 if info is None else info.generation)
    except GenerationMismatch as exc:
        # Another run finished meanwhile and recorded its own corpus; either record is
        # true, and the worst a lost one costs is one more training run.
        log.warning("%s/%s moved during this run (%s); not recorded", bucket.url, TRAINED_NAME, exc)


def _finish(
    bucket: Bucket,
    report: JobReport,
    *,
    trained: tuple[str, ...] | None = None,
    steps: _Steps | None = None,
) -> JobReport:
    """Record the trained corpus (when a run finished training), write the report to the
    bucket (create-only, content-named) and return it; ``steps`` then says the run is
    done."""
    if trained is not None:
        try:
            _trained_write(bucket, report, trained)
        except BucketError as exc:
            # The release (if any) is out; failing the run now would report an error
            # for a fleet that is fine. Unrecorded only means the next run trains again.
            log.warning("could not record the trained corpus: %s", exc)
    report.seconds["total"] = sum(v for k, v in report.seconds.items() if k != "total")
    stamp = report.started_utc.replace("-", "").replace(":", "")
    document = report.as_dict()
    del document["report_object"]  # named by the hash of its content: cannot hold its name
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    name = f"{REPORTS_PREFIX}{stamp}-{hashlib.sha256(data).hexdigest()[:12]}.json"
    bucket.create(name, data)
    report.report_object = name
    if steps is not None:
        steps.finish()
    return report
