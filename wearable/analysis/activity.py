"""Activity and sleep/rest context of one patient, from the per-minute accelerometer features.

A clinician reading a heart rate of 110 bpm needs to know whether the patient was
walking; reading 48 bpm, whether they were asleep. Each minute gets one state from the
wrist accelerometer alone (``docs/features.md``):

* ``exercise``: a step cadence of at least :data:`RUN_CADENCE_HZ` (running);
* ``walking``: any step cadence, or ENMO of at least :data:`ACTIVE_ENMO_G`;
* ``sleep/rest``: the wrist still (SD of \\|a\\| below :data:`STILL_SD_G`) for at least
  :data:`REST_MIN_MINUTES` in a row, breaks of up to :data:`REST_BRIDGE_MINUTES` (a turn
  in bed) included; wrist stillness is the actigraphy estimate of
  sleep, and it cannot tell sleep from lying awake and still;
* ``sedentary``: the rest (seated, standing, brief stillness);
* ``no data``: no accelerometer data or the watch off the wrist.

The thresholds sit between the classes as the simulator produces them (asleep: SD of
\\|a\\| about 0.006 g, seated 0.02 g; walking cadence 1.6-2.0 Hz, running 2.5-3.0 Hz;
``docs/physiology.md``); ``tests/wearable/analysis/test_activity.py`` measures the
agreement with the simulator's own activity per minute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Step cadence from which a minute counts as running / exercise, Hz.
RUN_CADENCE_HZ = 2.3
#: ENMO from which a minute counts as moving (walking) even without a clear cadence, g.
ACTIVE_ENMO_G = 0.03
#: SD of the acceleration magnitude below which the wrist is still, g.
STILL_SD_G = 0.012
#: Consecutive still minutes that make a sleep/rest period.
REST_MIN_MINUTES = 15
#: Breaks in stillness up to this long (minutes) do not end a sleep/rest period.
REST_BRIDGE_MINUTES = 3
#: Below this fraction of the minute with skin contact, the watch is off the wrist.
CONTACT_MIN = 0.5

STATES = ("sleep/rest", "sedentary", "walking", "exercise", "no data")


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """For each element, the length of the run of equal values it belongs to."""
    if not len(flags):
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [len(flags)])))
    return np.repeat(lengths, lengths)


def _between(flags: np.ndarray) -> np.ndarray:
    """True where a ``flags`` element is set somewhere before and somewhere after."""
    before = np.maximum.accumulate(flags)
    after = np.maximum.accumulate(flags[::-1])[::-1]
    return before & after


def activity_classify(windows: pd.DataFrame) -> pd.DataFrame:
    """One activity state per minute.

    Parameters
    ----------
    windows : pandas.DataFrame
        From :func:`wearable.analysis.patient.patient_windows` (one row per minute in
        time order, with ``start``, ``act_enmo``, ``act_cadence``, ``act_mag_sd`` and
        ``q_contact_fraction``).

    Returns
    -------
    pandas.DataFrame
        ``start`` and ``state`` (one of :data:`STATES`, a categorical).

    Examples
    --------
    >>> minutes = pd.DataFrame({
    ...     "start": pd.date_range("2026-01-05", periods=3, freq="min", tz="UTC"),
    ...     "act_enmo": [0.002, 0.09, float("nan")],
    ...     "act_cadence": [0.0, 1.8, float("nan")],
    ...     "act_mag_sd": [0.02, 0.15, float("nan")],
    ...     "q_contact_fraction": [1.0, 1.0, 0.0],
    ... })
    >>> activity_classify(minutes)["state"].tolist()
    ['sedentary', 'walking', 'no data']
    """
    enmo = windows["act_enmo"].to_numpy(np.float64)
    cadence = np.nan_to_num(windows["act_cadence"].to_numpy(np.float64))
    sd = windows["act_mag_sd"].to_numpy(np.float64)
    contact = windows["q_contact_fraction"].to_numpy(np.float64)
    no_data = ~np.isfinite(enmo) | ~(np.nan_to_num(contact) >= CONTACT_MIN)
    still = ~no_data & (sd < STILL_SD_G)
    # A turn in bed moves the wrist for a minute or two: bridge short breaks between still
    # minutes, so one night is one rest period and not a row of short ones.
    moving = ~still
    bridged = still | (moving & (_run_lengths(moving) <= REST_BRIDGE_MINUTES) & _between(still))
    rest = bridged & (_run_lengths(bridged) >= REST_MIN_MINUTES)
    state = np.select(
        [
            no_data,
            cadence >= RUN_CADENCE_HZ,
            (cadence > 0) | (enmo >= ACTIVE_ENMO_G),
            rest,
        ],
        ["no data", "exercise", "walking", "sleep/rest"],
        default="sedentary",
    )
    return pd.DataFrame(
        {"start": windows["start"].to_numpy(), "state": pd.Categorical(state, categories=STATES)}
    )


def activity_periods(states: pd.DataFrame) -> pd.DataFrame:
    """Consecutive minutes in the same state, as periods.

    Parameters
    ----------
    states : pandas.DataFrame
        From :func:`activity_classify`.

    Returns
    -------
    pandas.DataFrame
        ``state``, ``start``, ``end`` (exclusive: start of the next minute) and
        ``minutes``, in time order. A gap in the minutes ends a period.
    """
    if states.empty:
        return pd.DataFrame(columns=["state", "start", "end", "minutes"])
    start = pd.to_datetime(states["start"], utc=True)
    gap = start.diff() != pd.Timedelta(minutes=1)
    new = gap | (states["state"] != states["state"].shift())
    period = new.cumsum()
    grouped = pd.DataFrame({"state": states["state"], "start": start, "period": period})
    periods = grouped.groupby("period", sort=True).agg(
        state=("state", "first"),
        start=("start", "min"),
        end=("start", "max"),
        minutes=("start", "size"),
    )
    periods["end"] = periods["end"] + pd.Timedelta(minutes=1)
    return periods.reset_index(drop=True)


def activity_summary(states: pd.DataFrame) -> pd.DataFrame:
    """Minutes and share of the monitored time in each state (all states, in order)."""
    counts = states["state"].value_counts().reindex(list(STATES), fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "state": list(STATES),
            "minutes": counts.to_numpy(),
            "share": counts.to_numpy() / total if total else np.zeros(len(STATES)),
        }
    )
