"""One duration grammar: the same text gives the same seconds in every command and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim.scenario import scenario_parse
from wearable.cli import parser_build

TEXTS = [("600", 600), ("90s", 120), ("15min", 900), ("6h", 21_600), ("2d", 172_800)]


def _commands(tmp_path: Path, text: str) -> dict[str, list[str]]:
    """Every command line that takes a simulated duration, with ``text`` for it."""
    return {
        "sim watches": [
            "sim", "watches", "--radio", "127.0.0.1:7000", "--scenario", "s.toml",
            "--duration", text,
        ],
        "sim export": [
            "sim", "export", "--scenario", "s.toml", "--out", str(tmp_path / "out"),
            "--duration", text,
        ],
        "eval": ["eval", "--duration", text],
        "train cohort": [
            "train", "cohort", "--bucket", str(tmp_path), "--split", "train", "--duration", text,
        ],
        "experiment fleet": ["experiment", "learning-curve", "--fleet-duration", text],
        "experiment held-out": ["experiment", "learning-curve", "--heldout-duration", text],
    }  # fmt: skip


def _value(argv: list[str]) -> int:
    args = parser_build(argv[0]).parse_args(argv)
    option = argv[-2].removeprefix("--").replace("-", "_")
    value: int = getattr(args, option)
    return value


@pytest.mark.parametrize(("text", "seconds"), TEXTS)
def test_every_command_reads_a_duration_alike(tmp_path: Path, text: str, seconds: int) -> None:
    values = {name: _value(argv) for name, argv in _commands(tmp_path, text).items()}
    scenario = scenario_parse(f'[scenario]\nwatches = 1\nduration = "{text}"\n')
    values["scenario duration"] = scenario.duration_s
    assert values == dict.fromkeys(values, seconds)


@pytest.mark.parametrize("text", ["soon", "0", "5 fortnights"])
def test_every_command_refuses_a_bad_duration(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, argv in _commands(tmp_path, text).items():
        with pytest.raises(SystemExit) as caught:
            _value(argv)
        assert caught.value.code == 2, name
        assert "duration" in capsys.readouterr().err, name


def test_time_spans_in_seconds_take_the_same_grammar() -> None:
    parser = parser_build("sim")
    radio = parser.parse_args(["sim", "radio", "--supervision-timeout", "1min"])
    probe = parser.parse_args(
        ["sim", "probe", "--radio", "h:1", "--count", "1", "--seconds", "2min"]
    )
    assert (radio.supervision_timeout, probe.seconds) == (60.0, 120.0)
