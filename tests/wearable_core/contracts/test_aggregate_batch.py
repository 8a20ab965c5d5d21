"""The aggregate batch format: round trips, determinism, quantization and clear errors."""

from __future__ import annotations

import doctest
import gzip
import json

import numpy as np
import pytest

from wearable_core.contracts import aggregate_batch
from wearable_core.contracts.aggregate_batch import (
    FEATURE_CODECS,
    MISSING_CODE,
    OUTPUT_CODEC,
    AggregateBatch,
    AlertOutcome,
    BatchFormatError,
    BatchKind,
    HourSummary,
    PrivacyNoise,
    WindowRows,
    batch_decode,
    batch_encode,
    batch_object_name,
    dequantize,
    quantize,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES

PSEUDONYM = "0123456789abcdef0123456789abcdef"


def _rows(n: int, seed: int = 0) -> WindowRows:
    rng = np.random.default_rng(seed)
    features = np.column_stack(
        [
            rng.uniform(c.offset, min(c.high, c.offset + 200 * c.step * 100), n)
            for c in FEATURE_CODECS.values()
        ]
    )
    features[0, 3] = np.nan
    outputs = rng.uniform(0, 1, (n, len(ANOMALY_TYPES)))
    outputs[1] = np.nan
    return WindowRows(
        np.full(n, 490_000, dtype=np.int64) + np.arange(n) // 60,
        rng.choice([1, 10], n).astype(np.int64),
        np.where(np.arange(n) == 1, -1, 0).astype(np.int64),
        rng.integers(0, 64, n).astype(np.int64),
        rng.integers(0, 16, n).astype(np.int64),
        features,
        outputs,
    )


def _batch(n: int = 90) -> AggregateBatch:
    return AggregateBatch(
        BatchKind.AGGREGATES,
        PSEUDONYM,
        models=("baseline-2026.11",),
        windows=_rows(n),
        hours=(HourSummary(490_000, 60, 3, {"off_wrist": 2, "dropout": 0}),),
        alerts=(
            AlertOutcome(
                "ab" * 12, "fall", "critical", 490_000, 15, "confirmed", "impact", 0.93, "m1"
            ),
        ),
        diagnostics={"devices": 3},
        noise=None,
    )


def test_round_trip_within_one_quantization_step() -> None:
    batch = _batch()
    back = batch_decode(batch_encode(batch))
    assert back.kind is BatchKind.AGGREGATES and back.pseudonym == PSEUDONYM
    assert back.models == batch.models and back.hours == batch.hours and back.alerts == batch.alerts
    for column in ("hour", "weight", "model", "rules", "faults"):
        np.testing.assert_array_equal(getattr(back.windows, column), getattr(batch.windows, column))
    steps = np.array([c.step for c in FEATURE_CODECS.values()])
    original = batch.windows.features
    assert np.array_equal(np.isnan(back.windows.features), np.isnan(original))
    finite = ~np.isnan(original)
    error = np.abs(back.windows.features - original)[finite]
    assert np.all(error <= (np.broadcast_to(steps, original.shape)[finite] / 2 + 1e-9))
    assert np.nanmax(np.abs(back.windows.outputs - batch.windows.outputs)) <= OUTPUT_CODEC.step / 2
    assert np.isnan(back.windows.outputs[1]).all()


def test_same_batch_same_bytes_and_name() -> None:
    a, b = batch_encode(_batch()), batch_encode(_batch())
    assert a == b
    assert batch_object_name(BatchKind.AGGREGATES, a, 490_000) == batch_object_name(
        BatchKind.AGGREGATES, b, 490_000
    )
    other = batch_encode(_batch(91))
    assert batch_object_name(BatchKind.AGGREGATES, other, 490_000) != batch_object_name(
        BatchKind.AGGREGATES, a, 490_000
    )


def test_object_name_carries_the_day_only() -> None:
    midnight = 490_008  # 2025-11-25T00:00Z in hours since the epoch
    for hour, day in (
        (midnight, "2025-11-25"),
        (midnight + 23, "2025-11-25"),
        (midnight + 24, "2025-11-26"),
    ):
        name = batch_object_name(BatchKind.AGGREGATES, b"x", hour)
        assert name.startswith(f"aggregates/v2/{day}/") and name.endswith(".json.gz")


def test_quantize_clips_and_marks_missing() -> None:
    codec = FEATURE_CODECS["temp_trend"]
    codes = quantize([-1e9, 0.0, 1e9, np.nan], codec)
    assert codes.tolist()[0] == 0 and codes.tolist()[2] == MISSING_CODE - 1
    assert codes.tolist()[3] == MISSING_CODE
    assert dequantize(codes, codec)[1] == pytest.approx(0.0, abs=codec.step)


def test_noise_and_empty_windows_round_trip() -> None:
    batch = AggregateBatch(
        BatchKind.AGGREGATES,
        PSEUDONYM,
        hours=(HourSummary(1, 58, 2, {"off_wrist": 0}),),
        noise=PrivacyNoise("discrete_laplace", 0.5, 6.0),
    )
    back = batch_decode(batch_encode(batch))
    assert back.noise == batch.noise and len(back.windows) == 0
    assert back.windows.features.shape == (0, len(FEATURE_NAMES))


def _tamper(data: bytes, change: object) -> bytes:
    doc = json.loads(gzip.decompress(data))
    change(doc)  # type: ignore[operator]
    return gzip.compress(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(version=3), "version"),
        (lambda d: d.update(format="x"), "format"),
        (lambda d: d.update(feature_schema_version=9), "feature_schema_version"),
        (lambda d: d.update(kind="raw"), "kind"),
        (lambda d: d.update(pseudonym="C4:12:34:56:78:9A"), "pseudonym"),
        (lambda d: d["windows"]["weight"].pop(), "windows.weight"),
        (lambda d: d["windows"]["features"].pop("hr_mean"), "windows.features.hr_mean"),
        (
            lambda d: d["windows"]["features"]["hr_min"].__setitem__(0, 70000),
            "windows.features.hr_min",
        ),
        (lambda d: d["windows"]["model"].__setitem__(0, 5), "windows.model"),
        (lambda d: d.pop("hours"), "hours"),
        (lambda d: d["windows"].pop("alerts"), "windows.alerts"),
        (lambda d: d["windows"]["alerts"].pop(), "windows.alerts"),
        (lambda d: d["windows"]["alerts"].__setitem__(0, ["AB" * 12]), "windows.alerts"),
    ],
)
def test_decode_names_the_bad_field(change: object, field: str) -> None:
    with pytest.raises(BatchFormatError) as info:
        batch_decode(_tamper(batch_encode(_batch()), change))
    assert info.value.field == field


