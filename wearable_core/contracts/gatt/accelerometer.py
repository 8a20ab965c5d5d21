"""Accelerometer frames: the payload of our custom ACCEL_RECORD_CHAR records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Self

import numpy as np
import numpy.typing as npt

from ._codec import Reader, decode, int_check, uint_check
from .errors import PayloadError

#: Little-endian int16, the on-wire sample type.
_WIRE_DTYPE: Final = np.dtype("<i2")
_INT16_MIN: Final = -32768
_INT16_MAX: Final = 32767


@dataclass(frozen=True, slots=True, eq=False)
class AccelerometerFrame:
    """A burst of 3-axis accelerometer samples.

    Layout (little-endian): sample rate ``uint16`` Hz, scale ``uint16`` LSB per g, sample
    count ``uint8`` n (1..255), then n samples of (x, y, z) ``int16``: ``5 + 6 n`` bytes.

    ``samples`` is stored as a read-only ``(n, 3)`` int16 array. Equality compares the
    sample values, and the hash is derived from them, so frames work in sets and as keys.

    At 255 samples the frame is 1535 bytes, beyond the 512-byte attribute maximum; with
    the 12-byte record header, a notification holds at most 82 samples (MTU permitting).
    """

    sample_rate_hz: int
    lsb_per_g: int
    samples: npt.NDArray[np.int16]

    HEADER_SIZE: ClassVar[int] = 5
    MAX_SAMPLES: ClassVar[int] = 255

    def __post_init__(self) -> None:
        name = type(self).__name__
        int_check(name, "sample_rate_hz", self.sample_rate_hz, 1, 0xFFFF, "it is a uint16 > 0")
        int_check(name, "lsb_per_g", self.lsb_per_g, 1, 0xFFFF, "it is a uint16 > 0")
        samples = np.asarray(self.samples)
        if samples.dtype != np.int16:
            if samples.dtype.kind not in "iu":
                raise PayloadError(
                    b"",
                    f"{name}.samples",
                    f"dtype {samples.dtype} is not integer; use AccelerometerFrame.from_g "
                    "to scale and round values in g",
                )
            if samples.size and (samples.min() < _INT16_MIN or samples.max() > _INT16_MAX):
                raise PayloadError(b"", f"{name}.samples", "values do not fit in int16")
        if samples.ndim != 2 or samples.shape[1] != 3:
            raise PayloadError(
                b"", f"{name}.samples", f"shape {samples.shape} is not (n, 3) for x, y, z"
            )
        int_check(name, "samples", samples.shape[0], 1, self.MAX_SAMPLES, "n is the row count")
        if samples.flags.writeable or not samples.flags.c_contiguous or samples.dtype != np.int16:
            # A private read-only copy keeps the frozen frame (and its hash) immutable.
            samples = np.array(samples, dtype=np.int16, order="C", copy=True)
            samples.flags.writeable = False
        object.__setattr__(self, "samples", samples)

    @property
    def sample_count(self) -> int:
        """Number of (x, y, z) samples."""
        return int(self.samples.shape[0])

    @property
    def samples_g(self) -> npt.NDArray[np.float32]:
        """Samples in units of g (float32), i.e. raw / lsb_per_g."""
        return self.samples.astype(np.float32) / np.float32(self.lsb_per_g)

    @classmethod
    def from_g(cls, samples_g: npt.ArrayLike, sample_rate_hz: int, lsb_per_g: int) -> Self:
        """Quantise ``samples_g`` (shape (n, 3), in g) to raw counts: round half to even and
        saturate to the int16 range. Raises :class:`PayloadError` on NaN or infinity."""
        uint_check(cls.__name__, "lsb_per_g", lsb_per_g, 16)
        values = np.asarray(samples_g, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise PayloadError(b"", f"{cls.__name__}.samples", "contains NaN or infinity")
        raw = np.clip(np.rint(values * lsb_per_g), _INT16_MIN, _INT16_MAX).astype(np.int16)
        return cls(sample_rate_hz, lsb_per_g, raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode exactly ``5 + 6 n`` bytes; raise :class:`PayloadError` otherwise."""
        return decode(data, cls.__name__, cls._read)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        rate = reader.u16("sample_rate_hz")
        lsb = reader.u16("lsb_per_g")
        count = reader.u8("sample_count")
        if count == 0:
            raise reader.error("sample_count", "a frame holds 1..255 samples, got 0")
        raw = reader.take(6 * count, "samples")
        samples = np.frombuffer(raw, dtype=_WIRE_DTYPE).reshape(count, 3)
        return cls(rate, lsb, samples.astype(np.int16, copy=False))

    def __bytes__(self) -> bytes:
        header = (
            self.sample_rate_hz.to_bytes(2, "little")
            + self.lsb_per_g.to_bytes(2, "little")
            + bytes((self.sample_count,))
        )
        return header + self.samples.astype(_WIRE_DTYPE, copy=False).tobytes()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccelerometerFrame):
            return NotImplemented
        return (
            self.sample_rate_hz == other.sample_rate_hz
            and self.lsb_per_g == other.lsb_per_g
            and bool(np.array_equal(self.samples, other.samples))
        )

    def __hash__(self) -> int:
        return hash((self.sample_rate_hz, self.lsb_per_g, self.samples.tobytes()))
