"""Real recordings as watch signals: load per-stream CSV files, resample them to a chunk.

A recording is one CSV file per stream (RR intervals, heart rate, SpO2, skin temperature,
accelerometer), each with a header naming its kind; the format is documented in
``docs/formats/recordings.md``. :func:`recording_load` reads and validates the files into
a :class:`Recording`; :func:`recording_to_chunk` resamples it into the
:class:`~firmware_sim.physiology.generator.SignalChunk` the watch firmware consumes, so a
replayed recording is encoded, stored and served exactly like simulated signals.

This module is pure except for reading the files; ``firmware_sim.replay`` runs the watch.
Every problem with the input is a :class:`RecordingError` naming the file, the line and
the fix.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np
import numpy.typing as npt

from firmware_sim.physiology.cardiac import hr_average_beats
from firmware_sim.physiology.generator import HR_AVERAGE_BEATS, HR_STALE_S, SignalChunk
from firmware_sim.physiology.schedule import Activity
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ

FloatArray = npt.NDArray[np.float64]

#: A heart stream silent for longer than this is a data gap (the watch sends nothing).
HEART_GAP_S = 5.0
#: SpO2 silent for longer than this is "measurement unavailable".
SPO2_MAX_SILENCE_S = 5.0
#: Accelerometer silent for longer than this is a still wrist (gravity only).
ACCEL_MAX_SILENCE_S = 5.0
#: Skin temperature silent for longer than this is unavailable (NaN) for those minutes.
TEMP_MAX_SILENCE_S = 600.0
#: The watch's accelerometer range; recorded values beyond it saturate, as on the watch.
ACCEL_RANGE_G = 16.0
#: A still wrist: gravity only, along +z.
STILL_WRIST_G = (0.0, 0.0, 1.0)
#: The chunk's duration is a whole number of minutes (the temperature period).
MINUTE_S = 60

_TIME_COLUMNS = ("time_s", "time")


class StreamKind(enum.Enum):
    """Which signal a recording file holds, named by its value columns."""

    RR = ("rr_ms",)
    HEART_RATE = ("heart_rate_bpm",)
    SPO2 = ("spo2_pct",)
    TEMPERATURE = ("skin_temp_c",)
    ACCEL = ("x_g", "y_g", "z_g")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.value)


#: Every header :func:`recording_load` accepts, as written in the file.
ACCEPTED_HEADERS: tuple[str, ...] = tuple(
    ",".join((time, *kind.columns)) for kind in StreamKind for time in _TIME_COLUMNS
)

# Valid value ranges per stream (inclusive unless noted) and the fix to suggest.
_LIMITS: dict[StreamKind, tuple[float, float, str]] = {
    StreamKind.RR: (0.0, 65535.0, "an RR interval is a positive number of milliseconds"),
    StreamKind.HEART_RATE: (
        0.0,
        300.0,
        "heart rate is in beats per minute, > 0; leave out rows without a reading "
        f"(silences over {HEART_GAP_S:g} s become data gaps)",
    ),
    StreamKind.SPO2: (0.0, 100.0, "SpO2 is a percentage in 0..100"),
    StreamKind.TEMPERATURE: (
        0.0,
        50.0,
        "skin temperature is in degrees Celsius (convert Fahrenheit: (F - 32) * 5 / 9)",
    ),
}
_EXCLUSIVE_LOW = {StreamKind.RR, StreamKind.HEART_RATE}


class RecordingError(ValueError):
    """A recording file cannot be used; the message names the file, line and the fix.

    Attributes
    ----------
    path : pathlib.Path
        The offending file.
    line : int or None
        1-based line number (1 is the header), ``None`` when the whole file is at fault.
    """

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{self.path}" if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}; {fix}")


@dataclass(frozen=True, eq=False)
class Recording:
    """Validated recorded streams, times in seconds from the recording's start.

    Each pair of arrays is ``None`` when the stream was not recorded. Times are strictly
    increasing and >= 0. ``accel_g`` has shape ``(n, 3)``. ``start_epoch_s`` is the Unix
    time of the recording's start when the files carried ISO-8601 timestamps, else ``None``.
    """

    rr_time_s: FloatArray | None = None
    rr_ms: FloatArray | None = None
    hr_time_s: FloatArray | None = None
    hr_bpm: FloatArray | None = None
    spo2_time_s: FloatArray | None = None
    spo2_pct: FloatArray | None = None
    temp_time_s: FloatArray | None = None
    temp_c: FloatArray | None = None
    accel_time_s: FloatArray | None = None
    accel_g: FloatArray | None = None
    start_epoch_s: float | None = None

    def __post_init__(self) -> None:
        for times, values in self._pairs():
            if (times is None) != (values is None):
                raise ValueError("a stream needs both its times and its values, or neither")
            if times is not None and values is not None and len(times) != len(values):
                raise ValueError(f"{len(times)} times for {len(values)} values")
        if self.rr_time_s is None and self.hr_time_s is None:
            raise ValueError("a recording needs a heart stream (RR intervals or heart rate)")

    def _pairs(self) -> tuple[tuple[FloatArray | None, FloatArray | None], ...]:
        return (
            (self.rr_time_s, self.rr_ms),
            (self.hr_time_s, self.hr_bpm),
            (self.spo2_time_s, self.spo2_pct),
            (self.temp_time_s, self.temp_c),
            (self.accel_time_s, self.accel_g),
        )

    @property
    def duration_s(self) -> float:
        """Time of the last sample of any stream (seconds from the start)."""
        return max(float(t[-1]) for t, _ in self._pairs() if t is not None and len(t))

    @property
    def heart_time_s(self) -> FloatArray:
        """Times at which a heart signal exists (beats and heart-rate samples)."""
        parts = [t for t in (self.rr_time_s, self.hr_time_s) if t is not None]
        return np.unique(np.concatenate(parts)) if len(parts) > 1 else parts[0]


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Table:
    """One parsed file before alignment: times are seconds, or epoch seconds when ISO."""

    path: Path
    kind: StreamKind
    iso: bool
    times: FloatArray
    values: FloatArray  # (n, k)
    lines: npt.NDArray[np.int64]  # 1-based line number of each row


def recording_load(paths: Sequence[Path | str]) -> Recording:
    """Read one CSV file per stream into a validated :class:`Recording`.

    The kind of each file is detected from its header (see :data:`ACCEPTED_HEADERS`).
    Files with an ISO-8601 ``time`` column are aligned on the earliest timestamp among
    them, which becomes :attr:`Recording.start_epoch_s`; ``time_s`` files count seconds
    from the recording's start.

    Raises
    ------
    RecordingError
        On any problem, naming the file, the line and the fix.
    """
    if not paths:
        raise RecordingError(
            "<no file>", None, "no recording given", "pass at least a heart stream file"
        )
    tables: dict[StreamKind, _Table] = {}
    for raw_path in paths:
        table = _read_table(Path(raw_path))
        if table.kind in tables:
            raise RecordingError(
                table.path,
                1,
                f"a second {describe_kind(table.kind)} file "
                f"(the first was {tables[table.kind].path})",
                "give one file per stream",
            )
        tables[table.kind] = table
    if StreamKind.RR not in tables and StreamKind.HEART_RATE not in tables:
        names = ", ".join(str(t.path) for t in tables.values())
        raise RecordingError(
            next(iter(tables.values())).path,
            1,
            f"no heart stream among {names}",
            "add a file with header time_s,rr_ms or time_s,heart_rate_bpm",
        )
    iso = [t for t in tables.values() if t.iso]
    start: float | None = None
    if iso:
        start = min(float(t.times[0]) for t in iso)
    arrays: dict[str, FloatArray] = {}
    fields = {
        StreamKind.RR: ("rr_time_s", "rr_ms"),
        StreamKind.HEART_RATE: ("hr_time_s", "hr_bpm"),
        StreamKind.SPO2: ("spo2_time_s", "spo2_pct"),
        StreamKind.TEMPERATURE: ("temp_time_s", "temp_c"),
        StreamKind.ACCEL: ("accel_time_s", "accel_g"),
    }
    for kind, table in tables.items():
        times = table.times - start if table.iso and start is not None else table.times
        time_name, value_name = fields[kind]
        arrays[time_name] = times
        arrays[value_name] = table.values if kind is StreamKind.ACCEL else table.values[:, 0]
    return Recording(**arrays, start_epoch_s=start)


def describe_kind(kind: StreamKind) -> str:
    return {
        StreamKind.RR: "RR-interval",
        StreamKind.HEART_RATE: "heart-rate",
        StreamKind.SPO2: "SpO2",
        StreamKind.TEMPERATURE: "skin-temperature",
        StreamKind.ACCEL: "accelerometer",
    }[kind]


#: Rows parsed at a time: a file is read block by block, never whole into memory.
BLOCK_ROWS = 100_000


def _read_table(path: Path) -> _Table:
    """The whole file as one table (for recordings small enough to hold in memory)."""
    blocks = list(blocks_read(path))
    first = blocks[0]
    return _Table(
        path,
        first.kind,
        first.iso,
        np.concatenate([b.times for b in blocks]),
        np.concatenate([b.values for b in blocks]),
        np.concatenate([b.lines for b in blocks]),
    )


def blocks_read(path: Path, block_rows: int = BLOCK_ROWS) -> Iterator[_Table]:
    """Read and validate ``path`` in blocks of at most ``block_rows`` data rows.

    Each block is checked as it is read, and against the last row of the block before
    it (times keep increasing), so a file of any size is validated with one block in
    memory. The accelerometer's median-magnitude check needs every row: it runs after
    the last block, on the magnitudes alone (8 bytes a row).

    Raises
    ------
    RecordingError
        On any problem, naming the file, the line and the fix.
    """
    try:
        handle = open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed in finally
    except OSError as error:
        raise RecordingError(
            path, None, f"cannot read it ({error.strerror or error})", "check the path"
        ) from None
    try:
        yield from _blocks_of(path, handle, block_rows)
    except UnicodeDecodeError as error:
        raise RecordingError(
            path, None, f"not UTF-8 text ({error.reason})", "save the file as UTF-8 CSV"
        ) from None
    except OSError as error:
        raise RecordingError(
            path, None, f"cannot read it ({error.strerror or error})", "check the path"
        ) from None
    finally:
        handle.close()


def _blocks_of(path: Path, handle: TextIO, block_rows: int) -> Iterator[_Table]:
    header = handle.readline()
    if not header.strip():
        raise RecordingError(
            path, 1, "no header", f"the first line must be one of: {' | '.join(ACCEPTED_HEADERS)}"
        )
    columns = tuple(c.strip().lower() for c in header.split(","))
    kind = _kind_of(path, columns)
    iso = columns[0] == "time"
    line = 1
    previous: tuple[float, int] | None = None
    magnitudes: list[FloatArray] = []
    first_line = 0
    while True:
        numbered: list[tuple[int, str]] = []
        read = 0
        for text in itertools.islice(handle, block_rows):
            read += 1
            line += 1
            if text.strip():
                numbered.append((line, text))
        if read == 0:
            break
        if not numbered:
            continue  # a block of blank lines
        block = _parse_block(path, columns, kind, iso, numbered, previous)
        previous = (float(block.times[-1]), int(block.lines[-1]))
        if first_line == 0:
            first_line = int(block.lines[0])
        if kind is StreamKind.ACCEL:
            magnitudes.append(np.linalg.norm(block.values, axis=1))
        yield block
    if previous is None:
        raise RecordingError(path, 2, "no data rows after the header", "add at least one row")
    if magnitudes:
        median = float(np.median(np.concatenate(magnitudes)))
        if median > 5.0:
            raise RecordingError(
                path,
                first_line,
                f"the median acceleration is {median:.2f} g, far above gravity (1 g)",
                "give x_g,y_g,z_g in g: divide values in m/s² by 9.80665",
            )


def _parse_block(
    path: Path,
    columns: tuple[str, ...],
    kind: StreamKind,
    iso: bool,
    numbered: list[tuple[int, str]],
    previous: tuple[float, int] | None,
) -> _Table:
    """Parse and validate one block of rows; ``previous`` is the last row before it."""
    lines = np.fromiter((n for n, _ in numbered), dtype=np.int64, count=len(numbered))
    rows = [s for _, s in numbered]
    width = len(columns)
    try:
        if iso:
            values = np.loadtxt(
                rows, delimiter=",", ndmin=2, comments=None, usecols=range(1, width)
            )
            stamps = np.loadtxt(rows, delimiter=",", ndmin=1, comments=None, usecols=0, dtype=str)
        else:
            table = np.loadtxt(rows, delimiter=",", ndmin=2, comments=None)
            if table.shape[1] != width:
                raise ValueError("width")
            stamps = None
            values = table[:, 1:]
    except ValueError:
        _diagnose(path, columns, rows, lines)
    if iso:
        assert stamps is not None
        # usecols hides rows with extra columns: check the width separately.
        widths = np.fromiter((s.count(",") + 1 for s in rows), dtype=np.int64, count=len(rows))
        wrong = np.flatnonzero(widths != width)
        if wrong.size:
            i = int(wrong[0])
            raise _width_error(path, columns, int(lines[i]), int(widths[i]))
        times = _parse_iso(path, stamps, lines)
    else:
        times = np.ascontiguousarray(table[:, 0])
    if previous is None:
        _check_times(path, columns[0], times, lines, iso)
    else:
        # The first row must come after the last row of the block before.
        _check_times(
            path,
            columns[0],
            np.concatenate(([previous[0]], times)),
            np.concatenate(([previous[1]], lines)),
            iso,
        )
    _check_values(path, kind, columns[1:], values, lines)
    return _Table(path, kind, iso, times, np.ascontiguousarray(values), lines)


def _kind_of(path: Path, columns: tuple[str, ...]) -> StreamKind:
    for kind in StreamKind:
        if columns[0] in _TIME_COLUMNS and columns[1:] == kind.columns:
            return kind
    raise RecordingError(
        path,
        1,
        f"unknown header {','.join(columns)!r}",
        f"use one of: {' | '.join(ACCEPTED_HEADERS)} (one file per stream)",
    )


def _width_error(path: Path, columns: tuple[str, ...], line: int, width: int) -> RecordingError:
    return RecordingError(
        path,
        line,
        f"{width} columns where the header {','.join(columns)} has {len(columns)}",
        "give every row one value per header column, separated by commas",
    )


def _diagnose(
    path: Path, columns: tuple[str, ...], rows: list[str], lines: npt.NDArray[np.int64]
) -> NoReturn:
    """Find and report the first malformed row (only called once loadtxt has failed)."""
    iso = columns[0] == "time"
    for row, line in zip(rows, lines.tolist(), strict=True):
        cells = [c.strip() for c in row.split(",")]
        if len(cells) != len(columns):
            raise _width_error(path, columns, line, len(cells))
        for name, cell in zip(columns, cells, strict=True):
            if iso and name == "time":
                continue
            try:
                float(cell)
            except ValueError:
                what = "an empty cell" if not cell else f"{cell!r} is not a number"
                raise RecordingError(
                    path,
                    line,
                    f"{name}: {what}",
                    "write plain decimal numbers (e.g. 812.5); leave out rows without a value",
                ) from None
    raise RecordingError(path, None, "cannot parse the file", "check it is a comma-separated CSV")


def _parse_iso(
    path: Path, stamps: npt.NDArray[np.str_], lines: npt.NDArray[np.int64]
) -> FloatArray:
    """ISO-8601 timestamps to Unix seconds (naive ones are taken as UTC)."""
    out = np.empty(stamps.size, dtype=np.float64)
    aware: bool | None = None
    for i, text in enumerate(stamps.tolist()):
        try:
            stamp = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise RecordingError(
                path,
                int(lines[i]),
                f"time: cannot read {text!r} as an ISO-8601 timestamp",
                "write e.g. 2026-01-05T06:00:00.250Z, or use a time_s column of seconds",
            ) from None
        has_zone = stamp.tzinfo is not None
        if aware is None:
            aware = has_zone
        elif has_zone != aware:
            raise RecordingError(
                path,
                int(lines[i]),
                f"time: {text!r} {'has' if has_zone else 'lacks'} a time zone, unlike the "
                "first row",
                "give every timestamp a zone (e.g. Z for UTC) or none",
            )
        if not has_zone:
            stamp = stamp.replace(tzinfo=dt.UTC)
        out[i] = stamp.timestamp()
    return out


def _check_times(
    path: Path, name: str, times: FloatArray, lines: npt.NDArray[np.int64], iso: bool
) -> None:
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        i = int(bad[0])
        raise RecordingError(
            path,
            int(lines[i]),
            f"{name}: '{float(times[i])}' is not a time",
            "write finite seconds",
        )
    if not iso:
        negative = np.flatnonzero(times < 0)
        if negative.size:
            i = int(negative[0])
            raise RecordingError(
                path,
                int(lines[i]),
                f"time_s={times[i]:g} is negative",
                "count seconds from the recording's start (>= 0)",
            )
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        i = int(back[0]) + 1
        shown = _show_time(times, i, iso)
        raise RecordingError(
            path,
            int(lines[i]),
            f"{name} {shown} does not increase (line {int(lines[i - 1])} has "
            f"{_show_time(times, i - 1, iso)})",
            "sort the rows by time and drop duplicate timestamps",
        )


def _show_time(times: FloatArray, i: int, iso: bool) -> str:
    if iso:
        return dt.datetime.fromtimestamp(float(times[i]), tz=dt.UTC).isoformat()
    return f"{float(times[i]):g}"


def _check_values(
    path: Path,
    kind: StreamKind,
    names: tuple[str, ...],
    values: FloatArray,
    lines: npt.NDArray[np.int64],
) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        raise RecordingError(
            path,
            int(lines[i]),
            f"{names[j]}: '{float(values[i, j])}' is not a finite number",
            "leave out rows without a value instead of writing NaN "
            f"(a heart stream silent for over {HEART_GAP_S:g} s becomes a data gap)",
        )
    if kind is StreamKind.ACCEL:
        # The median-magnitude check needs the whole file: blocks_read runs it at the end.
        return
    lo, hi, fix = _LIMITS[kind]
    column = values[:, 0]
    low = column <= lo if kind in _EXCLUSIVE_LOW else column < lo
    bad = np.flatnonzero(low | (column > hi))
    if bad.size:
        i = int(bad[0])
        bounds = f"({lo:g}, {hi:g}]" if kind in _EXCLUSIVE_LOW else f"[{lo:g}, {hi:g}]"
        raise RecordingError(
            path,
            int(lines[i]),
            f"{names[0]}={column[i]:g} outside {bounds}",
            fix,
        )


# ----------------------------------------------------------------------- resampling


def recording_duration_s(duration_s: float) -> int:
    """A chunk's length for a recording lasting ``duration_s``: whole minutes, >= 1."""
    return max(MINUTE_S, math.ceil(duration_s / MINUTE_S) * MINUTE_S)


