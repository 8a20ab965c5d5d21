"""Private files and directories: 0600 and 0700 whatever the umask."""

from __future__ import annotations

import doctest
import stat
from pathlib import Path

import pytest

from tests.support.umask import umask
from wearable_core import private_files
from wearable_core.private_files import (
    private_dir,
    private_file,
    private_tighten,
    private_write,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o002])
def test_created_private_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    with umask(mask):
        directory = private_dir(tmp_path / "a" / "b")
        secret = private_write(directory / "secret.key", b"s" * 32)
        store = private_file(directory / "store.sqlite")
    assert (mode(tmp_path / "a"), mode(directory)) == (0o700, 0o700)
    assert (mode(secret), mode(store)) == (0o600, 0o600)
    assert secret.read_bytes() == b"s" * 32
    assert store.read_bytes() == b""
    assert sorted(p.name for p in directory.iterdir()) == ["secret.key", "store.sqlite"]


def test_existing_directories_are_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    private_dir(tmp_path / "new")
    assert (mode(tmp_path), mode(tmp_path / "new")) == (0o755, 0o700)


def test_existing_files_lose_group_and_other_bits_and_keep_their_content(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    path.write_bytes(b"data")
    path.chmod(0o664)
    private_file(path)
    assert (mode(path), path.read_bytes()) == (0o600, b"data")
    wal = tmp_path / "old.sqlite-wal"
    wal.write_bytes(b"")
    wal.chmod(0o644)
    assert private_tighten(wal) and mode(wal) == 0o600
    assert not private_tighten(tmp_path / "missing")


def test_write_replaces_atomically_or_refuses_when_exclusive(tmp_path: Path) -> None:
    path = private_write(tmp_path / "k", b"one")
    path.chmod(0o644)
    private_write(path, b"two")
    assert (path.read_bytes(), mode(path)) == (b"two", 0o600)
    with pytest.raises(FileExistsError):
        private_write(path, b"three", exclusive=True)
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]  # no temp file left


def test_doctests() -> None:
    assert doctest.testmod(private_files).failed == 0
