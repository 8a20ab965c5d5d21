"""Deterministic radio identity of a simulated watch, derived from its seed."""

from __future__ import annotations

import numpy as np


def static_random_address(seed: int) -> str:
    """A BLE random static address (two most significant bits set), same for the same seed.

    Examples
    --------
    >>> static_random_address(7) == static_random_address(7)
    True
    >>> int(static_random_address(7)[:2], 16) >> 6
    3
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xADD2])))
    raw = bytearray(rng.integers(0, 256, size=6, dtype=np.uint8).tobytes())
    raw[0] |= 0xC0
    # A static address may not be all ones or all zeros in its random part.
    if all(b == 0xFF for b in raw[1:]) and raw[0] == 0xFF:
        raw[5] = 0xFE
    return ":".join(f"{b:02X}" for b in raw)


def identity_resolving_key(seed: int) -> bytes:
    """The watch's 16-byte IRK, distributed when bonding."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x1B4])))
    return rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
