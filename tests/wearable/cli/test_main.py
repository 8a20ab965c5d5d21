from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_gateway_command_does_not_load_the_simulator_or_tensorflow() -> None:
    # The gateway runs for weeks on a phone: the program it is started from must not drag
    # the simulator's physiology (scipy), TensorFlow, or the clinic-side analysis stack
    # (pandas, matplotlib, fhirclient: ~40 MB) into its memory.
    code = (
        "import sys\n"
        "from wearable.cli import build_parser\n"
        "import gateway.service, wearable_core.features.extract, wearable_core.model.runtime\n"
        "build_parser().parse_args(['gateway', 'status', '--json'])\n"
        "heavy = [m for m in ('scipy', 'tensorflow', 'keras', 'firmware_sim.physiology',"
        " 'pandas', 'matplotlib', 'fhirclient')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
