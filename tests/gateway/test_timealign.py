"""The per-watch clock model: offset and drift from noisy, latency-biased observations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from gateway.timealign import ClockModel, clock_fit

G0 = 1_700_000_000_000  # 2023-11-14, gateway clock at the start of every simulation
HOUR_MS = 3_600_000


@dataclass
class SyntheticWatch:
    """A watch clock: ``gateway - watch`` is ``offset_ms + drift * (watch - w0)``."""

    offset_ms: float
    drift_ppm: float
    w0: float = 0.0

    def __post_init__(self) -> None:
        self.w0 = G0 - self.offset_ms
        self.g_anchor = float(G0)

    @property
    def beta(self) -> float:
        return self.drift_ppm * 1e-6

    def watch_at(self, gateway_ms: Any) -> Any:
        """The watch reading at gateway time ``gateway_ms`` (a float or an array)."""
        return self.w0 + (gateway_ms - self.g_anchor) / (1.0 + self.beta)

    def gateway_at(self, watch_ms: float) -> float:
        """Ground truth: the gateway time at which the watch clock read ``watch_ms``."""
        return self.g_anchor + (watch_ms - self.w0) * (1.0 + self.beta)

    def set_to(self, gateway_ms: float, reading_ms: float) -> None:
        """The watch clock is set to read ``reading_ms`` at gateway time ``gateway_ms``."""
        self.w0 = reading_ms
        self.g_anchor = gateway_ms


def observations(
    watch: SyntheticWatch,
    start_ms: float,
    seconds: float,
    seed: int,
    *,
    rate_hz: float = 1.0,
    outliers: float = 0.01,
) -> list[tuple[int, int]]:
    """Live notifications sent at ``rate_hz``: (watch send time, gateway receive time), in
    the order the gateway receives them. Latency is exponential (mean 30 ms); a fraction
    ``outliers`` is delayed 60 s more, like backfilled records mistakenly observed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    sent = start_ms + np.arange(n) * (1000.0 / rate_hz)
    watch_ms = np.rint(watch.watch_at(sent)).astype(np.int64)
    latency = rng.exponential(30.0, n)
    latency[rng.random(n) < outliers] += 60_000.0
    received = np.rint(sent + latency).astype(np.int64)
    order = np.argsort(received, kind="stable")
    return list(zip(watch_ms[order].tolist(), received[order].tolist(), strict=True))


def feed(model: ClockModel, obs: list[tuple[int, int]]) -> int:
    """Observe everything; return the newest watch time."""
    for w, g in obs:
        model.observe(w, g)
    return max(w for w, _ in obs)


def error_ms(model: ClockModel, watch: SyntheticWatch, watch_ms: int) -> float:
    return model.to_gateway_ms(watch_ms) - watch.gateway_at(watch_ms)


