"""The training corpus: incremental, idempotent ingest of aggregate batches, and weak labels.

Gateways upload anonymized batches (``docs/formats/aggregate_batch.md``) under
``aggregates/v<version>/`` and ``alerts/v<version>/`` (versions 1 and 2 are read).
:func:`corpus_ingest` turns the batches it has not seen yet into one immutable,
content-named shard in the same bucket and then moves a small checkpoint;
:func:`corpus_load` reads the shards back as arrays; :func:`weak_labels` derives training
targets from the clinicians' alert verdicts. Formats and the reasoning
behind them: ``docs/formats/training_corpus.md``.

Bucket layout (names relative to the bucket URL)::

    training/checkpoint.json                      the only mutable object (CAS-guarded)
    training/corpus/<sha256>.npz                  one shard per ingest run that added rows
    training/quarantine/<original name>           a copy of each batch that failed to load
    training/quarantine/<original name>.reason.json   why

How one run stays idempotent and crash-safe:

1. read the checkpoint and remember its generation (0 when absent);
2. list both prefixes; the batch id is the SHA-256 in the name, so ids already in the
   checkpoint are skipped and an id listed under two names (two dates) is read once;
3. decode the new batches oldest name first (at most ``max_batches``); a batch that fails
   (bytes not matching the name's hash, not gzip, wrong version, wrong kind, ...) is
   copied to the quarantine with a reason and recorded, never retried automatically;
4. write the new rows as **one** shard named by the SHA-256 of its bytes (``create``); the
   bytes depend only on the batches read, so a rerun after a crash between steps 4 and 5
   writes the same name and ``create`` finds it already present: nothing is duplicated;
5. move the checkpoint with ``replace(if_generation=<step 1>)``. If another job moved it
   meanwhile, :class:`CorpusConflict` is raised; the shard written in step 4 is then an
   *orphan*: the checkpoint does not name it, so :func:`corpus_load` never reads it, and
   it may be deleted by a cleanup that removes ``training/corpus/`` objects the
   checkpoint does not list.

Weak labels (:func:`weak_labels`), per row and anomaly type ``t``, first rule that applies:

1. the row lies inside a **confirmed** alert of type ``t`` and the row is notable
   (``weight == 1``): ``Y[t] = 1``;
2. the row lies inside a **dismissed** alert of type ``t``: ``Y[t] = 0`` (type ``t``
   only: a dismissal says nothing about the other types);
3. the row was sampled as unremarkable (``weight > 1``): ``Y[t] = 0``;
4. otherwise (a notable row no reviewed alert covers): ``Y[t] = 0`` when rule bit ``t``
   is not set and the model output for ``t`` is below :data:`NEGATIVE_OUTPUT_MAX`, else
   NaN (unknown).

"Inside": a row of a version-2 batch names the alerts whose span holds it (the gateway
links them, ``windows.alerts``), so it is inside exactly those. A row of a version-1
batch has no such link; for it "inside" means the same pseudonym and ``alert.hour <=
row.hour <= alert.hour + ceil(duration_min / 60)`` for a closed alert, the opening hour
for an open one: whole hours, which overshoot an episode by up to an hour on each side.

This module must stay light: numpy and the contracts only, no TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cloud_training.npz import npz_bytes
from wearable_core.buckets.base import Bucket, GenerationMismatch, ObjectConflict, ObjectNotFound
from wearable_core.contracts.aggregate_batch import (
    ALERT_STATUS_RANK,
    BATCH_FORMAT_VERSIONS,
    BATCH_NAME,
    AggregateBatch,
    BatchKind,
    batch_decode,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

log = logging.getLogger(__name__)

#: The checkpoint: the one object this module rewrites (compare-and-swap on generation).
CHECKPOINT_NAME = "training/checkpoint.json"
#: Prefix of the immutable, content-named shards.
SHARD_PREFIX = "training/corpus/"
#: Prefix of quarantined batches and their reasons.
QUARANTINE_PREFIX = "training/quarantine/"
#: Suffix of the reason object beside each quarantined copy.
REASON_SUFFIX = ".reason.json"
#: ``format`` field of the checkpoint and its version (bumped on any change).
CHECKPOINT_FORMAT = "wearable.training_checkpoint"
CHECKPOINT_VERSION = 1
#: ``format`` entry of every shard and its version (bumped on any change). Version 2 added
#: the window-alert links (``w_linked``, ``l_row``, ``l_alert``); version-1 shards are
#: still read, their rows unlinked.
SHARD_FORMAT = "wearable.training_shard"
SHARD_VERSION = 2
SHARD_VERSIONS: tuple[int, ...] = (1, 2)
#: Batch kinds the corpus reads; diagnostics batches carry no training data.
INGESTED_KINDS: tuple[BatchKind, ...] = (BatchKind.AGGREGATES, BatchKind.ALERTS)
#: Below this model output (and with no rule fired) a notable, unreviewed row is taken as
#: negative for that type (weak-label rule 4).
NEGATIVE_OUTPUT_MAX = 0.1
#: Alert statuses that are clinicians' verdicts, hence labels.
CONFIRMED = "confirmed"
DISMISSED = "dismissed"

_SHARD_NAME = re.compile(rf"^{re.escape(SHARD_PREFIX)}(?P<sha>[0-9a-f]{{64}})\.npz$")
# Fixed zip entry time (the earliest a zip can hold): entries would otherwise carry the
# wall clock, and the shard's name is the hash of its bytes.
# Window columns as stored in a shard, and their dtypes.
_WINDOW_INTS: Mapping[str, type[np.integer[Any]]] = {
    "w_weight": np.int32,
    "w_hour": np.int64,
    "w_rules": np.int32,
    "w_faults": np.int32,
    "w_pseudonym": np.int32,
    "w_model": np.int32,
    "w_linked": np.int8,
}


class CorpusError(Exception):
    """Base class of the corpus's failures (the message says what to do)."""


