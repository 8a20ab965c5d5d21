"""Premature beats (PVCs, PACs, bigeminy/trigeminy runs) and the wrist sensor's timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest
import scipy.ndimage

from firmware_sim.physiology import PersonProfile, generator
from firmware_sim.physiology.cardiac import (
    BEAT_PAC,
    BEAT_PVC,
    BEAT_SINUS,
    ectopy_increments,
)
from firmware_sim.physiology.generator import SignalChunk, SignalGenerator, simulate
from firmware_sim.scenario import scenario_parse
from wearable_core.features.irregularity import (
    irregularity_ectopic_fraction,
    irregularity_nn_nrmssd,
    irregularity_nrmssd,
)

from ._support import DAY0, HOUR, office_worker


def increments(
    pvc: float, pac: float, seed: int = 0, n: int = 50_000
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
    return ectopy_increments(np.random.default_rng(seed), n, pvc, pac, 0.65, 0.7, 0.1)


def test_pvc_short_coupling_and_full_compensatory_pause() -> None:
    inc, lab = increments(0.03, 0.0)
    k = np.flatnonzero(lab == BEAT_PVC)
    assert k.size > 500 and not np.any(lab == BEAT_PAC)
    assert np.all((inc[k] >= 0.55) & (inc[k] <= 0.75))  # 60-80 % of the sinus cycle
    np.testing.assert_allclose(inc[k] + inc[k + 1], 2.0)  # the pair spans two cycles
    assert np.all(lab[k + 1] == BEAT_SINUS)


def test_pac_resets_the_sinus_node_non_compensatory() -> None:
    inc, lab = increments(0.0, 0.03)
    k = np.flatnonzero(lab == BEAT_PAC)
    assert k.size > 500 and not np.any(lab == BEAT_PVC)
    pair = inc[k] + inc[k + 1]
    assert np.all((pair > 1.5) & (pair < 2.0))  # less than two cycles
    # Every other beat is a plain sinus cycle: the rhythm restarts from the PAC.
    other = np.ones(inc.size, bool)
    other[k] = other[k + 1] = False
    assert np.all(inc[other] == 1.0)


def test_burden_runs_and_no_adjacent_ectopy() -> None:
    for target in (0.001, 0.01, 0.05):
        _, lab = increments(target, 0.0, seed=1, n=200_000)
        assert np.mean(lab != BEAT_SINUS) == pytest.approx(target, rel=0.25)
    _, lab = increments(0.15, 0.05, seed=2)
    ect = np.flatnonzero(lab != BEAT_SINUS)
    assert np.all(np.diff(ect) >= 2)
    # Frequent ectopy comes in bigeminy (every 2nd beat) and trigeminy runs.
    gaps = np.diff(ect)
    runs2 = np.convolve(gaps == 2, np.ones(4), "valid") == 4
    runs3 = np.convolve(gaps == 3, np.ones(4), "valid") == 4
    assert runs2.any() and runs3.any()


def test_increments_are_deterministic() -> None:
    a, la = increments(0.02, 0.02, seed=5)
    b, lb = increments(0.02, 0.02, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, increments(0.02, 0.02, seed=6)[0])


def test_sampled_burdens_are_mostly_low_with_a_frequent_minority() -> None:
    rng = np.random.default_rng(0)
    burdens = np.array(
        [[p.pvc_burden, p.pac_burden] for p in (PersonProfile.sample(rng) for _ in range(2000))]
    )
    total = burdens.sum(axis=1)
    assert np.median(total) < 0.005
    assert 0.05 <= np.mean(total > 0.01) <= 0.3
    assert 0.002 <= np.mean(total > 0.1) <= 0.05
    assert burdens.max() <= 0.25


def test_ectopy_profile_field_is_a_scenario_knob() -> None:
    text = """
[scenario]
name = "ectopy"
seed = 3
watches = 2
duration = "1h"

