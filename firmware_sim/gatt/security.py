"""Link security for the watch: encrypted subscriptions and pairing configuration."""

from __future__ import annotations

from typing import Any

from bumble import att, gatt, pairing
from bumble.core import UUID
from bumble.device import Connection, Device

_Perm = gatt.Characteristic.Permissions


def encrypted_cccd(device: Device, characteristic: gatt.Characteristic[Any]) -> gatt.Descriptor:
    """A Client Characteristic Configuration descriptor that needs an encrypted link to write.

    bumble adds a CCCD that anyone may write; health data must only flow to a paired
    central, so we supply our own, backed by the same subscription bookkeeping.
    """
    server = device.gatt_server
    return gatt.Descriptor(
        gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
        att.Attribute.READABLE | att.Attribute.WRITE_REQUIRES_ENCRYPTION,
        att.AttributeValueV2(
            lambda bearer: server.read_cccd(bearer, characteristic),
            write=lambda bearer, value: server.write_cccd(bearer, characteristic, value),
        ),
    )


def secure_characteristic(
    device: Device,
    uuid: str | UUID,
    properties: gatt.Characteristic.Properties,
    value: Any = b"",
    *,
    readable: bool = False,
    writable: bool = False,
) -> gatt.Characteristic[Any]:
    """A characteristic whose reads, writes and subscriptions all need encryption."""
    permissions = _Perm(0)
    if readable:
        permissions |= _Perm.READ_REQUIRES_ENCRYPTION
    if writable:
        permissions |= _Perm.WRITE_REQUIRES_ENCRYPTION
    characteristic: gatt.Characteristic[Any] = gatt.Characteristic(
        uuid if isinstance(uuid, UUID) else UUID(uuid), properties, permissions, value
    )
    if properties & (gatt.Characteristic.Properties.NOTIFY | gatt.Characteristic.INDICATE):
        characteristic.descriptors = [encrypted_cccd(device, characteristic)]
    return characteristic


class PasskeyDisplayDelegate(pairing.PairingDelegate):
    """A watch with a display: shows a fixed 6-digit passkey the user types on the phone."""

    def __init__(self, passkey: int) -> None:
        super().__init__(io_capability=pairing.PairingDelegate.IoCapability.DISPLAY_OUTPUT_ONLY)
        self.passkey = passkey

    async def generate_passkey(self) -> int:
        return self.passkey


def pairing_config_factory(passkey: int | None) -> Any:
    """LE Secure Connections with bonding; Just Works unless a passkey is configured."""

    def factory(_connection: Connection) -> pairing.PairingConfig:
        delegate = (
            PasskeyDisplayDelegate(passkey) if passkey is not None else pairing.PairingDelegate()
        )
        return pairing.PairingConfig(
            sc=True,
            mitm=passkey is not None,
            bonding=True,
            delegate=delegate,
            identity_address_type=pairing.PairingConfig.AddressType.RANDOM,
        )

    return factory
