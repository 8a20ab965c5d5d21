"""Labelled simulated cohorts kept in the bucket for the cloud training job.

A *cohort* is one scenario simulated with one seed for one duration, cut into the
gateway's feature windows and labelled with the simulator's ground truth
(:func:`cloud_training.dataset.dataset_from_export`). Two splits exist:

- ``validation``: the champion/challenger gate evaluates on it (by convention seed 2 of
  ``examples/eval.toml``, the held-out seed of ``docs/evaluation.md``);
- ``train``: ground-truth positives that the fleet's weakly-labelled data lacks.

Layout and format: ``docs/formats/cohort.md``. In short, each cohort is one immutable,
create-only object ``cohorts/<split>/<scenario>-seed<S>-<duration>-<hash16>.npz`` (an
uncompressed NumPy ``.npz`` with fixed zip timestamps, so the same scenario, seed and
duration give byte-identical objects), and ``cohorts/<split>/index.json`` lists them; it is
the only object ever rewritten, by compare-and-swap on its generation.

The bucket holds no device identifier: rows carry a device *index* (the watch's index in
the scenario, ``0..watches-1``), never the simulated Bluetooth address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cloud_training.npz import npz_bytes
from wearable_core.buckets.base import (
    Bucket,
    Created,
    GenerationMismatch,
    ObjectNotFound,
)
from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION, WINDOW_S
from wearable_core.units import MAX_DURATION_S, MAX_SEED, duration_format

REPO = Path(__file__).resolve().parents[1]

SPLITS: tuple[str, ...] = ("train", "validation")
#: Version of the cohort object and index layout; readers refuse any other.
FORMAT = 1
PREFIX = "cohorts"
INDEX_FILE = "index.json"
#: Compare-and-swap attempts on the index before giving up (each re-reads it).
INDEX_ATTEMPTS = 3

#: Zip entries of a cohort object, in the order they are written.
ARRAYS: tuple[str, ...] = ("X", "Y", "fault", "start_s", "device_index")
META_ENTRY = "meta.json"
# Little-endian explicitly, so the bytes do not depend on the writing machine.
_DTYPES: dict[str, str] = {
    "X": "<f4",
    "Y": "<f4",
    "fault": "|b1",
    "start_s": "<f8",
    "device_index": "<i4",
}
# The earliest date a zip header can hold: every entry carries it, so no clock leaks in.
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_CHARS = 16


# --------------------------------------------------------------------------- errors


class CohortError(Exception):
    """Base class of every cohort failure."""


class CohortMissing(CohortError):
    """The split has no cohort index in the bucket; the message names the command to run."""


class CohortCorrupt(CohortError):
    """A cohort object or index does not match what the index or format promises."""


class CohortConflict(CohortError):
    """Writing would count the same simulated people twice in a split, the same inputs
    produced different bytes than the stored cohort, or the index kept changing under us."""


class CohortLeak(CohortError, ValueError):
    """The seed is already used by the *other* split: training and validation would share
    simulated people (a seed, not the scenario file, decides who the watches' wearers are)."""


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class CohortInfo:
    """One cohort object as listed in its split's index.

    Attributes
    ----------
    name : str
        Object name, ``cohorts/<split>/<scenario>-seed<S>-<duration>-<hash16>.npz``.
    split : str
        ``train`` or ``validation``.
    sha256 : str
        SHA-256 (hex) of the object's bytes.
    bytes : int
        Size of the object.
    scenario : str
        The scenario's ``name``.
    scenario_sha256 : str
        SHA-256 of the scenario file it was simulated from.
    seed : int
        Simulation seed.
    duration_s : int
        Simulated seconds per watch.
    watches : int
        Watches in the scenario (device indexes are ``0..watches-1``).
    windows : int
        Rows (feature windows).
    positives : dict[str, int]
        Positive windows per anomaly type, in :data:`ANOMALY_TYPES` order.
    fault_windows : int
        Windows overlapping a sensor fault.
    feature_schema_version : int
        ``FEATURE_SCHEMA_VERSION`` of the features in ``X``.
    created_by : str
        The command that reproduces the object (without the bucket).
    already_present : bool
        Only on :func:`cohort_add`'s result: ``True`` when nothing new was written.
    """

    name: str
    split: str
    sha256: str
    bytes: int
    scenario: str
    scenario_sha256: str
    seed: int
    duration_s: int
    watches: int
    windows: int
    positives: dict[str, int]
    fault_windows: int
    feature_schema_version: int
    created_by: str
    already_present: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The index entry (every field but ``split`` and ``already_present``)."""
        out = dataclasses.asdict(self)
        del out["split"], out["already_present"]
        return out

    @classmethod
    def from_json(cls, split: str, entry: object) -> CohortInfo:
        """Parse an index entry; :class:`CohortCorrupt` if fields are missing or mistyped."""
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"expected a JSON object, got {type(entry).__name__}")
            return cls(
                name=str(entry["name"]),
                split=split,
                sha256=str(entry["sha256"]),
                bytes=int(entry["bytes"]),
                scenario=str(entry["scenario"]),
                scenario_sha256=str(entry["scenario_sha256"]),
                seed=int(entry["seed"]),
                duration_s=int(entry["duration_s"]),
                watches=int(entry["watches"]),
                windows=int(entry["windows"]),
                positives=_type_order(
                    {str(k): int(v) for k, v in dict(entry["positives"]).items()}
                ),
                fault_windows=int(entry["fault_windows"]),
                feature_schema_version=int(entry["feature_schema_version"]),
                created_by=str(entry["created_by"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CohortCorrupt(
                f"{_index_name(split)}: bad cohort entry {entry!r} ({exc!r}); "
                "restore the index from the cohort objects' metadata"
            ) from exc


def _type_order(counts: dict[str, int]) -> dict[str, int]:
    # Canonical JSON sorts keys; readers expect ANOMALY_TYPES order, as the model's outputs.
    known = {t: counts[t] for t in ANOMALY_TYPES if t in counts}
    return known | {k: v for k, v in counts.items() if k not in known}


@dataclass(frozen=True)
class Cohort:
    """Every cohort of a split, concatenated in index order.

    Attributes
    ----------
    X : numpy.ndarray
        ``float32 (n, F)`` features in ``FEATURE_NAMES`` order (``nan`` where undefined).
    Y : numpy.ndarray
        ``float32 (n, 6)`` ground-truth targets in :data:`ANOMALY_TYPES` order.
    fault : numpy.ndarray
        ``bool (n,)`` the window overlaps a sensor-fault episode.
    start_s : numpy.ndarray
        ``float64 (n,)`` window start, seconds from its scenario's start.
    device_index : numpy.ndarray
        ``int32 (n,)`` which simulated watch; unique across the split (each cohort's
        ``0..watches-1`` is offset by the watches of the cohorts before it), so it can
        group rows for a per-person split.
    source : numpy.ndarray
        ``int32 (n,)`` index into ``infos`` of the cohort each row comes from.
    infos : list[CohortInfo]
        The cohorts, in index order.
    """

    X: npt.NDArray[np.float32]
    Y: npt.NDArray[np.float32]
    fault: npt.NDArray[np.bool_]
    start_s: npt.NDArray[np.float64]
    device_index: npt.NDArray[np.int32]
    source: npt.NDArray[np.int32]
    infos: list[CohortInfo]


# --------------------------------------------------------------------------- names


#: Simulates a scenario for one seed and duration: the cohort's arrays (``ARRAYS``) and
#: the number of simulated episodes of each kind.
Simulate = Callable[[int, int], tuple[dict[str, npt.NDArray[Any]], dict[str, int]]]


@dataclass(frozen=True)
class CohortScenario:
    """A scenario file as a cohort needs it: what it names, and how to simulate it.

    The simulator lives above the training job (``wearable.cohort_simulation``); it reads
    the file and hands this over, so this module never imports it.
    """

    name: str
    seed: int
    duration_s: int
    start_epoch_s: float
    watches: int
    simulate: Simulate


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(
            f"unknown cohort split {split!r}: use 'train' (training positives) or "
            "'validation' (what the champion/challenger gate evaluates on)"
        )
    return split


def _index_name(split: str) -> str:
    return f"{PREFIX}/{split}/{INDEX_FILE}"


def _object_name(split: str, scenario: str, seed: int, duration_s: int, sha256: str) -> str:
    # A single safe path segment whatever the scenario's name holds.
    slug = _SLUG.sub("-", scenario).strip("-.")[:64] or "scenario"
    duration = duration_format(duration_s)
    return f"{PREFIX}/{split}/{slug}-seed{seed}-{duration}-{sha256[:_HASH_CHARS]}.npz"


def _command(split: str, split_arg: str, seed: int, duration_s: int) -> str:
    return (
        f"wearable train cohort --split {split} --scenario {split_arg} "
        f"--seed {seed} --duration {duration_format(duration_s)}"
    )


def _display_path(path: Path) -> str:
    # Relative to the checkout when inside it, else the file name: never an absolute
    # path, which would make the bytes depend on where the repository lives.
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.name


def missing_command(split: str) -> str:
    """The command that writes a first cohort of ``split`` (placeholders URL and N).

    Examples
    --------
    >>> missing_command("validation")
    'wearable train cohort --bucket URL --split validation --scenario examples/eval.toml --seed N'
    """
    scenario = "examples/eval.toml" if split == "validation" else "examples/train.toml"
    return f"wearable train cohort --bucket URL --split {split} --scenario {scenario} --seed N"


# --------------------------------------------------------------------------- encoding


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def cohort_encode(arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> bytes:
    """The bytes of a cohort object: an uncompressed ``.npz`` plus ``meta.json``.

    Deterministic: fixed entry order, fixed zip dates and attributes, explicit
    little-endian dtypes and canonical JSON, so equal inputs give equal bytes.

    Parameters
    ----------
    arrays : dict
        ``X``, ``Y``, ``fault``, ``start_s`` and ``device_index``.
    meta : dict
        JSON-serialisable metadata.

    Returns
    -------
    bytes
        The zip archive.
    """
    # Stored, not deflated: deflate would save ~60 % (2.4 -> 0.9 MB per eval.toml day), but
    # its bytes depend on the zlib build (zlib-ng differs), and a content hash names the
    # object: a rerun elsewhere must give the same name.
    typed = {key: np.ascontiguousarray(arrays[key], dtype=_DTYPES[key]) for key in ARRAYS}
    return npz_bytes(typed, extra={META_ENTRY: _canonical_json(meta)}, compress=False)


def cohort_decode(data: bytes) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """Arrays and metadata of a cohort object; :class:`CohortCorrupt` if malformed.

    Parameters
    ----------
    data : bytes
        The object's bytes.

    Returns
    -------
    tuple
        ``(arrays, meta)`` with the arrays of :data:`ARRAYS` checked for dtype and shape.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            arrays = {
                key: np.lib.format.read_array(
                    io.BytesIO(archive.read(f"{key}.npy")), allow_pickle=False
                )
                for key in ARRAYS
            }
            meta = json.loads(archive.read(META_ENTRY))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CohortCorrupt(f"not a cohort object: {exc}") from exc
    n = len(arrays["X"])
    shapes = {
        "X": (n, len(FEATURE_NAMES)),
        "Y": (n, len(ANOMALY_TYPES)),
        "fault": (n,),
        "start_s": (n,),
        "device_index": (n,),
    }
    for key, shape in shapes.items():
        array = arrays[key]
        if array.shape != shape or array.dtype != np.dtype(_DTYPES[key]):
            raise CohortCorrupt(
                f"cohort array {key} is {array.dtype} {array.shape}, expected "
                f"{np.dtype(_DTYPES[key])} {shape}"
            )
    if not isinstance(meta, dict):
        raise CohortCorrupt("cohort meta.json is not a JSON object")
    return arrays, meta


# --------------------------------------------------------------------------- index


def _index_read(bucket: Bucket, split: str) -> tuple[list[CohortInfo], int]:
    """The split's cohorts and the index generation (0 and ``[]`` when absent)."""
    try:
        data, generation = bucket.read(_index_name(split))
    except ObjectNotFound:
        return [], 0
    try:
        index = json.loads(data)
        if not isinstance(index, dict):
            raise ValueError("not a JSON object")
        version = index.get("format")
        entries = index["cohorts"]
        if not isinstance(entries, list):
            raise ValueError("'cohorts' is not a list")
    except (ValueError, KeyError) as exc:
        raise CohortCorrupt(f"{bucket.url}: {_index_name(split)} is unreadable: {exc}") from exc
    if version != FORMAT:
        raise CohortCorrupt(
            f"{bucket.url}: {_index_name(split)} has format {version!r}, this code reads "
            f"{FORMAT}; upgrade the training code"
        )
    return [CohortInfo.from_json(split, e) for e in entries], generation


def _index_encode(split: str, infos: list[CohortInfo]) -> bytes:
    entries = [i.to_json() for i in sorted(infos, key=lambda i: i.name)]
    return _canonical_json({"format": FORMAT, "split": split, "cohorts": entries}) + b"\n"


def _check_no_double(
    bucket: Bucket,
    split: str,
    infos: list[CohortInfo],
    *,
    scenario: str,
    scenario_sha256: str,
    seed: int,
    duration_s: int,
    name: str | None = None,
) -> None:
    """Refuse a second cohort of the same scenario and seed in one split.

    A longer run of the same scenario and seed repeats the shorter one's hours, and a
    scenario file edited since would repeat its people: either way the split would count
    them twice. ``name`` is the object about to be listed (``None`` before simulating):
    identical inputs under another name mean the simulator or the feature code changed.
    """
    for other in infos:
        if other.name == name or other.scenario != scenario or other.seed != seed:
            continue
        same_inputs = other.duration_s == duration_s and other.scenario_sha256 == scenario_sha256
        if same_inputs and name is None:
            continue  # listed, but its object is gone: simulate again and let the bytes decide
        if same_inputs:
            problem = (
                "the same scenario file, seed and duration now give different bytes (the "
                "simulator or the feature code changed since)"
            )
        else:
            problem = (
                f"it holds the same scenario {scenario!r} and seed {seed} "
                f"({duration_format(other.duration_s)}, scenario sha256 "
                f"{other.scenario_sha256[:12]}); a second copy would count the same people twice"
            )
        raise CohortConflict(
            f"{bucket.url}: {_index_name(split)} already lists {other.name}: {problem}. "
            "Remove that entry from the index (the object itself is immutable and harmless "
            "once unlisted), or use another seed"
        )


def _index_add(bucket: Bucket, info: CohortInfo) -> None:
    """Add ``info`` to its split's index by compare-and-swap, re-reading on a lost race."""
    name = _index_name(info.split)
    for _ in range(INDEX_ATTEMPTS):
        infos, generation = _index_read(bucket, info.split)
        if any(i.name == info.name for i in infos):
            return
        _check_no_double(
            bucket,
            info.split,
            infos,
            scenario=info.scenario,
            scenario_sha256=info.scenario_sha256,
            seed=info.seed,
            duration_s=info.duration_s,
            name=info.name,
        )
        try:
            bucket.replace(
                name, _index_encode(info.split, [*infos, info]), if_generation=generation
            )
            return
        except GenerationMismatch:
            continue  # another writer moved the index: re-read it and merge again
    raise CohortConflict(
        f"{bucket.url}: {name} changed {INDEX_ATTEMPTS} times while adding {info.name}; the "
        "object is written, re-run the same command to list it"
    )


# --------------------------------------------------------------------------- write


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return seed


def _check_duration(duration_s: int) -> int:
    if isinstance(duration_s, bool) or not isinstance(duration_s, int):
        raise ValueError(f"duration_s must be whole seconds, got {duration_s!r}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration must be more than 0 and at most 366 days, got {duration_s}s")
    # Whole minutes, as the scenario rounds its own duration: windows and temperature
    # records are per minute.
    return math.ceil(duration_s / 60) * 60


def cohort_add(
    bucket: Bucket,
    split: str,
    scenario_path: Path,
    load: Callable[[Path], CohortScenario],
    *,
    seed: int | None = None,
    duration_s: int | None = None,
) -> CohortInfo:
    """Simulate a scenario with ``load``'s simulator and store it as one immutable cohort
    object of ``split`` (``wearable.cohort_simulation.cohort_write`` is the simulator's).

    Idempotent: when the split's index already lists this scenario file, seed and
    duration (and the object exists), nothing is simulated and the listed cohort is
    returned with ``already_present=True``. Otherwise the object is written create-only
    (an identical object already there is left alone) and added to
    ``cohorts/<split>/index.json`` by compare-and-swap.

    Parameters
    ----------
    bucket : Bucket
        Where the cohort goes (``wearable_core.buckets.bucket_open``).
    split : str
        ``"train"`` or ``"validation"``.
    scenario_path : pathlib.Path
        Scenario TOML (``docs/formats/scenario.md``).
    load : callable
        Reads the scenario file into a :class:`CohortScenario` that can simulate it.
    seed : int, optional
        Overrides the scenario's seed.
    duration_s : int, optional
        Overrides the scenario's duration (rounded up to whole minutes).

    Returns
    -------
    CohortInfo
        The cohort as listed in the index.

    Raises
    ------
    ValueError
        Unknown split, bad seed or duration, or an invalid scenario (``ScenarioError``).
    CohortLeak
        The seed is used by a cohort of the other split.
    CohortConflict
        The split already holds the same scenario and seed otherwise, or the index kept
        changing during the compare-and-swap.
    wearable_core.buckets.BucketError
        The bucket failed (``BucketUnavailable`` is safe to retry).
    """
    _check_split(split)
    scenario = load(scenario_path)
    scenario_sha256 = hashlib.sha256(Path(scenario_path).read_bytes()).hexdigest()
    used_seed = _check_seed(scenario.seed if seed is None else seed)
    used_duration = _check_duration(scenario.duration_s if duration_s is None else duration_s)

    other = next(s for s in SPLITS if s != split)
    for info in _index_read(bucket, other)[0]:
        if info.seed == used_seed:
            raise CohortLeak(
                f"{bucket.url}: seed {used_seed} is already used by {info.name} in the "
                f"{other!r} split; the same seed simulates the same people whatever the "
                f"scenario file, so {split!r} would share them. Use another seed "
                "(convention: training seed 1, validation seed 2; docs/formats/cohort.md)"
            )

    listed, _ = _index_read(bucket, split)
    for info in listed:
        if (
            info.scenario == scenario.name
            and info.seed == used_seed
            and info.duration_s == used_duration
            and info.scenario_sha256 == scenario_sha256
            and bucket.stat(info.name) is not None
        ):
            return dataclasses.replace(info, already_present=True)
    # Checked before minutes of simulation, and again when listing (a racing writer).
    _check_no_double(
        bucket,
        split,
        listed,
        scenario=scenario.name,
        scenario_sha256=scenario_sha256,
        seed=used_seed,
        duration_s=used_duration,
    )

    arrays, episodes = scenario.simulate(used_seed, used_duration)
    y = arrays["Y"]
    positives = {t: int(y[:, k].sum()) for k, t in enumerate(ANOMALY_TYPES)}
    created_by = _command(split, _display_path(Path(scenario_path)), used_seed, used_duration)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "split": split,
        "scenario": scenario.name,
        "scenario_file": _display_path(Path(scenario_path)),
        "scenario_sha256": scenario_sha256,
        "seed": used_seed,
        "duration_s": used_duration,
        "start_epoch_s": scenario.start_epoch_s,
        "watches": scenario.watches,
        "windows": len(y),
        "window_s": WINDOW_S,
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
        "features": list(FEATURE_NAMES),
        "outputs": list(ANOMALY_TYPES),
        "positives": positives,
        "fault_windows": int(arrays["fault"].sum()),
        "episodes": episodes,
        "created_by": created_by,
    }
    data = cohort_encode(arrays, meta)
    sha256 = hashlib.sha256(data).hexdigest()
    info = CohortInfo(
        name=_object_name(split, scenario.name, used_seed, used_duration, sha256),
        split=split,
        sha256=sha256,
        bytes=len(data),
        scenario=scenario.name,
        scenario_sha256=scenario_sha256,
        seed=used_seed,
        duration_s=used_duration,
        watches=scenario.watches,
        windows=len(y),
        positives=positives,
        fault_windows=meta["fault_windows"],
        feature_schema_version=FEATURE_SCHEMA_VERSION,
        created_by=created_by,
    )
    created = bucket.create(info.name, data)
    _index_add(bucket, info)
    return dataclasses.replace(info, already_present=created is Created.ALREADY_PRESENT)


