"""The service's TOML configuration: defaults, parsing, errors that name the field."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from gateway.config import (
    BleConfig,
    ConfigError,
    GatewayConfig,
    LogConfig,
    ModelsConfig,
    PrivacyConfig,
    StoreConfig,
    SyncConfig,
    config_load,
    config_parse,
    with_overrides,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config" / "gateway.toml"
HR_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"


def test_defaults() -> None:
    config = config_load(None)
    assert config == GatewayConfig() == config_parse("")
    assert config.store == StoreConfig(
        path=Path("gateway-store/gateway.sqlite"),
        budget_bytes=512 * 1024 * 1024,
        flush_interval_s=0.5,
        batch_max=500,
    )
    ble = config.ble
    assert ble.radio == "127.0.0.1:7000"
    assert ble.service_uuids == (HR_SERVICE,)
    assert (ble.devices, dict(ble.passkeys)) == ((), {})
    assert (ble.max_devices, ble.connect_timeout_s, ble.pair, ble.mtu) == (100, 20.0, True, 247)
    assert (ble.backoff_initial_s, ble.backoff_max_s, ble.backoff_jitter) == (1.0, 60.0, 0.2)
    assert (ble.watchdog_s, ble.set_clock, ble.clock_resync_s) == (15.0, True, 3600.0)
    assert ble.subscribe_standard is False
    assert config.log == LogConfig(level="INFO", format="json", file=None, redact=True)


def test_every_field_parses() -> None:
    config = config_parse(
        """
        [store]
        path = "/var/lib/wearable-gateway/gateway.sqlite"
        budget_bytes = "2GB"
        flush_interval_s = 2
        batch_max = 1000

        [ble]
        radio = ""
        service_uuids = ["180D", "0x1822", "B5E10001-2F6C-4C8E-9A57-3D1F0E4A6B20", "180d"]
        devices = ["WearSim-0003", "f0:f1:f2:f3:f4:f5"]
        max_devices = 7
        connect_timeout_s = 5.5
        pair = false
        mtu = 185
        backoff_initial_s = 0.5
        backoff_max_s = 0.5
        backoff_jitter = 0
        watchdog_s = 30
        set_clock = false
        clock_resync_s = 600
        subscribe_standard = true

        [ble.passkeys]
        "f0:f1:f2:f3:f4:f5" = 123456
        "WearSim-0004" = "012345"

        [log]
        level = "debug"
        format = "TEXT"
        file = "gateway.log"
        redact = false
        """
    )
    assert config.store == StoreConfig(
        Path("/var/lib/wearable-gateway/gateway.sqlite"), 2_000_000_000, 2.0, 1000
    )
    assert config.ble == BleConfig(
        radio="",
        service_uuids=(HR_SERVICE, "1822", "b5e10001-2f6c-4c8e-9a57-3d1f0e4a6b20"),
        devices=("WearSim-0003", "f0:f1:f2:f3:f4:f5"),
        max_devices=7,
        connect_timeout_s=5.5,
        pair=False,
        passkeys={"F0:F1:F2:F3:F4:F5": 123456, "WearSim-0004": 12345},
        mtu=185,
        backoff_initial_s=0.5,
        backoff_max_s=0.5,
        backoff_jitter=0.0,
        watchdog_s=30.0,
        set_clock=False,
        clock_resync_s=600.0,
        subscribe_standard=True,
    )
    # UUIDs in any spelling come out as full lowercase 128-bit strings, duplicates dropped.
    assert config.ble.service_uuids == (
        HR_SERVICE,
        "00001822-0000-1000-8000-00805f9b34fb",
        "b5e10001-2f6c-4c8e-9a57-3d1f0e4a6b20",
    )
    assert dict(config.ble.passkeys) == {"F0:F1:F2:F3:F4:F5": 123456, "WearSim-0004": 12345}
    assert isinstance(config.store.flush_interval_s, float)
    assert config.log == LogConfig(
        level="DEBUG", format="text", file=Path("gateway.log"), redact=False
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1048576", 1024 * 1024),
        ('"512MiB"', 512 * 1024**2),
        ('"512 mib"', 512 * 1024**2),
        ('"2GB"', 2 * 1000**3),
        ('"1.5GiB"', 3 * 1024**3 // 2),
        ('"3000000B"', 3_000_000),
        ('"4000000"', 4_000_000),
        ('"1TiB"', 1024**4),
    ],
)
def test_budget_sizes(text: str, expected: int) -> None:
    assert config_parse(f"[store]\nbudget_bytes = {text}").store.budget_bytes == expected


def test_paths_expand_the_home_directory() -> None:
    config = config_parse('[store]\npath = "~/gw.sqlite"\n[log]\nfile = "~/gw.log"')
    assert config.store.path == Path.home() / "gw.sqlite"
    assert config.log.file == Path.home() / "gw.log"
    assert config_parse('[log]\nfile = ""').log.file is None


BAD_INPUTS = [
    # (TOML, field path in the message, a fragment of the explanation)
    ("[store]\npath = 5", "store.path", "file path"),
    ('[store]\npath = ""', "store.path", "non-empty"),
    ('[store]\nbudget_bytes = "lots"', "store.budget_bytes", "512MiB"),
    ('[store]\nbudget_bytes = "12 parsecs"', "store.budget_bytes", "not a size"),
    ("[store]\nbudget_bytes = 1000", "store.budget_bytes", "out of range"),
    ("[store]\nbudget_bytes = true", "store.budget_bytes", "integer number of bytes"),
    ("[store]\nflush_interval_s = 0", "store.flush_interval_s", "(0, 60]"),
    ('[store]\nflush_interval_s = "fast"', "store.flush_interval_s", "number"),
    ("[store]\nflush_interval_s = nan", "store.flush_interval_s", "out of range"),
    ("[store]\nbatch_max = 0", "store.batch_max", "1..100000"),
    ("[store]\nbatch_max = 2.5", "store.batch_max", "integer"),
    ('[ble]\nradio = "local"', "ble.radio", "wearable sim radio"),
    ('[ble]\nradio = "127.0.0.1"', "ble.radio", "HOST:PORT"),
    ('[ble]\nradio = "127.0.0.1:0"', "ble.radio", "1..65535"),
    ('[ble]\nradio = ":7000"', "ble.radio", "HOST:PORT"),
    ("[ble]\nradio = 7000", "ble.radio", "string"),
    ('[ble]\nservice_uuids = "180d"', "ble.service_uuids", "list of strings"),
    ('[ble]\nservice_uuids = ["180d", "heart"]', "ble.service_uuids[1]", "not a UUID"),
    ('[ble]\nservice_uuids = [""]', "ble.service_uuids[0]", "non-empty"),
    ("[ble]\nservice_uuids = []", "ble.service_uuids", "ble.devices"),
    ("[ble]\ndevices = [1]", "ble.devices[0]", "string"),
    ("[ble]\nmax_devices = 0", "ble.max_devices", "1..1000"),
    ("[ble]\nconnect_timeout_s = -1", "ble.connect_timeout_s", "(0, 600]"),
    ("[ble]\npair = 1", "ble.pair", "true or false"),
    ('[ble]\npair = "yes"', "ble.pair", "true or false"),
    ("[ble]\nmtu = 20", "ble.mtu", "23..517"),
    ("[ble]\nmtu = 600", "ble.mtu", "23..517"),
    ("[ble]\nbackoff_initial_s = 0", "ble.backoff_initial_s", "(0, 3600]"),
    ("[ble]\nbackoff_max_s = 100000", "ble.backoff_max_s", "(0, 86400]"),
    ("[ble]\nbackoff_initial_s = 90", "ble.backoff_initial_s", "ble.backoff_max_s (60)"),
    (
        "[ble]\nbackoff_initial_s = 5\nbackoff_max_s = 2",
        "ble.backoff_initial_s",
        "raise backoff_max_s",
    ),
    ("[ble]\nbackoff_jitter = 1.5", "ble.backoff_jitter", "[0, 1]"),
    ("[ble]\nwatchdog_s = 1", "ble.watchdog_s", "[2, 3600]"),
    ("[ble]\nset_clock = 0", "ble.set_clock", "true or false"),
    ("[ble]\nclock_resync_s = 10", "ble.clock_resync_s", "[60, 2592000]"),
    ("[ble]\nsubscribe_standard = 'no'", "ble.subscribe_standard", "true or false"),
    ("[ble]\npasskeys = 5", "ble.passkeys", "table"),
    (
        '[ble.passkeys]\n"AA:BB:CC:DD:EE:FF" = 1000000',
        "ble.passkeys.AA:BB:CC:DD:EE:FF",
        "0..999999",
    ),
    ('[ble.passkeys]\n"WearSim-1" = "12ab56"', "ble.passkeys.WearSim-1", "6-digit"),
    ('[log]\nlevel = "loud"', "log.level", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ('[log]\nformat = "xml"', "log.format", "json, text"),
    ("[log]\nfile = 3", "log.file", "file path"),
    ('[log]\nredact = "yes"', "log.redact", "must be true or false"),
    ("store = 3", "store", "must be a table"),
    ("[bel]\nradio = ''", "bel", "did you mean 'ble'"),
    ("[ble]\nbackof_max_s = 3", "ble.backof_max_s", "did you mean 'backoff_max_s'"),
    ("[ble]\npath = 'x.sqlite'", "ble.path", "'path' belongs in [store]"),
    ("[log]\nlevle = 'INFO'", "log.levle", "did you mean 'level'"),
    ("[store]\nbudget = 3", "store.budget", "did you mean 'budget_bytes'"),
    ("[ble\nradio = ''", "(syntax)", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), BAD_INPUTS)
def test_bad_inputs_name_the_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_parse(text, source="test.toml")
    error = caught.value
    assert error.field == field
    assert str(error).startswith(f"test.toml: {field}: ")
    assert fragment in str(error)
    assert isinstance(error, ValueError)


def test_config_error_carries_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        config_parse("[ble]\nmtu = 600")
    assert (caught.value.field, caught.value.value, caught.value.source) == (
        "ble.mtu",
        600,
        "<string>",
    )


def test_constructing_in_code_gets_the_same_checks() -> None:
    with pytest.raises(ConfigError, match=r"^ble\.backoff_initial_s: "):
        BleConfig(backoff_initial_s=10.0, backoff_max_s=5.0)
    with pytest.raises(ConfigError, match=r"^store\.batch_max: "):
        StoreConfig(batch_max=0)


def test_configs_are_frozen_and_hashable() -> None:
    config = config_parse('[ble.passkeys]\n"AA:BB:CC:DD:EE:FF" = 1')
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ble.mtu = 23  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.ble.passkeys["AA:BB:CC:DD:EE:FF"] = 2  # type: ignore[index]
    assert hash(config) == hash(config_parse('[ble.passkeys]\n"AA:BB:CC:DD:EE:FF" = 1'))


def test_overrides() -> None:
    base = config_parse('[store]\npath = "a.sqlite"\n[ble]\nmtu = 100')
    changed = with_overrides(base, store=Path("/tmp/b.sqlite"), radio="10.1.2.3:7100")
    assert changed.store.path == Path("/tmp/b.sqlite")
    assert changed.ble.radio == "10.1.2.3:7100"
    assert changed.ble.mtu == 100 and changed.store.budget_bytes == base.store.budget_bytes
    assert base.store.path == Path("a.sqlite") and base.ble.radio == "127.0.0.1:7000"
    assert with_overrides(base) == base
    assert with_overrides(base, radio="").ble.radio == ""


@pytest.mark.parametrize("radio", ["local", "nohost", "host:99999"])
def test_bad_override_is_attributed_to_the_command_line(radio: str) -> None:
    with pytest.raises(ConfigError) as caught:
        with_overrides(GatewayConfig(), radio=radio)
    assert caught.value.field == "ble.radio"
    assert str(caught.value).startswith("command line: ble.radio: ")


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[log]\nformat = "text"\n', encoding="utf-8")
    assert config_load(path).log.format == "text"
    path.write_text("[log]\nformat = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: log.format: ")):
        config_load(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_load(tmp_path / "absent.toml")
    assert caught.value.field == "(file)"
    assert "cannot read" in str(caught.value)


def test_the_example_file_loads_and_holds_the_defaults() -> None:
    assert config_load(EXAMPLE) == GatewayConfig()


def test_the_example_file_lists_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    sections = {
        "store": StoreConfig,
        "ble": BleConfig,
        "sync": SyncConfig,
        "privacy": PrivacyConfig,
        "models": ModelsConfig,
        "log": LogConfig,
    }
    for section, cls in sections.items():
        assert f"[{section}]" in text
        for f in dataclasses.fields(cls):
            if f.name == "passkeys":
                assert "[ble.passkeys]" in text
                continue
            # Keys without a value by default (log.file) appear commented out.
            assert re.search(rf"^#? ?{f.name} = ", text, re.MULTILINE), f"{section}.{f.name}"
