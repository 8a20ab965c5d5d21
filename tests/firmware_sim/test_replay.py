"""``wearable sim replay``: recordings through the watch firmware, to files or over a radio."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from bumble_radio.local import VirtualRadio
from firmware_sim.probe_central import ProbeCentral, catch_up
from firmware_sim.recording import recording_load
from firmware_sim.replay import (
    DEFAULT_NAME,
    MANIFEST_FILE,
    replay_identity,
    replay_start_epoch_s,
    replay_watch,
)
from firmware_sim.simclock import SimClock
from wearable.cli import main
from wearable_core.contracts.gatt.heart_rate import HeartRateMeasurement
from wearable_core.contracts.record_csv import file_name, header
from wearable_core.contracts.streams import Stream

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "recordings"
START = "2026-02-03T04:05:06Z"


def _rows(directory: Path, stream: Stream) -> list[dict[str, str]]:
    with (directory / file_name(stream)).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, header_line: str, rows: np.ndarray) -> Path:
    lines = [",".join(f"{v:g}" for v in row) for row in rows]
    path.write_text(header_line + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def vitals(tmp_path: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """150 s of 1 Hz heart rate and SpO2, temperature each minute."""
    seconds = np.arange(150)
    hr = 55.0 + (seconds * 7) % 60
    spo2 = 90.0 + seconds % 10
    files = [
        _write(tmp_path / "hr.csv", "time_s,heart_rate_bpm", np.column_stack((seconds, hr))),
        _write(tmp_path / "spo2.csv", "time_s,spo2_pct", np.column_stack((seconds, spo2))),
        _write(tmp_path / "temp.csv", "time_s,skin_temp_c", np.array([[0, 33.25], [60, 33.5]])),
    ]
    return files, hr, spo2


def _replay(files: list[Path], out: Path, *extra: str) -> int:
    args = ["sim", "replay", "--out", str(out), "--start", START, *extra]
    for path in files:
        args += ["--recording", str(path)]
    return main(args)


def test_out_writes_records_whose_values_match_the_recording(
    tmp_path: Path,
    vitals: tuple[list[Path], np.ndarray, np.ndarray],
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, hr, spo2 = vitals
    out = tmp_path / "out"
    assert _replay(files, out) == 0
    summary = json.loads(capsys.readouterr().out)
    device = replay_identity().address
    start_ms = int(dt.datetime.fromisoformat(START).timestamp() * 1000)

    hr_rows = _rows(out, Stream.HEART_RATE)
    # 150 s recorded, 180 s replayed: the last 30 s have no heart signal (a data gap).
    assert len(hr_rows) == 150
    assert [int(r["heart_rate_bpm"]) for r in hr_rows] == hr.astype(int).tolist()
    assert [int(r["sequence"]) for r in hr_rows] == list(range(150))
    assert [int(r["watch_timestamp_ms"]) for r in hr_rows] == [
        start_ms + 1000 * i for i in range(150)
    ]
    assert {r["device"] for r in hr_rows} == {device}
    assert all(r["sensor_contact"] == "1" for r in hr_rows)
    # Beats were synthesised at the recorded rate: each RR (1/1024 s) spans at most the
    # last three seconds, so its rate lies between theirs.
    for i, row in enumerate(hr_rows[2:], start=2):
        for units in row["rr_intervals_1024"].split():
            bpm = 60_000.0 / (int(units) / 1.024)
            assert hr[i - 2 : i + 1].min() - 1 <= bpm <= hr[i - 2 : i + 1].max() + 1

    spo2_rows = _rows(out, Stream.SPO2)
    assert [float(r["spo2_pct"]) for r in spo2_rows] == spo2.tolist()
    temp_rows = _rows(out, Stream.TEMPERATURE)
    # Minute 2 is partly a data gap: no temperature record for it.
    assert [float(r["temperature_c"]) for r in temp_rows] == [33.25, 33.5]
    assert len(_rows(out, Stream.ACCEL)) == 150

    for stream in Stream:
        first = (out / file_name(stream)).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == ",".join(header(stream))
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest == summary
    assert summary["device"] == device and summary["name"] == DEFAULT_NAME
    assert summary["duration_s"] == 180 and summary["records"] == 150 * 3 + 2
    assert summary["start_utc"] == "2026-02-03T04:05:06+00:00"


def test_same_input_same_bytes_and_the_seed_sets_the_identity(
    tmp_path: Path, vitals: tuple[list[Path], np.ndarray, np.ndarray]
) -> None:
    files, _, _ = vitals
    assert _replay(files, tmp_path / "a") == 0
    assert _replay(files, tmp_path / "b") == 0
    assert _replay(files, tmp_path / "c", "--seed", "9", "--name", "Ward-7") == 0
    for stream in Stream:
        name = file_name(stream)
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = {r["device"] for r in _rows(tmp_path / "c", Stream.HEART_RATE)}
    assert other == {replay_identity("Ward-7", 9).address} != {replay_identity().address}


def test_recorded_rr_intervals_are_sent_as_recorded(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rr_ms = rng.uniform(600.0, 1100.0, 100)
    beats = np.cumsum(rr_ms) / 1000.0
    rr_file = tmp_path / "rr.csv"
    rr_file.write_text(
        "time_s,rr_ms\n"
        + "".join(f"{t:.17g},{v:.17g}\n" for t, v in zip(beats, rr_ms, strict=True)),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert _replay([rr_file], out) == 0
    sent = [int(v) for r in _rows(out, Stream.HEART_RATE) for v in r["rr_intervals_1024"].split()]
    assert sent == np.rint(rr_ms * 1.024).astype(int).tolist()


def test_iso_recordings_start_the_watch_clock_at_their_first_timestamp(tmp_path: Path) -> None:
    path = SAMPLES / "tachycardia_hr.csv"
    out = tmp_path / "out"
    assert main(["sim", "replay", "--recording", str(path), "--out", str(out)]) == 0
    rows = _rows(out, Stream.HEART_RATE)
    first = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC).timestamp() * 1000
    assert int(rows[0]["watch_timestamp_ms"]) == first
    # The sample's 20 s dropout (400..419 s) is a data gap: those seconds send nothing.
    times = [(int(r["watch_timestamp_ms"]) - first) / 1000 for r in rows]
    assert 399 in times and 420 in times and not any(400 <= t < 420 for t in times)
    assert (
        replay_start_epoch_s(recording_load([path]), START)
        == dt.datetime.fromisoformat(START).timestamp()
    )


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--truth", "x"], "--truth goes with --radio"),
        (["--seed", "-1"], "--seed"),
        (["--start", "2026-01-01T00:00:00"], "time zone"),
        (["--start", "soon"], "cannot read 'soon'"),
    ],
)
def test_bad_options_exit_with_the_fix(
    tmp_path: Path,
    vitals: tuple[list[Path], np.ndarray, np.ndarray],
    extra: list[str],
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, _, _ = vitals
    args = ["sim", "replay", "--recording", str(files[0]), "--out", str(tmp_path / "o"), *extra]
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert words in capsys.readouterr().err


def test_a_bad_recording_exits_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "hr.csv"
    bad.write_text("time_s,heart_rate_bpm\n0,70\n0.5,-3\n", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["sim", "replay", "--recording", str(bad), "--out", str(tmp_path / "o")])
    assert caught.value.code == 2
    assert f"wearable sim replay: {bad}:3: heart_rate_bpm=-3" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_target_is_required(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sim", "replay", "--recording", str(SAMPLES / "fall_hr.csv")])
    assert caught.value.code == 2


@pytest.mark.integration
def test_replay_over_the_radio_delivers_the_recorded_heart_rate() -> None:
    recording = recording_load([SAMPLES / "fall_hr.csv", SAMPLES / "fall_accel.csv"])
    assert recording.hr_bpm is not None
    expected = np.rint(recording.hr_bpm).astype(int).tolist()

    async def scenario() -> list[int]:
        radio = VirtualRadio()
        clock = SimClock(40.0)
        identity = replay_identity()
        start = replay_start_epoch_s(recording)
        async with replay_watch(
            recording, radio.new_host("watch"), clock, identity, start
        ) as watch:
            central = ProbeCentral(radio.new_host("central"))
            await central.start()
            assert await central.discover(1) == {identity.address: identity.name}
            session = await central.connect(identity.address)
            await watch.run()
            await catch_up(session)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10.0
            while len(session.records[Stream.HEART_RATE]) < len(expected):
                assert loop.time() < deadline, "heart-rate records did not all arrive"
                await asyncio.sleep(0.05)
            assert len(session.records[Stream.ACCEL]) == len(expected)
            records = session.records[Stream.HEART_RATE]
            await session.disconnect()
            return [
                HeartRateMeasurement.from_bytes(records[seq].payload).heart_rate
                for seq in sorted(records)
            ]

    assert asyncio.run(scenario()) == expected
