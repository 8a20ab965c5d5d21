"""The local store: SQLite in WAL mode, idempotent, bounded.

``export_store`` lives in :mod:`gateway.store.export` (it pulls in the payload decoders,
which the ingest path does not need).
"""

from gateway.store.errors import ReviewRefused, StoreError, StoreVersionError
from gateway.store.retention import RetentionResult
from gateway.store.store import DeviceStatus, Gap, Rejection, Store, StoreUsage

__all__ = [
    "DeviceStatus",
    "Gap",
    "Rejection",
    "RetentionResult",
    "ReviewRefused",
    "Store",
    "StoreError",
    "StoreUsage",
    "StoreVersionError",
]
