"""Score the gateway's medical alerts against labelled ground truth (``wearable eval``).

Pure: no I/O, no clock, no randomness; the same inputs always give the same report. The
inputs are plain frozen dataclasses (:class:`TruthEpisode`, :class:`ScoredAlert`,
:class:`WindowDecision`) so that the command which reads recordings and gateway stores can
build them without this module knowing either format.

Matching rules
--------------
All times are integer milliseconds; tolerances live in :class:`MatchTolerances`.

1. **Candidates.** An alert of type ``T`` on device ``D`` is a candidate for a *medical*
   episode (``is_fault`` false) of kind ``T`` on ``D`` when::

       episode.onset_ms - before_ms <= alert.opened_ms <= episode.end_ms + after_ms[T]

   Defaults: ``before_ms`` 60 s (a 60-s window may straddle the onset);
   ``after_ms`` 120 s for tachycardia, bradycardia, desaturation and fall (the window
   holding the episode's end, plus one window), 300 s for AF, 3600 s for fever (fever
   opens only after 30 min of sustained rise). Both ends are inclusive.
2. **Assignment.** Alerts are taken in order of ``opened_ms`` (ties keep input order).
   Each is assigned to the not-yet-matched candidate with the earliest onset (ties: the
   earlier end, then input order), required episodes before borderline ones, and then
   *matches* that episode; an episode takes at most one such alert. An alert whose
   candidates are all matched already is a **duplicate** (e.g. re-opened after the
   cooldown): a true alert, but neither a new detection nor a false alert. An alert with
   no candidate is a **false alert**.
3. **Detection and latency.** An episode is detected if an alert matches it; its latency
   is that alert's ``opened_ms - onset_ms`` in seconds, unclamped (it may be slightly
   negative when the evidence window straddles the onset).
4. **Per type.** Episodes are the *required* ones (``TruthEpisode.required``): a
   borderline episode, which meets its definition only within the sensor's
   measurement error, makes an alert on it true but is no miss when it is not alerted
   on (counted apart as ``borderline_episodes`` and ``borderline_detected``).
   ``recall = detected / episodes``; ``precision = true_alerts / alerts``
   where true alerts include duplicates; ``false_alerts = alerts - true_alerts``, also
   per monitored user-day. Median and 95th-percentile latency use
   :func:`numpy.percentile` (linear) over the detected episodes. Undefined ratios and
   statistics (zero denominator, no detections) are ``None``.
5. **Faults.** A false alert whose evidence ``[evidence_start_ms, evidence_end_ms]``
   overlaps a fault episode on the same device (``start < fault.end_ms and
   fault.onset_ms < end``) counts in ``fault_medical_alerts``: a sensor fault should
   have produced a data-quality event, never a medical alert.
6. **AF per window.** Over the *union* of the device's AF episodes (so that overlapping
   labels are not counted twice), a window covered for at least
   ``af_positive_fraction`` (default 50 %) of its duration is positive, one not
   touched at all is negative, and one partly covered below that fraction is excluded,
   as is every window that is not ``evaluable`` (suppressed by a fault, or no data).
   ``sensitivity = TP / positives`` and ``specificity = TN / negatives``, where TP are
   positive windows with ``af_active`` and TN negative windows without it.

Targets (:data:`TARGETS`) are checked by :func:`targets_met` and worded by
:func:`targets_report`. A target whose metric is undefined (no episodes of the type, or
none detected) is reported as not met: the run does not show it is met.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES, AnomalyType

__all__ = [
    "DEFAULT_AFTER_MS",
    "DEFAULT_BEFORE_MS",
    "TARGETS",
    "MatchTolerances",
    "ScoredAlert",
    "TruthEpisode",
    "WindowDecision",
    "evaluate",
    "targets_met",
    "targets_report",
]

#: How long before an episode's onset a matching alert may open: one 60-s window, since
#: the window that straddles the onset may already carry enough evidence.
DEFAULT_BEFORE_MS = 60_000

#: How long after an episode's end a matching alert may still open, per type.
DEFAULT_AFTER_MS: Mapping[str, int] = MappingProxyType(
    {
        # Acute types: the window holding the end, plus one window of decision lag.
        AnomalyType.TACHYCARDIA.value: 120_000,
        AnomalyType.BRADYCARDIA.value: 120_000,
        # AF needs several windows of irregular RR intervals before it opens.
        AnomalyType.AF.value: 300_000,
        AnomalyType.DESATURATION.value: 120_000,
        # Fever opens only after 30 min of sustained rise; allow an hour.
        AnomalyType.FEVER.value: 3_600_000,
        AnomalyType.FALL.value: 120_000,
    }
)

_ACUTE_LATENCY_S = 60.0
_LATENCY_S: Mapping[str, float] = MappingProxyType(
    {
        AnomalyType.TACHYCARDIA.value: _ACUTE_LATENCY_S,
        AnomalyType.BRADYCARDIA.value: _ACUTE_LATENCY_S,
        AnomalyType.AF.value: 180.0,
        AnomalyType.DESATURATION.value: _ACUTE_LATENCY_S,
        AnomalyType.FEVER.value: 1800.0,
        AnomalyType.FALL.value: _ACUTE_LATENCY_S,
    }
)
#: Types whose latency must also be steady: p95 at most twice the median.
_STEADY_TYPES = tuple(k for k in ANOMALY_TYPES if k != AnomalyType.FEVER.value)

#: The targets, one number each (the detection issue's, ``docs/evaluation.md``).
#: ``recall.*`` are minimums; all others are maximums: ``latency.*`` bounds the median
#: latency in seconds, ``latency_spread.*`` the ratio of the p95 latency to the median.
TARGETS: Mapping[str, float] = MappingProxyType(
    {
        **{f"recall.{kind}": 0.95 for kind in ANOMALY_TYPES},
        **{f"latency.{kind}": _LATENCY_S[kind] for kind in ANOMALY_TYPES},
        **{f"latency_spread.{kind}": 2.0 for kind in _STEADY_TYPES},
        "false_alerts_per_user_day": 0.1,
        "fault_medical_alerts": 0.0,
    }
)

_AF = AnomalyType.AF.value


def _plain(value: str) -> str:
    # StrEnum members are str, but json.dumps and reprs are clearer with plain values.
    return str(value.value) if isinstance(value, Enum) else str(value)


def _check_medical_kind(kind: str, what: str) -> None:
    if kind not in ANOMALY_TYPES:
        raise ValueError(f"{what} {kind!r} is not an anomaly type (one of {ANOMALY_TYPES})")


@dataclass(frozen=True)
class TruthEpisode:
    """A labelled interval on one device: a medical episode or a sensor fault.

    Parameters
    ----------
    device
        The device the label belongs to.
    kind
        An anomaly type value (``"af"``, ...) for a medical episode; a fault kind
        (``"off_wrist"``, ``"flat_line"``, ...) when ``is_fault``. Fault kinds are not
        checked, since they are only reported back.
    onset_ms, end_ms
        The interval, inclusive of both ends; ``end_ms >= onset_ms`` (a fall may be
        instantaneous).
    is_fault
        Whether this is a sensor fault rather than a medical episode.
    cause
        What produced a medical label (``firmware_sim.clinical_labels``): the planned
        episodes it overlaps, or ``"physiology"``; empty when unknown.
    required
        Whether recall counts it. A *borderline* episode (one that meets its
        definition only within the sensor's measurement error) may be alerted on (the
        alert is true) but is not a miss when it is not.
    """

    device: str
    kind: str
    onset_ms: int
    end_ms: int
    is_fault: bool
    cause: str = ""
    required: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _plain(self.kind))
        if self.end_ms < self.onset_ms:
            raise ValueError(f"episode ends before its onset: {self}")
        if not self.is_fault:
            _check_medical_kind(self.kind, "medical episode kind")


@dataclass(frozen=True)
class ScoredAlert:
    """A medical alert the gateway opened.

    Parameters
    ----------
    device
        The device it was opened for.
    type
        Its anomaly type value.
    opened_ms
        When it opened, which is the end of its evidence.
    evidence_start_ms, evidence_end_ms
        The evidence that opened it.
    closed_ms
        When it closed, or ``None`` if still open (not used for scoring).
    rule
        The safety rule that opened it, or ``None`` for the model (reported with false
        alerts, not used for scoring).
    """

    device: str
    type: str
    opened_ms: int
    evidence_start_ms: int
    evidence_end_ms: int
    closed_ms: int | None
    rule: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", _plain(self.type))
        _check_medical_kind(self.type, "alert type")
        if self.evidence_end_ms < self.evidence_start_ms:
            raise ValueError(f"alert evidence ends before it starts: {self}")


@dataclass(frozen=True)
class WindowDecision:
    """Whether the pipeline considered AF active in one window of one device.

    Parameters
    ----------
    device
        The device.
    start_ms, end_ms
        The window, ``start_ms < end_ms``.
    af_active
        Whether AF was considered active in the window.
    evaluable
        ``False`` when the window was suppressed by a sensor fault or had no data; such
        windows are excluded from the AF window scores.
    """

    device: str
    start_ms: int
    end_ms: int
    af_active: bool
    evaluable: bool

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"window is empty: {self}")


@dataclass(frozen=True)
class MatchTolerances:
    """How far an alert may open from its episode, and the AF window threshold.

    Parameters
    ----------
    before_ms
        How long before an episode's onset a matching alert may open.
    after_ms
        Per type, how long after an episode's end a matching alert may open. Types left
        out take :data:`DEFAULT_AFTER_MS`; unknown types are an error. The stored
        mapping always holds all six types.
    af_positive_fraction
        The fraction of a window that AF episodes must cover for it to be AF-positive,
        in ``(0, 1]``.

    Raises
    ------
    ValueError
        On a negative tolerance, an unknown type or a fraction out of range.

    Examples
    --------
    >>> MatchTolerances(after_ms={"af": 600_000}).after_ms["af"]
    600000
    >>> MatchTolerances(after_ms={"af": 600_000}).after_ms["fever"]
    3600000
    """

    before_ms: int = DEFAULT_BEFORE_MS
    # Not hashed: a mapping is unhashable, and equal objects still hash equal.
    after_ms: Mapping[str, int] = field(default_factory=lambda: DEFAULT_AFTER_MS, hash=False)
    af_positive_fraction: float = 0.5

    def __post_init__(self) -> None:
        unknown = sorted(set(map(_plain, self.after_ms)) - set(ANOMALY_TYPES))
        if unknown:
            raise ValueError(f"after_ms names unknown types {unknown} (known: {ANOMALY_TYPES})")
        given = {_plain(kind): ms for kind, ms in self.after_ms.items()}
        merged = {kind: int(given.get(kind, DEFAULT_AFTER_MS[kind])) for kind in ANOMALY_TYPES}
        if self.before_ms < 0 or any(ms < 0 for ms in merged.values()):
            raise ValueError(f"tolerances must not be negative: {self.before_ms}, {merged}")
        if not 0.0 < self.af_positive_fraction <= 1.0:
            raise ValueError(f"af_positive_fraction must be in (0, 1]: {self.af_positive_fraction}")
        # A private copy, read-only, so that the caller's dict cannot change it later.
        object.__setattr__(self, "after_ms", MappingProxyType(merged))

    def to_dict(self) -> dict[str, Any]:
        """The tolerances and the rule they feed, JSON-ready, for the report."""
        return {
            "rule": "onset_ms - before_ms <= opened_ms <= end_ms + after_ms[type]",
            "assignment": "alerts by opened_ms; earliest-onset unmatched candidate; "
            "else duplicate if any candidate, else false",
            "before_ms": int(self.before_ms),
            "after_ms": dict(self.after_ms),
            "af_positive_fraction": float(self.af_positive_fraction),
            "fault_overlap": (
                "evidence_start_ms < fault.end_ms and fault.onset_ms < evidence_end_ms"
            ),
        }


# Alert outcomes of the assignment.
_TRUE, _DUPLICATE, _FALSE = "true", "duplicate", "false"


def _match(
    medical: Sequence[TruthEpisode], alerts: Sequence[ScoredAlert], tolerances: MatchTolerances
) -> tuple[list[int | None], list[str]]:
    """Assign alerts to episodes (rule 2 of the module docstring).

    Returns, per episode, the index of the alert that matched it (or ``None``) and, per
    alert, its outcome.
    """
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, episode in enumerate(medical):
        by_key[(episode.device, episode.kind)].append(index)
    for indices in by_key.values():
        # sort() is stable, so input order breaks the remaining ties.
        indices.sort(key=lambda i: (medical[i].onset_ms, medical[i].end_ms))

    matched_by: list[int | None] = [None] * len(medical)
    outcome = [_FALSE] * len(alerts)
    # Chronological order, so an episode's matching alert is the first one assigned to it.
    for j in sorted(range(len(alerts)), key=lambda j: alerts[j].opened_ms):
        alert = alerts[j]
        low = alert.opened_ms - tolerances.after_ms[alert.type]
        high = alert.opened_ms + tolerances.before_ms
        # opened_ms in [onset - before, end + after]  <=>  onset <= high and end >= low.
        candidates = [
            i
            for i in by_key.get((alert.device, alert.type), ())
            if medical[i].onset_ms <= high and medical[i].end_ms >= low
        ]
        if not candidates:
            continue
        # A required episode first: an alert in a borderline span just before a
        # required one (a rate or saturation on its way past the threshold) detects
        # the required one.
        free = next(
            (i for i in candidates if matched_by[i] is None and medical[i].required),
            next((i for i in candidates if matched_by[i] is None), None),
        )
        if free is None:
            outcome[j] = _DUPLICATE
        else:
            matched_by[free] = j
            outcome[j] = _TRUE
    return matched_by, outcome


def alert_outcomes(
    episodes: Iterable[TruthEpisode],
    alerts: Sequence[ScoredAlert],
    tolerances: MatchTolerances | None = None,
) -> list[str]:
    """Per alert, in input order: ``"true"``, ``"duplicate"`` or ``"false"``.

    The assignment :func:`evaluate` scores with (sensor faults are not episodes an alert
    can match). What a clinician who knew the ground truth would conclude: a true alert
    is confirmed, a false one dismissed.

    Examples
    --------
    >>> episodes = [TruthEpisode("w1", "fall", 600_000, 660_000, is_fault=False)]
    >>> alerts = [
    ...     ScoredAlert("w1", "fall", 610_000, 600_000, 610_000, closed_ms=None),
    ...     ScoredAlert("w2", "fall", 610_000, 600_000, 610_000, closed_ms=None),
    ... ]
    >>> alert_outcomes(episodes, alerts)
    ['true', 'false']
    """
    medical = [e for e in episodes if not e.is_fault]
    return _match(medical, list(alerts), tolerances or MatchTolerances())[1]


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _latency_stats(latencies_s: Sequence[float]) -> tuple[float | None, float | None]:
    if not latencies_s:
        return None, None
    median, p95 = np.percentile(np.asarray(latencies_s, dtype=np.float64), [50, 95])
    return float(median), float(p95)


def _merge(
    onsets: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The union of intervals as sorted, disjoint ``(starts, ends)``."""
    order = np.argsort(onsets, kind="stable")
    onsets, ends = onsets[order], ends[order]
    reach = np.maximum.accumulate(ends)
    # A new run starts where an interval begins after everything before it has ended.
    new_run = np.ones(len(onsets), dtype=bool)
    new_run[1:] = onsets[1:] > reach[:-1]
    run_starts = np.flatnonzero(new_run)
    return onsets[run_starts], np.maximum.reduceat(ends, run_starts)


