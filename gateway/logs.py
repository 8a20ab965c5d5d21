"""Structured logs: one JSON object per line, with the ``extra`` fields of each call.

With ``log.redact`` on (the service's default) every line passes through one
:class:`AddressRedactor` after it is formatted, whatever logger wrote it and wherever
the address sits (message, arguments, ``extra`` fields, a traceback): each device
address becomes the device's pseudonym, the one sync uploads
(:meth:`gateway.privacy.pseudonym.PseudonymKey.device`). Redacting the finished text
rather than chosen fields means a new log line that passes an address needs no care to
stay redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

#: A Bluetooth device address (EUI-48): six hex octets separated by ":" (BlueZ, bumble)
#: or "-". No word boundaries: an address glued to other text is redacted too.
DEVICE_ADDRESS: Final = re.compile(r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}")
#: What an address becomes while no pseudonym key is loaded (redaction fails closed).
REDACTED: Final = "<device>"


class AddressRedactor:
    """Replaces every device address in a text with the device's pseudonym.

    Until :meth:`load_key` (or ``pseudonym``) gives it a key, every address becomes
    :data:`REDACTED`: a line logged before the key is read, or because it cannot be
    read, still carries no address.

    Examples
    --------
    >>> redactor = AddressRedactor()
    >>> redactor.redact("alert opened: fall on C4:12:34:56:78:9A/P")
    'alert opened: fall on <device>/P'
    >>> redactor.pseudonym = lambda address: "p-" + address[-2:]
    >>> redactor.redact('{"device":"c4-12-34-56-78-9a"}')
    '{"device":"p-9A"}'
    """

    def __init__(self, pseudonym: Callable[[str], str] | None = None) -> None:
        self.pseudonym = pseudonym

    def load_key(self, path: Path) -> None:
        """Use the pseudonyms of the key at ``path`` (created, mode 0600, if absent).

        Raises
        ------
        gateway.privacy.pseudonym.PseudonymKeyError
            The key file is unreadable or malformed (the message names the fix).
        OSError
            The key's directory cannot be created or written.
        """
        from gateway.privacy.pseudonym import PseudonymKey

        self.pseudonym = PseudonymKey.load_or_create(path).device

    def redact(self, text: str) -> str:
        """``text`` with each device address replaced by its pseudonym."""
        pseudonym = self.pseudonym
        if pseudonym is None:
            return DEVICE_ADDRESS.sub(REDACTED, text)
        # One device, one pseudonym, however the address was written.
        return DEVICE_ADDRESS.sub(
            lambda match: pseudonym(match.group(0).replace("-", ":").upper()), text
        )


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON: time, level, logger, message and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"))


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then redacts device addresses from the finished line."""

    def __init__(self, inner: logging.Formatter, redactor: AddressRedactor) -> None:
        super().__init__()
        self.inner = inner
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    file: str | Path | None = None,
    *,
    redactor: AddressRedactor | None = None,
) -> None:
    """Route the root logger to stderr (or ``file``) in ``fmt`` ("json" or "text").

    With a ``redactor`` every line is redacted after formatting (``log.redact``).
    """
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8") if file else logging.StreamHandler(sys.stderr)
    )
    formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(formatter if redactor is None else RedactingFormatter(formatter, redactor))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # bumble logs every PDU at DEBUG; it is never what an operator wants here.
    logging.getLogger("bumble").setLevel(max(logging.INFO, root.level))
