"""One device's signals cut into fixed windows, from gateway records or an export.

Both builders decode into the same per-stream tables and cut them with the same code, so
the same records give identical :class:`WindowData` either way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wearable_core.contracts import record_csv
from wearable_core.contracts.features import TEMP_CONTEXT_S, WINDOW_S
from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.gatt.health_thermometer import TemperatureMeasurement
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.gatt.pulse_oximeter import PlxContinuousMeasurement
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ, Stream
from wearable_core.features import decode
from wearable_core.records import IngestRecord

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FS = ACCEL_SAMPLE_RATE_HZ
_RR_UNIT_MS = 1000.0 / 1024.0


@dataclass(frozen=True, eq=False)
class WindowData:
    """The signals of one device over one window ``[start_ms, start_ms + window_s * 1000)``.

    Attributes
    ----------
    start_ms : int
        Window start, Unix ms (gateway-aligned time, or watch time for an export), a
        multiple of ``window_s * 1000``.
    device : str
        Device address.
    hr_bpm : numpy.ndarray
        ``float64 (window_s,)`` heart rate per second; ``nan`` = no reading (no record,
        or no skin contact).
    rr_ms : numpy.ndarray
        ``float64`` RR intervals reported in the window, ms, in beat order.
    rr_second : numpy.ndarray
        ``int64``, same length: the second of the window whose record carried each RR.
    spo2_pct : numpy.ndarray
        ``float64 (window_s,)`` SpO2 per second, ``nan`` = no reading.
    temp_c : numpy.ndarray
        ``float64 (TEMP_CONTEXT_S // 60,)`` skin temperature per minute, the 30 minutes
        ending at the window end (oldest first), ``nan`` where missing.
    accel_g : numpy.ndarray
        ``float32 (window_s * 25, 3)`` accelerometer samples, g; ``nan`` rows where no
        frame.
    contact : numpy.ndarray
        ``bool (window_s,)`` skin contact reported (False where no record).
    present : numpy.ndarray
        ``bool (window_s,)`` any heart-rate, SpO2 or accelerometer record for the second.
    """

    start_ms: int
    device: str
    hr_bpm: FloatArray
    rr_ms: FloatArray
    rr_second: IntArray
    spo2_pct: FloatArray
    temp_c: FloatArray
    accel_g: npt.NDArray[np.float32]
    contact: BoolArray
    present: BoolArray

    @property
    def window_s(self) -> int:
        return int(self.hr_bpm.size)


@dataclass
class _Tables:
    """Decoded records of one device, one row per record (RR: one row per interval)."""

    hr_t: IntArray
    hr_seq: IntArray
    hr_bpm: FloatArray
    hr_contact: BoolArray
    rr_rec: IntArray
    rr_ms: FloatArray
    spo2_t: IntArray
    spo2_seq: IntArray
    spo2: FloatArray
    temp_t: IntArray
    temp_seq: IntArray
    temp: FloatArray
    acc_t: IntArray
    acc_seq: IntArray
    acc: npt.NDArray[np.float32]


def _hr_values(bpm: int, contact: bool | None) -> tuple[float, bool]:
    """Heart rate (nan without contact or at 0 bpm) and skin contact of one record."""
    has_contact = bpm > 0 if contact is None else contact
    return (float(bpm) if has_contact and bpm > 0 else np.nan), has_contact


def _acc_frame(raw: npt.NDArray[np.integer], lsb_per_g: int) -> npt.NDArray[np.float32]:
    """One frame in g, the first ``_FS`` samples kept, nan-padded to ``_FS``."""
    frame = np.full((_FS, 3), np.nan, dtype=np.float32)
    n = min(_FS, raw.shape[0])
    frame[:n] = (raw[:n].astype(np.float64) / lsb_per_g).astype(np.float32)
    return frame


class _Builder:
    def __init__(self) -> None:
        self.hr: list[tuple[int, int, float, bool]] = []
        self.rr: list[tuple[int, float]] = []
        self.spo2: list[tuple[int, int, float]] = []
        self.temp: list[tuple[int, int, float]] = []
        self.acc_t: list[tuple[int, int]] = []
        self.acc: list[npt.NDArray[np.float32]] = []

    def add_hr(self, t: int, seq: int, bpm: int, contact: bool | None, rr: Iterable[int]) -> None:
        k = len(self.hr)
        self.hr.append((t, seq, *_hr_values(bpm, contact)))
        self.rr.extend((k, v * _RR_UNIT_MS) for v in rr)

    def add_acc(self, t: int, seq: int, raw: npt.NDArray[np.integer], lsb_per_g: int) -> None:
        self.acc_t.append((t, seq))
        self.acc.append(_acc_frame(raw, lsb_per_g))

    def tables(self) -> _Tables:
        # Epoch ms and sequence numbers are exact in float64 (< 2**53).
        def cols(rows: list[tuple[int, int, float]]) -> tuple[IntArray, IntArray, FloatArray]:
            a = np.array(rows, dtype=np.float64).reshape(-1, 3)
            return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2]

        h = np.array(self.hr, dtype=np.float64).reshape(-1, 4)
        rr = np.array(self.rr, dtype=np.float64).reshape(-1, 2)
        s_t, s_seq, s = cols(self.spo2)
        t_t, t_seq, tc = cols(self.temp)
        at = np.array(self.acc_t, dtype=np.int64).reshape(-1, 2)
        acc = np.stack(self.acc) if self.acc else np.empty((0, _FS, 3), dtype=np.float32)
        return _Tables(
            h[:, 0].astype(np.int64),
            h[:, 1].astype(np.int64),
            h[:, 2].astype(np.float64),
            h[:, 3].astype(np.bool_),
            rr[:, 0].astype(np.int64),
            rr[:, 1],
            s_t,
            s_seq,
            s,
            t_t,
            t_seq,
            tc,
            at[:, 0],
            at[:, 1],
            acc,
        )


def _celsius(m: TemperatureMeasurement) -> float:
    c = m.temperature.value
    if m.fahrenheit:
        c = (c - 32.0) * 5.0 / 9.0
    return round(c, 6)


def _order(t: IntArray, seq: IntArray) -> IntArray:
    """Indices of the first record of each sequence number, sorted by (time, sequence)."""
    _, first = np.unique(seq, return_index=True)
    return first[np.lexsort((seq[first], t[first]))]


def _cut(
    tables: _Tables,
    device: str,
    window_s: int,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    offset: bool = False,
) -> Iterator[WindowData]:
    # ``offset``: windows start at whole seconds, not on the window grid (overlapping
    # windows for a shorter assessment hop); then both ends are given.
    if window_s <= 0 or window_s % 60:
        raise ValueError(f"window_s must be a positive multiple of 60, got {window_s}")
    wms = window_s * 1000
    for name, value in (("start_ms", start_ms), ("end_ms", end_ms)):
        if value is not None and value % (1000 if offset else wms):
            unit = 1000 if offset else wms
            raise ValueError(f"{name} must be a multiple of {unit}, got {value}")
    times = [tables.hr_t, tables.spo2_t, tables.temp_t, tables.acc_t]
    if start_ms is not None and end_ms is not None:
        # Exactly these windows, empty ones at either end included.
        base, n_win = start_ms, max(0, (end_ms - start_ms) // wms)
    elif not any(t.size for t in times):
        return
    else:
        t_min = min(int(t.min()) for t in times if t.size)
        t_max = max(int(t.max()) for t in times if t.size)
        base = (t_min // wms) * wms if start_ms is None else max((t_min // wms) * wms, start_ms)
        if t_max < base:
            return
        n_win = t_max // wms - base // wms + 1
    if not n_win:
        return
    n_s = n_win * window_s

    def second_of(t: IntArray) -> IntArray:
        return (t - base) // 1000

    def from_base(t: IntArray, seq: IntArray) -> IntArray:
        # Samples before the first window are context only (temperature) or unused;
        # samples after the last are not this call's.
        o = _order(t, seq)
        return o[(t[o] >= base) & (t[o] < base + n_s * 1000)]

    hr = np.full(n_s, np.nan)
    contact = np.zeros(n_s, dtype=np.bool_)
    present = np.zeros(n_s, dtype=np.bool_)
    o = from_base(tables.hr_t, tables.hr_seq)
    sec = second_of(tables.hr_t[o])
    hr[sec], contact[sec], present[sec] = tables.hr_bpm[o], tables.hr_contact[o], True

    spo2 = np.full(n_s, np.nan)
    o = from_base(tables.spo2_t, tables.spo2_seq)
    sec = second_of(tables.spo2_t[o])
    spo2[sec], present[sec] = tables.spo2[o], True

    accel = np.full((n_s, _FS, 3), np.nan, dtype=np.float32)
    o = from_base(tables.acc_t, tables.acc_seq)
    sec = second_of(tables.acc_t[o])
    accel[sec], present[sec] = tables.acc[o], True
    accel_flat = accel.reshape(n_s * _FS, 3)

    ctx_min = TEMP_CONTEXT_S // 60
    temp = np.full(ctx_min + n_s // 60, np.nan)
    o = _order(tables.temp_t, tables.temp_seq)
    slot = (tables.temp_t[o] - (base - TEMP_CONTEXT_S * 1000)) // 60_000
    keep = (slot >= 0) & (slot < temp.size)
    temp[slot[keep]] = tables.temp[o][keep]

    # RR in the order of their (deduplicated, sorted) records, each record's order kept.
    o = _order(tables.hr_t, tables.hr_seq)
    rank = np.full(tables.hr_t.size, -1, dtype=np.int64)
    rank[o] = np.arange(o.size)
    rr_rank = rank[tables.rr_rec]
    ro = np.lexsort((np.arange(rr_rank.size), rr_rank))
    ro = ro[rr_rank[ro] >= 0]
    rr_ms = tables.rr_ms[ro]
    rr_sec = second_of(tables.hr_t[tables.rr_rec[ro]])
    bounds = np.searchsorted(rr_sec, np.arange(n_win + 1) * window_s)

    for i in range(n_win):
        s0, s1 = i * window_s, (i + 1) * window_s
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        m1 = (TEMP_CONTEXT_S + s1) // 60
        yield WindowData(
            start_ms=base + i * wms,
            device=device,
            hr_bpm=hr[s0:s1].copy(),
            rr_ms=rr_ms[lo:hi].copy(),
            rr_second=rr_sec[lo:hi] - s0,
            spo2_pct=spo2[s0:s1].copy(),
            temp_c=temp[m1 - ctx_min : m1].copy(),
            accel_g=accel_flat[s0 * _FS : s1 * _FS].copy(),
            contact=contact[s0:s1].copy(),
            present=present[s0:s1].copy(),
        )


def windows_from_records(
    records: Iterable[IngestRecord],
    window_s: int = WINDOW_S,
    start_ms: int | None = None,
    end_ms: int | None = None,
    device: str | None = None,
    max_gap_s: int | None = None,
) -> Iterator[WindowData]:
    """Cut one device's gateway records into windows aligned to multiples of ``window_s``.

    Payloads are decoded per stream in numpy batches (:mod:`wearable_core.features.decode`),
    giving exactly the contract decoders' values; samples are placed by
    ``aligned_time_ms`` (second ``(t - start) // 1000`` of the window). Every window from
    the first record's to the last record's is produced, empty ones included (they show
    as data gaps). Duplicate sequence numbers keep the first record.

    Parameters
    ----------
    records : Iterable[IngestRecord]
        Records of a single device, in any order.
    window_s : int, optional
        Window length, a positive multiple of 60 s (default 60).
    start_ms : int, optional
        Produce no window before this one (a multiple of ``window_s * 1000``): earlier
        records only give the temperature context. For incremental assessment, which
        reads 30 min of temperature before the first new window.
    end_ms : int, optional
        With ``start_ms``: produce exactly the windows from ``start_ms`` to this one
        (exclusive), empty ones at either end included, so that a data gap at the end of
        an assessment step is assessed (and flagged) like one in the middle.
    device : str, optional
        The device, for the empty windows of a range with no records at all.
    max_gap_s : int, optional
        Without ``end_ms``: a stretch of more than this many seconds without any record
        gives no windows at all (shorter ones still give empty windows), so the work and
        the output are bounded by the data present, not by the time it spans. Records
        before ``start_ms`` still only give temperature context.

    Yields
    ------
    WindowData
        In time order.

    Raises
    ------
    ValueError
        If the records come from more than one device, or ``start_ms`` is not on a
        window boundary.
    wearable_core.contracts.gatt.errors.PayloadError
        If a payload is one the contract decoders reject (the first such record).

    Examples
    --------
    >>> list(windows_from_records([]))
    []
    """
    rows = records if isinstance(records, list) else list(records)
    if max_gap_s is not None and end_ms is None and rows:
        return _spans(rows, window_s, start_ms, max_gap_s)
    if not rows:
        if device is None or start_ms is None or end_ms is None:
            return iter(())
        return _cut(_Builder().tables(), device, window_s, start_ms, end_ms)
    device, tables = _decode(rows)
    assert device is not None
    return _cut(tables, device, window_s, start_ms, end_ms)


def windows_overlapping(
    records: list[IngestRecord],
    start_ms: int,
    end_ms: int,
    hop_s: int,
    device: str,
    window_s: int = WINDOW_S,
) -> list[WindowData]:
    """Every ``window_s`` window that starts on a multiple of ``hop_s`` in ``[start_ms,
    end_ms - window_s]``, in time order: overlapping windows for assessing more often
    than once a window.

    The windows that start on the ``window_s`` grid are exactly those
    :func:`windows_from_records` cuts; the others are the same signals seen ``hop_s``,
    ``2 * hop_s``... later. Records are decoded once for all of them.

    Parameters
    ----------
    records : list[IngestRecord]
        Records of ``device`` covering ``[start_ms - TEMP_CONTEXT_S, end_ms)``.
    start_ms, end_ms : int
        Multiples of ``hop_s * 1000``; windows lie inside ``[start_ms, end_ms)``.
    hop_s : int
        A divisor of ``window_s``.
    device : str
        The device (for windows with no records).

    Raises
    ------
    ValueError
        If ``hop_s`` does not divide ``window_s`` or an end is off the hop grid.

    Examples
    --------
    >>> [w.start_ms for w in windows_overlapping([], 0, 120_000, 30, "d")]
    [0, 30000, 60000]
    """
    hop_ms, wms = hop_s * 1000, window_s * 1000
    if hop_s <= 0 or window_s % hop_s:
        raise ValueError(f"hop_s must divide window_s ({window_s}), got {hop_s}")
    if start_ms % hop_ms or end_ms % hop_ms:
        raise ValueError(f"start_ms and end_ms must be multiples of {hop_ms}")
    if end_ms - start_ms < wms:
        return []
    tables = _decode(records)[1] if records else _Builder().tables()
    out: list[WindowData] = []
    for first in range(start_ms, min(start_ms + wms, end_ms - wms + hop_ms), hop_ms):
        # Windows of one phase tile [first, last end) without overlap: one cut each.
        count = (end_ms - first) // wms
        out.extend(_cut(tables, device, window_s, first, first + count * wms, offset=True))
    out.sort(key=attrgetter("start_ms"))
    return out


def _spans(
    rows: list[IngestRecord], window_s: int, start_ms: int | None, max_gap_s: int
) -> Iterator[WindowData]:
    """The windows of each run of data, runs split by more than ``max_gap_s`` of nothing.

    Each run is cut on its own from its records and the temperature context before it,
    so every record is decoded at most twice however long the gaps are.
    """
    wms = window_s * 1000
    if start_ms is not None and start_ms % wms:
        raise ValueError(f"start_ms must be a multiple of {wms}, got {start_ms}")
    rows = sorted(rows, key=attrgetter("aligned_time_ms"))
    t = np.fromiter(map(attrgetter("aligned_time_ms"), rows), np.int64, len(rows))
    first = 0 if start_ms is None else int(np.searchsorted(t, start_ms))
    windows = np.unique(t[first:] // wms)
    if not windows.size:
        return
    breaks = np.flatnonzero(np.diff(windows) * wms > max_gap_s * 1000 + wms)
    run_lo = windows[np.r_[0, breaks + 1]] * wms
    run_hi = (windows[np.r_[breaks, windows.size - 1]] + 1) * wms
    if first > 0 and start_ms is not None and run_lo[0] - start_ms <= max_gap_s * 1000:
        # Records before start_ms: the windows start there, as without max_gap_s.
        run_lo[0] = start_ms
    context_ms = TEMP_CONTEXT_S * 1000
    for lo, hi in zip(run_lo.tolist(), run_hi.tolist(), strict=True):
        a, b = np.searchsorted(t, [lo - context_ms, hi])
        yield from windows_from_records(rows[int(a) : int(b)], window_s, lo, hi)


def _decode(rows: list[IngestRecord]) -> tuple[str | None, _Tables]:
    """The device and the decoded tables of non-empty ``rows``: batched where it can."""
    tables = _decode_batched(rows)
    if tables is None:
        # Several devices, or values numpy cannot hold: the per-record path raises (or
        # decodes) exactly as before.
        return _decode_per_record(rows)
    return rows[0].device, tables


def _decode_per_record(records: Iterable[IngestRecord]) -> tuple[str | None, _Tables]:
    """Reference decoding, one payload at a time with the contract codecs.

    :func:`_decode_batched` must give identical tables; the tests compare the two.
    """
    b = _Builder()
    device: str | None = None
    for r in records:
        if device is None:
            device = r.device
        elif r.device != device:
            raise ValueError(f"records of several devices: {device}, {r.device}")
        t = r.aligned_time_ms
        if r.stream is Stream.HEART_RATE:
            m = HeartRateMeasurement.from_bytes(r.payload)
            b.add_hr(t, r.seq, m.heart_rate, m.sensor_contact, m.rr_intervals or ())
        elif r.stream is Stream.SPO2:
            p = PlxContinuousMeasurement.from_bytes(r.payload)
            b.spo2.append((t, r.seq, round(p.spo2.value, 6)))
        elif r.stream is Stream.TEMPERATURE:
            b.temp.append((t, r.seq, _celsius(TemperatureMeasurement.from_bytes(r.payload))))
        else:
            f = AccelerometerFrame.from_bytes(r.payload)
            b.add_acc(t, r.seq, f.samples, f.lsb_per_g)
    return device, b.tables()


# Stream codes, matched by identity as the per-record path tests ``r.stream is Stream.X``;
# anything else is decoded as an accelerometer frame there, and so here.
_HR, _SPO2, _TEMP, _ACC = 0, 1, 2, 3


def _via_float(x: IntArray) -> IntArray:
    # The per-record path stores times and sequence numbers of HR, SpO2 and temperature
    # in float64 tables; mirror the round trip (exact below 2**53) to stay identical.
    return x.astype(np.float64).astype(np.int64)


def _decode_batched(records: list[IngestRecord]) -> _Tables | None:
    """Decode one device's records stream by stream with :mod:`wearable_core.features.decode`.

    Payloads the batch decoders do not accept are decoded one by one with the contract
    codecs, in record order, so an invalid payload raises the same error as in
    :func:`_decode_per_record`. Returns ``None`` when the records come from several
    devices or their times or sequence numbers do not fit ``int64``.
    """
    n = len(records)
    if len(set(map(attrgetter("device"), records))) > 1:
        return None
    try:
        t = np.fromiter(map(attrgetter("aligned_time_ms"), records), np.int64, n)
        seq = np.fromiter(map(attrgetter("seq"), records), np.int64, n)
    except (OverflowError, TypeError, ValueError):
        return None
    ids = np.fromiter(map(id, map(attrgetter("stream"), records)), np.uint64, n)
    code = np.full(n, _ACC, dtype=np.int8)
    for stream, k in ((Stream.HEART_RATE, _HR), (Stream.SPO2, _SPO2), (Stream.TEMPERATURE, _TEMP)):
        code[ids == id(stream)] = k
    payloads = list(map(attrgetter("payload"), records))
    idx = [np.flatnonzero(code == k) for k in (_HR, _SPO2, _TEMP, _ACC)]

    def packed(k: int) -> decode.Packed:
        return decode.Packed.of([payloads[i] for i in idx[k].tolist()])

    hr = decode.heart_rate_decode(packed(_HR))
    bpm = hr.heart_rate
    contact = np.where(hr.contact_supported, hr.contact_detected, bpm > 0)
    hr_bpm = np.where(contact & (bpm > 0), bpm.astype(np.float64), np.nan)
    rr_rec = [hr.rr_index]
    rr_ms = [hr.rr_raw.astype(np.float64) * _RR_UNIT_MS]
    spo2_ok, spo2 = decode.spo2_decode(packed(_SPO2))
    temp_ok, temp = decode.temperature_decode(packed(_TEMP))
    acc_ok, acc = decode.accel_decode(packed(_ACC), _FS)

    # The rest, in record order: the first invalid payload raises as it would per record.
    oks = (hr.ok, spo2_ok, temp_ok, acc_ok)
    redo = np.concatenate([idx[k][~oks[k]] for k in range(4)])
    rows = np.concatenate([np.flatnonzero(~oks[k]) for k in range(4)])
    for i in np.argsort(redo, kind="stable").tolist():
        k, row, data = int(code[redo[i]]), int(rows[i]), payloads[redo[i]]
        if k == _HR:
            m = HeartRateMeasurement.from_bytes(data)
            hr_bpm[row], contact[row] = _hr_values(m.heart_rate, m.sensor_contact)
            rr = np.array(m.rr_intervals or (), dtype=np.float64) * _RR_UNIT_MS
            rr_rec.append(np.full(rr.size, row, dtype=np.int64))
            rr_ms.append(rr)
        elif k == _SPO2:
            spo2[row] = round(PlxContinuousMeasurement.from_bytes(data).spo2.value, 6)
        elif k == _TEMP:
            temp[row] = _celsius(TemperatureMeasurement.from_bytes(data))
        else:
            f = AccelerometerFrame.from_bytes(data)
            acc[row] = _acc_frame(f.samples, f.lsb_per_g)
    rec = np.concatenate(rr_rec)
    # Stable: each record's RR keep their order.
    order = np.argsort(rec, kind="stable")
    return _Tables(
        _via_float(t[idx[_HR]]),
        _via_float(seq[idx[_HR]]),
        hr_bpm,
        contact,
        rec[order],
        np.concatenate(rr_ms)[order],
        _via_float(t[idx[_SPO2]]),
        _via_float(seq[idx[_SPO2]]),
        spo2,
        _via_float(t[idx[_TEMP]]),
        _via_float(seq[idx[_TEMP]]),
        temp,
        t[idx[_ACC]],
        seq[idx[_ACC]],
        acc,
    )


def _rows(directory: Path, stream: Stream, device: str) -> Iterator[dict[str, str]]:
    path = directory / record_csv.file_name(stream)
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["device"] == device:
                yield row


def _float(text: str) -> float:
    return float(text) if text else float("nan")


def windows_from_export(
    directory: str | Path, device: str, window_s: int = WINDOW_S
) -> Iterator[WindowData]:
    """Cut one device's records from ``wearable sim export`` CSVs into windows.

    Reads ``hr.csv``, ``spo2.csv``, ``temp.csv`` and ``accel.csv``
    (``wearable_core/contracts/record_csv.py``), placing samples by ``watch_timestamp_ms``.
    Otherwise as :func:`windows_from_records`: the same records give identical windows.

    Parameters
    ----------
    directory : str or Path
        Export (or truth, or gateway export) directory.
    device : str
        Device address to read.
    window_s : int, optional
        Window length, a positive multiple of 60 s (default 60).

    Yields
    ------
    WindowData
        In time order; nothing when the device has no records.
    """
    d = Path(directory)
    b = _Builder()
    ts, seq = "watch_timestamp_ms", "sequence"
    for row in _rows(d, Stream.HEART_RATE, device):
        c = row["sensor_contact"]
        rr = [int(v) for v in row["rr_intervals_1024"].split()]
        b.add_hr(
            int(row[ts]),
            int(row[seq]),
            int(row["heart_rate_bpm"]),
            None if c == "" else c == "1",
            rr,
        )
    for row in _rows(d, Stream.SPO2, device):
        b.spo2.append((int(row[ts]), int(row[seq]), _float(row["spo2_pct"])))
    for row in _rows(d, Stream.TEMPERATURE, device):
        b.temp.append((int(row[ts]), int(row[seq]), _float(row["temperature_c"])))
    for row in _rows(d, Stream.ACCEL, device):
        raw = np.array(
            [row["x"].split(), row["y"].split(), row["z"].split()], dtype=np.int64
        ).T.reshape(-1, 3)
        b.add_acc(int(row[ts]), int(row[seq]), raw, int(row["lsb_per_g"]))
    return _cut(b.tables(), device, window_s)
