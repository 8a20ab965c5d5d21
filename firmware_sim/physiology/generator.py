"""Simulated signals of one person wearing a watch, chunk by chunk.

The model (equations, parameters, sources) is documented in ``docs/physiology.md``.
Everything is vectorised: per chunk, the only Python loops run over episodes and over
constant stretches of the heart-rate target, never over seconds, beats or samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.physiology import accel as acc
from firmware_sim.physiology.cardiac import (
    beats_find_crossings,
    ectopy_increments,
    hr_average_beats,
    hr_respond,
    rr_generate_af,
)
from firmware_sim.physiology.noise import noise_ou, noise_resonant, signal_lowpass
from firmware_sim.physiology.profile import PersonProfile
from firmware_sim.physiology.schedule import Activity, schedule_activity
from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Grid on which the instantaneous beat rate is integrated (Hz); 8 Hz resolves the
#: fastest modulation (breathing during exercise, ~0.5 Hz) with 16 points per cycle.
BEAT_GRID_HZ = 8
#: Beats the watch averages for one heart-rate reading.
HR_AVERAGE_BEATS = 5
#: No heart-rate reading when the last detected beat is older than this (s).
HR_STALE_S = 4.0
#: Beat-timing jitter of a wrist PPG against the ECG R peak (s, SD of each beat's time)
#: by activity (sleep, sedentary, walking, exercise): pulse arrival time varies beat to
#: beat and the optical fiducial point is blurred, more so in motion (Schäfer & Vagedes
#: 2013, Int J Cardiol 166:15; Mejía-Mejía et al. 2020, Physiol Meas 41:07TR01). An
#: interval's error is sqrt(2) times this: about 11-28 ms.
PPG_JITTER_S = np.array([0.008, 0.010, 0.015, 0.020])
#: Probability that the PPG misses a beat (a weak pulse), by activity.
PPG_MISS_P = np.array([0.001, 0.002, 0.01, 0.02])
#: Probability of a spurious extra detection after a beat (dicrotic notch, motion), by
#: activity; it falls 35-65 % of the way to the next beat.
PPG_EXTRA_P = np.array([0.0005, 0.001, 0.004, 0.008])
#: Refractory period of the beat detector: beats closer than this are merged (s).
DETECTOR_REFRACTORY_S = 0.25
#: Heart-rate rise per °C of fever (Karjalainen & Viitasalo 1986).
FEVER_HR_BPM_PER_C = 8.5

# Per-activity tables, indexed by Activity (SLEEP, SEDENTARY, WALKING, EXERCISE).
#: Respiratory sinus arrhythmia amplitude relative to seated rest.
_HF_FACTOR = np.array([1.25, 1.0, 0.35, 0.12])
#: Low-frequency (Mayer wave) amplitude relative to seated rest.
_LF_FACTOR = np.array([0.7, 1.0, 0.5, 0.2])
#: Breathing frequency (Hz) before the per-person scale.
_RESP_HZ = np.array([0.23, 0.25, 0.32, 0.45])
#: SpO2 measurement noise SD (%) by activity: motion degrades the optical signal.
_SPO2_NOISE = np.array([0.25, 0.3, 0.5, 0.6])
#: Wrist skin cooling by convection and sweating during movement (°C).
_TEMP_ACTIVITY_C = np.array([0.0, 0.0, -0.2, -0.6])


@dataclass(frozen=True, eq=False)
class SignalChunk:
    """A stretch of simulated signals of one person, all streams aligned in true time.

    Attributes
    ----------
    start_s : int
        Seconds since the scenario start (true time) of the first second.
    duration_s : int
        Length in seconds, a multiple of 60.
    beat_times_s : numpy.ndarray
        ``float64`` sensor-detected beats in ``[start_s, start_s + duration_s)``,
        sorted, seconds since the scenario start.
    rr_ms : numpy.ndarray
        ``float64``, same length: the interval ending at each beat, ms. ``nan`` for the
        first beat after the signal was lost (off-wrist, data gap), whose predecessor
        was never detected; the firmware sends no RR for such a beat.
    hr_bpm : numpy.ndarray
        ``float64`` per second: the integer heart rate the watch reports, the mean of
        the last 5 detected RR intervals before the end of the second; ``nan`` where no
        reading.
    spo2_pct : numpy.ndarray
        ``float64`` per second, integer percent; ``nan`` where no reading.
    skin_temp_c : numpy.ndarray
        ``float64`` per minute (``duration_s // 60``), 0.01 °C resolution.
    accel_g : numpy.ndarray
        ``float32`` ``(duration_s * 25, 3)``, gravity included, g.
    contact : numpy.ndarray
        ``bool`` per second: skin contact detected.
    activity : numpy.ndarray
        ``int8`` per second (:class:`Activity`).
    gap : numpy.ndarray
        ``bool`` per second: the sensor produced nothing (``DATA_GAP``).
    hr_true_bpm, spo2_true_pct, core_rise_c : numpy.ndarray or None
        ``float64`` per second: the person's true heart rate (the rate the beats
        follow, before sensing), true arterial saturation (before measurement noise and
        artifacts) and core temperature rise over normal (fever). What the clinical
        labels are computed from (:mod:`firmware_sim.clinical_labels`); ``None`` for
        chunks replayed from recordings, which carry no ground truth.
    """

    start_s: int
    duration_s: int
    beat_times_s: FloatArray
    rr_ms: FloatArray
    hr_bpm: FloatArray
    spo2_pct: FloatArray
    skin_temp_c: FloatArray
    accel_g: npt.NDArray[np.float32]
    contact: BoolArray
    activity: npt.NDArray[np.int8]
    gap: BoolArray
    hr_true_bpm: FloatArray | None = None
    spo2_true_pct: FloatArray | None = None
    core_rise_c: FloatArray | None = None


# --- Severity mappings (severity in [0, 1]); documented in docs/physiology.md. -------------


def episode_tachycardia_bpm(severity: float) -> float:
    """Heart rate floor during tachycardia: 105 bpm (mild) to 150 bpm (severe)."""
    return 105.0 + 45.0 * severity


def episode_bradycardia_bpm(severity: float) -> float:
    """Resting heart rate during bradycardia: 48 bpm (mild) to 35 bpm (severe)."""
    return 48.0 - 13.0 * severity


def episode_af_rate_cv(severity: float) -> tuple[float, float]:
    """Mean ventricular rate (90-140 bpm) and RR coefficient of variation (0.15-0.25) in AF."""
    return 90.0 + 50.0 * severity, 0.15 + 0.10 * severity


def episode_desaturation_nadir_pct(severity: float) -> float:
    """SpO2 plateau during a desaturation: 88 % (mild) to 80 % (severe)."""
    return 88.0 - 8.0 * severity


def episode_fever_rise_c(severity: float) -> float:
    """Temperature rise at the fever's plateau: 1.0 °C (mild) to 2.5 °C (severe)."""
    return 1.0 + 1.5 * severity


