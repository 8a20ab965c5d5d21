from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_processes import cli_spawn, cli_terminate, gateway_status, radio_hub
from wearable.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["sim", "demo"]),
        (["sim"], ["radio", "watches", "export", "replay", "probe"]),
        (["sim", "radio"], ["--listen", "--supervision-timeout"]),
        (["sim", "watches"], ["--radio", "--count", "--scenario", "--speed", "--truth", "--loss"]),
        (["sim", "export"], ["--scenario", "--seed", "--out"]),
        (["sim", "replay"], ["--recording", "--radio", "--out"]),
        (["demo"], ["--quick", "--json"]),
    ],
)
def test_help_names_the_options(
    argv: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main([*argv, "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    for word in expected:
        assert word in out


def test_missing_scenario_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["sim", "export", "--scenario", str(tmp_path / "nope.toml"), "--out", str(tmp_path)])
    assert raised.value.code == 2
    assert "nope.toml" in capsys.readouterr().err


def test_bad_scenario_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[scenario]\nwatches = "many"\n')
    with pytest.raises(SystemExit) as raised:
        main(["sim", "export", "--scenario", str(path), "--out", str(tmp_path / "out")])
    assert raised.value.code == 2
    assert "scenario.watches" in capsys.readouterr().err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wearable.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "wearable" in result.stdout


#: What the gateway must never load: the simulator's physiology (scipy), TensorFlow and
#: Keras (training only: the gateway runs the model with LiteRT), and the clinic-side
#: analysis stack (pandas, matplotlib, fhirclient: ~40 MB).
GATEWAY_NEVER_LOADS = (
    "scipy",
    "tensorflow",
    "keras",
    "firmware_sim.physiology",
    "pandas",
    "matplotlib",
    "fhirclient",
    # The configuration is read with msgspec's core (docs/config.md): never pydantic, nor
    # what msgspec's optional formats load on first use (PyYAML, tomli_w).
    "pydantic",
    "yaml",
    "tomli_w",
)


def _heavy(modules: Iterable[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == h or m.startswith(h + ".") for h in GATEWAY_NEVER_LOADS)
    )


def test_the_gateway_command_does_not_load_the_simulator_or_tensorflow() -> None:
    # The gateway runs for weeks on a phone: the program it is started from must not drag
    # what it never uses into its memory (see GATEWAY_NEVER_LOADS).
    code = (
        "import sys\n"
        "from wearable.cli import parser_build\n"
        "import gateway.service, wearable_core.features.extract, wearable_core.model.runtime\n"
        "parser_build().parse_args(['gateway', 'status', '--json'])\n"
        "print(' '.join(sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert _heavy(result.stdout.split()) == []


#: ``wearable ARGS`` that prints the names of every module loaded once it has returned.
_RUN_THEN_LIST_MODULES = (
    "import atexit, sys\n"
    "from wearable.cli import main\n"
    "atexit.register(lambda: print(' '.join(sys.modules), flush=True))\n"
    "sys.exit(main(sys.argv[1:]))\n"
)

_RUNNING_GATEWAY_TOML = """
[ble]
backoff_initial_s = 0.5
backoff_max_s = 2.0

[store]
flush_interval_s = 0.2

[detection]
enabled = true
max_wait_s = 5.0

[log]
level = "INFO"
"""


@pytest.mark.integration
def test_a_running_gateway_loads_none_of_the_heavy_stacks(tmp_path: Path) -> None:
    # Importing the service is not the whole story: links, ingest, the model and the
    # feature code import more as they run. So: a real `wearable gateway run` with the
    # model loaded, a watch streaming to it and at least one window assessed.
    store = tmp_path / "store" / "gateway.sqlite"
    config = tmp_path / "gateway.toml"
    config.write_text(_RUNNING_GATEWAY_TOML, encoding="utf-8")
    scenario = tmp_path / "one.toml"
    scenario.write_text(
        '[scenario]\nname = "imports"\nseed = 3\nwatches = 1\nduration = "30min"\n',
        encoding="utf-8",
    )
    with radio_hub(tmp_path) as (hub, _):
        log = tmp_path / "gateway.log"
        with log.open("w", encoding="utf-8") as handle:
            gateway = subprocess.Popen(
                [sys.executable, "-c", _RUN_THEN_LIST_MODULES, "gateway", "run",
                 "--config", str(config), "--store", str(store), "--radio", hub],
                stdout=subprocess.PIPE, stderr=handle, text=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )  # fmt: skip
        farm = cli_spawn(
            "sim", "watches", "--radio", hub, "--scenario", str(scenario), "--speed", "1",
            log=tmp_path / "farm.log",
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            status: dict[str, Any] = {}
            while time.monotonic() < deadline and gateway.poll() is None:
                status = gateway_status(store)
                if (status.get("detection") or {}).get("assessments", 0) >= 1:
                    break
                time.sleep(0.5)
        finally:
            cli_terminate(farm)
            code = cli_terminate(gateway)
        modules = (gateway.stdout.read() if gateway.stdout else "").split()
    assert code == 0, log.read_text(encoding="utf-8")[-3000:]
    assert status["detection"]["model"] is not None
    assert status["detection"]["assessments"] >= 1, status
    # The list is the running gateway's: its service, model runtime and features are in.
    assert {"gateway.service", "ai_edge_litert", "wearable_core.features.extract"} <= set(modules)
    assert _heavy(modules) == []
