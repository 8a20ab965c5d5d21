"""Scenario plans: determinism, sampled counts, no overlaps, and the shipped examples."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from firmware_sim import scenario_sampling as sampling
from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.physiology.profile import PersonProfile
from firmware_sim.scenario import (
    KINDS,
    Scenario,
    WatchPlan,
    scenario_load,
    scenario_parse,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RANDOM = """
[scenario]
name = "random"
seed = 11
watches = 6
duration = "1d"

[watch]
clock_drift_ppm = [-40.0, 40.0]
clock_offset_s = 2.5
passkey = true

[rates]
tachycardia = 1
bradycardia = 1
af = 1
desaturation = 2
fever = 0.5
fall = 1
off_wrist = 2
flat_line = 1
motion_artifact = 2
data_gap = 1

[link]
drops_per_hour = 1
out_of_range_per_day = 4

[[episode]]
watch = 1
kind = "fall"
at = "1h"
duration = "10min"
severity = 0.9

[[episode]]
watch = "all"
kind = "off_wrist"
at = "1h5min"
duration = "20min"

[[link.event]]
watch = "all"
kind = "out_of_range"
at = "3h"
duration = "30min"

[[person]]
watch = 2
age_years = 80
sex = "female"
"""


@cache
def random_scenario() -> Scenario:
    return scenario_parse(RANDOM)


@cache
def example(name: str) -> Scenario:
    return scenario_load(EXAMPLES / f"{name}.toml")


@cache
def example_plans(name: str) -> tuple[WatchPlan, ...]:
    return example(name).plan()


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def pairs(episodes: Iterable[Episode]) -> Iterable[tuple[Episode, Episode]]:
    return itertools.combinations(episodes, 2)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_plans() -> None:
    s = random_scenario()
    assert s.plan() == s.plan()
    assert s.plan(seed=5) == scenario_parse(RANDOM).plan(seed=5)
    assert s.plan(seed=s.seed) == s.plan()


def test_different_seed_differs_everywhere() -> None:
    a, b = random_scenario().plan(), random_scenario().plan(seed=12)
    for pa, pb in zip(a, b, strict=True):
        assert pa.serial != pb.serial
        assert pa.seed != pb.seed
        assert pa.episodes != pb.episodes
        assert pa.link_events != pb.link_events
        assert pa.clock_drift_ppm != pb.clock_drift_ppm


def test_a_watch_plan_does_not_depend_on_cohort_size() -> None:
    bigger = scenario_parse(RANDOM.replace("watches = 6", "watches = 9"))
    assert bigger.plan()[:6] == random_scenario().plan()
    assert random_scenario().plan_watch(4) == random_scenario().plan()[4]


def test_plan_rejects_bad_seed_and_index() -> None:
    with pytest.raises(ValueError, match="seed"):
        random_scenario().plan(seed=-1)
    with pytest.raises(IndexError):
        random_scenario().plan_watch(6)


# --------------------------------------------------------------------------- watch fields


def test_watch_identity_and_firmware_fields() -> None:
    s = random_scenario()
    plans = s.plan()
    assert [p.index for p in plans] == list(range(6))
    assert plans[3].device_name == "WearSim-0003"
    assert all(len(p.serial) == 12 and int(p.serial, 16) >= 0 for p in plans)
    assert len({p.serial for p in plans}) == len({p.seed for p in plans}) == 6
    for p in plans:
        assert p.passkey is not None and 0 <= p.passkey <= 999_999
        assert -40.0 <= p.clock_drift_ppm <= 40.0
        assert p.clock_offset_s == 2.5
        assert p.flash_bytes == s.watch.flash_bytes
        assert p.battery_mah == s.watch.battery_mah
        assert isinstance(p.profile, PersonProfile)
        assert isinstance(p.seed, int) and 0 <= p.seed < 2**63
    no_passkey = scenario_parse(RANDOM.replace("passkey = true", "passkey = false")).plan()
    assert all(p.passkey is None for p in no_passkey)


def test_person_override_replaces_only_the_given_fields() -> None:
    plans = random_scenario().plan()
    assert plans[2].profile.age_years == 80
    assert plans[2].profile.sex == "female"
    without = scenario_parse(RANDOM.split("[[person]]")[0]).plan()
    sampled = without[2].profile
    assert plans[2].profile.resting_hr_bpm == sampled.resting_hr_bpm
    assert plans[1].profile == without[1].profile


# --------------------------------------------------------------------------- episodes


def check_episodes(plan: WatchPlan, duration_s: int) -> None:
    assert list(plan.episodes) == sorted(plan.episodes)
    for e in plan.episodes:
        assert 0 <= e.onset_s < e.end_s <= duration_s
        if e.kind is AnomalyKind.FALL:
            assert e.duration_s >= 60
    for a, b in pairs(plan.episodes):
        if a.kind == b.kind:
            assert not overlaps((a.onset_s, a.end_s), (b.onset_s, b.end_s)), (a, b)


def check_link(plan: WatchPlan, duration_s: int) -> None:
    assert list(plan.link_events) == sorted(plan.link_events)
    oor = [(e.onset_s, e.end_s) for e in plan.link_events if e.kind == "out_of_range"]
    for e in plan.link_events:
        assert 0 <= e.onset_s <= e.end_s <= duration_s and e.onset_s < duration_s
    for a, b in itertools.combinations(oor, 2):
        assert not overlaps(a, b)
    for e in plan.link_events:
        if e.kind == "drop":
            assert e.end_s == e.onset_s
            assert not any(a <= e.onset_s < b for a, b in oor)


def test_random_plans_are_well_formed() -> None:
    s = random_scenario()
    for plan in s.plan():
        check_episodes(plan, s.duration_s)
        check_link(plan, s.duration_s)
        exact = [e for e in plan.episodes if (e.onset_s, e.kind) == (3900.0, FaultKind.OFF_WRIST)]
        assert exact == [Episode(3900.0, 5100.0, FaultKind.OFF_WRIST, 0.5)]
        assert any(e.onset_s == 10_800 and e.end_s == 12_600 for e in plan.link_events)
    fall = Episode(3600.0, 4200.0, AnomalyKind.FALL, 0.9)
    assert fall in s.plan()[1].episodes  # exact episodes are kept as given, overlap or not


def test_sampled_anomalies_avoid_faults() -> None:
    s = random_scenario()
    for plan in s.plan():
        anomalies = [e for e in plan.episodes if not e.is_fault]
        faults = [e for e in plan.episodes if e.is_fault]
        for a, f in itertools.product(anomalies, faults):
            exact = {a.onset_s, f.onset_s} & {3600.0, 3900.0}
            if not exact:
                assert not overlaps((a.onset_s, a.end_s), (f.onset_s, f.end_s)), (a, f)


def test_rates_give_the_expected_counts() -> None:
    # 300 user-days; the tolerance is 5 standard deviations of a Poisson count
    text = RANDOM.replace("watches = 6", "watches = 10").replace('duration = "1d"', "days = 30")
    text = text.split("[[episode]]")[0]
    s = scenario_parse(text)
    plans = s.plan()
    user_days = s.watches * s.duration_s / 86_400
    counts = Counter(e.kind for p in plans for e in p.episodes)
    for kind in KINDS:
        expected = s.rates[kind] * user_days
        assert abs(counts[kind] - expected) < 5 * math.sqrt(expected), (kind, counts[kind])
    for plan in plans:
        check_episodes(plan, s.duration_s)
        for e in plan.episodes:
            lo, hi = s.durations[e.kind]
            assert lo <= e.duration_s <= hi or e.end_s == s.duration_s
    link = Counter(e.kind for p in plans for e in p.link_events)
    expected_drops = s.link.drops_per_hour * user_days * 24
    assert abs(link["drop"] - expected_drops) < 5 * math.sqrt(expected_drops)
    expected_oor = s.link.out_of_range_per_day * user_days
    assert abs(link["out_of_range"] - expected_oor) < 5 * math.sqrt(expected_oor)


def test_dense_rates_still_keep_one_kind_apart() -> None:
    text = """
