"""Heart-rate variability report of one patient, from the per-minute features.

Short-term HRV (RMSSD, SDNN, pNN50 over 60-s windows of RR intervals; ``docs/features.md``)
is only comparable between like conditions: movement shortens RR intervals and corrupts
them with artefacts. The report therefore uses, by default, only *resting* minutes with
the watch on the wrist and no motion-artefact flag, and says how many minutes each value
rests on, so a clinician can tell a real trend from a thin sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wearable.analysis.activity import activity_classify

#: Minutes an HRV period needs before its medians are reported (otherwise NaN).
HRV_MIN_MINUTES = 5
#: Below this many RR intervals in a minute, the minute's HRV is not used.
RR_MIN_COUNT = 30
#: A minute with motion-artefact share above this is left out.
MOTION_MAX = 0.1

HRV_COLUMNS = ("hr_mean", "hrv_rmssd", "hrv_sdnn", "hrv_pnn50", "irr_nrmssd")


def hrv_usable(windows: pd.DataFrame, *, rest_only: bool = True) -> pd.Series:
    """Which minutes give a usable short-term HRV (a boolean Series aligned to ``windows``).

    Usable: at least :data:`RR_MIN_COUNT` RR intervals, an RMSSD, motion-artefact share at
    most :data:`MOTION_MAX`, and (``rest_only``) the patient sedentary or at rest.
    """
    ok = (
        (windows["rr_count"] >= RR_MIN_COUNT)
        & windows["hrv_rmssd"].notna()
        & ~(windows["q_motion_artifact"] > MOTION_MAX)
    )
    if rest_only:
        state = activity_classify(windows)["state"].to_numpy()
        ok &= np.isin(state, ["sleep/rest", "sedentary"])
    return ok


def hrv_report(
    windows: pd.DataFrame, period: str = "1h", *, rest_only: bool = True
) -> pd.DataFrame:
    """Median HRV per period of the day, from the usable minutes.

    Parameters
    ----------
    windows : pandas.DataFrame
        From :func:`wearable.analysis.patient.patient_windows`.
    period : str
        A pandas frequency (``"1h"``, ``"30min"``, ``"1D"``).
    rest_only : bool
        Use resting minutes only (see :func:`hrv_usable`).

    Returns
    -------
    pandas.DataFrame
        ``start`` of each period, ``minutes`` (usable minutes), ``coverage`` (usable /
        all minutes with data), then the medians of ``hr_mean``, ``hrv_rmssd``,
        ``hrv_sdnn``, ``hrv_pnn50`` and ``irr_nrmssd``; NaN where fewer than
        :data:`HRV_MIN_MINUTES` minutes were usable.
    """
    usable = hrv_usable(windows, rest_only=rest_only)
    frame = windows.assign(_usable=usable, _data=windows["hr_mean"].notna())
    grouped = frame.set_index("start").groupby(pd.Grouper(freq=period))
    medians = grouped.apply(
        lambda g: (
            g.loc[g["_usable"], list(HRV_COLUMNS)].median()
            if g["_usable"].sum() >= HRV_MIN_MINUTES
            else pd.Series(np.nan, index=list(HRV_COLUMNS))
        )
    )
    report = pd.DataFrame(
        {
            "minutes": grouped["_usable"].sum().astype("int64"),
            "coverage": grouped["_usable"].sum() / grouped["_data"].sum().where(lambda n: n > 0),
        }
    )
    report = report.join(medians)
    return report.reset_index()
