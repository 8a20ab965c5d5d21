"""Which test modules a ``-m`` expression deselects whole, so collection can skip them.

A module whose top-level ``pytestmark`` carries a mark that ``-m "not A and not B"``
excludes has every one of its tests deselected. Importing it anyway can cost seconds:
``tests/cloud_training/test_train.py`` and ``test_distributed.py`` import TensorFlow.
``make unit`` (``-m "not integration and not e2e and not slow"``) then imports no
TensorFlow at all. Any other form of ``-m`` is left to pytest: nothing is skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

_NEGATED_MARK = r"not\s+([A-Za-z_]\w*)"
_ONLY_NEGATIONS = re.compile(rf"\s*{_NEGATED_MARK}(?:\s+and\s+{_NEGATED_MARK})*\s*")


def excluded_marks(markexpr: str) -> frozenset[str]:
    """The marks ``markexpr`` excludes outright, if it is ``not A and not B ...``; else none."""
    if not _ONLY_NEGATIONS.fullmatch(markexpr):
        return frozenset()
    return frozenset(re.findall(_NEGATED_MARK, markexpr))


def module_marks(path: Path) -> frozenset[str]:
    """The ``pytest.mark.NAME`` marks a module's top-level ``pytestmark`` gives every test."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return frozenset()  # let pytest import it and report the problem
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            continue
        names = set()  # the last assignment is the one pytest sees
        marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
        for mark in marks:
            # pytest.mark.NAME, or pytest.mark.NAME(...): a call still gives the mark NAME
            expr = mark.func if isinstance(mark, ast.Call) else mark
            if (
                isinstance(expr, ast.Attribute)
                and isinstance(expr.value, ast.Attribute)
                and expr.value.attr == "mark"
                and isinstance(expr.value.value, ast.Name)
                and expr.value.value.id == "pytest"
            ):
                names.add(expr.attr)
    return frozenset(names)


def wholly_deselected(path: Path, markexpr: str) -> bool:
    """True when every test in the module at ``path`` is deselected by ``-m markexpr``."""
    excluded = excluded_marks(markexpr)
    return bool(excluded) and bool(module_marks(path) & excluded)
