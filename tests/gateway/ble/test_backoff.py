"""The reconnect backoff policy: doubling, caps, reset, jitter, and what is a security failure."""

from __future__ import annotations

import random

import pytest
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from gateway.ble.backoff import (
    SECURITY_BACKOFF_MAX_S,
    ReconnectBackoff,
    is_security_failure,
)


def _delays(backoff: ReconnectBackoff, n: int, *, security: bool) -> list[float]:
    return [backoff.next_delay(security=security) for _ in range(n)]


def test_security_failures_double_from_1_s_to_a_5_minute_cap() -> None:
    backoff = ReconnectBackoff(1.0, 60.0, jitter=0.0, rng=random.Random(1))
    delays = _delays(backoff, 12, security=True)
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert SECURITY_BACKOFF_MAX_S == 300.0


def test_ordinary_failures_double_to_backoff_max_s() -> None:
    backoff = ReconnectBackoff(1.0, 60.0, jitter=0.0, rng=random.Random(1))
    assert _delays(backoff, 8, security=False) == [1, 2, 4, 8, 16, 32, 60, 60]


def test_an_ordinary_failure_after_security_ones_waits_no_more_than_backoff_max_s() -> None:
    backoff = ReconnectBackoff(1.0, 60.0, jitter=0.0, rng=random.Random(1))
    _delays(backoff, 10, security=True)
    assert backoff.next_delay(security=False) == 60.0
    # ... and a security failure then doubles again from there.
    assert _delays(backoff, 2, security=True) == [60.0, 120.0]


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = ReconnectBackoff(0.5, 4.0, jitter=0.0, rng=random.Random(1))
    _delays(backoff, 5, security=True)
    backoff.reset()
    assert _delays(backoff, 3, security=False) == [0.5, 1.0, 2.0]


def test_jitter_stays_within_its_fraction_and_a_seed_repeats_it() -> None:
    first = _delays(
        ReconnectBackoff(1.0, 60.0, jitter=0.2, rng=random.Random(7)), 12, security=True
    )
    again = _delays(
        ReconnectBackoff(1.0, 60.0, jitter=0.2, rng=random.Random(7)), 12, security=True
    )
    assert first == again
    nominal = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    for delay, expected in zip(first, nominal, strict=True):
        assert expected * 0.8 <= delay <= expected * 1.2
    assert first != nominal


def test_a_storm_is_at_most_five_attempts_in_20_s_whatever_the_jitter() -> None:
    """The bound the integration test relies on: the worst jitter (all -20 %)."""
    worst = ReconnectBackoff(1.0, 60.0, jitter=0.2, rng=_AlwaysZero())
    elapsed, attempts = 0.0, 1
    while True:
        elapsed += worst.next_delay(security=True)
        if elapsed > 20.0:
            break
        attempts += 1
    assert attempts == 5


class _AlwaysZero(random.Random):
    def random(self) -> float:
        return 0.0


@pytest.mark.parametrize("bad", [(0.0, 1.0, 0.1), (2.0, 1.0, 0.1), (1.0, 2.0, 1.5)])
def test_nonsense_parameters_are_refused(bad: tuple[float, float, float]) -> None:
    initial, maximum, jitter = bad
    with pytest.raises(ValueError):
        ReconnectBackoff(initial, maximum, jitter=jitter, rng=random.Random())


@pytest.mark.parametrize(
    ("error", "security"),
    [
        (BleakGATTProtocolError(0x0F), True),  # insufficient encryption
        (BleakGATTProtocolError(0x05), True),  # insufficient authentication
        (BleakGATTProtocolError(0x0C), True),  # insufficient encryption key size
        (BleakGATTProtocolError(0x08), True),  # insufficient authorization
        (BleakGATTProtocolError(0x13), False),  # value not allowed
        (BleakError("AA:BB: disconnected during read"), False),
        (BleakDeviceNotFoundError("AA:BB"), False),
        (TimeoutError("no RACP response"), False),
    ],
)
def test_only_att_security_errors_are_security_failures(
    error: BaseException, security: bool
) -> None:
    assert is_security_failure(error) is security
