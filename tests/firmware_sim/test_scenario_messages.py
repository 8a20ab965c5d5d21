"""One exact message per kind of scenario error: field path, value, what was expected."""

from __future__ import annotations

import pytest

from firmware_sim.scenario import ScenarioError, WatchSettings, scenario_parse
from wearable_core.schema import SchemaError

HEAD = '[scenario]\nwatches = 4\nduration = "2h"\n'

MESSAGES = [
    (
        "unknown key, with did-you-mean",
        "[watch]\nflash_byte = 4096\n",
        "s.toml: watch.flash_byte: unknown key; did you mean 'flash_bytes'? (expected one of: "
        "clock_drift_ppm, clock_offset_s, flash_bytes, battery_mah, passkey)",
    ),
    (
        "wrong type",
        "[watch]\nbattery_mah = 'big'\n",
        "s.toml: watch.battery_mah: expected a number, got str 'big'",
    ),
    (
        "out of range",
        "[watch]\nbattery_mah = 0\n",
        "s.toml: watch.battery_mah: 0 is out of range; expected 1 to 100000",
    ),
    (
        "bad duration",
        "[link]\nout_of_range_duration = ['1min', '5 minuts']\n",
        "s.toml: link.out_of_range_duration[1]: unknown unit 'minuts' in duration '5 minuts'; "
        "did you mean 'minutes'? (units: d, h, min, s)",
    ),
    (
        "bad byte size",
        "[watch]\nflash_bytes = '64 kib please'\n",
        's.toml: watch.flash_bytes: \'64 kib please\' is not a size; use "512MiB", "5MB", '
        '"1.5GiB" or a number of bytes',
    ),
    (
        "byte size out of range",
        "[watch]\nflash_bytes = '1KiB'\n",
        "s.toml: watch.flash_bytes: '1KiB' (1024 bytes) is out of range; expected 4096 to "
        "4294967296",
    ),
]


@pytest.mark.parametrize(("kind", "toml", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_the_message_of_each_kind_of_error(kind: str, toml: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_parse(HEAD + toml, source="s.toml")
    assert str(caught.value) == message, kind
    assert isinstance(caught.value, SchemaError)


def test_sizes_and_durations_take_the_shared_grammar() -> None:
    scenario = scenario_parse(HEAD + "[watch]\nflash_bytes = '64KiB'\n")
    assert scenario.watch.flash_bytes == 64 * 1024
    assert scenario.watch == WatchSettings(flash_bytes=65_536)


def test_settings_built_in_code_get_the_same_checks() -> None:
    with pytest.raises(ScenarioError) as caught:
        WatchSettings(clock_drift_ppm=(0.0, 5000.0))
    assert str(caught.value) == (
        "watch.clock_drift_ppm[1]: 5000.0 is out of range; expected -1000 to 1000"
    )
