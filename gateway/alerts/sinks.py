"""Where alert events go: a structured log line, a webhook.

A sink must never block or crash the caller (the alert loop of the service):
:meth:`AlertSink.send` returns at once and swallows (logs) every failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

from wearable_core.assessment.types import AlertEvent

logger = logging.getLogger(__name__)


class AlertSink(Protocol):
    """Receives ``opened`` and ``closed`` alert events."""

    async def send(self, event: AlertEvent) -> None:
        """Deliver (or schedule delivery of) ``event``; never raises."""
        ...


class LogSink:
    """One structured log line per event (``gateway.logs.JsonFormatter`` renders extras)."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logger

    async def send(self, event: AlertEvent) -> None:
        level = logging.WARNING if event.kind == "opened" else logging.INFO
        self.log.log(
            level, "alert %s: %s on %s", event.kind, event.type, event.device, extra=event.to_json()
        )


class WebhookSink:
    """POSTs each event as JSON to ``url`` in a worker thread, retrying with backoff.

    ``send`` schedules the delivery as a task and returns; :meth:`drain` waits for the
    pending ones (tests, shutdown). After ``attempts`` failures the event is logged and
    dropped (the alert itself is in the store).
    """

    def __init__(
        self,
        url: str,
        timeout: float = 5.0,
        *,
        attempts: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.delivered = 0
        self.failed = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, event: AlertEvent) -> None:
        task = asyncio.create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every scheduled delivery succeeded or gave up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, event: AlertEvent) -> None:
        body = json.dumps(event.to_json()).encode()
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                await asyncio.to_thread(self._post, body)
            except Exception as exc:  # a sink must never crash the caller
                if attempt == self.attempts:
                    self.failed += 1
                    logger.error(
                        "webhook gave up on alert event after %d attempts: %s",
                        attempt,
                        exc,
                        extra={"url": self.url, **event.to_json()},
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
            else:
                self.delivered += 1
                return

    def _post(self, body: bytes) -> None:
        # Imported here: urllib.request brings http.client and email (~0.5 MB) into a
        # gateway that, without a webhook, never posts anything.
        import urllib.request

        request = urllib.request.Request(
            self.url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()
