"""``wearable sim replay``: push real recordings through the watch firmware and GATT server.

The recording (``firmware_sim.recording``) becomes signal chunks, an hour at a time
(``firmware_sim.recording_stream``: a recording of any size replays in bounded memory),
that drive the same :class:`~firmware_sim.firmware.watch_firmware.WatchFirmware` as
simulated watches, so the records have the same encoding, sequencing, flash buffer and
clock. With ``--radio`` one
:class:`~firmware_sim.watch.SimulatedWatch` serves them on a radio hub in real time ×
``--speed``; with ``--out`` the records are written to per-stream CSV files, like
``wearable sim export``. Formats: ``docs/formats/recordings.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from bumble.host import Host

from firmware_sim.firmware.watch_firmware import FirmwareConfig, ProducedRecord, WatchFirmware
from firmware_sim.physiology.generator import SignalChunk
from firmware_sim.physiology.profile import RESTING_HR_RANGE_BPM
from firmware_sim.recording import Recording, RecordingError
from firmware_sim.recording_stream import StreamedRecording, scan_recording, streamed
from firmware_sim.replay_defaults import DEFAULT_NAME, DEFAULT_SEED
from firmware_sim.scenario import DEFAULT_START
from firmware_sim.simclock import SimClock
from firmware_sim.truth import TruthWriter
from firmware_sim.watch import SimulatedWatch, WatchIdentity

#: Written next to the record files by ``--out``.
MANIFEST_FILE = "replay.json"
_FALLBACK_RESTING_HR_BPM = 65.0


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay produced (printed as JSON and written to ``replay.json``)."""

    device: str
    name: str
    recordings: list[str]
    recording_s: float
    duration_s: int
    start_utc: str
    records: int


def replay_identity(name: str = DEFAULT_NAME, seed: int = DEFAULT_SEED) -> WatchIdentity:
    """The replay watch's identity: ``seed`` fixes its address, IRK and serial."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    identity = WatchIdentity(name=name, serial="", seed=seed)
    return WatchIdentity(name=name, serial=identity.address.replace(":", ""), seed=seed)


def replay_start_epoch_s(
    recording: Recording | StreamedRecording, start: str | None = None
) -> float:
    """Unix time of the recording's first second on the watch clock.

    ``start`` (ISO 8601 with a zone) wins; else the recording's own ISO timestamps; else
    the scenario default, 2026-01-05T00:00:00Z.
    """
    if start is not None:
        return start_parse(start)
    if recording.start_epoch_s is not None:
        return recording.start_epoch_s
    return start_parse(DEFAULT_START)


def start_parse(text: str) -> float:
    """ISO-8601 date-time with a zone to Unix seconds; ``ValueError`` naming the fix."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read {text!r}; expected e.g. 2026-01-05T06:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} needs a time zone: append Z for UTC, e.g. {text}Z")
    return value.timestamp()


def replay_firmware(chunk: SignalChunk, start_epoch_s: float) -> WatchFirmware:
    """Firmware that produces the records of ``chunk`` (an exact, drift-free clock)."""
    heart = chunk.hr_bpm[~chunk.gap]
    # A long pause between beats leaves seconds without a rate that are not gaps.
    heart = heart[np.isfinite(heart)]
    resting = float(np.percentile(heart, 5)) if heart.size else None
    config = FirmwareConfig(epoch_at_start_s=start_epoch_s, resting_hr_bpm=_resting(resting))
    return WatchFirmware(config, iter((chunk,)), int(chunk.duration_s))


def streamed_firmware(recording: StreamedRecording, start_epoch_s: float) -> WatchFirmware:
    """Firmware fed the recording an hour at a time: the records of :func:`replay_firmware`
    of the whole recording, in memory bounded whatever the recording's length."""
    config = FirmwareConfig(
        epoch_at_start_s=start_epoch_s, resting_hr_bpm=_resting(recording.resting_hr_bpm())
    )
    return WatchFirmware(config, recording.chunks(), recording.chunk_s)


def _resting(percentile_5: float | None) -> float:
    """The firmware's resting heart rate from the recording's 5th-percentile rate."""
    if percentile_5 is None:
        return _FALLBACK_RESTING_HR_BPM
    return float(np.clip(percentile_5, *RESTING_HR_RANGE_BPM))


def _streamed(recording: Recording | StreamedRecording) -> StreamedRecording:
    return recording if isinstance(recording, StreamedRecording) else streamed(recording)


