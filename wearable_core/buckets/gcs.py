"""A bucket in Google Cloud Storage (or the fake-gcs-server emulator), via google-cloud-storage.

Retries: reads, lists and stats use the library's ``DEFAULT_RETRY``; every write uses the
library's ``ConditionalRetryPolicy`` keyed on a generation precondition, so a write is
retried only when it carries ``ifGenerationMatch`` (and is therefore idempotent). All of
``create`` and ``replace`` do; an unguarded ``delete`` does not and is never retried.
Both policies stop after ``retry_deadline_s``; what is still failing then is raised as
:class:`~wearable_core.buckets.base.BucketUnavailable`.

A lost response (the server wrote the object, the reply never arrived) makes the retry of
a write hit 412. ``create`` then reads the object and answers ``ALREADY_PRESENT`` when
the bytes are ours. ``replace`` tags every write with a fresh random id in the object's
custom metadata (:data:`WRITE_ID_KEY`); on 412 it reads the object's metadata, and when
the id is its own the write landed: it returns that generation instead of raising
:class:`~wearable_core.buckets.base.GenerationMismatch`. Comparing bytes would not do:
another writer can store the same bytes, and then this compare-and-swap really lost.

Emulator: when ``STORAGE_EMULATOR_HOST`` is set (when the bucket is constructed), the
client talks to that endpoint with anonymous credentials and a dummy project. Known
fake-gcs-server gaps, none of which affect real GCS:

- it ignores preconditions on resumable uploads, which the library uses above 8 MiB
  (``google.cloud.storage.blob._MAX_MULTIPART_SIZE``); our objects are far smaller and go
  as one multipart request, where preconditions are honoured;
- it ignores ``ifGenerationMatch`` (and ``generation``) on DELETE, which is why a guarded
  :meth:`GcsBucket.delete` also checks the generation itself first (see there).
"""

from __future__ import annotations

import http.client
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import requests
import urllib3.exceptions
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from google.cloud.storage.exceptions import InvalidResponse
from google.cloud.storage.retry import (
    DEFAULT_RETRY,
    ConditionalRetryPolicy,
    is_generation_specified,
)

from wearable_core.buckets.base import (
    BucketConfigError,
    BucketError,
    BucketUnavailable,
    Created,
    GenerationMismatch,
    ObjectConflict,
    ObjectInfo,
    ObjectNotFound,
    object_name_check,
)

_T = TypeVar("_T")

#: Project used with the emulator, which accepts any.
EMULATOR_PROJECT = "wearable-emulator"
#: Custom metadata key holding the random id of the ``replace`` that wrote the object, so
#: a retried write whose first response was lost recognises its own object.
WRITE_ID_KEY = "wearable-write-id"

#: Failures that mean "try later": what the library's own retry predicate retries, plus
#: :class:`RetryError` (the retry deadline ran out on one of them).
_TRANSIENT: tuple[type[BaseException], ...] = (
    api_exceptions.RetryError,
    api_exceptions.ServerError,  # 5xx, including ServiceUnavailable
    api_exceptions.TooManyRequests,  # 429
    api_exceptions.RequestRangeNotSatisfiable,  # object changed under a resumed download
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    auth_exceptions.TransportError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    InvalidResponse,  # e.g. a checksum mismatch on download
)


def _emulator_endpoint() -> str | None:
    host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip()
    if not host:
        return None
    # The variable is often given as host:port; the client needs a full base URL.
    return host if "://" in host else f"http://{host}"


