"""Fixtures of the feature tests."""

from ._support import simulated

__all__ = ["simulated"]
