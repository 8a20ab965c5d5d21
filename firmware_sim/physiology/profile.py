"""Who wears the watch: the per-person constants the physiology model starts from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Valid ranges, inclusive. They bound a plausible *healthy* adult at rest: the anomalies
#: (tachycardia, desaturation, ...) are produced by episodes, never by the profile.
AGE_RANGE_YEARS = (18, 100)
RESTING_HR_RANGE_BPM = (40.0, 100.0)
FITNESS_RANGE = (0.0, 1.0)
SPO2_BASELINE_RANGE_PCT = (94.0, 100.0)
SKIN_TEMP_BASELINE_RANGE_C = (28.0, 36.0)
SEXES = ("female", "male")
#: Premature beats as a fraction of all beats (PVCs and PACs each).
ECTOPY_BURDEN_RANGE = (0.0, 0.3)


def _check_range(name: str, value: float, bounds: tuple[float, float], unit: str) -> float:
    lo, hi = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}]{unit}, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name}={value!r} outside valid range [{lo}, {hi}]{unit}")
    return v


@dataclass(frozen=True)
class PersonProfile:
    """A simulated person's baseline physiology.

    Parameters
    ----------
    age_years : int
        Age in [18, 100] years. Sets the maximal heart rate (Tanaka et al. 2001) and
        the decline of vagal heart-rate variability with age.
    sex : str
        ``"female"`` or ``"male"``.
    resting_hr_bpm : float
        Seated, awake resting heart rate in [40, 100] bpm.
    fitness : float
        Cardiorespiratory fitness in [0, 1]: faster heart-rate kinetics, more HRV,
        more exercise in the daily schedule.
    spo2_baseline_pct : float
        Awake resting peripheral oxygen saturation in [94, 100] %.
    skin_temp_baseline_c : float
        Awake daytime wrist skin temperature in [28, 36] °C.
    pvc_burden, pac_burden : float
        Premature ventricular / atrial contractions as a fraction of all beats, in
        [0, 0.3] (default 0: no ectopy). Ectopy is not an anomaly: it is never labelled
        AF (``docs/physiology.md``).

    Raises
    ------
    ValueError
        If a field is outside its valid range; the message names the field and range.
    """

    age_years: int
    sex: str
    resting_hr_bpm: float
    fitness: float
    spo2_baseline_pct: float
    skin_temp_baseline_c: float
    pvc_burden: float = 0.0
    pac_burden: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = AGE_RANGE_YEARS
        if (
            isinstance(self.age_years, bool)
            or not isinstance(self.age_years, (int, np.integer))
            or not lo <= self.age_years <= hi
        ):
            raise ValueError(
                f"age_years={self.age_years!r} outside valid range: an integer in [{lo}, {hi}]"
            )
        object.__setattr__(self, "age_years", int(self.age_years))
        if self.sex not in SEXES:
            raise ValueError(f"sex={self.sex!r} invalid: must be one of {SEXES}")
        for name, bounds, unit in (
            ("resting_hr_bpm", RESTING_HR_RANGE_BPM, " bpm"),
            ("fitness", FITNESS_RANGE, ""),
            ("spo2_baseline_pct", SPO2_BASELINE_RANGE_PCT, " %"),
            ("skin_temp_baseline_c", SKIN_TEMP_BASELINE_RANGE_C, " °C"),
            ("pvc_burden", ECTOPY_BURDEN_RANGE, ""),
            ("pac_burden", ECTOPY_BURDEN_RANGE, ""),
        ):
            object.__setattr__(self, name, _check_range(name, getattr(self, name), bounds, unit))

    @property
    def hr_max_bpm(self) -> float:
        """Age-predicted maximal heart rate, 208 - 0.7 x age (Tanaka et al. 2001)."""
        return 208.0 - 0.7 * self.age_years

    @classmethod
    def sample(cls, rng: np.random.Generator) -> PersonProfile:
        """Draw a plausible healthy adult.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness; the draw is a pure function of its state.

        Returns
        -------
        PersonProfile
            Age 20-80, resting HR 50-90 bpm (lower when fitter), SpO2 96-99 %, wrist
            skin temperature 31-34.5 °C, and premature-beat burdens.

        Notes
        -----
        Ectopy burdens are log-normal over orders of magnitude, as 24-h Holter counts
        in the general population are (Kostis et al. 1981, Circulation 63:1351; Conen
        et al. 2012, Circulation 126:2302): log10 of the PVC burden ~ N(-3.3, 1.0) and
        of the PAC burden ~ N(-3.2, 0.9), capped at 25 %. Most people then have well
        under 1 % of beats ectopic (a few to a few hundred a day), about 1 in 10 has
        1-10 % of one kind, and about 1 in 100 more (frequent ectopy, bigeminy runs).
        The draws come after the other fields, so they leave them unchanged.
        """
        age = int(rng.integers(20, 81))
        sex = SEXES[int(rng.integers(0, 2))]
        # Fitness declines with age on average; Beta(2.5, 2.5) keeps it away from 0 and 1.
        fitness = float(np.clip(rng.beta(2.5, 2.5) - 0.004 * (age - 45), 0.02, 0.98))
        female_offset = 3.0 if sex == "female" else 0.0
        resting_hr = 71.0 + female_offset - 16.0 * (fitness - 0.5) + rng.normal(0.0, 5.0)
        spo2 = rng.uniform(96.0, 99.0)
        # Women have slightly warmer distal skin on average.
        skin = rng.normal(32.8 + (0.3 if sex == "female" else 0.0), 0.6)
        pvc = min(10.0 ** rng.normal(-3.3, 1.0), 0.25)
        pac = min(10.0 ** rng.normal(-3.2, 0.9), 0.25)
        return cls(
            age_years=age,
            sex=sex,
            resting_hr_bpm=round(float(np.clip(resting_hr, 50.0, 90.0)), 1),
            fitness=round(fitness, 3),
            spo2_baseline_pct=round(float(spo2), 1),
            skin_temp_baseline_c=round(float(np.clip(skin, 31.0, 34.5)), 2),
            pvc_burden=round(float(pvc), 5),
            pac_burden=round(float(pac), 5),
        )
