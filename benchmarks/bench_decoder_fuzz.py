"""Benchmark: fuzz the gateway's notification decoder with random and damaged payloads.

Builds ``--payloads`` inputs with a seeded numpy RNG and feeds every one of them to
:func:`gateway.decoders.notification_decode` on every characteristic UUID it routes (the
four record characteristics and the three standard measurement characteristics) plus one
it does not (Battery Level). The inputs are a mix of:

* ``random``: uniformly random bytes, length 0..520;
* ``bitflip``: a valid notification with 1-4 bits flipped;
* ``truncate``: a valid notification cut short (0..len-1 bytes kept);
* ``extend``: a valid notification with 1-40 random bytes appended;
* ``splice``: a record header of one stream glued to another stream's payload, or the
  start of one valid notification glued to the end of another.

Valid notifications come from the simulated watch firmware (a few minutes with an
off-wrist episode, AF and a fall: every stream) plus hand-built payloads with every
optional field, each both as a record-characteristic notification and, where the stream
has one, as a standard-characteristic payload.

Any exception escaping the decoder is caught and counted as a crash, and so is a
``decoder_bug`` rejection (the decoder's own net for exceptions other than
``PayloadError``); both must be zero, and ``decoded + rejected`` must equal the number of
calls. As a baseline in the same run, the throughput of decoding only valid notifications
(each on its own characteristic) is measured.

Run: ``.venv/bin/python benchmarks/bench_decoder_fuzz.py --payloads 200000``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.firmware.watch_firmware import FirmwareConfig, WatchFirmware
from firmware_sim.physiology import PersonProfile
from firmware_sim.physiology.generator import SignalGenerator
from gateway.decoders import DecodedRecord, RejectReason, notification_decode
from wearable_core.contracts.gatt import (
    DateTime,
    Float32,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    SequencedRecord,
    SFloat,
    TemperatureMeasurement,
    uuids,
)
from wearable_core.contracts.gatt.record_envelope import HEADER_SIZE, StreamPayload
from wearable_core.contracts.streams import Stream

START_S = 1_699_920_000.0  # 2023-11-14 00:00 UTC
STANDARD_CHAR = {
    Stream.HEART_RATE: uuids.HEART_RATE_MEASUREMENT_CHAR,
    Stream.SPO2: uuids.PLX_CONTINUOUS_MEASUREMENT_CHAR,
    Stream.TEMPERATURE: uuids.TEMPERATURE_MEASUREMENT_CHAR,
}
ROUTED = [*uuids.RECORD_CHAR_BY_STREAM.values(), *STANDARD_CHAR.values()]
CHARACTERISTICS = [*ROUTED, uuids.BATTERY_LEVEL_CHAR]
KINDS = ("random", "bitflip", "truncate", "extend", "splice")
KIND_WEIGHTS = (0.2, 0.3, 0.15, 0.15, 0.2)


def firmware_records(seconds: int, seed: int) -> list[tuple[Stream, SequencedRecord]]:
    """What the simulated watch firmware stores and sends over ``seconds``."""
    profile = PersonProfile.sample(np.random.default_rng(seed))
    episodes = (
        Episode(20, 60, FaultKind.OFF_WRIST),
        Episode(70, 130, AnomalyKind.AF, 0.8),
        Episode(150, 170, AnomalyKind.FALL, 0.9),
    )
    chunks = SignalGenerator(profile, episodes, seed, START_S, seconds).iter_chunks()
    config = FirmwareConfig(START_S, clock_offset_s=-3.0, clock_drift_ppm=40.0)
    produced = WatchFirmware(config, chunks, seconds).advance(seconds)
    return [(p.stream, p.record) for p in produced]


def hand_built() -> list[tuple[Stream, StreamPayload]]:
    """Payloads with the optional fields the firmware never sends."""
    return [
        (Stream.HEART_RATE, HeartRateMeasurement(300, uint16_format=True, energy_expended_kj=9)),
        (Stream.HEART_RATE, HeartRateMeasurement(64, rr_intervals=tuple(range(900, 1100, 10)))),
        (
            Stream.SPO2,
            PlxContinuousMeasurement(
                SFloat(97, 0),
                SFloat(70, 0),
                spo2pr_fast=(SFloat(96, 0), SFloat(71, 0)),
                spo2pr_slow=(SFloat(97, 0), SFloat(69, 0)),
                measurement_status=0x0020,
                device_sensor_status=0x000800,
                pulse_amplitude_index=SFloat(40, -1),
            ),
        ),
        (
            Stream.TEMPERATURE,
            TemperatureMeasurement(
                Float32(9800, -2), True, DateTime(2024, 2, 29, 13, 5, 9), temperature_type=2
            ),
        ),
    ]


def valid_corpus(seed: int) -> list[tuple[str, bytes]]:
    """Valid (characteristic, notification) pairs for every stream and characteristic."""
    corpus: list[tuple[str, bytes]] = []
    records = firmware_records(180, seed)
    records += [
        (stream, SequencedRecord.wrap(1000 + i, int(START_S * 1000) + i * 1000, value))
        for i, (stream, value) in enumerate(hand_built())
    ]
    for stream, record in records:
        corpus.append((uuids.RECORD_CHAR_BY_STREAM[stream], bytes(record)))
        if stream in STANDARD_CHAR:
            corpus.append((STANDARD_CHAR[stream], record.payload))
    return corpus


def make_inputs(
    corpus: list[tuple[str, bytes]], count: int, rng: np.random.Generator
) -> list[tuple[str, bytes]]:
    """``count`` (kind, payload) fuzz inputs."""
    notes = [data for _, data in corpus]
    records = [data for char, data in corpus if char in uuids.STREAM_BY_RECORD_CHAR]
    kinds = rng.choice(len(KINDS), size=count, p=KIND_WEIGHTS)
    picks = rng.integers(0, len(notes), size=count)
    others = rng.integers(0, len(notes), size=count)
    out: list[tuple[str, bytes]] = []
    for kind_index, pick, other in zip(
        kinds.tolist(), picks.tolist(), others.tolist(), strict=True
    ):
        kind = KINDS[kind_index]
        base = notes[pick]
        if kind == "random":
            data = rng.bytes(int(rng.integers(0, 521)))
        elif kind == "bitflip":
            flipped = bytearray(base)
            for bit in rng.integers(0, 8 * len(base), size=int(rng.integers(1, 5))).tolist():
                flipped[bit // 8] ^= 1 << (bit % 8)
            data = bytes(flipped)
        elif kind == "truncate":
            data = base[: int(rng.integers(0, len(base)))]
        elif kind == "extend":
            data = base + rng.bytes(int(rng.integers(1, 41)))
        elif rng.random() < 0.5:
            # A record header of one stream on another stream's record payload.
            head = records[int(rng.integers(0, len(records)))]
            tail = records[int(rng.integers(0, len(records)))]
            data = head[:HEADER_SIZE] + tail[HEADER_SIZE:]
        else:
            tail = notes[other]
            data = (
                base[: int(rng.integers(0, len(base) + 1))]
                + tail[int(rng.integers(0, len(tail) + 1)) :]
            )
        out.append((kind, data))
    return out


def run_fuzz(inputs: list[tuple[str, bytes]]) -> dict[str, Any]:
    decoded = rejected = crashes = 0
    reasons: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    crash_examples: list[str] = []
    t0 = time.perf_counter()
    for kind, data in inputs:
        tally = by_kind[kind]
        for char in CHARACTERISTICS:
            try:
                result = notification_decode(char, data)
            except Exception as exc:  # a crash: the decoder promised never to raise
                crashes += 1
                if len(crash_examples) < 5:
                    crash_examples.append(f"{char} {data.hex()}: {exc!r}")
                continue
            if isinstance(result, DecodedRecord):
                decoded += 1
                tally["decoded"] += 1
            else:
                rejected += 1
                reasons[str(result.reason)] += 1
                tally["rejected"] += 1
    wall = time.perf_counter() - t0
    calls = len(inputs) * len(CHARACTERISTICS)
    return {
        "calls": calls,
        "wall_s": round(wall, 3),
        "calls_per_s": round(calls / wall),
        "payloads_per_s": round(len(inputs) / wall),
        "crashes": crashes,
        "decoder_bugs": reasons.get(str(RejectReason.DECODER_BUG), 0),
        "decoded": decoded,
        "rejected": rejected,
        "accounted": decoded + rejected == calls - crashes,
        "rejected_by_reason": dict(reasons.most_common()),
        "by_kind": {kind: dict(tally) for kind, tally in by_kind.items()},
        "crash_examples": crash_examples,
    }


def run_baseline(corpus: list[tuple[str, bytes]], count: int) -> dict[str, Any]:
    """Decode only valid notifications, each on its own characteristic."""
    work = [corpus[i % len(corpus)] for i in range(count)]
    decoded = 0
    t0 = time.perf_counter()
    for char, data in work:
        if isinstance(notification_decode(char, data), DecodedRecord):
            decoded += 1
    wall = time.perf_counter() - t0
    return {
        "calls": count,
        "decoded": decoded,
        "wall_s": round(wall, 3),
        "calls_per_s": round(count / wall),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=100_000, help="fuzz inputs (>= 1)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    if args.payloads < 1:
        parser.error("--payloads must be at least 1")
    rng = np.random.default_rng(args.seed)
    corpus = valid_corpus(args.seed)
    inputs = make_inputs(corpus, args.payloads, rng)
    baseline = run_baseline(corpus, args.payloads)
    fuzz = run_fuzz(inputs)
    report = {
        "payloads": args.payloads,
        "characteristics": len(CHARACTERISTICS),
        "valid_corpus": len(corpus),
        "mix": dict(Counter(kind for kind, _ in inputs)),
        **fuzz,
        "baseline_valid_only": baseline,
        "fuzz_to_valid_speed": round(fuzz["calls_per_s"] / baseline["calls_per_s"], 2),
        "seed": args.seed,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    ok = fuzz["crashes"] == 0 and fuzz["decoder_bugs"] == 0 and fuzz["accounted"]
    ok = ok and baseline["decoded"] == baseline["calls"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
