"""Run a block under a given umask (process-wide, so restored on the way out)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Set the process's umask to ``mask`` for the block, then restore the previous one."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)
