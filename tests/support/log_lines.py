"""What the log-redaction tests look for in emitted text, and a clean root logger after.

The pattern is written independently of ``gateway.logs.DEVICE_ADDRESS`` (and broader:
any case, ``:`` or ``-``), so a narrowed redaction pattern fails the tests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

#: Anything shaped like a MAC (Bluetooth device) address.
MAC_SHAPED = re.compile(r"[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}", re.IGNORECASE)


@contextmanager
def root_logger_restored() -> Iterator[None]:
    """Put the root logger's handlers, level and warning capture back on exit
    (``gateway.logs.configure_logging`` replaces them for the whole process)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
