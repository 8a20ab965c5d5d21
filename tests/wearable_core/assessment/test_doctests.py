"""The examples in the window-assessment modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from firmware_sim import clinical_labels
from wearable.evaluation import figures
from wearable_core.assessment import assess, rules, served, wrist_temperature


@pytest.mark.parametrize(
    "module", [assess, rules, served, wrist_temperature, clinical_labels, figures]
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
