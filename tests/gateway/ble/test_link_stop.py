"""A stop ends a link at once, whatever it was waiting for (issue 19, item 6).

The radio is replaced by links whose connect or set-up never finishes, so these tests
show the bound without depending on how long a real connect or backfill takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.ble import manager as manager_module
from gateway.ble.link import DeviceLink
from gateway.ble.manager import ConnectionManager
from gateway.config import BleConfig
from gateway.ingest import Ingestor
from gateway.store import Store

ADDRESS = "C0:00:00:00:00:01"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "store.sqlite")
    yield store
    store.close()


class _HangingConnect(DeviceLink):
    """A connect to a device that never answers (out of range, a stuck controller)."""

    async def _connect(self) -> None:
        self._set_state("connecting")
        await asyncio.Event().wait()


class _HangingBackfill(DeviceLink):
    """Connected, then a backfill whose records never come."""

    async def _connect(self) -> None:
        self._set_state("connected")

    async def _setup(self) -> None:
        self._set_state("backfilling")
        await asyncio.Event().wait()


def _link(cls: type[DeviceLink], store: Store) -> DeviceLink:
    # A connect timeout of 10 minutes: only a cancellation ends it in time.
    config = BleConfig(radio="", connect_timeout_s=600.0)
    return cls(ADDRESS, "watch", config, store, Ingestor(store), asyncio.Lock())


@pytest.mark.parametrize("cls", [_HangingConnect, _HangingBackfill])
async def test_stop_cancels_a_pending_connect_or_backfill(
    cls: type[DeviceLink], store: Store
) -> None:
    link = _link(cls, store)
    stop = asyncio.Event()
    running = asyncio.ensure_future(link.run(stop))
    await asyncio.sleep(0.2)
    assert link.state in {"connecting", "backfilling"}
    stop.set()
    await asyncio.wait_for(running, 2.0)
    assert link.state == "stopped"


async def test_the_manager_cancels_a_link_that_ignores_stop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backstop: a link stuck past its grace is cancelled, and the stop goes on."""
    monkeypatch.setattr(manager_module, "LINK_STOP_TIMEOUT_S", 0.2)
    manager = ConnectionManager(BleConfig(radio=""), store, Ingestor(store))

    async def deaf() -> None:
        await asyncio.Event().wait()  # a link that never looks at the stop event

    stuck = asyncio.ensure_future(deaf())
    manager._tasks[ADDRESS] = stuck
    await asyncio.wait_for(manager._stop_links(), 2.0)
    assert stuck.cancelled()
