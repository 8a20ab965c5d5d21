"""The record block codec: a run of one stream's records as one compressed BLOB.

Pure functions, no I/O (the record log in ``records.py`` stores the blocks). A block holds
``n`` records with consecutive sequence numbers; the sequence numbers themselves are the
row's key (``start_seq``, ``end_seq``), not part of the BLOB. See ``docs/store.md``.

Layout before compression (little-endian), then ``zlib`` on all of it after the first
byte::

    u8  format version (1), uncompressed
    u32 n                       records in the block
    u8  payload mode            0 variable, 1 fixed length, 2 fixed length int16 samples
    u32 L                       payload length (modes 1 and 2; 0 otherwise)
    u16 H, u16 C                mode 2: header bytes before the samples, channels
    3 x n int64                 watch, gateway, aligned time: first value, then differences
    n u8                        backfilled
    mode 0: n u32 lengths, then the payloads concatenated
    mode 1: the n x L payload bytes transposed (byte i of every record together)
    mode 2: the n x H headers transposed, then the samples of the whole block as one
            signal per channel, differenced along time (int16, wrapping), zigzag-mapped
            to unsigned, split into low and high byte planes

Why these transforms: consecutive timestamps differ by a near-constant period, so their
differences compress to almost nothing; the bytes at one offset of fixed-length payloads
(a heart rate, a flags byte) repeat from record to record; and the accelerometer's
samples change little from one sample to the next, so differences along time need about
6.5 bits a sample where the raw values need 10. Every transform is exactly invertible
for any bytes (wrapping int16 arithmetic), so the codec is lossless whatever a payload
holds.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.gatt.accelerometer import AccelerometerFrame
from wearable_core.contracts.streams import Stream

__all__ = [
    "BLOCK_RECORDS",
    "SMALL_BLOCK_RECORDS",
    "BlockError",
    "BlockRow",
    "DecodedBlock",
    "SampleLayout",
    "block_decode",
    "block_encode",
    "block_records",
    "layout_for",
    "pieces",
]

FORMAT_VERSION: Final = 1
#: Records per accelerometer block at most. Blocks never cross a multiple of their
#: stream's size (``seq // size`` is the block's chunk), so a run arriving in pieces
#: always completes the same block. 256 one-second frames are ~4 minutes, ~16 kB
#: compressed: a 60 s window decodes at most two blocks, and bigger blocks compress only
#: a few percent better (measured: 64 -> 256 saves 8 %).
BLOCK_RECORDS: Final = 256
#: Records per block of the other streams. Their records are 4-12 bytes: 256 of them
#: compress to ~1 kB, just over what SQLite keeps in a 4 kB page's cell, so each block
#: would spill a few hundred bytes into an overflow page of its own (measured: 1.1 MB a
#: watch-day of empty page space); 1024 fill their overflow page.
SMALL_BLOCK_RECORDS: Final = 1024
#: zlib level: 6 is zlib's default, within a few percent of 9 here at a fraction of the CPU.
ZLIB_LEVEL: Final = 6

_VARIABLE, _FIXED, _SAMPLES = 0, 1, 2
_HEAD = struct.Struct("<IBIHH")
_I64: Final = np.dtype("<i8")
_I16: Final = np.dtype("<i2")
_U32: Final = np.dtype("<u4")
_U16: Final = np.dtype("<u2")

#: watch_time_ms, gateway_time_ms, aligned_time_ms, payload, backfilled (seq is the key)
BlockRow = tuple[int, int, int, bytes, bool]


class BlockError(ValueError):
    """A BLOB that is not a record block this codec can read (damaged or foreign)."""


@dataclass(frozen=True)
class SampleLayout:
    """Payloads that are ``header_bytes`` then int16 samples of ``channels`` interleaved."""

    header_bytes: int
    channels: int


#: The accelerometer frame: a 5-byte header, then int16 (x, y, z) samples.
_ACCEL_LAYOUT: Final = SampleLayout(AccelerometerFrame.HEADER_SIZE, 3)


def layout_for(stream_wire_id: int) -> SampleLayout | None:
    """The sample layout hint for a stream's payloads (only the accelerometer has one)."""
    return _ACCEL_LAYOUT if stream_wire_id == Stream.ACCEL.wire_id else None


