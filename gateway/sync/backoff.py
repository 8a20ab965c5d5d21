"""Exponential backoff with jitter for uploads that failed transiently."""

from __future__ import annotations

import random


def backoff_delay_s(attempts: int, rng: random.Random, *, base_s: float, cap_s: float) -> float:
    """Delay before retry number ``attempts`` (1 = first retry).

    "Equal jitter": half the exponential delay is fixed, half is uniform random, so
    retries spread out (many gateways recovering from one bucket outage do not retry in
    lockstep) but never come back sooner than half the nominal delay.

    Examples
    --------
    >>> rng = random.Random(0)
    >>> [round(backoff_delay_s(n, rng, base_s=10, cap_s=60), 1) for n in (1, 2, 3, 8)]
    [9.2, 17.6, 28.4, 37.8]
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    nominal = min(cap_s, base_s * 2.0 ** (attempts - 1))
    return nominal / 2 + rng.uniform(0, nominal / 2)
