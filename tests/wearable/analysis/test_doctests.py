"""The examples in the analysis library's docstrings run and give what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from wearable.analysis import activity, cohort, csv_export, fhir, model_health


@pytest.mark.parametrize("module", [activity, cohort, model_health, fhir, csv_export])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
