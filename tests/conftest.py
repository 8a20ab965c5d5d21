"""Fixtures shared by every test directory: buckets, local and on the GCS emulator.

The emulator is one fake-gcs-server process per session; each test gets its own bucket
in it, so tests never see each other's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.gcs_emulator import GcsEmulator
from tests.support.module_marks import wholly_deselected


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    """A running fake-gcs-server (in-memory) on 127.0.0.1 for the whole session."""
    with GcsEmulator() as emulator:
        yield emulator


def _fresh_bucket(emulator: GcsEmulator) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    emulator.create_bucket(name)
    return name


@pytest.fixture
def gcs_bucket_url(gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``gs://<fresh bucket>/pfx`` on the emulator, with ``STORAGE_EMULATOR_HOST`` set."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.endpoint)
    return f"gs://{_fresh_bucket(gcs_emulator)}/pfx"


@pytest.fixture
def local_bucket_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A path (not yet existing) for a fresh local bucket directory."""
    return str(tmp_path_factory.mktemp("bucket") / "root")


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.integration)])
def bucket_url(request: pytest.FixtureRequest) -> str:
    """A fresh bucket URL, once local and once on the GCS emulator."""
    fixture = "local_bucket_url" if request.param == "local" else "gcs_bucket_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def fault_proxy(
    gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FaultProxy, str]]:
    """A :class:`FaultProxy` in front of the emulator, ``STORAGE_EMULATOR_HOST`` pointing
    at it, and ``gs://<fresh bucket>/pfx`` to use through it."""
    bucket = _fresh_bucket(gcs_emulator)
    with FaultProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        yield proxy, f"gs://{bucket}/pfx"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not import a module that ``-m`` deselects whole (``tests/support/module_marks.py``):
    ``make unit`` then loads no TensorFlow. ``None`` leaves the decision to pytest."""
    markexpr: str = config.getoption("markexpr") or ""
    if collection_path.suffix != ".py" or not markexpr:
        return None
    return True if wholly_deselected(collection_path, markexpr) else None


# Session fixtures that take seconds to build (a simulated ward, a simulated clinic).
# Under pytest-xdist (`make unit JOBS=2`, `--dist loadgroup`) the tests that use one run
# on a single worker, so it is built once rather than once per worker.
_SHARED_BUILDS = ("ward", "clinic")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        used = getattr(item, "fixturenames", ())
        group = next((name for name in _SHARED_BUILDS if name in used), None)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
