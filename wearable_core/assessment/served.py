"""A model's outputs as the detector lets them count, replayed over recorded windows.

A gateway never acts on a raw model output. The detector closes a type's score in any
window that does not meet the type's clinical definition
(:func:`wearable_core.assessment.assess.model_gates`), judged against the person's own skin
temperature baseline and heart-rate floor as learnt up to that window
(``wearable_core.assessment.personal_baselines``). A wrist that runs warm in sleep can look like
another person's fever to a model that sees only absolute temperatures; the detector
does not let that count unless the temperature is also above *this* person's baseline.

The training job judges models by what gateways would flag, so it needs the same view
of a labelled cohort: :func:`served_outputs`. Per device, windows go in time order and
the baselines are updated the way :class:`gateway.detection.engine.Detector` updates
them: after each window, and only from windows without a sensor fault; a window that
begins as a motion artifact fades is gated as the artifact's
(:class:`~wearable_core.assessment.assess.ArtifactSettle`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable_core.assessment.assess import (
    ArtifactSettle,
    model_gates,
    rules_inputs_from_features,
)
from wearable_core.assessment.personal_baselines import PersonalBaselines, PersonalContext
from wearable_core.contracts.anomalies import AnomalyType


def baselines_replay(start_ms: npt.ArrayLike, X: npt.NDArray[np.float32]) -> list[PersonalContext]:
    """The personal context a gateway applies to each window of one device.

    Parameters
    ----------
    start_ms : array_like of int, shape (n,)
        Window starts, Unix ms, in time order.
    X : ndarray of float32, shape (n, F)
        The windows' feature vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from wearable_core.contracts.features import FEATURE_NAMES, feature_index
    >>> X = np.full((4 * 60, len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    >>> for name, value in [("q_contact_fraction", 1.0), ("q_data_fraction", 1.0),
    ...                     ("temp_level", 33.0), ("hr_mean", 60.0), ("act_enmo", 0.0),
    ...                     ("act_mag_sd", 0.02), ("irr_nn_nrmssd", 0.04),
    ...                     ("q_beat_coverage", 0.9)]:
    ...     X[:, feature_index(name)] = value
    >>> context = baselines_replay(np.arange(4 * 60) * 60_000, X)
    >>> context[0].temp_expected_c, round(context[-1].temp_expected_c, 1)
    (None, 33.0)
    >>> context[19].hr_floor_bpm, context[20].hr_floor_bpm, context[61].at_rest
    (None, 60.0, True)

    Before the first hour closes (window 60 opens the second hour and closes the first,
    as in the detector), the floor is that hour's so far, once it holds 20 windows.
    """
    baselines = PersonalBaselines()
    return [
        baselines.step(start, vector)
        for start, vector in zip(np.asarray(start_ms, dtype=np.int64).tolist(), X, strict=True)
    ]


def served_outputs(
    outputs: npt.NDArray[np.float32],
    X: npt.NDArray[np.float32],
    device: npt.ArrayLike,
    start_ms: npt.ArrayLike,
) -> npt.NDArray[np.float32]:
    """``outputs`` with every score the detector would not let count set to 0.

    Parameters
    ----------
    outputs : ndarray of float32, shape (n, 6)
        Model outputs in :data:`~wearable_core.contracts.anomalies.ANOMALY_TYPES` order (the
        order of :class:`~wearable_core.contracts.anomalies.AnomalyType`).
    X : ndarray of float32, shape (n, F)
        The windows' feature vectors.
    device : array_like, shape (n,)
        Which person (device) each window belongs to; any hashable labels.
    start_ms : array_like of int, shape (n,)
        Window starts, Unix ms (any row order: each device is replayed in time order).

    Returns
    -------
    ndarray of float32, shape (n, 6)
        A copy; rows keep their order.
    """
    served = np.array(outputs, dtype=np.float32, copy=True)
    devices = np.asarray(device)
    starts = np.asarray(start_ms, dtype=np.int64)
    for person in np.unique(devices):
        rows = np.flatnonzero(devices == person)
        rows = rows[np.argsort(starts[rows], kind="stable")]
        settle = ArtifactSettle()
        for row, c in zip(rows.tolist(), baselines_replay(starts[rows], X[rows]), strict=True):
            inputs = rules_inputs_from_features(
                X[row],
                c.temp_expected_c,
                c.hr_floor_bpm,
                c.at_rest,
                c.lying_still,
                settle.after_artifact(int(starts[row]), X[row]),
            )
            gates = model_gates(X[row], inputs)
            closed = [j for j, kind in enumerate(AnomalyType) if not gates[kind]]
            served[row, closed] = 0.0
    return served
