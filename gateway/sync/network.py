"""What the network allows right now: nothing, the essentials, or everything."""

from __future__ import annotations

import enum

from wearable_core.contracts.aggregate_batch import BatchKind


class NetworkState(enum.StrEnum):
    """The phone's connectivity as the operating system reports it (simulated in tests)."""

    #: No connectivity: batches accumulate in the outbox.
    OFFLINE = "offline"
    #: Cellular or another paid link: alerts and aggregates only, no model downloads.
    METERED = "metered"
    #: Wi-Fi or wired: everything, including diagnostics and model downloads.
    UNMETERED = "unmetered"

    @property
    def max_priority(self) -> int | None:
        """Highest batch priority allowed to upload (``None``: nothing uploads)."""
        if self is NetworkState.OFFLINE:
            return None
        if self is NetworkState.METERED:
            return BatchKind.AGGREGATES.priority
        return BatchKind.DIAGNOSTICS.priority

    @property
    def models_allowed(self) -> bool:
        """Whether to poll for and download models."""
        return self is NetworkState.UNMETERED


def network_parse(text: str) -> NetworkState:
    """Parse a network state name (as in the config or ``--network``).

    Examples
    --------
    >>> network_parse("Metered")
    <NetworkState.METERED: 'metered'>
    """
    try:
        return NetworkState(text.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in NetworkState)
        raise ValueError(f"network {text!r} is not one of: {choices}") from None