@pytest.mark.parametrize("offset_ms", [-5000.0, 5000.0])
@pytest.mark.parametrize("drift_ppm", [-100.0, 100.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_hour_of_observations_maps_within_tolerance(
    offset_ms: float, drift_ppm: float, seed: int
) -> None:
    watch = SyntheticWatch(offset_ms, drift_ppm)
    model = ClockModel()
    now = feed(model, observations(watch, G0, 3600, seed))
    assert model.ready and model.drift_estimated
    assert abs(error_ms(model, watch, now)) < 20.0
    assert abs(error_ms(model, watch, now + HOUR_MS)) < 50.0
    assert model.drift_ppm == pytest.approx(drift_ppm, abs=5.0)
    assert model.offset_ms == pytest.approx(watch.gateway_at(now) - now, abs=20.0)
    assert model.steps_detected == 0


def test_no_observations_is_the_identity() -> None:
    model = ClockModel()
    assert model.to_gateway_ms(G0) == G0
    assert model.to_gateway_ms(0) == 0
    assert (model.offset_ms, model.drift_ppm, model.observations) == (0.0, 0.0, 0)
    assert not model.ready and not model.drift_estimated


@pytest.mark.parametrize("seed", range(10))
def test_drift_held_at_zero_until_the_span_is_long_enough(seed: int) -> None:
    watch = SyntheticWatch(1500.0, 100.0)
    model = ClockModel(min_span_s=600.0)
    # Sorted by arrival, the feed ends with the delayed observations that arrive after the
    # last live one: the newest bins may hold nothing else, and must not set the offset.
    now = feed(model, observations(watch, G0, 300, seed=seed))
    assert model.ready and not model.drift_estimated
    assert model.drift_ppm == 0.0
    # The offset follows the newest bins, so an unfitted 100 ppm costs only a few ms now.
    assert abs(error_ms(model, watch, now)) < 20.0


def test_reset_after_setting_the_watch_clock_keeps_the_drift() -> None:
    watch = SyntheticWatch(4000.0, 80.0)
    model = ClockModel()
    feed(model, observations(watch, G0, 3600, seed=4))
    set_at = G0 + HOUR_MS + 500
    watch.set_to(set_at, set_at)  # a Current Time write: the watch now reads gateway time
    model.reset(set_at, set_at)
    assert model.observations == 0 and not model.ready
    assert model.drift_ppm == pytest.approx(80.0, abs=5.0)
    # Before any new observation the reset anchor and the kept drift already map well...
    for ahead_ms in (0, 600_000):
        assert abs(error_ms(model, watch, set_at + ahead_ms)) < 10.0
    # ...and new observations take over.
    now = feed(model, observations(watch, set_at + 1000, 300, seed=5))
    assert model.ready
    assert abs(error_ms(model, watch, now)) < 20.0
    assert model.steps_detected == 0


def test_after_clock_set_leaves_the_old_epoch_mapping_alone() -> None:
    watch = SyntheticWatch(4000.0, -70.0)
    old = ClockModel()
    feed(old, observations(watch, G0, 3600, seed=12))
    before_set = G0 + 1800 * 1000 - 4000  # a watch timestamp from before the write
    mapped_before = old.to_gateway_ms(before_set)
    set_at = G0 + HOUR_MS + 500
    watch.set_to(set_at, set_at)
    new = old.after_clock_set(set_at, set_at)
    assert new is not old and new.observations == 0
    assert old.to_gateway_ms(before_set) == mapped_before
    assert new.drift_ppm == pytest.approx(old.drift_ppm) == pytest.approx(-70.0, abs=5.0)
    assert abs(error_ms(new, watch, set_at + 600_000)) < 10.0
    assert (new.bin_s, new.window_s) == (old.bin_s, old.window_s)


@pytest.mark.parametrize("jump_ms", [10_000.0, -10_000.0])
def test_a_clock_step_without_reset_is_detected(jump_ms: float) -> None:
    watch = SyntheticWatch(-2000.0, -60.0)
    model = ClockModel()
    feed(model, observations(watch, G0, 1800, seed=6))
    step_at = G0 + 1800 * 1000
    watch.set_to(step_at, watch.watch_at(step_at) + jump_ms)
    now = feed(model, observations(watch, step_at, 300, seed=7))
    assert model.steps_detected == 1
    assert abs(error_ms(model, watch, now)) < 20.0
    # The drift learnt before the step survives it.
    assert model.drift_ppm == pytest.approx(-60.0, abs=5.0)


def test_mistakenly_observed_backfill_burst_does_not_move_the_fit() -> None:
    watch = SyntheticWatch(2500.0, 40.0)
    model = ClockModel()
    live = observations(watch, G0, 3600, seed=8, outliers=0.0)
    # Ten minutes of stored records, stamped 1-2 h ago, replayed at 50/s while live
    # records keep arriving: all observed by mistake.
    backfill_g = G0 + 3000 * 1000 + np.arange(600 * 50) * 20
    old_w = np.rint(watch.watch_at(backfill_g - HOUR_MS)).astype(np.int64)
    burst = list(zip(old_w.tolist(), backfill_g.tolist(), strict=True))
    merged = sorted(live + burst, key=lambda wg: wg[1])
    now = feed(model, merged)
    assert model.steps_detected == 0
    assert abs(error_ms(model, watch, now)) < 20.0
    assert abs(error_ms(model, watch, now + HOUR_MS)) < 50.0


def test_an_isolated_impossible_low_point_does_not_tilt_the_fit() -> None:
    watch = SyntheticWatch(-3000.0, 90.0)
    model = ClockModel()
    obs = observations(watch, G0, 3600, seed=13)
    # One observation half a second "early" (a negative latency: a glitch, not a step).
    w, g = obs[1800]
    obs[1800] = (w, g - 500)
    now = feed(model, obs)
    assert model.steps_detected == 0
    assert abs(error_ms(model, watch, now)) < 20.0
    assert abs(error_ms(model, watch, now + HOUR_MS)) < 50.0


def test_weeks_of_uptime_use_bounded_memory_and_follow_wandering_drift() -> None:
    watch = SyntheticWatch(3000.0, 20.0)
    model = ClockModel()
    capacity = model._bin_y.nbytes
    rng_seed = 9
    day_ms = 24 * HOUR_MS
    start = float(G0)
    # Three days, one observation every 10 s, the crystal's drift wandering ±5 ppm daily
    # (temperature): simulate in one-hour pieces with the drift of that hour.
    for hour in range(72):
        phase = 2 * np.pi * (hour * HOUR_MS) / day_ms
        now_g = start + hour * HOUR_MS
        reading = watch.watch_at(now_g)
        watch.drift_ppm = 20.0 + 5.0 * float(np.sin(phase))
        watch.set_to(now_g, reading)  # continuous clock, new rate
        now = feed(model, observations(watch, now_g, 3600, rng_seed + hour, rate_hz=0.1))
    assert model._bin_y.nbytes == capacity
    assert model.steps_detected == 0
    assert abs(error_ms(model, watch, now)) < 20.0


def test_same_observations_give_the_same_model() -> None:
    watch = SyntheticWatch(-4500.0, 75.0)
    obs = observations(watch, G0, 1200, seed=10)
    a, b = ClockModel(), ClockModel()
    feed(a, obs)
    feed(b, obs)
    grid = [G0 + k * 60_000 for k in range(-10, 90)]
    assert [a.to_gateway_ms(w) for w in grid] == [b.to_gateway_ms(w) for w in grid]
    assert (a.offset_ms, a.drift_ppm, a.observations) == (b.offset_ms, b.drift_ppm, b.observations)


def test_batch_fit_agrees_with_the_streaming_model() -> None:
    watch = SyntheticWatch(1234.0, -45.0)
    obs = observations(watch, G0, 3600, seed=11)
    model = ClockModel()
    feed(model, obs)
    w = np.array([o[0] for o in obs])
    g = np.array([o[1] for o in obs])
    offset, drift = clock_fit(w, g)
    assert drift == pytest.approx(model.drift_ppm, abs=1.0)
    assert drift == pytest.approx(-45.0, abs=3.0)
    first = int(w[0])
    assert first + offset == pytest.approx(watch.gateway_at(first), abs=10.0)


def test_batch_fit_edge_cases() -> None:
    assert clock_fit([], []) == (0.0, 0.0)
    offset, drift = clock_fit([G0, G0 + 1000], [G0 + 50, G0 + 1040], drift_prior_ppm=3.0)
    assert drift == 3.0  # too short a span: the prior stands
    assert offset == pytest.approx(40.0, abs=0.01)  # the lower of the two deltas
    with pytest.raises(ValueError, match="one length"):
        clock_fit([1, 2], [1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bin_s": 0.0},
        {"window_s": 10.0},
        {"min_span_s": -1.0},
        {"min_span_s": 1e9},
        {"ready_observations": 0},
        {"step_confirm": 0},
        {"step_ms": 0.0},
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ClockModel(**kwargs)  # type: ignore[arg-type]
