"""``wearable experiment learning-curve``: does each retraining round make detection
better on people the loop never saw?

Round 0 is the shipped baseline, evaluated on a fixed held-out cohort (its own seed,
never given to the training job and never used to tune anything). Each later round:

1. **a fresh fleet** (new people: the round's own seed) runs through the gateway's real
   path with the model the gateways serve: every record through ingest, the SQLite
   store and the detector (:func:`wearable.evaluation.run.scenario_runs`), and a sync
   cycle after every simulated hour into a local-directory bucket;
2. **a fallible clinician** reviews that round's alerts against the ground truth
   (:func:`wearable.demo.clinician.clinician_review`): a share is left unreviewed and a
   share of the verdicts is wrong; sync carries the verdicts;
3. **the training job** runs as the scheduler runs it, ``wearable train --bucket URL``
   in a subprocess (ingest, train on the labelled cohort plus the fleet corpus, gate
   against the serving model on the validation cohort, publish only if not worse);
4. **the gateways install** what it published through their own updater
   (:class:`gateway.model_update.delivery.ModelUpdater`: signature, manifest, model
   hash, canary), or keep their model when nothing passed;
5. **the serving model is evaluated** on the held-out cohort (``wearable eval``'s
   pipeline and metrics).

The labelled cohorts in the bucket are the ones shipped for the demo
(``examples/demo/cohorts``: training ``train.toml`` seed 1001, the shipped baseline's own
data, and validation ``train.toml`` seed 2002). Seeds: held-out
``100000 + 1000 × seed``, fleet of round ``r`` that plus ``r``; none of them is a seed
used elsewhere in the repository (cohorts 1001/2002, evaluation 3-14).

Everything is seeded (simulation, pseudonym key, clinician, training), so the same
options give the same JSON except the wall times under ``timings``. Two ablations say
what each source of fleet labels contributes: ``--no-verdicts`` (nobody reviews) and
``--no-weak-labels`` (the job labels fleet windows from verdicts only). Measured
results: ``docs/learning.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from wearable_core.contracts.anomalies import ANOMALY_TYPES

#: The repository's examples folder (the experiment runs from a checkout, as the demo).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Seeds of this experiment start here (far from every seed used elsewhere).
SEED_BASE = 100_000
#: Two-sided confidence level of the held-out comparisons between rounds.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class CurveSettings:
    """What one experiment does (the command line's options)."""

    rounds: int = 5
    scenario: Path = EXAMPLES / "eval.toml"
    fleet_watches: int = 10
    fleet_duration_s: int = 2 * 86_400
    heldout_watches: int = 12
    heldout_duration_s: int = 2 * 86_400
    #: Share of reviewed alerts whose verdict contradicts the ground truth.
    error_rate: float = 0.10
    #: Share of alerts nobody reviews.
    unreviewed: float = 0.20
    seed: int = 1
    verdicts: bool = True
    weak_labels: bool = True
    #: Passes of the training job (``None``: the job's default).
    epochs: int | None = None
    workers: int = 2

    @property
    def heldout_seed(self) -> int:
        """The held-out cohort's seed."""
        return SEED_BASE + 1000 * self.seed

    def fleet_seed(self, round_: int) -> int:
        """The seed of round ``round_``'s fleet (new people every round)."""
        return self.heldout_seed + round_

    @property
    def name(self) -> str:
        """The output files' stem: ``learning-curve`` plus the ablations."""
        return (
            "learning-curve"
            + ("" if self.verdicts else "-no-verdicts")
            + ("" if self.weak_labels else "-no-weak-labels")
        )

    @property
    def scenario_name(self) -> str:
        """The scenario's path, relative to the checkout when it is one of the examples."""
        scenario = self.scenario.resolve()
        if scenario.is_relative_to(EXAMPLES):
            return f"examples/{scenario.relative_to(EXAMPLES)}"
        return str(self.scenario)

    @property
    def command(self) -> str:
        """The command line that runs this experiment (``--out``/``--workdir`` aside)."""
        parts = [
            "wearable experiment learning-curve",
            f"--rounds {self.rounds}",
            f"--scenario {self.scenario_name}",
            f"--fleet-watches {self.fleet_watches}",
            f"--fleet-duration {self.fleet_duration_s}s",
            f"--heldout-watches {self.heldout_watches}",
            f"--heldout-duration {self.heldout_duration_s}s",
            f"--error-rate {self.error_rate:g}",
            f"--unreviewed {self.unreviewed:g}",
            f"--seed {self.seed}",
        ]
        parts += [] if self.verdicts else ["--no-verdicts"]
        parts += [] if self.weak_labels else ["--no-weak-labels"]
        parts += [] if self.epochs is None else [f"--epochs {self.epochs}"]
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the command line and the seeds it implies."""
        out = asdict(self)
        out["scenario"] = self.scenario_name
        out["command"] = self.command
        out["name"] = self.name
        out["heldout_seed"] = self.heldout_seed
        out["fleet_seeds"] = [self.fleet_seed(r) for r in range(1, self.rounds + 1)]
        return out


@dataclass
class _Loop:
    """The experiment's moving parts: bucket, keys, the gateways' model directory."""

    root: Path
    public_key: str
    pseudonym_key: bytes
    serving_path: Path | None = None
    serving_version: str = ""
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def bucket(self) -> Path:
        return self.root / "bucket"

    @property
    def private_key(self) -> Path:
        from wearable.cli.keys import PRIVATE_FILE

        return self.root / "secrets" / PRIVATE_FILE

    @property
    def models(self) -> Path:
        return self.root / "gateway-models"


def _loop_prepare(root: Path, seed: int) -> _Loop:
    """A fresh bucket with the shipped labelled cohorts, a signing key pair, and a
    pseudonym key derived from the seed (it decides which windows are sampled)."""
    from wearable.cli.keys import keys_generate
    from wearable.demo.workspace import SHIPPED_COHORTS
    from wearable_core.model.model_file import model_load

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(SHIPPED_COHORTS, root / "bucket" / "cohorts")
    public = keys_generate(root / "secrets")
    key = hashlib.sha256(f"wearable-learning-curve-pseudonym-key:{seed}".encode()).digest()
    loop = _Loop(root, public, key)
    loop.serving_version = model_load(None).manifest.version
    return loop


def _fleet(
    loop: _Loop, settings: CurveSettings, round_: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Run round ``round_``'s fleet through the gateway, review its alerts, sync all."""
    from firmware_sim.scenario import scenario_load
    from gateway.store import Store
    from wearable.demo.clinician import clinician_review
    from wearable.evaluation.run import (
        SyncTarget,
        clinical_episodes,
        scenario_runs,
        sync_once,
        watch_store_path,
    )

    seed = settings.fleet_seed(round_)
    workdir = loop.root / f"round-{round_}" / "fleet"
    target = SyncTarget(str(loop.bucket), loop.pseudonym_key)
    runs = scenario_runs(
        settings.scenario,
        seed,
        settings.fleet_duration_s,
        workdir,
        watches=settings.fleet_watches,
        model=loop.serving_path,
        workers=settings.workers,
        sync=target,
        progress=lambda done, n: log(f"round {round_}: fleet {done}/{n} watches"),
    )
    scenario = scenario_load(settings.scenario)
    truth = clinical_episodes(
        scenario, seed, settings.fleet_duration_s, runs, settings.fleet_watches
    )
    # The end of the day: the clinician reviews, then the next cycle carries the verdicts
    # and every window still pending (flush), as the service's last cycle would.
    end_ms = round((scenario.start_epoch_s + settings.fleet_duration_s) * 1000) + 3_600_000
    review = {"confirmed": 0, "dismissed": 0, "wrong": 0, "unreviewed": 0}
    for index in range(settings.fleet_watches):
        with Store(watch_store_path(workdir, index)) as store:
            if settings.verdicts:
                done = clinician_review(
                    store,
                    truth,
                    error_rate=settings.error_rate,
                    unreviewed=settings.unreviewed,
                    rng=np.random.default_rng([settings.seed, round_, index]),
                    confirm_duplicates=True,
                    note="learning-curve clinician (simulated, fallible)",
                )
                for k, v in asdict(done).items():
                    review[k] += v
            else:
                review["unreviewed"] += len(store.alerts.list())
            sync_once(target, store, end_ms, flush=True)
    return {
        "seed": seed,
        "watches": settings.fleet_watches,
        "user_days": settings.fleet_watches * settings.fleet_duration_s / 86_400,
        "model": loop.serving_version,
        "records": sum(r.records for r in runs),
        "windows": sum(r.windows for r in runs),
        "alerts": sum(len(r.alerts) for r in runs),
        "review": review,
    }


def _job(loop: _Loop, settings: CurveSettings, round_: int) -> dict[str, Any]:
    """``wearable train --bucket URL --json`` in a subprocess: the production job (it
    imports TensorFlow, which the fleet's spawned workers should not inherit)."""
    command = [
        sys.executable,
        "-m",
        "wearable.cli",
        "train",
        "--bucket",
        str(loop.bucket),
        "--key",
        str(loop.private_key),
        "--json",
    ]
    if settings.epochs is not None:
        command += ["--epochs", str(settings.epochs)]
    if not settings.weak_labels:
        command.append("--no-weak-labels")
    where = loop.root / f"round-{round_}"
    with (where / "job.log").open("wb") as stderr:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, check=False)
    (where / "job.json").write_bytes(done.stdout)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (where / "job.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the training job failed (exit {done.returncode}):\n{tail}") from None
    gate = report.get("gate") or {}
    data = report.get("data") or {}
    return {
        "outcome": report["outcome"],
        "exit_code": done.returncode,
        "message": report["message"],
        "version": report.get("version"),
        "serving_version": report.get("serving_version"),
        "gate_passed": gate.get("passed"),
        "gate_reasons": gate.get("reasons", []),
        "gate_challenger": gate.get("challenger"),
        "gate_champion": gate.get("champion"),
        "data": {
            k: data.get(k)
            for k in (
                "training_cohort_windows",
                "fleet_windows",
                "fleet_labelled_positive",
                "labels_known_fraction",
                "weak_labels",
            )
        },
    }


