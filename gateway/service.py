"""The gateway background service: radio, links, ingest and store under one event loop.

``service_run`` is what ``wearable gateway run`` executes: it opens the store (resuming
from whatever is there), attaches to the radio, scans and keeps every device linked, and
on SIGTERM or SIGINT flushes, checkpoints the WAL and returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from gateway.alerts.sinks import AlertSink, LogSink, WebhookSink
from gateway.ble.manager import ConnectionManager
from gateway.config import DetectionConfig, GatewayConfig
from gateway.detection.engine import Detector
from gateway.ingest import Ingestor, now_ms
from gateway.model_update.delivery import UpdateResult
from gateway.model_update.installed import ModelDirectory
from gateway.store import Store, StoreLock
from gateway.sync.engine import CycleReport, SyncEngine
from gateway.sync.setup import sync_engine_build
from wearable_core.assessment.policy import policies_load
from wearable_core.model.model_file import LoadedModel, model_load
from wearable_core.model.runtime import ModelError

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
async def backends_open(config: GatewayConfig) -> AsyncIterator[Backends]:
    """The system's Bluetooth adapter, or a bumble radio hub when ``ble.radio`` is set."""
    if not config.ble.radio:
        yield Backends()
        return
    from bumble_radio.bleak_backend import BumbleAdapter

    keystore = Path(config.store.path).parent / KEYSTORE_FILE
    passkeys = dict(config.ble.passkeys)
    async with BumbleAdapter.open_hub(
        config.ble.radio, keystore_path=keystore, passkey=lambda address: passkeys.get(address)
    ) as adapter:
        yield Backends(adapter.scanner_backend, adapter.client_backend)


def serving_model_load(config: DetectionConfig) -> LoadedModel | None:
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