# --------------------------------------------------------------------------- load


def cohort_load(bucket: Bucket, split: str) -> Cohort:
    """Every cohort of ``split`` in the bucket, concatenated in index order.

    Each object is checked against the index (size and SHA-256) and against the feature
    schema this code computes.

    Parameters
    ----------
    bucket : Bucket
        The bucket the cohorts were written to.
    split : str
        ``"train"`` or ``"validation"``.

    Returns
    -------
    Cohort
        The concatenated arrays and the cohorts they came from.

    Raises
    ------
    ValueError
        Unknown split.
    CohortMissing
        The split has no index (or an empty one); the message names the command to run.
    CohortCorrupt
        An object is missing, altered or of another feature schema.
    """
    _check_split(split)
    infos, generation = _index_read(bucket, split)
    if generation == 0 or not infos:
        raise CohortMissing(
            f"{bucket.url}: no {split} cohort ({_index_name(split)} does not exist or is "
            f"empty); write one with: {missing_command(split)}  "
            f"(URL = {bucket.url}; N = {'2' if split == 'validation' else '1'} by convention, "
            "a seed never used for the other split; see docs/formats/cohort.md)"
        )
    parts: list[dict[str, npt.NDArray[Any]]] = []
    offset = 0
    for position, info in enumerate(infos):
        if info.feature_schema_version != FEATURE_SCHEMA_VERSION:
            raise CohortCorrupt(
                f"{bucket.url}: {info.name} has feature schema {info.feature_schema_version}, "
                f"this code computes {FEATURE_SCHEMA_VERSION}; write the split's cohorts anew "
                f"({info.created_by}) under a fresh bucket prefix"
            )
        try:
            data, _ = bucket.read(info.name)
        except ObjectNotFound as exc:
            raise CohortCorrupt(
                f"{bucket.url}: {_index_name(split)} lists {info.name} but it is missing; "
                f"re-run: {info.created_by}"
            ) from exc
        if len(data) != info.bytes or hashlib.sha256(data).hexdigest() != info.sha256:
            raise CohortCorrupt(
                f"{bucket.url}: {info.name} does not match its index entry (size or SHA-256); "
                "the object was altered: restore it or re-run " + info.created_by
            )
        arrays, _ = cohort_decode(data)
        arrays["device_index"] = arrays["device_index"] + np.int32(offset)
        arrays["source"] = np.full(len(arrays["X"]), position, dtype=np.int32)
        offset += info.watches
        parts.append(arrays)
    return Cohort(
        X=np.concatenate([p["X"] for p in parts]),
        Y=np.concatenate([p["Y"] for p in parts]),
        fault=np.concatenate([p["fault"] for p in parts]),
        start_s=np.concatenate([p["start_s"] for p in parts]),
        device_index=np.concatenate([p["device_index"] for p in parts]),
        source=np.concatenate([p["source"] for p in parts]),
        infos=infos,
    )
