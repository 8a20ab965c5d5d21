"""GATT on bumble, seen the way bleak expects it.

Service discovery builds bleak's ``BleakGATTServiceCollection`` from bumble's proxies, and
``QuietGattClient`` removes bumble's per-notification debug formatting from the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Final

from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.uuids import normalize_uuid_16
from bumble import att, gatt_client
from bumble.device import Connection

from bumble_radio.bleak_backend.advertising import uuid_str

_gatt_client_logger = logging.getLogger(gatt_client.__name__)

#: Client Characteristic Configuration descriptor, in bleak's spelling.
CCCD_UUID: Final = normalize_uuid_16(0x2902)
#: GAP Device Name characteristic.
DEVICE_NAME_UUID: Final = normalize_uuid_16(0x2A00)
CCCD_NOTIFY: Final = b"\x01\x00"
CCCD_INDICATE: Final = b"\x02\x00"
CCCD_OFF: Final = b"\x00\x00"


class QuietGattClient(gatt_client.Client):
    """bumble's GATT client, minus the debug string it formats for every notification.

    ``Client.on_gatt_pdu`` renders each incoming PDU into an f-string for
    ``logger.debug`` before logging decides to drop it (~18 µs per notification, three
    times the cost of parsing it). Notifications skip that unless DEBUG is on; everything
    else, including bumble's own notification dispatch, is unchanged.
    """

    def on_gatt_pdu(self, att_pdu: att.ATT_PDU) -> None:
        if type(att_pdu) is att.ATT_Handle_Value_Notification and not (
            _gatt_client_logger.isEnabledFor(logging.DEBUG)
        ):
            self.on_att_handle_value_notification(att_pdu)
            return
        super().on_gatt_pdu(att_pdu)


def quiet_client_install(connection: Connection) -> gatt_client.Client:
    """Give a fresh connection a ``QuietGattClient`` (before any GATT traffic on it)."""
    client = QuietGattClient(connection)
    connection.gatt_client = client
    return client


def property_names(properties: int) -> list[CharacteristicPropertyName]:
    """bleak's property names for a characteristic's properties byte.

    Examples
    --------
    >>> property_names(0x12)
    ['read', 'notify']
    """
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


async def discover(
    client: gatt_client.Client, service_filter: Collection[str] | None
) -> list[gatt_client.ServiceProxy]:
    """Discover primary services (only those in ``service_filter`` when given, as lowercase
    128-bit strings), their characteristics and the characteristics' descriptors."""
    services = [
        service
        for service in await client.discover_services()
        if not service_filter or uuid_str(service.uuid.uuid_bytes) in service_filter
    ]
    for service in services:
        await client.discover_characteristics((), service)
        for characteristic in service.characteristics:
            # bumble skips the request when the characteristic has no room for
            # descriptors (value handle == end handle), so read-only ones cost nothing.
            await client.discover_descriptors(characteristic)
    return services


def service_collection(
    services: list[gatt_client.ServiceProxy], max_write_without_response: Callable[[], int]
) -> BleakGATTServiceCollection:
    """bleak's view of discovered services.

    Handles are the ATT handles bumble reads and writes: the service declaration, the
    characteristic *value* handle and the descriptor handle. ``obj`` is the bumble proxy.
    """
    collection = BleakGATTServiceCollection()
    for service in services:
        bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid.uuid_bytes))
        collection.add_service(bleak_service)
        for characteristic in service.characteristics:
            bleak_characteristic = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                uuid_str(characteristic.uuid.uuid_bytes),
                property_names(int(characteristic.properties)),
                max_write_without_response,
                bleak_service,
            )
            collection.add_characteristic(bleak_characteristic)
            for descriptor in characteristic.descriptors:
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor,
                        descriptor.handle,
                        uuid_str(descriptor.type.uuid_bytes),
                        bleak_characteristic,
                    )
                )
    return collection