def block_records(stream_wire_id: int) -> int:
    """The most records a block of this stream holds (its chunk size)."""
    return BLOCK_RECORDS if stream_wire_id == Stream.ACCEL.wire_id else SMALL_BLOCK_RECORDS


def pieces(seqs: npt.NDArray[np.int64], chunk: int = BLOCK_RECORDS) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of sorted, distinct ``seqs`` that can each be one block.

    A piece is a run of consecutive sequence numbers within one chunk of ``chunk``
    (:func:`block_records`): it breaks where a number is skipped or a chunk starts.
    """
    if len(seqs) == 0:
        return []
    breaks = np.flatnonzero((np.diff(seqs) != 1) | (seqs[1:] % chunk == 0)) + 1
    return list(itertools.pairwise([0, *breaks.tolist(), len(seqs)]))


def _zigzag(values: npt.NDArray[np.int16]) -> npt.NDArray[np.uint16]:
    """Map small signed differences to small unsigned ones (0, -1, 1, -2 -> 0, 1, 2, 3).

    Then the high byte of a difference within +-127 is 0 instead of 0 or 0xFF, and the
    high byte plane compresses to a fraction (measured: accelerometer 6.4 -> 5.2 MB a day).
    """
    bits = values.view(_U16)
    return ((bits << 1) ^ (values >> 15).view(_U16)).astype(_U16)


def _unzigzag(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.int16]:
    """The inverse of :func:`_zigzag`."""
    return ((values >> 1) ^ (-(values & 1).astype(np.int32)).astype(_U16)).view(_I16)


def _deltas(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = values.copy()
    out[1:] -= values[:-1]
    return out


def block_encode(rows: Sequence[BlockRow], layout: SampleLayout | None = None) -> bytes:
    """Encode ``rows`` (consecutive sequence numbers, in order) as one block.

    ``layout`` describes the stream's payloads when they are fixed-length int16 samples
    (the accelerometer); it is only a hint: payloads that do not fit it are stored with
    the generic transforms, and :func:`block_decode` needs no hint.
    """
    n = len(rows)
    if n == 0:
        raise BlockError("a block holds at least one record")
    times = np.array([(r[0], r[1], r[2]) for r in rows], dtype=np.int64).T
    backfilled = np.fromiter((1 if r[4] else 0 for r in rows), dtype=np.uint8, count=n)
    payloads = [r[3] for r in rows]
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=n)
    joined = b"".join(payloads)
    length = int(lengths[0])
    fixed = bool(np.all(lengths == length)) and length > 0
    header, channels = 0, 0
    if not fixed:
        mode = _VARIABLE
        body = lengths.astype(_U32).tobytes() + joined
    elif (
        layout is not None
        and length > layout.header_bytes
        and (length - layout.header_bytes) % (2 * layout.channels) == 0
    ):
        mode, header, channels = _SAMPLES, layout.header_bytes, layout.channels
        matrix = np.frombuffer(joined, dtype=np.uint8).reshape(n, length)
        heads = matrix[:, :header].T.tobytes()
        signal = np.ascontiguousarray(matrix[:, header:]).view(_I16).reshape(-1, channels)
        diff = signal.copy()
        diff[1:] -= signal[:-1]  # int16 arithmetic wraps: exactly invertible
        planes = _zigzag(diff.T.copy()).view(np.uint8).reshape(channels, -1, 2)
        body = heads + planes[:, :, 0].tobytes() + planes[:, :, 1].tobytes()
    else:
        mode = _FIXED
        body = np.frombuffer(joined, dtype=np.uint8).reshape(n, length).T.tobytes()
    raw = (
        _HEAD.pack(n, mode, length if fixed else 0, header, channels)
        + np.concatenate([_deltas(t) for t in times]).astype(_I64).tobytes()
        + backfilled.tobytes()
        + body
    )
    return bytes([FORMAT_VERSION]) + zlib.compress(raw, ZLIB_LEVEL)


@dataclass(frozen=True)
class DecodedBlock:
    """The columns of a decoded block, one entry per record, in sequence order."""

    watch_ms: npt.NDArray[np.int64]
    gateway_ms: npt.NDArray[np.int64]
    aligned_ms: npt.NDArray[np.int64]
    backfilled: npt.NDArray[np.bool_]
    payloads: list[bytes]

    def __len__(self) -> int:
        """Records in the block."""
        return len(self.payloads)

    def rows(self, start: int = 0, stop: int | None = None) -> list[BlockRow]:
        """Records ``[start, stop)`` of the block as rows (indexes, not sequence numbers)."""
        sl = slice(start, stop)
        return list(
            zip(
                self.watch_ms[sl].tolist(),
                self.gateway_ms[sl].tolist(),
                self.aligned_ms[sl].tolist(),
                self.payloads[sl],
                self.backfilled[sl].tolist(),
                strict=True,
            )
        )


def block_decode(blob: bytes) -> DecodedBlock:
    """The records of a block made by :func:`block_encode`; :class:`BlockError` if damaged."""
    if not blob or blob[0] != FORMAT_VERSION:
        raise BlockError(f"not a record block of format {FORMAT_VERSION}")
    try:
        raw = zlib.decompress(blob[1:])
        n, mode, length, header, channels = _HEAD.unpack_from(raw)
        at = _HEAD.size
        times = np.frombuffer(raw, dtype=_I64, count=3 * n, offset=at).reshape(3, n)
        at += 24 * n
        times = np.cumsum(times, axis=1, dtype=np.int64)
        backfilled = np.frombuffer(raw, dtype=np.uint8, count=n, offset=at).astype(bool)
        at += n
        if mode == _VARIABLE:
            lengths = np.frombuffer(raw, dtype=_U32, count=n, offset=at).astype(np.int64)
            at += 4 * n
            ends = (np.cumsum(lengths) + at).tolist()
            starts = [at, *ends[:-1]]
            payloads = [raw[a:b] for a, b in zip(starts, ends, strict=True)]
            if ends[-1] != len(raw):
                raise BlockError("payload bytes do not match their lengths")
        else:
            if len(raw) - at != n * length:
                raise BlockError("payload bytes do not match the block's length")
            if mode == _FIXED:
                cols = np.frombuffer(raw, dtype=np.uint8, offset=at).reshape(length, n)
                matrix = cols.T
            elif mode == _SAMPLES:
                heads = np.frombuffer(raw, dtype=np.uint8, count=header * n, offset=at)
                at += header * n
                planes = np.frombuffer(raw, dtype=np.uint8, offset=at).reshape(2, channels, -1)
                diff = _unzigzag(np.ascontiguousarray(planes.transpose(1, 2, 0)).view(_U16))
                signal = np.cumsum(diff.reshape(channels, -1), axis=1, dtype=np.int16).T
                matrix = np.empty((n, length), dtype=np.uint8)
                matrix[:, :header] = heads.reshape(header, n).T
                matrix[:, header:] = np.ascontiguousarray(signal).view(np.uint8).reshape(n, -1)
            else:
                raise BlockError(f"unknown payload mode {mode}")
            flat = np.ascontiguousarray(matrix).tobytes()
            payloads = [flat[i : i + length] for i in range(0, n * length, length)]
    except (zlib.error, struct.error, ValueError) as exc:
        if isinstance(exc, BlockError):
            raise
        raise BlockError(f"damaged record block: {exc}") from exc
    return DecodedBlock(times[0], times[1], times[2], backfilled, payloads)