def test_decode_rejects_non_gzip() -> None:
    with pytest.raises(BatchFormatError, match="not gzip"):
        batch_decode(b"{}")


def test_encode_refuses_an_identifier_as_pseudonym() -> None:
    with pytest.raises(BatchFormatError, match="pseudonym"):
        batch_encode(AggregateBatch(BatchKind.DIAGNOSTICS, "C4:12:34:56:78:9A"))


def test_codecs_cover_every_feature_in_schema_order() -> None:
    assert tuple(FEATURE_CODECS) == FEATURE_NAMES


def test_docstring_examples() -> None:
    result = doctest.testmod(aggregate_batch)
    assert result.attempted > 0 and result.failed == 0


def test_windows_id_round_trips_and_is_optional() -> None:
    hours = (HourSummary(472222, 2, 0, {}),)
    plain = AggregateBatch(BatchKind.AGGREGATES, "a" * 32, hours=hours)
    named = AggregateBatch(BatchKind.AGGREGATES, "a" * 32, hours=hours, windows_id="b" * 24)
    decoded = batch_decode(batch_encode(named))
    assert (decoded.windows_id, decoded.hours) == ("b" * 24, hours)
    # A batch written before the field existed reads back with no id.
    assert "windows_id" not in json.loads(gzip.decompress(batch_encode(plain)))
    assert batch_decode(batch_encode(plain)).windows_id == ""
    # Equal counts, different windows: different bytes.
    assert batch_encode(named) != batch_encode(plain)


