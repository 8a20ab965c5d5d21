"""bumble advertisements -> bleak's ``AdvertisementData``, and UUIDs in bleak's spelling."""

from __future__ import annotations

import functools
from typing import Final

from bleak.backends.scanner import AdvertisementData
from bumble.device import Advertisement

#: The Bluetooth Base UUID after the 32-bit slot (Core spec Vol 3 Part B 2.5.1).
_BASE_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"

# Advertising data types (Core Supplement Part A 1). Plain ints: bumble's ``ad_structures``
# carry an IntEnum, which compares and hashes like its value.
_AD_UUID_LIST_SIZE: Final[dict[int, int]] = {
    0x02: 2,  # incomplete list of 16-bit service UUIDs
    0x03: 2,  # complete list of 16-bit service UUIDs
    0x04: 4,  # incomplete list of 32-bit service UUIDs
    0x05: 4,  # complete list of 32-bit service UUIDs
    0x06: 16,  # incomplete list of 128-bit service UUIDs
    0x07: 16,  # complete list of 128-bit service UUIDs
}
_AD_SERVICE_DATA_UUID_SIZE: Final[dict[int, int]] = {0x16: 2, 0x20: 4, 0x21: 16}
_AD_SHORTENED_LOCAL_NAME: Final = 0x08
_AD_COMPLETE_LOCAL_NAME: Final = 0x09
_AD_TX_POWER_LEVEL: Final = 0x0A
_AD_MANUFACTURER_SPECIFIC_DATA: Final = 0xFF


@functools.lru_cache(maxsize=4096)
def uuid_str(le_bytes: bytes) -> str:
    """The lowercase 128-bit string bleak uses for a 2-, 4- or 16-byte little-endian UUID.

    Cached: the same few dozen UUIDs recur in every advertisement and GATT database.

    Examples
    --------
    >>> uuid_str(bytes([0x0D, 0x18]))
    '0000180d-0000-1000-8000-00805f9b34fb'
    """
    size = len(le_bytes)
    if size in (2, 4):
        return f"{int.from_bytes(le_bytes, 'little'):08x}{_BASE_SUFFIX}"
    if size == 16:
        text = le_bytes[::-1].hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    raise ValueError(f"a UUID has 2, 4 or 16 bytes, not {size}")


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Map one bumble advertisement (advertising data merged with its scan response by
    bumble when scanning actively) to bleak's ``AdvertisementData``.

    ``platform_data`` is ``(advertisement,)``: the bumble object, for callers that need
    more than bleak models (connectable flag, PHY, raw bytes).
    """
    complete_name: str | None = None
    short_name: str | None = None
    manufacturer_data: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    # One pass over the raw structures: bumble's AdvertisingData.get() rescans the list
    # and builds UUID objects (registered in a global list) for every lookup.
    for ad_type, value in advertisement.data.ad_structures:
        size = _AD_UUID_LIST_SIZE.get(ad_type)
        if size is not None:
            for start in range(0, len(value) - size + 1, size):
                uuid = uuid_str(value[start : start + size])
                if uuid not in service_uuids:
                    service_uuids.append(uuid)
        elif ad_type == _AD_COMPLETE_LOCAL_NAME:
            complete_name = value.decode("utf-8", "replace")
        elif ad_type == _AD_SHORTENED_LOCAL_NAME:
            short_name = value.decode("utf-8", "replace")
        elif ad_type == _AD_MANUFACTURER_SPECIFIC_DATA:
            if len(value) >= 2:
                manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])
        elif ad_type == _AD_TX_POWER_LEVEL:
            if value:
                tx_power = int.from_bytes(value[:1], "little", signed=True)
        else:
            size = _AD_SERVICE_DATA_UUID_SIZE.get(ad_type)
            if size is not None and len(value) >= size:
                service_data[uuid_str(value[:size])] = bytes(value[size:])
    return AdvertisementData(
        local_name=complete_name if complete_name is not None else short_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )
