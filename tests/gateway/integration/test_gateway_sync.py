"""The running gateway syncs on its own and swaps in a newly published, signed model.

Real parts throughout: simulated watches on the bumble radio, the service with
detection, a local-directory bucket, and a release published by the training side's
``release_publish`` with a freshly generated signing key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from importlib import resources
from pathlib import Path

import pytest

from bumble_radio.bleak_backend import BumbleAdapter
from bumble_radio.local import VirtualRadio
from cloud_training.publish import release_publish
from firmware_sim.farm import FarmOptions, local_farm
from firmware_sim.scenario import scenario_parse
from firmware_sim.simclock import SimClock
from firmware_sim.watch import RadioQuality
from gateway.config import GatewayConfig, ModelsConfig, SyncConfig
from gateway.service import STATUS_FILE, Backends, Gateway
from wearable_core.buckets import bucket_open
from wearable_core.contracts.aggregate_batch import BatchKind, batch_decode
from wearable_core.contracts.model_release import keypair_generate, private_key_parse

pytestmark = pytest.mark.integration

SCENARIO = '[scenario]\nseed = 23\nwatches = 2\nduration = "8min"\n'


async def _until(condition: object, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_service_syncs_aggregates_and_hot_swaps_a_published_model(tmp_path: Path) -> None:
    pem, public = keypair_generate()
    bucket_dir = tmp_path / "bucket"
    bucket = bucket_open(str(bucket_dir))
    package = resources.files("wearable_core").joinpath("models")
    model_bytes = package.joinpath("baseline.tflite").read_bytes()
    manifest = json.loads(package.joinpath("baseline.json").read_text("utf-8"))
    manifest["version"] = "retrained-2"
    release_publish(bucket, model_bytes, manifest, private_key_parse(pem))

    base = GatewayConfig()
    config = dataclasses.replace(
        base,
        store=dataclasses.replace(base.store, path=tmp_path / "store.sqlite", flush_interval_s=0.1),
        ble=dataclasses.replace(base.ble, radio="", watchdog_s=10.0),
        # Every window uploaded: the test is about sync and the swap. With the default
        # 1-in-10 sample and a random pseudonym key, all ~15 unremarkable windows of this
        # run are left out with probability 0.9**15 ~ 0.2 (a CI run on 2026-12-07).
        sync=SyncConfig(
            bucket=str(bucket_dir), interval_s=1.0, batch_interval_s=0.0, sample_every=1
        ),
        models=ModelsConfig(public_key=public, dir=tmp_path / "models"),
    )
    radio = VirtualRadio()
    speed = 30.0
    clock = SimClock(speed)
    adapter = BumbleAdapter.on_local(radio, keystore_path=tmp_path / "bonds.json")
    await adapter.start()
    try:
        scenario = scenario_parse(SCENARIO)
        start_ms = round(scenario.start_epoch_s * 1000)
        async with local_farm(
            scenario, FarmOptions(speed=speed, quality=RadioQuality()), radio, clock
        ) as farm:
            gateway = Gateway(
                config,
                Backends(adapter.scanner_backend, adapter.client_backend),
                clock=lambda: start_ms + round(clock.now() * 1000),
            )
            assert gateway.detector is not None
            start_version = gateway.detector.model.manifest.version  # type: ignore[union-attr]
            serving = asyncio.ensure_future(gateway.run())
            try:
                running = asyncio.ensure_future(farm.run())
                await _until(lambda: gateway._serving_version() == "retrained-2")
                await _until(lambda: any(i.name.startswith("aggregates/") for i in bucket.list()))
                await running
            finally:
                gateway.stop()
                await serving
    finally:
        await adapter.close()

    assert start_version != "retrained-2"
    assert (tmp_path / "models" / "current.json").exists()
    aggregates = [
        batch_decode(bucket.read(i.name)[0])
        for i in bucket.list()
        if i.name.startswith("aggregates/")
    ]
    assert all(b.kind is BatchKind.AGGREGATES for b in aggregates)
    versions = {m for b in aggregates for m in b.models}
    assert versions <= {start_version, "retrained-2"} and versions
    [diagnostics] = [
        batch_decode(bucket.read(i.name)[0]).diagnostics for i in bucket.list("diagnostics/")
    ]
    assert {"records_ingested", "links", "windows_assessed", "model_version"} <= set(diagnostics)
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    assert status["sync"] is not None and status["sync"]["error"] is None
