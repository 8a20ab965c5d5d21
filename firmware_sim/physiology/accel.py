"""Wrist accelerometer model: orientation (gravity), gait, fidgeting, sensor quantisation.

Sensor frame of the watch: x along the forearm towards the hand, y across the wrist,
z out of the watch face. The accelerometer reads specific force, so a still watch reads
1 g along the upward vertical; a face-up watch reads (0, 0, +1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware_sim.physiology.schedule import Activity

FloatArray = npt.NDArray[np.float64]

#: Typical wrist orientations (up-vector in the sensor frame) per activity; a pose is
#: one of these plus a random tilt of :data:`POSE_TILT` (per-axis SD, before
#: normalising).
POSES: dict[Activity, tuple[tuple[float, float, float], ...]] = {
    # Lying: forearm flat face up/down, on its side, or on the chest.
    Activity.SLEEP: (
        (0.0, 0.0, 1.0),
        (0.0, 0.0, -1.0),
        (0.0, 1.0, 0.0),
        (0.0, -1.0, 0.0),
        (0.3, 0.2, 0.9),
    ),
    # Forearm on a desk, on the lap, on an armrest, arm hanging, hand raised (phone).
    Activity.SEDENTARY: (
        (0.1, 0.1, 1.0),
        (0.35, 0.0, 0.95),
        (0.05, 0.7, 0.7),
        (-0.95, 0.1, 0.3),
        (0.7, 0.3, 0.6),
    ),
    # Arm hanging at the side.
    Activity.WALKING: ((-0.95, 0.05, 0.3),),
    # Running: elbow bent about 90 degrees, forearm near horizontal.
    Activity.EXERCISE: ((-0.3, 0.25, 0.92),),
}
POSE_TILT = {
    Activity.SLEEP: 0.2,
    Activity.SEDENTARY: 0.15,
    Activity.WALKING: 0.08,
    Activity.EXERCISE: 0.08,
}

#: Mean dwell time in one pose, s (posture changes).
POSE_DWELL_S = np.array([2400.0, 300.0, 600.0, 900.0])
#: Vertical bounce amplitude (g) at the step frequency, min and max over intensity.
BOUNCE_G = np.array([[0.0, 0.0], [0.0, 0.0], [0.15, 0.35], [0.7, 1.1]])
#: Arm-swing amplitude (rad) at half the step frequency.
SWING_RAD = np.array([0.0, 0.0, 0.35, 0.55])
#: Step cadence (Hz), min and max over intensity.
CADENCE_HZ = np.array([[1.8, 1.8], [1.8, 1.8], [1.6, 2.0], [2.5, 3.0]])
#: Standard deviation (g, per axis) of small non-gait movements.
FIDGET_G = np.array([0.004, 0.02, 0.05, 0.08])
#: Effective pendulum length (m) from shoulder/elbow to wrist for the swing's
#: tangential acceleration.
SWING_RADIUS_M = 0.35
#: White sensor noise per axis (g); typical MEMS noise density ~150-250 µg/√Hz over a
#: 12.5 Hz bandwidth plus board noise.
SENSOR_NOISE_G = 0.004
#: Output resolution: a ±16 g, 16-bit accelerometer has 0.49 mg/LSB; 1/1024 g is kept.
LSB_G = 1.0 / 1024.0
FULL_SCALE_G = 16.0


def _pose_table() -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    width = max(len(v) for v in POSES.values())
    table = np.zeros((len(Activity), width, 3))
    counts = np.zeros(len(Activity), dtype=np.int64)
    for act, vecs in POSES.items():
        arr = np.asarray(vecs, dtype=np.float64)
        table[act, : len(vecs)] = arr / np.linalg.norm(arr, axis=1, keepdims=True)
        counts[act] = len(vecs)
    tilt = np.array([POSE_TILT[a] for a in Activity])
    return table, counts, tilt


_POSE_TABLE, _POSE_COUNTS, _POSE_TILTS = _pose_table()


def accel_draw_poses(rng: np.random.Generator, activity: npt.NDArray[np.int8]) -> FloatArray:
    """Draw one random unit up-vector per entry, typical of each entry's activity.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``4 n`` values.
    activity : numpy.ndarray
        Activity code of each pose to draw.

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` unit vectors in the sensor frame.
    """
    act = activity.astype(np.int64)
    n = act.size
    pick = np.floor(rng.random(n) * _POSE_COUNTS[act]).astype(np.int64)
    tilt = rng.standard_normal((n, 3)) * _POSE_TILTS[act][:, None]
    vec: FloatArray = _POSE_TABLE[act, pick] + tilt
    unit: FloatArray = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    return unit


def accel_rotate_y(vec: FloatArray, theta: FloatArray) -> FloatArray:
    """Rotate vectors about the sensor y axis (across the wrist) by ``theta`` radians.

    Parameters
    ----------
    vec : numpy.ndarray
        ``(n, 3)`` vectors.
    theta : numpy.ndarray
        ``(n,)`` angles.

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` rotated vectors.
    """
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = vec[:, 0], vec[:, 1], vec[:, 2]
    return np.stack((x * c + z * s, y, z * c - x * s), axis=1)


def accel_quantize(accel_g: FloatArray) -> npt.NDArray[np.float32]:
    """Clip to full scale and round to the sensor's resolution, as ``float32``.

    Parameters
    ----------
    accel_g : numpy.ndarray
        Acceleration in g.

    Returns
    -------
    numpy.ndarray
        ``float32`` array of the same shape.
    """
    q = np.rint(np.clip(accel_g, -FULL_SCALE_G, FULL_SCALE_G) / LSB_G) * LSB_G
    return q.astype(np.float32)


def accel_impact_pulse(width_samples: int) -> FloatArray:
    """Half-sine impact shape of odd width whose centre sample is exactly 1.

    Parameters
    ----------
    width_samples : int
        Odd number of samples (3 to 7 at 25 Hz: 0.12-0.28 s).

    Returns
    -------
    numpy.ndarray
        The pulse, peak 1 at index ``width_samples // 2``.
    """
    j = np.arange(width_samples, dtype=np.float64)
    return np.sin(np.pi * (j + 1.0) / (width_samples + 1.0))
