"""Keyed pseudonyms: HMAC-SHA256 under a per-install secret that never leaves the gateway.

The secret is 32 random bytes in its own file beside the store (not inside it, so an
export of the store for the clinic never carries it), created on first use with mode
0600. Without the secret a pseudonym cannot be linked back to a device, and two gateways
give the same device different pseudonyms. Rotating the key (:func:`key_rotate`) starts
new, unlinkable pseudonyms; see ``docs/privacy.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from pathlib import Path

from wearable_core.private_files import private_dir, private_write

#: Bytes of secret; HMAC-SHA256 gains nothing from a longer key.
KEY_BYTES = 32


class PseudonymKeyError(RuntimeError):
    """The key file cannot be read or is malformed (the message names the file)."""


class PseudonymKey:
    """Derives every pseudonymous identifier the gateway uploads.

    Examples
    --------
    >>> key = PseudonymKey(bytes(32))
    >>> key.device("C4:12:34:56:78:9A") == key.device("c4:12:34:56:78:9a")
    True
    >>> len(key.device("C4:12:34:56:78:9A"))
    32
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise PseudonymKeyError(f"a pseudonym key is {KEY_BYTES} bytes, got {len(secret)}")
        self._secret = secret

    def _mac(self, *parts: str) -> str:
        message = "\x00".join(parts).encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def device(self, address: str) -> str:
        """The pseudonym of a device (and of the person wearing it): 32 hex digits."""
        return self._mac("device", address.upper())[:32]

    def alert(self, address: str, alert_id: int) -> str:
        """A pseudonymous id for one alert, stable across its status changes."""
        return self._mac("alert", address.upper(), str(alert_id))[:24]

    def windows(self, address: str, first_start_ms: int, last_start_ms: int, count: int) -> str:
        """An opaque id for one batch of a device's windows: 24 hex digits.

        The same windows always get the same id (a batch rebuilt after a crash has the
        same bytes), different windows a different one; the cloud learns nothing from it.
        """
        parts = (address.upper(), str(first_start_ms), str(last_start_ms), str(count))
        return self._mac("windows", *parts)[:24]

    def gateway(self) -> str:
        """The pseudonym of this gateway install (diagnostics batches)."""
        return self._mac("gateway")[:32]

    def draw(self, address: str, start_ms: int) -> int:
        """A keyed pseudo-random 32-bit number for one window of one device.

        Used to sample unremarkable windows and to shuffle windows within an hour: the
        cloud cannot predict or invert it, and the same window always gets the same
        number (so a rebuilt batch has the same bytes).
        """
        return int(self._mac("window", address.upper(), str(start_ms))[:8], 16)

    def fingerprint(self) -> str:
        """A short, non-reversible id of the key (for status output, never uploaded)."""
        return self._mac("fingerprint")[:8]

    @classmethod
    def load(cls, path: Path) -> PseudonymKey:
        """Read the key at ``path``, never creating it (for the read-only commands).

        Raises
        ------
        FileNotFoundError
            No key at ``path`` (the gateway has not created one yet).
        PseudonymKeyError
            The file cannot be read or is not a key.
        """
        return cls(_read(path))

    @classmethod
    def load_or_create(cls, path: Path) -> PseudonymKey:
        """Read the key at ``path``, creating it (mode 0600, atomically) if absent."""
        try:
            return cls.load(path)
        except FileNotFoundError:
            pass
        private_dir(path.parent)
        # A concurrent creator's key wins if it was first: both then read the same key.
        with contextlib.suppress(FileExistsError):
            private_write(path, secrets.token_bytes(KEY_BYTES), exclusive=True)
        return cls(_read(path))


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read the pseudonym key {path}: {exc}") from exc
    if len(data) != KEY_BYTES:
        raise PseudonymKeyError(
            f"{path} holds {len(data)} bytes, a pseudonym key is {KEY_BYTES}: restore it from "
            "backup, or rotate (`wearable gateway rotate-key`) to start new pseudonyms"
        )
    return data


def key_rotate(path: Path) -> PseudonymKey:
    """Replace the key at ``path`` with a fresh one; later uploads use new pseudonyms.

    The old key is overwritten, not kept: keeping it would let anyone holding both link
    old and new pseudonyms, which is what rotation is meant to prevent. Raises
    :class:`PseudonymKeyError` when the key's directory does not exist: a rotation
    belongs to an existing gateway, and a mistyped path must not grow a new one.
    """
    if not path.parent.is_dir():
        raise PseudonymKeyError(
            f"cannot rotate {path}: the directory {path.parent} does not exist; pass the "
            "store (or privacy.key_file) of an existing gateway"
        )
    secret = secrets.token_bytes(KEY_BYTES)
    private_write(path, secret)
    return PseudonymKey(secret)
