"""One figure of a ``wearable eval`` report: a panel per alert type.

Each panel shows what a clinician asks of a detector: how many episodes there were, how
many it caught (and how many borderline ones besides), how many alerts were false, and
how long it took (median and 95th-percentile latency against the type's target).
matplotlib is imported here only, so the evaluation itself does not need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: Latency targets drawn on each panel, seconds (``docs/evaluation.md``).
LATENCY_TARGET_S: Mapping[str, float] = {
    "tachycardia": 60.0,
    "bradycardia": 60.0,
    "desaturation": 60.0,
    "fall": 60.0,
    "af": 180.0,
    "fever": 1800.0,
}


def figure_evaluation(report: Mapping[str, Any], title: str | None = None) -> Any:
    """A 2 x 3 matplotlib figure of ``report`` (the JSON of ``wearable eval``).

    Examples
    --------
    >>> per_type = {t: {"episodes": 2, "detected": 2, "borderline_detected": 0,
    ...                 "false_alerts": 0, "median_latency_s": 30.0, "p95_latency_s": 40.0}
    ...             for t in ANOMALY_TYPES}
    >>> fig = figure_evaluation({"per_type": per_type, "seed": 1})
    >>> len(fig.axes)
    6
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    per_type = report["per_type"]
    for ax, kind in zip(axes.ravel(), ANOMALY_TYPES, strict=True):
        m = per_type[kind]
        names = ["episodes", "detected", "borderline\ncaught", "false\nalerts"]
        values = [
            m.get("episodes", 0),
            m.get("detected", 0),
            m.get("borderline_detected", 0),
            m.get("false_alerts", 0),
        ]
        colours = ["#7f7f7f", "#2ca02c", "#98df8a", "#d62728"]
        bars = ax.bar(names, values, color=colours)
        ax.bar_label(bars, fmt="%d")
        ax.set_title(kind)
        ax.set_ylim(0, max(max(values), 1) * 1.3)
        median, p95 = m.get("median_latency_s"), m.get("p95_latency_s")
        latency = (
            "no detection"
            if median is None
            else f"latency median {median:.0f} s, p95 {p95:.0f} s"
            f" (target {LATENCY_TARGET_S[kind]:.0f} s)"
        )
        ax.text(0.02, 0.95, latency, transform=ax.transAxes, va="top", fontsize=8)
    seed = report.get("seed")
    days = report.get("user_days")
    fig.suptitle(
        title
        or f"wearable eval: seed {seed}"
        + ("" if days is None else f", {days:g} user-days")
        + f", {report.get('false_alerts_per_user_day', 0):.3f} false alerts per user-day"
    )
    return fig


def figure_save(report: Mapping[str, Any], path: Path, title: str | None = None) -> Path:
    """Draw :func:`figure_evaluation` of ``report`` into ``path`` (PNG)."""
    import matplotlib.pyplot as plt

    fig = figure_evaluation(report, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