[[person]]
watch = 1
pvc_burden = 0.12
"""
    plan = scenario_parse(text).plan()
    assert plan[1].profile.pvc_burden == 0.12
    assert plan[1].episodes == ()  # ectopy is not an episode: never labelled AF
    with pytest.raises(ValueError, match="pvc_burden"):
        dataclasses.replace(office_worker(), pvc_burden=0.5)


@pytest.fixture(scope="module")
def pvc_run() -> tuple[PersonProfile, SignalChunk]:
    profile = dataclasses.replace(office_worker(), pvc_burden=0.08)
    return profile, simulate(profile, [], 4242, DAY0 + 10 * HOUR, 3600)


def test_simulated_pvcs_are_short_long_pairs_the_filter_removes(
    pvc_run: tuple[PersonProfile, SignalChunk],
) -> None:
    _, c = pvc_run
    rr = c.rr_ms[np.isfinite(c.rr_ms)]
    med = scipy.ndimage.median_filter(rr, 9, mode="nearest")  # the local sinus cycle
    short = np.flatnonzero(rr[:-1] < 0.8 * med[:-1])
    assert short.size > 100
    # Most premature intervals are followed by the compensatory pause (~2 cycles).
    pair = (rr[short] + rr[short + 1]) / med[short]
    assert np.mean(np.abs(pair - 2.0) < 0.25) > 0.8
    # Per minute: raw RR irregularity looks like AF, the NN intervals do not.
    minutes = np.floor(c.beat_times_s[np.isfinite(c.rr_ms)] / 60).astype(int)
    raw, nn, frac = [], [], []
    for m in np.unique(minutes):
        x = rr[minutes == m]
        raw.append(irregularity_nrmssd(x))
        nn.append(irregularity_nn_nrmssd(x))
        frac.append(irregularity_ectopic_fraction(x))
    assert np.nanmedian(raw) > 0.1
    assert np.nanquantile(nn, 0.95) < 0.09
    assert 0.05 < np.median(frac) < 0.4


def test_same_seed_same_beats_with_ectopy(pvc_run: tuple[PersonProfile, SignalChunk]) -> None:
    profile, c = pvc_run
    again = simulate(profile, [], 4242, DAY0 + 10 * HOUR, 3600)
    np.testing.assert_array_equal(c.beat_times_s, again.beat_times_s)
    np.testing.assert_array_equal(c.rr_ms, again.rr_ms)
    no_ectopy = simulate(office_worker(), [], 4242, DAY0 + 10 * HOUR, 3600)
    # Ectopy draws from its own stream: everything else about the person is unchanged.
    np.testing.assert_array_equal(c.skin_temp_c, no_ectopy.skin_temp_c)
    np.testing.assert_array_equal(c.accel_g, no_ectopy.accel_g)


def test_chunk_boundaries_keep_the_rhythm_with_sinus_resets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PACs move every later beat earlier; the phase carried across chunks keeps it."""
    # The heart alone: no PPG timing noise, missed or extra beats.
    for name in ("PPG_JITTER_S", "PPG_MISS_P", "PPG_EXTRA_P"):
        monkeypatch.setattr(generator, name, np.zeros(4))
    profile = dataclasses.replace(office_worker(), pvc_burden=0.05, pac_burden=0.1)
    whole = simulate(profile, [], 77, DAY0 + 10 * HOUR, 2 * HOUR)
    chunks = list(SignalGenerator(profile, [], 77, DAY0 + 10 * HOUR, 2 * HOUR, 300).iter_chunks())
    beats = np.concatenate([c.beat_times_s for c in chunks])
    rr = np.concatenate([c.rr_ms for c in chunks])
    np.testing.assert_allclose(rr[1:], np.diff(beats) * 1000.0, rtol=1e-9)
    # No beat doubled or dropped at a boundary: the interval across each one is an
    # ordinary interval of this rhythm (premature ones are >= 45 % of the cycle).
    first = np.searchsorted(beats, [c.start_s for c in chunks[1:]])
    med = np.median(rr)
    assert np.all((rr[first] > 0.4 * med) & (rr[first] < 2.05 * med))
    # The same rhythm whatever the chunking: beat counts agree closely.
    assert beats.size == pytest.approx(whole.beat_times_s.size, rel=0.02)
