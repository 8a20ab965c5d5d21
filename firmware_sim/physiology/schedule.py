"""A person's daily routine: what they are doing each second of the scenario."""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.physiology.profile import PersonProfile

DAY_S = 86_400
_H = 3600.0
_MIN = 60.0


class Activity(enum.IntEnum):
    """What the wearer is doing; drives heart rate, breathing, SpO2, skin temperature, motion."""

    SLEEP = 0
    SEDENTARY = 1
    WALKING = 2
    EXERCISE = 3


@dataclass(frozen=True)
class _DayPlan:
    """Absolute epoch-second bounds of one calendar (UTC) day's routine."""

    wake_s: float
    bed_s: float
    walks: tuple[tuple[float, float], ...]
    exercise: tuple[float, float] | None
    # Awakenings in the night that starts at ``bed_s``: (fraction of the night, duration s).
    awakenings: tuple[tuple[float, float], ...]


def _day_rng(base_entropy: int, day: int) -> np.random.Generator:
    # Keyed by the absolute day so that any window of the same schedule sees the same days.
    key = day % (1 << 64)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(base_entropy, spawn_key=(key,)))
    )


def _plan_day(profile: PersonProfile, base_entropy: int, day: int) -> _DayPlan:
    rng = _day_rng(base_entropy, day)
    midnight = day * float(DAY_S)
    # Older adults wake a little earlier (advanced sleep phase with age).
    wake_h = float(np.clip(rng.normal(6.75 - 0.01 * (profile.age_years - 40), 0.4), 5.5, 8.5))
    bed_h = float(np.clip(rng.normal(22.9, 0.5), 21.5, 24.75))
    wake = midnight + wake_h * _H
    bed = midnight + bed_h * _H

    n_walks = 3 + int(rng.poisson(3.0 + 2.0 * profile.fitness))
    walk_durs = np.clip(rng.lognormal(math.log(9 * _MIN), 0.6, n_walks), 3 * _MIN, 40 * _MIN)
    lo = wake + 15 * _MIN
    walk_starts = lo + rng.random(n_walks) * np.maximum(bed - 15 * _MIN - walk_durs - lo, 0.0)
    walks = tuple((float(s), float(s + d)) for s, d in zip(walk_starts, walk_durs, strict=True))

    exercise: tuple[float, float] | None = None
    does_exercise = rng.random() < 0.2 + 0.5 * profile.fitness
    ex_dur = rng.uniform(20 * _MIN, (35 + 35 * profile.fitness) * _MIN)
    morning = rng.random() < 0.5
    if morning:
        ex_start = wake + rng.uniform(30 * _MIN, 2 * _H)
    else:
        ex_start = midnight + rng.uniform(17 * _H, 19.5 * _H)
    if does_exercise:
        exercise = (float(ex_start), float(ex_start + ex_dur))

    n_awake = int(rng.poisson(1.0))
    fracs = rng.uniform(0.15, 0.85, n_awake)
    aw_durs = rng.uniform(1 * _MIN, 6 * _MIN, n_awake)
    awakenings = tuple((float(f), float(d)) for f, d in zip(fracs, aw_durs, strict=True))
    return _DayPlan(wake, bed, walks, exercise, awakenings)


def schedule_activity(
    profile: PersonProfile,
    start_epoch_s: float,
    duration_s: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.int8]:
    """Simulate a daily routine, one :class:`Activity` code per second.

    Each UTC calendar day gets its own randomised plan: night sleep (bed ~22:54 ± 30 min,
    wake ~06:45 ± 25 min, earlier with age) with a few brief awakenings, a sedentary day
    with 3 or more walks of 3-40 min (median 9 min; more with fitness), and on some
    days (probability 0.2 + 0.5 x fitness) one exercise bout of 20-70 min in the morning
    or early evening, framed by a 5 min walking warm-up and cool-down.

    Parameters
    ----------
    profile : PersonProfile
        The wearer; age shifts the wake time, fitness the amount of activity.
    start_epoch_s : float
        Unix time of the first second; the time of day is taken in UTC.
    duration_s : int
        Number of seconds to schedule (>= 0).
    rng : numpy.random.Generator
        One integer is drawn from it; each day's plan is then seeded from that integer
        and the absolute day number, so any window of the same schedule agrees with the
        whole.

    Returns
    -------
    numpy.ndarray
        ``int8`` array of length ``duration_s``; element ``i`` is the activity during
        the second starting at ``start_epoch_s + i``.
    """
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    if not math.isfinite(start_epoch_s):
        raise ValueError(f"start_epoch_s must be finite, got {start_epoch_s}")
    base_entropy = int(rng.integers(0, 1 << 63))
    out = np.full(duration_s, Activity.SEDENTARY, dtype=np.int8)
    if duration_s == 0:
        return out

    def fill(a: float, b: float, act: Activity) -> None:
        # Second i covers epoch start+i; it belongs to [a, b) if a <= start+i < b.
        i0 = max(math.ceil(a - start_epoch_s), 0)
        i1 = min(math.ceil(b - start_epoch_s), duration_s)
        if i1 > i0:
            out[i0:i1] = act

    first_day = math.floor(start_epoch_s / DAY_S) - 1
    last_day = math.floor((start_epoch_s + duration_s) / DAY_S) + 1
    plans = [_plan_day(profile, base_entropy, d) for d in range(first_day, last_day + 1)]
    for plan in plans:
        for a, b in plan.walks:
            fill(a, b, Activity.WALKING)
        if plan.exercise is not None:
            a, b = plan.exercise
            fill(a - 5 * _MIN, a, Activity.WALKING)
            fill(a, b, Activity.EXERCISE)
            fill(b, b + 5 * _MIN, Activity.WALKING)
    for plan, nxt in itertools.pairwise(plans):
        fill(plan.bed_s, nxt.wake_s, Activity.SLEEP)
        night = nxt.wake_s - plan.bed_s
        for frac, dur in plan.awakenings:
            a = plan.bed_s + frac * night
            fill(a, a + dur, Activity.SEDENTARY)
    return out