def accel_is_fast(times: FloatArray) -> bool:
    """Whether an accelerometer recording is faster than 25 Hz (its median spacing)."""
    return times.size > 1 and float(np.median(np.diff(times))) < 1.0 / ACCEL_SAMPLE_RATE_HZ


def recording_to_chunk(rec: Recording) -> SignalChunk:
    """Resample a recording into one :class:`SignalChunk` starting at second 0.

    The duration is the recording's, rounded up to a whole number of minutes. Per-second
    values are the mean of the samples within the second, or, for a second without
    samples, the linear interpolation at its middle; the accelerometer is resampled to
    25 Hz (averaged over each 40 ms window when recorded faster). Missing streams and
    silences are filled as documented in ``docs/formats/recordings.md``.

    This holds the whole recording in memory; ``firmware_sim.recording_stream`` makes
    the same chunks an hour at a time from files of any size.
    """
    n = recording_duration_s(rec.duration_s)
    fast = rec.accel_time_s is not None and accel_is_fast(rec.accel_time_s)
    chunk, _ = window_chunk(rec, 0, n, n, BeatState(), fast)
    return chunk


@dataclass(frozen=True)
class BeatState:
    """Where beat synthesis stands at a window's start (beats made from a heart rate).

    ``phase`` is the integrated number of beats since the recording's start; ``last_beat_s``
    the time of the latest beat (0 at the start, from which the first RR is measured).
    """

    phase: float = 0.0
    last_beat_s: float = 0.0


