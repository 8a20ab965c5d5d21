"""``wearable gateway sync``, ``rotate-key`` and the sync part of ``status``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.store import Store
from wearable.cli import main

from ._support import Ward


def test_sync_then_status_report_what_happened(
    ward: Ward, ward_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = tmp_path / "bucket"
    assert (
        main(
            [
                "gateway",
                "sync",
                "--store",
                str(ward_store),
                "--bucket",
                str(bucket),
                "--network",
                "offline",
                "--flush",
            ]
        )
        == 0
    )
    assert "uploaded 0 objects" in capsys.readouterr().out
    assert main(["gateway", "status", "--store", str(ward_store)]) == 0
    text = capsys.readouterr().out
    assert "sync: last success never" in text and "network offline" in text

    assert (
        main(["gateway", "sync", "--store", str(ward_store), "--bucket", f"file://{bucket}"]) == 0
    )
    out = capsys.readouterr().out
    assert "uploaded 6 objects" in out and "backlog 0" in out
    assert main(["gateway", "status", "--store", str(ward_store), "--json"]) == 0
    sync = json.loads(capsys.readouterr().out)["sync"]
    assert sync["last_success_ms"] and sync["uploaded_objects"] == 6
    assert sync["backlog_items"] == {} and sync["pending_windows"] == 0
    assert (ward_store.parent / "pseudonym.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "pass --bucket"),
        (["--bucket", "DIR"], "no store"),
        (["--bucket", "s3://x"], "sync.bucket"),
    ],
)
def test_bad_input_exits_2_and_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [str(tmp_path) if a == "DIR" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        main(["gateway", "sync", "--store", str(tmp_path / "s.db"), *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_rotate_key_changes_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "gateway.sqlite"
    Store(store).close()
    assert main(["gateway", "rotate-key", "--store", str(store)]) == 0
    first = (tmp_path / "pseudonym.key").read_bytes()
    assert main(["gateway", "rotate-key", "--store", str(store)]) == 0
    assert (tmp_path / "pseudonym.key").read_bytes() != first
    assert "new pseudonym key" in capsys.readouterr().out


def test_rotate_key_refuses_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mistyped = tmp_path / "gateway-stroe" / "gateway.sqlite"
    with pytest.raises(SystemExit) as info:
        main(["gateway", "rotate-key", "--store", str(mistyped)])
    assert info.value.code == 2
    assert f"no store at {mistyped}" in capsys.readouterr().err
    # Nothing was created: no directory, no key.
    assert list(tmp_path.iterdir()) == []
