"""The local store: SQLite in WAL mode, idempotent, bounded (``docs/store.md``).

:class:`Store` opens the file and exposes one repository per group of tables
(``store.records``, ``store.devices``, ``store.alerts``, ...); everything a caller
outside this package needs is exported here, and the modules inside are the package's
own (an import-linter contract in ``pyproject.toml`` keeps it so).

``store_export`` lives in :mod:`gateway.store.export` (it pulls in the payload decoders,
which the ingest path does not need).
"""

from gateway.store.alerts import ALERT_STATUSES, EVIDENCE_MARGIN_MS, AlertRow, Alerts
from gateway.store.detection_state import DetectionStates
from gateway.store.devices import DEVICE_KINDS, Devices, DeviceStatus, Rejection
from gateway.store.errors import (
    NotAStoreError,
    ReviewRefused,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
    StoreVersionError,
    StoreWalMissingError,
)
from gateway.store.lock import StoreLock, lock_path
from gateway.store.outbox import Outbox, OutboxItem, OutboxUsage, StoredWindow, WindowSummary
from gateway.store.privacy_budget import PrivacyBudget
from gateway.store.quality_events import DataQualityRow, QualityEvents
from gateway.store.readonly import store_file_check
from gateway.store.records import (
    FLUSH_ROWS,
    RESERVED_UNUSED,
    Gap,
    RecordLog,
    RecordTotals,
    StreamHorizon,
)
from gateway.store.retention import Retention, RetentionResult, StoreUsage
from gateway.store.review import ACTIONS, VERDICTS, VerdictTransition, review_next_status
from gateway.store.store import Store, store_read_error
from gateway.store.sync_status import SyncStatus

__all__ = [
    "ACTIONS",
    "ALERT_STATUSES",
    "DEVICE_KINDS",
    "EVIDENCE_MARGIN_MS",
    "FLUSH_ROWS",
    "RESERVED_UNUSED",
    "VERDICTS",
    "AlertRow",
    "Alerts",
    "DataQualityRow",
    "DetectionStates",
    "DeviceStatus",
    "Devices",
    "Gap",
    "NotAStoreError",
    "Outbox",
    "OutboxItem",
    "OutboxUsage",
    "PrivacyBudget",
    "QualityEvents",
    "RecordLog",
    "RecordTotals",
    "Rejection",
    "Retention",
    "RetentionResult",
    "ReviewRefused",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "StoreLock",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreUsage",
    "StoreVersionError",
    "StoreWalMissingError",
    "StoredWindow",
    "StreamHorizon",
    "SyncStatus",
    "VerdictTransition",
    "WindowSummary",
    "lock_path",
    "review_next_status",
    "store_file_check",
    "store_read_error",
]
