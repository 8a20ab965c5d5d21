"""Overlapping windows (a shorter assessment hop) against the plain window cut."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wearable_core.features import windows_from_records
from wearable_core.features.window import WindowData, windows_overlapping

from ._support import Simulated

WINDOW_MS = 60_000


def _span(sim: Simulated, first_minute: int, minutes: int) -> tuple[int, int]:
    start = int(sim.scenario.start_epoch_s * 1000) + first_minute * WINDOW_MS
    return start, start + minutes * WINDOW_MS


def _same(a: WindowData, b: WindowData) -> bool:
    return all(
        np.array_equal(x, y, equal_nan=True) if isinstance(x, np.ndarray) else x == y
        for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True)
    )


def test_windows_on_the_grid_are_the_plain_cut(simulated: Simulated) -> None:
    start, end = _span(simulated, 5, 20)
    overlapping = windows_overlapping(simulated.records, start, end, 15, simulated.device)
    plain = list(windows_from_records(simulated.records, start_ms=start, end_ms=end))
    on_grid = [w for w in overlapping if w.start_ms % WINDOW_MS == 0]
    assert len(on_grid) == len(plain) == 20
    assert all(_same(a, b) for a, b in zip(on_grid, plain, strict=True))
    # Every 15 s a window ends; none reaches past the end.
    starts = [w.start_ms for w in overlapping]
    assert starts == list(range(start, end - WINDOW_MS + 1, 15_000))


def test_a_window_between_the_grid_is_the_signal_seen_later(simulated: Simulated) -> None:
    # Shift every record 15 s earlier: the grid windows of the shifted records are the
    # windows 15 s past the grid of the originals (temperature context included).
    start, end = _span(simulated, 5, 20)
    shift = 15_000
    shifted = [
        dataclasses.replace(r, aligned_time_ms=r.aligned_time_ms - shift) for r in simulated.records
    ]
    overlapping = windows_overlapping(simulated.records, start, end, 15, simulated.device)
    later = {w.start_ms - shift: w for w in overlapping if w.start_ms % WINDOW_MS == shift}
    plain = windows_from_records(shifted, start_ms=start, end_ms=end - WINDOW_MS)
    compared = 0
    for window in plain:
        twin = later[window.start_ms]
        assert _same(dataclasses.replace(twin, start_ms=window.start_ms), window)
        compared += 1
    assert compared == 19


@pytest.mark.parametrize(
    ("hop_s", "start", "end"), [(7, 0, 120_000), (15, 5_000, 120_000), (0, 0, 60_000)]
)
def test_bad_hops_and_ends_are_refused(hop_s: int, start: int, end: int) -> None:
    with pytest.raises(ValueError):
        windows_overlapping([], start, end, hop_s, "d")


def test_a_span_shorter_than_a_window_has_none() -> None:
    assert windows_overlapping([], 0, 45_000, 15, "d") == []
