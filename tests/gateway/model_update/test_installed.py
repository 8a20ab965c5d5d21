"""ModelDirectory: install, atomic swap of current.json, previous, rollback, prune."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gateway.model_update import installed as installed_module
from gateway.model_update.installed import ModelDirectory, ModelDirectoryError
from wearable_core.contracts.model_release import ReleaseError, manifest_encode
from wearable_core.model.model_file import model_load

from ._support import BASELINE_BYTES, manifest_for


def manifest_bytes(version: str) -> bytes:
    return manifest_encode(manifest_for(version))


def install(directory: ModelDirectory, version: str) -> None:
    directory.install(version, BASELINE_BYTES, manifest_bytes(version))


def test_install_makes_it_current_and_loadable(directory: ModelDirectory) -> None:
    assert directory.current() is None and directory.previous() is None
    model = directory.install("v1", BASELINE_BYTES, manifest_bytes("v1"))
    assert model.path == directory.root / "v1" / "model.tflite"
    assert directory.current() == model
    assert directory.previous() is None
    assert model_load(model.path).manifest.version == "v1"
    state = json.loads((directory.root / "current.json").read_text())
    assert state == {"format": 1, "current": "v1", "previous": None}


def test_previous_rollback_and_prune(directory: ModelDirectory) -> None:
    for version in ("v1", "v2", "v3"):
        install(directory, version)
    current, previous = directory.current(), directory.previous()
    assert current is not None and current.version == "v3"
    assert previous is not None and previous.version == "v2"
    # Only current and previous are kept.
    assert sorted(p.name for p in directory.root.iterdir() if p.is_dir()) == ["v2", "v3"]

    back = directory.rollback()
    assert back.version == "v2"
    current, previous = directory.current(), directory.previous()
    assert current is not None and current.version == "v2"
    assert previous is not None and previous.version == "v3"
    assert model_load(back.path).manifest.version == "v2"


def test_rollback_without_previous_is_a_clear_error(directory: ModelDirectory) -> None:
    with pytest.raises(ModelDirectoryError, match="no previous model to roll back to"):
        directory.rollback()
    install(directory, "v1")
    with pytest.raises(ModelDirectoryError, match=r"current: v1\)"):
        directory.rollback()


def test_reinstalling_the_current_version_keeps_previous(directory: ModelDirectory) -> None:
    install(directory, "v1")
    install(directory, "v2")
    install(directory, "v2")
    previous = directory.previous()
    assert previous is not None and previous.version == "v1"


def test_crash_before_the_swap_leaves_the_old_model_current(
    directory: ModelDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(directory, "v1")
    state_before = (directory.root / "current.json").read_bytes()

    def crash(path: Path, data: bytes) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(installed_module, "atomic_write", crash)
    with pytest.raises(ModelDirectoryError, match="power lost"):
        install(directory, "v2")
    # v2's files were complete on disk, yet nothing refers to them until the swap.
    assert (directory.root / "v2" / "model.tflite").read_bytes() == BASELINE_BYTES
    assert (directory.root / "current.json").read_bytes() == state_before
    current = directory.current()
    assert current is not None and current.version == "v1"
    monkeypatch.undo()
    install(directory, "v2")
    current = directory.current()
    assert current is not None and current.version == "v2"


def test_crash_while_writing_files_leaves_no_half_version(
    directory: ModelDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(directory, "v1")
    real = installed_module._write_synced
    written: list[Path] = []

    def crash_on_manifest(path: Path, data: bytes) -> None:
        if path.name == "model.json":
            raise OSError("disk full")
        written.append(path)
        real(path, data)

    monkeypatch.setattr(installed_module, "_write_synced", crash_on_manifest)
    with pytest.raises(ModelDirectoryError, match="disk full"):
        install(directory, "v2")
    # The model file was written into a staging directory, never at v2/.
    assert written and all(p.parent.name.startswith(".tmp-") for p in written)
    assert not (directory.root / "v2").exists()
    current = directory.current()
    assert current is not None and current.version == "v1"


def test_interrupted_swap_temp_files_are_not_current(directory: ModelDirectory) -> None:
    install(directory, "v1")
    # What a crash between the temp write and os.replace leaves behind.
    leftover = directory.root / ".tmp-current.json.abc"
    leftover.write_text('{"format": 1, "current": "v9", "previous": "v1"}')
    current = directory.current()
    assert current is not None and current.version == "v1"
    install(directory, "v2")
    assert not leftover.exists()


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "current.json"
    installed_module.atomic_write(target, b"old")
    installed_module.atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["current.json"]


def test_corrupt_current_json_names_the_fix(directory: ModelDirectory) -> None:
    (directory.root / "current.json").write_text("{not json")
    with pytest.raises(ModelDirectoryError, match="delete it to fall back"):
        directory.current()


def test_unsafe_version_is_rejected(directory: ModelDirectory) -> None:
    with pytest.raises(ReleaseError, match="safe path segment"):
        directory.install("../escape", BASELINE_BYTES, b"{}")
    assert list(directory.root.iterdir()) == []
