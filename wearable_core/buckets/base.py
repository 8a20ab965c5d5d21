"""One bucket interface for the gateway's sync and the cloud training job.

Two implementations are chosen by URL (:func:`wearable_core.buckets.bucket_open`):
``gs://bucket/prefix`` through google-cloud-storage, and a local directory (``file://...``
or a plain path) as the zero-setup default. Both give the same guarantees, proved by one
contract test suite (``tests/wearable_core/buckets/test_contract.py``):

- writes are atomic: a reader sees the whole old object or the whole new one;
- :meth:`Bucket.create` is create-only, so a retried upload can never duplicate;
- :meth:`Bucket.replace` is a compare-and-swap on the object's generation, which is how a
  small pointer (the serving model) is moved without lost updates; a retry after a lost
  response recognises the write it already made and reports success.

Object names are relative to the bucket URL's prefix and use ``/`` separators.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class BucketError(Exception):
    """Base class of every bucket failure; ``url`` says which bucket."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class BucketConfigError(BucketError, ValueError):
    """The bucket URL cannot be used (the message names the URL and the fix)."""


class BucketUnavailable(BucketError):
    """A transient failure (network, 5xx, 429, timeout) that survived the client's retries.

    Safe to retry later: every write the interface offers is idempotent or guarded.
    """


class ObjectNotFound(BucketError):
    """The named object does not exist."""

    def __init__(self, name: str, *, url: str = "") -> None:
        super().__init__(f"{url}: no object {name!r}", url=url)
        self.name = name


class GenerationMismatch(BucketError):
    """A guarded write or delete lost the race: the object's generation was not the one
    expected (``actual`` is 0 when the object does not exist, ``None`` when unknown)."""

    def __init__(self, name: str, expected: int, actual: int | None, *, url: str = "") -> None:
        super().__init__(
            f"{url}: {name!r} is at generation {actual}, expected {expected}: "
            "someone else wrote it; re-read and retry",
            url=url,
        )
        self.name = name
        self.expected = expected
        self.actual = actual


class ObjectConflict(BucketError):
    """A create-only write found an object of that name with *different* bytes.

    Object names are derived from content, so this means corruption or a naming bug,
    never a retry: nothing is overwritten.
    """

    def __init__(self, name: str, *, url: str = "") -> None:
        super().__init__(
            f"{url}: {name!r} already exists with different content; nothing was overwritten",
            url=url,
        )
        self.name = name


class Created(enum.Enum):
    """Outcome of :meth:`Bucket.create`."""

    #: This call wrote the object.
    CREATED = "created"
    #: An object with the same name and the same bytes was already there (for example a
    #: retry after a crash or a lost response): nothing was written, nothing is missing.
    ALREADY_PRESENT = "already_present"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object's name (relative to the bucket prefix), size in bytes and generation.

    Generations are positive integers that change on every write of the name.
    """

    name: str
    size: int
    generation: int


@runtime_checkable
class Bucket(Protocol):
    """What the gateway and the training job need from object storage."""

    @property
    def url(self) -> str:
        """The URL this bucket was opened from (no credentials in it)."""
        ...

    def create(self, name: str, data: bytes) -> Created:
        """Write ``data`` at ``name`` only if no object has that name (``if_generation_match=0``).

        Returns :attr:`Created.ALREADY_PRESENT` when the same bytes are already there;
        raises :class:`ObjectConflict` when different bytes are, :class:`BucketUnavailable`
        on transient failure.
        """
        ...

    def read(self, name: str) -> tuple[bytes, int]:
        """The object's bytes and generation; :class:`ObjectNotFound` if absent."""
        ...

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        """Write ``data`` at ``name`` only if its generation is ``if_generation`` (0: only if
        absent). Returns the new generation; raises :class:`GenerationMismatch` otherwise.

        A write that landed but whose response was lost is this call's success, not a
        mismatch: the implementation recognises its own write (``GcsBucket`` by a write id
        in the object's metadata) and returns its generation.
        """
        ...

    def stat(self, name: str) -> ObjectInfo | None:
        """The object's info, or ``None`` if absent."""
        ...

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose name starts with ``prefix``, sorted by name."""
        ...

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        """Delete ``name`` (guarded by generation when given); :class:`ObjectNotFound` if
        absent."""
        ...


#: Top-level directory of a local bucket that holds its lock, counter and temp files.
#: Object names may not start with it, in either implementation, so a bucket's names
#: stay portable between a local directory and GCS.
RESERVED_PREFIX = ".bucket-meta"


def object_name_check(name: str, *, url: str = "") -> str:
    """Return ``name`` if it is a valid object name, else raise :class:`BucketError`.

    Valid names are non-empty, relative, ``/``-separated paths without empty, ``.`` or
    ``..`` segments, NUL bytes or backslashes, and do not start with
    :data:`RESERVED_PREFIX`. Both implementations apply the same rule so an object that
    can be written to one bucket can be copied to the other.
    """
    problem = ""
    if not name:
        problem = "is empty"
    elif name.startswith("/"):
        problem = "is absolute (starts with '/')"
    elif "\x00" in name or "\\" in name:
        problem = "contains a NUL byte or a backslash"
    else:
        segments = name.split("/")
        if any(s in ("", ".", "..") for s in segments):
            problem = "has an empty, '.' or '..' segment"
        elif segments[0] == RESERVED_PREFIX:
            problem = f"starts with the reserved {RESERVED_PREFIX!r} directory"
    if problem:
        raise BucketError(
            f"{url}: invalid object name {name!r}: it {problem}; use a relative 'a/b/c' name",
            url=url,
        )
    return name
