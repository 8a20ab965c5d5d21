"""Build the sync engine (and the model updater) from the gateway's configuration.

Shared by the service (periodic cycles) and ``wearable gateway sync`` (one cycle, for
cron and tests), so both sync exactly the same way.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from gateway.config import GatewayConfig
from gateway.model_update.delivery import ModelUpdater
from gateway.model_update.installed import ModelDirectory
from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from gateway.sync.engine import SyncEngine, SyncSettings
from gateway.sync.network import NetworkState, network_parse
from wearable_core.buckets import bucket_open
from wearable_core.buckets.base import Bucket
from wearable_core.contracts.model_release import public_key_parse

logger = logging.getLogger(__name__)


def sync_settings(config: GatewayConfig) -> SyncSettings:
    """The engine's settings from ``[sync]`` and ``[privacy]``."""
    sync, privacy = config.sync, config.privacy
    return SyncSettings(
        batch_interval_s=sync.batch_interval_s,
        sample_every=sync.sample_every,
        outbox_budget_bytes=sync.outbox_budget_bytes,
        backoff_base_s=sync.backoff_base_s,
        backoff_cap_s=sync.backoff_cap_s,
        dp_epsilon=privacy.dp_epsilon or None,
        dp_budget_per_day=privacy.dp_budget_per_day,
    )


def sync_engine_build(
    config: GatewayConfig,
    store: Store,
    *,
    serving_version: Callable[[], str],
    clock: Callable[[], int] | None = None,
    network: Callable[[], NetworkState] | None = None,
    bucket: Bucket | None = None,
    rng: random.Random | None = None,
    counters: Callable[[], dict[str, int | float | str]] | None = None,
) -> SyncEngine | None:
    """The configured sync engine, or ``None`` when ``sync.bucket`` is empty.

    Parameters
    ----------
    config
        The gateway configuration (``sync.bucket`` must be set unless ``bucket`` is).
    store
        The store the engine reads and writes (in the thread that will run it).
    serving_version
        The model version the gateway serves now (for the model updater).
    clock
        Gateway clock in Unix ms (default: the system clock).
    network
        Network state provider (default: the fixed ``sync.network``).
    bucket
        An already open bucket (tests); default: ``bucket_open(sync.bucket)``.
    rng
        Backoff jitter source.
    counters
        The running service's counters for the diagnostics batch (counts only).
    """
    if bucket is None:
        if not config.sync.bucket:
            return None
        bucket = bucket_open(config.sync.bucket, retry_deadline_s=config.sync.retry_deadline_s)
    fixed = network_parse(config.sync.network)
    updater = None
    if config.models.public_key:
        updater = ModelUpdater(
            bucket,
            ModelDirectory(config.models_dir),
            public_key_parse(config.models.public_key),
            serving_version=serving_version,
        )
    return SyncEngine(
        store,
        PseudonymKey.load_or_create(config.key_file),
        bucket,
        sync_settings(config),
        network=network or (lambda: fixed),
        models=updater,
        clock=clock,
        rng=rng,
        counters=counters,
    )
