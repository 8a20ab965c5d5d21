"""Public functions are named ``domain_verb`` (``scenario_load``, ``heart_rate_decode``).

One convention for the whole code base, NeuroKit2's: the thing first, then what is done to
it, so related functions sort together (``config_load``, ``config_parse``). A public
module-level function whose name starts with a verb fails here with the name to use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "wearable_core",
    "bumble_radio",
    "firmware_sim",
    "gateway",
    "cloud_training",
    "wearable",
)
#: Words that, first in a name, make it verb_noun. ("replay" and "sync" are left out:
#: in ``replay_identity`` or ``sync_settings`` they are the domain.)
VERBS = frozenset(
    {
        "apply", "assess", "build", "calibrate", "check", "close", "compute", "convert",
        "count", "create", "decode", "detect", "encode", "evaluate", "export", "extract",
        "fetch", "format", "generate", "get", "install", "load", "make", "open", "parse",
        "plot", "read", "run", "select", "send", "simulate", "split", "train", "validate",
        "write",
    }
)  # fmt: skip


def _public_functions() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            functions = [
                n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            where = str(path.relative_to(ROOT))
            found += [(where, f.name) for f in functions if not f.name.startswith("_")]
    return found


def test_the_scan_finds_the_code_base() -> None:
    names = {name for _, name in _public_functions()}
    assert {"scenario_load", "heart_rate_decode", "gate_decide"} <= names


@pytest.mark.parametrize("package", PACKAGES)
def test_public_functions_are_named_domain_verb(package: str) -> None:
    wrong = [
        f"{path}: {name} -> {'_'.join([*name.split('_')[1:], name.split('_')[0]])}"
        for path, name in _public_functions()
        if path.startswith(f"{package}/") and name.split("_")[0] in VERBS and "_" in name
    ]
    assert wrong == []
