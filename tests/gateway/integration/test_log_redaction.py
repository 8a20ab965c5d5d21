"""A real ``wearable gateway run`` logs no device address, only pseudonyms.

Issue 19, item 11: alert log lines (and the link lines) carried the device address, which
a log shipper carries off the gateway. With the default ``log.redact = true`` the
service's whole stderr must hold nothing shaped like a MAC address, and name each watch
by its pseudonym (the one sync uploads). The alert sink's own line, through the same
formatter, is in ``tests/gateway/test_logs.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gateway.privacy.pseudonym import PseudonymKey
from tests.support.cli_processes import cli_spawn, cli_terminate, radio_hub
from tests.support.log_lines import MAC_SHAPED

pytestmark = pytest.mark.integration

GATEWAY_TOML = """
[store]
flush_interval_s = 0.2

[log]
level = "INFO"
"""

SCENARIO = '[scenario]\nname = "redaction"\nseed = 7\nwatches = 2\nduration = "30min"\n'
CONNECT_WAIT_S = 90.0


def _connected(log: Path) -> int:
    return log.read_text(encoding="utf-8").count('"msg":"connected"')


def test_the_service_log_names_devices_by_pseudonym_only(tmp_path: Path) -> None:
    store = tmp_path / "store" / "gateway.sqlite"
    config = tmp_path / "gateway.toml"
    config.write_text(GATEWAY_TOML, encoding="utf-8")
    scenario = tmp_path / "redaction.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    log = tmp_path / "gateway.log"
    with radio_hub(tmp_path) as (hub, _):
        gateway = cli_spawn(
            "gateway", "run", "--config", str(config), "--store", str(store), "--radio", hub,
            log=log,
        )  # fmt: skip
        farm = cli_spawn(
            "sim", "watches", "--radio", hub, "--scenario", str(scenario), "--speed", "1",
            log=tmp_path / "farm.log",
        )  # fmt: skip
        try:
            deadline = time.monotonic() + CONNECT_WAIT_S
            while _connected(log) < 2:
                assert gateway.poll() is None, log.read_text(encoding="utf-8")[-3000:]
                assert time.monotonic() < deadline, "the watches did not connect"
                time.sleep(0.5)
            time.sleep(2.0)  # records flow: clock reads, data-quality lines
        finally:
            code = cli_terminate(gateway)
            cli_terminate(farm)
    text = log.read_text(encoding="utf-8")
    assert code == 0, text[-3000:]
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert MAC_SHAPED.findall(text) == [], text[-3000:]
    status = json.loads((store.parent / "gateway-status.json").read_text(encoding="utf-8"))
    key = PseudonymKey.load_or_create(store.parent / "pseudonym.key")
    pseudonyms = {key.device(link["address"]) for link in status["links"]}
    assert len(pseudonyms) == 2
    connected = {line["device"] for line in lines if line["msg"] == "connected"}
    assert connected == pseudonyms
