"""TensorFlow is imported only after ``cloud_training`` pinned its environment.

Issue 19, item 15: on a CPU with AVX-512/AMX, TensorFlow's oneDNN kernels give other
model bytes from the same seed and print a notice on stderr. ``cloud_training/__init__``
sets ``TF_ENABLE_ONEDNN_OPTS=0`` (and quiets TensorFlow) before anything imports it; that
holds only if no module imports ``tensorflow`` or ``keras`` before it imports
``cloud_training``. This test reads every module that does, in source order.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Where Python code of the project lives (cloud_training itself is the exception).
ROOTS = ("wearable", "wearable_core", "gateway", "firmware_sim", "bumble_radio", "benchmarks")
TENSORFLOW = ("tensorflow", "keras")
#: What ``cloud_training`` sets unless the environment already does: TensorFlow's default
#: kernels (not oneDNN's CPU-specific ones) and no log noise on stderr.
PINNED = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, nested ones included, in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return sorted(found)


def _sources() -> list[Path]:
    files = [p for root in ROOTS for p in (REPO / root).rglob("*.py")]
    return files + [p for p in (REPO / "tests").rglob("*.py") if p != Path(__file__)]


def test_no_module_imports_tensorflow_before_cloud_training() -> None:
    late: list[str] = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if not any(name in text for name in TENSORFLOW):
            continue
        imports = _imports(ast.parse(text))
        first_tf = next((line for line, m in imports if m.split(".")[0] in TENSORFLOW), None)
        if first_tf is None:
            continue
        pinned = any(line < first_tf and m.split(".")[0] == "cloud_training" for line, m in imports)
        if not pinned:
            late.append(f"{path.relative_to(REPO)}:{first_tf}")
    assert late == [], f"import cloud_training before tensorflow/keras in: {late}"


def test_importing_the_package_pins_the_default_kernels_and_quiets_tensorflow() -> None:
    # The pin itself, checked on any CPU (only an AVX-512/AMX one shows other bytes).
    env = {k: v for k, v in os.environ.items() if k not in PINNED}
    code = f"import os, cloud_training; print(*(os.environ[k] for k in {PINNED!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "3"]
