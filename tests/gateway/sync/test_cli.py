"""``wearable gateway sync``, ``rotate-key`` and the sync part of ``status``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.store import Store
from gateway.sync.outcome import SyncOutcome
from tests.gateway.model_update._support import manifest_for, publish_raw
from wearable.cli import main
from wearable.cli.gateway_sync import SYNC_EXIT_CODES
from wearable_core.buckets import bucket_open
from wearable_core.contracts.model_release import public_key_encode

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


@pytest.mark.parametrize("command", ["sync", "rotate-key"])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no store at"),
        (b"", "is not a gateway store (an empty file)"),
        (b"not a database\n" * 10, "is not a gateway store (not a SQLite database)"),
    ],
)
def test_a_path_that_is_not_a_store_is_refused_not_turned_into_one(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    content: bytes | None,
    message: str,
) -> None:
    store = tmp_path / "gateway.sqlite"
    if content is not None:
        store.write_bytes(content)
    bucket = ["--bucket", str(tmp_path / "bucket")] if command == "sync" else []
    with pytest.raises(SystemExit) as info:
        main(["gateway", command, "--store", str(store), *bucket])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"wearable gateway {command}: ")
    assert message in err
    # Nothing created or changed: no store, no -wal, no key, no bucket.
    assert [p.name for p in tmp_path.iterdir()] == ([] if content is None else [store.name])
    if content is not None:
        assert store.read_bytes() == content


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


def _sync_json(
    store: Path, bucket: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(
        ["gateway", "sync", "--store", str(store), "--bucket", str(bucket), "--json", *extra]
    )
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == code
    return code, report


def test_backing_off_exits_3_and_says_so(
    ward_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier cycle failed and set a retry time an hour away (as the engine does).
    with Store(ward_store) as store:
        store.sync.update_status(retry_at_ms=2**62)
    code, report = _sync_json(ward_store, tmp_path / "bucket", capsys, "--flush")
    assert code == 3
    assert report["outcome"] == "backing_off" and report["uploaded"] == 0
    assert report["backlog_items"] == sum(report["built"].values())  # type: ignore[union-attr]
    assert (
        main(["gateway", "sync", "--store", str(ward_store), "--bucket", str(tmp_path / "bucket")])
        == 3
    )
    assert "outcome: backing_off (exit 3" in capsys.readouterr().out


def test_a_refused_release_exits_5_on_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, bucket_dir = tmp_path / "gateway.sqlite", tmp_path / "bucket"
    Store(store).close()
    fleet_key, attacker_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    config = tmp_path / "gateway.toml"
    config.write_text(f'[models]\npublic_key = "{public_key_encode(fleet_key)}"\n', "utf-8")
    argv = ["--config", str(config)]
    # No release yet: nothing to install is not a problem.
    code, report = _sync_json(store, bucket_dir, capsys, *argv)
    assert (code, report["outcome"]) == (0, "ok")
    assert report["model"]["status"] == "no_release"  # type: ignore[index]
    # A release signed with a key the fleet does not trust: tampered.
    publish_raw(bucket_open(str(bucket_dir)), "evil-2", manifest_for("evil-2"), attacker_key)
    for _ in range(2):  # remembered as refused: still reported on the next run
        code, report = _sync_json(store, bucket_dir, capsys, *argv)
        assert code == 5 and report["outcome"] == "release_refused"
        assert report["model"]["status"] == "refused"  # type: ignore[index]
    assert not (tmp_path / "models" / "current.json").exists()


def test_every_outcome_has_a_documented_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    names = {name for _, name, _ in SYNC_EXIT_CODES if name}
    assert names == {o.value for o in SyncOutcome}
    assert dict((n, c) for c, n, _ in SYNC_EXIT_CODES)["ok"] == 0
    codes = [c for c, n, _ in SYNC_EXIT_CODES if n not in ("ok", "bucket_unusable")]
    assert len(codes) == len(set(codes)) and 1 not in codes
    with pytest.raises(SystemExit):
        main(["gateway", "sync", "--help"])
    text = capsys.readouterr().out
    assert all(f"{c}  {n or '-'}" in text for c, n, _ in SYNC_EXIT_CODES)