[scenario]
watches = 3
duration = "1d"
[rates]
off_wrist = 13
flat_line = 40
motion_artifact = 80
data_gap = 80
tachycardia = 20
af = 20
"""
    s = scenario_parse(text)
    for plan in s.plan():
        check_episodes(plan, s.duration_s)
    assert any(
        overlaps((a.onset_s, a.end_s), (b.onset_s, b.end_s))
        for plan in s.plan()
        for a, b in pairs(plan.episodes)
    ), "this density should force some cross-kind overlaps"


def test_an_episode_that_cannot_fit_its_kind_is_dropped() -> None:
    rng = np.random.default_rng(0)
    fixed = [Episode(0.0, 600.0, FaultKind.DATA_GAP)]
    requests = [
        sampling.Request(FaultKind.DATA_GAP, 60, 60, 0.5),
        sampling.Request(FaultKind.FLAT_LINE, 60, 60, 0.5),
    ]
    placed, dropped = sampling.place_episodes(rng, 600, requests, fixed)
    assert dropped == 1
    assert [e.kind for e in placed] == [FaultKind.FLAT_LINE]


def test_feasible_onsets_allow_clipping_at_the_end_only() -> None:
    ranges = sampling.feasible_onsets(100, 30, 10, [(40.0, 50.5)])
    assert ranges == [(0, 10), (51, 90)]
    assert sampling.feasible_onsets(100, 30, 10, [(0.0, 95.0)]) == []


def test_sampled_episodes_are_clipped_but_keep_their_minimum() -> None:
    text = "[scenario]\nwatches = 50\nduration = '1h'\n[rates]\nfever = 2\ntachycardia = 20\n"
    s = scenario_parse(text)
    episodes = [e for p in s.plan() for e in p.episodes]
    # a fever lasts at least 2 h by default: it cannot show in a one-hour scenario
    assert {e.kind for e in episodes} == {AnomalyKind.TACHYCARDIA}
    assert all(e.duration_s >= 600 for e in episodes)
    assert any(e.end_s == 3600 for e in episodes)


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", ["quick", "ward", "eval", "week", "train", "demo", "ectopy"])
def test_examples_load_and_plan(name: str) -> None:
    s = example(name)
    assert s.name == name
    plans = example_plans(name)
    assert len(plans) == s.watches
    for plan in plans:
        check_episodes(plan, s.duration_s)
        check_link(plan, s.duration_s)


def test_all_example_files_are_tested() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.toml")}
    assert names == {"quick", "ward", "eval", "week", "train", "demo", "ectopy"}


def test_demo_example_has_every_kind_in_each_half() -> None:
    s, plans = example("demo"), example_plans("demo")
    assert (s.watches, s.duration_s) == (6, 3 * 3600)
    episodes = [e for p in plans for e in p.episodes]
    assert {e.kind for e in episodes} >= set(AnomalyKind)
    faults = {e.kind.value for e in episodes if e.is_fault}
    assert faults == {"off_wrist", "flat_line", "motion_artifact", "data_gap"}
    # Every acute type also starts in the second half, under the delivered model.
    late = {e.kind.value for e in episodes if e.onset_s >= s.duration_s / 2 and not e.is_fault}
    assert late == {"tachycardia", "bradycardia", "af", "desaturation", "fall"}
    assert sorted(e.kind for p in plans for e in p.link_events) == ["drop", "out_of_range"]


def test_quick_example() -> None:
    s, plans = example("quick"), example_plans("quick")
    assert (s.watches, s.duration_s) == (3, 600)
    assert sum(len(p.episodes) for p in plans) >= 2
    assert [e.kind for p in plans for e in p.link_events] == ["drop"]


def test_ward_example() -> None:
    s, plans = example("ward"), example_plans("ward")
    assert (s.watches, s.duration_s) == (10, 1800)
    events = [e for p in plans for e in p.link_events]
    assert sum(e.kind == "drop" for e in events) >= 20
    assert any(e.kind == "out_of_range" and e.duration_s > 60 for e in events)
    assert {e.kind for p in plans for e in p.episodes} >= set(AnomalyKind)


def test_eval_example_has_every_kind_several_times() -> None:
    s, plans = example("eval"), example_plans("eval")
    assert (s.watches, s.duration_s) == (12, 2 * 86_400)
    counts = Counter(e.kind for p in plans for e in p.episodes)
    assert all(counts[kind] >= 3 for kind in KINDS), counts


def test_week_example() -> None:
    s = example("week")
    assert (s.watches, s.duration_s) == (5, 7 * 86_400)
    assert all(p.passkey is not None for p in example_plans("week"))
