"""The examples in the analysis library's docstrings run and give what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from wearable.analysis import activity, csv_export, fhir, fleet_aggregates, model_health


@pytest.mark.parametrize("module", [activity, fleet_aggregates, model_health, fhir, csv_export])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
