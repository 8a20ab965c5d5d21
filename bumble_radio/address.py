"""Radio hub addresses (``HOST:PORT``), checked without importing bumble."""

from __future__ import annotations


def radio_address_parse(text: str, *, listening: bool = False) -> tuple[str, int]:
    """Split ``HOST:PORT``; raise ``ValueError`` naming the fix if malformed.

    Port 0 ("pick a free port") is only meaningful when ``listening``.

    Examples
    --------
    >>> radio_address_parse("127.0.0.1:7000")
    ('127.0.0.1', 7000)
    """
    host, sep, port = text.rpartition(":")
    lowest = 0 if listening else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError(f"radio address {text!r} is not HOST:PORT (e.g. 127.0.0.1:7000)")
    return host, int(port)


class RadioError(Exception):
    """The radio hub cannot be used; the message names the address and the fix."""


class RadioUnreachableError(RadioError):
    """Nothing accepts connections at the radio hub's address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the radio hub at {address} ({reason}): start it with "
            f"`wearable sim radio --listen {address}`, or pass the address it listens on"
        )


class RadioListenError(RadioError):
    """The hub cannot listen on its address (in use, not this machine's, privileged)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"cannot listen on {address} ({reason}): stop the program using that port "
            "(is a radio hub already running?) or pick another address, e.g. --listen "
            "127.0.0.1:0 for any free port"
        )
