"""The figures of the clinician notebooks, one function per figure.

Each function takes the DataFrames the loaders return and gives back a matplotlib
``Figure``; the notebooks show it and :func:`figure_save` writes it as PNG (the notebook
tests check every one). Figures are built with the object-oriented API on a ``Figure``
of their own, never on pyplot's global state, so they work the same in a kernel, a
script or a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wearable.analysis.activity import STATES
from wearable.analysis.model_health import PSI_MAJOR, PSI_SHIFT
from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: Colours of the activity states (STATES order) and of the shaded periods.
STATE_COLOURS = ("#4c72b0", "#bdbdbd", "#55a868", "#dd8452", "#ffffff")
ALERT_COLOUR = "#d62728"
QUALITY_COLOUR = "#7f7f7f"


def figure_save(figure: Figure, directory: str | Path | None, name: str) -> Path | None:
    """Write ``figure`` as ``<directory>/<name>.png`` (no-op when ``directory`` is None).

    Returns the path written, or None.
    """
    if directory is None:
        return None
    path = Path(directory) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _shade(axes: Axes, periods: pd.DataFrame, start: str, end: str, colour: str) -> None:
    for row in periods.itertuples(index=False):
        lo = getattr(row, start)
        hi = getattr(row, end)
        # An open period runs to the end of the plotted data.
        hi = axes.get_xlim()[1] if pd.isna(hi) else mdates.date2num(hi)
        axes.axvspan(mdates.date2num(lo), hi, color=colour, alpha=0.18, lw=0)


def patient_timeline_plot(
    windows: pd.DataFrame, alerts: pd.DataFrame, quality: pd.DataFrame, title: str = ""
) -> Figure:
    """Vitals over time with alerts (red) and data-quality periods (grey) shaded.

    Panels: heart rate (mean with the minute's min-max band), SpO2 (mean and minimum),
    skin temperature, and wrist activity (ENMO). Inputs are those of
    :mod:`wearable.analysis.patient`.
    """
    figure = Figure(figsize=(11, 8.5))
    axes = figure.subplots(4, 1, sharex=True)
    t = windows["start"]
    hr, spo2, temp, act = axes
    hr.fill_between(t, windows["hr_min"], windows["hr_max"], color="#f4a3a3", lw=0, label="min-max")
    hr.plot(t, windows["hr_mean"], color="#b22222", lw=1, label="mean")
    hr.set_ylabel("heart rate\n(bpm)")
    spo2.plot(t, windows["spo2_mean"], color="#1f77b4", lw=1, label="mean")
    spo2.plot(t, windows["spo2_min"], color="#1f77b4", lw=0.6, ls=":", label="min")
    spo2.axhline(90, color="k", lw=0.5, ls="--")
    spo2.set_ylabel("SpO2 (%)")
    temp.plot(t, windows["temp_level"], color="#ff7f0e", lw=1)
    temp.set_ylabel("skin temp\n(°C)")
    act.plot(t, windows["act_enmo"], color="#2ca02c", lw=1)
    act.set_ylabel("activity\nENMO (g)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        _shade(ax, quality, "opened", "closed", QUALITY_COLOUR)
        _shade(ax, alerts, "opened", "closed", ALERT_COLOUR)
    for row in alerts.itertuples(index=False):
        hr.annotate(
            f"#{row.id} {row.type}",
            (mdates.date2num(row.opened), 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color=ALERT_COLOUR,
            va="bottom",
        )
    hr.legend(loc="upper right", fontsize=8)
    spo2.legend(loc="lower right", fontsize=8)
    act.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz="UTC"))
    act.set_xlabel("time (UTC); red: alerts, grey: data-quality periods")
    figure.suptitle(title or "Vitals timeline")
    return figure


def hrv_plot(report: pd.DataFrame, title: str = "") -> Figure:
    """RMSSD and SDNN per period (from :func:`wearable.analysis.hrv.hrv_report`), with
    the minutes each value rests on; values sit at the middle of their period."""
    figure = Figure(figsize=(11, 5))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    start = mdates.date2num(report["start"])
    step = float(np.median(np.diff(start))) if len(start) > 1 else 1 / 24
    middle = start + step / 2
    top.plot(middle, report["hrv_rmssd"], "o-", label="RMSSD")
    top.plot(middle, report["hrv_sdnn"], "s-", label="SDNN")
    top.set_ylabel("ms")
    top.legend(fontsize=8)
    top.grid(True, alpha=0.3)
    bottom.bar(start, report["minutes"], width=step * 0.95, align="edge", color="#999999")
    bottom.set_ylabel("usable\nminutes")
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz="UTC"))
    figure.suptitle(title or "Heart-rate variability (resting minutes)")
    return figure


def activity_plot(states: pd.DataFrame, windows: pd.DataFrame, title: str = "") -> Figure:
    """Activity state per minute as a coloured band above heart rate, for context."""
    figure = Figure(figsize=(11, 4))
    band, hr = figure.subplots(2, 1, sharex=True, height_ratios=(1, 3))
    t = mdates.date2num(states["start"])
    codes = pd.Categorical(states["state"], categories=STATES).codes
    for code, (state, colour) in enumerate(zip(STATES, STATE_COLOURS, strict=True)):
        mask = codes == code
        if mask.any():
            band.bar(t[mask], np.ones(mask.sum()), width=1 / 1440, color=colour, label=state)
    band.set_yticks([])
    band.legend(ncol=len(STATES), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 1.6))
    hr.plot(windows["start"], windows["hr_mean"], color="#b22222", lw=1)
    hr.set_ylabel("heart rate (bpm)")
    hr.grid(True, alpha=0.3)
    hr.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M", tz="UTC"))
    figure.suptitle(title or "Activity and sleep/rest context", y=1.05)
    return figure


def cohort_overview_plot(people: pd.DataFrame, daily: pd.DataFrame, title: str = "") -> Figure:
    """Monitored time and alert rates per person, and alerts per type and day."""
    figure = Figure(figsize=(11, 7))
    (days, rate), (by_type, quality) = figure.subplots(2, 2)
    labels = people["pseudonym"].str[:8]
    days.bar(labels, people["person_days"], color="#4c72b0")
    days.set_title("monitored person-days", fontsize=10)
    rate.bar(labels, people["alerts_per_day"].fillna(0), color=ALERT_COLOUR)
    rate.set_title("alerts per person-day", fontsize=10)
    bottom = np.zeros(len(daily))
    x = daily["day"].dt.strftime("%Y-%m-%d")
    for kind in ANOMALY_TYPES:
        by_type.bar(x, daily[kind], bottom=bottom, label=kind)
        bottom += daily[kind].to_numpy()
    by_type.set_title("alerts per day and type", fontsize=10)
    by_type.legend(fontsize=7)
    quality.bar(labels, people["fault_fraction"].fillna(0) * 100, color=QUALITY_COLOUR)
    quality.set_title("windows with a data-quality fault (%)", fontsize=10)
    for ax in (days, rate, quality):
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    figure.suptitle(title or "Cohort overview (pseudonymous)")
    figure.tight_layout()
    return figure


def alert_rates_plot(rates: pd.DataFrame, title: str = "") -> Figure:
    """Alerts per person-day and confirmation rate per model version."""
    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    left.bar(rates["model"], rates["alerts_per_person_day"].fillna(0), color=ALERT_COLOUR)
    left.set_title("alerts per person-day", fontsize=10)
    right.bar(rates["model"], rates["confirmation_rate"].fillna(0) * 100, color="#55a868")
    for x, (reviewed, rate) in enumerate(
        zip(rates["reviewed"], rates["confirmation_rate"], strict=True)
    ):
        label = "none reviewed" if reviewed == 0 else f"{rate:.0%} of {reviewed}"
        right.annotate(label, (x, 0), ha="center", va="bottom", fontsize=8)
    right.set_title("confirmed by clinicians (%)", fontsize=10)
    right.set_ylim(0, 100)
    for ax in (left, right):
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    figure.suptitle(title or "Alerts by model version")
    figure.tight_layout()
    return figure


def score_distributions_plot(scores: pd.DataFrame, title: str = "") -> Figure:
    """Weighted histograms of the raw model scores, per anomaly type and version."""
    figure = Figure(figsize=(12, 6))
    grid = figure.subplots(2, 3, sharex=True)
    bins = np.linspace(0, 1, 26)
    for ax, kind in zip(grid.ravel(), ANOMALY_TYPES, strict=True):
        mine = scores.loc[scores["type"] == kind]
        for version, group in mine.groupby("model", sort=False):
            ax.hist(
                group["score"],
                bins=bins,
                weights=group["weight"] / group["weight"].sum(),
                histtype="step",
                label=str(version),
            )
        ax.set_yscale("log")
        ax.set_title(kind, fontsize=10)
    grid[0, 0].legend(fontsize=7)
    for ax in grid[1]:
        ax.set_xlabel("model score")
    figure.suptitle(title or "Score distributions by model version (share of windows)")
    figure.tight_layout()
    return figure


def feature_drift_plot(drift: pd.DataFrame, title: str = "") -> Figure:
    """PSI of every feature per version against the reference, as a heatmap."""
    table = drift.pivot(index="feature", columns="model", values="psi")
    table = table.reindex(index=list(dict.fromkeys(drift["feature"])))
    table = table[list(dict.fromkeys(drift["model"]))]
    figure = Figure(figsize=(2 + 1.6 * max(1, table.shape[1]), 8))
    ax = figure.subplots()
    image = ax.imshow(
        table.to_numpy(np.float64), aspect="auto", cmap="Reds", vmin=0, vmax=max(0.5, PSI_MAJOR * 2)
    )
    ax.set_yticks(range(len(table.index)), list(table.index), fontsize=8)
    ax.set_xticks(range(len(table.columns)), list(table.columns), fontsize=8, rotation=20)
    for (i, j), value in np.ndenumerate(table.to_numpy(np.float64)):
        if np.isfinite(value):
            weight = "bold" if value > PSI_SHIFT else "normal"
            colour = "white" if value > PSI_MAJOR * 1.4 else "black"
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                weight=weight,
                color=colour,
            )
    figure.colorbar(image, ax=ax, label=f"PSI (>{PSI_SHIFT} shift, >{PSI_MAJOR} major)")
    figure.suptitle(title or "Input feature drift against the reference version")
    return figure


def feature_by_version_plot(
    windows: pd.DataFrame, features: Sequence[str], title: str = ""
) -> Figure:
    """Weighted histograms of a few features per model version (what the PSI summarises)."""
    figure = Figure(figsize=(4 * len(features), 3.5))
    axes = np.atleast_1d(figure.subplots(1, len(features)))
    served = windows.loc[windows["model"].notna()]
    for ax, feature in zip(axes, features, strict=True):
        values = served[feature].to_numpy(np.float64)
        finite = values[np.isfinite(values)]
        if not len(finite):
            ax.set_title(f"{feature}: no data", fontsize=10)
            continue
        bins = np.linspace(finite.min(), finite.max() + 1e-9, 30)
        for version, group in served.groupby(served["model"].astype(str), sort=False):
            ax.hist(
                group[feature].dropna(),
                bins=bins,
                weights=group.loc[group[feature].notna(), "weight"]
                / max(1, group.loc[group[feature].notna(), "weight"].sum()),
                histtype="step",
                label=version,
            )
        ax.set_title(feature, fontsize=10)
    axes[0].legend(fontsize=7)
    figure.suptitle(title or "Feature distributions by model version")
    figure.tight_layout()
    return figure


def training_curve_plot(curve: pd.DataFrame, title: str = "") -> Figure:
    """Validation recall and false-positive rate of the serving model before the first
    training run and after each one, one line per anomaly type; runs that published a
    model are shaded green.

    ``curve`` is :attr:`wearable.analysis.training_history.TrainingHistory.curve`.
    """
    figure = Figure(figsize=(10, 4.5))
    left, right = figure.subplots(1, 2)
    if curve.empty:
        for ax in (left, right):
            ax.text(0.5, 0.5, "no training run reached the gate", ha="center", va="center")
            ax.set_axis_off()
        figure.suptitle(title or "Training runs in this bucket")
        return figure
    steps = curve.drop_duplicates("step").sort_values("step")
    for ax in (left, right):
        for step in steps.loc[steps["published"], "step"]:
            ax.axvspan(step - 0.5, step + 0.5, color="#55a868", alpha=0.15, lw=0)
    for name in ANOMALY_TYPES:
        rows = curve[curve["type"] == name].sort_values("step")
        left.plot(rows["step"], rows["recall"], marker="o", label=name)
        right.plot(rows["step"], rows["fpr"] * 100, marker="o", label=name)
    labels = [
        f"{r.model}\n{'before' if pd.isna(r.started) else f'{r.started:%m-%d %H:%M}'}"
        for r in steps.itertuples(index=False)
    ]
    for ax in (left, right):
        ax.set_xticks(steps["step"], labels, fontsize=7, rotation=20)
        ax.set_xlabel("serving model after each training run (UTC start)", fontsize=9)
    left.set_ylim(-0.02, 1.02)
    left.set_title("recall on the validation cohort", fontsize=10)
    right.set_title("false-positive windows (%)", fontsize=10)
    left.legend(fontsize=7, loc="lower left")
    figure.suptitle(title or "Serving model after each training run (green: published)")
    figure.tight_layout()
    return figure
