"""Every example in the ground package's docstrings runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import wearable_core


def _has_examples(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return ">>> " in Path(spec.origin).read_text(encoding="utf-8")


#: Every module of the package whose docstrings hold an example.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(wearable_core.__path__, prefix="wearable_core.")
    if not info.ispkg and _has_examples(info.name)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
