"""The service's log lines: JSON or text, and no device address with ``log.redact`` on.

Issue 19, item 11: alert log lines (and others) carried the device address, which a log
shipper carries off the gateway. With ``log.redact`` every line is redacted after it is
formatted, so the tests look at the emitted text, not at chosen fields.
"""

from __future__ import annotations

import asyncio
import doctest
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import logs as logs_module
from gateway.alerts.sinks import LogSink
from gateway.logs import REDACTED, AddressRedactor, configure_logging
from gateway.privacy.pseudonym import PseudonymKey
from tests.support.log_lines import MAC_SHAPED, root_logger_restored
from wearable_core.assessment import AlertEvent, AlertType, Severity

WATCH = "C4:12:00:00:00:0A"


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    with root_logger_restored():
        yield


def _log_everything() -> None:
    """Log an address every way the service does: alert sink, extra, argument, traceback."""
    asyncio.run(
        LogSink().send(
            AlertEvent("opened", WATCH, AlertType.FALL, Severity.CRITICAL, 5, 5, 0, 5, 1.0, "r")
        )
    )
    service = logging.getLogger("gateway.ble.link")
    service.info("connected", extra={"device": WATCH.lower(), "mtu": 247})
    service.warning(
        "link down: %s (%s)", WATCH.replace(":", "-"), "bumble address C4:12:00:00:00:0A/P"
    )
    try:
        raise ConnectionError(f"device {WATCH} not found")
    except ConnectionError:
        service.exception("connect failed")


@pytest.mark.usefixtures("restore_root_logger")
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_address_reaches_the_log_only_its_pseudonym(tmp_path: Path, fmt: str) -> None:
    key_file = tmp_path / "store" / "pseudonym.key"
    redactor = AddressRedactor()
    redactor.load_key(key_file)
    log = tmp_path / "gateway.log"
    configure_logging("INFO", fmt, log, redactor=redactor)
    _log_everything()
    text = log.read_text(encoding="utf-8")
    assert MAC_SHAPED.findall(text) == [], text
    pseudonym = PseudonymKey.load_or_create(key_file).device(WATCH)
    # Every form of the address became the one pseudonym: the alert's message, 2 in the
    # warning, the exception; in JSON also the ``device`` extras of the alert and connect.
    assert text.count(pseudonym) == (6 if fmt == "json" else 4), text
    assert "Traceback" in text and "alert opened: fall on " + pseudonym in text
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        alert = next(entry for entry in lines if entry.get("event") == "alert_opened")
        assert alert["device"] == pseudonym and alert["type"] == "fall"


@pytest.mark.usefixtures("restore_root_logger")
def test_without_a_key_every_address_is_masked(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    configure_logging("INFO", "json", log, redactor=AddressRedactor())
    _log_everything()
    text = log.read_text(encoding="utf-8")
    assert MAC_SHAPED.findall(text) == [] and REDACTED in text


@pytest.mark.usefixtures("restore_root_logger")
def test_redaction_off_logs_addresses_as_they_are(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    configure_logging("INFO", "json", log)
    _log_everything()
    assert WATCH in log.read_text(encoding="utf-8")


def test_doctests() -> None:
    assert doctest.testmod(logs_module).failed == 0
