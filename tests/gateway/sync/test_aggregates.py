"""Building batches: sampling weights, hour-only time, alert outcomes, doc examples."""

from __future__ import annotations

import doctest

import numpy as np

from gateway.privacy import noise, pseudonym
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import AlertRow, StoredWindow, WindowSummary
from gateway.sync import aggregates, backoff, network, outcome
from gateway.sync.aggregates import alert_outcome, windows_batches
from wearable_core.contracts.aggregate_batch import HOUR_MS, batch_decode, batch_encode
from wearable_core.contracts.features import FEATURE_NAMES

KEY = PseudonymKey(bytes(range(32)))
DEVICE = "C4:00:00:00:00:01"
T0 = 1_767_571_200_000  # a midnight (UTC)


def _stored(n: int, notable_every: int = 0) -> list[StoredWindow]:
    rng = np.random.default_rng(3)
    return [
        StoredWindow(
            i,
            DEVICE,
            T0,
            WindowSummary(
                T0 + i * 60_000,
                "m1",
                rng.uniform(0, 100, len(FEATURE_NAMES)).astype(np.float32),
                rng.uniform(0, 1, 6).astype(np.float32),
                0,
                0,
                bool(notable_every) and i % notable_every == 0,
            ),
        )
        for i in range(n)
    ]


def test_weighted_sample_is_unbiased_and_keeps_every_notable_window() -> None:
    windows = _stored(1440, notable_every=50)
    [part] = windows_batches(KEY, DEVICE, windows, sample_every=10)
    rows = part.batch.windows
    notable = sum(w.summary.notable for w in windows)
    assert int((rows.weight == 1).sum()) == notable
    # The keyed 1-in-10 sample stands for the other windows: weighted total within 15 %.
    assert abs(int(rows.weight.sum()) - 1440) < 0.15 * 1440
    assert 100 < len(rows) < 200
    assert sum(h.windows for h in part.batch.hours) == 1440
    assert part.window_ids == tuple(range(1440))
    assert part.covers_until_ms == T0 + 1440 * 60_000


def test_rows_carry_hours_not_minutes_and_are_not_in_time_order() -> None:
    windows = _stored(180, notable_every=1)  # all sent: the order is all there is to see
    [part] = windows_batches(KEY, DEVICE, windows, sample_every=10)
    rows = part.batch.windows
    assert set(rows.hour.tolist()) == {T0 // HOUR_MS + h for h in range(3)}
    assert list(rows.hour) == sorted(rows.hour)  # grouped by hour ...
    first_hour = [w.summary.features[0] for w in windows[:60]]
    sent = rows.features[rows.hour == T0 // HOUR_MS, 0]
    order = [int(np.argmin(np.abs(np.array(first_hour) - v))) for v in sent]
    assert sorted(order) == list(range(60)) and order != list(range(60))  # ... shuffled


def test_alert_outcome_rounds_duration_and_hides_identity() -> None:
    row = AlertRow(
        7,
        DEVICE,
        "af",
        "warning",
        T0 + 123_456,
        T0 + 123_456 + 17 * 60_000 + 5,
        0,
        0,
        0.8765,
        "irregular",
        "confirmed",
        0,
        "called the GP",
        "m1",
    )
    outcome = alert_outcome(KEY, row)
    assert outcome.hour == (T0 + 123_456) // HOUR_MS and outcome.duration_min == 15
    assert outcome.peak_score == 0.88 and outcome.status == "confirmed"
    assert outcome.alert == KEY.alert(DEVICE, 7) and DEVICE not in outcome.alert
    assert alert_outcome(KEY, row).alert == outcome.alert  # stable across revisions


def test_encoded_batch_round_trips() -> None:
    [part] = windows_batches(KEY, DEVICE, _stored(120, notable_every=7), sample_every=10)
    back = batch_decode(batch_encode(part.batch))
    assert back.pseudonym == KEY.device(DEVICE) and back.models == ("m1",)
    assert len(back.windows) == len(part.batch.windows)


def test_opendp_certifies_the_epsilon_we_account() -> None:
    assert noise.privacy_loss(0.5) == 0.5
    counts = [60, 3, 0, 0, 0, 0]
    draws = np.array([noise.counts_privatize(counts, 1.0) for _ in range(300)])
    assert np.all(draws >= 0)
    assert abs(draws[:, 0].mean() - 60) < 1.5 and draws[:, 0].std() > 2


def test_docstring_examples() -> None:
    for module in (aggregates, backoff, network, noise, outcome, pseudonym):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__


def _alert(alert_id: int, type_: str, start_min: int, end_min: int | None) -> AlertRow:
    return AlertRow(
        alert_id,
        DEVICE,
        type_,
        "warning",
        T0 + (start_min + 2) * 60_000,  # opened two minutes into its evidence
        None if end_min is None else T0 + end_min * 60_000,
        T0 + start_min * 60_000,
        T0 + (start_min + 2) * 60_000,
        0.9,
        None,
        "confirmed",
        T0,
        "",
        "m1",
    )


def test_rows_name_exactly_the_alerts_whose_span_holds_them() -> None:
    # A fever from minute 30 to 100 and an AF alert from minute 150, still open; every
    # window is sent. The cloud must be able to tell the fever's 70 windows from the
    # rest of hours 0 and 1 (before version 2 it could only join on the hour).
    fever, af = _alert(1, "fever", 30, 100), _alert(2, "af", 150, None)
    [part] = windows_batches(
        KEY, DEVICE, _stored(180, notable_every=1), sample_every=10, alerts=[fever, af]
    )
    rows = batch_decode(batch_encode(part.batch)).windows
    assert rows.alerts is not None
    held = [set(ids) for ids in rows.alerts]
    fever_id, af_id = KEY.alert(DEVICE, 1), KEY.alert(DEVICE, 2)
    assert sum(ids == {fever_id} for ids in held) == 70
    assert sum(ids == {af_id} for ids in held) == 30
    assert sum(not ids for ids in held) == 80
    assert set(rows.hour[[fever_id in ids for ids in held]].tolist()) == {
        T0 // HOUR_MS,
        T0 // HOUR_MS + 1,
    }
