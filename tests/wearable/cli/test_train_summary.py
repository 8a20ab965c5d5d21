"""`wearable train`'s summary for a person: the gate's verdicts, the floor's included."""

from __future__ import annotations

from typing import Any

import pytest

from wearable.cli.train import _print_human


def _report(floor: dict[str, Any] | None) -> dict[str, Any]:
    gate: dict[str, Any] = {
        "passed": floor is None or floor["passed"],
        "challenger": {"af": {"recall": 0.9, "fpr": 0.001}},
        "champion": {"af": {"recall": 0.8, "fpr": 0.002}},
        "reasons": [] if floor is None else list(floor["reasons"]),
    }
    if floor is not None:
        gate["floor"] = floor
    return {
        "outcome": "published" if gate["passed"] else "not_better",
        "message": "m",
        "ingest": {},
        "training": {},
        "gate": gate,
        "serving_version": "m-1",
        "seconds": {},
    }


def test_the_summary_names_the_floor_and_its_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    refused = {"version": "baseline-3", "passed": False, "reasons": ["refused: af ... floor"]}
    _print_human(_report(refused))
    out = capsys.readouterr().out
    assert "  gate against m-1 and the floor baseline-3: failed" in out
    assert "    the floor alone: failed" in out
    assert "    - refused: af ... floor" in out
    _print_human(_report(None))  # judged against the shipped baseline itself: no floor
    out = capsys.readouterr().out
    assert "  gate against m-1: passed" in out and "floor" not in out
