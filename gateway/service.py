"""The gateway background service: radio, links, ingest and store under one event loop.

``run_service`` is what ``wearable gateway run`` executes: it opens the store (resuming
from whatever is there), attaches to the radio, scans and keeps every device linked, and
on SIGTERM or SIGINT flushes, checkpoints the WAL and returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from gateway.alerts.policy import load_policies
from gateway.alerts.sinks import AlertSink, LogSink, WebhookSink
from gateway.ble.manager import ConnectionManager
from gateway.config import DetectionConfig, GatewayConfig
from gateway.detection.engine import Detector
from gateway.detection.model_file import LoadedModel, model_load
from gateway.inference import ModelError
from gateway.ingest import Ingestor, now_ms
from gateway.store.store import Store

logger = logging.getLogger(__name__)

#: Written next to the store so ``wearable gateway status`` can show live link state.
STATUS_FILE = "gateway-status.json"
#: bumble bonding keys of the gateway's simulated radio, next to the store.
KEYSTORE_FILE = "gateway-bonds.json"


@dataclass(frozen=True)
class Backends:
    """bleak backend types (``None``: the platform's adapter)."""

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None


@contextlib.asynccontextmanager
async def open_backends(config: GatewayConfig) -> AsyncIterator[Backends]:
    """The system's Bluetooth adapter, or a bumble radio hub when ``ble.radio`` is set."""
    if not config.ble.radio:
        yield Backends()
        return
    from gateway.ble.bumble_backend import BumbleAdapter

    keystore = Path(config.store.path).parent / KEYSTORE_FILE
    passkeys = dict(config.ble.passkeys)
    async with BumbleAdapter.open_hub(
        config.ble.radio, keystore_path=keystore, passkey=lambda address: passkeys.get(address)
    ) as adapter:
        yield Backends(adapter.scanner_backend, adapter.client_backend)


def load_serving_model(config: DetectionConfig) -> LoadedModel | None:
    """The configured model; if it is refused, the shipped baseline; else rules only.

    A refused model is logged as an error naming the reason: the gateway keeps
    protecting people with the model it trusts rather than not starting.
    """
    if config.model is not None:
        try:
            return model_load(config.model)
        except ModelError as exc:
            logger.error(
                "model refused, serving the shipped baseline instead",
                extra={"model": str(config.model), "error": str(exc)},
            )
    try:
        return model_load(None)
    except ModelError as exc:
        logger.error("no usable model: safety rules only", extra={"error": str(exc)})
        return None


class Gateway:
    """The running service, usable in-process (tests, demo) or from the CLI.

    Parameters
    ----------
    config
        Validated configuration.
    backends
        bleak backend types for the radio.
    clock
        The gateway clock, Unix ms (default: the system clock). A simulation that runs
        faster than real time passes its own, so aligned times are simulated times.
    """

    def __init__(
        self, config: GatewayConfig, backends: Backends, clock: Callable[[], int] = now_ms
    ) -> None:
        self.config = config
        self.store = Store(config.store.path, budget_bytes=config.store.budget_bytes)
        self.ingestor = Ingestor(self.store, batch_max=config.store.batch_max, clock=clock)
        self.manager = ConnectionManager(
            config.ble,
            self.store,
            self.ingestor,
            scanner_backend=backends.scanner,
            client_backend=backends.client,
        )
        self.stop_event = asyncio.Event()
        self._last_seen: dict[str, int] = {}
        self.sinks: list[AlertSink] = []
        self.detector: Detector | None = None
        detection = config.detection
        if detection.enabled:
            self.sinks.append(LogSink())
            if detection.webhook_url:
                self.sinks.append(WebhookSink(detection.webhook_url, detection.webhook_timeout_s))
            self.detector = Detector(
                self.store,
                load_serving_model(detection),
                load_policies(detection.policies),
                sinks=self.sinks,
                max_wait_s=detection.max_wait_s,
            )

    async def run(self) -> None:
        """Run until :meth:`stop`; flush and close the store on the way out."""
        interval = self.config.store.flush_interval_s
        tasks = [
            asyncio.ensure_future(self.ingestor.run(self.stop_event, interval)),
            asyncio.ensure_future(self.manager.run(self.stop_event)),
            asyncio.ensure_future(self._housekeeping()),
        ]
        if self.detector is not None:
            tasks.append(asyncio.ensure_future(self.detector.run(self.stop_event)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for sink in self.sinks:
                if isinstance(sink, WebhookSink):
                    # Bounded: a dead webhook must not hold the shutdown (alerts are stored).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(sink.drain(), 10.0)
            self.ingestor.flush()
            self._write_status()
            self.store.checkpoint()
            self.store.close()
            logger.info("gateway stopped", extra={"records": self.ingestor.flushed})

    def stop(self) -> None:
        self.stop_event.set()

    async def _housekeeping(self) -> None:
        """Status file every few seconds; retention every minute."""
        ticks = 0
        while not self.stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), 2.0)
            self._record_last_seen()
            self._write_status()
            ticks += 1
            if ticks % 30 == 0:
                self.ingestor.flush()
                result = self.store.enforce_retention()
                logger.info("retention", extra={"result": str(result)})

    def _record_last_seen(self) -> None:
        for device, state in self.ingestor.devices.items():
            if state.last_data_ms and state.last_data_ms != self._last_seen.get(device):
                self.store.upsert_device(device, last_seen_ms=state.last_data_ms)
                self._last_seen[device] = state.last_data_ms

    def status(self) -> dict[str, Any]:
        return {
            "links": [link.describe() for link in self.manager.links.values()],
            "rejections": {
                f"{device}/{reason}": count
                for (device, reason), count in self.ingestor.rejections.counts().items()
            },
            "records_ingested": self.ingestor.flushed,
            "detection": None if self.detector is None else self.detector.describe(),
        }

    def _write_status(self) -> None:
        path = Path(self.config.store.path).parent / STATUS_FILE
        tmp = path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(self.status(), indent=1), encoding="utf-8")
            tmp.replace(path)


async def run_service(config: GatewayConfig) -> int:
    """Run the gateway until SIGTERM or SIGINT; return the exit code."""
    loop = asyncio.get_running_loop()
    async with open_backends(config) as backends:
        gateway = Gateway(config, backends)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, gateway.stop)
        logger.info(
            "gateway started",
            extra={"store": str(config.store.path), "radio": config.ble.radio or "system"},
        )
        await gateway.run()
    return 0
