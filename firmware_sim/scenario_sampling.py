"""Random placement of episodes and link events on one watch's timeline.

Pure functions over seconds since the scenario start; :mod:`firmware_sim.scenario` turns
the parsed file into calls to these. Sampled times are whole seconds: the sensors tick
at 1 Hz, so sub-second onsets would only make the ground truth harder to read.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind

Kind = AnomalyKind | FaultKind

SECONDS_PER_DAY = 86_400.0


def poisson_count(rng: np.random.Generator, rate: float, periods: float) -> int:
    """Draw how many events a Poisson process with ``rate`` per period has in ``periods``."""
    if rate <= 0 or periods <= 0:
        return 0
    return int(rng.poisson(rate * periods))


def uniform_int(rng: np.random.Generator, low: float, high: float) -> int:
    """A whole number of seconds drawn uniformly from ``[low, high]`` (rounded bounds)."""
    lo = max(1, round(low))
    hi = max(lo, round(high))
    return int(rng.integers(lo, hi + 1))


@dataclass(frozen=True)
class Request:
    """An episode still to be placed: its kind, drawn length and severity."""

    kind: Kind
    length_s: int
    min_length_s: int  # the shortest the episode may become when clipped at the end
    severity: float


def _merged(intervals: Iterable[tuple[float, float]]) -> Iterator[tuple[float, float]]:
    """Merge intervals that arrive sorted by onset into disjoint ones."""
    cur: tuple[float, float] | None = None
    for a, b in intervals:
        if cur is None:
            cur = (a, b)
        elif a <= cur[1]:
            cur = (cur[0], max(cur[1], b))
        else:
            yield cur
            cur = (a, b)
    if cur is not None:
        yield cur


def feasible_onsets(
    duration_s: int,
    length_s: int,
    min_length_s: int,
    blocked: Iterable[tuple[float, float]],
) -> list[tuple[int, int]]:
    """Inclusive ranges of whole-second onsets where an episode fits.

    An onset ``s`` fits when ``[s, min(s + length_s, duration_s))`` misses every blocked
    half-open interval (given sorted by onset) and at least ``min_length_s`` seconds are
    left before the end. Episodes running past the end are allowed and later clipped:
    that is what a Poisson process of onsets looks like in a finite window.
    """
    ranges: list[tuple[int, int]] = []
    cursor = 0.0
    for a, b in _merged(blocked):
        lo, hi = math.ceil(cursor), math.floor(a) - length_s
        if hi >= lo:
            ranges.append((lo, hi))
        cursor = max(cursor, b)
    lo, hi = math.ceil(cursor), duration_s - min_length_s
    if hi >= lo:
        ranges.append((lo, hi))
    return ranges


def pick(rng: np.random.Generator, ranges: Sequence[tuple[int, int]]) -> int:
    """One whole number drawn uniformly from the union of inclusive ``ranges``."""
    total = sum(hi - lo + 1 for lo, hi in ranges)
    k = int(rng.integers(total))
    for lo, hi in ranges:
        if k <= hi - lo:
            return lo + k
        k -= hi - lo + 1
    raise AssertionError("unreachable: k < total")


class _Timeline:
    """Placed episodes indexed three ways, each list kept sorted by onset."""

    def __init__(self) -> None:
        self.all: list[tuple[float, float]] = []
        self.by_kind: dict[Kind, list[tuple[float, float]]] = {}
        self.by_class: dict[bool, list[tuple[float, float]]] = {False: [], True: []}

    def add(self, episode: Episode) -> None:
        span = (episode.onset_s, episode.end_s)
        bisect.insort(self.all, span)
        bisect.insort(self.by_kind.setdefault(episode.kind, []), span)
        bisect.insort(self.by_class[episode.is_fault], span)

    def levels(self, kind: Kind) -> Iterator[Iterable[tuple[float, float]]]:
        """What to avoid, from most to least strict; only the last level is a hard rule."""
        same = self.by_kind.get(kind, [])
        other_class = self.by_class[not isinstance(kind, FaultKind)]
        yield self.all  # ideal: every episode alone, so each alert has one explanation
        yield heapq.merge(same, other_class)  # anomalies never hide behind faults
        yield same  # the simulator cannot render two overlapping episodes of one kind


def place_episodes(
    rng: np.random.Generator,
    duration_s: int,
    requests: Sequence[Request],
    fixed: Sequence[Episode],
) -> tuple[list[Episode], int]:
    """Place sampled episodes around the ``fixed`` (exact) ones.

    Longest first, because they are the hardest to fit. Each request tries to avoid every
    other episode, then only episodes of the same kind and of the other class (anomaly
    versus fault), then only the same kind. A request that cannot avoid its own kind is
    dropped. Returns the placed episodes (clipped to ``duration_s``) and the number
    dropped.
    """
    timeline = _Timeline()
    for episode in fixed:
        timeline.add(episode)
    placed: list[Episode] = []
    dropped = 0
    order = sorted(range(len(requests)), key=lambda i: -requests[i].length_s)
    for i in order:
        req = requests[i]
        for blocked in timeline.levels(req.kind):
            ranges = feasible_onsets(duration_s, req.length_s, req.min_length_s, blocked)
            if ranges:
                onset = pick(rng, ranges)
                end = min(onset + req.length_s, duration_s)
                episode = Episode(float(onset), float(end), req.kind, req.severity)
                timeline.add(episode)
                placed.append(episode)
                break
        else:
            dropped += 1
    return placed, dropped


def place_periods(
    rng: np.random.Generator,
    duration_s: int,
    lengths: Sequence[int],
    min_length_s: int,
    fixed: Sequence[tuple[float, float]],
) -> list[tuple[float, float]]:
    """Place non-overlapping periods (e.g. out of range) of the given lengths."""
    taken = sorted(fixed)
    out: list[tuple[float, float]] = []
    for length in sorted(lengths, reverse=True):
        ranges = feasible_onsets(duration_s, length, min_length_s, taken)
        if not ranges:
            continue
        onset = pick(rng, ranges)
        span = (float(onset), float(min(onset + length, duration_s)))
        bisect.insort(taken, span)
        out.append(span)
    return out


def place_instants(
    rng: np.random.Generator,
    duration_s: int,
    count: int,
    avoid: Sequence[tuple[float, float]],
) -> list[float]:
    """``count`` instants uniform over ``(0, duration_s)`` outside the ``avoid`` periods.

    Rounded to milliseconds: drops are instantaneous, so whole seconds would make two
    drops on one watch collide for no reason.
    """
    gaps: list[tuple[float, float]] = []
    cursor = 0.0
    for a, b in _merged(sorted(avoid)):
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if duration_s > cursor:
        gaps.append((cursor, float(duration_s)))
    total = sum(b - a for a, b in gaps)
    if count <= 0 or total <= 0:
        return []
    starts = np.cumsum([0.0] + [b - a for a, b in gaps]).tolist()
    out: list[float] = []
    for u in sorted(rng.uniform(0.0, total, size=count).tolist()):
        j = bisect.bisect_right(starts, u) - 1
        t = round(gaps[j][0] + (u - starts[j]), 3)
        if 0.0 < t < duration_s:  # rounding can land on an edge; such a drop is skipped
            out.append(t)
    return out
