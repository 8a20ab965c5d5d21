"""Loading recordings and resampling them into signal chunks (firmware_sim.recording)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from firmware_sim.recording import (
    ACCEPTED_HEADERS,
    Recording,
    RecordingError,
    recording_load,
    recording_to_chunk,
)

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "recordings"


def _csv(tmp_path: Path, name: str, header: str, rows: list[str] | str) -> Path:
    path = tmp_path / name
    body = rows if isinstance(rows, str) else "\n".join(rows) + "\n"
    path.write_text(f"{header}\n{body}", encoding="utf-8")
    return path


def _series(times: np.ndarray, *columns: np.ndarray) -> list[str]:
    return [",".join(repr(float(v)) for v in row) for row in np.column_stack((times, *columns))]


def _hr_file(tmp_path: Path, values: np.ndarray, name: str = "hr.csv") -> Path:
    return _csv(tmp_path, name, "time_s,heart_rate_bpm", _series(np.arange(values.size), values))


# ------------------------------------------------------------------------ loading


def test_each_format_is_detected_by_its_header(tmp_path: Path) -> None:
    rr = _csv(tmp_path, "rr.csv", "time_s,rr_ms", ["0.8,800", "1.6,800.5", "2.41,810"])
    hr = _csv(tmp_path, "hr.csv", "time_s,heart_rate_bpm", ["0,75", "1,76"])
    spo2 = _csv(tmp_path, "spo2.csv", "time_s,spo2_pct", ["0,97", "1,96.5"])
    temp = _csv(tmp_path, "temp.csv", "time_s,skin_temp_c", ["0,33.1", "60,33.2"])
    accel = _csv(tmp_path, "accel.csv", "time_s,x_g,y_g,z_g", ["0,0,0,1", "0.04,0.1,-0.2,0.9"])
    rec = recording_load([rr, hr, spo2, temp, accel])
    assert rec.rr_time_s is not None and rec.rr_ms is not None
    np.testing.assert_array_equal(rec.rr_time_s, [0.8, 1.6, 2.41])
    np.testing.assert_array_equal(rec.rr_ms, [800, 800.5, 810])
    assert rec.hr_bpm is not None and rec.hr_bpm.tolist() == [75, 76]
    assert rec.spo2_pct is not None and rec.spo2_pct.tolist() == [97, 96.5]
    assert rec.temp_time_s is not None and rec.temp_time_s.tolist() == [0, 60]
    assert rec.accel_g is not None and rec.accel_g.shape == (2, 3)
    np.testing.assert_array_equal(rec.accel_g[1], [0.1, -0.2, 0.9])
    assert rec.duration_s == 60.0
    assert rec.start_epoch_s is None


def test_spaces_crlf_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes(b"\xef\xbb\xbf Time_s , heart_rate_bpm\r\n0, 70\r\n\r\n1 ,71\r\n\r\n")
    rec = recording_load([path])
    assert rec.hr_bpm is not None and rec.hr_bpm.tolist() == [70, 71]


def test_iso_time_column_is_relative_to_the_earliest_first_row(tmp_path: Path) -> None:
    hr = _csv(
        tmp_path,
        "hr.csv",
        "time,heart_rate_bpm",
        ["2026-03-01T10:00:02Z,70", "2026-03-01T10:00:03.5Z,71", "2026-03-01T11:00:04+01:00,72"],
    )
    spo2 = _csv(tmp_path, "spo2.csv", "time,spo2_pct", ["2026-03-01T10:00:00+00:00,98"])
    rec = recording_load([hr, spo2])
    start = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=dt.UTC).timestamp()
    assert rec.start_epoch_s == start
    assert rec.hr_time_s is not None and rec.hr_time_s.tolist() == [2.0, 3.5, 4.0]
    assert rec.spo2_time_s is not None and rec.spo2_time_s.tolist() == [0.0]


def test_naive_iso_timestamps_are_utc(tmp_path: Path) -> None:
    rows = ["2026-03-01 10:00:00,70", "2026-03-01 10:00:01,71"]
    hr = _csv(tmp_path, "hr.csv", "time,heart_rate_bpm", rows)
    rec = recording_load([hr])
    assert rec.start_epoch_s == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC).timestamp()
    assert rec.hr_time_s is not None and rec.hr_time_s.tolist() == [0.0, 1.0]


def test_the_sample_recordings_load() -> None:
    rest = recording_load(sorted(SAMPLES.glob("rest_*.csv")))
    assert rest.rr_ms is not None and rest.spo2_pct is not None and rest.accel_g is not None
    assert 590 < rest.duration_s <= 600
    tachy = recording_load([SAMPLES / "tachycardia_hr.csv"])
    assert tachy.start_epoch_s is not None and tachy.rr_ms is None
    fall = recording_load([SAMPLES / "fall_hr.csv", SAMPLES / "fall_accel.csv"])
    assert fall.accel_g is not None and float(np.abs(fall.accel_g).max()) > 3.0
    for path in SAMPLES.glob("*.csv"):
        assert path.stat().st_size < 200_000, path


# ------------------------------------------------------------------------- errors

BAD = [
    # (name, header, rows, line, words in the message)
    ("x.csv", "time_s,bpm", ["0,70"], 1, ["unknown header", *ACCEPTED_HEADERS]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "2,71", "1,72"], 4, ["does not increase", "sort"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "0,71"], 3, ["does not increase", "duplicate"]),
    ("x.csv", "time_s,rr_ms", ["0.8,800", "1.6,-800"], 3, ["rr_ms=-800", "positive"]),
    ("x.csv", "time_s,rr_ms", ["0.8,0"], 2, ["rr_ms=0", "positive"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1,NaN"], 3, ["not a finite number", "leave out"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1,0"], 3, ["heart_rate_bpm=0", "leave out"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1,"], 3, ["empty cell"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1,seventy"], 3, ["'seventy' is not a number"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1"], 3, ["1 columns", "has 2"]),
    ("x.csv", "time_s,heart_rate_bpm", ["0,70", "1,71,9"], 3, ["3 columns", "has 2"]),
    ("x.csv", "time_s,heart_rate_bpm", ["-1,70"], 2, ["negative", ">= 0"]),
    ("x.csv", "time_s,heart_rate_bpm", ["inf,70"], 2, ["not a time"]),
    ("x.csv", "time_s,spo2_pct", ["0,97", "1,101"], 3, ["spo2_pct=101", "0..100"]),
    ("x.csv", "time_s,skin_temp_c", ["0,91.4"], 2, ["skin_temp_c=91.4", "Fahrenheit"]),
    ("x.csv", "time_s,x_g,y_g,z_g", ["0,0,0,9.81", "1,0,0,9.8"], 2, ["m/s²", "9.80665"]),
    ("x.csv", "time,heart_rate_bpm", ["2026-01-01T00:00:00Z,70", "yesterday,71"], 3, ["ISO-8601"]),
    (
        "x.csv",
        "time,heart_rate_bpm",
        ["2026-01-01T00:00:00Z,70", "2026-01-01T00:00:01,71"],
        3,
        ["time zone"],
    ),
    ("x.csv", "time,heart_rate_bpm", ["2026-01-01T00:00:00Z,70,1"], 2, ["3 columns"]),
    (
        "x.csv",
        "time,heart_rate_bpm",
        ["2026-01-01T00:00:01Z,70", "2026-01-01T00:00:00Z,71"],
        3,
        ["does not increase", "2026-01-01T00:00:00+00:00"],
    ),
    ("x.csv", "time_s,heart_rate_bpm", [], 2, ["no data rows"]),
    ("x.csv", "", [], 1, ["no header", "time_s,rr_ms"]),
]


@pytest.mark.parametrize(("name", "header", "rows", "line", "words"), BAD)
def test_every_error_names_the_file_the_line_and_the_fix(
    tmp_path: Path, name: str, header: str, rows: list[str], line: int, words: list[str]
) -> None:
    path = _csv(tmp_path, name, header, rows)
    with pytest.raises(RecordingError) as caught:
        recording_load([path])
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.path == path and error.line == line
    message = str(error)
    assert message.startswith(f"{path}:{line}: ")
    for word in words:
        assert word in message


def test_two_files_of_one_stream_are_rejected(tmp_path: Path) -> None:
    first = _csv(tmp_path, "a.csv", "time_s,heart_rate_bpm", ["0,70"])
    second = _csv(tmp_path, "b.csv", "time,heart_rate_bpm", ["2026-01-01T00:00:00Z,70"])
    with pytest.raises(RecordingError, match=rf"{second}:1: a second heart-rate file.*{first}"):
        recording_load([first, second])


def test_a_recording_needs_a_heart_stream(tmp_path: Path) -> None:
    spo2 = _csv(tmp_path, "spo2.csv", "time_s,spo2_pct", ["0,97"])
    with pytest.raises(RecordingError, match=rf"{spo2}:1: no heart stream.*time_s,rr_ms"):
        recording_load([spo2])


def test_a_missing_or_binary_file_is_a_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"nope\.csv: cannot read it"):
        recording_load([tmp_path / "nope.csv"])
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(RecordingError, match=r"bin\.csv: not UTF-8"):
        recording_load([binary])


# --------------------------------------------------------------------- resampling


def test_duration_is_rounded_up_to_whole_minutes(tmp_path: Path) -> None:
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(62, 70.0))]))
    assert chunk.start_s == 0 and chunk.duration_s == 120
    assert chunk.hr_bpm.shape == chunk.gap.shape == chunk.contact.shape == (120,)
    assert chunk.skin_temp_c.shape == (2,)
    assert chunk.accel_g.shape == (120 * 25, 3) and chunk.accel_g.dtype == np.float32


def test_one_hz_heart_rate_is_reported_as_recorded(tmp_path: Path) -> None:
    values = 60.0 + (np.arange(120) % 50)
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, values)]))
    np.testing.assert_array_equal(chunk.hr_bpm, values)
    assert not chunk.gap.any() and chunk.contact.all()


def test_heart_rate_synthesises_regular_beats(tmp_path: Path) -> None:
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(120, 75.0))]))
    # 75 bpm: a beat every 0.8 s from 0.8 s, each RR 800 ms; the chunk holds [0, 120).
    np.testing.assert_allclose(chunk.beat_times_s, 0.8 * np.arange(1, 150), atol=1e-9)
    np.testing.assert_allclose(chunk.rr_ms, 800.0, atol=1e-6)


def test_beats_follow_a_changing_rate(tmp_path: Path) -> None:
    values = np.where(np.arange(120) < 60, 60.0, 120.0)
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, values)]))
    early = chunk.rr_ms[chunk.beat_times_s < 59]
    late = chunk.rr_ms[chunk.beat_times_s > 61]
    np.testing.assert_allclose(early, 1000.0, atol=1e-6)
    np.testing.assert_allclose(late, 500.0, atol=1e-6)
    assert chunk.beat_times_s.size == 60 + 120 - 1  # the beat at 120 s is past the end


def test_rr_intervals_give_the_heart_rate_and_keep_their_beats(tmp_path: Path) -> None:
    beats = 0.8 * np.arange(1, 150)
    rr = _csv(tmp_path, "rr.csv", "time_s,rr_ms", _series(beats, np.full(beats.size, 800.0)))
    chunk = recording_to_chunk(recording_load([rr]))
    np.testing.assert_array_equal(chunk.beat_times_s, beats)
    np.testing.assert_array_equal(chunk.rr_ms, 800.0)
    np.testing.assert_allclose(chunk.hr_bpm, 75.0)
    assert not chunk.gap.any()


def test_both_heart_streams_are_used_as_given(tmp_path: Path) -> None:
    beats = 0.8 * np.arange(1, 75)
    rr = _csv(tmp_path, "rr.csv", "time_s,rr_ms", _series(beats, np.full(beats.size, 800.0)))
    hr = _hr_file(tmp_path, np.full(60, 77.0))
    chunk = recording_to_chunk(recording_load([rr, hr]))
    np.testing.assert_array_equal(chunk.hr_bpm, 77.0)
    np.testing.assert_array_equal(chunk.beat_times_s, beats)


def test_missing_streams_are_unavailable_and_the_wrist_still(tmp_path: Path) -> None:
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(60, 70.0))]))
    assert np.isnan(chunk.spo2_pct).all() and np.isnan(chunk.skin_temp_c).all()
    np.testing.assert_array_equal(chunk.accel_g, np.tile([0.0, 0.0, 1.0], (60 * 25, 1)))


def test_heart_silences_over_five_seconds_are_gaps(tmp_path: Path) -> None:
    times = np.concatenate((np.arange(0, 20), np.arange(23, 40), np.arange(50, 100)))
    hr = _csv(
        tmp_path, "hr.csv", "time_s,heart_rate_bpm", _series(times, np.full(times.size, 70.0))
    )
    chunk = recording_to_chunk(recording_load([hr]))
    expected = np.zeros(120, dtype=bool)
    expected[40:50] = True  # 39 -> 50: 11 s without a sample
    expected[100:] = True  # after the last sample, to the end of the minute
    np.testing.assert_array_equal(chunk.gap, expected)
    np.testing.assert_array_equal(chunk.contact, ~expected)


def test_spo2_and_temperature_are_per_period_means_with_silences_unavailable(
    tmp_path: Path,
) -> None:
    hr = _hr_file(tmp_path, np.full(180, 70.0))
    spo2_t = np.concatenate((np.arange(0, 60, 0.5), np.arange(62, 100), np.arange(110, 180)))
    spo2_v = np.where(spo2_t < 60, 96.0 + 2.0 * (spo2_t % 1 > 0), 94.0)
    spo2 = _csv(tmp_path, "spo2.csv", "time_s,spo2_pct", _series(spo2_t, spo2_v))
    temp = _csv(tmp_path, "temp.csv", "time_s,skin_temp_c", ["0,33", "30,34", "170,35"])
    chunk = recording_to_chunk(recording_load([hr, spo2, temp]))
    np.testing.assert_array_equal(chunk.spo2_pct[:60], 97.0)  # mean of 96 and 98
    # A 2.5 s hole: interpolated (96.4, 94.8), reported in whole percent.
    np.testing.assert_array_equal(chunk.spo2_pct[60:62], [96.0, 95.0])
    assert np.isnan(chunk.spo2_pct[100:110]).all()  # 10 s without SpO2
    np.testing.assert_array_equal(chunk.spo2_pct[110:], 94.0)
    # Minute 0: mean of 33 and 34; minute 1: interpolated at 90 s; minute 2: its sample.
    # (0.01 °C resolution.)
    np.testing.assert_array_equal(chunk.skin_temp_c, [33.5, round(34 + 60 / 140, 2), 35.0])


def test_fifty_hz_accelerometer_sine_is_resampled_to_25_hz(tmp_path: Path) -> None:
    t = np.arange(0, 60 * 50) / 50.0
    x = 0.5 * np.sin(2 * np.pi * 1.0 * t)
    accel = _csv(
        tmp_path,
        "accel.csv",
        "time_s,x_g,y_g,z_g",
        _series(t, x, np.full(t.size, 0.1), np.full(t.size, 0.98)),
    )
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(60, 70.0)), accel]))
    grid = np.arange(60 * 25) / 25.0
    # The 40 ms anti-aliasing window attenuates 1 Hz by < 1 % and shifts no phase.
    # (The first sample's window reaches before the recording, where the signal is held.)
    np.testing.assert_allclose(chunk.accel_g[1:, 0], 0.5 * np.sin(2 * np.pi * grid[1:]), atol=0.005)
    np.testing.assert_allclose(chunk.accel_g[:, 1], 0.1, atol=1e-6)
    np.testing.assert_allclose(chunk.accel_g[:, 2], 0.98, atol=1e-6)


def test_a_fast_component_is_filtered_not_aliased(tmp_path: Path) -> None:
    # 25 Hz vibration sampled at 100 Hz would alias to DC if merely decimated to 25 Hz.
    t = np.arange(0, 60 * 100) / 100.0
    x = 0.5 * np.cos(2 * np.pi * 25.0 * t)
    zeros = np.zeros(t.size)
    accel = _csv(tmp_path, "accel.csv", "time_s,x_g,y_g,z_g", _series(t, x, zeros, zeros + 1))
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(60, 70.0)), accel]))
    assert float(np.abs(chunk.accel_g[1:-1, 0]).max()) < 0.01


def test_slow_accelerometer_is_interpolated_and_silences_are_still(tmp_path: Path) -> None:
    t = np.arange(0, 30, 0.1)
    ramp = t / 100.0
    zeros = np.zeros(t.size)
    accel = _csv(tmp_path, "accel.csv", "time_s,x_g,y_g,z_g", _series(t, ramp, zeros, zeros + 1))
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(60, 70.0)), accel]))
    grid = np.arange(60 * 25) / 25.0
    within = grid <= t[-1]
    np.testing.assert_allclose(chunk.accel_g[within, 0], grid[within] / 100.0, atol=1e-6)
    # Beyond the recording's last sample by more than 5 s: a still wrist.
    still = chunk.accel_g[grid > t[-1] + 5.0]
    assert still.shape[0] > 0 and (still == [0.0, 0.0, 1.0]).all()


def test_accelerometer_beyond_the_watch_range_saturates(tmp_path: Path) -> None:
    accel = _csv(tmp_path, "accel.csv", "time_s,x_g,y_g,z_g", ["0,0,0,1", "1,0,0,1", "1.5,20,0,1"])
    chunk = recording_to_chunk(recording_load([_hr_file(tmp_path, np.full(60, 70.0)), accel]))
    assert float(chunk.accel_g[:, 0].max()) == 16.0


def test_recording_requires_a_heart_stream_and_paired_arrays() -> None:
    with pytest.raises(ValueError, match="heart stream"):
        Recording()
    with pytest.raises(ValueError, match="both"):
        Recording(hr_time_s=np.arange(3.0))
