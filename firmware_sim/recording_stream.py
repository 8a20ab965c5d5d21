"""Recordings of any size, replayed an hour at a time in bounded memory.

:func:`~firmware_sim.recording.recording_load` holds every sample, and
:func:`~firmware_sim.recording.recording_to_chunk` every second of the whole recording
(25 accelerometer samples a second among them): a 200 MB RR file (4 months of beats)
needed over 20 GB. A :class:`StreamedRecording` instead

1. validates the files once, block by block (:func:`~firmware_sim.recording.blocks_read`),
   keeping only what the replay needs up front: each file's first and last time, the
   recording's start, the accelerometer's sample spacing;
2. computes the resting heart rate (the firmware's baseline, the 5th percentile of the
   per-second rate) in a second pass, from a histogram of the rounded rates;
3. yields one :class:`~firmware_sim.physiology.generator.SignalChunk` per hour
   (:meth:`StreamedRecording.chunks`), each from the samples around that hour, reading
   the files on as the hours advance.

Memory is a few blocks of rows and one hour of signals, whatever the file's size. The
records equal those of the whole-recording path (``tests/firmware_sim``): every
per-second value depends only on the samples near it, and the window keeps all of them
(the longest silence that matters is the skin temperature's 600 s).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware_sim.physiology.generator import HR_AVERAGE_BEATS, SignalChunk
from firmware_sim.recording import (
    TEMP_MAX_SILENCE_S,
    BeatState,
    FloatArray,
    Recording,
    RecordingError,
    StreamKind,
    blocks_read,
    describe_kind,
    recording_duration_s,
    window_chunk,
    window_heart,
)
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ

#: Seconds of signal per chunk: one hour (a whole number of minutes).
WINDOW_S = 3600
#: Samples kept on each side of a window: beyond the longest silence that changes a
#: value inside it (the skin temperature's), so every value sees its true neighbours.
MARGIN_S = TEMP_MAX_SILENCE_S + 1.0
#: Samples kept before the margin: the beats the heart-rate average spans, and one more.
KEEP_BEFORE = HR_AVERAGE_BEATS + 1

Blocks = Callable[[], Iterator[tuple[FloatArray, FloatArray]]]

_FIELDS = {
    StreamKind.RR: ("rr_time_s", "rr_ms"),
    StreamKind.HEART_RATE: ("hr_time_s", "hr_bpm"),
    StreamKind.SPO2: ("spo2_time_s", "spo2_pct"),
    StreamKind.TEMPERATURE: ("temp_time_s", "temp_c"),
    StreamKind.ACCEL: ("accel_time_s", "accel_g"),
}


class _Cursor:
    """The samples of one stream around the current window, read on as windows advance."""

    def __init__(self, blocks: Iterator[tuple[FloatArray, FloatArray]]) -> None:
        self._blocks = blocks
        self._done = False
        self._times: FloatArray = np.empty(0)
        self._values: FloatArray | None = None

    def around(self, lo: float, hi: float) -> tuple[FloatArray, FloatArray]:
        """Samples in ``[lo, hi]``, ``KEEP_BEFORE`` before it and one after.

        Windows must come in order: what lies before this one's samples is dropped.
        """
        times, values = [self._times], [] if self._values is None else [self._values]
        while not self._done and (times[-1].size == 0 or times[-1][-1] <= hi):
            try:
                block_t, block_v = next(self._blocks)
            except StopIteration:
                self._done = True
                break
            times.append(block_t)
            values.append(block_v)
        if len(times) > 1:
            self._times = np.concatenate(times)
            self._values = np.concatenate(values)
        assert self._values is not None, "a stream without rows was validated away"
        start = max(0, int(np.searchsorted(self._times, lo, side="left")) - KEEP_BEFORE)
        stop = min(self._times.size, int(np.searchsorted(self._times, hi, side="right")) + 1)
        # Later windows start later: nothing before `start` is needed again.
        self._times, self._values = self._times[start:], self._values[start:]
        return self._times[: stop - start], self._values[: stop - start]


@dataclass(frozen=True)
class StreamedRecording:
    """A validated recording read from its files an hour at a time.

    Build it with :func:`scan_recording` (files) or :func:`streamed` (in memory).
    ``start_epoch_s`` is as in :class:`~firmware_sim.recording.Recording`;
    ``duration_s`` the time of the last sample; ``accel_fast`` whether the accelerometer
    was recorded faster than 25 Hz.
    """

    streams: dict[StreamKind, Blocks]
    start_epoch_s: float | None
    duration_s: float
    accel_fast: bool

    @property
    def chunk_s(self) -> int:
        """Seconds of signal the replay produces (whole minutes)."""
        return recording_duration_s(self.duration_s)

    def _windows(self, window_s: int) -> Iterator[tuple[int, int, Recording]]:
        n = self.chunk_s
        cursors = {kind: _Cursor(blocks()) for kind, blocks in self.streams.items()}
        for first in range(0, n, window_s):
            last = min(first + window_s, n)
            around = {
                kind: cursor.around(first - MARGIN_S, last + MARGIN_S)
                for kind, cursor in cursors.items()
            }
            yield first, last, _recording(around)

    def chunks(self, window_s: int = WINDOW_S) -> Iterator[SignalChunk]:
        """The recording's signal chunks, ``window_s`` seconds each (the last shorter)."""
        if window_s % 60:
            raise ValueError(f"window_s must be whole minutes, got {window_s}")
        state = BeatState()
        n = self.chunk_s
        for first, last, around in self._windows(window_s):
            chunk, state = window_chunk(around, first, last, n, state, self.accel_fast)
            yield chunk

    def resting_hr_bpm(self, window_s: int = WINDOW_S) -> float | None:
        """The 5th percentile of the per-second heart rate outside gaps (``None``: none).

        Equal to ``np.percentile(rates, 5)`` over the whole recording, from a histogram
        of the rounded rates: one pass, a few hundred counters.
        """
        counts: Counter[float] = Counter()
        state = BeatState()
        n = self.chunk_s
        for first, last, around in self._windows(window_s):
            hr, gap, _, _, state = window_heart(around, first, last, n, state)
            heart = hr[~gap]
            # A long pause between beats leaves seconds without a rate that are not gaps.
            values, number = np.unique(heart[np.isfinite(heart)], return_counts=True)
            counts.update(dict(zip(values.tolist(), number.tolist(), strict=True)))
        return percentile_of_counts(counts, 5.0)