class CorpusConflict(CorpusError):
    """Another ingest moved the checkpoint while this one ran; nothing was lost.

    The shard this run wrote (if any) is an unreferenced orphan; rerun the ingest, which
    starts again from the other job's checkpoint.
    """


class CorpusCheckpointError(CorpusError):
    """``training/checkpoint.json`` exists but is not a checkpoint this code reads."""


class CorpusShardError(CorpusError):
    """A shard the checkpoint names is missing, corrupted or of another format."""


@dataclass
class IngestReport:
    """What one :func:`corpus_ingest` run did, and the corpus it left.

    Attributes
    ----------
    new_batches
        Batches decoded and added this run (including ones without rows).
    duplicate_ids
        Ids of new batches listed under more than one name (each read once).
    already_ingested
        Listed objects skipped because their id is in the checkpoint.
    quarantined
        ``(object name, reason)`` of every object quarantined this run.
    windows_added, alerts_added
        Window rows and alert outcome rows in the new shard.
    shard
        Name of the shard written, or ``None`` when there were no new rows.
    corpus_shards, corpus_windows, corpus_alerts
        Totals of the corpus after this run (alert outcome rows, before deduplication).
    first_hour, last_hour
        Earliest and latest hour of any window or alert in the corpus (``None`` if empty).
    previously_quarantined
        Listed objects skipped because an earlier run quarantined them.
    remaining
        New batches left for a later run because of ``max_batches``.
    """

    new_batches: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    already_ingested: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    windows_added: int = 0
    alerts_added: int = 0
    shard: str | None = None
    corpus_shards: int = 0
    corpus_windows: int = 0
    corpus_alerts: int = 0
    first_hour: int | None = None
    last_hour: int | None = None
    previously_quarantined: int = 0
    remaining: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready builtins (tuples become lists).

        Examples
        --------
        >>> IngestReport(quarantined=[("a", "b")]).as_dict()["quarantined"]
        [['a', 'b']]
        """
        out = asdict(self)
        out["quarantined"] = [list(q) for q in self.quarantined]
        return out


@dataclass(frozen=True)
class CorpusAlerts:
    """Alert outcomes, one row per alert id (its winning revision), sorted by id.

    ``duration_min`` is -1 while the alert is open; ``rule`` is ``""`` when no safety rule
    fired.
    """

    alert: npt.NDArray[np.str_]
    pseudonym: npt.NDArray[np.str_]
    type: npt.NDArray[np.str_]
    severity: npt.NDArray[np.str_]
    hour: npt.NDArray[np.int64]
    duration_min: npt.NDArray[np.int64]
    status: npt.NDArray[np.str_]
    rule: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.alert.shape[0])


@dataclass(frozen=True)
class Corpus:
    """Every window row of the corpus's shards, in shard order, and the alert outcomes.

    Attributes
    ----------
    X
        ``float32 (n, 25)`` features in ``FEATURE_NAMES`` order, NaN = missing.
    outputs
        ``float32 (n, 6)`` model outputs in ``ANOMALY_TYPES`` order, NaN = none.
    weight
        ``float32 (n,)`` windows each row stands for (1: notable, ``k``: 1-in-``k`` sample).
    hour, rules, faults
        ``int64 (n,)`` hour bucket, rule bitmask, fault bitmask.
    pseudonym, model_version
        ``str (n,)``; ``model_version`` is ``""`` when no model served.
    alerts
        The latest revision of each alert (:func:`corpus_load` says which wins).
    shards
        The shard names read, in checkpoint order.
    linked
        ``bool (n,)``: the row's batch named the alerts holding it (version 2); ``None``
        when no row's did.
    link_row, link_alert
        ``(row, alert id)`` pairs: linked row ``link_row[i]`` lies inside the alert
        ``link_alert[i]``.
    """

    X: npt.NDArray[np.float32]
    outputs: npt.NDArray[np.float32]
    weight: npt.NDArray[np.float32]
    hour: npt.NDArray[np.int64]
    rules: npt.NDArray[np.int64]
    faults: npt.NDArray[np.int64]
    pseudonym: npt.NDArray[np.str_]
    model_version: npt.NDArray[np.str_]
    alerts: CorpusAlerts
    shards: tuple[str, ...] = ()
    linked: npt.NDArray[np.bool_] | None = None
    link_row: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    link_alert: npt.NDArray[np.str_] = field(default_factory=lambda: np.zeros(0, np.str_))

    def __len__(self) -> int:
        return int(self.hour.shape[0])


@dataclass
class _Checkpoint:
    ingested: set[str] = field(default_factory=set)
    quarantined: dict[str, dict[str, Any]] = field(default_factory=dict)
    shards: list[str] = field(default_factory=list)
    first_hour: int | None = None
    last_hour: int | None = None
    windows: int = 0
    alerts: int = 0
    updated: float | None = None

    def encode(self) -> bytes:
        doc = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "ingested": sorted(self.ingested),
            "quarantined": self.quarantined,
            "shards": self.shards,
            "first_hour": self.first_hour,
            "last_hour": self.last_hour,
            "counts": {
                "batches": len(self.ingested),
                "quarantined": len(self.quarantined),
                "shards": len(self.shards),
                "windows": self.windows,
                "alerts": self.alerts,
            },
            "updated": self.updated,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _checkpoint_read(bucket: Bucket) -> tuple[_Checkpoint, int]:
    try:
        data, generation = bucket.read(CHECKPOINT_NAME)
    except ObjectNotFound:
        return _Checkpoint(), 0
    where = f"{bucket.url}/{CHECKPOINT_NAME}"
    fix = "restore it from a backup or the object's previous generation; do not delete it"
    try:
        doc = json.loads(data)
        if doc.get("format") != CHECKPOINT_FORMAT or doc.get("version") != CHECKPOINT_VERSION:
            raise CorpusCheckpointError(
                f"{where}: format {doc.get('format')!r} version {doc.get('version')!r}; "
                f"this code reads {CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}"
            )
        counts = doc["counts"]
        checkpoint = _Checkpoint(
            ingested={str(i) for i in doc["ingested"]},
            quarantined={str(k): dict(v) for k, v in doc["quarantined"].items()},
            shards=[str(s) for s in doc["shards"]],
            first_hour=None if doc["first_hour"] is None else int(doc["first_hour"]),
            last_hour=None if doc["last_hour"] is None else int(doc["last_hour"]),
            windows=int(counts["windows"]),
            alerts=int(counts["alerts"]),
            updated=doc.get("updated"),
        )
    except CorpusCheckpointError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # The checkpoint decides what is never re-read; guessing would duplicate or lose
        # data, so a damaged one stops the job for a human.
        raise CorpusCheckpointError(f"{where} is damaged ({exc!r}); {fix}") from exc
    for shard in checkpoint.shards:
        if not _SHARD_NAME.match(shard):
            raise CorpusCheckpointError(f"{where} names an invalid shard {shard!r}; {fix}")
    return checkpoint, generation


@dataclass(frozen=True)
class _Listed:
    """The listed names of one batch id (several when uploaded under several dates)."""

    key: str
    names: tuple[str, ...]

    @property
    def order(self) -> tuple[str, str]:
        # Oldest first: by the day in the name, then the name. Names that do not parse
        # have no day and sort first, so they are quarantined promptly.
        first = self.names[0]
        match = BATCH_NAME.match(first)
        return (match.group("day") if match else "", first)


def _list_batches(bucket: Bucket) -> list[_Listed]:
    names: dict[str, list[str]] = {}
    for kind in INGESTED_KINDS:
        for info in (
            i for version in BATCH_FORMAT_VERSIONS for i in bucket.list(f"{kind.value}/v{version}/")
        ):
            match = BATCH_NAME.match(info.name)
            # An unparseable name has no id: it is its own key (never a 64-hex string).
            key = match.group("sha") if match else info.name
            names.setdefault(key, []).append(info.name)
    listed = [_Listed(key, tuple(sorted(ns, key=_name_order))) for key, ns in names.items()]
    return sorted(listed, key=lambda item: item.order)


def _name_order(name: str) -> tuple[str, str]:
    match = BATCH_NAME.match(name)
    return (match.group("day") if match else "", name)


def _batch_check(name: str, data: bytes) -> AggregateBatch | str:
    """The decoded batch, or why it cannot be ingested."""
    match = BATCH_NAME.match(name)
    if match is None:
        return "object name does not match <kind>/v<version>/<YYYY-MM-DD>/<sha256>.json.gz"
    digest = hashlib.sha256(data).hexdigest()
    if digest != match.group("sha"):
        return f"content sha256 {digest} does not match the name (truncated or corrupted upload)"
    try:
        batch = batch_decode(data)
    except Exception as exc:
        # Untrusted bytes: batch_decode raises BatchFormatError for what it checks, but a
        # malformed nesting can surface as TypeError & co. Any failure is a quarantine,
        # never a crash of the whole ingest.
        return f"{type(exc).__name__}: {exc}"
    if batch.kind.value != match.group("kind"):
        return f"batch kind {batch.kind.value!r} does not match its prefix {match.group('kind')!r}"
    return batch


def _quarantine(bucket: Bucket, name: str, data: bytes, reason: str) -> None:
    """Copy ``name`` and a reason object into the quarantine (create-only, rerun-safe)."""
    # The reason object holds no time, so a rerun after a crash writes identical bytes.
    doc = {"name": name, "reason": reason, "bytes": len(data)}
    reason_bytes = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    target = QUARANTINE_PREFIX + name
    try:
        bucket.create(target, data)
        bucket.create(target + REASON_SUFFIX, reason_bytes)
    except ObjectConflict as exc:
        raise CorpusError(
            f"{bucket.url}: cannot quarantine {name!r}: {exc}; a quarantine object of that "
            "name holds other bytes: inspect training/quarantine/ and remove the stale copy"
        ) from exc


def corpus_ingest(
    bucket: Bucket,
    *,
    max_batches: int | None = None,
    now: Callable[[], float] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Add the batches not yet ingested to the corpus as one new shard.

    Parameters
    ----------
    bucket
        The bucket the gateways upload to; the corpus lives under ``training/`` in it.
    max_batches
        Read at most this many new batch ids (oldest names first), so a large backlog is
        ingested over several runs; ``None``: all. Quarantined objects count too.
    now
        Clock for the checkpoint's ``updated`` and quarantine times (default
        :func:`time.time`); it never affects shard bytes.
    on_batch
        Called with ``(read, to_read)`` once the new batches are listed (``read`` 0) and
        after each one is read (a live display); it never affects what is ingested.

    Returns
    -------
    IngestReport
        What was added, skipped and quarantined, and the corpus totals.

    Raises
    ------
    CorpusConflict
        Another job moved the checkpoint during this run; rerun.
    CorpusCheckpointError
        The checkpoint exists but cannot be read.
    CorpusError
        A quarantine object exists with other bytes.
    ValueError
        ``max_batches`` is below 1.
    wearable_core.buckets.base.BucketError
        The bucket failed (transient failures are safe to retry: every write is
        create-only or guarded).
    """
    if max_batches is not None and max_batches < 1:
        raise ValueError(f"max_batches must be >= 1 or None, got {max_batches}")
    clock = now if now is not None else time.time
    checkpoint, generation = _checkpoint_read(bucket)
    report = IngestReport()

    todo: list[_Listed] = []
    for item in _list_batches(bucket):
        if item.key in checkpoint.ingested:
            report.already_ingested += len(item.names)
            continue
        fresh = tuple(n for n in item.names if n not in checkpoint.quarantined)
        report.previously_quarantined += len(item.names) - len(fresh)
        if fresh:
            todo.append(_Listed(item.key, fresh))
    if max_batches is not None and len(todo) > max_batches:
        report.remaining = len(todo) - max_batches
        todo = todo[:max_batches]

    accepted: list[tuple[str, AggregateBatch]] = []
    if on_batch is not None:
        on_batch(0, len(todo))
    for read, item in enumerate(todo, start=1):
        if len(item.names) > 1:
            report.duplicate_ids.append(item.key)
        # Try each name of the id until one decodes: a corrupted copy under one date must
        # not hide a good copy under another.
        for name in item.names:
            try:
                data, _ = bucket.read(name)
            except ObjectNotFound:
                log.warning("%s: %s vanished between list and read; skipped", bucket.url, name)
                continue
            result = _batch_check(name, data)
            if isinstance(result, str):
                log.warning("%s: quarantining %s: %s", bucket.url, name, result)
                _quarantine(bucket, name, data, result)
                checkpoint.quarantined[name] = {"reason": result, "at": clock()}
                report.quarantined.append((name, result))
                continue
            accepted.append((item.key, result))
            break
        if on_batch is not None:
            on_batch(read, len(todo))

    if not accepted and not report.quarantined:
        _report_totals(report, checkpoint)
        return report

    if accepted:
        shard_bytes, windows, alerts, hours = _shard_encode(accepted)
        if windows or alerts:
            shard = f"{SHARD_PREFIX}{hashlib.sha256(shard_bytes).hexdigest()}.npz"
            # Create-only: after a crash before the checkpoint move, the rerun reads the
            # same batches, builds the same bytes and finds this name already present.
            bucket.create(shard, shard_bytes)
            checkpoint.shards.append(shard)
            checkpoint.windows += windows
            checkpoint.alerts += alerts
            report.shard = shard
            report.windows_added = windows
            report.alerts_added = alerts
            if hours is not None:
                lo, hi = hours
                checkpoint.first_hour = (
                    lo if checkpoint.first_hour is None else min(checkpoint.first_hour, lo)
                )
                checkpoint.last_hour = (
                    hi if checkpoint.last_hour is None else max(checkpoint.last_hour, hi)
                )
        checkpoint.ingested.update(key for key, _ in accepted)
        report.new_batches = len(accepted)

    checkpoint.updated = clock()
    try:
        bucket.replace(CHECKPOINT_NAME, checkpoint.encode(), if_generation=generation)
    except GenerationMismatch as exc:
        orphan = (
            f"; the shard {report.shard} it wrote is unreferenced (harmless) unless the "
            "other job wrote the same one"
            if report.shard
            else ""
        )
        raise CorpusConflict(
            f"{bucket.url}/{CHECKPOINT_NAME} was moved by another ingest during this run "
            f"(expected generation {generation}, found {exc.actual}){orphan}; rerun the "
            "ingest, and run only one ingest at a time"
        ) from exc
    _report_totals(report, checkpoint)
    return report