def window_heart(
    rec: Recording, first: int, last: int, n: int, state: BeatState
) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray, FloatArray, BeatState]:
    """Heart rate, gaps, beats and RR intervals of seconds ``[first, last)`` of ``n``.

    ``rec`` holds the samples around the window (absolute times, seconds from the
    recording's start): at least those within the longest silence that matters (5 s)
    of it, plus the 5 beats before it, or the whole recording. Returns the rounded
    per-second rate (NaN in gaps), the gap mask, the window's beats and RR intervals,
    and the beat state at ``last``.
    """
    count = last - first
    end = float(n)
    gap = _heart_gap(rec.heart_time_s, first, count, n)
    rate: FloatArray | None = None
    if rec.hr_time_s is not None and rec.hr_bpm is not None:
        # Defined everywhere: gap seconds are never reported, but beats need a rate.
        rate = _per_period(rec.hr_time_s, rec.hr_bpm, first, count, 1.0, math.inf, end)
        hr = rate.copy()
    if rec.rr_time_s is not None and rec.rr_ms is not None:
        known = rec.rr_time_s < end
        around_t, around_rr = rec.rr_time_s[known], rec.rr_ms[known]
        inside = around_t >= first
        inside &= around_t < last
        beat_times, rr_ms = around_t[inside], around_rr[inside]
        if rec.hr_bpm is None:
            # As the watch computes it: 60000 / mean of the last 5 RR before each second ends.
            seconds_end = np.arange(first + 1, last + 1, dtype=np.float64)
            hr = hr_average_beats(around_t, around_rr, seconds_end, HR_AVERAGE_BEATS, HR_STALE_S)
    else:
        assert rate is not None
        beat_times, rr_ms, state = _beats_from_rate(rate, first, state)
    hr = np.rint(hr)
    hr[gap] = np.nan
    return hr, gap, beat_times, rr_ms, state


