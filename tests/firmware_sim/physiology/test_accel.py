"""Accelerometer building blocks."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim.physiology import Activity
from firmware_sim.physiology.accel import (
    LSB_G,
    accel_draw_poses,
    accel_impact_pulse,
    accel_quantize,
    accel_rotate_y,
)


def test_poses_are_unit_vectors_typical_of_activity() -> None:
    rng = np.random.default_rng(0)
    walking = accel_draw_poses(rng, np.full(500, Activity.WALKING, dtype=np.int8))
    np.testing.assert_allclose(np.linalg.norm(walking, axis=1), 1.0)
    assert np.mean(walking[:, 0]) < -0.8  # arm hanging: forearm axis points down
    lying = accel_draw_poses(rng, np.full(500, Activity.SLEEP, dtype=np.int8))
    assert np.mean(np.abs(lying[:, 0])) < 0.3  # forearm roughly horizontal


def test_rotation_about_y() -> None:
    v = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.3, 0.4, 0.5]])
    r = accel_rotate_y(v, np.array([np.pi / 2, np.pi / 2, 1.234]))
    np.testing.assert_allclose(r[0], [0.0, 0.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(r[1], [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), np.linalg.norm(v, axis=1))


def test_quantize_clips_and_rounds() -> None:
    q = accel_quantize(np.array([[0.00049, 20.0, -20.0], [1.0004, 0.5, -0.25]]))
    assert q.dtype == np.float32
    assert q[0, 1] == 16.0 and q[0, 2] == -16.0
    np.testing.assert_array_equal(np.rint(q / LSB_G), q / LSB_G)


@pytest.mark.parametrize("width", [3, 5, 7])
def test_impact_pulse_peaks_at_centre(width: int) -> None:
    p = accel_impact_pulse(width)
    assert p[width // 2] == pytest.approx(1.0)
    np.testing.assert_allclose(p, p[::-1], atol=1e-12)
    assert np.all(p > 0)
