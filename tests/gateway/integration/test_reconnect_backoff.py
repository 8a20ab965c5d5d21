"""No reconnect storm: ``pair = false`` against watches that require encryption.

Issue 19, item 7: every simulated watch refuses its health characteristics on an
unencrypted link (ATT "insufficient encryption"), so a gateway configured with
``pair = false`` connects, is refused, and used to reconnect after the initial backoff
forever (171 connects in 35 s for 5 watches), logging only INFO lines. Now the refusal
backs off exponentially per device and is one WARNING per device naming the fix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import pytest

from bumble_radio.bleak_backend import BumbleAdapter
from bumble_radio.local import VirtualRadio
from firmware_sim.farm import FarmOptions, local_farm
from firmware_sim.scenario import scenario_parse
from firmware_sim.simclock import SimClock
from gateway.config import GatewayConfig
from gateway.service import Backends, Gateway

pytestmark = pytest.mark.integration

WATCHES = 2
#: The issue's numbers: 171 connects in 35 s for 5 watches, ~1 connect/s per watch. With
#: a backoff from 1 s doubling (±20 % jitter), at most 5 connects fit in 20 s.
WINDOW_S = 20.0
MOST_ATTEMPTS = 6
SCENARIO = f'[scenario]\nseed = 3\nwatches = {WATCHES}\nduration = "10min"\n'


def _config(store: Path) -> GatewayConfig:
    config = GatewayConfig()
    return dataclasses.replace(
        config,
        store=dataclasses.replace(config.store, path=store, flush_interval_s=0.2),
        # The defaults an operator gets, except pairing: backoff from 1 s, ±20 % jitter.
        ble=dataclasses.replace(config.ble, radio="", pair=False),
        detection=dataclasses.replace(config.detection, enabled=False),
    )


async def test_pair_false_against_encrypted_watches_backs_off_and_warns_once_per_device(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    radio = VirtualRadio()
    adapter = BumbleAdapter.on_local(radio, keystore_path=tmp_path / "bonds.json")
    await adapter.start()
    options = FarmOptions(speed=1.0)
    async with local_farm(scenario_parse(SCENARIO), options, radio, SimClock(1.0)) as farm:
        producing = asyncio.ensure_future(farm.run())
        gateway = Gateway(
            _config(tmp_path / "store.sqlite"),
            Backends(adapter.scanner_backend, adapter.client_backend),
        )
        serving = asyncio.ensure_future(gateway.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while len(gateway.manager.links) < WATCHES:
                assert loop.time() < deadline, "the watches were not discovered"
                await asyncio.sleep(0.1)
            await asyncio.sleep(WINDOW_S)
            links = list(gateway.manager.links.values())
            attempts = {
                link.address: link.stats.connects + link.stats.connect_failures for link in links
            }
            states = {link.address: link.state for link in links}
        finally:
            gateway.stop()
            await serving
            producing.cancel()
            await asyncio.gather(producing, return_exceptions=True)
    await adapter.close()
    print({"connect_attempts": attempts, "window_s": WINDOW_S})
    # The watches did refuse us (so the backoff was exercised, not a quiet radio).
    assert all(link.stats.connects >= 2 for link in links), attempts
    assert all(state != "streaming" for state in states.values()), states
    assert all(count <= MOST_ATTEMPTS for count in attempts.values()), attempts
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == "gateway.ble.link"
    ]
    assert sorted(getattr(r, "device", "") for r in warnings) == sorted(attempts), [
        r.getMessage() for r in warnings
    ]
    for record in warnings:
        assert "set [ble] pair = true or bond the watch" in record.getMessage()
