"""When to try a device again: the reconnect backoff of one link, and what failed.

Two schedules share one doubling delay. An ordinary failure (out of range, a dropped
link, a refused connect) doubles up to ``ble.backoff_max_s``: the device usually comes
back by itself, and the gateway should notice soon. A security failure (the watch
refuses to serve an unencrypted or unauthenticated link) never fixes itself, because
the gateway would make the same unencrypted connection again; it doubles up to
:data:`SECURITY_BACKOFF_MAX_S` so a misconfigured gateway does not hammer every watch
in range once a second (issue 19, item 7: 171 connects in 35 s for 5 watches).
"""

from __future__ import annotations

import random
from typing import Final

from bleak.exc import BleakGATTProtocolError

#: Longest wait between connects to a device that refused us for lack of security.
SECURITY_BACKOFF_MAX_S: Final = 300.0

#: ATT error codes that mean "this link is not secure enough" (Core spec Vol 3 Part F
#: 3.4.1.1): insufficient authentication, authorization, encryption key size, encryption.
SECURITY_ATT_ERRORS: Final = frozenset({0x05, 0x08, 0x0C, 0x0F})


def is_security_failure(error: BaseException) -> bool:
    """Did the device refuse a request because the link is not encrypted or authenticated?

    Only the ATT error code is looked at: it is the same on every bleak backend (BlueZ,
    CoreBluetooth, WinRT, our bumble one), unlike their error messages.
    """
    return isinstance(error, BleakGATTProtocolError) and error.code in SECURITY_ATT_ERRORS


class ReconnectBackoff:
    """Exponential reconnect delays with jitter, for one device.

    Parameters
    ----------
    initial_s
        The first delay, and the delay again after :meth:`reset`.
    max_s
        The longest delay after ordinary failures.
    jitter
        Each delay is varied by up to ±``jitter`` (a fraction), so watches that fail
        together do not retry in lockstep.
    rng
        The jitter's source; seed it for reproducible delays.
    security_max_s
        The longest delay after security failures (at least ``max_s``).

    Examples
    --------
    >>> backoff = ReconnectBackoff(1.0, 60.0, jitter=0.0, rng=random.Random(0))
    >>> [backoff.next_delay(security=True) for _ in range(4)]
    [1.0, 2.0, 4.0, 8.0]
    >>> backoff.reset()
    >>> backoff.next_delay(security=False)
    1.0
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        jitter: float,
        rng: random.Random,
        security_max_s: float = SECURITY_BACKOFF_MAX_S,
    ) -> None:
        if not 0.0 < initial_s <= max_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {initial_s} and {max_s}")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be within [0, 1], got {jitter}")
        self.initial_s = initial_s
        self.max_s = max_s
        self.security_max_s = max(security_max_s, max_s)
        self.jitter = jitter
        self.rng = rng
        self._nominal_s = initial_s

    def reset(self) -> None:
        """The device worked (it was set up and served): start again from ``initial_s``."""
        self._nominal_s = self.initial_s

    def next_delay(self, *, security: bool) -> float:
        """The delay before the next attempt, after a failure; doubles the next one.

        ``security``: the failure was a security refusal (:func:`is_security_failure`),
        which may back off up to ``security_max_s`` rather than ``max_s``. An ordinary
        failure after security ones starts from no more than ``max_s``.
        """
        cap = self.security_max_s if security else self.max_s
        nominal = min(self._nominal_s, cap)
        self._nominal_s = min(nominal * 2.0, cap)
        return nominal * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0))
