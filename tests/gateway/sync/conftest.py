"""Fixtures for the sync tests: the simulated ward (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import Ward, build_ward


@pytest.fixture(scope="session")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Ward:
    return build_ward(tmp_path_factory.mktemp("ward"))


@pytest.fixture
def ward_store(ward: Ward, tmp_path: Path) -> Path:
    return ward.copy_to(tmp_path)
