"""The anonymized aggregate batch: what a gateway uploads, and all it uploads.

Both sides import this module: the gateway encodes batches (``gateway.sync.aggregates``),
the training job decodes them. Format reference: ``docs/formats/aggregate_batch.md``.

A batch is gzip-compressed canonical JSON (sorted keys, no whitespace, gzip ``mtime`` 0),
so the same content always gives the same bytes and therefore the same object name
(:func:`batch_object_name`): a retried upload can never create a second copy.

What a batch may hold, by design nothing else:

- a pseudonym (HMAC-SHA256 of the device address under a secret that never leaves the
  gateway) instead of any device identifier;
- time as whole **hours** since the Unix epoch (:func:`hour_of`), never an exact time;
  windows inside an hour are in a keyed pseudo-random order, not in time order;
- per-window feature vectors and model outputs, quantized to 16-bit codes
  (:data:`FEATURE_CODECS`), with the model version, an inclusion weight and the
  pseudonymous ids of the alerts whose span holds the window (version 2);
- hourly data-quality summaries, alert outcomes, and gateway diagnostics counters.

Any change to the fields or codecs bumps :data:`BATCH_FORMAT_VERSION`.
"""

from __future__ import annotations

import enum
import gzip
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES
from wearable_core.contracts.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION

#: Bumped on any change to the batch's fields, codecs or encoding that a reader of the
#: previous version would misread. An optional field such a reader ignores (``windows_id``)
#: does not bump it. Version 2 added ``windows.alerts``: a version-1 reader would ignore
#: it and label windows by the hour again.
BATCH_FORMAT_VERSION = 2
#: Every version this code decodes; batches of older versions are still read.
BATCH_FORMAT_VERSIONS: tuple[int, ...] = (1, 2)
#: The ``format`` field of every batch.
BATCH_FORMAT = "wearable.aggregate_batch"
#: One hour in milliseconds: the finest time a batch carries.
HOUR_MS = 3_600_000
#: Quantized code meaning "no value" (NaN, or no model output).
MISSING_CODE = 65535
_MAX_CODE = 65534

#: The data-quality faults summarised per hour, in bitmask order.
FAULT_KINDS: tuple[str, ...] = ("off_wrist", "dropout", "flat_line", "motion_artifact")

#: An object name as :func:`batch_object_name` writes it: kind, format version, UTC day,
#: SHA-256 of the bytes.
BATCH_NAME = re.compile(
    r"^(?P<kind>[a-z]+)/v(?P<version>\d+)/(?P<day>\d{4}-\d{2}-\d{2})/"
    r"(?P<sha>[0-9a-f]{64})\.json\.gz$"
)
#: Where an alert status is in the lifecycle: among revisions of one alert with nothing
#: else to order them, the higher rank is the later one (a verdict comes last).
ALERT_STATUS_RANK: Mapping[str, int] = {
    "open": 0,
    "acknowledged": 1,
    "confirmed": 2,
    "dismissed": 2,
}

_PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")
_WINDOWS_ID = re.compile(r"^[0-9a-f]{24}$")
_ALERT_ID = _WINDOWS_ID
_MODEL_VERSION = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")


class BatchKind(enum.StrEnum):
    """What a batch holds; also its upload priority (lower uploads first)."""

    ALERTS = "alerts"
    AGGREGATES = "aggregates"
    DIAGNOSTICS = "diagnostics"

    @property
    def priority(self) -> int:
        """0 for alerts, 1 for aggregates, 2 for diagnostics."""
        return _PRIORITY[self]


_PRIORITY = {BatchKind.ALERTS: 0, BatchKind.AGGREGATES: 1, BatchKind.DIAGNOSTICS: 2}


