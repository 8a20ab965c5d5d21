"""Benchmark: the bytes one watch's radio sends in a simulated day, per stream.

Prints one JSON object. One person's day is simulated exactly as
``bench_simulate_day.py`` does it (same profile seed, same five episodes, physiology
plus firmware), and every record the firmware produces is counted as the watch sends it
live: one GATT notification per record on that stream's record characteristic (the
only characteristics the gateway subscribes to on our watch, ``gateway/ble/link.py``),
the value being the 12-byte ``SequencedRecord`` header plus the stream's payload.

Per stream it reports ``records`` (= notifications), ``payload_bytes`` (the stream
payloads, what ``bench_simulate_day.py`` reports), ``value_bytes`` (the notified
values, header included), ``att_l2cap_bytes`` (plus the 3-byte ATT Handle Value
Notification header and the 4-byte L2CAP header) and, for two link-layer settings,
``ll_packets``, ``on_air_bytes`` and ``airtime_s`` on the LE 1M PHY (8 µs per byte).

Assumptions (stated here and in ``docs/PERFORMANCE.md``):

* Encrypted link (our watches refuse unencrypted subscriptions), so every link-layer
  data PDU carrying a payload has a 4-byte MIC.
* Per link-layer data packet on air: preamble 1 + access address 4 + LL header 2 +
  payload + MIC 4 + CRC 3 bytes, i.e. payload + 14.
* ``dle_251``: LE Data Length Extension negotiated (251-byte LL payload, ATT_MTU 247 as
  the gateway asks), so each notification is one LL packet. ``no_dle_27``: the 27-byte
  LL payload of Bluetooth 4.0/4.1; an L2CAP PDU longer than 27 bytes is fragmented.
* Connection-event packing: the firmware produces a second's records together and
  sends them back to back, so they share one connection event (connection interval or
  peripheral latency of about 1 s); ``connection_events`` counts the seconds with at
  least one record. In each event the central sends one packet before each of the
  watch's packets (the poll, then the acknowledgements); with nothing to send it is an
  empty PDU of 10 bytes on air (no MIC), which the watch receives: ``rx_bytes``.
* Not counted: advertising and connection set-up, RACP backfill after a link drop
  (none in this day), link-layer retransmissions, the standard characteristics (0x2A37,
  0x2A5F, 0x2A1C), which the watch notifies only to a central that subscribes to them.

Also printed, quoted and not measured here: the bytes synced to the cloud per user-day
(``bench_sync.py``, ``docs/PERFORMANCE.md``), against which the radio bytes are set.

Run: ``.venv/bin/python benchmarks/bench_radio_bytes.py [--hours 24] [--seed 2024]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np
from bench_simulate_day import EPISODES, START_EPOCH_S  # the same day, same episodes

from firmware_sim.firmware.watch_firmware import FirmwareConfig, WatchFirmware
from firmware_sim.physiology import PersonProfile
from firmware_sim.physiology.generator import SignalGenerator
from wearable_core.contracts.gatt.record_envelope import HEADER_SIZE
from wearable_core.contracts.streams import Stream

ATT_NOTIFICATION_HEADER = 3  # opcode 1 + attribute handle 2
L2CAP_HEADER = 4  # length 2 + channel id 2
LL_PACKET_OVERHEAD = 1 + 4 + 2 + 4 + 3  # preamble, access address, LL header, MIC, CRC
EMPTY_PDU_ON_AIR = 1 + 4 + 2 + 3  # an empty PDU carries no MIC
US_PER_BYTE_1M = 8.0
LL_PAYLOAD_MAX = {"dle_251": 251, "no_dle_27": 27}

#: Quoted from docs/PERFORMANCE.md ("Sync: bytes per user-day"), not measured here.
SYNC_UPLOADED_BYTES_PER_USER_DAY = 8_273
SYNC_SOURCE = (
    "bench_sync.py --watches 2 --hours 24 --devices 10, 2026-11-27, "
    "aggregates + alerts per user-day (docs/PERFORMANCE.md)"
)


@dataclass
class StreamCount:
    """What one stream put on the air."""

    records: int = 0
    payload_bytes: int = 0
    value_bytes: int = 0
    att_l2cap_bytes: int = 0
    ll_packets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LL_PAYLOAD_MAX, 0))
    on_air_bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LL_PAYLOAD_MAX, 0))

    def add(self, payload_len: int) -> dict[str, int]:
        """Count one notification; returns its LL packets per link-layer setting."""
        value = HEADER_SIZE + payload_len
        l2cap_pdu = L2CAP_HEADER + ATT_NOTIFICATION_HEADER + value
        self.records += 1
        self.payload_bytes += payload_len
        self.value_bytes += value
        self.att_l2cap_bytes += l2cap_pdu
        packets: dict[str, int] = {}
        for name, ll_max in LL_PAYLOAD_MAX.items():
            n = math.ceil(l2cap_pdu / ll_max)
            packets[name] = n
            self.ll_packets[name] += n
            self.on_air_bytes[name] += l2cap_pdu + n * LL_PACKET_OVERHEAD
        return packets

    def as_json(self) -> dict[str, object]:
        return {
            "records": self.records,
            "payload_bytes": self.payload_bytes,
            "value_bytes": self.value_bytes,
            "att_l2cap_bytes": self.att_l2cap_bytes,
            "bytes_per_record": round(self.value_bytes / max(self.records, 1), 2),
            **{
                name: {
                    "ll_packets": self.ll_packets[name],
                    "on_air_bytes": self.on_air_bytes[name],
                    "airtime_s": round(self.on_air_bytes[name] * US_PER_BYTE_1M / 1e6, 3),
                }
                for name in LL_PAYLOAD_MAX
            },
        }


def simulate(hours: float, seed: int) -> tuple[dict[Stream, StreamCount], int, dict[str, int]]:
    """One watch for ``hours``: per-stream counts, connection events, central packets."""
    duration_s = round(hours * 3600)
    profile = PersonProfile.sample(np.random.default_rng(seed))
    chunks = SignalGenerator(profile, EPISODES, seed, START_EPOCH_S, duration_s).iter_chunks()
    firmware = WatchFirmware(FirmwareConfig(START_EPOCH_S), chunks, duration_s)
    counts = {stream: StreamCount() for stream in Stream}
    events = 0
    central_packets = dict.fromkeys(LL_PAYLOAD_MAX, 0)
    while not firmware.finished:
        # One simulated second at a time: what the watch sends in one connection event.
        produced = firmware.advance(firmware.produced_until_s + 1)
        if not produced:
            continue
        events += 1
        for item in produced:
            packets = counts[item.stream].add(len(item.record.payload))
            for name, n in packets.items():
                central_packets[name] += n
    return counts, events, central_packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24: a day)")
    parser.add_argument("--seed", type=int, default=2024, help="as bench_simulate_day.py")
    args = parser.parse_args()
    if not 0 < args.hours <= 24 * 7:
        parser.error("--hours must be in (0, 168]")
    t0 = time.perf_counter()
    counts, events, central_packets = simulate(args.hours, args.seed)
    wall_s = time.perf_counter() - t0
    per_day = 24.0 / args.hours
    streams = {stream.value: counts[stream].as_json() for stream in Stream}
    total = StreamCount()
    for count in counts.values():
        total.records += count.records
        total.payload_bytes += count.payload_bytes
        total.value_bytes += count.value_bytes
        total.att_l2cap_bytes += count.att_l2cap_bytes
        for name in LL_PAYLOAD_MAX:
            total.ll_packets[name] += count.ll_packets[name]
            total.on_air_bytes[name] += count.on_air_bytes[name]
    link: dict[str, object] = {}
    for name in LL_PAYLOAD_MAX:
        rx_bytes = central_packets[name] * EMPTY_PDU_ON_AIR
        link[name] = {
            "tx_on_air_bytes": total.on_air_bytes[name],
            "tx_airtime_s": round(total.on_air_bytes[name] * US_PER_BYTE_1M / 1e6, 3),
            "rx_packets": central_packets[name],
            "rx_bytes": rx_bytes,
            "rx_airtime_s": round(rx_bytes * US_PER_BYTE_1M / 1e6, 3),
            "tx_on_air_bytes_per_day": round(total.on_air_bytes[name] * per_day),
        }
    print(
        json.dumps(
            {
                "benchmark": "radio_bytes",
                "hours": args.hours,
                "seed": args.seed,
                "streams": streams,
                "total": total.as_json(),
                "connection_events": events,
                "link": link,
                "per_day": {
                    "records": round(total.records * per_day),
                    "value_bytes": round(total.value_bytes * per_day),
                    "payload_bytes": round(total.payload_bytes * per_day),
                },
                "quoted_sync_uploaded_bytes_per_user_day": SYNC_UPLOADED_BYTES_PER_USER_DAY,
                "quoted_sync_source": SYNC_SOURCE,
                "value_bytes_over_sync_bytes": round(
                    total.value_bytes * per_day / SYNC_UPLOADED_BYTES_PER_USER_DAY
                ),
                "wall_s": round(wall_s, 2),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