def window_chunk(
    rec: Recording, first: int, last: int, n: int, state: BeatState, accel_fast: bool
) -> tuple[SignalChunk, BeatState]:
    """The :class:`SignalChunk` of seconds ``[first, last)`` of a recording of ``n`` s.

    ``first`` and ``last`` are whole minutes. ``rec`` holds the samples around the
    window (see :func:`window_heart`; 600 s around it for the skin temperature).
    ``accel_fast`` is :func:`accel_is_fast` of the whole accelerometer recording.
    Chunks of consecutive windows, each with the state the one before returned, carry
    the same records as :func:`recording_to_chunk` of the whole recording.
    """
    count = last - first
    end = float(n)
    hr, gap, beat_times, rr_ms, state = window_heart(rec, first, last, n, state)

    if rec.spo2_time_s is not None and rec.spo2_pct is not None:
        spo2 = np.rint(
            _per_period(rec.spo2_time_s, rec.spo2_pct, first, count, 1.0, SPO2_MAX_SILENCE_S, end)
        )
    else:
        spo2 = np.full(count, np.nan)

    minutes = count // MINUTE_S
    if rec.temp_time_s is not None and rec.temp_c is not None:
        temp = np.round(
            _per_period(
                rec.temp_time_s,
                rec.temp_c,
                first // MINUTE_S,
                minutes,
                float(MINUTE_S),
                TEMP_MAX_SILENCE_S,
                end,
            ),
            2,
        )
    else:
        temp = np.full(minutes, np.nan)

    if rec.accel_time_s is not None and rec.accel_g is not None:
        accel = _resample_accel(rec.accel_time_s, rec.accel_g, first, count, n, accel_fast)
    else:
        accel = np.tile(
            np.asarray(STILL_WRIST_G, dtype=np.float32), (count * ACCEL_SAMPLE_RATE_HZ, 1)
        )

    chunk = SignalChunk(
        start_s=first,
        duration_s=count,
        beat_times_s=beat_times,
        rr_ms=rr_ms,
        hr_bpm=hr,
        spo2_pct=spo2,
        skin_temp_c=temp,
        accel_g=accel,
        contact=~gap,
        activity=np.full(count, Activity.SEDENTARY, dtype=np.int8),
        gap=gap,
    )
    return chunk, state


