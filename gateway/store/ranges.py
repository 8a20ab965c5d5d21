"""Half-open integer ranges ``[start, end)`` of sequence numbers."""

from __future__ import annotations

from collections.abc import Iterable

Range = tuple[int, int]


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same sequence numbers."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(start: int, end: int, covered: Iterable[Range]) -> list[Range]:
    """The parts of ``[start, end)`` that no range of ``covered`` contains, in order."""
    out: list[Range] = []
    position = start
    for lo, hi in merge(covered):
        if hi <= position:
            continue
        if lo >= end:
            break
        if lo > position:
            out.append((position, lo))
        position = max(position, hi)
        if position >= end:
            break
    if position < end:
        out.append((position, end))
    return out


def size(ranges: Iterable[Range]) -> int:
    """How many sequence numbers the (possibly overlapping) ranges cover."""
    return sum(end - start for start, end in merge(ranges))


def runs(values: Iterable[int]) -> list[Range]:
    """Runs of consecutive integers, as ranges: ``{1, 2, 3, 7}`` -> ``[(1, 4), (7, 8)]``."""
    out: list[Range] = []
    for value in sorted(set(values)):
        if out and out[-1][1] == value:
            out[-1] = (out[-1][0], value + 1)
        else:
            out.append((value, value + 1))
    return out
