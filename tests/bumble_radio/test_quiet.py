"""Our bumble controller fixes: connect cancellation and full-size ACL buffers."""

from __future__ import annotations

import asyncio

import pytest
from bumble import core, hci
from bumble.device import Device, DeviceConfiguration

from bumble_radio.local import VirtualRadio
from bumble_radio.quiet import LE_MAX_ACL_OCTETS, QuietController


def _device(radio: VirtualRadio, name: str, address: str) -> Device:
    config = DeviceConfiguration(name=name, address=hci.Address(address))
    return Device(config=config, host=radio.new_host(name))


async def test_a_timed_out_connect_is_really_cancelled() -> None:
    radio = VirtualRadio()
    central = _device(radio, "central", "F1:11:11:11:11:11")
    await central.power_on()
    absent = hci.Address("E2:22:22:22:22:22", hci.Address.RANDOM_DEVICE_ADDRESS)
    # Stock bumble keeps the first attempt pending, so the second one never finishes.
    for _ in range(2):
        with pytest.raises((TimeoutError, core.TimeoutError)):
            await asyncio.wait_for(central.connect(absent, timeout=0.3), 5)
    # And the abandoned attempt does not complete when the device shows up later.
    late = _device(radio, "late", "E2:22:22:22:22:22")
    await late.power_on()
    await late.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    await asyncio.sleep(0.3)
    assert not late.connections, "a cancelled connect completed anyway"
    connection = await central.connect(absent, timeout=5)
    assert connection.peer_address == absent


async def test_controllers_use_full_size_le_acl() -> None:
    radio = VirtualRadio()
    radio.new_host("a")
    (controller,) = radio.link.controllers
    assert isinstance(controller, QuietController)
    assert controller.le_acl_data_packet_length == LE_MAX_ACL_OCTETS