def _covered_up_to(
    times: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """How much of the disjoint sorted intervals lies before each time.

    Overlap of ``[a, b]`` with the intervals is then ``covered(b) - covered(a)``: one
    binary search per window instead of a windows × episodes matrix.
    """
    if len(starts) == 0:
        return np.zeros(len(times), dtype=np.int64)
    lengths = ends - starts
    before = np.concatenate(([0], np.cumsum(lengths)))
    count = np.searchsorted(starts, times, side="right")
    last = np.maximum(count - 1, 0)
    # Intervals before the last one that started are wholly before the time (disjoint).
    partial = np.clip(times - starts[last], 0, lengths[last])
    covered: npt.NDArray[np.int64] = np.where(count > 0, before[last] + partial, 0)
    return covered


def _af_windows(
    windows: Sequence[WindowDecision], af_episodes: Sequence[TruthEpisode], fraction: float
) -> dict[str, Any]:
    """Per-window AF sensitivity and specificity (rule 6 of the module docstring)."""
    episodes_by_device: dict[str, list[TruthEpisode]] = defaultdict(list)
    for episode in af_episodes:
        episodes_by_device[episode.device].append(episode)
    windows_by_device: dict[str, list[WindowDecision]] = defaultdict(list)
    for window in windows:
        windows_by_device[window.device].append(window)

    counts = dict.fromkeys(("positive", "negative", "tp", "tn", "partial", "not_evaluable"), 0)
    for device, device_windows in windows_by_device.items():
        starts = np.fromiter((w.start_ms for w in device_windows), np.int64, len(device_windows))
        ends = np.fromiter((w.end_ms for w in device_windows), np.int64, len(device_windows))
        active = np.fromiter((w.af_active for w in device_windows), bool, len(device_windows))
        evaluable = np.fromiter((w.evaluable for w in device_windows), bool, len(device_windows))
        labelled = episodes_by_device.get(device, [])
        run_starts, run_ends = _merge(
            np.fromiter((e.onset_ms for e in labelled), np.int64, len(labelled)),
            np.fromiter((e.end_ms for e in labelled), np.int64, len(labelled)),
        )
        overlap = _covered_up_to(ends, run_starts, run_ends) - _covered_up_to(
            starts, run_starts, run_ends
        )
        # fraction > 0 and windows are non-empty, so a positive window has overlap > 0.
        positive = evaluable & (overlap >= fraction * (ends - starts))
        negative = evaluable & (overlap == 0)
        counts["positive"] += int(positive.sum())
        counts["negative"] += int(negative.sum())
        counts["tp"] += int((positive & active).sum())
        counts["tn"] += int((negative & ~active).sum())
        counts["partial"] += int((evaluable & ~positive & ~negative).sum())
        counts["not_evaluable"] += int((~evaluable).sum())

    return {
        "sensitivity": _ratio(counts["tp"], counts["positive"]),
        "specificity": _ratio(counts["tn"], counts["negative"]),
        "positive_windows": counts["positive"],
        "negative_windows": counts["negative"],
        "excluded_windows": counts["partial"] + counts["not_evaluable"],
        "true_positive_windows": counts["tp"],
        "true_negative_windows": counts["tn"],
        "excluded_partial_windows": counts["partial"],
        "excluded_not_evaluable_windows": counts["not_evaluable"],
    }


def evaluate(
    episodes: Iterable[TruthEpisode],
    alerts: Iterable[ScoredAlert],
    windows: Iterable[WindowDecision],
    user_days: float,
    *,
    tolerances: MatchTolerances | None = None,
) -> dict[str, Any]:
    """Score alerts and AF window decisions against the ground truth.

    The rules are those of the module docstring.

    Parameters
    ----------
    episodes
        Medical episodes and sensor faults, all devices.
    alerts
        The medical alerts the gateway opened, all devices.
    windows
        Per-window AF decisions, all devices.
    user_days
        Total monitored person-days of the cohort, ``> 0``.
    tolerances
        The matching tolerances; ``None`` for the defaults.

    Returns
    -------
    dict
        JSON-ready (only ``dict``, ``list``, ``str``, ``int``, ``float`` and ``None``):
        ``per_type`` (one entry per anomaly type, in :data:`ANOMALY_TYPES` order, each
        with ``episodes``, ``detected``, ``alerts``, ``true_alerts``,
        ``duplicate_alerts``, ``false_alerts``, ``recall``, ``precision``,
        ``false_alerts_per_user_day``, ``median_latency_s``, ``p95_latency_s``),
        ``af_window``, ``false_alerts``, ``false_alerts_per_user_day``,
        ``fault_medical_alerts``, ``fault_medical_alert_details``,
        ``missed_episode_details``, ``false_alert_details``, ``user_days`` and
        ``matching``.

    Raises
    ------
    ValueError
        If ``user_days`` is not a positive finite number: a rate per user-day over no
        monitoring is meaningless, and the caller should say so rather than print 0.

    Examples
    --------
    One tachycardia episode caught 30 s after onset, and a fall alert with no fall:

    >>> episodes = [TruthEpisode("w1", "tachycardia", 600_000, 900_000, is_fault=False)]
    >>> alerts = [
    ...     ScoredAlert("w1", "tachycardia", 630_000, 570_000, 630_000, closed_ms=960_000),
    ...     ScoredAlert("w1", "fall", 2_000_000, 1_940_000, 2_000_000, closed_ms=None),
    ... ]
    >>> windows = [
    ...     WindowDecision("w1", 0, 60_000, af_active=False, evaluable=True),
    ...     WindowDecision("w1", 60_000, 120_000, af_active=True, evaluable=True),
    ... ]
    >>> result = evaluate(episodes, alerts, windows, user_days=2.0)
    >>> tachy = result["per_type"]["tachycardia"]
    >>> tachy["recall"], tachy["precision"], tachy["median_latency_s"]
    (1.0, 1.0, 30.0)
    >>> result["false_alerts"], result["false_alerts_per_user_day"]
    (1, 0.5)
    >>> result["af_window"]["specificity"], result["af_window"]["sensitivity"]
    (0.5, None)
    >>> targets_met(result)["recall.tachycardia"], targets_met(result)["recall.af"]
    (True, False)
    """
    days = float(user_days)
    if not (math.isfinite(days) and days > 0):
        raise ValueError(f"user_days must be a positive finite number, not {user_days!r}")
    tolerances = MatchTolerances() if tolerances is None else tolerances
    episodes = list(episodes)
    alerts = list(alerts)
    windows = list(windows)
    medical = [e for e in episodes if not e.is_fault]
    faults = [e for e in episodes if e.is_fault]

    matched_by, outcome = _match(medical, alerts, tolerances)

    per_type: dict[str, dict[str, Any]] = {}
    for kind in ANOMALY_TYPES:
        kind_all = [i for i, e in enumerate(medical) if e.kind == kind]
        kind_episodes = [i for i in kind_all if medical[i].required]
        borderline = [i for i in kind_all if not medical[i].required]
        kind_alerts = [j for j, a in enumerate(alerts) if a.type == kind]
        latencies = [
            (alerts[j].opened_ms - medical[i].onset_ms) / 1000.0
            for i in kind_episodes
            if (j := matched_by[i]) is not None
        ]
        true_alerts = sum(outcome[j] != _FALSE for j in kind_alerts)
        false_alerts = len(kind_alerts) - true_alerts
        median, p95 = _latency_stats(latencies)
        per_type[kind] = {
            "episodes": len(kind_episodes),
            "detected": len(latencies),
            "borderline_episodes": len(borderline),
            "borderline_detected": sum(matched_by[i] is not None for i in borderline),
            "alerts": len(kind_alerts),
            "true_alerts": true_alerts,
            "duplicate_alerts": sum(outcome[j] == _DUPLICATE for j in kind_alerts),
            "false_alerts": false_alerts,
            "recall": _ratio(len(latencies), len(kind_episodes)),
            "precision": _ratio(true_alerts, len(kind_alerts)),
            "false_alerts_per_user_day": false_alerts / days,
            "median_latency_s": median,
            "p95_latency_s": p95,
        }

    faults_by_device: dict[str, list[TruthEpisode]] = defaultdict(list)
    for fault in faults:
        faults_by_device[fault.device].append(fault)
    fault_details: list[dict[str, Any]] = []
    for j in sorted(range(len(alerts)), key=lambda j: alerts[j].opened_ms):
        alert = alerts[j]
        if outcome[j] != _FALSE:
            continue
        kinds = sorted(
            {
                f.kind
                for f in faults_by_device.get(alert.device, ())
                if alert.evidence_start_ms < f.end_ms and f.onset_ms < alert.evidence_end_ms
            }
        )
        if kinds:
            fault_details.append(
                {
                    "device": str(alert.device),
                    "type": alert.type,
                    "opened_ms": int(alert.opened_ms),
                    "fault_kinds": kinds,
                    "rule": alert.rule,
                }
            )

    missed = sorted(
        (e for i, e in enumerate(medical) if matched_by[i] is None and e.required),
        key=lambda e: (e.device, e.onset_ms, e.kind),
    )
    false_total = sum(entry["false_alerts"] for entry in per_type.values())
    return {
        "per_type": per_type,
        "af_window": _af_windows(
            windows, [e for e in medical if e.kind == _AF], tolerances.af_positive_fraction
        ),
        "fault_medical_alerts": len(fault_details),
        "fault_medical_alert_details": fault_details,
        "missed_episode_details": [
            {
                "device": str(e.device),
                "kind": e.kind,
                "onset_ms": int(e.onset_ms),
                "end_ms": int(e.end_ms),
            }
            for e in missed
        ],
        "false_alert_details": [
            {
                "device": str(alerts[j].device),
                "type": alerts[j].type,
                "opened_ms": int(alerts[j].opened_ms),
                "evidence_start_ms": int(alerts[j].evidence_start_ms),
                "rule": alerts[j].rule,
            }
            for j in sorted(range(len(alerts)), key=lambda j: alerts[j].opened_ms)
            if outcome[j] == _FALSE
        ],
        "false_alerts": false_total,
        "false_alerts_per_user_day": false_total / days,
        "user_days": days,
        "matching": tolerances.to_dict(),
    }


def _is_minimum(key: str) -> bool:
    return key.startswith("recall.")


def _target_value(result: Mapping[str, Any], key: str) -> float | None:
    family, _, kind = key.partition(".")
    if family == "recall":
        value = result["per_type"][kind]["recall"]
    elif family == "latency":
        value = result["per_type"][kind]["median_latency_s"]
    elif family == "latency_spread":
        stats = result["per_type"][kind]
        median, p95 = stats["median_latency_s"], stats["p95_latency_s"]
        # A median of 0 (alerts opening at onset) has no spread to speak of.
        value = None if median is None else (p95 / median if median > 0 else 1.0)
    else:
        value = result[key]
    return None if value is None else float(value)


def targets_met(result: Mapping[str, Any]) -> dict[str, bool]:
    """Whether each target of :data:`TARGETS` is met.

    Parameters
    ----------
    result
        What :func:`evaluate` returned (or the same read back from JSON).

    Returns
    -------
    dict[str, bool]
        One entry per key of :data:`TARGETS`, in its order. An undefined metric (no
        episodes of the type, or none detected) is ``False``: nothing shows it is met.

    Examples
    --------
    >>> result = evaluate([], [], [], user_days=1.0)
    >>> met = targets_met(result)
    >>> met["false_alerts_per_user_day"], met["fault_medical_alerts"], met["recall.af"]
    (True, True, False)
    """
    met: dict[str, bool] = {}
    for key, threshold in TARGETS.items():
        value = _target_value(result, key)
        if value is None:
            met[key] = False
        else:
            met[key] = value >= threshold if _is_minimum(key) else value <= threshold
    return met


def targets_report(result: Mapping[str, Any]) -> list[str]:
    """One human-readable line per target, saying whether it is met.

    Parameters
    ----------
    result
        What :func:`evaluate` returned.

    Returns
    -------
    list[str]
        Lines such as ``"met      recall.af = 0.967 (target >= 0.95)"``, in the order
        of :data:`TARGETS`.

    Examples
    --------
    >>> lines = targets_report(evaluate([], [], [], user_days=1.0))
    >>> lines[0]
    'NOT MET  recall.tachycardia = n/a, no episodes (target >= 0.95)'
    >>> lines[-1]
    'met      fault_medical_alerts = 0 (target <= 0)'
    """
    lines = []
    for key, ok in targets_met(result).items():
        threshold = TARGETS[key]
        value = _target_value(result, key)
        if value is None:
            shown = "n/a, no episodes" if key.startswith("recall.") else "n/a, none detected"
        elif key.startswith("latency."):
            shown = f"median {value:.1f}"
        elif key.startswith("latency_spread."):
            shown = f"p95/median {value:.2f}"
        elif key == "fault_medical_alerts":
            shown = f"{value:.0f}"
        else:
            shown = f"{value:.3f}"
        # The value's unit is stated once, after the threshold.
        unit = " s" if key.startswith("latency.") else ""
        op = ">=" if _is_minimum(key) else "<="
        status = "met" if ok else "NOT MET"
        lines.append(f"{status:<8} {key} = {shown} (target {op} {threshold:g}{unit})")
    return lines
