"""Write the sample recordings in this directory (seeded: same bytes on every run).

    python examples/recordings/make_samples.py [OUT_DIR]

The samples are synthetic stand-ins for real device exports, in the formats of
docs/formats/recordings.md, for trying ``wearable sim replay``:

- ``rest_*.csv``: 10 min of a seated adult: RR intervals with respiratory sinus
  arrhythmia, SpO2 at 1 Hz, skin temperature per minute, a 10 Hz accelerometer;
- ``tachycardia_hr.csv``: 15 min of 1 Hz heart rate with ISO-8601 timestamps, a resting
  tachycardia from minute 3 and a 20 s dropout (no RR: the replay synthesises beats);
- ``fall_*.csv``: 2 min: walking, a fall at 60 s (free fall, impact, then lying still),
  a 50 Hz accelerometer and 1 Hz heart rate.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

SEED = 20260105


def _write(path: Path, header: str, columns: list[np.ndarray], formats: list[str]) -> None:
    rows = np.column_stack(columns)
    line = ",".join(formats)
    body = "\n".join(line.format(*row) for row in rows)
    path.write_text(f"{header}\n{body}\n", encoding="utf-8", newline="\n")


def rest(out: Path, rng: np.random.Generator) -> None:
    duration = 600.0
    # RR: mean 960 ms (62.5 bpm), breathing at 0.25 Hz modulates it by ±40 ms, plus noise.
    approx = np.arange(int(duration / 0.96) + 20) * 0.96
    rr = 960.0 + 40.0 * np.sin(2 * np.pi * 0.25 * approx) + rng.normal(0.0, 15.0, approx.size)
    t = np.cumsum(rr) / 1000.0
    beats, rrs = t[t <= duration], rr[t <= duration]
    _write(
        out / "rest_rr.csv",
        "time_s,rr_ms",
        [beats, rrs],
        ["{:.3f}", "{:.1f}"],
    )
    seconds = np.arange(0.0, duration)
    wave = 0.5 * np.sin(2 * np.pi * seconds / 240.0)
    spo2 = np.clip(97.5 + wave + rng.normal(0, 0.3, seconds.size), 90, 100)
    _write(out / "rest_spo2.csv", "time_s,spo2_pct", [seconds, spo2], ["{:.0f}", "{:.1f}"])
    minutes = np.arange(0.0, duration, 60.0)
    temp = 33.2 + 0.02 * minutes / 60.0 + rng.normal(0, 0.05, minutes.size)
    _write(out / "rest_temp.csv", "time_s,skin_temp_c", [minutes, temp], ["{:.0f}", "{:.2f}"])
    t10 = np.arange(0.0, duration, 0.1)
    # Forearm resting on a desk, tilted: gravity mostly on z, small tremor and shifts.
    tilt = 0.15 + 0.05 * np.sin(2 * np.pi * t10 / 300.0)
    tremor = rng.normal(0, 0.004, (t10.size, 3))
    x = np.sin(tilt) + tremor[:, 0]
    y = 0.05 + tremor[:, 1]
    z = np.cos(tilt) + tremor[:, 2]
    _write(
        out / "rest_accel.csv",
        "time_s,x_g,y_g,z_g",
        [t10, x, y, z],
        ["{:.1f}", "{:.3f}", "{:.3f}", "{:.3f}"],
    )


def tachycardia(out: Path, rng: np.random.Generator) -> None:
    start = dt.datetime(2026, 1, 5, 8, 0, 0, tzinfo=dt.UTC)
    seconds = np.arange(0, 900)
    # Resting 72 bpm, then a first-order rise (time constant 40 s) to 128 bpm from 180 s.
    rise = 1.0 - np.exp(-np.clip(seconds - 180, 0, None) / 40.0)
    hr = 72.0 + (128.0 - 72.0) * rise
    hr += rng.normal(0.0, 1.2, seconds.size)
    keep = (seconds < 400) | (seconds >= 420)  # a 20 s dropout: a data gap on replay
    stamps = [
        (start + dt.timedelta(seconds=int(s))).isoformat().replace("+00:00", "Z")
        for s in seconds[keep]
    ]
    lines = [f"{t},{v:.0f}" for t, v in zip(stamps, hr[keep], strict=True)]
    (out / "tachycardia_hr.csv").write_text(
        "time,heart_rate_bpm\n" + "\n".join(lines) + "\n", encoding="utf-8", newline="\n"
    )


def fall(out: Path, rng: np.random.Generator) -> None:
    rate = 50.0
    t = np.arange(0.0, 120.0, 1.0 / rate)
    walking = t < 59.6
    swing = 2 * np.pi * 0.9 * t
    x = np.where(walking, 0.25 * np.sin(swing), 0.0)
    y = np.where(walking, 0.10 * np.sin(2 * swing), 0.0)
    z = np.where(walking, 0.95 + 0.30 * np.sin(2 * swing + 0.4), 0.0)
    free_fall = (t >= 59.6) & (t < 59.95)
    z[free_fall] = 0.15
    impact = (t >= 59.95) & (t < 60.1)
    shape = np.sin(np.pi * (t[impact] - 59.95) / 0.15)
    x[impact] = -3.5 * shape
    y[impact] = 1.5 * shape
    z[impact] = 5.0 * shape
    lying = t >= 60.1
    x[lying] = 0.98  # on the side: gravity along the forearm's x axis
    y[lying] = 0.05
    z[lying] = 0.12
    noise = rng.normal(0.0, 0.01, (t.size, 3))
    _write(
        out / "fall_accel.csv",
        "time_s,x_g,y_g,z_g",
        [t, x + noise[:, 0], y + noise[:, 1], z + noise[:, 2]],
        ["{:.2f}", "{:.3f}", "{:.3f}", "{:.3f}"],
    )
    seconds = np.arange(0.0, 120.0)
    hr = np.where(seconds < 60, 96.0, 96.0 + 18.0 * np.exp(-(seconds - 60.0) / 30.0))
    hr = hr + rng.normal(0.0, 1.0, seconds.size)
    _write(out / "fall_hr.csv", "time_s,heart_rate_bpm", [seconds, hr], ["{:.0f}", "{:.0f}"])


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    rest(out, rng)
    tachycardia(out, rng)
    fall(out, rng)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
