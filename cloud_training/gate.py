"""Champion / challenger: publish a new model only if it is not worse than the serving one.

Both models are scored by the LiteRT interpreter (what gateways run) on the labelled
validation cohort in the bucket (``docs/formats/cohort.md``), each at its own calibrated
thresholds; the job passes the scores as gateways serve them
(``wearable_core.assessment.served``), so a score the detector would close flags nothing. The
**gate metrics**, per anomaly type, on windows without a sensor fault:

* ``recall``: detected positive windows / positive windows. For the types in
  :data:`EPISODE_TYPES` (fever, whose episodes last hours) the gate judges recall per
  **episode** instead: an episode is a run of positive windows of one person in time
  order, detected if any of its windows is flagged. Hundreds of windows of one fever
  are one observation, not hundreds; counting them as independent would make the
  interval far too narrow;
* ``fpr``: windows flagged among negative windows (what becomes false alerts).

Windows of one event are not independent either where the gate counts them: a
tachycardia episode is 25 windows, a stretch of false flags often several. With the
cohort's person and time, each interval therefore rests on an **effective sample size**
of one per run (:func:`effective_counts`): recall on the number of episodes, the
false-positive rate on the negatives divided by the mean length of the runs of flagged
windows, each rate itself unchanged.

Every rate gets a 95 % Wilson score interval (:func:`wilson_interval`; Wilson 1927), and
every challenger-minus-champion difference a 95 % Newcombe hybrid score interval
(:func:`newcombe_interval`; Newcombe 1998, method 10). The challenger is **refused** on a
type when the cohort *shows* it is worse by more than a negligible margin:

* recall: the whole interval of the recall difference lies below
  ``-`` :data:`RECALL_MARGIN`;
* false-positive rate: the whole interval of the rate difference lies above
  :data:`FPR_MARGIN`, unless the higher rate buys detection: the challenger's rate is
  not shown to exceed the job's budget (``fpr_budget``, the rate it calibrates thresholds
  to) plus :data:`FPR_MARGIN`, it is not shown to detect less *at the champion's own
  false-positive rate* (its recall there, from a threshold set on the validation windows
  for this comparison only, judged like recall above), and its recall gain is shown to
  exceed :data:`RECALL_MARGIN` (the whole interval of the gain lies above it): a cost
  the cohort proves is paid only by a gain the cohort proves;
* time to first detection: with the cohort's person and time, the two models' first
  flagged window in each episode are paired (:func:`episode_delays`,
  :func:`compare_delays`; a missed episode counts as later than any detection), and the
  challenger is refused when it is first later in more episodes than earlier and an exact
  two-sided sign test puts that split beyond chance (p < 1 - :data:`CONFIDENCE`).

Why timing is paired and not an interval on recall: per-window recall within episodes
*is* how early and how steadily an episode is seen, but at one observation per episode
its interval is too wide to show a slide from 0.70 to 0.46 on a dozen bradycardia
episodes. Each such step passed as noise in the learning curve (``docs/learning.md``),
and the steps added up: held-out bradycardia alerts went from 50 s to 267–432 s. Both
models are scored on the *same* episodes, so pairing them removes the spread between
episodes, and a model that is later on 8 episodes and earlier on none is shown worse
(p = 0.008) where the unpaired recall interval cannot show it.

The job applies the rule twice when the serving model is a release: against it, and
against the shipped baseline as a floor (``against``), so that small losses cannot add
up over rounds.

Why the burden of proof lies with the refusal: the gate exists to stop real regressions,
and on a finite cohort a rule that demands proof of non-inferiority refuses every model
whose cohort is too small to prove anything, while fixed margins refuse or pass on noise
(a demo run was refused for one desaturation window of 32, recall 0.938 against
0.969). Here a difference within the noise never refuses, and a regression the cohort
can see always does; how large a regression a cohort can see is the width of the
reported intervals, which shrinks with the cohort. A type without positives in the
cohort is judged on ``fpr`` only. Pure functions, no I/O: the same inputs give the same
decision, whatever the order of the windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: A difference in recall the gate treats as negligible (on top of the noise).
RECALL_MARGIN = 0.02
#: ... and in the false-positive rate.
FPR_MARGIN = 0.002
#: Two-sided confidence level of every interval.
CONFIDENCE = 0.95
#: The normal quantile for :data:`CONFIDENCE` (``NormalDist().inv_cdf(0.975)``).
_Z = 1.959963984540054
#: Types whose recall the gate counts per episode (see the module docstring).
EPISODE_TYPES: frozenset[str] = frozenset({"fever"})

#: A confidence interval ``(low, high)``; ``(nan, nan)`` when there is nothing to count.
Interval = tuple[float, float]


@dataclass(frozen=True)
class TypeScore:
    """Gate metrics of one model on one anomaly type.

    ``recall`` and ``fpr`` are per window. ``episodes`` and ``episodes_detected`` count
    runs of positive windows, ``false_alarms`` runs of flagged negative windows (all 0
    when the cohort's person and time were not given); ``by_episode`` says the gate
    judges this type's recall on episodes.
    """

    threshold: float
    positives: int
    negatives: int
    recall: float
    fpr: float
    episodes: int = 0
    episodes_detected: int = 0
    by_episode: bool = False
    false_alarms: int = 0
    #: Per episode, in device and time order: seconds from its first window to its first
    #: flagged window, ``inf`` when none is (:func:`episode_delays`); empty when the
    #: cohort's person and time were not given.
    delays: tuple[float, ...] = ()

    @property
    def recall_counts(self) -> tuple[float, float]:
        """``(detected, n)`` the gate judges recall on.

        Episodes for :data:`EPISODE_TYPES`; otherwise windows, at an effective sample
        size of one per episode when episodes were counted (:func:`effective_counts`).
        """
        if self.by_episode:
            return self.episodes_detected, self.episodes
        return effective_counts(_count(self.recall, self.positives), self.positives, self.episodes)

    @property
    def flagged(self) -> int:
        """Negative windows flagged."""
        return _count(self.fpr, self.negatives)

    @property
    def fpr_counts(self) -> tuple[float, float]:
        """``(flagged, n)`` the gate judges the false-positive rate on: windows, at an
        effective sample size of one per run of flagged windows when runs were counted."""
        flagged = self.flagged
        if not self.false_alarms or not flagged:
            return flagged, self.negatives
        # The runs are the independent events; the rate stays flagged / negatives.
        return self.false_alarms, self.negatives * self.false_alarms / flagged

    @property
    def basis(self) -> str:
        """What recall rests on, in words: ``"493 positive windows in 12 episodes"``."""
        if self.by_episode:
            return f"{self.episodes} positive episodes"
        runs = f" in {self.episodes} episodes" if self.episodes else ""
        return f"{self.positives} positive windows{runs}"

    @property
    def unit(self) -> str:
        """What recall counts: ``"episode"`` or ``"window"``."""
        return "episode" if self.by_episode else "window"


def effective_counts(k: float, n: int, runs: int) -> tuple[float, float]:
    """``(k, n)`` scaled to an effective sample size of ``runs`` observations.

    Windows in one run (an episode, a stretch of false flags) are strongly correlated:
    they are one person's one event seen many times. Dividing by the mean run length
    ``n / runs`` counts each run once (the design effect of a cluster sample with an
    intra-cluster correlation of 1: Kish 1965), which errs toward wider intervals. The
    proportion ``k / n`` is kept. ``runs == 0`` (not counted) leaves the counts as they
    are.

    Examples
    --------
    >>> effective_counts(450, 500, 12)  # AF in the demo's validation cohort
    (10.8, 12.0)
    >>> effective_counts(30, 32, 0)
    (30, 32)
    """
    if runs <= 0 or n <= 0:
        return k, n
    scale = runs / n
    return k * scale, float(runs)


@dataclass(frozen=True)
class GateDecision:
    """The verdict with its reasons (one sentence per failed check) and, per judged type,
    a note of what was compared and why it passed (``notes``)."""

    passed: bool
    reasons: tuple[str, ...]
    challenger: dict[str, TypeScore]
    champion: dict[str, TypeScore] | None
    notes: tuple[str, ...] = ()


def _count(rate: float, n: int) -> int:
    """The count behind ``rate = count / n`` (exact: rates are ratios of counts)."""
    return 0 if n == 0 or math.isnan(rate) else round(rate * n)


def wilson_interval(k: float, n: float) -> Interval:
    """The 95 % Wilson score interval of the proportion ``k / n`` (Wilson 1927).

    Unlike the textbook ``p ± z·sqrt(p(1-p)/n)``, it stays inside [0, 1] and does not
    collapse to a point at 0 or ``n`` successes, which is where the gate's rates live
    (false-positive rates near 0, recalls near 1).

    Examples
    --------
    Newcombe's (1998) example, then the gate's extremes:

    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    >>> [round(v, 3) for v in wilson_interval(0, 100)]
    [0.0, 0.037]
    >>> [round(v, 3) for v in wilson_interval(61, 100)]
    [0.512, 0.7]
    >>> wilson_interval(0, 0)
    (nan, nan)
    """
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    z2 = _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(k1: float, n1: float, k2: float, n2: float) -> Interval:
    """The 95 % interval of ``k1/n1 - k2/n2`` by Newcombe's hybrid score method
    (Newcombe 1998, method 10), built from the two Wilson intervals.

    It keeps the Wilson interval's good behaviour near 0 and 1; the difference's
    interval is ``(nan, nan)`` when either side has nothing to count. The method assumes
    two independent samples; both models are scored on the same windows, so their
    errors are positively correlated and the interval errs wide (the gate refuses less).

    Examples
    --------
    Newcombe's own worked example (Table II: 56/70 against 48/80), then two missed
    windows of 32, which is noise, and the same rates on 3,200, which is not:

    >>> [round(v, 4) for v in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    >>> [round(v, 3) for v in newcombe_interval(29, 32, 31, 32)]
    [-0.213, 0.078]
    >>> [round(v, 3) for v in newcombe_interval(2900, 3200, 3100, 3200)]
    [-0.074, -0.051]
    """
    l1, u1 = wilson_interval(k1, n1)
    l2, u2 = wilson_interval(k2, n2)
    if math.isnan(l1) or math.isnan(l2):
        return math.nan, math.nan
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def episode_delays(
    positive: npt.ArrayLike,
    flagged: npt.ArrayLike,
    device: npt.ArrayLike,
    start_s: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Per episode, seconds from its first window to its first flagged one (``inf``: never).

    An episode is a run of positive windows of one device in time order; episodes come
    in device and time order, so two models scored on the same windows give arrays that
    line up episode by episode. Pass the windows the gate counts (no fault, known label);
    a window left out does not split a run, a negative window does. Row order does not
    matter.

    Examples
    --------
    >>> episode_delays(
    ...     [1, 1, 0, 1, 1, 1], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [0, 60, 120, 180, 0, 60]
    ... ).tolist()
    [60.0, inf, inf]
    """
    pos = np.asarray(positive, dtype=bool)
    hit = np.asarray(flagged, dtype=bool)
    dev = np.asarray(device)
    when = np.asarray(start_s, dtype=np.float64)
    order = np.lexsort((when, dev))
    pos, hit, dev, when = pos[order], hit[order], dev[order], when[order]
    continues = np.r_[False, pos[:-1] & (dev[1:] == dev[:-1])]
    starts = pos & ~continues
    run = np.cumsum(starts) - 1
    delays = np.full(int(starts.sum()), np.inf)
    detected = pos & hit
    # Rows are in time order within a run, so the minimum is the first flagged window.
    np.minimum.at(delays, run[detected], when[detected] - when[starts][run[detected]])
    return delays


def episodes_count(
    positive: npt.ArrayLike,
    flagged: npt.ArrayLike,
    device: npt.ArrayLike,
    start_s: npt.ArrayLike,
) -> tuple[int, int]:
    """``(episodes, detected)``: runs of positive windows of one device in time order, and
    how many of them have at least one flagged window (:func:`episode_delays`).

    Examples
    --------
    >>> episodes_count(
    ...     [1, 1, 0, 1, 1, 1], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [0, 60, 120, 180, 0, 60]
    ... )
    (3, 1)
    """
    delays = episode_delays(positive, flagged, device, start_s)
    return int(delays.size), int(np.isfinite(delays).sum())


def sign_test_p(later: int, earlier: int) -> float:
    """Two-sided exact sign test: how likely a split at least this uneven is by chance.

    Ties are left out before calling, as the test prescribes (Dixon & Mood 1946).

    Examples
    --------
    >>> round(sign_test_p(8, 0), 4), round(sign_test_p(3, 2), 4), sign_test_p(0, 0)
    (0.0078, 1.0, 1.0)
    """
    n = later + earlier
    if n == 0:
        return 1.0
    k = max(later, earlier)
    tail: float = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class TimingComparison:
    """Time to first detection of the same episodes by two models.

    ``later`` / ``earlier``: episodes the challenger first flags later / earlier than the
    champion (a missed episode is later than any detection); ties are not counted.
    ``p_value``: :func:`sign_test_p` of that split. Medians in seconds, ``inf`` when at
    least half the episodes are missed.
    """

    episodes: int
    later: int
    earlier: int
    p_value: float
    median_s: float
    champion_median_s: float

    @property
    def shown_later(self) -> bool:
        """The cohort shows the challenger detecting later, beyond chance."""
        return self.later > self.earlier and self.p_value < 1 - CONFIDENCE


def compare_delays(new: TypeScore, old: TypeScore) -> TimingComparison | None:
    """Pair the two models' :attr:`TypeScore.delays` episode by episode (``None`` when
    either has none or they were not scored on the same episodes).

    Examples
    --------
    >>> old = TypeScore(0.5, 6, 100, 1.0, 0.0, delays=(0.0, 0.0, 60.0))
    >>> new = TypeScore(0.5, 6, 100, 0.5, 0.0, delays=(60.0, math.inf, 60.0))
    >>> t = compare_delays(new, old)
    >>> t.later, t.earlier, t.p_value, t.median_s, t.champion_median_s, t.shown_later
    (2, 0, 0.5, 60.0, 0.0, False)
    """
    if not new.delays or len(new.delays) != len(old.delays):
        return None
    a, b = np.asarray(new.delays), np.asarray(old.delays)
    later, earlier = int((a > b).sum()), int((a < b).sum())
    return TimingComparison(
        len(a),
        later,
        earlier,
        sign_test_p(later, earlier),
        float(np.median(a)),
        float(np.median(b)),
    )


def _keep(n: int, fault: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    return np.ones(n, dtype=bool) if fault is None else ~np.asarray(fault, dtype=bool)


def gate_scores(
    scores: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    thresholds: npt.ArrayLike,
    fault: npt.NDArray[np.bool_] | None = None,
    *,
    device: npt.ArrayLike | None = None,
    start_s: npt.ArrayLike | None = None,
) -> dict[str, TypeScore]:
    """Per-type recall and false-positive rate at ``thresholds`` (NaN labels ignored).

    With ``device`` and ``start_s`` (the cohort's person and window start), episodes are
    counted too, and the types in :data:`EPISODE_TYPES` are judged per episode.

    Examples
    --------
    >>> s = np.array([[0.9] * 6, [0.1] * 6], dtype=np.float32)
    >>> y = np.array([[1] * 6, [0] * 6], dtype=np.float32)
    >>> gate_scores(s, y, [0.5] * 6)["fall"].recall
    1.0
    >>> fever = gate_scores(s, y, [0.5] * 6, device=[0, 0], start_s=[0, 60])["fever"]
    >>> fever.episodes, fever.episodes_detected, fever.by_episode
    (1, 1, True)
    """
    keep = _keep(len(Y), fault)
    th = np.asarray(thresholds, dtype=np.float32)
    flagged = scores >= th
    timed = device is not None and start_s is not None
    out: dict[str, TypeScore] = {}
    for j, name in enumerate(ANOMALY_TYPES):
        pos = keep & (Y[:, j] == 1)
        neg = keep & (Y[:, j] == 0)
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        episodes = detected = false_alarms = 0
        delays: tuple[float, ...] = ()
        if timed:
            known = pos | neg
            who, when = np.asarray(device)[known], np.asarray(start_s)[known]
            hit = flagged[known, j]
            per_episode = episode_delays(pos[known], hit, who, when)
            episodes, detected = per_episode.size, int(np.isfinite(per_episode).sum())
            delays = tuple(per_episode.tolist())
            false_alarms, _ = episodes_count(neg[known] & hit, hit, who, when)
        out[name] = TypeScore(
            float(th[j]),
            n_pos,
            n_neg,
            int(flagged[pos, j].sum()) / n_pos if n_pos else math.nan,
            int(flagged[neg, j].sum()) / n_neg if n_neg else math.nan,
            episodes,
            detected,
            timed and name in EPISODE_TYPES,
            false_alarms,
            delays,
        )
    return out


def recall_at_fpr(
    scores: npt.NDArray[np.float32],
    Y: npt.NDArray[np.float32],
    fpr: dict[str, float],
    fault: npt.NDArray[np.bool_] | None = None,
    *,
    device: npt.ArrayLike | None = None,
    start_s: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Per type, the recall at the lowest threshold that flags at most ``fpr[type]`` of the
    negative windows (NaN without positives, negatives or a rate).

    With ``device`` and ``start_s``, the types in :data:`EPISODE_TYPES` get their recall
    per episode, as :func:`gate_scores` counts it.

    Examples
    --------
    >>> s = np.array([[0.9] * 6, [0.6] * 6, [0.7] * 6, [0.1] * 6], dtype=np.float32)
    >>> y = np.array([[1] * 6, [1] * 6, [0] * 6, [0] * 6], dtype=np.float32)
    >>> recall_at_fpr(s, y, {"fall": 0.0})["fall"], recall_at_fpr(s, y, {"fall": 0.5})["fall"]
    (0.5, 1.0)
    """
    keep = _keep(len(Y), fault)
    timed = device is not None and start_s is not None
    out: dict[str, float] = {}
    for j, name in enumerate(ANOMALY_TYPES):
        pos_rows = keep & (Y[:, j] == 1)
        neg_rows = keep & (Y[:, j] == 0)
        neg = np.sort(scores[neg_rows, j])[::-1]
        rate = fpr.get(name, math.nan)
        if not pos_rows.any() or not len(neg) or math.isnan(rate):
            out[name] = math.nan
            continue
        allowed = int(np.floor(rate * len(neg) + 1e-9))  # negatives that may be flagged
        # Flag what scores above the first negative that must stay unflagged.
        bar = neg[allowed] if allowed < len(neg) else -np.inf
        if timed and name in EPISODE_TYPES:
            known = pos_rows | neg_rows
            episodes, detected = episodes_count(
                pos_rows[known],
                scores[known, j] > bar,
                np.asarray(device)[known],
                np.asarray(start_s)[known],
            )
            out[name] = detected / episodes
        else:
            out[name] = int((scores[pos_rows, j] > bar).sum()) / int(pos_rows.sum())
    return out


def _rate(k: float, n: float, digits: int) -> str:
    """``0.610 [0.512–0.700]``: a rate and its Wilson interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k / n:.{digits}f} [{lo:.{digits}f}–{hi:.{digits}f}]"


def _gap(lo: float, hi: float, digits: int) -> str:
    return f"[{lo:+.{digits}f}, {hi:+.{digits}f}]"


def gate_decide(
    challenger: dict[str, TypeScore],
    champion: dict[str, TypeScore] | None,
    *,
    matched_recall: dict[str, float] | None = None,
    fpr_budget: float | None = None,
    against: str = "serving",
) -> GateDecision:
    """Apply the rule of the module docstring; no champion (first release) always passes.

    ``matched_recall`` is the challenger's recall at the champion's false-positive rate
    (:func:`recall_at_fpr`); without it and ``fpr_budget``, a false-positive rate shown to
    exceed the champion's by more than :data:`FPR_MARGIN` fails. ``against`` names the
    champion in the reasons and notes (the job judges against the serving model, and
    against the shipped baseline as a floor).

    Examples
    --------
    >>> old = {t: TypeScore(0.5, 100, 10_000, 0.65, 0.001) for t in ANOMALY_TYPES}
    >>> new = {t: TypeScore(0.5, 100, 10_000, 0.61, 0.001) for t in ANOMALY_TYPES}
    >>> decision = gate_decide(new, old)
    >>> decision.passed
    True
    >>> print(decision.notes[1])  # doctest: +NORMALIZE_WHITESPACE
    bradycardia: recall 0.610 [0.512–0.700] vs serving 0.650 [0.553–0.736] on 100 positive
    windows: the drop is within noise; false-positive rate 0.0010 [0.0005–0.0018] vs
    serving 0.0010 [0.0005–0.0018]: no more false positives
    >>> worse = {t: TypeScore(0.5, 100, 10_000, 0.30, 0.001) for t in ANOMALY_TYPES}
    >>> print(gate_decide(worse, old).reasons[0])  # doctest: +NORMALIZE_WHITESPACE
    refused: tachycardia recall 0.300 [0.219–0.396] vs serving 0.650 [0.553–0.736] on 100
    positive windows, a drop of [-0.468, -0.213]: more than noise and the 0.02 margin
    """
    if champion is None:
        return GateDecision(True, (), challenger, None)
    reasons: list[str] = []
    notes: list[str] = []
    for name in ANOMALY_TYPES:
        new, old = challenger[name], champion[name]
        parts: list[str] = []
        (k_new, n_new), (k_old, n_old) = new.recall_counts, old.recall_counts
        if n_new and n_old:
            lo, hi = newcombe_interval(k_new, n_new, k_old, n_old)
            compared = (
                f"recall {_rate(k_new, n_new, 3)} vs {against} {_rate(k_old, n_old, 3)} "
                f"on {new.basis}"
            )
            if hi < -RECALL_MARGIN:
                reasons.append(
                    f"refused: {name} {compared}, a drop of {_gap(lo, hi, 3)}: more than "
                    f"noise and the {RECALL_MARGIN:g} margin"
                )
            else:
                change = k_new / n_new - k_old / n_old
                parts.append(f"{compared}: {_recall_verdict(change, lo, hi)}")
        timing = compare_delays(new, old)
        if timing is not None and timing.later + timing.earlier:
            if timing.shown_later:
                reasons.append(
                    f"refused: {name} {_timing(timing, against)}: later beyond chance (p < "
                    f"{1 - CONFIDENCE:.2g})"
                )
            else:
                parts.append(_timing(timing, against))
        if new.negatives and old.negatives:
            lo, hi = newcombe_interval(*new.fpr_counts, *old.fpr_counts)
            compared = (
                f"false-positive rate {_rate(*new.fpr_counts, 4)} vs {against} "
                f"{_rate(*old.fpr_counts, 4)}"
            )
            if lo <= FPR_MARGIN:
                parts.append(
                    f"{compared}: {_fpr_verdict(new.flagged / new.negatives > old.fpr, lo)}"
                )
            else:
                why = _higher_fpr_refused(name, new, old, matched_recall, fpr_budget, against)
                if why:
                    reasons.append(
                        f"refused: {name} {compared}, a rise of {_gap(lo, hi, 4)}: more than "
                        f"noise and the {FPR_MARGIN:g} margin, {why}"
                    )
                else:
                    parts.append(f"{compared}: higher, bought by detection within the budget")
        if parts:
            notes.append(f"{name}: " + "; ".join(parts))
    return GateDecision(not reasons, tuple(reasons), challenger, champion, tuple(notes))


def _seconds(value: float) -> str:
    return "never (most missed)" if math.isinf(value) else f"{value:.0f} s"


def _timing(t: TimingComparison, against: str) -> str:
    """``first detected later in 8 and earlier in 0 of 10 episodes ...``."""
    return (
        f"first detected later in {t.later} and earlier in {t.earlier} of {t.episodes} "
        f"episodes (sign test p = {t.p_value:.3g}; median time to first detection "
        f"{_seconds(t.median_s)} vs {against} {_seconds(t.champion_median_s)})"
    )


def _recall_verdict(change: float, lo: float, hi: float) -> str:
    """How a recall change that does not refuse reads (``lo``, ``hi``: its interval)."""
    if change < 0:
        # A drop beyond noise that passes is one the margin forgives.
        return (
            "the drop is within noise" if hi >= 0 else f"a drop within the {RECALL_MARGIN:g} margin"
        )
    if change == 0:
        return "the same"
    return "a gain beyond noise" if lo > 0 else "the gain is within noise"


def _fpr_verdict(higher: bool, lo: float) -> str:
    """How a false-positive rate that does not refuse reads (``lo``: its difference's
    lower bound)."""
    if not higher:
        return "no more false positives"
    return "the rise is within noise" if lo <= 0 else f"a rise within the {FPR_MARGIN:g} margin"


def _higher_fpr_refused(
    name: str,
    new: TypeScore,
    old: TypeScore,
    matched_recall: dict[str, float] | None,
    fpr_budget: float | None,
    against: str,
) -> str:
    """Why a higher false-positive rate is not bought by detection ("" when it is)."""
    if fpr_budget is None or matched_recall is None:
        return "and no budget to trade it for recall"
    low, _ = wilson_interval(*new.fpr_counts)
    if low > fpr_budget + FPR_MARGIN:
        return f"and over the {fpr_budget:g} budget (+ {FPR_MARGIN:g}) beyond noise"
    (k_new, n), (k_old, n_old) = new.recall_counts, old.recall_counts
    if not n or not n_old:
        return "and no positives to show a gain"
    matched = matched_recall.get(name, math.nan)
    if math.isnan(matched):
        return f"and no recall at the {against} rate to show a gain"
    k_matched = matched * n
    _, hi = newcombe_interval(k_matched, n, k_old, n_old)
    if hi < -RECALL_MARGIN:
        return (
            f"and at the {against} rate it detects less (recall {_rate(k_matched, n, 3)} vs "
            f"{_rate(k_old, n_old, 3)} on {new.basis}): only the threshold moved"
        )
    lo, hi = newcombe_interval(k_new, n, k_old, n_old)
    if lo <= RECALL_MARGIN:
        return (
            f"and no detection pays for it: a recall gain of {_gap(lo, hi, 3)} (recall "
            f"{_rate(k_new, n, 3)} vs {_rate(k_old, n_old, 3)} on {new.basis}), not shown "
            f"to exceed {RECALL_MARGIN:g}"
        )
    return ""


def gate_intervals(
    challenger: dict[str, TypeScore],
    champion: dict[str, TypeScore] | None,
    matched_recall: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """The intervals the gate judged on, per type, JSON-ready (rounded to 4 decimals;
    ``None`` where nothing was counted).

    Per type: ``recall_by`` (``"window"`` or ``"episode"``); for ``challenger`` and
    ``champion`` the rates, their 95 % Wilson intervals and the effective sample sizes
    they rest on (``recall_n``, ``fpr_n``: :attr:`TypeScore.recall_counts`,
    :attr:`TypeScore.fpr_counts`) with the raw counts; and the 95 % Newcombe intervals
    of the differences (challenger minus champion), including the challenger's recall at
    the champion's rate minus the champion's recall.

    Examples
    --------
    >>> s = {t: TypeScore(0.5, 100, 10_000, 0.61, 0.001) for t in ANOMALY_TYPES}
    >>> gate_intervals(s, None)["af"]["challenger"]["recall_interval"]
    [0.512, 0.6998]
    """

    def side(s: TypeScore) -> dict[str, Any]:
        k, n = s.recall_counts
        return {
            "recall": _json(k / n if n else math.nan),
            "recall_interval": _pair(wilson_interval(k, n)),
            "recall_n": round(n, 2),
            "fpr": _json(s.fpr),
            "fpr_interval": _pair(wilson_interval(*s.fpr_counts)),
            "fpr_n": round(s.fpr_counts[1], 2),
            "positives": s.positives,
            "episodes": s.episodes,
            "episodes_detected": s.episodes_detected,
            "negatives": s.negatives,
            "flagged": s.flagged,
            "false_alarms": s.false_alarms,
        }

    out: dict[str, dict[str, Any]] = {}
    for name in ANOMALY_TYPES:
        new = challenger[name]
        entry: dict[str, Any] = {"recall_by": new.unit, "challenger": side(new)}
        if champion is not None:
            old = champion[name]
            (k_new, n), (k_old, n_old) = new.recall_counts, old.recall_counts
            matched = math.nan if matched_recall is None else matched_recall.get(name, math.nan)
            entry["champion"] = side(old)
            entry["recall_difference"] = _pair(newcombe_interval(k_new, n, k_old, n_old))
            entry["fpr_difference"] = _pair(newcombe_interval(*new.fpr_counts, *old.fpr_counts))
            entry["matched_recall_difference"] = _pair(
                (math.nan, math.nan)
                if math.isnan(matched) or not n
                else newcombe_interval(matched * n, n, k_old, n_old)
            )
            timing = compare_delays(new, old)
            if timing is not None:
                entry["first_detection"] = {
                    "episodes": timing.episodes,
                    "later": timing.later,
                    "earlier": timing.earlier,
                    "p_value": _json(timing.p_value),
                    "median_s": _seconds_json(timing.median_s),
                    "champion_median_s": _seconds_json(timing.champion_median_s),
                }
        out[name] = entry
    return out


def _json(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _seconds_json(value: float) -> float | None:
    """A median time to first detection; ``None`` when most episodes were missed."""
    return None if math.isinf(value) else round(value, 1)


def _pair(interval: Interval) -> list[float | None]:
    return [_json(interval[0]), _json(interval[1])]
