"""The in-process virtual radio: bumble controllers joined by one ``LocalLink``."""

from __future__ import annotations

from bumble.controller import Controller
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from bumble_radio.quiet import QuietController, QuietHost


class VirtualRadio:
    """A shared air interface; every ``new_host`` is one more radio on it.

    Examples
    --------
    >>> import asyncio
    >>> async def two_hosts() -> int:
    ...     radio = VirtualRadio()
    ...     radio.new_host("watch"), radio.new_host("gateway")
    ...     return len(radio.link.controllers)
    >>> asyncio.run(two_hosts())
    2
    """

    def __init__(self, *, stock_bumble: bool = False) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._count = 0
        # Stock bumble classes (per-packet debug formatting, 27-byte ACL): the baseline
        # the benchmarks compare our tuned classes against.
        self.stock_bumble = stock_bumble

    def new_host(self, name: str | None = None) -> Host:
        """A bumble host attached to a fresh controller on this radio (needs a running loop)."""
        self._count += 1
        name = name or f"radio-{self._count}"
        if self.stock_bumble:
            stock = Controller(name, link=self.link)
            return Host(stock, AsyncPipeSink(stock))
        controller = QuietController(name, link=self.link)
        return QuietHost(controller, AsyncPipeSink(controller))