def episode_fall_peak_g(severity: float) -> float:
    """Peak acceleration magnitude of a fall's impact: 3.2 g (mild) to 8 g (severe)."""
    return 3.2 + 4.8 * severity


# --- Internals --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    """Per-scenario draws that individualise the model beyond the profile."""

    hf_frac: float  # peak RSA modulation of RR at seated rest, fraction of RR
    lf_frac: float  # RMS Mayer-wave modulation at seated rest, fraction of RR
    resp_scale: float
    sleep_hr_drop: float
    tau_rise_s: float
    tau_fall_s: float
    sleep_temp_gain_c: float
    spo2_sleep_dip: float
    ambient_c: float


@dataclass(frozen=True)
class _Ep:
    index: int
    ep: Episode
    u: FloatArray  # per-episode uniforms, drawn once so chunking cannot change them

    @property
    def kind(self) -> AnomalyKind | FaultKind:
        return self.ep.kind

    @property
    def sev(self) -> float:
        return self.ep.severity

    def seconds(self, cs: int, n: int) -> tuple[int, int]:
        """Chunk-relative second range: second s belongs if onset_s <= s < end_s."""
        i0 = min(max(math.ceil(self.ep.onset_s) - cs, 0), n)
        i1 = min(max(math.ceil(self.ep.end_s) - cs, 0), n)
        return i0, i1


@dataclass
class _State:
    """Everything carried from one chunk to the next."""

    hr_y: float
    ou_hr_fast: float
    ou_hr_slow: float
    resp_phase: float
    resp_ou: float
    rsa_ou: float
    lf_zi: FloatArray
    auto_lp: FloatArray
    up_prev: FloatArray  # last per-second value of the upsampled series
    phase_n: float
    hist_t: FloatArray
    hist_rr: FloatArray
    last_lost_end: float
    spo2_sleep: float
    spo2_ou: float
    last_spo2: float
    temp_sleep: float
    temp_act: float
    temp_ou: float
    temp_sensor: float
    gait_phase: float
    acc_prev_act: int
    acc_prev_override: bool
    acc_pose: FloatArray | None = None
    acc_lp: FloatArray | None = None
    fid_lp: FloatArray = field(default_factory=lambda: np.zeros(3))
    af_next: dict[int, float] = field(default_factory=dict)
    frozen: dict[int, tuple[float, float]] = field(default_factory=dict)
    falls_done: set[int] = field(default_factory=set)
    # Per-person premature-beat timing (fractions of the sinus cycle).
    pvc_coupling: float = 0.65
    pac_coupling: float = 0.7
    pac_return: float = 0.1


_STREAMS = (
    "schedule",
    "person",
    "episodes",
    "hr",
    "af",
    "beats",
    "artifact",
    "spo2",
    "temp",
    "accel",
    # Appended so that the streams above keep their seeds (SeedSequence.spawn).
    "ectopy",
    "ppg",
)


def _upsample(values: FloatArray, prev: FloatArray, factor: int) -> FloatArray:
    """Linear interpolation of per-second values (at second centres) onto a finer grid."""
    n = values.shape[0]
    centres = np.arange(-1, n, dtype=np.float64) + 0.5
    ext = np.concatenate((prev[None, :], values), axis=0)
    fine_t = (np.arange(n * factor, dtype=np.float64) + 0.5) / factor
    return np.stack([np.interp(fine_t, centres, ext[:, k]) for k in range(ext.shape[1])], axis=1)


def _lowpass_scalar(x: FloatArray, tau_s: float, prev: float) -> tuple[FloatArray, float]:
    y, last = signal_lowpass(x, tau_s, prev)
    return y, float(last)


def _in_windows(t: FloatArray, windows: Sequence[_Ep]) -> BoolArray:
    out = np.zeros(t.shape, dtype=bool)
    for e in windows:
        out |= (t >= e.ep.onset_s) & (t < e.ep.end_s)
    return out


def _smooth_step(u: FloatArray) -> FloatArray:
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def _wrap_hours(d: FloatArray) -> FloatArray:
    return (d + 12.0) % 24.0 - 12.0