def _install(loop: _Loop) -> dict[str, Any]:
    """One poll of the gateways' model updater; swap the serving model if it installed."""
    from gateway.model_update.delivery import ModelUpdater
    from gateway.model_update.installed import ModelDirectory
    from wearable_core.buckets import bucket_open
    from wearable_core.contracts.model_release import public_key_parse

    updater = ModelUpdater(
        bucket_open(str(loop.bucket)),
        ModelDirectory(loop.models),
        public_key_parse(loop.public_key),
        serving_version=lambda: loop.serving_version,
    )
    result = updater.check()
    if result.status == "installed" and result.installed is not None:
        loop.serving_path = result.installed.path
        loop.serving_version = result.installed.version
    # The work directory is the caller's choice: keep it out of the (reproducible) JSON.
    reason = result.reason.replace(str(loop.root), "<workdir>")
    return {"status": result.status, "version": result.version, "reason": reason}


def _heldout(
    loop: _Loop, settings: CurveSettings, log: Callable[[str], None], label: str
) -> dict[str, Any]:
    """The serving model on the held-out cohort, summarised per type."""
    from wearable.evaluation.run import scenario_evaluate

    report = scenario_evaluate(
        settings.scenario,
        settings.heldout_seed,
        duration_s=settings.heldout_duration_s,
        watches=settings.heldout_watches,
        model=loop.serving_path,
        workers=settings.workers,
        progress=lambda done, n: log(f"{label}: held-out {done}/{n} watches"),
    )
    keys = (
        "episodes",
        "detected",
        "recall",
        "false_alerts",
        "false_alerts_per_user_day",
        "median_latency_s",
    )
    return {
        "model": report["model"],
        "user_days": report["user_days"],
        "per_type": {t: {k: report["per_type"][t][k] for k in keys} for t in ANOMALY_TYPES},
        "false_alerts": report["false_alerts"],
        "false_alerts_per_user_day": report["false_alerts_per_user_day"],
        "fault_medical_alerts": report["fault_medical_alerts"],
        "af_window": report["af_window"],
    }


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(0, 1)`` when ``n == 0``).

    Examples
    --------
    >>> [round(x, 3) for x in wilson(9, 10)]
    [0.596, 0.982]
    """
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_upper(count: int, confidence: float = CONFIDENCE) -> float:
    """Exact (Garwood) upper bound of a Poisson count.

    Examples
    --------
    >>> round(poisson_upper(0), 2), round(poisson_upper(4), 2)
    (3.69, 10.24)
    """
    from scipy.stats import chi2

    return float(chi2.ppf(0.5 + confidence / 2, 2 * count + 2) / 2)


def heldout_check(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Is ``after`` worse than ``before`` on the held-out cohort beyond chance?

    Per type, worse when ``after``'s detections fall below the lower Wilson bound of
    ``before``'s recall (same episodes: the same cohort), or its false alerts exceed
    the upper Poisson bound of ``before``'s count; the same for all false alerts. This
    is the issue's target for a published round, checked outside the gate.
    """
    worse: list[str] = []
    for t in ANOMALY_TYPES:
        b, a = before["per_type"][t], after["per_type"][t]
        if b["episodes"]:
            low, _ = wilson(b["detected"], b["episodes"])
            if a["detected"] / max(a["episodes"], 1) < low:
                worse.append(f"{t} recall {a['recall']:.3f} below {low:.3f}")
        if a["false_alerts"] > poisson_upper(b["false_alerts"]):
            worse.append(f"{t} false alerts {a['false_alerts']} above {b['false_alerts']}'s bound")
    if after["false_alerts"] > poisson_upper(before["false_alerts"]):
        worse.append(f"all false alerts {after['false_alerts']} above {before['false_alerts']}'s")
    return {"worse": bool(worse), "reasons": worse}


