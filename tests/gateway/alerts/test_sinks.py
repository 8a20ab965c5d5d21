"""Sinks: a structured log line; a webhook against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gateway.alerts.sinks import AlertSink, LogSink, WebhookSink
from wearable_core.assessment import AlertEvent, AlertType, Severity

EVENT = AlertEvent(
    "opened", "C4:12:00:00:00:0A", AlertType.FALL, Severity.CRITICAL, 5, 5, 0, 5, 1.0, "r"
)


class _Server(HTTPServer):
    received: list[dict[str, object]]
    fail_first: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.fail_first > 0:
            self.server.fail_first -= 1
            self.send_response(503)
        else:
            self.server.received.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.received = []
    srv.fail_first = 0
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook_posts_json_and_retries(server: _Server) -> None:
    server.fail_first = 2
    url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    sink: AlertSink = WebhookSink(url, timeout=2, backoff_s=0.01)

    async def go() -> None:
        await sink.send(EVENT)
        assert isinstance(sink, WebhookSink)
        await sink.drain()

    asyncio.run(go())
    assert server.received == [EVENT.to_json()]
    assert server.received[0]["event"] == "alert_opened"


def test_webhook_to_a_dead_url_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    sink = WebhookSink("http://127.0.0.1:9/none", timeout=0.5, attempts=2, backoff_s=0.01)

    async def go() -> None:
        await sink.send(EVENT)  # returns at once
        await sink.drain()

    with caplog.at_level(logging.ERROR):
        asyncio.run(go())
    assert (sink.delivered, sink.failed) == (0, 1)
    assert "gave up" in caplog.text


def test_log_sink_writes_structured_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.alerts.sinks"):
        asyncio.run(LogSink().send(EVENT))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert vars(record)["type"] == "fall" and vars(record)["evidence_end_ms"] == 5