def _recording(around: dict[StreamKind, tuple[FloatArray, FloatArray]]) -> Recording:
    """A :class:`Recording` of the samples around a window (absolute times)."""

    def part(kind: StreamKind, index: int) -> FloatArray | None:
        pair = around.get(kind)
        return None if pair is None else pair[index]

    return Recording(
        rr_time_s=part(StreamKind.RR, 0),
        rr_ms=part(StreamKind.RR, 1),
        hr_time_s=part(StreamKind.HEART_RATE, 0),
        hr_bpm=part(StreamKind.HEART_RATE, 1),
        spo2_time_s=part(StreamKind.SPO2, 0),
        spo2_pct=part(StreamKind.SPO2, 1),
        temp_time_s=part(StreamKind.TEMPERATURE, 0),
        temp_c=part(StreamKind.TEMPERATURE, 1),
        accel_time_s=part(StreamKind.ACCEL, 0),
        accel_g=part(StreamKind.ACCEL, 1),
    )


def percentile_of_counts(counts: Counter[float], q: float) -> float | None:
    """``np.percentile(values, q)`` (linear) of the values ``counts`` tallies.

    The same arithmetic as numpy's, on the two order statistics it interpolates
    between, so the result is the same float.
    """
    total = sum(counts.values())
    if total == 0:
        return None
    quantile = np.true_divide(q, 100)
    # numpy's virtual index for the "linear" method (alpha = beta = 1).
    virtual = total * quantile + (1 + quantile * (1 - 1 - 1)) - 1
    below = int(np.floor(virtual))
    lo_index = min(max(below, 0), total - 1)
    hi_index = min(max(below + 1, 0), total - 1)
    gamma = virtual - below
    values = sorted(counts)
    cumulative = np.cumsum([counts[v] for v in values])
    a = np.float64(values[int(np.searchsorted(cumulative, lo_index, side="right"))])
    b = np.float64(values[int(np.searchsorted(cumulative, hi_index, side="right"))])
    diff = b - a
    result = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    return float(result)


