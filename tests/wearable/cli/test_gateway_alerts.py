"""`wearable gateway alerts list|ack|confirm|dismiss` on a temporary store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from wearable.cli import main

WATCH = "C4:12:00:00:00:0A"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with Store(path) as store:
        store.alerts.add(WATCH, "tachycardia", "warning", 100, 40, 100, 0.9)
        store.alerts.add("C4:12:00:00:00:0B", "fall", "critical", 200, 200, 200, 1.0, "impact")
    return path


def listing(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["gateway", "alerts", "list", "--store", str(path), "--json", *extra]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_list(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = listing(store_path, capsys)
    assert [(r["id"], r["type"], r["status"]) for r in rows] == [
        (1, "tachycardia", "open"),
        (2, "fall", "open"),
    ]
    assert [r["id"] for r in listing(store_path, capsys, "--device", WATCH)] == [1]
    assert main(["gateway", "alerts", "list", "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert "tachycardia (warning)" in out and "rule impact" in out


def test_an_af_alert_lists_its_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store.db"
    with Store(path) as store:
        store.alerts.add(WATCH, "af", "warning", 300, 60, 300, 0.9, None, "m1", rate_bpm=131.6)
        store.alerts.add(WATCH, "af", "warning", 900, 660, 900, 0.9, None, "m1", rate_bpm=82.0)
    assert main(["gateway", "alerts", "list", "--store", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "af at 132 bpm, rapid ventricular response (warning)" in out[0]
    assert "af at 82 bpm (warning)" in out[1]
    assert [r["rate_bpm"] for r in listing(path, capsys)] == [131.6, 82.0]


@pytest.fixture
def berlin_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is Central European Time (a POSIX TZ rule)."""
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _ms(moment: str) -> int:
    return round(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.usefixtures("berlin_time")
def test_list_prints_local_times_with_their_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    opened, closed = _ms("2026-12-06T22:14:05.250"), _ms("2026-12-06T22:31:00")
    summer = _ms("2026-07-01T10:00:00")
    with Store(path) as store:
        first = store.alerts.add(WATCH, "tachycardia", "warning", opened, opened, opened, 0.9)
        store.alerts.close(first, closed)
        store.alerts.add(WATCH, "fall", "critical", summer, summer, summer, 1.0, "impact")
    assert main(["gateway", "alerts", "list", "--store", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()  # oldest first
    assert "opened 2026-07-01 12:00:00+02:00, ongoing" in out[0]
    assert "opened 2026-12-06 23:14:05+01:00, closed 2026-12-06 23:31:00+01:00" in out[1]
    assert str(opened) not in "\n".join(out)
    # --json keeps epoch milliseconds for scripts.
    assert [(r["opened_ms"], r["closed_ms"]) for r in listing(path, capsys)] == [
        (summer, None),
        (opened, closed),
    ]


@pytest.mark.parametrize(
    ("verb", "status"),
    [("ack", "acknowledged"), ("confirm", "confirmed"), ("dismiss", "dismissed")],
)
def test_review_actions(
    store_path: Path, capsys: pytest.CaptureFixture[str], verb: str, status: str
) -> None:
    argv = ["gateway", "alerts", verb, "2", "--note", "checked", "--store", str(store_path)]
    assert main(argv) == 0
    assert f"alert 2: {status}" in capsys.readouterr().out
    [row] = listing(store_path, capsys, "--status", status)
    assert (row["id"], row["note"]) == (2, "checked")


def test_unknown_id_and_missing_store(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["gateway", "alerts", "ack", "9", "--store", str(store_path)])
    assert refused.value.code == 2
    assert "no alert with id 9" in capsys.readouterr().err
    for action in (["list"], ["ack", "1"]):
        with pytest.raises(SystemExit) as stop:
            main(["gateway", "alerts", *action, "--store", str(tmp_path / "none.db")])
        assert stop.value.code == 2
        assert "no store at" in capsys.readouterr().err


def test_help_says_verdicts_are_labels(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["gateway", "alerts", "--help"])
    assert "labels for retraining" in capsys.readouterr().out


def test_status_shows_open_alerts_progress_and_the_serving_model(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(store_path) as store:
        store.detection_state.save(WATCH, 120_000, {})
    (store_path.parent / "gateway-status.json").write_text(
        json.dumps({"links": [], "detection": {"model": "baseline-1", "windows_assessed": 2}}),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["gateway", "status", "--store", str(store_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model_version"] == "baseline-1"
    assert report["detection"]["windows_assessed"] == 2
    devices = {d["id"]: d for d in report["devices"]}
    assert devices[WATCH]["open_alerts"] == 1
    assert devices[WATCH]["assessed_until_ms"] == 120_000
    assert devices["C4:12:00:00:00:0B"]["assessed_until_ms"] is None
    assert main(["gateway", "status", "--store", str(store_path)]) == 0
    assert "model baseline-1" in capsys.readouterr().out


def test_status_names_each_device_as_redacted_logs_do(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def devices() -> dict[str, dict[str, object]]:
        capsys.readouterr()
        assert main(["gateway", "status", "--store", str(store_path), "--json"]) == 0
        return {d["id"]: d for d in json.loads(capsys.readouterr().out)["devices"]}

    key_file = store_path.parent / "pseudonym.key"
    # No key yet (the service never ran): no pseudonym, and status does not create one.
    assert devices()[WATCH]["pseudonym"] is None
    assert not key_file.exists()
    key = PseudonymKey.load_or_create(key_file)
    assert devices()[WATCH]["pseudonym"] == key.device(WATCH)
    assert main(["gateway", "status", "--store", str(store_path)]) == 0
    assert f"in logs {key.device(WATCH)}" in capsys.readouterr().out


def test_a_review_on_an_empty_file_is_refused_not_turned_into_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "gateway.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(SystemExit) as stop:
        main(["gateway", "alerts", "confirm", "1", "--store", str(empty)])
    assert stop.value.code == 2
    assert "not a gateway store" in capsys.readouterr().err
    assert empty.read_bytes() == b""
    assert [p.name for p in tmp_path.iterdir()] == ["gateway.sqlite"]


def test_confirm_then_dismiss_then_ack_keeps_the_verdict(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*argv: str) -> int:
        return main(["gateway", "alerts", *argv, "--store", str(store_path)])

    assert run("confirm", "1", "--note", "ECG") == 0
    with pytest.raises(SystemExit) as refused:
        run("dismiss", "1")
    assert refused.value.code == 2
    assert "reopen 1 --note" in capsys.readouterr().err
    assert run("ack", "1") == 0
    assert "alert 1: confirmed (verdict kept" in capsys.readouterr().out
    assert [r["id"] for r in listing(store_path, capsys, "--status", "confirmed")] == [1]

    with pytest.raises(SystemExit):  # reopen says why, always
        run("reopen", "1")
    assert run("reopen", "1", "--note", "wrong patient") == 0
    assert "alert 1: open (verdict confirmed withdrawn)" in capsys.readouterr().out
    assert run("dismiss", "1") == 0
    capsys.readouterr()
    assert run("history", "1", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["alert"]["status"] == "dismissed"
    assert [
        (s["action"], s["from_status"], s["to_status"], s["note"]) for s in report["history"]
    ] == [
        ("confirm", "open", "confirmed", "ECG"),
        ("acknowledge", "confirmed", "confirmed", ""),
        ("reopen", "confirmed", "open", "wrong patient"),
        ("dismiss", "open", "dismissed", ""),
    ]
    assert run("history", "1") == 0
    text = capsys.readouterr().out
    assert "now dismissed" in text and "reopen: confirmed -> open - wrong patient" in text