def serving_model(config: GatewayConfig) -> LoadedModel | None:
    """The model to serve at start: the last delivered one, else the configured one.

    A delivered model (``models.dir``) passed signature, hash and canary checks when it
    was installed; if it no longer loads, the previous delivered model is tried before
    falling back to :func:`serving_model_load`.
    """
    directory = ModelDirectory(config.models_dir)
    for installed in (directory.current(), directory.previous()):
        if installed is None:
            continue
        try:
            return model_load(installed.path)
        except ModelError as exc:
            logger.error(
                "delivered model refused at start",
                extra={"model": str(installed.path), "error": str(exc)},
            )
    return serving_model_load(config.detection)


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
        self._status_write_failed = False
        self.sinks: list[AlertSink] = []
        self.detector: Detector | None = None
        detection = config.detection
        if detection.enabled:
            self.sinks.append(LogSink())
            if detection.webhook_url:
                self.sinks.append(WebhookSink(detection.webhook_url, detection.webhook_timeout_s))
            self.detector = Detector(
                self.store,
                serving_model(config),
                policies_load(detection.policies),
                sinks=self.sinks,
                max_wait_s=detection.max_wait_s,
                hop_s=detection.hop_s,
                record_windows=bool(config.sync.bucket),
                clock=clock,
            )
        self.clock = clock
        self.last_sync: CycleReport | None = None
        # The sync engine blocks on the network, so it runs in its own thread with its
        # own store connection (SQLite connections stay in the thread that made them).
        self._sync_thread = ThreadPoolExecutor(1, thread_name_prefix="sync")
        self._sync_engine: SyncEngine | None = None

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
        if self.config.sync.bucket:
            tasks.append(asyncio.ensure_future(self._sync_loop()))
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
            await asyncio.get_running_loop().run_in_executor(self._sync_thread, self._sync_close)
            self._sync_thread.shutdown(wait=True)
            self.store.checkpoint()
            self.store.close()
            logger.info("gateway stopped", extra={"records": self.ingestor.flushed})

    def stop(self) -> None:
        self.stop_event.set()

    # -- sync (runs in the sync thread) -----------------------------------------------

    def _serving_version(self) -> str:
        model = None if self.detector is None else self.detector.model
        return "" if model is None else model.manifest.version

    def sync_once(self, *, flush: bool = False) -> CycleReport | None:
        """One sync cycle, in the sync thread's store connection (``None``: no bucket)."""
        if self._sync_engine is None:
            store = Store(self.config.store.path, budget_bytes=self.config.store.budget_bytes)
            self._sync_engine = sync_engine_build(
                self.config,
                store,
                serving_version=self._serving_version,
                clock=self.clock,
                counters=self._counters,
            )
            if self._sync_engine is None:
                store.close()
                return None
        return self._sync_engine.run_once(flush=flush)

    async def sync_now(self, *, flush: bool = False) -> CycleReport | None:
        """Run one sync cycle now, in the sync thread, and swap in a delivered model.

        ``flush`` batches every window summary not yet batched, whatever its age (a
        gateway about to go offline, or the demo handing its data to the training job).
        """
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(self._sync_thread, lambda: self.sync_once(flush=flush))
        if report is not None:
            self.last_sync = report
            self._swap_model(report.model)
        return report

    def _counters(self) -> dict[str, int | float | str]:
        """Service counters for the diagnostics batch: counts, never device identifiers."""
        counters: dict[str, int | float | str] = {
            "records_ingested": self.ingestor.flushed,
            "links": len(self.manager.links),
        }
        if self.detector is not None:
            counters["windows_assessed"] = self.detector.windows_assessed
            counters["alerts_opened"] = self.detector.alerts_opened
            counters["model_version"] = self._serving_version()
        return counters

    def _sync_close(self) -> None:
        if self._sync_engine is not None:
            self._sync_engine.store.close()
            self._sync_engine = None

    async def _sync_loop(self) -> None:
        """A sync cycle every ``sync.interval_s``; a delivered model is swapped in here."""
        while not self.stop_event.is_set():
            try:
                report = await self.sync_now()
            except Exception:
                logger.exception("sync cycle failed; retrying at the next interval")
                report = None
            if report is not None:
                logger.info("sync cycle", extra={"sync": report.as_dict()})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), self.config.sync.interval_s)

    def _swap_model(self, result: object) -> None:
        if not isinstance(result, UpdateResult) or result.installed is None:
            return
        if result.status != "installed" or self.detector is None:
            return
        try:
            model = model_load(result.installed.path)
        except ModelError as exc:  # it passed the canary: only a broken disk gets here
            logger.error("installed model failed to load; keeping the serving one: %s", exc)
            return
        old = self._serving_version()
        self.detector.set_model(model)
        logger.info(
            "model swapped", extra={"from_version": old, "to_version": model.manifest.version}
        )

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
                result = self.store.retention.enforce()
                logger.info("retention", extra={"result": str(result)})

    def _record_last_seen(self) -> None:
        for device, state in self.ingestor.devices.items():
            if state.last_data_ms and state.last_data_ms != self._last_seen.get(device):
                self.store.devices.upsert(device, last_seen_ms=state.last_data_ms)
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
            "sync": None if self.last_sync is None else self.last_sync.as_dict(),
        }

    def _write_status(self) -> None:
        """Replace the status file atomically; on failure keep the last one, leave no temp.

        The status file is a convenience for ``gateway status``: failing to write it (a
        full disk) must not stop the service, but is logged once until a write succeeds.
        """
        path = Path(self.config.store.path).parent / STATUS_FILE
        try:
            text_write_atomic(path, json.dumps(self.status(), indent=1))
        except OSError as error:
            if not self._status_write_failed:
                logger.warning(
                    "cannot write the status file; `gateway status` shows stale link state",
                    extra={"path": str(path), "error": str(error)},
                )
            self._status_write_failed = True
        else:
            self._status_write_failed = False


def text_write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: readers see the old or the new file, never a part.

    The temporary file beside it is removed when the write fails (a full disk), so a
    failure leaves the previous file and nothing else. Not fsynced: the status file is
    rewritten every few seconds and worthless after a crash.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


async def service_run(config: GatewayConfig) -> int:
    """Run the gateway until SIGTERM or SIGINT; return the exit code.

    Holds the store's exclusive lock (:class:`gateway.store.lock.StoreLock`) for the
    whole run, taken before anything else; :class:`StoreLockedError` (naming the PID of
    the gateway that holds it) when another gateway runs on the same store.
    """
    loop = asyncio.get_running_loop()
    with StoreLock(Path(config.store.path)):
        async with backends_open(config) as backends:
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
