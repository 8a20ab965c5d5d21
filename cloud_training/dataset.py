"""Training data from a ``wearable sim export`` directory: feature windows and labels.

Windows are cut by the gateway's own code
(:func:`wearable_core.features.window.windows_from_export`) and featurised by
:func:`wearable_core.features.extract.features_extract_many`, so training and inference see
identical features.

Time bases: window starts are **watch-clock** Unix ms (the export places records by
``watch_timestamp_ms``), labels are **true** seconds from the scenario start
(``labels.csv``; the start is ``start_utc`` in ``export.json``). The watch clock is off by a
few seconds (``clock_offset_s`` within ±5 s, drift ≤ 40 ppm ≈ 0.3 s over 2 h) — negligible
against 60 s windows and the 50 % overlap rule, so windows are mapped to true time by
subtracting the scenario start only.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, WINDOW_S
from wearable_core.features.extract import features_extract_many
from wearable_core.features.window import windows_from_export

#: A window is positive for an episode when at least this fraction of it overlaps it.
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class Dataset:
    """Feature windows of an export with their targets.

    Attributes
    ----------
    X : numpy.ndarray
        ``float32 (n, F)`` features in ``FEATURE_NAMES`` order (``nan`` where undefined).
    Y : numpy.ndarray
        ``float32 (n, 6)`` multi-label targets in :data:`ANOMALY_TYPES` order.
    fault : numpy.ndarray
        ``bool (n,)`` the window overlaps any sensor-fault episode.
    device : numpy.ndarray
        ``str (n,)`` device address of each window.
    start_s : numpy.ndarray
        ``float64 (n,)`` window start, seconds from the scenario start.
    """

    X: npt.NDArray[np.float32]
    Y: npt.NDArray[np.float32]
    fault: npt.NDArray[np.bool_]
    device: npt.NDArray[np.str_]
    start_s: npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Label:
    device: str
    kind: str
    category: str
    onset_s: float
    end_s: float


def _read_labels(directory: Path) -> list[_Label]:
    with (directory / "labels.csv").open(newline="", encoding="utf-8") as handle:
        return [
            _Label(r["device"], r["kind"], r["category"], float(r["onset_s"]), float(r["end_s"]))
            for r in csv.DictReader(handle)
        ]


def _devices(directory: Path) -> list[str]:
    with (directory / "watches.csv").open(newline="", encoding="utf-8") as handle:
        return [r["device"] for r in csv.DictReader(handle)]


def _start_epoch_s(directory: Path) -> float:
    manifest = json.loads((directory / "export.json").read_text(encoding="utf-8"))
    return datetime.datetime.fromisoformat(str(manifest["start_utc"])).timestamp()


def overlap_fraction(
    start_s: npt.NDArray[np.float64], onset_s: float, end_s: float, window_s: int = WINDOW_S
) -> npt.NDArray[np.float64]:
    """Fraction of each window ``[start, start + window_s)`` covered by ``[onset, end)``.

    Examples
    --------
    >>> overlap_fraction(np.array([0.0, 60.0, 120.0]), 30.0, 150.0).tolist()
    [0.5, 1.0, 0.5]
    """
    lo = np.maximum(start_s, onset_s)
    hi = np.minimum(start_s + window_s, end_s)
    result: npt.NDArray[np.float64] = np.clip(hi - lo, 0.0, None) / window_s
    return result


def dataset_from_export(
    directory: str | Path,
    window_s: int = WINDOW_S,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Dataset:
    """Build the feature matrix, targets and fault mask of every watch in an export.

    ``progress`` (a live display) is called with ``(watches done, watches)`` after each
    watch; it never changes the dataset.
    """
    d = Path(directory)
    t0 = _start_epoch_s(d)
    labels = _read_labels(d)
    devices = _devices(d)
    xs: list[npt.NDArray[np.float32]] = []
    ys: list[npt.NDArray[np.float32]] = []
    faults: list[npt.NDArray[np.bool_]] = []
    devs: list[npt.NDArray[np.str_]] = []
    starts: list[npt.NDArray[np.float64]] = []
    for done, device in enumerate(devices, start=1):
        windows = list(windows_from_export(d, device, window_s))
        if not windows:
            if progress is not None:
                progress(done, len(devices))
            continue
        x = features_extract_many(windows)
        start = np.array([w.start_ms / 1000.0 - t0 for w in windows], dtype=np.float64)
        y = np.zeros((len(windows), len(ANOMALY_TYPES)), dtype=np.float32)
        fault = np.zeros(len(windows), dtype=bool)
        for label in labels:
            if label.device != device:
                continue
            hit = overlap_fraction(start, label.onset_s, label.end_s, window_s) >= MIN_OVERLAP
            if label.category == "fault":
                fault |= overlap_fraction(start, label.onset_s, label.end_s, window_s) > 0.0
            elif label.kind in ANOMALY_TYPES:
                col = ANOMALY_TYPES.index(label.kind)
                y[hit, col] = 1.0
        xs.append(x)
        ys.append(y)
        faults.append(fault)
        devs.append(np.full(len(windows), device))
        starts.append(start)
        if progress is not None:
            progress(done, len(devices))
    if not xs:
        f = len(FEATURE_NAMES)
        return Dataset(
            np.empty((0, f), np.float32),
            np.empty((0, len(ANOMALY_TYPES)), np.float32),
            np.empty(0, bool),
            np.empty(0, np.str_),
            np.empty(0, np.float64),
        )
    return Dataset(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(faults),
        np.concatenate(devs),
        np.concatenate(starts),
    )
