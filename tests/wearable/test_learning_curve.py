"""``wearable experiment learning-curve``: its pieces, and a tiny run end to end."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.store import Store
from wearable.cli import main
from wearable.demo.clinician import clinician_review
from wearable.evaluation.metrics import TruthEpisode
from wearable.experiments import learning_curve
from wearable.experiments.learning_curve import CurveSettings, heldout_check, targets
from wearable_core.contracts.anomalies import ANOMALY_TYPES

T0 = 1_767_600_000_000


def test_docstring_examples() -> None:
    result = doctest.testmod(learning_curve)
    assert result.attempted > 0 and result.failed == 0


def _store_with_alerts(path: Path, n: int) -> tuple[Store, list[TruthEpisode]]:
    store = Store(path)
    store.devices.upsert("A")
    episodes = []
    for i in range(n):
        start = T0 + i * 3_600_000
        store.alerts.add("A", "fall", "critical", start + 60_000, start, start + 60_000, 1.0, None)
        episodes.append(TruthEpisode("A", "fall", start, start + 600_000, is_fault=False))
    return store, episodes


def test_a_fallible_clinician_is_wrong_and_absent_as_often_as_asked(tmp_path: Path) -> None:
    store, episodes = _store_with_alerts(tmp_path / "a.sqlite", 400)
    with store:
        review = clinician_review(
            store, episodes, error_rate=0.1, unreviewed=0.2, rng=np.random.default_rng(1)
        )
        statuses = [a.status for a in store.alerts.list()]
    # Every alert is true here, so each dismissal is a wrong verdict.
    assert review.confirmed + review.dismissed + review.unreviewed == 400
    assert review.wrong == review.dismissed == statuses.count("dismissed")
    assert 50 < review.unreviewed < 110 and 15 < review.wrong < 50
    with pytest.raises(ValueError, match="rng"):
        clinician_review(store, episodes, error_rate=0.1)


def test_the_clinician_can_confirm_a_second_alert_on_a_real_episode(tmp_path: Path) -> None:
    store, episodes = _store_with_alerts(tmp_path / "a.sqlite", 1)
    with store:
        store.alerts.add("A", "fall", "critical", T0 + 120_000, T0, T0 + 120_000, 1.0, None)
        review = clinician_review(store, episodes, rng=np.random.default_rng(0))
        assert (review.confirmed, review.dismissed) == (1, 1)  # the demo's rule
    store, episodes = _store_with_alerts(tmp_path / "b.sqlite", 1)
    with store:
        store.alerts.add("A", "fall", "critical", T0 + 120_000, T0, T0 + 120_000, 1.0, None)
        review = clinician_review(
            store, episodes, rng=np.random.default_rng(0), confirm_duplicates=True
        )
        assert (review.confirmed, review.dismissed) == (2, 0)


def _heldout(detected: int, false_alerts: int) -> dict[str, Any]:
    per = {
        t: {"episodes": 10, "detected": detected, "recall": detected / 10, "false_alerts": 0}
        for t in ANOMALY_TYPES
    }
    per["fall"]["false_alerts"] = false_alerts
    return {
        "per_type": per,
        "false_alerts": false_alerts,
        "false_alerts_per_user_day": false_alerts / 10,
    }


def test_the_held_out_check_allows_chance_and_flags_real_regressions() -> None:
    assert not heldout_check(_heldout(9, 2), _heldout(8, 3))["worse"]
    worse = heldout_check(_heldout(10, 0), _heldout(5, 9))
    assert worse["worse"] and any("recall" in r for r in worse["reasons"])
    assert any("false alerts" in r for r in worse["reasons"])


def test_targets_compare_the_last_round_with_the_baseline() -> None:
    rounds = [
        {"round": 0, "heldout": _heldout(8, 4), "check": None},
        {"round": 1, "heldout": _heldout(9, 2), "check": {"worse": False}},
    ]
    got = targets(rounds)
    assert got["false_alerts_halved"] and got["recall_not_lower"]
    assert got["published_rounds"] == [1] and got["published_worse_beyond_ci"] == []


def test_the_command_line_names_every_option() -> None:
    settings = CurveSettings(rounds=2, fleet_watches=3, verdicts=False, epochs=4)
    assert settings.name == "learning-curve-no-verdicts"
    assert settings.command.startswith("wearable experiment learning-curve --rounds 2")
    assert "--no-verdicts" in settings.command and "--epochs 4" in settings.command
    assert settings.as_dict()["scenario"] == "examples/eval.toml"


def _run(tmp: Path, tag: str) -> dict[str, Any]:
    out = tmp / tag
    code = main(
        [
            "experiment",
            "learning-curve",
            "--rounds",
            "1",
            "--fleet-watches",
            "2",
            "--fleet-duration",
            "2h",
            "--heldout-watches",
            "2",
            "--heldout-duration",
            "1h",
            "--epochs",
            "2",
            "--seed",
            "3",
            "--workers",
            "1",
            "--out",
            str(out),
            "--workdir",
            str(tmp / f"work-{tag}"),
        ]
    )
    assert code == 0
    assert (out / "learning-curve.png").stat().st_size > 0
    doc: dict[str, Any] = json.loads((out / "learning-curve.json").read_text())
    return doc


@pytest.mark.slow
@pytest.mark.integration
def test_a_tiny_experiment_runs_end_to_end_and_repeats(tmp_path: Path) -> None:
    # One round: 2 watches x 2 h through the gateway's pipeline and sync, the clinician,
    # `wearable train` in a subprocess (2 epochs), the gateways' updater, and the
    # held-out evaluation. Then the same again: the JSON must not change.
    first = _run(tmp_path, "a")
    assert [r["round"] for r in first["rounds"]] == [0, 1]
    assert first["settings"]["heldout_seed"] == 103_000
    assert first["settings"]["fleet_seeds"] == [103_001]
    base, one = first["rounds"]
    assert base["model"] == "baseline-3" and base["check"] is None
    for r in first["rounds"]:
        per_type = r["heldout"]["per_type"]
        assert set(per_type) == set(ANOMALY_TYPES)
        for m in per_type.values():
            assert m.keys() >= {"recall", "false_alerts_per_user_day", "median_latency_s"}
        assert "false_alerts_per_user_day" in r["heldout"]
    assert one["fleet"]["records"] > 0 and one["fleet"]["windows"] > 0
    job = one["job"]
    assert job["outcome"] in ("published", "not_better")
    assert job["data"]["fleet_windows"] > 0 and job["data"]["weak_labels"] is True
    if job["outcome"] == "published":
        # The gateways verified and installed it, and it is what was evaluated.
        assert one["install"]["status"] == "installed"
        assert one["model"] == job["version"] == one["heldout"]["model"]
        assert one["check"] is not None
    else:
        assert job["gate_reasons"], job
        assert one["install"]["status"] == "no_release" and one["model"] == "baseline-3"
    assert first["targets"].keys() >= {"false_alerts_halved", "recall_not_lower"}
    second = _run(tmp_path, "b")
    first.pop("timings")
    second.pop("timings")
    assert second == first


def test_the_training_job_takes_the_ablation_switch() -> None:
    from wearable.cli import parser_build

    parser = parser_build()
    assert parser.parse_args(["train", "--bucket", "b"]).weak_labels is True
    assert parser.parse_args(["train", "--bucket", "b", "--no-weak-labels"]).weak_labels is False
