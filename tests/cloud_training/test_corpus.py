"""The training corpus: ingest from a real local-directory bucket, loading, weak labels."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cloud_training.corpus import (
    CHECKPOINT_NAME,
    QUARANTINE_PREFIX,
    REASON_SUFFIX,
    SHARD_PREFIX,
    Corpus,
    CorpusAlerts,
    CorpusCheckpointError,
    CorpusConflict,
    CorpusShardError,
    corpus_ingest,
    corpus_load,
    weak_labels,
)
from cloud_training.npz import npz_bytes
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, StoredWindow, WindowSummary
from gateway.sync.aggregates import alerts_batch, windows_batches
from tests.support.fault_proxy import FaultProxy
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket, BucketUnavailable, Created, ObjectInfo
from wearable_core.contracts.aggregate_batch import (
    AggregateBatch,
    batch_decode,
    batch_encode,
    batch_object_name,
    hour_of,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

KEY = PseudonymKey(bytes(range(32)))
DEVICES = ("C4:00:00:00:00:01", "C4:00:00:00:00:02")
#: 2026-01-05T00:00Z.
T0_MS = 1_767_571_200_000
MINUTE_MS = 60_000
DAY_MS = 24 * 3_600_000
H0 = hour_of(T0_MS)
FALL = ANOMALY_TYPES.index("fall")
TACHY = ANOMALY_TYPES.index("tachycardia")


def new_bucket(tmp_path: Path, name: str = "bucket") -> Bucket:
    return bucket_open(str(tmp_path / name))


def stored_windows(device: str, start_ms: int, count: int, seed: int = 0) -> list[StoredWindow]:
    """``count`` one-minute windows; every 7th is notable, a few have no model output."""
    rng = np.random.default_rng(seed + start_ms // MINUTE_MS)
    out = []
    for i in range(count):
        features = rng.uniform(0.0, 100.0, len(FEATURE_NAMES)).astype(np.float32)
        features[i % len(FEATURE_NAMES)] = np.nan
        outputs = None if i % 11 == 0 else rng.uniform(0, 1, len(ANOMALY_TYPES)).astype(np.float32)
        summary = WindowSummary(
            start_ms + i * MINUTE_MS,
            None if outputs is None else "baseline-1",
            features,
            outputs,
            rules=1 if i % 7 == 0 else 0,
            faults=2 if i % 13 == 0 else 0,
            notable=i % 7 == 0 or i % 13 == 0,
        )
        out.append(StoredWindow(i + 1, device, start_ms + (i + 1) * MINUTE_MS, summary))
    return out


def put(bucket: Bucket, batch: AggregateBatch, hour: int) -> str:
    """Write a batch exactly as the gateway's sync does."""
    data = batch_encode(batch)
    name = batch_object_name(batch.kind, data, hour)
    assert bucket.create(name, data) is Created.CREATED
    return name


def upload_windows(bucket: Bucket, device: str, start_ms: int, count: int) -> list[str]:
    batches = windows_batches(KEY, device, stored_windows(device, start_ms, count), sample_every=5)
    return [put(bucket, b.batch, b.first_hour) for b in batches]


def alert_row(
    alert_id: int,
    device: str = DEVICES[0],
    *,
    type_: str = "fall",
    opened_ms: int = T0_MS,
    closed_ms: int | None = None,
    status: str = "open",
) -> AlertRow:
    return AlertRow(
        alert_id,
        device,
        type_,
        "critical",
        opened_ms,
        closed_ms,
        opened_ms,
        opened_ms + MINUTE_MS,
        0.91,
        None,
        status,
        opened_ms,
        "",
        "baseline-1",
    )


def upload_alerts(bucket: Bucket, device: str, rows: Sequence[AlertRow]) -> str:
    return put(bucket, alerts_batch(KEY, device, rows), hour_of(rows[0].opened_ms))


