"""A small, self-contained HTML report of a demo run (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from wearable.demo.live import LiveResult
from wearable.evaluation.metrics import TruthEpisode
from wearable_core.contracts.anomalies import ANOMALY_TYPES

_COLOURS = dict(zip(ANOMALY_TYPES, ("C0", "C1", "C2", "C3", "C4", "C5"), strict=True))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_timeline(
    live: LiveResult, episodes: Sequence[TruthEpisode], devices: Sequence[str]
) -> Figure:
    """Per watch: ground-truth episodes (bars; faults grey) and alerts (triangles), with
    the training start and model changes as vertical lines. Time in simulated minutes."""
    figure = Figure(figsize=(11, 1 + 0.7 * len(devices)))
    ax = figure.subplots()
    row = {device: i for i, device in enumerate(devices)}

    def minutes(ms: int) -> float:
        return (ms - live.start_ms) / 60_000

    for e in episodes:
        if e.device not in row:
            continue
        colour = "0.6" if e.is_fault else _COLOURS[e.kind]
        span = max(minutes(e.end_ms) - minutes(e.onset_ms), 0.5)
        ax.barh(row[e.device], span, left=minutes(e.onset_ms), height=0.5, color=colour, alpha=0.5)
        ax.annotate(e.kind, (minutes(e.onset_ms), row[e.device] + 0.3), fontsize=7)
    for a in live.alerts:
        if a.device in row:
            ax.plot(minutes(a.opened_ms), row[a.device], "v", color=_COLOURS[a.type], ms=9, mec="k")
    if live.train_started_s is not None:
        ax.axvline(live.train_started_s / 60, color="k", ls=":", lw=1)
        ax.annotate("training starts", (live.train_started_s / 60, -0.9), fontsize=8)
    for change in live.models[1:]:
        ax.axvline(change.at_s / 60, color="k", lw=1.5)
        ax.annotate(
            f"now serving {change.version}", (change.at_s / 60, len(devices) - 0.4), fontsize=8
        )
    ax.set_yticks(range(len(devices)), [d[-8:] for d in devices])
    ax.set_ylim(-1.2, len(devices))
    ax.set_xlabel("simulated minutes; bars: ground truth (grey: sensor faults), ▼: alerts")
    ax.grid(True, axis="x", alpha=0.3)
    return figure


def figure_bytes(summary: dict[str, Any]) -> Figure:
    """What the watches sent against what left the gateway, log scale."""
    figure = Figure(figsize=(6, 3))
    ax = figure.subplots()
    labels = ["sent by the watches", *[f"uploaded: {k}" for k in summary["uploaded_bytes_by_kind"]]]
    values = [summary["raw_bytes"], *summary["uploaded_bytes_by_kind"].values()]
    ax.barh(labels, np.maximum(values, 1), color=["0.5", "C3", "C0", "C2"][: len(values)])
    ax.set_xscale("log")
    ax.set_xlabel("bytes")
    return figure


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def report_html(
    summary: dict[str, Any],
    live: LiveResult,
    episodes: Sequence[TruthEpisode],
) -> str:
    """The report page."""
    devices = [w["address"] for w in summary["per_watch"]]
    timeline = _png(figure_timeline(live, episodes, devices))
    volume = _png(figure_bytes(summary))
    per_type = _table(
        [
            [
                t,
                v["episodes"],
                v["detected"],
                v["recall"],
                v["false_alerts_per_user_day"],
                v["median_latency_s"],
            ]
            for t, v in summary["per_type"].items()
        ],
        ["type", "episodes", "detected", "recall", "false alerts / user-day", "median latency (s)"],
    )
    models = _table(
        [[c["version"], c["at_s"], c["wall_s"]] for c in summary["model_changes"]],
        ["model", "serving from (simulated s)", "wall s"],
    )
    training = summary["training"]
    ratio = summary["raw_bytes"] / max(summary["uploaded_bytes"], 1)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>wearable demo</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style>
</head><body>
<h1>Whole-loop demo</h1>
<p>{summary["watches"]} watches, {summary["simulated_seconds"] / 3600:.1f} simulated hours in
{summary["wall_seconds"]:.0f} s. Records sent {summary["records_sent"]}, stored
{summary["records_stored"]}, lost {summary["records_lost"]}, duplicated
{summary["records_duplicated"]}. {summary["alerts"]} alerts; medical alerts during sensor
faults: {summary["medical_alerts_during_faults"]}.</p>
<h2>Detections against the ground truth</h2>
<img src="data:image/png;base64,{timeline}">
{per_type}
<h2>The loop</h2>
<p>The clinician reviewed {_fmt(summary["review"])}; the training job ({_fmt(training["wall_s"])} s)
ended <b>{html.escape(str(training["outcome"]))}</b>: {html.escape(str(training["message"]))}.</p>
{models}
<h2>Bytes</h2>
<p>Uploaded {summary["uploaded_bytes"]} B for {summary["raw_bytes"]} B the watches sent
({ratio:.0f}× less).</p>
<img src="data:image/png;base64,{volume}">
</body></html>
"""
