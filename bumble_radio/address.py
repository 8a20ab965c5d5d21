"""Radio hub addresses (``HOST:PORT``), checked without importing bumble."""

from __future__ import annotations


def parse_radio_address(text: str, *, listening: bool = False) -> tuple[str, int]:
    """Split ``HOST:PORT``; raise ``ValueError`` naming the fix if malformed.

    Port 0 ("pick a free port") is only meaningful when ``listening``.

    Examples
    --------
    >>> parse_radio_address("127.0.0.1:7000")
    ('127.0.0.1', 7000)
    """
    host, sep, port = text.rpartition(":")
    lowest = 0 if listening else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError(f"radio address {text!r} is not HOST:PORT (e.g. 127.0.0.1:7000)")
    return host, int(port)
