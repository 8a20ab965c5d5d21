"""Physical activity from the wrist accelerometer (gravity included, g)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.contracts.streams import ACCEL_SAMPLE_RATE_HZ

#: Below this ENMO (g) the wearer is taken as still and the cadence is 0.
STILL_ENMO_G = 0.01
#: Band searched for the step frequency, Hz.
CADENCE_BAND_HZ = (0.5, 3.5)


def activity_magnitude(accel_g: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Euclidean norm |a| of each ``(x, y, z)`` sample, ``nan`` rows kept as ``nan``.

    Examples
    --------
    >>> activity_magnitude([[0.0, 0.0, 1.0], [3.0, 4.0, 0.0]]).tolist()
    [1.0, 5.0]
    """
    a = np.asarray(accel_g, dtype=np.float64).reshape(-1, 3)
    out: npt.NDArray[np.float64] = np.sqrt(np.einsum("ij,ij->i", a, a))
    return out


def _valid(accel_g: npt.ArrayLike) -> npt.NDArray[np.float64]:
    m = activity_magnitude(accel_g)
    return m[np.isfinite(m)]


# The ``_of_*`` helpers take |a| (all samples, or only the finite ones) so that
# ``features_extract`` computes the magnitude once per window instead of once per feature.
def _enmo_of_valid(m: npt.NDArray[np.float64]) -> float:
    return float(np.mean(np.maximum(m - 1.0, 0.0))) if m.size else float("nan")


def _mag_sd_of_valid(m: npt.NDArray[np.float64]) -> float:
    return float(np.std(m)) if m.size else float("nan")


def _cadence_of(
    m: npt.NDArray[np.float64], enmo: float, sample_rate_hz: float, still_enmo_g: float
) -> float:
    ok = np.isfinite(m)
    if np.count_nonzero(ok) < 4 * sample_rate_hz:
        return float("nan")
    if enmo < still_enmo_g:
        return 0.0
    x = np.where(ok, m, np.mean(m[ok]))
    x = x - x.mean()
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate_hz)
    band = (freqs >= CADENCE_BAND_HZ[0]) & (freqs <= CADENCE_BAND_HZ[1])
    return float(freqs[band][np.argmax(power[band])])


def activity_enmo(accel_g: npt.ArrayLike) -> float:
    """Euclidean norm minus one g, negatives set to 0, averaged (van Hees et al. 2013).

    Examples
    --------
    >>> activity_enmo([[0.0, 0.0, 1.0], [0.0, 0.0, 1.5]])
    0.25
    """
    return _enmo_of_valid(_valid(accel_g))


def activity_mag_sd(accel_g: npt.ArrayLike) -> float:
    """Standard deviation of |a| (g).

    Examples
    --------
    >>> activity_mag_sd([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    0.0
    """
    return _mag_sd_of_valid(_valid(accel_g))


def activity_cadence(
    accel_g: npt.ArrayLike,
    sample_rate_hz: float = ACCEL_SAMPLE_RATE_HZ,
    still_enmo_g: float = STILL_ENMO_G,
) -> float:
    """Step cadence: the dominant frequency of |a| within 0.5-3.5 Hz.

    Missing samples (``nan``) are replaced by the mean before the FFT. Returns 0 when the
    ENMO is below ``still_enmo_g`` (no steps).

    Parameters
    ----------
    accel_g : array_like
        ``(n, 3)`` samples, g.
    sample_rate_hz : float, optional
        Sampling rate (default 25 Hz).
    still_enmo_g : float, optional
        ENMO below which the cadence is 0.

    Returns
    -------
    float
        Hz (steps per second); ``nan`` with fewer than 4 s of samples.

    Examples
    --------
    >>> t = np.arange(1500) / 25.0
    >>> a = np.zeros((1500, 3)); a[:, 2] = 1.0 + 0.3 * np.sin(2 * np.pi * 1.8 * t)
    >>> round(activity_cadence(a), 2)
    1.8
    """
    m = activity_magnitude(accel_g)
    if np.count_nonzero(np.isfinite(m)) < 4 * sample_rate_hz:
        return float("nan")
    return _cadence_of(m, activity_enmo(accel_g), sample_rate_hz, still_enmo_g)