def _silence_ok(
    times: FloatArray, query: FloatArray, max_silence_s: float, end_s: float
) -> npt.NDArray[np.bool_]:
    """Whether each query time lies in a silence of at most ``max_silence_s``.

    A silence is the stretch between consecutive samples, the recording's start and the
    first sample, or the last sample and ``end_s``; a query at a sample is always covered.
    """
    edges = np.concatenate(([0.0], times, [end_s]))
    j = np.clip(np.searchsorted(edges, query, side="right"), 1, edges.size - 1)
    covered: npt.NDArray[np.bool_] = ((edges[j] - edges[j - 1]) <= max_silence_s) | (
        query == edges[j - 1]
    )
    return covered


def _heart_gap(heart_t: FloatArray, first: int, count: int, n: int) -> npt.NDArray[np.bool_]:
    """Seconds without any heart sample inside a silence longer than ``HEART_GAP_S``."""
    seconds = np.arange(first, first + count + 1, dtype=np.float64)
    counts = np.diff(np.searchsorted(heart_t, seconds, side="left"))
    covered = _silence_ok(heart_t, seconds[:-1] + 0.5, HEART_GAP_S, float(n))
    gap: npt.NDArray[np.bool_] = (counts == 0) & ~covered
    return gap


def _per_period(
    times: FloatArray,
    values: FloatArray,
    first: int,
    periods: int,
    period_s: float,
    max_silence_s: float,
    end_s: float,
) -> FloatArray:
    """One value per period ``first .. first + periods``: the mean of its samples, else
    interpolated at its middle.

    Periods without samples inside a silence longer than ``max_silence_s`` are NaN.
    """
    index = np.floor(times / period_s).astype(np.int64) - first
    inside = (index >= 0) & (index < periods)
    counts = np.bincount(index[inside], minlength=periods)
    sums = np.bincount(index[inside], weights=values[inside], minlength=periods)
    middles = (np.arange(first, first + periods, dtype=np.float64) + 0.5) * period_s
    out = np.interp(middles, times, values)
    sampled = counts > 0
    out[sampled] = sums[sampled] / counts[sampled]
    if math.isfinite(max_silence_s):
        missing = ~sampled & ~_silence_ok(times, middles, max_silence_s, end_s)
        out[missing] = np.nan
    return out


def _beats_from_rate(
    hr_per_s: FloatArray, first: int, state: BeatState
) -> tuple[FloatArray, FloatArray, BeatState]:
    """Regular beats at a per-second rate: beat k where the integrated phase reaches k.

    The phase starts at 0 at time 0 and grows by ``hr / 60`` per second, linearly within
    each second; RR intervals are the spacing of consecutive beats (the first measured
    from time 0). ``hr_per_s`` are the seconds from ``first``; ``state`` the phase and
    last beat there.
    """
    rate = hr_per_s / 60.0
    # One running sum from the recording's start, window after window: the same
    # additions in the same order as over the whole recording at once.
    phase = np.cumsum(np.concatenate(([state.phase], rate)))
    edges = np.arange(first, first + rate.size + 1, dtype=np.float64)
    lowest = max(1.0, math.ceil(phase[0]))
    beats = np.interp(np.arange(lowest, math.floor(phase[-1]) + 1.0), phase, edges)
    beats = beats[(beats >= edges[0]) & (beats < edges[-1])]  # the beats of this window
    rr = np.diff(np.concatenate(([state.last_beat_s], beats))) * 1000.0
    last_beat = float(beats[-1]) if beats.size else state.last_beat_s
    return beats, rr, BeatState(float(phase[-1]), last_beat)