@pytest.mark.parametrize("bad", ["B" * 24, "b" * 23, 7])
def test_a_malformed_windows_id_is_refused(bad: object) -> None:
    doc = json.loads(gzip.decompress(batch_encode(AggregateBatch(BatchKind.AGGREGATES, "a" * 32))))
    doc["windows_id"] = bad
    with pytest.raises(BatchFormatError, match="windows_id"):
        batch_decode(gzip.compress(json.dumps(doc).encode()))


def test_alert_revision_round_trips_and_is_optional() -> None:
    plain = AlertOutcome("ab" * 12, "fall", "critical", 4, 15, "confirmed", None, 0.9, "m1")
    revised = AlertOutcome("ab" * 12, "fall", "critical", 4, 15, "dismissed", None, 0.9, "m1", 3)
    for alert in (plain, revised):
        batch = AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(alert,))
        assert batch_decode(batch_encode(batch)).alerts == (alert,)
    # Revision 0 is left out: batches written before the field keep their bytes.
    doc = json.loads(
        gzip.decompress(batch_encode(AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(plain,))))
    )
    assert "revision" not in doc["alerts"][0]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_a_malformed_alert_revision_is_refused(bad: object) -> None:
    alert = AlertOutcome("ab" * 12, "fall", "critical", 4, 15, "confirmed", None, 0.9, "m1", 2)
    data = batch_encode(AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(alert,)))
    doc = json.loads(gzip.decompress(data))
    doc["alerts"][0]["revision"] = bad
    with pytest.raises(BatchFormatError, match="revision"):
        batch_decode(gzip.compress(json.dumps(doc).encode()))


def test_alert_rate_round_trips_and_is_optional() -> None:
    plain = AlertOutcome("ab" * 12, "af", "warning", 4, 15, "open", None, 0.9, "m1")
    rapid = AlertOutcome("ab" * 12, "af", "warning", 4, 15, "open", None, 0.9, "m1", 0, 132)
    for alert in (plain, rapid):
        batch = AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(alert,))
        assert batch_decode(batch_encode(batch)).alerts == (alert,)
    doc = json.loads(
        gzip.decompress(batch_encode(AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(plain,))))
    )
    assert "rate_bpm" not in doc["alerts"][0]


@pytest.mark.parametrize("bad", [0, 400, 120.5, True, "120"])
def test_a_malformed_alert_rate_is_refused(bad: object) -> None:
    alert = AlertOutcome("ab" * 12, "af", "warning", 4, 15, "open", None, 0.9, "m1", 0, 120)
    doc = json.loads(
        gzip.decompress(batch_encode(AggregateBatch(BatchKind.ALERTS, PSEUDONYM, alerts=(alert,))))
    )
    doc["alerts"][0]["rate_bpm"] = bad
    with pytest.raises(BatchFormatError, match="rate_bpm"):
        batch_decode(gzip.compress(json.dumps(doc).encode()))


def test_window_alert_links_round_trip_sorted() -> None:
    rows = _rows(3)
    linked = AggregateBatch(
        BatchKind.AGGREGATES,
        PSEUDONYM,
        models=("m1",),
        windows=WindowRows(
            rows.hour,
            rows.weight,
            rows.model,
            rows.rules,
            rows.faults,
            rows.features,
            rows.outputs,
            (("cd" * 12, "ab" * 12), (), ("ab" * 12,)),
        ),
    )
    back = batch_decode(batch_encode(linked))
    assert back.windows.alerts == (("ab" * 12, "cd" * 12), (), ("ab" * 12,))
    # Rows built without links say "held by none", not "unknown": a version-2 writer knows.
    assert batch_decode(batch_encode(_batch(3))).windows.alerts == ((), (), ())


def test_a_version_1_batch_is_still_read_and_its_rows_are_unlinked() -> None:
    # Version 1 had no windows.alerts: its rows' alerts are unknown (None), not "none".
    doc = json.loads(gzip.decompress(batch_encode(_batch(3))))
    doc["version"] = 1
    del doc["windows"]["alerts"]
    back = batch_decode(gzip.compress(json.dumps(doc).encode()))
    assert len(back.windows) == 3 and back.windows.alerts is None