def _report_totals(report: IngestReport, checkpoint: _Checkpoint) -> None:
    report.corpus_shards = len(checkpoint.shards)
    report.corpus_windows = checkpoint.windows
    report.corpus_alerts = checkpoint.alerts
    report.first_hour = checkpoint.first_hour
    report.last_hour = checkpoint.last_hour


def _strings(values: Sequence[str]) -> npt.NDArray[np.str_]:
    # Fixed-width unicode (never object arrays): loadable with allow_pickle=False.
    out: npt.NDArray[np.str_] = np.array(list(values), dtype=np.str_).reshape(len(values))
    return out


def _shard_encode(
    accepted: Sequence[tuple[str, AggregateBatch]],
) -> tuple[bytes, int, int, tuple[int, int] | None]:
    """Shard bytes, window rows, alert rows and (first, last) hour of ``accepted``."""
    pseudonyms = sorted({b.pseudonym for _, b in accepted if len(b.windows) or b.alerts})
    p_index = {p: i for i, p in enumerate(pseudonyms)}
    models = sorted({m for _, b in accepted if len(b.windows) for m in b.models})
    m_index = {m: i for i, m in enumerate(models)}

    parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in _WINDOW_INTS}
    features: list[npt.NDArray[np.float32]] = []
    outputs: list[npt.NDArray[np.float32]] = []
    alert_cols: dict[str, list[Any]] = {
        k: []
        for k in ("alert", "pseudonym", "type", "severity", "hour", "dur", "status", "rule", "rev")
    }
    link_row: list[int] = []
    link_alert: list[str] = []
    rows = 0
    for _, batch in accepted:
        w = batch.windows
        n = len(w)
        if n:
            remap = np.array([m_index[m] for m in batch.models] + [-1], dtype=np.int32)
            features.append(w.features.astype(np.float32))
            outputs.append(w.outputs.astype(np.float32))
            parts["w_weight"].append(w.weight.astype(np.int32))
            parts["w_hour"].append(w.hour.astype(np.int64))
            parts["w_rules"].append(w.rules.astype(np.int32))
            parts["w_faults"].append(w.faults.astype(np.int32))
            parts["w_pseudonym"].append(np.full(n, p_index[batch.pseudonym], dtype=np.int32))
            # -1 (no model) indexes the appended -1 at the end of ``remap``.
            parts["w_model"].append(remap[w.model])
            parts["w_linked"].append(np.full(n, w.alerts is not None, dtype=np.int8))
            for i, ids in enumerate(w.alerts or ()):
                link_row += [rows + i] * len(ids)
                link_alert += ids
            rows += n
        for a in batch.alerts:
            alert_cols["alert"].append(a.alert)
            alert_cols["pseudonym"].append(p_index[batch.pseudonym])
            alert_cols["type"].append(a.type)
            alert_cols["severity"].append(a.severity)
            alert_cols["hour"].append(a.hour)
            alert_cols["dur"].append(-1 if a.duration_min is None else a.duration_min)
            alert_cols["status"].append(a.status)
            alert_cols["rule"].append(a.rule or "")
            alert_cols["rev"].append(a.revision)

    n_features, n_types = len(FEATURE_NAMES), len(ANOMALY_TYPES)
    arrays: dict[str, npt.NDArray[Any]] = {
        "format": np.array(SHARD_FORMAT),
        "version": np.array(SHARD_VERSION, dtype=np.int64),
        "batches": _strings([key for key, _ in accepted]),
        "pseudonyms": _strings(pseudonyms),
        "models": _strings(models),
        "w_features": np.concatenate(features)
        if features
        else np.zeros((0, n_features), dtype=np.float32),
        "w_outputs": np.concatenate(outputs) if outputs else np.zeros((0, n_types), np.float32),
    }
    for key, dtype in _WINDOW_INTS.items():
        arrays[key] = np.concatenate(parts[key]) if parts[key] else np.zeros(0, dtype=dtype)
    arrays.update(
        a_alert=_strings(alert_cols["alert"]),
        a_pseudonym=np.array(alert_cols["pseudonym"], dtype=np.int32),
        a_type=_strings(alert_cols["type"]),
        a_severity=_strings(alert_cols["severity"]),
        a_hour=np.array(alert_cols["hour"], dtype=np.int64),
        a_duration_min=np.array(alert_cols["dur"], dtype=np.int32),
        a_status=_strings(alert_cols["status"]),
        a_rule=_strings(alert_cols["rule"]),
        a_revision=np.array(alert_cols["rev"], dtype=np.int64),
        l_row=np.array(link_row, dtype=np.int64),
        l_alert=_strings(link_alert),
    )
    hours = np.concatenate([arrays["w_hour"], arrays["a_hour"]])
    span = (int(hours.min()), int(hours.max())) if hours.size else None
    return npz_bytes(arrays, compress=True), len(arrays["w_hour"]), len(arrays["a_hour"]), span


