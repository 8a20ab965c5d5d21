"""Fixtures for the analysis and notebook tests: the simulated clinic (once per session)."""

from __future__ import annotations

import pytest

from ._clinic import Clinic, build_clinic


@pytest.fixture(scope="session")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    """A gateway store and the bucket its sync filled (see ``_clinic.py``). Read-only:
    tests that write copy it first."""
    return build_clinic(tmp_path_factory.mktemp("clinic"))
