"""One exact message per kind of configuration error: field path, value, what would do."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, config_parse
from wearable_core.units import byte_size_parse, duration_parse

MESSAGES = [
    (
        "unknown key, with did-you-mean",
        "[sync]\ninterval = 60",
        "gateway.toml: sync.interval: unknown key; did you mean 'interval_s'? (known keys: "
        "bucket, interval_s, network, batch_interval_s, sample_every, outbox_budget_bytes, "
        "backoff_base_s, backoff_cap_s, retry_deadline_s)",
    ),
    (
        "unknown key in the wrong section",
        "[store]\nmtu = 100",
        "gateway.toml: store.mtu: unknown key; 'mtu' belongs in [ble] (known keys: path, "
        "budget_bytes, flush_interval_s, batch_max)",
    ),
    (
        "wrong type",
        '[ble]\nmax_devices = "ten"',
        "gateway.toml: ble.max_devices: must be an integer in 1..1000, got 'ten'",
    ),
    (
        "wrong type of a flag",
        "[ble]\npair = 1",
        "gateway.toml: ble.pair: must be true or false, got 1",
    ),
    (
        "out of range",
        "[ble]\nmtu = 600",
        "gateway.toml: ble.mtu: 600 is out of range; use an integer in 23..517 (the ATT MTU range)",
    ),
    (
        "duration out of range",
        '[ble]\nwatchdog_s = "2h"',
        "gateway.toml: ble.watchdog_s: '2h' (7200 s) is out of range; use a duration in "
        '[2, 3600] s, as a number of seconds or text such as "90s", "15min", "6h"',
    ),
    (
        "bad duration",
        '[sync]\ninterval_s = "5 mins please"',
        "gateway.toml: sync.interval_s: cannot read duration '5 mins please': use a number of "
        "seconds or parts such as '2d', '1h30min', '45min', '90s'; sync.interval_s takes "
        "[1, 86400] s",
    ),
    (
        "bad duration unit, with did-you-mean",
        '[sync]\ninterval_s = "5 minuts"',
        "gateway.toml: sync.interval_s: unknown unit 'minuts' in duration '5 minuts'; did you "
        "mean 'minutes'? (units: d, h, min, s); sync.interval_s takes [1, 86400] s",
    ),
    (
        "bad byte size, with did-you-mean",
        '[sync]\noutbox_budget_bytes = "20 MBs"',
        "gateway.toml: sync.outbox_budget_bytes: '20 MBs' is not a size: unknown unit "
        "'MBs'; did you mean 'MB'? (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB); "
        "sync.outbox_budget_bytes takes 100KB..1TiB",
    ),
    (
        "byte size out of range",
        '[store]\nbudget_bytes = "5KB"',
        "gateway.toml: store.budget_bytes: '5KB' (5000 bytes) is out of range; use an integer "
        'number of bytes or a size such as "512MiB" or "2GB", 1MiB..16TiB',
    ),
    (
        "rule across fields",
        "[ble]\nbackoff_initial_s = 90",
        "gateway.toml: ble.backoff_initial_s: 90 is above ble.backoff_max_s (60); the first "
        "reconnect delay must not exceed the longest one: lower it or raise backoff_max_s",
    ),
]


@pytest.mark.parametrize(("kind", "text", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_the_message_of_each_kind_of_error(kind: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_parse(text, source="gateway.toml")
    assert str(caught.value) == message, kind


@pytest.mark.parametrize("text", ["45", "90s", "15min", "1h30min", "2d"])
def test_durations_read_as_every_command_reads_them(text: str) -> None:
    toml = f'[sync]\nbatch_interval_s = "{text}"'
    assert config_parse(toml).sync.batch_interval_s == duration_parse(text)


@pytest.mark.parametrize("text", ["1048576", "1024KiB", "5MB", "1.5GiB"])
def test_sizes_read_as_every_command_reads_them(text: str) -> None:
    toml = f'[store]\nbudget_bytes = "{text}"'
    assert config_parse(toml).store.budget_bytes == byte_size_parse(text)


def test_a_whole_second_duration_takes_text_but_no_fraction() -> None:
    assert config_parse('[detection]\nhop_s = "30s"').detection.hop_s == 30
    with pytest.raises(ConfigError) as caught:
        config_parse('[detection]\nhop_s = "1.5s"')
    assert str(caught.value) == (
        "<string>: detection.hop_s: must be a duration of whole seconds in 1..60 s, as an "
        """integer or text such as "15s", "1min", got '1.5s'"""
    )