def replay_export(
    recording: Recording | StreamedRecording,
    out_dir: str | Path,
    identity: WatchIdentity,
    start_epoch_s: float,
    sources: Sequence[Path] = (),
) -> ReplaySummary:
    """Write the records a replay produces to ``out_dir`` (no radio); same input, same bytes."""
    out = Path(out_dir)
    source = _streamed(recording)
    firmware = streamed_firmware(source, start_epoch_s)
    with TruthWriter(out) as truth:
        while not firmware.finished:
            for item in firmware.advance(firmware.produced_until_s + 3600):
                truth.write(identity.address, item)
        records = truth.rows
    summary = ReplaySummary(
        device=identity.address,
        name=identity.name,
        recordings=[str(p) for p in sources],
        recording_s=recording.duration_s,
        duration_s=firmware.duration_s,
        start_utc=_utc(start_epoch_s),
        records=records,
    )
    (out / MANIFEST_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary


@contextlib.asynccontextmanager
async def replay_watch(
    recording: Recording | StreamedRecording,
    host: Host,
    clock: SimClock,
    identity: WatchIdentity,
    start_epoch_s: float,
    truth_dir: Path | None = None,
) -> AsyncIterator[SimulatedWatch]:
    """A started watch on ``host`` that replays ``recording``; call ``run()`` to play it.

    Every record produced is also written to ``truth_dir`` when given.
    """
    firmware = streamed_firmware(_streamed(recording), start_epoch_s)
    truth = TruthWriter(truth_dir) if truth_dir is not None else None

    def record(item: ProducedRecord) -> None:
        assert truth is not None
        truth.write(identity.address, item)
        if firmware.finished:
            # The last records of the replay: make the files complete for readers now.
            truth.flush()

    watch = SimulatedWatch(
        identity, firmware, host, clock, on_record=record if truth is not None else None
    )
    try:
        await watch.start()
        yield watch
    finally:
        await watch.close()
        if truth is not None:
            truth.close()


def _utc(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).isoformat()


# --------------------------------------------------------------------------------- CLI


def _fail(message: str) -> SystemExit:
    return SystemExit(f"wearable sim replay: {message}")


def replay_command_run(args: argparse.Namespace) -> int:
    if args.out is not None and args.truth is not None:
        raise _fail("--truth goes with --radio; --out DIR already writes every record")
    if not args.speed > 0:
        raise _fail(f"--speed must be > 0, got {args.speed}")
    try:
        identity = replay_identity(args.name, args.seed)
    except ValueError as error:
        raise _fail(f"--seed: {error}") from error
    try:
        # Validated block by block now, read again an hour at a time as it replays.
        recording = scan_recording(args.recording)
    except RecordingError as error:
        raise _fail(str(error)) from error
    try:
        start = replay_start_epoch_s(recording, args.start)
    except ValueError as error:
        raise _fail(f"--start: {error}") from error
    if args.out is not None:
        summary = replay_export(recording, args.out, identity, start, args.recording)
        print(json.dumps(asdict(summary)), flush=True)
        return 0
    from bumble_radio.address import radio_address_parse

    try:
        radio_address_parse(args.radio)
    except ValueError as error:
        raise _fail(f"--radio: {error}") from error
    asyncio.run(_serve(args, recording, identity, start))
    return 0


async def _serve(
    args: argparse.Namespace,
    recording: StreamedRecording,
    identity: WatchIdentity,
    start: float,
) -> None:
    # Shared with `wearable sim watches`: the same SIGINT/SIGTERM handling.
    from bumble_radio.attach import hub_host_open
    from firmware_sim.signals import until_signalled

    stop = asyncio.ensure_future(until_signalled())
    async with hub_host_open(args.radio) as host:
        clock = SimClock(args.speed)
        async with replay_watch(recording, host, clock, identity, start, args.truth) as watch:
            print(
                json.dumps(
                    {
                        "event": "started",
                        "watches": [{"name": identity.name, "address": identity.address}],
                        "duration_s": watch.firmware.duration_s,
                        "start_utc": _utc(start),
                    }
                ),
                flush=True,
            )
            run = asyncio.ensure_future(watch.run())
            await asyncio.wait([run, stop], return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                run.result()
                print(
                    json.dumps({"event": "finished", "simulated_s": watch.firmware.duration_s}),
                    flush=True,
                )
                # Keep serving backfill and reads until terminated.
                await stop
            else:
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
            stats = {identity.name: vars(watch.stats)}
            print(json.dumps({"event": "stopped", "stats": stats}, default=str), flush=True)
