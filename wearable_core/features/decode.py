"""Vectorised batch decoding of many payloads of one stream at once.

The contract codecs (``wearable_core/contracts/gatt/``) decode one payload into a dataclass;
at ~260,000 records per watch-day that per-record Python work dominated the feature
pipeline. Here all payloads of one stream are joined into one ``uint8`` buffer and every
field is read with numpy at per-record byte offsets computed from the flags byte, so the
cost is a few array passes per stream whatever the mix of flag combinations.

Every decoder returns an ``ok`` mask: ``True`` only for payloads the contract decoder
accepts *and* that were decoded here with bit-identical values. The caller decodes the
others one by one with the contract codecs (which then either give the same values or
raise the same :class:`~wearable_core.contracts.gatt.errors.PayloadError`), so the fast path
never changes behaviour, it only skips work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

# The attribute-size limit the Heart Rate codec enforces on RR-carrying payloads.
from wearable_core.contracts.gatt._codec import MAX_ATTRIBUTE_VALUE_SIZE
from wearable_core.contracts.gatt.ieee11073 import Float32

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
U8Array = npt.NDArray[np.uint8]

#: RR-Interval unit in ms (1/1024 s), as the window builder multiplies it.
RR_UNIT_MS: Final = 1000.0 / 1024.0

# Exact powers of ten: every 10**k with k <= 22 is a float64 without rounding, so
# ``m / 10**k`` and ``m * 10**k`` round once, exactly like the codecs' int arithmetic.
_MAX_EXACT_POW10: Final = 22
_POW10: Final = np.array([float(10**k) for k in range(_MAX_EXACT_POW10 + 1)])
# round(x, 6) is computed as rint(x * 1e6) / 1e6, which is exact below this magnitude.
_ROUND6_LIMIT: Final = 1e9


@dataclass(frozen=True)
class Packed:
    """Payloads of one stream joined into one buffer.

    Attributes
    ----------
    buf : numpy.ndarray
        ``uint8``: all payloads back to back, plus 8 zero bytes of padding so that reads
        of rejected (short) payloads stay inside the buffer.
    start : numpy.ndarray
        ``int64 (n,)`` offset of each payload in ``buf``.
    length : numpy.ndarray
        ``int64 (n,)`` payload lengths.
    """

    buf: U8Array
    start: IntArray
    length: IntArray

    @classmethod
    def of(cls, payloads: Sequence[bytes]) -> Packed:
        """Join ``payloads`` (one Python pass for the lengths, one ``bytes.join``).

        Parameters
        ----------
        payloads : Sequence[bytes]
            Payloads of one stream.

        Returns
        -------
        Packed
            The joined buffer with each payload's offset and length.
        """
        length = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
        start = np.cumsum(length) - length
        buf = np.frombuffer(b"".join(payloads) + bytes(8), dtype=np.uint8)
        return cls(buf, start, length)

    def u8(self, offset: IntArray | int) -> IntArray:
        """The byte at ``start + offset`` of every payload, as ``int64``."""
        pos: IntArray = np.minimum(self.start + offset, self.buf.size - 1)
        out: IntArray = self.buf[pos].astype(np.int64)
        return out

    def uint(self, offset: IntArray | int, size: int) -> IntArray:
        """Little-endian unsigned field of ``size`` bytes at ``start + offset``."""
        out = self.u8(offset)
        for k in range(1, size):
            out |= self.u8(offset + k) << (8 * k)
        return out


def sfloat_values(raw: IntArray) -> FloatArray:
    """Values of IEEE 11073 16-bit SFLOAT words, as ``SFloat.from_raw(raw).value``.

    Parameters
    ----------
    raw : numpy.ndarray
        ``int64`` words 0..0xFFFF.

    Returns
    -------
    numpy.ndarray
        ``float64``: NaN for NaN/NRes/reserved, +/-inf for the infinities.

    Examples
    --------
    >>> sfloat_values(np.array([0xF3D2, 0x07FF, 0x07FE])).tolist()
    [97.8, nan, inf]
    """
    values, _ = _medical_values(raw, 12, 4)
    return values


def float32_values(raw: IntArray) -> tuple[FloatArray, BoolArray]:
    """Values of IEEE 11073 32-bit FLOAT words, as ``Float32.from_raw(raw).value``.

    Parameters
    ----------
    raw : numpy.ndarray
        ``int64`` words 0..0xFFFFFFFF.

    Returns
    -------
    values : numpy.ndarray
        ``float64``, special values mapped as the codec maps them.
    exact : numpy.ndarray
        ``bool``: False where ``|exponent| > 22`` (``10**|e|`` is not a float64); those
        entries are computed with the codec itself, one by one (never met in practice).

    Examples
    --------
    >>> float32_values(np.array([0xFE000D6D]))[0].tolist()
    [34.37]
    """
    values, exact = _medical_values(raw, 24, 8)
    for i in np.flatnonzero(~exact):
        values[i] = Float32.from_raw(int(raw[i])).value
    return values, exact


def _medical_values(raw: IntArray, m_bits: int, e_bits: int) -> tuple[FloatArray, BoolArray]:
    mantissa = raw & ((1 << m_bits) - 1)
    mantissa = np.where(mantissa >= 1 << (m_bits - 1), mantissa - (1 << m_bits), mantissa)
    exponent = raw >> m_bits
    exponent = np.where(exponent >= 1 << (e_bits - 1), exponent - (1 << e_bits), exponent)
    exact = np.abs(exponent) <= _MAX_EXACT_POW10
    scale = _POW10[np.minimum(np.abs(exponent), _MAX_EXACT_POW10)]
    m = mantissa.astype(np.float64)
    values = np.where(exponent < 0, m / scale, m * scale)
    # The special words exist only at exponent 0 (ieee11073._special_mantissas).
    top = (1 << (m_bits - 1)) - 1
    at0 = exponent == 0
    values[at0 & np.isin(mantissa, (top, -top - 1, -top))] = np.nan
    values[at0 & (mantissa == top - 1)] = np.inf
    values[at0 & (mantissa == -top + 1)] = -np.inf
    return values, exact


def round6(x: FloatArray) -> FloatArray:
    """``round(v, 6)`` of every element, bit for bit as Python's correctly rounded
    :func:`round` (half to even on the exact binary value).

    ``rint(x * 1e6) / 1e6`` gives the same double unless the product's rounding moved it
    across a half-integer; those near-ties (and huge values) are redone with :func:`round`.

    Parameters
    ----------
    x : numpy.ndarray
        ``float64`` values.

    Returns
    -------
    numpy.ndarray
        ``float64``, NaN and infinities unchanged.

    Examples
    --------
    >>> round6(np.array([0.1234565, 2.5e-7, -1e-9, 36.6])).tolist() == [
    ...     round(0.1234565, 6), round(2.5e-7, 6), -0.0, 36.6]
    True
    """
    with np.errstate(invalid="ignore", over="ignore"):
        p = x * 1e6
        frac = p - np.floor(p)
        out: FloatArray = np.rint(p) / 1e6
        finite = np.isfinite(x)
        redo = finite & (
            (np.abs(x) >= _ROUND6_LIMIT) | (np.abs(frac - 0.5) <= 4.0 * np.spacing(np.abs(p)))
        )
    out[~finite] = x[~finite]
    for i in np.flatnonzero(redo):
        out[i] = round(float(x[i]), 6)
    return out


@dataclass(frozen=True)
class HeartRateBatch:
    """Decoded Heart Rate Measurements (0x2A37), one row per payload.

    Attributes
    ----------
    ok : numpy.ndarray
        ``bool``: decoded here (False: use the codec for that payload).
    heart_rate : numpy.ndarray
        ``int64`` bpm (uint8 or uint16 as flagged).
    contact_supported, contact_detected : numpy.ndarray
        ``bool``, flag bits 2 and 1.
    rr_index : numpy.ndarray
        ``int64``: the payload (row) each RR interval came from, rows in order.
    rr_raw : numpy.ndarray
        ``int64`` RR intervals, 1/1024 s, in payload order.
    """

    ok: BoolArray
    heart_rate: IntArray
    contact_supported: BoolArray
    contact_detected: BoolArray
    rr_index: IntArray
    rr_raw: IntArray


def heart_rate_decode(p: Packed) -> HeartRateBatch:
    """Decode Heart Rate Measurements of every flag combination at once.

    Layout (``HeartRateMeasurement``): flags; rate uint8 or uint16 (bit 0); energy
    uint16 (bit 3); RR uint16s filling the rest (bit 4: one or more, whole uint16s, the
    payload at most 512 bytes). Without bit 4 the length must be exact.

    Parameters
    ----------
    p : Packed
        Heart-rate payloads.

    Returns
    -------
    HeartRateBatch
        Values of the accepted payloads (``ok``); other rows are meaningless.
    """
    flags = np.where(p.length >= 1, p.u8(0) & 0x1F, 0)
    wide = (flags & 0x01) != 0
    rr_flag = (flags & 0x10) != 0
    base = 2 + wide + 2 * ((flags & 0x08) != 0)
    tail = p.length - base
    ok = (p.length >= 1) & np.where(
        rr_flag,
        (tail > 0) & (tail % 2 == 0) & (p.length <= MAX_ATTRIBUTE_VALUE_SIZE),
        tail == 0,
    )
    heart_rate = np.where(wide, p.uint(1, 2), p.u8(1))
    counts = np.where(ok & rr_flag, tail // 2, 0)
    rr_index = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    # Position of each RR within its payload: running index minus its payload's first.
    first = np.cumsum(counts) - counts
    k = np.arange(rr_index.size, dtype=np.int64) - first[rr_index]
    pos = p.start[rr_index] + base[rr_index] + 2 * k
    rr_raw = p.buf[pos].astype(np.int64) | (p.buf[pos + 1].astype(np.int64) << 8)
    return HeartRateBatch(
        ok, heart_rate, (flags & 0x04) != 0, (flags & 0x02) != 0, rr_index, rr_raw
    )


def spo2_decode(p: Packed) -> tuple[BoolArray, FloatArray]:
    """SpO2 of PLX Continuous Measurements, ``round(m.spo2.value, 6)``.

    Layout (``PlxContinuousMeasurement``): flags; SpO2 SFLOAT at offset 1; PR; then
    SpO2PR-Fast (bit 0, 4 bytes), -Slow (bit 1, 4), Measurement Status (bit 2, 2),
    Device and Sensor Status (bit 3, 3), Pulse Amplitude Index (bit 4, 2). Only the
    exact length is checked: status fields are masked, never rejected, by the codec.

    Parameters
    ----------
    p : Packed
        SpO2 payloads.

    Returns
    -------
    ok : numpy.ndarray
        ``bool``: decoded here.
    spo2 : numpy.ndarray
        ``float64`` %, NaN for the SFLOAT NaN/NRes/reserved words.
    """
    f = np.where(p.length >= 1, p.u8(0), 0)
    size = 5 + 4 * (f & 1) + 4 * ((f >> 1) & 1) + 2 * ((f >> 2) & 1)
    size += 3 * ((f >> 3) & 1) + 2 * ((f >> 4) & 1)
    ok = (p.length >= 1) & (p.length == size)
    return ok, round6(sfloat_values(p.uint(1, 2)))


def temperature_decode(p: Packed) -> tuple[BoolArray, FloatArray]:
    """Temperature Measurements in Celsius, as the window builder's ``_celsius``.

    Layout (``TemperatureMeasurement``): flags (bit 0 Fahrenheit, bit 1 Date Time,
    bit 2 type); FLOAT at offset 1; Date Time (7 bytes, fields range-checked as
    ``DateTime`` does) if bit 1; type uint8 if bit 2. The value is
    ``round((v - 32) * 5 / 9, 6)`` for Fahrenheit, ``round(v, 6)`` for Celsius.

    Parameters
    ----------
    p : Packed
        Temperature payloads.

    Returns
    -------
    ok : numpy.ndarray
        ``bool``: decoded here.
    celsius : numpy.ndarray
        ``float64`` degrees Celsius.
    """
    f = np.where(p.length >= 1, p.u8(0), 0)
    stamped = (f & 0x02) != 0
    ok = (p.length >= 1) & (p.length == 5 + 7 * stamped + ((f >> 2) & 1))
    year = p.uint(5, 2)
    date_ok = (year == 0) | ((year >= 1582) & (year <= 9999))
    for offset, high in ((7, 12), (8, 31), (9, 23), (10, 59), (11, 59)):
        date_ok &= p.u8(offset) <= high
    ok &= ~stamped | date_ok
    value, _ = float32_values(p.uint(1, 4))
    with np.errstate(invalid="ignore", over="ignore"):
        celsius = np.where((f & 0x01) != 0, (value - 32.0) * 5.0 / 9.0, value)
    return ok, round6(celsius)


def accel_decode(p: Packed, frame_samples: int) -> tuple[BoolArray, npt.NDArray[np.float32]]:
    """Accelerometer frames in g, as the window builder's ``add_acc``.

    Layout (``AccelerometerFrame``): rate uint16 (>= 1), LSB per g uint16 (>= 1), count
    uint8 n (>= 1), n x (x, y, z) int16: exactly ``5 + 6 n`` bytes. Frames are grouped by
    n (one numpy pass per distinct n); the first ``min(n, frame_samples)`` samples are
    ``float32(raw / lsb)``, the rest NaN.

    Parameters
    ----------
    p : Packed
        Accelerometer payloads.
    frame_samples : int
        Samples kept per frame (the sampling rate: one frame is 1 s).

    Returns
    -------
    ok : numpy.ndarray
        ``bool``: decoded here.
    frames : numpy.ndarray
        ``float32 (n, frame_samples, 3)``.
    """
    n = p.length.size
    count = p.u8(4)
    lsb = p.uint(2, 2)
    ok = (p.length >= 5) & (count >= 1) & (p.length == 5 + 6 * count)
    ok &= (p.uint(0, 2) >= 1) & (lsb >= 1)
    frames = np.full((n, frame_samples, 3), np.nan, dtype=np.float32)
    for c in np.unique(count[ok]):
        rows = np.flatnonzero(ok & (count == c))
        keep = min(int(c), frame_samples)
        size = 5 + 6 * int(c)
        if rows.size == n and p.buf.size == n * size + 8:
            # Every payload has this layout: a reshape, no gather.
            block = p.buf[: n * size].reshape(n, size)[:, 5 : 5 + 6 * keep]
        else:
            block = p.buf[p.start[rows][:, None] + np.arange(5, 5 + 6 * keep)]
        raw = np.ascontiguousarray(block).view("<i2").reshape(rows.size, keep, 3)
        g = raw.astype(np.float64) / lsb[rows, None, None].astype(np.float64)
        frames[rows, :keep] = g.astype(np.float32)
    return ok, frames