def targets(rounds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The issue's targets on the curve (item 2), from the held-out numbers."""
    first, last = rounds[0]["heldout"], rounds[-1]["heldout"]
    recalls = {
        t: (first["per_type"][t]["recall"], last["per_type"][t]["recall"]) for t in ANOMALY_TYPES
    }
    lower = [t for t, (a, b) in recalls.items() if a is not None and b is not None and b < a]
    defined = {t: r[0] for t, r in recalls.items() if r[0] is not None}
    weakest = min(defined, key=lambda t: defined[t]) if defined else None
    published = [r for r in rounds if r.get("check") is not None]
    return {
        "false_alerts_per_user_day": [
            first["false_alerts_per_user_day"],
            last["false_alerts_per_user_day"],
        ],
        "false_alerts_halved": last["false_alerts_per_user_day"]
        <= 0.5 * first["false_alerts_per_user_day"],
        "recall_not_lower": not lower,
        "recall_lower": lower,
        "weakest_type": weakest,
        "weakest_recall": None if weakest is None else list(recalls[weakest]),
        "published_rounds": [r["round"] for r in published],
        "published_worse_beyond_ci": [r["round"] for r in published if r["check"]["worse"]],
    }


def curve_run(
    settings: CurveSettings,
    workdir: Path,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the experiment in ``workdir`` (replaced); return its JSON document."""
    loop = _loop_prepare(workdir, settings.seed)
    timings: dict[str, dict[str, float]] = {}
    started = time.perf_counter()

    def timed(key: str, stage: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        timings.setdefault(key, {})[stage] = round(time.perf_counter() - t0, 1)
        progress(f"{key}: {stage} done in {time.perf_counter() - t0:.0f} s")
        return out

    heldout = timed("round-0", "heldout", lambda: _heldout(loop, settings, progress, "round 0"))
    rounds: list[dict[str, Any]] = [
        {"round": 0, "model": loop.serving_version, "heldout": heldout, "check": None}
    ]
    for r in range(1, settings.rounds + 1):
        key = f"round-{r}"
        (workdir / key).mkdir()
        fleet = timed(key, "fleet", partial(_fleet, loop, settings, r, progress))
        job = timed(key, "job", partial(_job, loop, settings, r))
        progress(f"{key}: job {job['outcome']}: {job['message']}")
        install = _install(loop)
        entry: dict[str, Any] = {
            "round": r,
            "fleet": fleet,
            "job": job,
            "install": install,
            "model": loop.serving_version,
        }
        previous = rounds[-1]
        if install["status"] == "installed":
            entry["heldout"] = timed(
                key, "heldout", partial(_heldout, loop, settings, progress, f"round {r}")
            )
            entry["check"] = heldout_check(previous["heldout"], entry["heldout"])
        else:
            # Same model, same seeded cohort: the evaluation would repeat itself exactly.
            entry["heldout"] = previous["heldout"]
            entry["heldout_same_as_round"] = previous.get("heldout_same_as_round", r - 1)
            entry["check"] = None
        rounds.append(entry)
    timings["total"] = {"seconds": round(time.perf_counter() - started, 1)}
    return {
        "experiment": "learning-curve",
        "settings": settings.as_dict(),
        "cohorts": {
            "train": "examples/demo/cohorts/train (train.toml seed 1001, 12 h)",
            "validation": "examples/demo/cohorts/validation (train.toml seed 2002, 12 h)",
        },
        "rounds": rounds,
        "targets": targets(rounds),
        "timings": timings,
    }


def figure_curve(doc: Mapping[str, Any]) -> Any:
    """Three panels by round: held-out recall per type (one line each), held-out false
    alerts per user-day, and the gate's view on the validation cohort (per-window recall
    of each round's challenger, dashed, against the serving model's, solid). Rounds whose
    release the gateways installed are shaded.

    Examples
    --------
    >>> per = {t: {"recall": 0.9} for t in ANOMALY_TYPES}
    >>> rounds = [{"round": r, "heldout": {"per_type": per, "false_alerts_per_user_day": 0.2},
    ...            "install": {"status": "up_to_date"}} for r in range(3)]
    >>> len(figure_curve({"rounds": rounds, "settings": {}}).axes)
    3
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = doc["rounds"]
    xs = [r["round"] for r in rounds]
    fig, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(8, 9), sharex=True, constrained_layout=True, height_ratios=[2, 1, 2]
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    judged = [r for r in rounds if (r.get("job") or {}).get("gate_challenger")]
    for t, colour in zip(ANOMALY_TYPES, colours, strict=False):
        ys = [r["heldout"]["per_type"][t]["recall"] for r in rounds]
        top.plot(xs, [np.nan if y is None else y for y in ys], marker="o", label=t, color=colour)
        if judged:
            gx = [r["round"] for r in judged]
            new = [r["job"]["gate_challenger"][t]["recall"] for r in judged]
            old = [r["job"]["gate_champion"][t]["recall"] for r in judged]
            bottom.plot(gx, [np.nan if y is None else y for y in old], color=colour, lw=1)
            bottom.plot(gx, [np.nan if y is None else y for y in new], "--o", color=colour)
    top.set_ylabel("held-out recall")
    top.set_ylim(-0.02, 1.05)
    top.legend(loc="lower left", ncol=3, fontsize=8)
    middle.plot(
        xs, [r["heldout"]["false_alerts_per_user_day"] for r in rounds], marker="o", color="k"
    )
    middle.set_ylabel("held-out false\nalerts per user-day")
    middle.set_ylim(bottom=0)
    bottom.set_ylabel("gate: validation recall\n(dashed: challenger)")
    bottom.set_ylim(-0.02, 1.05)
    bottom.set_xlabel("round (0 = shipped baseline)")
    bottom.set_xticks(xs)
    for r in rounds:
        if r.get("install", {}).get("status") == "installed":
            for ax in (top, middle, bottom):
                ax.axvline(r["round"], color="#2ca02c", alpha=0.3, lw=6)
    s = doc["settings"]
    fig.suptitle(
        f"{s.get('name', 'learning curve')}: fleet {s.get('fleet_watches')} watches x "
        f"{s.get('fleet_duration_s', 0) / 86400:g} d per round, held-out "
        f"{s.get('heldout_watches')} x {s.get('heldout_duration_s', 0) / 86400:g} d "
        "(green: a new model installed)",
        fontsize=9,
    )
    return fig


def outputs_write(doc: Mapping[str, Any], out: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.png`` into ``out``."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    json_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    fig = figure_curve(doc)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return json_path, png_path