class BatchFormatError(ValueError):
    """A batch that cannot be decoded; ``field`` names the offending part."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"aggregate batch: {field_name}: {problem}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class Codec:
    """``value = offset + code * step`` for codes 0..65534; 65535 is "missing"."""

    offset: float
    step: float

    @property
    def high(self) -> float:
        """The largest representable value (larger values are clipped to it)."""
        return self.offset + _MAX_CODE * self.step


def _codec(offset: float, step: float) -> Codec:
    return Codec(offset, step)


#: Per-feature quantization, in ``FEATURE_NAMES`` order. Each step is at or below what
#: the measurement resolves (heart rate arrives in whole bpm, SpO2 in whole %, RR
#: intervals in 1/1024 s, fractions of a window in 1/60), and every digit sent costs
#: bytes (``docs/PERFORMANCE.md``: the uploaded bytes per user-day). Ranges cover every
#: physiological value.
FEATURE_CODECS: Mapping[str, Codec] = {
    "hr_mean": _codec(0.0, 0.1),
    "hr_min": _codec(0.0, 0.1),
    "hr_max": _codec(0.0, 0.1),
    "rr_count": _codec(0.0, 1.0),
    "hrv_rmssd": _codec(0.0, 0.5),
    "hrv_sdnn": _codec(0.0, 0.5),
    "hrv_pnn50": _codec(0.0, 0.1),
    "irr_nrmssd": _codec(0.0, 1e-4),
    "irr_shannon_entropy": _codec(0.0, 1e-3),
    "irr_tpr": _codec(0.0, 1e-3),
    "spo2_mean": _codec(0.0, 0.1),
    "spo2_min": _codec(0.0, 0.1),
    "spo2_s_below_90": _codec(0.0, 0.1),
    "spo2_s_below_88": _codec(0.0, 0.1),
    "temp_level": _codec(-50.0, 0.01),
    "temp_trend": _codec(-327.67, 0.01),
    "act_enmo": _codec(0.0, 1e-4),
    "act_cadence": _codec(0.0, 0.01),
    "act_mag_sd": _codec(0.0, 1e-4),
    "fall_peak": _codec(0.0, 1e-3),
    "fall_stillness": _codec(0.0, 1e-4),
    "q_contact_fraction": _codec(0.0, 1e-3),
    "q_data_fraction": _codec(0.0, 1e-3),
    "q_motion_artifact": _codec(0.0, 1e-3),
    "q_flat_line": _codec(0.0, 1e-3),
    "irr_ectopic_fraction": _codec(0.0, 1e-3),
    "irr_nn_nrmssd": _codec(0.0, 1e-4),
    "q_beat_coverage": _codec(0.0, 1e-3),
    "fall_free_fall": _codec(0.0, 1e-3),
    "hr_nn_mean": _codec(0.0, 0.1),
}
#: Model outputs are probabilities in [0, 1].
OUTPUT_CODEC = Codec(0.0, 1e-4)

assert tuple(FEATURE_CODECS) == FEATURE_NAMES, "a codec per feature, in schema order"


def quantize(values: npt.ArrayLike, codec: Codec) -> npt.NDArray[np.uint16]:
    """Encode floats to 16-bit codes (clipped to the codec's range; NaN -> missing).

    Examples
    --------
    >>> quantize([72.504, float("nan"), -1.0], FEATURE_CODECS["hr_mean"]).tolist()
    [725, 65535, 0]
    """
    x = np.asarray(values, dtype=np.float64)
    missing = np.isnan(x)
    codes = np.clip(np.rint((np.where(missing, 0.0, x) - codec.offset) / codec.step), 0, _MAX_CODE)
    codes[missing] = MISSING_CODE
    out: npt.NDArray[np.uint16] = codes.astype(np.uint16)
    return out


def dequantize(codes: npt.ArrayLike, codec: Codec) -> npt.NDArray[np.float64]:
    """Decode 16-bit codes back to floats (missing -> NaN).

    Examples
    --------
    >>> dequantize([725, 65535], FEATURE_CODECS["hr_mean"]).tolist()
    [72.5, nan]
    """
    c = np.asarray(codes, dtype=np.int64)
    values = codec.offset + c.astype(np.float64) * codec.step
    values[c == MISSING_CODE] = np.nan
    return np.round(values, 10)


def hour_of(t_ms: int) -> int:
    """The hour bucket (whole hours since the Unix epoch) that holds ``t_ms``.

    Examples
    --------
    >>> hour_of(1_700_000_123_456)
    472222
    """
    return int(t_ms) // HOUR_MS


@dataclass(frozen=True)
class WindowRows:
    """Per-window rows of one batch, as columns.

    ``features`` is ``(n, 25)`` and ``outputs`` ``(n, 6)`` float arrays (NaN = missing);
    ``model`` indexes :attr:`AggregateBatch.models` (-1: no model served);
    ``weight`` is how many windows each row stands for (1 for windows always sent,
    ``k`` for the 1-in-``k`` sample of unremarkable windows); ``rules`` and ``faults``
    are bitmasks over ``ANOMALY_TYPES`` and :data:`FAULT_KINDS`. ``alerts`` holds, per
    row, the pseudonymous ids (:attr:`AlertOutcome.alert`) of the alerts whose span
    holds the window, sorted; ``None`` in a version-1 batch, which did not say.
    """

    hour: npt.NDArray[np.int64]
    weight: npt.NDArray[np.int64]
    model: npt.NDArray[np.int64]
    rules: npt.NDArray[np.int64]
    faults: npt.NDArray[np.int64]
    features: npt.NDArray[np.float64]
    outputs: npt.NDArray[np.float64]
    alerts: tuple[tuple[str, ...], ...] | None = None

    def __len__(self) -> int:
        return int(self.hour.shape[0])

    @classmethod
    def empty(cls) -> WindowRows:
        """No rows."""
        z = np.zeros(0, dtype=np.int64)
        return cls(
            z,
            z,
            z,
            z,
            z,
            np.zeros((0, len(FEATURE_NAMES))),
            np.zeros((0, len(ANOMALY_TYPES))),
            (),
        )


@dataclass(frozen=True, slots=True)
class HourSummary:
    """One pseudonym's hour: windows assessed, windows worth a look, and fault windows."""

    hour: int
    windows: float
    notable: float
    faults: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """One alert's state as last seen by the gateway (the latest revision wins).

    ``alert`` is a pseudonymous id; ``duration_min`` is rounded to 5 minutes and ``None``
    while the alert is open; ``status`` is open / acknowledged / confirmed / dismissed.
    ``revision`` counts the review actions the gateway had recorded on the alert when it
    sent this row: it never decreases, so it orders two revisions of one alert even when
    they arrive together (a verdict withdrawn by a reopen, then the opposite verdict).
    ``0``: none recorded, or a batch written before the field existed (it is omitted
    from the JSON when 0, so such batches keep their bytes).
    """

    alert: str
    type: str
    severity: str
    hour: int
    duration_min: int | None
    status: str
    rule: str | None
    peak_score: float | None
    model_version: str | None
    revision: int = 0
    #: Mean heart rate over the windows that opened the alert, whole bpm (for AF the ventricular
    #: rate: above 100, AF with rapid ventricular response); ``None`` unmeasured, or a
    #: batch from before the field (omitted from the JSON when ``None``).
    rate_bpm: int | None = None


@dataclass(frozen=True, slots=True)
class PrivacyNoise:
    """Differential-privacy noise applied to the batch's hourly summaries."""

    mechanism: str
    epsilon: float
    sensitivity: float


@dataclass(frozen=True)
class AggregateBatch:
    """One upload: a pseudonym's windows and hours, its alert outcomes, or diagnostics."""

    kind: BatchKind
    pseudonym: str
    models: tuple[str, ...] = ()
    windows: WindowRows = field(default_factory=WindowRows.empty)
    hours: tuple[HourSummary, ...] = ()
    alerts: tuple[AlertOutcome, ...] = ()
    diagnostics: Mapping[str, int | float | str] = field(default_factory=dict)
    noise: PrivacyNoise | None = None
    #: Opaque id of the windows an aggregates batch summarises (24 hex digits, keyed by
    #: the gateway's pseudonym key; ``""`` for other kinds). Batch names and the
    #: training corpus identify a batch by the hash of its bytes, so without it two
    #: batches of the same person and hour with equal counts and no sampled rows would
    #: be one batch, and the second one's windows would never arrive.
    windows_id: str = ""


def _columns(codes: npt.NDArray[np.uint16], names: Sequence[str]) -> dict[str, list[int]]:
    # No rows, no columns: an alerts or diagnostics batch does not repeat 31 names.
    if not len(codes):
        return {}
    return {name: codes[:, i].tolist() for i, name in enumerate(names)}


def _document(batch: AggregateBatch) -> dict[str, Any]:
    if not _PSEUDONYM.match(batch.pseudonym):
        raise BatchFormatError("pseudonym", "must be 32 lowercase hex digits")
    if batch.windows_id and not _WINDOWS_ID.match(batch.windows_id):
        raise BatchFormatError("windows_id", "must be 24 lowercase hex digits")
    for version in batch.models:
        if not _MODEL_VERSION.match(version):
            raise BatchFormatError("models", f"bad model version {version!r}")
    w = batch.windows
    features = (
        np.column_stack(
            [quantize(w.features[:, i], c) for i, c in enumerate(FEATURE_CODECS.values())]
        )
        if len(w)
        else np.zeros((0, len(FEATURE_NAMES)), dtype=np.uint16)
    )
    outputs = quantize(w.outputs, OUTPUT_CODEC).reshape(len(w), len(ANOMALY_TYPES))
    covering: list[list[str]] = (
        [[] for _ in range(len(w))] if w.alerts is None else [sorted(ids) for ids in w.alerts]
    )
    if len(covering) != len(w):
        raise BatchFormatError("windows.alerts", f"has {len(covering)} rows, expected {len(w)}")
    if not all(_ALERT_ID.match(a) for ids in covering for a in ids):
        raise BatchFormatError("windows.alerts", "alert ids must be 24 lowercase hex digits")
    doc: dict[str, Any] = {
        "format": BATCH_FORMAT,
        "version": BATCH_FORMAT_VERSION,
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
        "kind": batch.kind.value,
        "pseudonym": batch.pseudonym,
        "models": list(batch.models),
        "windows": {
            "hour": w.hour.tolist(),
            "weight": w.weight.tolist(),
            "model": w.model.tolist(),
            "rules": w.rules.tolist(),
            "faults": w.faults.tolist(),
            "alerts": covering,
            "features": _columns(features, FEATURE_NAMES),
            "outputs": _columns(outputs, ANOMALY_TYPES),
        },
        "hours": [
            {
                "hour": h.hour,
                "windows": _number(h.windows),
                "notable": _number(h.notable),
                "faults": {k: _number(v) for k, v in sorted(h.faults.items())},
            }
            for h in batch.hours
        ],
        "alerts": [
            {
                "alert": a.alert,
                "type": a.type,
                "severity": a.severity,
                "hour": a.hour,
                "duration_min": a.duration_min,
                "status": a.status,
                "rule": a.rule,
                "peak_score": a.peak_score,
                "model_version": a.model_version,
                **({"revision": a.revision} if a.revision else {}),
                **({"rate_bpm": a.rate_bpm} if a.rate_bpm is not None else {}),
            }
            for a in batch.alerts
        ],
        "diagnostics": dict(batch.diagnostics),
        "noise": None
        if batch.noise is None
        else {
            "mechanism": batch.noise.mechanism,
            "epsilon": batch.noise.epsilon,
            "sensitivity": batch.noise.sensitivity,
        },
    }
    if batch.windows_id:
        doc["windows_id"] = batch.windows_id
    return doc


def _number(value: float) -> int | float:
    """Counts stay ints in JSON; noisy (DP) values are rounded to 2 decimals."""
    return int(value) if float(value).is_integer() else round(float(value), 2)


def batch_encode(batch: AggregateBatch) -> bytes:
    """The batch's bytes: gzip of canonical JSON; the same batch always gives the same bytes.

    Examples
    --------
    >>> b = AggregateBatch(BatchKind.DIAGNOSTICS, "0" * 32, diagnostics={"devices": 2})
    >>> batch_decode(batch_encode(b)).diagnostics["devices"]
    2
    >>> batch_encode(b) == batch_encode(b)
    True
    """
    text = json.dumps(_document(batch), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def batch_object_name(kind: BatchKind, data: bytes, hour: int) -> str:
    """Content-derived object name: ``<kind>/v<version>/<YYYY-MM-DD>/<sha256>.json.gz``.

    The date (UTC day of ``hour``) lets the training job list new batches by prefix; the
    SHA-256 of the bytes makes the name unique to the content.

    Examples
    --------
    >>> batch_object_name(BatchKind.ALERTS, b"x", 472222)[:31]
    'alerts/v2/2023-11-14/2d711642b7'
    """
    day = np.datetime64(int(hour), "h").astype("datetime64[D]")
    digest = hashlib.sha256(data).hexdigest()
    return f"{kind.value}/v{BATCH_FORMAT_VERSION}/{day}/{digest}.json.gz"


def _get(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    path = f"{where}{key}"
    if key not in doc:
        raise BatchFormatError(path, "missing")
    value = doc[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise BatchFormatError(path, f"expected {kind}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _int_column(doc: Mapping[str, Any], key: str, n: int | None, where: str) -> list[int]:
    column = _get(doc, key, list, where)
    if n is not None and len(column) != n:
        raise BatchFormatError(f"{where}{key}", f"has {len(column)} rows, expected {n}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in column):
        raise BatchFormatError(f"{where}{key}", "must hold integers")
    return list(column)


def _decode_matrix(
    doc: Mapping[str, Any], names: Sequence[str], codecs: Sequence[Codec], n: int, where: str
) -> npt.NDArray[np.float64]:
    out = np.empty((n, len(names)))
    if n == 0 and not doc:
        return out
    for i, (name, codec) in enumerate(zip(names, codecs, strict=True)):
        codes = _int_column(doc, name, n, where)
        if any(not 0 <= c <= MISSING_CODE for c in codes):
            raise BatchFormatError(f"{where}{name}", "codes must be in 0..65535")
        out[:, i] = dequantize(codes, codec)
    return out


def batch_decode(data: bytes) -> AggregateBatch:
    """Parse and validate a batch's bytes.

    Raises
    ------
    BatchFormatError
        Not gzip or JSON, another format or version, or a field of the wrong shape;
        the message names the field.
    """
    try:
        doc = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise BatchFormatError("bytes", f"not gzip-compressed JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise BatchFormatError("document", "must be a JSON object")
    if doc.get("format") != BATCH_FORMAT:
        raise BatchFormatError("format", f"{doc.get('format')!r}, expected {BATCH_FORMAT!r}")
    version = doc.get("version")
    if isinstance(version, bool) or version not in BATCH_FORMAT_VERSIONS:
        raise BatchFormatError(
            "version", f"{version!r}; this code reads versions {list(BATCH_FORMAT_VERSIONS)}"
        )
    if doc.get("feature_schema_version") != FEATURE_SCHEMA_VERSION:
        raise BatchFormatError(
            "feature_schema_version",
            f"{doc.get('feature_schema_version')!r}, expected {FEATURE_SCHEMA_VERSION}",
        )
    try:
        kind = BatchKind(_get(doc, "kind", str))
    except ValueError as exc:
        raise BatchFormatError("kind", str(exc)) from exc
    pseudonym = _get(doc, "pseudonym", str)
    if not _PSEUDONYM.match(pseudonym):
        raise BatchFormatError("pseudonym", "must be 32 lowercase hex digits")
    models = tuple(_get(doc, "models", list))
    windows = _get(doc, "windows", dict)
    hour = _int_column(windows, "hour", None, "windows.")
    n = len(hour)
    model = _int_column(windows, "model", n, "windows.")
    if any(not -1 <= m < len(models) for m in model):
        raise BatchFormatError("windows.model", "index outside models")
    rows = WindowRows(
        np.asarray(hour, dtype=np.int64),
        np.asarray(_int_column(windows, "weight", n, "windows."), dtype=np.int64),
        np.asarray(model, dtype=np.int64),
        np.asarray(_int_column(windows, "rules", n, "windows."), dtype=np.int64),
        np.asarray(_int_column(windows, "faults", n, "windows."), dtype=np.int64),
        _decode_matrix(
            _get(windows, "features", dict, "windows."),
            FEATURE_NAMES,
            list(FEATURE_CODECS.values()),
            n,
            "windows.features.",
        ),
        _decode_matrix(
            _get(windows, "outputs", dict, "windows."),
            ANOMALY_TYPES,
            [OUTPUT_CODEC] * len(ANOMALY_TYPES),
            n,
            "windows.outputs.",
        ),
        None if version == 1 else _alerts_column(windows, n),
    )
    hours = tuple(
        HourSummary(
            _get(h, "hour", int, "hours[]."),
            float(_get(h, "windows", (int, float), "hours[].")),
            float(_get(h, "notable", (int, float), "hours[].")),
            {str(k): float(v) for k, v in _get(h, "faults", dict, "hours[].").items()},
        )
        for h in _get(doc, "hours", list)
    )
    alerts = tuple(
        AlertOutcome(
            _get(a, "alert", str, "alerts[]."),
            _get(a, "type", str, "alerts[]."),
            _get(a, "severity", str, "alerts[]."),
            _get(a, "hour", int, "alerts[]."),
            a.get("duration_min"),
            _get(a, "status", str, "alerts[]."),
            a.get("rule"),
            a.get("peak_score"),
            a.get("model_version"),
            _revision(a),
            _rate_bpm(a),
        )
        for a in _get(doc, "alerts", list)
    )
    noise_doc = doc.get("noise")
    noise = (
        None
        if noise_doc is None
        else PrivacyNoise(
            _get(noise_doc, "mechanism", str, "noise."),
            float(_get(noise_doc, "epsilon", (int, float), "noise.")),
            float(_get(noise_doc, "sensitivity", (int, float), "noise.")),
        )
    )
    diagnostics = _get(doc, "diagnostics", dict)
    if any(isinstance(v, float) and not math.isfinite(v) for v in diagnostics.values()):
        raise BatchFormatError("diagnostics", "values must be finite")
    windows_id = doc.get("windows_id", "")
    if not isinstance(windows_id, str) or (windows_id and not _WINDOWS_ID.match(windows_id)):
        raise BatchFormatError("windows_id", "must be 24 lowercase hex digits")
    return AggregateBatch(
        kind, pseudonym, models, rows, hours, alerts, diagnostics, noise, windows_id
    )


def _alerts_column(windows: Mapping[str, Any], n: int) -> tuple[tuple[str, ...], ...]:
    """``windows.alerts`` of a version-2 batch: per row, the ids of the alerts holding it."""
    column = _get(windows, "alerts", list, "windows.")
    if len(column) != n:
        raise BatchFormatError("windows.alerts", f"has {len(column)} rows, expected {n}")
    out = []
    for ids in column:
        if not isinstance(ids, list) or not all(
            isinstance(a, str) and _ALERT_ID.match(a) for a in ids
        ):
            raise BatchFormatError("windows.alerts", "rows must be lists of 24-hex alert ids")
        out.append(tuple(ids))
    return tuple(out)


def _rate_bpm(alert: Mapping[str, Any]) -> int | None:
    """An alert row's optional ``rate_bpm``: ``None`` when absent."""
    value = alert.get("rate_bpm")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 400:
        raise BatchFormatError("alerts[].rate_bpm", "must be an integer in 1..399 (bpm)")
    return value


def _revision(alert: Mapping[str, Any]) -> int:
    """An alert row's optional ``revision``: 0 when absent (batches from before it existed)."""
    value = alert.get("revision", 0)
    # bool is an int subclass: refuse it, as any other non-integer.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BatchFormatError("alerts[].revision", "must be a non-negative integer")
    return value