class GcsBucket:
    """A :class:`~wearable_core.buckets.base.Bucket` on ``gs://bucket_name/prefix``.

    ``client`` defaults to a ``google.cloud.Client`` created on first use: with
    anonymous credentials against ``STORAGE_EMULATOR_HOST`` when that is set at
    construction time, otherwise with application default credentials (a missing or
    unusable credential raises :class:`BucketConfigError` on that first call).
    ``retry_deadline_s`` bounds the retries of each call.
    """

    def __init__(
        self,
        bucket_name: str,
        prefix: str = "",
        *,
        client: Client | None = None,
        retry_deadline_s: float = 60.0,
    ) -> None:
        prefix = prefix.strip("/")
        self._url = f"gs://{bucket_name}/{prefix}" if prefix else f"gs://{bucket_name}"
        if prefix:
            object_name_check(prefix, url=self._url)
        if retry_deadline_s <= 0:
            raise BucketConfigError(
                f"{self._url}: retry_deadline_s must be positive, got {retry_deadline_s}",
                url=self._url,
            )
        self._bucket_name = bucket_name
        self._prefix = f"{prefix}/" if prefix else ""
        self._client = client
        self._client_lock = threading.Lock()
        self._emulator = _emulator_endpoint()
        self.retry_deadline_s = retry_deadline_s
        # A single request may not outlive the whole retry budget (but gets at least 1 s).
        self._timeout = max(1.0, min(60.0, retry_deadline_s))
        self._retry = DEFAULT_RETRY.with_timeout(retry_deadline_s)
        self._write_retry = ConditionalRetryPolicy(
            self._retry, is_generation_specified, ["query_params"]
        )

    @property
    def url(self) -> str:
        """``gs://bucket`` or ``gs://bucket/prefix``."""
        return self._url

    @property
    def client(self) -> Client:
        """The storage client (created on first use)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Client:
        if self._emulator is not None:
            return Client(
                project=EMULATOR_PROJECT,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": self._emulator},
            )
        try:
            return Client()
        except (auth_exceptions.DefaultCredentialsError, OSError) as exc:
            raise BucketConfigError(
                f"{self._url}: no usable Google Cloud credentials ({exc}); run "
                "'gcloud auth application-default login', set GOOGLE_APPLICATION_CREDENTIALS, "
                "or set STORAGE_EMULATOR_HOST to use an emulator",
                url=self._url,
            ) from exc

    def _blob(self, name: str) -> Any:
        object_name_check(name, url=self._url)
        return self.client.bucket(self._bucket_name).blob(self._prefix + name)

    # -- Bucket protocol ----------------------------------------------------------------

    def create(self, name: str, data: bytes) -> Created:
        """Write ``data`` at ``name`` only if absent; see :meth:`Bucket.create`."""
        blob = self._blob(name)
        # Two rounds cover an object deleted between our 412 and the read of it.
        for _ in range(2):
            try:
                self._call(
                    name,
                    lambda: blob.upload_from_string(
                        data,
                        content_type="application/octet-stream",
                        if_generation_match=0,
                        retry=self._write_retry,
                        timeout=self._timeout,
                    ),
                )
                return Created.CREATED
            except _Precondition:
                pass
            # Someone (possibly our own earlier attempt whose response was lost) got
            # there first: the same bytes mean the upload is already done.
            try:
                existing, _ = self.read(name)
            except ObjectNotFound:
                continue
            if existing == data:
                return Created.ALREADY_PRESENT
            raise ObjectConflict(name, url=self._url)
        raise BucketUnavailable(
            f"{self._url}: {name!r}: the object kept appearing and disappearing while "
            "creating it; retry later",
            url=self._url,
        )

    def read(self, name: str) -> tuple[bytes, int]:
        """The object's bytes and generation; :class:`ObjectNotFound` if absent."""
        blob = self._blob(name)
        data: bytes = self._call(
            name, lambda: blob.download_as_bytes(retry=self._retry, timeout=self._timeout)
        )
        # The download fills in the generation from the response's x-goog-generation,
        # so bytes and generation describe the same object version.
        return data, self._generation_of(name, blob)

    def replace(self, name: str, data: bytes, *, if_generation: int) -> int:
        """Compare-and-swap write; see :meth:`Bucket.replace`."""
        if if_generation < 0:
            raise BucketError(
                f"{self._url}: {name!r}: if_generation must be >= 0, got {if_generation}",
                url=self._url,
            )
        blob = self._blob(name)
        # Unique per call, identical across the library's retries of this call: the
        # object carrying it can only be the one this call wrote.
        write_id = secrets.token_hex(16)
        blob.metadata = {WRITE_ID_KEY: write_id}
        try:
            self._call(
                name,
                lambda: blob.upload_from_string(
                    data,
                    content_type="application/octet-stream",
                    if_generation_match=if_generation,
                    retry=self._write_retry,
                    timeout=self._timeout,
                ),
            )
        except _Precondition:
            # Either someone else moved the object, or an earlier attempt of this very
            # call landed and only its response was lost (the retry then sees our own
            # generation and gets 412). The write id tells the two apart.
            current = self._stat_blob(name)
            if current is not None and (current.metadata or {}).get(WRITE_ID_KEY) == write_id:
                return self._generation_of(name, current)
            actual = 0 if current is None else int(current.generation)
            raise GenerationMismatch(name, if_generation, actual, url=self._url) from None
        return self._generation_of(name, blob)

    def stat(self, name: str) -> ObjectInfo | None:
        """The object's info, or ``None`` if absent."""
        blob = self._stat_blob(name)
        if blob is None:
            return None
        return ObjectInfo(name=name, size=int(blob.size), generation=int(blob.generation))

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose name starts with ``prefix``, sorted by name."""

        def fetch() -> list[ObjectInfo]:
            found = []
            for blob in self.client.list_blobs(
                self._bucket_name,
                prefix=self._prefix + prefix,
                retry=self._retry,
                timeout=self._timeout,
            ):
                found.append(
                    ObjectInfo(
                        name=blob.name[len(self._prefix) :],
                        size=int(blob.size),
                        generation=int(blob.generation),
                    )
                )
            return found

        found = self._call(prefix, fetch, missing_bucket_only=True)
        found.sort(key=lambda info: info.name)
        return found

    def delete(self, name: str, *, if_generation: int | None = None) -> None:
        """Delete ``name``, guarded by generation when given.

        Real GCS enforces ``ifGenerationMatch`` on DELETE atomically. fake-gcs-server
        ignores it, so a guarded delete first compares the generation itself: that makes
        the emulator honour the contract except against a writer racing in between, and
        costs one metadata request on real GCS, which also supplies ``actual`` for the
        error. An unguarded delete is not retried (a retry could delete a newer object
        written in between).
        """
        blob = self._blob(name)
        if if_generation is not None:
            current = self._current_generation(name)
            if current == 0:
                raise ObjectNotFound(name, url=self._url)
            if current != if_generation:
                raise GenerationMismatch(name, if_generation, current, url=self._url)
        try:
            self._call(
                name,
                lambda: blob.delete(
                    if_generation_match=if_generation,
                    retry=self._write_retry,
                    timeout=self._timeout,
                ),
            )
        except _Precondition:
            assert if_generation is not None  # 412 needs a precondition
            raise GenerationMismatch(
                name, if_generation, self._current_generation(name), url=self._url
            ) from None

    # -- internals ----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"GcsBucket({self._url!r})"

    def _stat_blob(self, name: str) -> Any:
        """The object's metadata as a ``Blob`` (generation, size, custom metadata), or
        ``None`` if absent."""
        blob_name = self._prefix + object_name_check(name, url=self._url)
        bucket = self.client.bucket(self._bucket_name)
        return self._call(
            name,
            lambda: bucket.get_blob(blob_name, retry=self._retry, timeout=self._timeout),
            missing_bucket_only=True,
        )

    def _current_generation(self, name: str) -> int:
        info = self.stat(name)
        return 0 if info is None else info.generation

    def _generation_of(self, name: str, blob: Any) -> int:
        if blob.generation is None:
            raise BucketError(
                f"{self._url}: {name!r}: the server did not report a generation", url=self._url
            )
        return int(blob.generation)

    def _call(self, name: str, fn: Callable[[], _T], *, missing_bucket_only: bool = False) -> _T:
        """Run one client call, translating its failures into bucket errors.

        412 becomes :class:`_Precondition` for the caller to interpret. With
        ``missing_bucket_only`` the call itself reports absent objects (``get_blob``,
        list), so a 404 can only mean the bucket is missing.
        """
        try:
            return fn()
        except api_exceptions.PreconditionFailed as exc:
            raise _Precondition() from exc
        except api_exceptions.NotFound as exc:
            if missing_bucket_only or "specified bucket does not exist" in str(exc.message):
                self._raise_missing_bucket(exc)
            raise ObjectNotFound(name, url=self._url) from exc
        except (api_exceptions.Unauthorized, api_exceptions.Forbidden) as exc:
            raise BucketConfigError(
                f"{self._url}: access denied ({exc.code} {exc.message}); check the "
                "credentials and their IAM roles on the bucket",
                url=self._url,
            ) from exc
        except (auth_exceptions.RefreshError, auth_exceptions.DefaultCredentialsError) as exc:
            raise BucketConfigError(
                f"{self._url}: credentials could not be used ({exc}); re-run "
                "'gcloud auth application-default login' or fix GOOGLE_APPLICATION_CREDENTIALS",
                url=self._url,
            ) from exc
        except _TRANSIENT as exc:
            cause = exc.cause if isinstance(exc, api_exceptions.RetryError) else exc
            raise BucketUnavailable(
                f"{self._url}: {name!r}: storage unavailable after retrying for up to "
                f"{self.retry_deadline_s:g} s: {type(cause).__name__}: {cause}",
                url=self._url,
            ) from exc
        except api_exceptions.GoogleAPICallError as exc:
            raise BucketError(
                f"{self._url}: {name!r}: {exc.code} {exc.message}", url=self._url
            ) from exc

    def _raise_missing_bucket(self, exc: Exception) -> NoReturn:
        raise BucketConfigError(
            f"{self._url}: bucket {self._bucket_name!r} does not exist ({exc}); create it "
            "or fix the URL",
            url=self._url,
        ) from exc


class _Precondition(Exception):
    """Internal: the server answered 412 Precondition Failed."""


__all__ = ["EMULATOR_PROJECT", "WRITE_ID_KEY", "GcsBucket"]