class SignalGenerator:
    """Simulate all watch signals of one person, chunk by chunk.

    Parameters
    ----------
    profile : PersonProfile
        The wearer.
    episodes : Sequence[Episode]
        Anomalies and sensor faults, in seconds since the scenario start.
    seed : int
        Non-negative seed; with the other arguments it fixes every output byte.
    start_epoch_s : float
        Unix time of the scenario start; the daily routine follows UTC time of day.
    duration_s : int
        Scenario length, a positive multiple of 60 s.
    chunk_s : int
        Length of the chunks :meth:`iter_chunks` yields (multiple of 60 s).

    Raises
    ------
    ValueError
        On a duration or chunk length that is not a positive multiple of 60, a negative
        seed, a non-finite start time or an episode list holding something else.
    """

    def __init__(
        self,
        profile: PersonProfile,
        episodes: Sequence[Episode],
        seed: int,
        start_epoch_s: float,
        duration_s: int,
        chunk_s: int = 3600,
    ) -> None:
        if not isinstance(profile, PersonProfile):
            raise ValueError(f"profile must be a PersonProfile, got {type(profile).__name__}")
        for name, value in (("duration_s", duration_s), ("chunk_s", chunk_s)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer multiple of 60, got {value!r}")
            if value <= 0 or value % 60 != 0:
                raise ValueError(f"{name} must be a positive multiple of 60, got {value}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not math.isfinite(start_epoch_s):
            raise ValueError(f"start_epoch_s must be finite, got {start_epoch_s}")
        for item in episodes:
            if not isinstance(item, Episode):
                raise ValueError(f"episodes must hold Episode objects, got {type(item).__name__}")
        self.profile = profile
        self.seed = int(seed)
        self.start_epoch_s = float(start_epoch_s)
        self.duration_s = int(duration_s)
        self.chunk_s = int(chunk_s)
        self.episodes: tuple[Episode, ...] = tuple(sorted(episodes))

        children = np.random.SeedSequence(self.seed).spawn(len(_STREAMS))
        self._seeds = dict(zip(_STREAMS, children, strict=True))
        self._activity = schedule_activity(
            profile, self.start_epoch_s, self.duration_s, self._rng("schedule")
        )
        ep_rng = self._rng("episodes")
        self._eps = [_Ep(i, ep, ep_rng.random(8)) for i, ep in enumerate(self.episodes)]
        for e in self._eps:
            if e.kind is AnomalyKind.FALL:
                # After the impact the person lies still: no scheduled activity happens.
                i0, i1 = e.seconds(0, self.duration_s)
                self._activity[i0:i1] = Activity.SEDENTARY
        change = np.ones(self.duration_s, dtype=bool)
        change[1:] = self._activity[1:] != self._activity[:-1]
        self._seg_id = (np.cumsum(change) - 1).astype(np.int32)
        person_rng = self._rng("person")
        # The person first, so that the same seed gives the same person at any duration.
        self._person = self._draw_person(person_rng)
        self._seg_intensity = person_rng.random(int(self._seg_id[-1]) + 1)

    def _rng(self, name: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self._seeds[name]))

    def _draw_person(self, rng: np.random.Generator) -> _Person:
        p = self.profile
        # Target seated-rest RMSSD: declines with age and rises with fitness, kept inside
        # the Nunan et al. (2010) normal range 19-75 ms with a margin.
        rmssd = (58.0 - 0.5 * (p.age_years - 20)) * (0.75 + 0.5 * p.fitness)
        rmssd = float(np.clip(rmssd * math.exp(rng.normal(0.0, 0.15)), 26.0, 60.0))
        resp_scale = float(rng.uniform(0.88, 1.12))
        lf_ratio = float(rng.uniform(1.0, 1.6))
        rr_rest = 60.0 / p.resting_hr_bpm
        f_resp = _RESP_HZ[Activity.SEDENTARY] * resp_scale
        # A sinusoid of RMS a*RR gives successive differences of RMS 2 sin(pi f RR) a RR;
        # share the target RMSSD between the RSA and the Mayer-wave component.
        g_hf = 2.0 * math.sin(math.pi * f_resp * rr_rest)
        g_lf = 2.0 * math.sin(math.pi * 0.1 * rr_rest)
        hf_rms = (rmssd / 1000.0 / rr_rest) / math.hypot(g_hf, lf_ratio * g_lf)
        return _Person(
            hf_frac=hf_rms * math.sqrt(2.0) / math.sqrt(1.0 + 0.2**2),
            lf_frac=lf_ratio * hf_rms,
            resp_scale=resp_scale,
            sleep_hr_drop=float(rng.uniform(0.07, 0.12)),
            tau_rise_s=float((40.0 - 15.0 * p.fitness) * rng.uniform(0.85, 1.15)),
            tau_fall_s=float((90.0 - 40.0 * p.fitness) * rng.uniform(0.85, 1.15)),
            sleep_temp_gain_c=float(rng.uniform(1.0, 2.0)),
            spo2_sleep_dip=float(rng.uniform(0.3, 1.0)),
            ambient_c=float(rng.uniform(22.0, 25.0)),
        )

    # -- heart-rate target ------------------------------------------------------------

    def _hr_target(
        self, cs: int, n: int, act: npt.NDArray[np.int8], eps: Sequence[_Ep]
    ) -> tuple[FloatArray, FloatArray]:
        p = self.profile
        rest = p.resting_hr_bpm
        reserve = p.hr_max_bpm - rest
        inten = self._seg_intensity[self._seg_id[cs : cs + n]]
        inc = np.zeros(n)
        walk = act == Activity.WALKING
        ex = act == Activity.EXERCISE
        # Heart-rate reserve fractions (Karvonen): casual to brisk walking 20-35 %,
        # moderate to vigorous exercise 55-80 %.
        inc[walk] = (0.2 + 0.15 * inten[walk] - 0.05 * p.fitness) * reserve
        inc[ex] = (0.55 + 0.25 * inten[ex]) * reserve
        inc[act == Activity.SLEEP] = -self._person.sleep_hr_drop * rest
        target = rest + inc
        hf_mod = np.ones(n)
        for e in eps:
            i0, i1 = e.seconds(cs, n)
            if i1 <= i0:
                continue
            sl = slice(i0, i1)
            if e.kind is AnomalyKind.TACHYCARDIA:
                target[sl] = np.maximum(target[sl], episode_tachycardia_bpm(e.sev))
                hf_mod[sl] *= 0.4  # vagal withdrawal
            elif e.kind is AnomalyKind.BRADYCARDIA:
                # Chronotropic incompetence: only 30 % of the normal activity response.
                target[sl] = episode_bradycardia_bpm(e.sev) + 0.3 * np.maximum(inc[sl], 0.0)
            elif e.kind is AnomalyKind.AF:
                rate, _ = episode_af_rate_cv(e.sev)
                target[sl] = rate + 0.7 * np.maximum(inc[sl], 0.0)
            elif e.kind is AnomalyKind.FALL:
                target[sl] += 8.0 + 12.0 * e.sev  # pain, stress
            elif e.kind is AnomalyKind.DESATURATION:
                target[sl] += 6.0 * e.sev  # hypoxic chemoreflex
        return target, hf_mod

    def _fever_delta(self, eps: Sequence[_Ep], t: FloatArray) -> FloatArray:
        """Core (and skin) temperature rise, °C, at times ``t``: confined to the episode."""
        out = np.zeros(t.shape)
        for e in eps:
            if e.kind is not AnomalyKind.FEVER:
                continue
            on, end = e.ep.onset_s, e.ep.end_s
            dur = end - on
            tau = min(1200.0, dur / 4.0)
            fall = min(1800.0, dur / 3.0)
            inside = (t >= on) & (t < end)
            rise = -np.expm1(-np.maximum(t - on, 0.0) / tau)
            down = _smooth_step((end - t) / fall)
            out += np.where(inside, episode_fever_rise_c(e.sev) * rise * down, 0.0)
        return out

    # -- chunk iteration ---------------------------------------------------------------

    def _initial_state(self, rngs: dict[str, np.random.Generator]) -> _State:
        act0 = int(self._activity[0])
        target, _ = self._hr_target(0, 1, self._activity[:1], [])
        hr0 = float(target[0])
        rhr = rngs["hr"]
        # Start the Mayer-wave resonator in its stationary regime.
        _, lf_zi = noise_resonant(rhr, 200 * BEAT_GRID_HZ, BEAT_GRID_HZ, 0.1, 0.04, np.zeros(2))
        auto = np.array(
            [_HF_FACTOR[act0], _LF_FACTOR[act0], _RESP_HZ[act0] * self._person.resp_scale]
        )
        phase_n = float(rngs["beats"].random())
        rr0 = 60.0 / hr0
        sleep0 = float(act0 == Activity.SLEEP)
        temp0 = self.profile.skin_temp_baseline_c + self._person.sleep_temp_gain_c * sleep0
        rect = rngs["ectopy"]
        return _State(
            pvc_coupling=float(rect.uniform(0.55, 0.75)),
            pac_coupling=float(rect.uniform(0.6, 0.8)),
            pac_return=float(rect.uniform(0.05, 0.15)),
            hr_y=hr0,
            ou_hr_fast=float(rhr.normal(0.0, 2.0)),
            ou_hr_slow=float(rhr.normal(0.0, 2.5)),
            resp_phase=float(rhr.uniform(0.0, 2.0 * math.pi)),
            resp_ou=0.0,
            rsa_ou=0.0,
            lf_zi=lf_zi,
            auto_lp=auto,
            up_prev=np.array(
                [hr0, auto[0] * self._person.hf_frac, auto[1] * self._person.lf_frac, auto[2]]
            ),
            phase_n=phase_n,
            # A virtual beat before the start gives the first beat a defined RR.
            hist_t=np.array([-phase_n * rr0]),
            hist_rr=np.array([rr0 * 1000.0]),
            last_lost_end=-math.inf,
            spo2_sleep=sleep0,
            spo2_ou=float(rngs["spo2"].normal(0.0, 0.3)),
            last_spo2=math.nan,
            temp_sleep=sleep0,
            temp_act=float(_TEMP_ACTIVITY_C[act0]),
            temp_ou=float(rngs["temp"].normal(0.0, 0.2)),
            temp_sensor=temp0,
            gait_phase=float(rngs["accel"].uniform(0.0, 4.0 * math.pi)),
            acc_prev_act=act0,
            acc_prev_override=False,
        )

    def iter_chunks(self) -> Iterator[SignalChunk]:
        """Yield consecutive chunks covering the whole scenario.

        Every call restarts from the beginning and yields the same chunks. Signals are
        continuous across chunk boundaries (filter states, phases and the last beats are
        carried). The last chunk is shorter when ``duration_s`` is not a multiple of
        ``chunk_s``.

        Yields
        ------
        SignalChunk
            ``chunk_s`` seconds (or the remainder) of every stream.
        """
        rngs = {name: self._rng(name) for name in _STREAMS[3:]}
        st = self._initial_state(rngs)
        for cs in range(0, self.duration_s, self.chunk_s):
            n = min(self.chunk_s, self.duration_s - cs)
            yield self._chunk(cs, n, st, rngs)

    def _chunk(
        self, cs: int, n: int, st: _State, rngs: dict[str, np.random.Generator]
    ) -> SignalChunk:
        person = self._person
        act = self._activity[cs : cs + n]
        act_i = act.astype(np.intp)
        eps = [e for e in self._eps if e.ep.onset_s < cs + n and e.ep.end_s > cs]
        by_kind: dict[AnomalyKind | FaultKind, list[_Ep]] = {}
        for e in eps:
            by_kind.setdefault(e.kind, []).append(e)

        def sec_mask(kind: AnomalyKind | FaultKind) -> BoolArray:
            m = np.zeros(n, dtype=bool)
            for e in by_kind.get(kind, []):
                i0, i1 = e.seconds(cs, n)
                m[i0:i1] = True
            return m

        off_wrist = sec_mask(FaultKind.OFF_WRIST)
        gap = sec_mask(FaultKind.DATA_GAP)
        lost = off_wrist | gap
        sec_t = cs + np.arange(n, dtype=np.float64)
        sleeping = (act == Activity.SLEEP).astype(np.float64)

        # ---- heart rate (per second) ----
        rhr = rngs["hr"]
        target, hf_mod = self._hr_target(cs, n, act, eps)
        hr_lag, st.hr_y = hr_respond(target, st.hr_y, person.tau_rise_s, person.tau_fall_s)
        fever = self._fever_delta(eps, sec_t + 0.5)
        ou_fast, st.ou_hr_fast = noise_ou(rhr, n, 90.0, 2.0, st.ou_hr_fast)
        ou_slow, st.ou_hr_slow = noise_ou(rhr, n, 1800.0, 2.5, st.ou_hr_slow)
        hr_true = np.maximum(hr_lag + FEVER_HR_BPM_PER_C * fever + ou_fast + ou_slow, 30.0)

        auto_in = np.stack(
            (_HF_FACTOR[act_i] * hf_mod, _LF_FACTOR[act_i], _RESP_HZ[act_i] * person.resp_scale),
            axis=1,
        )
        auto, st.auto_lp = signal_lowpass(auto_in, 30.0, st.auto_lp)
        resp_ou, st.resp_ou = noise_ou(rhr, n, 30.0, 0.015, st.resp_ou)
        rsa_ou, st.rsa_ou = noise_ou(rhr, n, 15.0, 0.2, st.rsa_ou)
        per_sec = np.stack(
            (
                hr_true,
                auto[:, 0] * np.maximum(1.0 + rsa_ou, 0.2) * person.hf_frac,
                auto[:, 1] * person.lf_frac,
                auto[:, 2] + resp_ou,
            ),
            axis=1,
        )
        fine = _upsample(per_sec, st.up_prev, BEAT_GRID_HZ)
        st.up_prev = per_sec[-1].copy()
        dt = 1.0 / BEAT_GRID_HZ
        resp_phase = st.resp_phase + 2.0 * np.pi * np.cumsum(fine[:, 3]) * dt
        st.resp_phase = float(resp_phase[-1] % (2.0 * np.pi))
        lf, st.lf_zi = noise_resonant(rhr, n * BEAT_GRID_HZ, BEAT_GRID_HZ, 0.1, 0.04, st.lf_zi)
        modulation = fine[:, 1] * np.sin(resp_phase) + fine[:, 2] * lf
        rate_mean = fine[:, 0] / 60.0
        rate_sinus = rate_mean / (1.0 + modulation)

        # ---- true beats ----
        total = float(np.sum(rate_sinus)) * dt
        reached = math.floor(st.phase_n + total)
        # Premature beats only move beats earlier, so every sinus beat reached stays
        # reached; the phase carried to the next chunk is measured from the (shifted)
        # sinus grid, so a PAC's reset persists across the boundary.
        inc, _ = ectopy_increments(
            rngs["ectopy"],
            reached,
            self.profile.pvc_burden,
            self.profile.pac_burden,
            st.pvc_coupling,
            st.pac_coupling,
            st.pac_return,
        )
        shift = float(np.sum(inc)) - reached  # <= 0
        extra = np.ones(math.ceil(-shift) + 3)
        thresholds = np.cumsum(np.concatenate((inc, extra)))
        beats, phase_end = beats_find_crossings(cs, dt, rate_sinus, st.phase_n, thresholds)
        grid_phase = phase_end - shift
        st.phase_n = grid_phase - math.floor(grid_phase)
        af_eps = by_kind.get(AnomalyKind.AF, [])
        if af_eps:
            beats = beats[~_in_windows(beats, af_eps)]
            total_af = float(np.sum(rate_mean)) * dt
            parts = [beats]
            for e in af_eps:
                _, cv = episode_af_rate_cv(e.sev)
                nxt = st.af_next.get(e.index, 1e-3 + float(e.u[1]))
                incs = [np.array([nxt])]
                reach = nxt
                while reach <= total_af + 1.0:
                    more = rr_generate_af(rngs["af"], int(1.2 * (total_af + 1.0 - reach)) + 16, cv)
                    incs.append(more)
                    reach += float(np.sum(more))
                thr = np.cumsum(np.concatenate(incs))
                t_af, ph = beats_find_crossings(cs, dt, rate_mean, 0.0, thr)
                st.af_next[e.index] = float(thr[t_af.size] - ph)
                parts.append(t_af[(t_af >= e.ep.onset_s) & (t_af < e.ep.end_s)])
            beats = np.sort(np.concatenate(parts))
        rb = rngs["beats"]
        beat_act = act_i[np.clip(np.floor(beats - cs).astype(np.intp), 0, n - 1)]
        beats = beats + rb.normal(0.0, 1.0, beats.size) * PPG_JITTER_S[beat_act]
        # The optical sensor misses weak pulses and now and then detects a spurious one.
        rp = rngs["ppg"]
        u = rp.random((3, beats.size))
        next_t = np.concatenate((beats[1:], beats[-1:] + 1.0))
        extra_t = beats + (0.35 + 0.3 * u[2]) * (next_t - beats)
        beats = np.concatenate(
            (beats[u[0] >= PPG_MISS_P[beat_act]], extra_t[u[1] < PPG_EXTRA_P[beat_act]])
        )
        beats = np.sort(beats)

        # ---- sensor: motion artifacts, then loss and stuck windows ----
        ra = rngs["artifact"]
        for e in by_kind.get(FaultKind.MOTION_ARTIFACT, []):
            a, b = max(e.ep.onset_s, cs), min(e.ep.end_s, cs + n)
            sel = (beats >= a) & (beats < b)
            beats = beats + np.where(sel, ra.normal(0.0, 0.03 + 0.05 * e.sev, beats.size), 0.0)
            missed = sel & (ra.random(beats.size) < 0.1 + 0.25 * e.sev)
            spurious = ra.uniform(a, b, int(ra.poisson((0.2 + 0.6 * e.sev) * (b - a))))
            beats = np.concatenate((beats[~missed], spurious))
        beats = np.sort(np.clip(beats, cs, np.nextafter(cs + n, -np.inf)))
        lost_eps = by_kind.get(FaultKind.OFF_WRIST, []) + by_kind.get(FaultKind.DATA_GAP, [])
        flat_eps = by_kind.get(FaultKind.FLAT_LINE, [])
        beats = beats[~_in_windows(beats, [*lost_eps, *flat_eps])]

        lost_idx = np.maximum.accumulate(np.where(lost, np.arange(n), -1))
        lost_end_in_chunk = np.where(lost_idx >= 0, cs + lost_idx + 1.0, st.last_lost_end)

        def rr_of(t: FloatArray) -> FloatArray:
            prev = np.concatenate((st.hist_t[-1:], t[:-1]))
            rr = (t - prev) * 1000.0
            j = np.clip(np.floor(t - cs).astype(np.intp), 0, n - 1)
            broken = lost_end_in_chunk[j] > prev
            return np.where(broken, np.nan, rr)

        # ---- SpO2 (per second, before stuck/loss overrides) ----
        rs = rngs["spo2"]
        sl_lp, st.spo2_sleep = _lowpass_scalar(sleeping, 600.0, st.spo2_sleep)
        ou_s, st.spo2_ou = noise_ou(rs, n, 20.0, 0.3, st.spo2_ou)
        spo2 = (
            self.profile.spo2_baseline_pct
            - person.spo2_sleep_dip * sl_lp
            + np.clip(ou_s, -0.9, 0.9)
        )
        noise_sd = _SPO2_NOISE[act_i].copy()
        for e in by_kind.get(AnomalyKind.DESATURATION, []):
            dur = e.ep.duration_s
            t_mid = sec_t + 0.5
            shape = np.minimum(
                _smooth_step((t_mid - e.ep.onset_s) / min(30.0, dur / 3.0)),
                _smooth_step((e.ep.end_s - t_mid) / min(40.0, dur / 3.0)),
            )
            shape = np.where((t_mid >= e.ep.onset_s) & (t_mid < e.ep.end_s), shape, 0.0)
            spo2 = spo2 * (1.0 - shape) + episode_desaturation_nadir_pct(e.sev) * shape
            noise_sd += 0.8 * shape  # oximeters are less precise at low saturation
        spo2_true = spo2.copy()
        spo2 = spo2 + np.clip(rs.standard_normal(n), -2.0, 2.0) * noise_sd
        for e in by_kind.get(FaultKind.MOTION_ARTIFACT, []):
            i0, i1 = e.seconds(cs, n)
            spo2[i0:i1] += -(2.0 + 5.0 * e.sev) + rs.normal(0.0, 1.5 + 2.0 * e.sev, i1 - i0)
        spo2 = np.clip(np.rint(spo2), 70.0, 100.0)

        # ---- stuck sensor: freeze the last reading, regular beats ----
        flat_parts: list[FloatArray] = []
        flat_rr: list[FloatArray] = []
        for e in flat_eps:
            if e.index not in st.frozen:
                pre = beats[beats < e.ep.onset_s]
                rr_pre = np.concatenate((st.hist_rr, rr_of(pre)))[-HR_AVERAGE_BEATS:]
                rr_pre = rr_pre[np.isfinite(rr_pre)]
                j = math.ceil(e.ep.onset_s) - cs
                if rr_pre.size:
                    hr_val = float(np.rint(60_000.0 / np.mean(rr_pre)))
                else:
                    hr_val = float(np.rint(hr_true[min(max(j, 0), n - 1)]))
                spo2_val = float(spo2[j - 1]) if 1 <= j <= n else st.last_spo2
                if not math.isfinite(spo2_val) or (1 <= j <= n and lost[j - 1]):
                    spo2_val = float(np.rint(self.profile.spo2_baseline_pct))
                st.frozen[e.index] = (hr_val, spo2_val)
            hr_val, _ = st.frozen[e.index]
            rr_f = 60.0 / hr_val
            a, b = max(e.ep.onset_s, cs), min(e.ep.end_s, cs + n)
            before = beats[beats < a]
            t_last = float(before[-1]) if before.size else float(st.hist_t[-1])
            k0 = max(1, math.ceil((a - t_last) / rr_f))
            k1 = max(k0, math.ceil((b - t_last) / rr_f))
            tb = t_last + np.arange(k0, k1, dtype=np.float64) * rr_f
            tb = tb[(tb >= a) & (tb < b)]
            tb = tb[~_in_windows(tb, lost_eps)]
            flat_parts.append(tb)
            flat_rr.append(np.full(tb.size, rr_f * 1000.0))
        is_flat = np.concatenate(
            [np.zeros(beats.size, dtype=bool)] + [np.ones(p.size, dtype=bool) for p in flat_parts]
        )
        forced_rr = np.concatenate([np.full(beats.size, np.nan), *flat_rr])
        beats = np.concatenate([beats, *flat_parts])
        order = np.argsort(beats, kind="stable")
        beats, is_flat, forced_rr = beats[order], is_flat[order], forced_rr[order]
        # The detector's refractory period swallows a beat too close to the previous one.
        keep = np.diff(np.concatenate((st.hist_t[-1:], beats))) >= DETECTOR_REFRACTORY_S
        beats, is_flat, forced_rr = beats[keep], is_flat[keep], forced_rr[keep]
        rr = rr_of(beats)
        rr = np.where(is_flat & np.isfinite(rr), forced_rr, rr)

        # ---- heart rate as reported ----
        all_t = np.concatenate((st.hist_t, beats))
        all_rr = np.concatenate((st.hist_rr, rr))
        hr = hr_average_beats(all_t, all_rr, sec_t + 1.0, HR_AVERAGE_BEATS, HR_STALE_S)
        hr = np.rint(np.clip(hr, 25.0, 250.0))
        for e in flat_eps:
            i0, i1 = e.seconds(cs, n)
            hr[i0:i1] = st.frozen[e.index][0]
            spo2[i0:i1] = st.frozen[e.index][1]
        hr[lost] = np.nan
        spo2[lost] = np.nan
        st.hist_t = all_t[-HR_AVERAGE_BEATS:]
        st.hist_rr = all_rr[-HR_AVERAGE_BEATS:]
        st.last_lost_end = float(lost_end_in_chunk[-1])
        st.last_spo2 = float(spo2[-1])

        skin = self._skin_temperature(cs, n, st, rngs["temp"], act_i, sleeping, fever, off_wrist)
        accel = self._accel(cs, n, st, rngs["accel"], act, by_kind)
        return SignalChunk(
            start_s=cs,
            duration_s=n,
            beat_times_s=beats,
            rr_ms=rr,
            hr_bpm=hr,
            spo2_pct=spo2,
            skin_temp_c=skin,
            accel_g=accel,
            contact=~off_wrist,
            activity=act.copy(),
            gap=gap,
            hr_true_bpm=hr_true,
            spo2_true_pct=spo2_true,
            core_rise_c=fever,
        )

    def _skin_temperature(
        self,
        cs: int,
        n: int,
        st: _State,
        rng: np.random.Generator,
        act_i: npt.NDArray[np.intp],
        sleeping: FloatArray,
        fever: FloatArray,
        off_wrist: BoolArray,
    ) -> FloatArray:
        sec_t = cs + np.arange(n, dtype=np.float64) + 0.5
        tod_h = ((self.start_epoch_s + sec_t) % 86_400.0) / 3600.0
        # Sarabia et al. (2008): besides the nocturnal rise, a post-lunch rise around
        # 15:00 and a trough in the evening "wake maintenance zone" around 20:30.
        circadian = 0.35 * np.exp(-0.5 * (_wrap_hours(tod_h - 15.0) / 1.5) ** 2) - 0.25 * np.exp(
            -0.5 * (_wrap_hours(tod_h - 20.5) / 1.0) ** 2
        )
        sleep_lp, st.temp_sleep = _lowpass_scalar(sleeping, 1500.0, st.temp_sleep)
        act_lp, st.temp_act = _lowpass_scalar(_TEMP_ACTIVITY_C[act_i], 600.0, st.temp_act)
        ou, st.temp_ou = noise_ou(rng, n, 1800.0, 0.2, st.temp_ou)
        body = (
            self.profile.skin_temp_baseline_c
            + self._person.sleep_temp_gain_c * sleep_lp
            + circadian
            + act_lp
            + ou
            + fever
        )
        target = np.where(off_wrist, self._person.ambient_c, body)
        # The sensor and strap have thermal mass: ~4 min time constant.
        sensed, st.temp_sensor = _lowpass_scalar(target, 240.0, st.temp_sensor)
        per_min = sensed.reshape(-1, 60).mean(axis=1) + rng.normal(0.0, 0.03, n // 60)
        return np.asarray(np.clip(np.round(per_min, 2), 20.0, 40.0), dtype=np.float64)

    def _accel(
        self,
        cs: int,
        n: int,
        st: _State,
        rng: np.random.Generator,
        act: npt.NDArray[np.int8],
        by_kind: dict[AnomalyKind | FaultKind, list[_Ep]],
    ) -> npt.NDArray[np.float32]:
        fs = ACCEL_SAMPLE_RATE_HZ
        act_i = act.astype(np.intp)
        off_wrist = np.zeros(n, dtype=bool)
        lying = np.zeros(n, dtype=bool)
        fixed_pose = np.zeros((n, 3))
        for e in by_kind.get(FaultKind.OFF_WRIST, []):
            i0, i1 = e.seconds(cs, n)
            off_wrist[i0:i1] = True
            # On a table, mostly face up, a little tilted.
            v = np.array(
                [0.1 * (e.u[2] - 0.5), 0.1 * (e.u[3] - 0.5), 1.0 if e.u[4] < 0.8 else -1.0]
            )
            fixed_pose[i0:i1] = v / np.linalg.norm(v)
        for e in by_kind.get(AnomalyKind.FALL, []):
            j0 = min(max(math.ceil(e.ep.onset_s + 1.5) - cs, 0), n)
            _, i1 = e.seconds(cs, n)
            lying[j0:i1] = True
            pick = int(e.u[2] * len(acc.POSES[Activity.SLEEP]))
            v = np.array(acc.POSES[Activity.SLEEP][pick]) + 0.3 * (e.u[3:6] - 0.5)
            fixed_pose[j0:i1] = v / np.linalg.norm(v)
        override = off_wrist | lying

        change = rng.random(n) < 1.0 / acc.POSE_DWELL_S[act_i]
        change |= act != np.concatenate(([st.acc_prev_act], act[:-1]))
        change |= override != np.concatenate(([st.acc_prev_override], override[:-1]))
        if st.acc_pose is None:
            change[0] = True
        seg = np.cumsum(change) - (1 if change[0] else 0)
        first = np.flatnonzero(np.concatenate(([True], seg[1:] != seg[:-1])))
        poses = acc.accel_draw_poses(rng, act[first])
        if not change[0] and st.acc_pose is not None:
            poses[0] = st.acc_pose
        st.acc_pose = poses[-1].copy()
        st.acc_prev_act = int(act[-1])
        st.acc_prev_override = bool(override[-1])
        pose = np.where(override[:, None], fixed_pose, poses[seg])

        inten = self._seg_intensity[self._seg_id[cs : cs + n]]
        bounce = acc.BOUNCE_G[act_i, 0] + np.diff(acc.BOUNCE_G, axis=1)[act_i, 0] * inten
        swing = acc.SWING_RAD[act_i].copy()
        cadence = acc.CADENCE_HZ[act_i, 0] + np.diff(acc.CADENCE_HZ, axis=1)[act_i, 0] * inten
        fidget = acc.FIDGET_G[act_i].copy()
        # Turning over in bed: a couple of seconds of movement at each posture change.
        turn = change & (act == Activity.SLEEP)
        fidget += 0.15 * (turn | np.concatenate(([False], turn[:-1])))
        bounce[override] = 0.0
        swing[override] = 0.0
        fidget[off_wrist] = 0.0
        fidget[lying] = 0.003  # breathing, small shifts
        for e in by_kind.get(FaultKind.OFF_WRIST, []):
            for edge in (math.ceil(e.ep.onset_s) - cs, math.ceil(e.ep.end_s) - cs):
                fidget[max(edge - 2, 0) : min(max(edge + 2, 0), n)] = 0.3  # taking off / on
        for e in by_kind.get(FaultKind.MOTION_ARTIFACT, []):
            i0, i1 = e.seconds(cs, n)
            fidget[i0:i1] += 0.3 + 0.5 * e.sev

        params = np.repeat(np.column_stack((pose, bounce, swing, fidget)), fs, axis=0)
        if st.acc_lp is None:
            st.acc_lp = params[0].copy()
        params, st.acc_lp = signal_lowpass(params, 0.4 * fs, st.acc_lp)
        m = n * fs
        up = params[:, :3]
        g = up / np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-3)
        bounce_s, swing_s, fidget_s = params[:, 3], params[:, 4], params[:, 5]
        cad_s = np.repeat(cadence, fs)
        phase = st.gait_phase + 2.0 * np.pi * np.cumsum(cad_s) / fs
        # Arm swing runs at half the step frequency: keep the phase modulo two steps.
        st.gait_phase = float(phase[-1] % (4.0 * np.pi))
        half = np.sin(0.5 * phase)
        g_rot = acc.accel_rotate_y(g, swing_s * half)
        tangent = np.stack((g_rot[:, 2], np.zeros(m), -g_rot[:, 0]), axis=1)
        a_tan = -acc.SWING_RADIUS_M * swing_s * (np.pi * cad_s) ** 2 * half / 9.80665
        vertical = bounce_s * (np.sin(phase) + 0.35 * np.sin(2.0 * phase + 0.6))
        tau_fid = 2.0
        fid, st.fid_lp = signal_lowpass(rng.standard_normal((m, 3)), tau_fid, st.fid_lp)
        alpha = -math.expm1(-1.0 / tau_fid)
        fid /= math.sqrt(alpha / (2.0 - alpha))  # unit variance
        a = (
            g_rot * (1.0 + vertical)[:, None]
            + tangent * a_tan[:, None]
            + fid * fidget_s[:, None]
            + rng.normal(0.0, acc.SENSOR_NOISE_G, (m, 3))
        )

        for e in by_kind.get(AnomalyKind.FALL, []):
            if e.index in st.falls_done:
                continue
            width = (3, 5, 7)[min(int(e.u[6] * 3), 2)]
            h = width // 2
            i = round((e.ep.onset_s + 0.5 - cs) * fs)
            has_next = cs + n < self.duration_s and e.ep.end_s > cs + n
            if i + h + 13 > m and has_next:
                continue  # the impact pattern would be cut: place it in the next chunk
            i = max(i, 12)
            if i >= m:
                continue  # after the end of the scenario
            pre = a[i - 11]
            g_dir = pre / max(float(np.linalg.norm(pre)), 1e-3)
            a[i - 10 : i] *= 0.25  # free fall
            peak = episode_fall_peak_g(e.sev)
            pulse = 1.0 + (peak - 1.0) * acc.accel_impact_pulse(width)
            j = np.arange(1, 13, dtype=np.float64)
            ring = 0.5 * np.exp(-j / 4.0) * np.sin(2.0 * np.pi * 6.0 * j / fs)
            idx = np.arange(i - h, i + h + 13)
            keep = idx < m
            impact = np.zeros((idx.size, 3))
            impact[:width] = g_dir * pulse[:, None]
            impact[width:] = a[np.minimum(idx[width:], m - 1)] + g_dir * ring[:, None]
            a[idx[keep]] = impact[keep]
            st.falls_done.add(e.index)
        return acc.accel_quantize(a)


def simulate(
    profile: PersonProfile,
    episodes: Sequence[Episode],
    seed: int,
    start_epoch_s: float,
    duration_s: int,
) -> SignalChunk:
    """Simulate a whole scenario as one chunk.

    Parameters
    ----------
    profile : PersonProfile
        The wearer.
    episodes : Sequence[Episode]
        Anomalies and sensor faults.
    seed : int
        Non-negative seed.
    start_epoch_s : float
        Unix time of the scenario start.
    duration_s : int
        Positive multiple of 60 s.

    Returns
    -------
    SignalChunk
        The concatenation of :meth:`SignalGenerator.iter_chunks` (default chunk length),
        starting at 0.
    """
    chunks = list(SignalGenerator(profile, episodes, seed, start_epoch_s, duration_s).iter_chunks())
    return SignalChunk(
        start_s=0,
        duration_s=duration_s,
        beat_times_s=np.concatenate([c.beat_times_s for c in chunks]),
        rr_ms=np.concatenate([c.rr_ms for c in chunks]),
        hr_bpm=np.concatenate([c.hr_bpm for c in chunks]),
        spo2_pct=np.concatenate([c.spo2_pct for c in chunks]),
        skin_temp_c=np.concatenate([c.skin_temp_c for c in chunks]),
        accel_g=np.concatenate([c.accel_g for c in chunks]),
        contact=np.concatenate([c.contact for c in chunks]),
        activity=np.concatenate([c.activity for c in chunks]),
        gap=np.concatenate([c.gap for c in chunks]),
        hr_true_bpm=np.concatenate([c.hr_true_bpm for c in chunks if c.hr_true_bpm is not None]),
        spo2_true_pct=np.concatenate(
            [c.spo2_true_pct for c in chunks if c.spo2_true_pct is not None]
        ),
        core_rise_c=np.concatenate([c.core_rise_c for c in chunks if c.core_rise_c is not None]),
    )
