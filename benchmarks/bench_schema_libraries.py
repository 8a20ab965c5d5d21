"""Import time and memory of the two schema libraries issue 20 weighs: msgspec and pydantic v2.

The gateway is a long-running process on a phone or home hub with an 80 MB RSS goal
(issue 18), so what matters is what a library adds to a process that imports it: the
import time (start-up of every `wearable` command) and the resident memory, both for
importing the library and for using it the way the gateway configuration would (seven
section models, about forty constrained fields, one validation of a document).

Every figure comes from a fresh interpreter (``python -c``) and is the median of
``--runs`` runs: ``import_ms`` is the wall time of the import inside the child,
``importtime_ms`` the library's own cumulative figure from ``-X importtime``, and
``rss_mib`` the increase of ``VmRSS`` (``/proc/self/status``, so Linux only) from before
the import to after it (``import``) or to after the model definitions and one validation
(``in_use``). ``bare`` starts from an empty interpreter; ``on_gateway`` first imports the
standard-library modules ``gateway.service`` loads (asyncio, sqlite3, typing, ...), so it
counts only what the library adds to the gateway process.

Both libraries go into a throwaway virtual environment in a temporary directory, so the
project's own environment holds only the one the project declares. ``--python`` measures
an existing interpreter instead (it must be able to import both).

Run: ``python benchmarks/bench_schema_libraries.py [--runs 7] [--python PATH]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

_RSS = """
def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
"""

# Seven sections of six constrained fields: the gateway configuration's shape.
_USE = {
    "msgspec": """
from typing import Annotated
FIELDS = {f"f{i}": (Annotated[float, msgspec.Meta(gt=0, le=3600)], 1.0) for i in range(6)}
sections = [msgspec.defstruct(f"S{n}", [(k, *v) for k, v in FIELDS.items()], frozen=True,
            forbid_unknown_fields=True) for n in range(7)]
Root = msgspec.defstruct("Root", [(f"s{n}", s, msgspec.field(default_factory=s))
                                  for n, s in enumerate(sections)], frozen=True)
msgspec.convert({"s0": {"f0": 2.0}, "s3": {"f5": 7}}, Root)
""",
    "pydantic": """
from typing import Annotated
FIELDS = {f"f{i}": (Annotated[float, pydantic.Field(gt=0, le=3600)], 1.0) for i in range(6)}
config = pydantic.ConfigDict(frozen=True, extra="forbid")
sections = [pydantic.create_model(f"S{n}", __config__=config, **FIELDS) for n in range(7)]
Root = pydantic.create_model("Root", __config__=config,
                             **{f"s{n}": (s, s()) for n, s in enumerate(sections)})
Root.model_validate({"s0": {"f0": 2.0}, "s3": {"f5": 7}})
""",
}


def _child(library: str, use: bool, preload: tuple[str, ...]) -> str:
    body = _USE[library] if use else ""
    imports = "".join(f"import {name}\n" for name in preload)
    return (
        f"{_RSS}\n{imports}import time\nbefore = rss_kib()\nstart = time.perf_counter()\n"
        f"import {library}\n{body}\n"
        "elapsed = time.perf_counter() - start\n"
        "print(elapsed * 1000, (rss_kib() - before) / 1024)\n"
    )


def _importtime_ms(python: str, library: str) -> float:
    """The library's own cumulative import time, as ``-X importtime`` reports it (µs → ms)."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {library}"],
        capture_output=True,
        text=True,
        check=True,
    )
    pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(library)}$", re.M)
    match = pattern.search(done.stderr)
    if match is None:
        raise RuntimeError(f"-X importtime printed no line for {library}")
    return int(match.group(1)) / 1000


def _version(python: str, library: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({library!r}))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout


def gateway_stdlib() -> tuple[str, ...]:
    """The standard-library modules the gateway service has loaded before any schema code.

    Measured with this interpreter (the project's), so the figures "on the gateway" count
    only what a library adds to a process that already holds typing, asyncio, sqlite3...
    """
    code = (
        "import sys, gateway.service\n"
        "names = {n.split('.')[0] for n in sys.modules} & set(sys.stdlib_module_names)\n"
        "print(' '.join(sorted(n for n in names if not n.startswith('_'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(done.stdout.split())


def measure(python: str, library: str, runs: int, preload: tuple[str, ...]) -> dict[str, Any]:
    """Medians over ``runs`` fresh interpreters for one library, after importing ``preload``."""
    rows: dict[str, list[float]] = {
        "import_ms": [],
        "import_rss_mib": [],
        "in_use_ms": [],
        "in_use_rss_mib": [],
        "importtime_ms": [],
    }
    for _ in range(runs):
        for use, prefix in ((False, "import"), (True, "in_use")):
            out = subprocess.run(
                [python, "-c", _child(library, use, preload)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            rows[f"{prefix}_ms"].append(float(out[0]))
            rows[f"{prefix}_rss_mib"].append(float(out[1]))
        if not preload:
            rows["importtime_ms"].append(_importtime_ms(python, library))
    result: dict[str, Any] = {"version": _version(python, library).strip()}
    result.update(
        {name: round(statistics.median(values), 2) for name, values in rows.items() if values}
    )
    return result


def _throwaway_python(directory: Path) -> str:
    """A virtual environment with both libraries, from the configured package index."""
    venv.create(directory, with_pip=True)
    python = str(directory / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "msgspec", "pydantic"],
        check=True,
    )
    return python


def main() -> int:
    """Measure both libraries and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per figure")
    parser.add_argument("--python", help="an interpreter that already has both libraries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-schema-") as tmp:
        python = args.python or _throwaway_python(Path(tmp) / "venv")
        preload = gateway_stdlib()
        report = {
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
            },
            "runs": args.runs,
            # A bare interpreter, and one that already holds the gateway's standard library.
            "bare": {lib: measure(python, lib, args.runs, ()) for lib in _USE},
            "on_gateway": {lib: measure(python, lib, args.runs, preload) for lib in _USE},
        }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