def _shard_read(bucket: Bucket, name: str) -> dict[str, npt.NDArray[Any]]:
    try:
        data, _ = bucket.read(name)
    except ObjectNotFound as exc:
        raise CorpusShardError(
            f"{bucket.url}: the checkpoint names {name!r} but it is missing; shards are "
            "immutable and must not be deleted: restore it, or re-ingest into a new corpus"
        ) from exc
    match = _SHARD_NAME.match(name)
    if match is None or hashlib.sha256(data).hexdigest() != match.group("sha"):
        raise CorpusShardError(
            f"{bucket.url}: shard {name!r} does not hash to its name (corrupted); restore it "
            "from a backup or re-ingest into a new corpus"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise CorpusShardError(f"{bucket.url}: shard {name!r} is unreadable: {exc}") from exc
    fmt, version = arrays.get("format"), arrays.get("version")
    if (
        fmt is None
        or version is None
        or fmt.item() != SHARD_FORMAT
        or version.item() not in SHARD_VERSIONS
    ):
        raise CorpusShardError(
            f"{bucket.url}: shard {name!r} is not a {SHARD_FORMAT} of versions "
            f"{list(SHARD_VERSIONS)}; a newer writer made it: upgrade this code"
        )
    if version.item() == 1:
        # Before the window-alert links: no row is linked.
        n = len(arrays["w_hour"])
        arrays.update(
            w_linked=np.zeros(n, np.int8),
            l_row=np.zeros(0, np.int64),
            l_alert=np.zeros(0, np.str_),
        )
    return arrays


def corpus_shards(bucket: Bucket) -> tuple[str, ...]:
    """The shard names the checkpoint lists, in order (empty before the first ingest).

    Shards are immutable and content-named, so this tuple identifies the corpus exactly:
    the training job compares it with the corpus its last finished run trained on.

    Raises
    ------
    CorpusCheckpointError
        The checkpoint cannot be read.
    """
    checkpoint, _ = _checkpoint_read(bucket)
    return tuple(checkpoint.shards)


def corpus_load(bucket: Bucket) -> Corpus:
    """Read every shard the checkpoint names into one :class:`Corpus`.

    Window rows are concatenated in shard order. Alert outcomes keep one revision per
    alert id, the one with the largest ``(closed, revision, shard index, status rank,
    row)``: a closed alert (with a duration) beats an open one; then the higher review
    revision (``AlertOutcome.revision``) wins; among equals, a revision from a
    later shard beats an earlier one; within one shard (where batch order is by hash,
    not by time) a verdict (confirmed/dismissed) beats acknowledged beats open, then the
    later row wins.

    Parameters
    ----------
    bucket
        The bucket holding ``training/checkpoint.json``.

    Returns
    -------
    Corpus
        Empty arrays when nothing was ingested yet.

    Raises
    ------
    CorpusCheckpointError
        The checkpoint cannot be read.
    CorpusShardError
        A shard is missing, corrupted or of an unknown format.
    """
    checkpoint, _ = _checkpoint_read(bucket)
    shards = [_shard_read(bucket, name) for name in checkpoint.shards]

    def cat(key: str, dtype: npt.DTypeLike, width: int | None = None) -> npt.NDArray[Any]:
        empty = np.zeros((0,) if width is None else (0, width), dtype=dtype)
        return np.concatenate([empty, *(s[key].astype(dtype) for s in shards)])

    def names(index_key: str, table_key: str) -> npt.NDArray[np.str_]:
        pieces = [np.zeros(0, dtype=np.str_)]
        for s in shards:
            # Append "" so index -1 (no model) maps to the empty string.
            table = np.append(s[table_key].astype(np.str_), "")
            pieces.append(table[s[index_key]])
        out: npt.NDArray[np.str_] = np.concatenate(pieces).astype(np.str_)
        return out

    alert_shard = np.concatenate(
        [np.zeros(0, np.int64), *(np.full(len(s["a_hour"]), i) for i, s in enumerate(shards))]
    )
    # Shards written before ``a_revision`` existed count as revision 0 throughout.
    revision = np.concatenate(
        [
            np.zeros(0, np.int64),
            *(s.get("a_revision", np.zeros(len(s["a_hour"]), np.int64)) for s in shards),
        ]
    ).astype(np.int64)
    alerts = CorpusAlerts(
        alert=cat("a_alert", np.str_),
        pseudonym=names("a_pseudonym", "pseudonyms"),
        type=cat("a_type", np.str_),
        severity=cat("a_severity", np.str_),
        hour=cat("a_hour", np.int64),
        duration_min=cat("a_duration_min", np.int64),
        status=cat("a_status", np.str_),
        rule=cat("a_rule", np.str_),
    )
    offsets = np.cumsum([0, *(len(s["w_hour"]) for s in shards)])
    linked = cat("w_linked", np.bool_)
    return Corpus(
        X=cat("w_features", np.float32, len(FEATURE_NAMES)),
        outputs=cat("w_outputs", np.float32, len(ANOMALY_TYPES)),
        weight=cat("w_weight", np.float32),
        hour=cat("w_hour", np.int64),
        rules=cat("w_rules", np.int64),
        faults=cat("w_faults", np.int64),
        pseudonym=names("w_pseudonym", "pseudonyms"),
        model_version=names("w_model", "models"),
        alerts=_alerts_latest(alerts, alert_shard, revision),
        shards=tuple(checkpoint.shards),
        linked=linked if linked.any() else None,
        # A shard's link rows count from its own first row.
        link_row=np.concatenate(
            [np.zeros(0, np.int64), *(s["l_row"] + offsets[i] for i, s in enumerate(shards))]
        ).astype(np.int64),
        link_alert=cat("l_alert", np.str_),
    )


def _alerts_latest(
    alerts: CorpusAlerts, shard: npt.NDArray[np.int64], revision: npt.NDArray[np.int64]
) -> CorpusAlerts:
    """One row per alert id: the largest (closed, revision, shard, status, row)."""
    n = len(alerts)
    if n == 0:
        return alerts
    # Tie-break among revisions in one shard (batch order inside a shard is by name, i.e.
    # by hash, not by time): a verdict is the later step of the lifecycle. The gateway's
    # review revision comes first: a verdict reopened and replaced by the opposite one
    # has equal rank, and both may land in one shard.
    rank = np.array([ALERT_STATUS_RANK.get(s, 0) for s in alerts.status.tolist()], dtype=np.int64)
    closed = (alerts.duration_min >= 0).astype(np.int64)
    # lexsort: the last key is the primary one.
    order = np.lexsort((np.arange(n), rank, shard, revision, closed, alerts.alert))
    ids = alerts.alert[order]
    last = np.ones(n, dtype=bool)
    last[:-1] = ids[:-1] != ids[1:]
    keep = order[last]
    return CorpusAlerts(
        alert=alerts.alert[keep],
        pseudonym=alerts.pseudonym[keep],
        type=alerts.type[keep],
        severity=alerts.severity[keep],
        hour=alerts.hour[keep],
        duration_min=alerts.duration_min[keep],
        status=alerts.status[keep],
        rule=alerts.rule[keep],
    )


def weak_labels(corpus: Corpus, *, fleet_negatives: bool = True) -> npt.NDArray[np.float32]:
    """Targets from the clinicians' verdicts, the sampling and the model's confidence.

    The reviewed alerts holding each row (module docstring: "inside") give the verdicts;
    :func:`row_labels` applies the rules.

    Parameters
    ----------
    corpus
        From :func:`corpus_load` (alerts already reduced to one revision per id).
    fleet_negatives
        As in :func:`row_labels`.

    Returns
    -------
    numpy.ndarray
        ``float32 (n, 6)`` in ``ANOMALY_TYPES`` order; NaN = unknown (mask it in the loss).
    """
    n, n_types = len(corpus), len(ANOMALY_TYPES)
    confirmed = np.zeros((n, n_types), dtype=bool)
    dismissed = np.zeros((n, n_types), dtype=bool)
    for (i, column), rows in _alert_coverage(corpus):
        target = confirmed if corpus.alerts.status[i] == CONFIRMED else dismissed
        target[rows, column] = True
    return row_labels(
        corpus.rules,
        corpus.outputs,
        corpus.weight,
        confirmed,
        dismissed,
        fleet_negatives=fleet_negatives,
    )


def row_labels(
    rules: npt.NDArray[np.int64],
    outputs: npt.NDArray[np.floating[Any]],
    weight: npt.NDArray[np.floating[Any]],
    confirmed: npt.NDArray[np.bool_],
    dismissed: npt.NDArray[np.bool_],
    *,
    fleet_negatives: bool = True,
) -> npt.NDArray[np.float32]:
    """The weak-label rules on rows whose verdicts are known.

    Per row and type, first match wins (details in the module docstring): inside a
    confirmed alert of the type and notable -> 1; inside a dismissed alert of the type
    -> 0; unremarkable sampled row (``weight > 1``) -> 0; otherwise 0 when the type's
    rule bit is clear and its model output is below :data:`NEGATIVE_OUTPUT_MAX`, else
    NaN.

    Parameters
    ----------
    rules, outputs, weight
        ``(n,)`` rule bitmasks, ``(n, 6)`` model outputs, ``(n,)`` row weights.
    confirmed, dismissed
        ``bool (n, 6)``: the row lies inside a confirmed / dismissed alert of the type.
    fleet_negatives
        Apply rules 3 and 4, the negatives the fleet implies without a clinician (the
        sampling and the serving model's own confidence). ``False`` keeps only the
        verdicts (rules 1 and 2) and leaves every other row unknown: the ablation that
        measures what those implied labels contribute (``wearable train
        --no-weak-labels``, ``docs/learning.md``). Both rules take the serving model's
        silence as "no anomaly", so a window it missed becomes a negative.

    Returns
    -------
    numpy.ndarray
        ``float32 (n, 6)`` in ``ANOMALY_TYPES`` order; NaN = unknown.
    """
    n_types = len(ANOMALY_TYPES)
    bits = np.int64(1) << np.arange(n_types, dtype=np.int64)
    rule_set = (rules[:, None] & bits[None, :]) != 0
    with np.errstate(invalid="ignore"):
        # NaN outputs (no model) compare False: unknown, not negative.
        confident = outputs < NEGATIVE_OUTPUT_MAX
    y = np.where(~rule_set & confident, np.float32(0.0), np.float32(np.nan)).astype(np.float32)
    notable = weight == 1
    y[~notable] = 0.0
    if not fleet_negatives:
        y[:] = np.nan
    y[dismissed] = 0.0
    y[confirmed & notable[:, None]] = 1.0
    return y


def _alert_coverage(
    corpus: Corpus,
) -> list[tuple[tuple[int, int], npt.NDArray[np.intp]]]:
    """For each reviewed alert: ((alert index, type column), rows inside it).

    Linked rows are inside the alerts they name; unlinked rows (version-1 batches) are
    inside the alerts of their pseudonym whose hours hold theirs.
    """
    alerts = corpus.alerts
    if len(corpus) == 0 or len(alerts) == 0:
        return []
    type_col = {t: i for i, t in enumerate(ANOMALY_TYPES)}
    linked = np.zeros(len(corpus), bool) if corpus.linked is None else corpus.linked
    # Unlinked rows sorted by (pseudonym, hour) once; each alert is two binary searches.
    codes, inverse = np.unique(corpus.pseudonym, return_inverse=True)
    code_of = {str(p): i for i, p in enumerate(codes.tolist())}
    unlinked = np.flatnonzero(~linked)
    order = unlinked[np.lexsort((corpus.hour[unlinked], inverse[unlinked]))]
    keys = inverse[order].astype(np.int64) << 32 | corpus.hour[order]
    # Links sorted by alert id: each alert's rows are one slice.
    by_alert = np.argsort(corpus.link_alert, kind="stable")
    link_ids = corpus.link_alert[by_alert]
    out = []
    for i in range(len(alerts)):
        status, kind = str(alerts.status[i]), str(alerts.type[i])
        if status not in (CONFIRMED, DISMISSED) or kind not in type_col:
            continue
        lo, hi = (
            np.searchsorted(link_ids, alerts.alert[i], side="left"),
            np.searchsorted(link_ids, alerts.alert[i], side="right"),
        )
        rows = corpus.link_row[by_alert[lo:hi]].astype(np.intp)
        code = code_of.get(str(alerts.pseudonym[i]))
        if code is not None:
            duration = int(alerts.duration_min[i])
            start = int(alerts.hour[i])
            end = start + (math.ceil(duration / 60) if duration >= 0 else 0)
            lo = np.searchsorted(keys, (code << 32) | start, side="left")
            hi = np.searchsorted(keys, (code << 32) | end, side="right")
            rows = np.concatenate([rows, order[lo:hi]])
        out.append(((i, type_col[kind]), rows))
    return out