def rows_in(bucket: Bucket, names: Sequence[str]) -> int:
    return sum(len(batch_decode(bucket.read(n)[0]).windows) for n in names)


def standard_uploads(bucket: Bucket) -> tuple[list[str], list[str]]:
    """Two devices over two days of windows, plus one alerts batch: (window names, alert)."""
    names = []
    for device in DEVICES:
        names += upload_windows(bucket, device, T0_MS + 22 * 3_600_000, 4 * 60)
    alerts = [upload_alerts(bucket, DEVICES[0], [alert_row(1, status="confirmed")])]
    return names, alerts


# --------------------------------------------------------------------------- ingest


def test_first_ingest_takes_everything_and_second_nothing(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    windows, _ = standard_uploads(bucket)
    assert len(windows) == 4  # two devices x two UTC days
    expected = rows_in(bucket, windows)

    report = corpus_ingest(bucket, now=lambda: 1000.0)
    assert report.new_batches == 5
    assert report.windows_added == report.corpus_windows == expected
    assert report.alerts_added == 1
    assert report.shard is not None and report.shard.startswith(SHARD_PREFIX)
    assert report.corpus_shards == 1
    assert report.quarantined == [] and report.duplicate_ids == []
    assert report.first_hour == H0 and report.last_hour == H0 + 25
    json.dumps(report.as_dict())

    corpus = corpus_load(bucket)
    assert len(corpus) == expected
    assert corpus.X.shape == (expected, len(FEATURE_NAMES)) and corpus.X.dtype == np.float32
    assert corpus.outputs.shape == (expected, len(ANOMALY_TYPES))
    assert corpus.weight.dtype == np.float32 and corpus.hour.dtype == np.int64
    assert set(corpus.pseudonym.tolist()) == {KEY.device(d) for d in DEVICES}
    assert set(corpus.model_version.tolist()) == {"baseline-1", ""}
    assert np.isnan(corpus.outputs[corpus.model_version == ""]).all()
    assert set(corpus.weight.tolist()) == {1.0, 5.0}
    # The rows are the decoded batches', value for value (float32 of the dequantized codes).
    decoded = [batch_decode(bucket.read(n)[0]).windows for n in windows]
    want = np.concatenate([w.features for w in decoded]).astype(np.float32)
    assert np.array_equal(np.sort(want, axis=0), np.sort(corpus.X, axis=0), equal_nan=True)
    assert len(corpus.alerts) == 1 and corpus.alerts.status[0] == "confirmed"

    generation = bucket.stat(CHECKPOINT_NAME)
    again = corpus_ingest(bucket)
    assert again.new_batches == 0 and again.shard is None
    assert again.already_ingested == 5
    assert again.corpus_windows == expected
    assert bucket.stat(CHECKPOINT_NAME) == generation  # nothing new: nothing written


def test_later_batch_is_ingested_alone(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    standard_uploads(bucket)
    first = corpus_ingest(bucket)
    later = upload_windows(bucket, DEVICES[1], T0_MS + 3 * DAY_MS, 90)
    report = corpus_ingest(bucket)
    assert report.new_batches == 1 and report.already_ingested == 5
    assert report.windows_added == rows_in(bucket, later)
    assert report.corpus_shards == 2
    assert report.corpus_windows == first.corpus_windows + report.windows_added
    assert report.last_hour == H0 + 3 * 24 + 1
    assert len(corpus_load(bucket)) == report.corpus_windows


def test_bad_objects_are_quarantined_and_the_rest_ingested(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    good = upload_windows(bucket, DEVICES[0], T0_MS, 120)
    rng = np.random.default_rng(7)
    # Random bytes under the name their hash gives: passes the hash check, fails gzip.
    junk = rng.bytes(300)
    junk_name = f"aggregates/v1/2026-01-05/{hashlib.sha256(junk).hexdigest()}.json.gz"
    bucket.create(junk_name, junk)
    # A well-formed batch of a version this code does not read.
    doc = json.loads(gzip.decompress(bucket.read(good[0])[0]))
    doc["version"] = 3
    v3 = gzip.compress(json.dumps(doc).encode(), mtime=0)
    v3_name = f"aggregates/v2/2026-01-05/{hashlib.sha256(v3).hexdigest()}.json.gz"
    bucket.create(v3_name, v3)
    # A truncated upload: the bytes no longer hash to the name.
    torn = batch_encode(alerts_batch(KEY, DEVICES[0], [alert_row(3)]))
    torn_name = batch_object_name(alerts_batch(KEY, DEVICES[0], [alert_row(3)]).kind, torn, H0)
    bucket.create(torn_name, torn[:-10])
    stray = "alerts/v1/notes.txt"
    bucket.create(stray, b"hello")

    report = corpus_ingest(bucket)
    reasons = dict(report.quarantined)
    assert set(reasons) == {junk_name, v3_name, torn_name, stray}
    assert "not gzip" in reasons[junk_name]
    assert "version" in reasons[v3_name] and "3" in reasons[v3_name]
    assert "does not match the name" in reasons[torn_name]
    assert "object name does not match" in reasons[stray]
    assert report.new_batches == 1 and report.windows_added == rows_in(bucket, good)
    for name, reason in reasons.items():
        assert bucket.read(QUARANTINE_PREFIX + name)[0] == bucket.read(name)[0]
        saved = json.loads(bucket.read(QUARANTINE_PREFIX + name + REASON_SUFFIX)[0])
        assert saved["name"] == name and saved["reason"] == reason
    checkpoint = json.loads(bucket.read(CHECKPOINT_NAME)[0])
    assert set(checkpoint["quarantined"]) == set(reasons)

    # Never retried automatically: the next run skips them and says so.
    again = corpus_ingest(bucket)
    assert again.quarantined == [] and again.previously_quarantined == 4
    assert again.new_batches == 0


def test_same_batch_under_two_names_counts_once(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    (name,) = upload_windows(bucket, DEVICES[0], T0_MS, 120)
    data = bucket.read(name)[0]
    sha = name.rsplit("/", 1)[1].split(".")[0]
    bucket.create(f"aggregates/v1/2026-01-06/{sha}.json.gz", data)

    report = corpus_ingest(bucket)
    assert report.duplicate_ids == [sha]
    assert report.new_batches == 1
    assert report.corpus_windows == len(batch_decode(data).windows)
    assert len(corpus_load(bucket)) == report.corpus_windows


def test_crash_before_checkpoint_then_rerun_duplicates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket(tmp_path)
    names, _ = standard_uploads(bucket)
    junk = b"not a batch"
    bucket.create(f"alerts/v1/2026-01-05/{hashlib.sha256(junk).hexdigest()}.json.gz", junk)
    real_replace = bucket.replace
    calls = []

    def crash_once(name: str, data: bytes, *, if_generation: int) -> int:
        calls.append(name)
        if len(calls) == 1:
            raise BucketUnavailable("simulated crash before the checkpoint move")
        return real_replace(name, data, if_generation=if_generation)

    monkeypatch.setattr(bucket, "replace", crash_once)
    with pytest.raises(BucketUnavailable):
        corpus_ingest(bucket)
    orphan = [i.name for i in bucket.list(SHARD_PREFIX)]
    assert len(orphan) == 1 and bucket.stat(CHECKPOINT_NAME) is None

    report = corpus_ingest(bucket)
    assert report.shard == orphan[0]  # same content, same name: found already present
    assert [i.name for i in bucket.list(SHARD_PREFIX)] == orphan
    assert len(report.quarantined) == 1
    corpus = corpus_load(bucket)
    assert len(corpus) == rows_in(bucket, names) == report.corpus_windows
    assert len(corpus.alerts) == 1
    # Each window once: (pseudonym, hour, features) rows are all distinct.
    keys = {
        (p, h, r.tobytes()) for p, h, r in zip(corpus.pseudonym, corpus.hour, corpus.X, strict=True)
    }
    assert len(keys) == len(corpus)


class RacingBucket:
    """A bucket through which another ingest runs while this one is listing."""

    def __init__(self, inner: Bucket) -> None:
        self.inner = inner
        self.raced = False

    @property
    def url(self) -> str:
        return self.inner.url

    def create(self, name: str, data: bytes) -> Created:
        return self.inner.create(name, data)

    def read(self, name: str) -> tuple[bytes, int]:
        return self.inner.read(name)

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        return self.inner.replace(name, data, if_generation=if_generation)

    def stat(self, name: str) -> ObjectInfo | None:
        return self.inner.stat(name)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.raced:
            self.raced = True
            corpus_ingest(self.inner)  # the other job, start to finish
        return self.inner.list(prefix)

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        self.inner.delete(name, if_generation=if_generation)


def test_concurrent_checkpoint_move_raises_conflict(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    standard_uploads(bucket)
    with pytest.raises(CorpusConflict, match="moved by another ingest"):
        corpus_ingest(RacingBucket(bucket))
    # The other job's corpus stands, with each window once.
    corpus = corpus_load(bucket)
    assert len(corpus.shards) == 1
    assert corpus_ingest(bucket).new_batches == 0


def test_max_batches_bounds_a_run_oldest_first(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    names = []
    for day in (3, 0, 2, 1, 4):  # uploaded out of order
        names += upload_windows(bucket, DEVICES[0], T0_MS + day * DAY_MS, 60)
    total = rows_in(bucket, names)

    report = corpus_ingest(bucket, max_batches=2)
    assert report.new_batches == 2 and report.remaining == 3
    assert (report.first_hour, report.last_hour) == (H0, H0 + 24)  # days 0 and 1
    runs = 1
    while report.remaining:
        report = corpus_ingest(bucket, max_batches=2)
        runs += 1
    assert runs == 3
    assert report.corpus_windows == total == len(corpus_load(bucket))
    with pytest.raises(ValueError, match="max_batches"):
        corpus_ingest(bucket, max_batches=0)


def test_same_batches_give_byte_identical_shards(tmp_path: Path) -> None:
    shards = []
    for i, clock in enumerate((1.0, 2.0)):
        bucket = new_bucket(tmp_path, f"b{i}")
        standard_uploads(bucket)
        report = corpus_ingest(bucket, now=lambda c=clock: c)  # type: ignore[misc]
        assert report.shard is not None
        shards.append((report.shard, bucket.read(report.shard)[0]))
    assert shards[0] == shards[1]
    name, data = shards[0]
    assert name == f"{SHARD_PREFIX}{hashlib.sha256(data).hexdigest()}.npz"


def test_alert_revisions_closed_then_later_shard_wins(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    closed_ms = T0_MS + 95 * MINUTE_MS
    # Alert 1: closed+dismissed in the first shard, re-sent open in a later one.
    upload_alerts(bucket, DEVICES[0], [alert_row(1, closed_ms=closed_ms, status="dismissed")])
    # Alert 2: open, then closed+acknowledged, then closed+confirmed in later shards.
    upload_alerts(bucket, DEVICES[0], [alert_row(2)])
    corpus_ingest(bucket)
    upload_alerts(bucket, DEVICES[0], [alert_row(1, status="open")])
    upload_alerts(bucket, DEVICES[0], [alert_row(2, closed_ms=closed_ms, status="acknowledged")])
    corpus_ingest(bucket)
    upload_alerts(bucket, DEVICES[0], [alert_row(2, closed_ms=closed_ms, status="confirmed")])
    corpus_ingest(bucket)

    alerts = corpus_load(bucket).alerts
    got = {KEY.alert(DEVICES[0], i): i for i in (1, 2)}
    by_id = {
        got[a]: (s, d)
        for a, s, d in zip(alerts.alert, alerts.status, alerts.duration_min, strict=True)
    }
    assert by_id == {1: ("dismissed", 95), 2: ("confirmed", 95)}
    assert set(alerts.pseudonym.tolist()) == {KEY.device(DEVICES[0])}


def test_a_reopened_verdict_loses_to_the_next_one_within_one_shard(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    closed_ms = T0_MS + 30 * MINUTE_MS

    def row(alert_id: int, status: str, revision: int) -> AlertRow:
        return replace(alert_row(alert_id, closed_ms=closed_ms, status=status), revision=revision)

    # Both alerts get a verdict, are reopened and get the opposite verdict; all four rows
    # land in one shard, where batch order is by hash. Whichever batch comes last there,
    # one of the two alerts would end on its withdrawn verdict without the revision.
    upload_alerts(bucket, DEVICES[0], [row(3, "confirmed", 1), row(4, "dismissed", 1)])
    upload_alerts(bucket, DEVICES[0], [row(3, "dismissed", 3), row(4, "confirmed", 3)])
    corpus_ingest(bucket)

    alerts = corpus_load(bucket).alerts
    got = {KEY.alert(DEVICES[0], i): i for i in (3, 4)}
    assert {got[a]: s for a, s in zip(alerts.alert, alerts.status, strict=True)} == {
        3: "dismissed",
        4: "confirmed",
    }


def test_empty_bucket_gives_an_empty_corpus(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    report = corpus_ingest(bucket)
    assert report.new_batches == 0 and report.corpus_windows == 0 and report.first_hour is None
    assert bucket.stat(CHECKPOINT_NAME) is None
    corpus = corpus_load(bucket)
    assert corpus.X.shape == (0, len(FEATURE_NAMES)) and len(corpus.alerts) == 0
    assert weak_labels(corpus).shape == (0, len(ANOMALY_TYPES))


def test_damaged_checkpoint_or_shard_stops_with_a_clear_error(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    upload_windows(bucket, DEVICES[0], T0_MS, 60)
    report = corpus_ingest(bucket)
    assert report.shard is not None
    shard_path = tmp_path / "bucket" / report.shard
    shard_path.write_bytes(shard_path.read_bytes()[:-1])
    with pytest.raises(CorpusShardError, match="does not hash to its name"):
        corpus_load(bucket)

    _, generation = bucket.read(CHECKPOINT_NAME)
    bucket.replace(CHECKPOINT_NAME, b"{not json", if_generation=generation)
    with pytest.raises(CorpusCheckpointError, match="damaged"):
        corpus_ingest(bucket)


# --------------------------------------------------------------------------- weak labels

P, Q = "a" * 32, "b" * 32


def hand_corpus(
    rows: Sequence[tuple[str, int, float, int, Sequence[float]]],
    alerts: Sequence[tuple[str, str, int, int, str]],
) -> Corpus:
    """Rows ``(pseudonym, hour, weight, rules, outputs)``; alerts ``(pseudonym, type, hour,
    duration_min or -1, status)``."""
    n = len(rows)
    strings = np.array([r[0] for r in rows], dtype=np.str_)
    m = len(alerts)
    return Corpus(
        X=np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32),
        outputs=np.array([r[4] for r in rows], dtype=np.float32).reshape(n, len(ANOMALY_TYPES)),
        weight=np.array([r[2] for r in rows], dtype=np.float32),
        hour=np.array([r[1] for r in rows], dtype=np.int64),
        rules=np.array([r[3] for r in rows], dtype=np.int64),
        faults=np.zeros(n, dtype=np.int64),
        pseudonym=strings,
        model_version=np.full(n, "m1"),
        alerts=CorpusAlerts(
            alert=np.array([f"{i:024x}" for i in range(m)], dtype=np.str_),
            pseudonym=np.array([a[0] for a in alerts], dtype=np.str_),
            type=np.array([a[1] for a in alerts], dtype=np.str_),
            severity=np.full(m, "critical"),
            hour=np.array([a[2] for a in alerts], dtype=np.int64),
            duration_min=np.array([a[3] for a in alerts], dtype=np.int64),
            status=np.array([a[4] for a in alerts], dtype=np.str_),
            rule=np.full(m, ""),
        ),
    )


LOW = [0.01] * len(ANOMALY_TYPES)


def test_confirmed_alert_labels_notable_rows_in_its_hours_positive() -> None:
    rows = [(P, h, 1.0, 0, LOW) for h in (99, 100, 101, 102, 103)]
    rows += [(Q, 101, 1.0, 0, LOW), (P, 101, 10.0, 0, LOW)]
    corpus = hand_corpus(rows, [(P, "fall", 100, 90, "confirmed")])  # ceil(90/60): 100..102
    y = weak_labels(corpus)
    assert y.dtype == np.float32 and y.shape == (7, len(ANOMALY_TYPES))
    assert y[:5, FALL].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert y[5, FALL] == 0.0  # another pseudonym: not covered
    assert y[6, FALL] == 0.0  # unremarkable sampled row inside the alert stays negative
    # Other types of covered rows follow the remaining rules (low outputs, no rule: 0).
    assert (np.delete(y[:5], FALL, axis=1) == 0).all()


def test_open_alert_covers_only_its_opening_hour() -> None:
    rows = [(P, h, 1.0, 1 << FALL, LOW) for h in (100, 101)]
    y = weak_labels(hand_corpus(rows, [(P, "fall", 100, -1, "confirmed")]))
    assert y[0, FALL] == 1.0
    assert np.isnan(y[1, FALL])  # rule bit set, not covered: unknown


def test_dismissed_alert_labels_rows_negative_even_with_rule_and_high_output() -> None:
    high = [0.9] * len(ANOMALY_TYPES)
    rows = [(P, 100, 1.0, 1 << TACHY, high), (P, 103, 1.0, 1 << TACHY, high)]
    y = weak_labels(hand_corpus(rows, [(P, "tachycardia", 100, 60, "dismissed")]))
    assert y[0, TACHY] == 0.0
    assert np.isnan(y[1, TACHY])  # hour 103 is past 100 + ceil(60/60)
    assert np.isnan(y[0, FALL])  # high output of another type: unknown


def test_sampled_unremarkable_rows_are_negative_for_every_type() -> None:
    high = [0.9] * len(ANOMALY_TYPES)
    y = weak_labels(hand_corpus([(P, 100, 10.0, 0b111111, high)], []))
    assert (y == 0).all()


def test_unreviewed_notable_rows_negative_only_when_confident() -> None:
    nan = float("nan")
    outputs = [0.05, 0.1, nan, 0.05, 0.5, 0.0]
    rules = 1 << 3  # desaturation rule fired
    y = weak_labels(
        hand_corpus(
            [(P, 100, 1.0, rules, outputs)],
            # Acknowledged is not a verdict; "device_fault" is not an anomaly type.
            [(P, "tachycardia", 100, 30, "acknowledged"), (P, "device_fault", 100, 5, "confirmed")],
        )
    )
    got = y[0].tolist()
    assert got[0] == 0.0 and got[5] == 0.0
    assert all(np.isnan(got[i]) for i in (1, 2, 3, 4))  # at threshold, no output, rule, high


@pytest.mark.integration
def test_a_lost_checkpoint_response_is_not_a_conflict(
    fault_proxy: tuple[FaultProxy, str],
) -> None:
    # The checkpoint write lands on the GCS emulator but its reply is lost: the client's
    # retry gets 412 against the checkpoint this very ingest wrote. That is success, not
    # "moved by another ingest" (which left 55 batches ingested and never trained on).
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    upload_windows(bucket, DEVICES[0], T0_MS, 60)
    first = corpus_ingest(bucket)
    info = bucket.stat(CHECKPOINT_NAME)
    assert first.new_batches >= 1 and info is not None
    later = upload_windows(bucket, DEVICES[1], T0_MS + DAY_MS, 60)
    # Only the checkpoint's compare-and-swap carries this generation as its precondition.
    proxy.inject("503", when="after", match=f"ifGenerationMatch={info.generation}")

    report = corpus_ingest(bucket)

    assert proxy.faults_injected == 1
    assert report.new_batches == len(later) and report.corpus_shards == 2
    corpus = corpus_load(bucket)
    assert corpus.shards == (first.shard, report.shard)
    assert corpus_ingest(bucket).new_batches == 0


def test_without_fleet_negatives_only_the_verdicts_label() -> None:
    rows = [(P, h, 1.0, 0, LOW) for h in (100, 101, 105)] + [(P, 105, 10.0, 0, LOW)]
    corpus = hand_corpus(
        rows, [(P, "fall", 100, 30, "confirmed"), (P, "tachycardia", 101, 30, "dismissed")]
    )
    y = weak_labels(corpus, fleet_negatives=False)
    # The confirmed fall covers hours 100..101, the dismissed tachycardia 101..102.
    assert y[0, FALL] == 1.0 and y[1, FALL] == 1.0 and y[1, TACHY] == 0.0
    # Everything else, the sampled unremarkable row and confident outputs included, is
    # unknown: only the clinicians' verdicts label the fleet.
    assert int((~np.isnan(y)).sum()) == 3


# ------------------------------------------------- verdicts label their alert's windows

AF = ANOMALY_TYPES.index("af")
FEVER = ANOMALY_TYPES.index("fever")


def minute_windows(count: int, outputs: dict[int, Sequence[float]]) -> list[StoredWindow]:
    """``count`` notable one-minute windows from ``T0_MS``; ``hr_mean`` holds the minute
    (rows are shuffled within their hour: this finds them again). Outputs are low except
    where ``outputs`` says."""
    out = []
    for i in range(count):
        features = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
        features[0] = i
        summary = WindowSummary(
            T0_MS + i * MINUTE_MS,
            "baseline-1",
            features,
            np.array(outputs.get(i, LOW), dtype=np.float32),
            rules=0,
            faults=0,
            notable=True,
        )
        out.append(StoredWindow(i + 1, DEVICES[0], T0_MS, summary))
    return out


def span_alert(alert_id: int, type_: str, start_min: int, end_min: int, status: str) -> AlertRow:
    return replace(
        alert_row(
            alert_id,
            type_=type_,
            opened_ms=T0_MS + (start_min + 1) * MINUTE_MS,
            closed_ms=T0_MS + end_min * MINUTE_MS,
            status=status,
        ),
        evidence_start_ms=T0_MS + start_min * MINUTE_MS,
    )


def labels_by_minute(
    tmp_path: Path, windows: Sequence[StoredWindow], alerts: Sequence[AlertRow]
) -> npt.NDArray[np.float32]:
    """Sync ``windows`` and ``alerts`` as the gateway does, ingest, label; rows by minute."""
    bucket = new_bucket(tmp_path)
    for part in windows_batches(KEY, DEVICES[0], windows, sample_every=5, alerts=alerts):
        put(bucket, part.batch, part.first_hour)
    upload_alerts(bucket, DEVICES[0], alerts)
    corpus_ingest(bucket)
    corpus = corpus_load(bucket)
    y = weak_labels(corpus)
    return y[np.argsort(corpus.X[:, 0])]


def test_a_verdict_labels_the_windows_of_its_alert_not_its_hours(tmp_path: Path) -> None:
    # A confirmed fever from minute 30 to 100 in three hours of notable windows. By the
    # hour it labelled all 180 windows fever (467 wrong fever positives in round 1 of
    # the learning curve, docs/history/learning-2026-12.md).
    y = labels_by_minute(
        tmp_path, minute_windows(180, {}), [span_alert(3, "fever", 30, 100, "confirmed")]
    )
    assert np.flatnonzero(y[:, FEVER] == 1).tolist() == list(range(30, 100))
    assert (np.delete(y[:, FEVER], range(30, 100)) == 0).all()  # low output, no rule


def test_a_dismissal_leaves_windows_outside_its_alert_and_other_types_alone(
    tmp_path: Path,
) -> None:
    # Minutes 5-24: an AF episode whose alert nobody reviewed (the model said 0.9). A
    # false AF alert at minutes 40-45, rightly dismissed, and a dismissed tachycardia
    # alert over the AF episode. By the hour, the AF dismissal took the episode negative.
    high_af = [0.01, 0.01, 0.9, 0.01, 0.01, 0.01]
    alerts = [
        span_alert(3, "af", 5, 25, "acknowledged"),
        span_alert(4, "af", 40, 45, "dismissed"),
        span_alert(5, "tachycardia", 5, 25, "dismissed"),
    ]
    y = labels_by_minute(tmp_path, minute_windows(60, dict.fromkeys(range(5, 25), high_af)), alerts)
    assert np.isnan(y[5:25, AF]).all()  # unknown, as without any verdict
    assert (y[40:45, AF] == 0).all()
    assert (y[5:25, TACHY] == 0).all()  # the dismissal speaks for its own type only


def test_rows_of_version_1_batches_are_still_read_and_labelled_by_the_hour(
    tmp_path: Path,
) -> None:
    bucket = new_bucket(tmp_path)
    windows = minute_windows(120, {})
    (part,) = windows_batches(KEY, DEVICES[0], windows, sample_every=5)
    # The same rows as a version-1 gateway wrote them: no links, under aggregates/v1/.
    doc = json.loads(gzip.decompress(batch_encode(part.batch)))
    doc["version"] = 1
    del doc["windows"]["alerts"]
    old = gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0)
    bucket.create(f"aggregates/v1/2026-01-05/{hashlib.sha256(old).hexdigest()}.json.gz", old)
    upload_alerts(bucket, DEVICES[0], [span_alert(3, "fever", 30, 40, "confirmed")])

    assert corpus_ingest(bucket).windows_added == 120
    corpus = corpus_load(bucket)
    assert corpus.linked is None
    y = weak_labels(corpus)[np.argsort(corpus.X[:, 0])]
    # Closed after 10 minutes: ceil(10 / 60) = 1, hours 0 and 1, as before version 2.
    assert (y[:, FEVER] == 1).all()


def test_a_version_1_shard_is_still_read_and_its_rows_are_unlinked(tmp_path: Path) -> None:
    bucket = new_bucket(tmp_path)
    windows = minute_windows(120, {})
    for part in windows_batches(KEY, DEVICES[0], windows, sample_every=5):
        put(bucket, part.batch, part.first_hour)
    upload_alerts(bucket, DEVICES[0], [span_alert(3, "fever", 30, 40, "confirmed")])
    shard = corpus_ingest(bucket).shard
    assert shard is not None
    # The same shard as the version-1 ingest wrote it: no links, under its own hash.
    with np.load(io.BytesIO(bucket.read(shard)[0]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in ("w_linked", "l_row", "l_alert")}
    arrays["version"] = np.array(1, dtype=np.int64)
    old = npz_bytes(arrays, compress=True)
    old_name = f"{SHARD_PREFIX}{hashlib.sha256(old).hexdigest()}.npz"
    bucket.create(old_name, old)
    data, generation = bucket.read(CHECKPOINT_NAME)
    checkpoint = json.loads(data)
    checkpoint["shards"] = [old_name]
    bucket.replace(CHECKPOINT_NAME, json.dumps(checkpoint).encode(), if_generation=generation)

    corpus = corpus_load(bucket)
    assert len(corpus) == 120 and corpus.linked is None and len(corpus.link_row) == 0
    # Unlinked rows: the hour join (hours 0 and 1 for a fever closed after 10 minutes).
    assert (weak_labels(corpus)[:, FEVER] == 1).all()
