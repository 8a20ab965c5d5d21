"""Fixtures for the store tests: a fresh store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store import Store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "gateway" / "store.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store(store_path) as s:
        yield s
