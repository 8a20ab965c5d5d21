"""Ground truth by clinical definition: every span in which the simulated person meets one.

A scenario plans *episodes* (a tachycardia, a fever...), but a fever also speeds the
heart, a fall's pain too, and a mild planned episode may never reach the clinical
threshold. Alerts are judged against what a clinician would call each condition
(:mod:`wearable_core.contracts.clinical`), computed here from the person's true physiology
(:class:`~firmware_sim.physiology.generator.SignalChunk`'s ``hr_true_bpm``,
``spo2_true_pct``, ``core_rise_c`` and ``activity``), whatever caused it. Each label
records its cause: the planned episodes it overlaps, or ``physiology`` when none.

* tachycardia: true HR > 100 bpm at rest (no walking or exercise in the previous
  5 min) for >= 60 s, outside AF and the 5 min after it (AF with a fast rate is AF,
  with its rate recorded);
* bradycardia: true HR at rest below 50 bpm *and* at least 10 bpm below the person's
  usual rate in that state, awake or asleep (a trained athlete's usual 45 bpm is not
  bradycardia); for >= 60 s;
* af: the planned AF episodes of at least 30 s, with their mean ventricular rate;
* desaturation: true SpO2 < 90 % for >= 60 s;
* fever: core temperature >= 38.0 degC (normal 36.8 degC plus the simulated rise) for
  >= 10 min;
* fall: the planned falls (impact, then lying on the floor).

Interruptions shorter than :data:`~wearable_core.contracts.clinical.MERGE_GAP_S` (fever:
:data:`~wearable_core.contracts.clinical.FEVER_MERGE_GAP_S`) do not split a span. A span is
*borderline* when it meets its definition only within the sensor's measurement error
(past the threshold by less than the error for most of it) or for between half and all
of the required time, and so is a *near miss*, a span that meets the definition
relaxed by the sensor's error but never the definition itself: an alert on it is
right, but missing it is no miss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.episodes import Episode
from firmware_sim.physiology.generator import SignalChunk
from firmware_sim.physiology.profile import PersonProfile
from firmware_sim.physiology.schedule import Activity
from wearable_core.contracts import clinical as cd
from wearable_core.contracts.anomalies import AnomalyType

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Cause of a label that no planned episode explains (e.g. a fit person's slow heart).
CAUSE_PHYSIOLOGY = "physiology"


@dataclass(frozen=True, order=True)
class ClinicalLabel:
    """One span, in seconds since the scenario start, in which a definition holds.

    ``cause`` lists the planned medical episodes the span overlaps (``+``-joined, the
    label's own kind first) or is :data:`CAUSE_PHYSIOLOGY`; ``rate_bpm`` is the mean true
    heart rate over the span (for AF: the ventricular rate).
    """

    onset_s: float
    end_s: float
    kind: AnomalyType
    cause: str
    rate_bpm: float | None = None
    #: Meets the definition only within the sensor's measurement error
    #: (:data:`~wearable_core.contracts.clinical.HEART_RATE_TOLERANCE_BPM` and kin).
    borderline: bool = False

    @property
    def rapid(self) -> bool:
        """AF with rapid ventricular response (only meaningful for AF)."""
        return self.rate_bpm is not None and self.rate_bpm > cd.AF_RAPID_BPM


def spans_from_mask(mask: BoolArray, min_s: float, merge_gap_s: float) -> list[tuple[int, int]]:
    """Runs of ``True`` seconds ``[start, end)``: gaps up to ``merge_gap_s`` bridged, runs
    shorter than ``min_s`` dropped.

    Examples
    --------
    >>> m = np.zeros(300, dtype=bool); m[10:80] = True; m[100:130] = True; m[200:210] = True
    >>> spans_from_mask(m, 60, 30)
    [(10, 130)]
    """
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return []
    edges = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    gaps = starts[1:] - ends[:-1]
    keep = np.concatenate(([True], gaps > merge_gap_s))
    group = np.cumsum(keep) - 1
    merged_starts = starts[keep]
    merged_ends = np.zeros(merged_starts.size, dtype=np.int64)
    np.maximum.at(merged_ends, group, ends)
    long = (merged_ends - merged_starts) >= min_s
    return [(int(a), int(b)) for a, b in zip(merged_starts[long], merged_ends[long], strict=True)]


def rest_mask(activity: npt.NDArray[np.int8]) -> BoolArray:
    """Seconds at rest: no walking or exercise in the previous
    :data:`~wearable_core.contracts.clinical.REST_AFTER_ACTIVITY_S` seconds (nor now)."""
    moving = (activity == Activity.WALKING) | (activity == Activity.EXERCISE)
    csum = np.concatenate(([0], np.cumsum(moving, dtype=np.int64)))
    idx = np.arange(activity.size)
    lo = np.maximum(idx + 1 - cd.REST_AFTER_ACTIVITY_S, 0)
    return np.asarray((csum[idx + 1] - csum[lo]) == 0)


class ClinicalLabeller:
    """Collects one person's true physiology chunk by chunk; :meth:`labels` at the end.

    Parameters
    ----------
    profile : PersonProfile
        The person (their usual resting rate decides the bradycardia threshold).
    episodes : Sequence[Episode]
        The planned episodes (AF and falls are labelled from them; others give causes).
    duration_s : int
        Length of the simulation, seconds.
    """

    def __init__(self, profile: PersonProfile, episodes: Sequence[Episode], duration_s: int):
        self.profile = profile
        self.episodes = tuple(e for e in episodes if not e.is_fault)
        self.duration_s = int(duration_s)
        n = self.duration_s
        self._hr = np.full(n, np.nan)
        self._spo2 = np.full(n, np.nan)
        self._core = np.zeros(n)
        self._activity = np.full(n, int(Activity.SEDENTARY), dtype=np.int8)

    def observe(self, chunks: Iterable[SignalChunk]) -> Iterator[SignalChunk]:
        """Pass ``chunks`` through unchanged, recording their true physiology."""
        for chunk in chunks:
            self.add(chunk)
            yield chunk

    def add(self, chunk: SignalChunk) -> None:
        """Record one chunk (chunks without ground truth are ignored)."""
        if chunk.hr_true_bpm is None or chunk.spo2_true_pct is None or chunk.core_rise_c is None:
            return
        a = chunk.start_s
        b = min(a + chunk.duration_s, self.duration_s)
        k = b - a
        if k <= 0:
            return
        self._hr[a:b] = chunk.hr_true_bpm[:k]
        self._spo2[a:b] = chunk.spo2_true_pct[:k]
        self._core[a:b] = chunk.core_rise_c[:k]
        self._activity[a:b] = chunk.activity[:k]

    def _cause(self, kind: AnomalyType, a: float, b: float) -> str:
        kinds = {e.kind for e in self.episodes if e.onset_s < b and a < e.end_s}
        if not kinds:
            return CAUSE_PHYSIOLOGY
        ordered = sorted(kinds, key=lambda k: (k != kind, str(k)))
        return "+".join(str(k) for k in ordered)

    def _rate(self, a: int, b: int) -> float | None:
        hr = self._hr[a:b]
        hr = hr[np.isfinite(hr)]
        return round(float(np.mean(hr)), 1) if hr.size else None

    def _label(
        self, kind: AnomalyType, a: int, b: int, margin: FloatArray | None = None
    ) -> ClinicalLabel:
        """A label for ``[a, b)``; ``margin`` is, per second, how far past the
        definition's threshold the physiology is, in units of the sensor's error."""
        borderline = False
        if margin is not None:
            m = margin[a:b]
            m = m[np.isfinite(m)]
            # Borderline unless it is past the threshold by the error for a minute.
            borderline = int(np.sum(m >= 1.0)) < cd.HEART_RATE_MIN_S
        return ClinicalLabel(
            float(a), float(b), kind, self._cause(kind, a, b), self._rate(a, b), borderline
        )

    def labels(self) -> list[ClinicalLabel]:
        """Every span meeting a definition, in time order."""
        n = self.duration_s
        af = np.zeros(n, dtype=bool)
        out: list[ClinicalLabel] = []
        for e in self.episodes:
            a, b = max(0, int(np.ceil(e.onset_s))), min(n, int(np.ceil(e.end_s)))
            if b <= a:
                continue
            if e.kind is AnomalyType.AF and b - a >= cd.AF_MIN_S:
                # The rate settling after the AF ends is still the AF's doing.
                af[a : b + cd.REST_AFTER_ACTIVITY_S] = True
                out.append(self._label(AnomalyType.AF, a, b))
            elif e.kind is AnomalyType.FALL:
                out.append(self._label(AnomalyType.FALL, a, b))
        usual = self.profile.resting_hr_bpm
        low = np.where(
            self._activity == Activity.SLEEP,
            min(
                cd.BRADYCARDIA_BPM, usual * cd.USUAL_SLEEP_FRACTION - cd.BRADYCARDIA_BELOW_USUAL_BPM
            ),
            min(cd.BRADYCARDIA_BPM, usual - cd.BRADYCARDIA_BELOW_USUAL_BPM),
        )
        at_rest = rest_mask(self._activity) & ~af
        # Per type: how far past the definition's threshold the physiology is, in units
        # of the sensor's error (> 0: the definition holds; > -1: the sensor cannot tell
        # it from one that does), where the type can apply at all, and how long it must
        # hold.
        with np.errstate(invalid="ignore"):
            checks = (
                (
                    AnomalyType.TACHYCARDIA,
                    (self._hr - cd.TACHYCARDIA_BPM) / cd.HEART_RATE_TOLERANCE_BPM,
                    at_rest,
                    cd.HEART_RATE_MIN_S,
                    cd.MERGE_GAP_S,
                ),
                (
                    AnomalyType.BRADYCARDIA,
                    (low - self._hr) / cd.HEART_RATE_TOLERANCE_BPM,
                    at_rest,
                    cd.HEART_RATE_MIN_S,
                    cd.MERGE_GAP_S,
                ),
                (
                    AnomalyType.DESATURATION,
                    (cd.DESATURATION_PCT - self._spo2) / cd.SPO2_TOLERANCE_PCT,
                    None,
                    cd.DESATURATION_MIN_S,
                    cd.MERGE_GAP_S,
                ),
                (
                    AnomalyType.FEVER,
                    (self._core - cd.FEVER_RISE_C) / cd.FEVER_TOLERANCE_C,
                    None,
                    cd.FEVER_MIN_S,
                    cd.FEVER_MERGE_GAP_S,
                ),
            )
        for kind, excess, where, min_s, gap in checks:
            with np.errstate(invalid="ignore"):
                holds = excess >= 0 if kind is AnomalyType.FEVER else excess > 0
                near = excess >= -1 if kind is AnomalyType.FEVER else excess > -1
            if where is not None:
                holds, near = holds & where, near & where
            labelled: list[ClinicalLabel] = []
            # Spans held for half the required time are borderline too: the sensor
            # averages over seconds and the detector judges whole windows.
            for a, b in spans_from_mask(holds, min_s / 2, gap):
                label = self._label(kind, a, b, excess)
                if b - a < min_s:
                    label = dataclasses.replace(label, borderline=True)
                labelled.append(label)
            # Near misses: the relaxed definition where no label is.
            covered = np.zeros(n, dtype=bool)
            for lab in labelled:
                covered[int(lab.onset_s) : int(lab.end_s)] = True
            for a, b in spans_from_mask(near & ~covered, min_s / 2, gap):
                labelled.append(dataclasses.replace(self._label(kind, a, b), borderline=True))
            out.extend(labelled)
        return sorted(out)
