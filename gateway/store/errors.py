"""Errors raised by the local store. Every message says what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store cannot do what was asked (the message says what to do)."""


class StoreVersionError(StoreError):
    """The store file was written by a newer gateway (its schema version is unknown here)."""


class ReviewRefused(StoreError):
    """A review action would change a clinician's verdict without reopening the alert."""