def scan_recording(paths: Sequence[Path | str]) -> StreamedRecording:
    """Validate the recording files (one per stream) block by block; hold no samples.

    Raises
    ------
    RecordingError
        On any problem, as :func:`~firmware_sim.recording.recording_load` does.
    """
    if not paths:
        raise RecordingError(
            "<no file>", None, "no recording given", "pass at least a heart stream file"
        )
    found: dict[StreamKind, tuple[Path, bool, float, float]] = {}
    fast = False
    for raw_path in paths:
        path = Path(raw_path)
        first_t = last_t = math.nan
        kind: StreamKind | None = None
        iso = False
        spacing = _Spacing(1.0 / ACCEL_SAMPLE_RATE_HZ)
        for block in blocks_read(path):
            if kind is None:
                kind, iso, first_t = block.kind, block.iso, float(block.times[0])
                if kind in found:
                    raise RecordingError(
                        path,
                        1,
                        f"a second {describe_kind(kind)} file (the first was {found[kind][0]})",
                        "give one file per stream",
                    )
            if kind is StreamKind.ACCEL:
                spacing.add(block.times)
            last_t = float(block.times[-1])
        assert kind is not None  # blocks_read refuses a file without rows
        found[kind] = (path, iso, first_t, last_t)
        if kind is StreamKind.ACCEL:
            fast = spacing.median_below()
    if StreamKind.RR not in found and StreamKind.HEART_RATE not in found:
        names = ", ".join(str(p) for p, *_ in found.values())
        raise RecordingError(
            next(iter(found.values()))[0],
            1,
            f"no heart stream among {names}",
            "add a file with header time_s,rr_ms or time_s,heart_rate_bpm",
        )
    iso_firsts = [first for _, iso, first, _ in found.values() if iso]
    start = min(iso_firsts) if iso_firsts else None
    streams: dict[StreamKind, Blocks] = {}
    ends = []
    for kind, (path, iso, _, last_t) in found.items():
        shift = start if iso and start is not None else 0.0
        streams[kind] = _file_blocks(path, kind, shift)
        ends.append(last_t - shift)
    return StreamedRecording(streams, start, max(ends), fast)


def _file_blocks(path: Path, kind: StreamKind, shift: float) -> Blocks:
    def blocks() -> Iterator[tuple[FloatArray, FloatArray]]:
        for block in blocks_read(path):
            values = block.values if kind is StreamKind.ACCEL else block.values[:, 0]
            yield (block.times - shift if shift else block.times), values

    return blocks


def streamed(recording: Recording) -> StreamedRecording:
    """A recording already in memory, replayed through the same windows."""
    streams: dict[StreamKind, Blocks] = {}
    for kind, (time_name, value_name) in _FIELDS.items():
        times, values = getattr(recording, time_name), getattr(recording, value_name)
        if times is not None:
            streams[kind] = _memory_blocks(times, values)
    fast = False
    if recording.accel_time_s is not None:
        spacing = _Spacing(1.0 / ACCEL_SAMPLE_RATE_HZ)
        spacing.add(recording.accel_time_s)
        fast = spacing.median_below()
    return StreamedRecording(streams, recording.start_epoch_s, recording.duration_s, fast)


def _memory_blocks(times: FloatArray, values: FloatArray) -> Blocks:
    def blocks() -> Iterator[tuple[FloatArray, FloatArray]]:
        yield times, values

    return blocks


class _Spacing:
    """Whether the median spacing of increasing times is below ``limit``, in one pass.

    Exactly ``np.median(np.diff(times)) < limit`` without keeping the spacings: the
    count below the limit decides, except when it is exactly half, where the two middle
    spacings are the largest below and the smallest at or above the limit.
    """

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._last: float | None = None
        self._count = 0
        self._below = 0
        self._max_below = -math.inf
        self._min_above = math.inf

    def add(self, times: FloatArray) -> None:
        """Count the spacings of ``times``, which follow those added before."""
        spacing = np.diff(times if self._last is None else np.concatenate(([self._last], times)))
        self._last = float(times[-1])
        is_below = spacing < self._limit
        self._count += spacing.size
        self._below += int(is_below.sum())
        if is_below.any():
            self._max_below = max(self._max_below, float(spacing[is_below].max()))
        if not is_below.all():
            self._min_above = min(self._min_above, float(spacing[~is_below].min()))

    def median_below(self) -> bool:
        """``np.median(spacings) < limit`` (``False`` without spacings)."""
        half = self._count // 2
        if self._count == 0:
            return False
        if self._count % 2 or self._below != half:
            return self._below > half
        return (self._max_below + self._min_above) / 2 < self._limit