def _resample_accel(
    times: FloatArray, accel_g: FloatArray, first: int, count: int, n: int, fast: bool
) -> npt.NDArray[np.float32]:
    """Accelerometer samples on the 25 Hz grid of seconds ``[first, first + count)``.

    Shape ``(count * 25, 3)``. Recordings faster than 25 Hz (``fast``) are averaged
    over a 40 ms window centred on each output sample (the exact mean of the linearly
    interpolated signal: a box anti-aliasing filter with no phase shift, as the watch's
    sensor filters before its 25 Hz output); others are linearly interpolated. Grid
    points in a silence of more than ``ACCEL_MAX_SILENCE_S`` are a still wrist; values
    saturate at the watch's ±16 g.
    """
    rate = ACCEL_SAMPLE_RATE_HZ
    grid = np.arange(first * rate, (first + count) * rate, dtype=np.float64) / rate
    if fast and times.size > 1:
        half = 0.5 / rate
        upper = _integral(times, accel_g, grid + half)
        lower = _integral(times, accel_g, grid - half)
        out = (upper - lower) / (2.0 * half)
    else:
        out = np.column_stack([np.interp(grid, times, accel_g[:, axis]) for axis in range(3)])
    still = ~_silence_ok(times, grid, ACCEL_MAX_SILENCE_S, float(n))
    out[still] = STILL_WRIST_G
    return np.clip(out, -ACCEL_RANGE_G, ACCEL_RANGE_G).astype(np.float32)


def _integral(times: FloatArray, values: FloatArray, query: FloatArray) -> FloatArray:
    """Integral from ``times[0]`` to each query of the linear interpolant of ``values``.

    The interpolant is held constant before the first and after the last sample (as
    ``np.interp`` does); ``values`` is ``(n, k)`` with ``n >= 2``.
    """
    dt_s = np.diff(times)[:, None]
    slope = np.diff(values, axis=0) / dt_s
    at_knots = np.concatenate(
        (np.zeros((1, values.shape[1])), np.cumsum(0.5 * (values[1:] + values[:-1]) * dt_s, 0))
    )
    clamped = np.clip(query, times[0], times[-1])
    j = np.clip(np.searchsorted(times, clamped, side="right") - 1, 0, times.size - 2)
    d = (clamped - times[j])[:, None]
    inside = at_knots[j] + d * values[j] + 0.5 * d * d * slope[j]
    edge = np.where((query < times[0])[:, None], values[0], values[-1])
    total: FloatArray = inside + (query - clamped)[:, None] * edge
    return total
