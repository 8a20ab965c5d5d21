"""Optional differential-privacy noise on hourly summaries, with a per-person budget.

Mechanism: the discrete Laplace (two-sided geometric) mechanism from OpenDP
(``opendp.measurements.make_laplace`` over integer vectors with the L1 distance), applied
to each hourly summary vector of a person (windows, notable windows, and fault windows per
kind). The unit of privacy is one window: changing one window changes those counts by at
most :data:`WINDOW_L1_SENSITIVITY` in L1, so noise of scale ``sensitivity / epsilon``
makes each release ``epsilon``-DP for that window. Releases compose sequentially: the
gateway accounts every release against the person's budget for the day (in the store) and
withholds a release that would overspend it.

Per-window rows cannot be made useful under local DP, so a gateway with noise enabled
does not upload them at all (``docs/privacy.md``). The noise is drawn from OpenDP's
secure sampler and is deliberately *not* seeded: with noise on, batches are not
bit-reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

#: windows (1) + notable (1) + one per fault kind a window may carry (4).
WINDOW_L1_SENSITIVITY = 6
MECHANISM = "discrete_laplace (OpenDP make_laplace, integer vector, L1)"


class NoiseUnavailable(RuntimeError):
    """Noise was configured but OpenDP is not installed."""


@lru_cache(maxsize=16)
def _measurement(scale: float) -> Any:
    try:
        import opendp.prelude as dp
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise NoiseUnavailable(
            "privacy.dp_epsilon is set but OpenDP is not installed: "
            "pip install 'wearable-health[dp]', or set dp_epsilon = 0"
        ) from exc
    dp.enable_features("contrib")
    return dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
    )


def noise_scale(epsilon: float, sensitivity: float = WINDOW_L1_SENSITIVITY) -> float:
    """Laplace scale giving ``epsilon``-DP for a query of L1 ``sensitivity``.

    Examples
    --------
    >>> noise_scale(2.0)
    3.0
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    return sensitivity / epsilon


def counts_privatize(counts: Sequence[int], epsilon: float) -> list[int]:
    """``counts`` plus discrete Laplace noise for ``epsilon``-DP at the window level.

    The result is clamped at 0 (post-processing keeps the guarantee).
    """
    measurement = _measurement(noise_scale(epsilon))
    noisy = measurement([int(c) for c in counts])
    return [max(0, int(v)) for v in noisy]


def privacy_loss(epsilon: float) -> float:
    """The epsilon OpenDP certifies for one release at ``noise_scale(epsilon)``.

    Used by the tests to check the accounting against the library's own privacy map.
    """
    return float(_measurement(noise_scale(epsilon)).map(WINDOW_L1_SENSITIVITY))
