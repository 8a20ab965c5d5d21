"""Errors raised by the local store. Every message says what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store cannot do what was asked (the message says what to do)."""


class StoreVersionError(StoreError):
    """The store file was written by a newer gateway (its schema version is unknown here)."""


class StoreNotFoundError(StoreError):
    """A read-only command was given a path where there is no store file."""


class NotAStoreError(StoreError):
    """The file is empty, not SQLite, or a SQLite database that is not a gateway store."""


class StoreWalMissingError(StoreError):
    """The file was copied from a running gateway without its ``-wal``: commits are missing."""


class StoreDamagedError(StoreError):
    """SQLite found corrupt pages (``PRAGMA quick_check`` or a read failed)."""


class StoreLockedError(StoreError):
    """Another gateway process holds the store's lock (the message names its PID)."""


class ReviewRefused(StoreError):
    """A review action would change a clinician's verdict without reopening the alert."""
