"""Fixtures for the detection tests: the simulated cohort (once per session), the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from wearable_core.model.model_file import LoadedModel, model_load

from ._support import Cohort, build_cohort


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    return build_cohort(tmp_path_factory.mktemp("cohort"))


@pytest.fixture(scope="session")
def baseline_model() -> LoadedModel:
    return model_load(None)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "gateway.sqlite"
