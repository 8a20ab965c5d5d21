"""Object storage for the gateway's sync and the cloud training job: see :mod:`.base`.

Open a bucket by URL with :func:`bucket_open`. :class:`LocalBucket` needs only the
standard library; ``GcsBucket`` (``wearable_core.buckets.gcs``) needs google-cloud-storage,
from the ``gateway`` or ``training`` extra, and is imported only when a ``gs://`` URL is
opened (or ``wearable_core.buckets.GcsBucket`` is accessed).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wearable_core.buckets.base import (
    RESERVED_PREFIX,
    Bucket,
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
from wearable_core.buckets.local import LocalBucket

if TYPE_CHECKING:
    from wearable_core.buckets.gcs import GcsBucket

ACCEPTED_FORMS = (
    "gs://BUCKET or gs://BUCKET/PREFIX, file:///ABSOLUTE/DIR (or file://localhost/...), "
    "or a plain filesystem path (relative paths and ~ are allowed)"
)

# A URL scheme of two or more characters; one letter followed by ':' is a Windows drive.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
# GCS bucket naming rules: 3-63 characters (up to 222 when dotted), lowercase letters,
# digits, '-', '_' and '.', starting and ending with a letter or digit.
_GCS_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,220})[a-z0-9]$")


def _config_error(url: str, why: str) -> BucketConfigError:
    return BucketConfigError(
        f"cannot open bucket URL {url!r}: {why}; accepted forms: {ACCEPTED_FORMS}", url=url
    )


@dataclass(frozen=True)
class BucketLocation:
    """Where a bucket URL points, checked but not opened (no I/O, no credentials).

    ``path`` for a local directory; ``bucket`` and ``prefix`` for GCS.
    """

    url: str
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""


def bucket_url_parse(url: str) -> BucketLocation:
    """Check ``url`` and say where it points, without touching it (configuration checks).

    Raises :class:`BucketConfigError` naming the URL and the accepted forms, as
    :func:`bucket_open` does.

    Examples
    --------
    >>> bucket_url_parse("gs://ward-7/site-a/").prefix
    'site-a'
    """
    if not url or not url.strip():
        raise _config_error(url, "it is empty")
    match = _SCHEME.match(url)
    if match is None:
        return BucketLocation(url, path=Path(url).expanduser())
    scheme = match.group(1).lower()
    if scheme == "gs":
        return _gcs_location(url)
    if scheme == "file":
        return BucketLocation(url, path=_file_url_path(url))
    raise _config_error(url, f"scheme {scheme + ':'!r} is not supported")


def bucket_open(url: str, *, retry_deadline_s: float = 60.0) -> Bucket:
    """Open the bucket that ``url`` names.

    - ``gs://bucket`` or ``gs://bucket/some/prefix``: a :class:`GcsBucket` (object names
      are relative to the prefix). Honours ``STORAGE_EMULATOR_HOST``. ``retry_deadline_s``
      bounds each call's retries.
    - ``file:///abs/dir`` (or ``file://localhost/abs/dir``; percent-escapes are decoded):
      a :class:`LocalBucket`. ``file://relative`` is rejected, because in a URL the part
      after ``//`` is a host name; write the relative path plainly instead.
    - anything else without a URL scheme is a filesystem path (``~`` is expanded, relative
      paths are taken from the current directory): a :class:`LocalBucket`. The directory
      is created if missing.

    Raises :class:`BucketConfigError` naming the URL and the accepted forms for anything
    else (another scheme, ``gs://`` without a valid bucket name, an empty string).
    """
    location = bucket_url_parse(url)
    if location.path is not None:
        return LocalBucket(location.path)
    try:
        from wearable_core.buckets.gcs import GcsBucket
    except ImportError as exc:
        raise _config_error(
            url,
            f"google-cloud-storage is not installed ({exc}); install the gateway or training extra",
        ) from exc
    return GcsBucket(location.bucket, location.prefix, retry_deadline_s=retry_deadline_s)


def _gcs_location(url: str) -> BucketLocation:
    if url[:5].lower() != "gs://":
        raise _config_error(url, "a GCS URL starts with 'gs://'")
    rest = url[5:]
    if any(c in rest for c in "?#@"):
        raise _config_error(url, "query strings, fragments and credentials are not allowed")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise _config_error(url, "no bucket name after 'gs://'")
    if not _GCS_BUCKET.match(bucket) or ".." in bucket:
        raise _config_error(
            url,
            f"{bucket!r} is not a valid GCS bucket name (3-63 lowercase letters, digits, "
            "'-', '_' or '.')",
        )
    prefix = prefix.rstrip("/")
    if prefix:
        try:
            object_name_check(prefix)
        except BucketError as exc:
            raise _config_error(url, f"bad prefix: {exc}") from None
    return BucketLocation(url, bucket=bucket, prefix=prefix)


def _file_url_path(url: str) -> Path:
    parts = urllib.parse.urlsplit(url)
    if not url.lower().startswith("file://"):
        raise _config_error(url, "a file URL is file:///absolute/path")
    if parts.netloc not in ("", "localhost"):
        raise _config_error(
            url,
            f"{parts.netloc!r} is read as a host name; use file:///absolute/path or the "
            "plain (relative) path without 'file://'",
        )
    if parts.query or parts.fragment:
        raise _config_error(url, "query strings and fragments are not allowed")
    path = urllib.parse.unquote(parts.path)
    if not path.startswith("/"):
        raise _config_error(url, "a file URL needs an absolute path")
    return Path(path)


def __getattr__(name: str) -> Any:
    # GcsBucket pulls in google-cloud-storage, which the base install does not have.
    if name == "GcsBucket":
        from wearable_core.buckets.gcs import GcsBucket

        return GcsBucket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACCEPTED_FORMS",
    "RESERVED_PREFIX",
    "Bucket",
    "BucketConfigError",
    "BucketError",
    "BucketLocation",
    "BucketUnavailable",
    "Created",
    "GcsBucket",
    "GenerationMismatch",
    "LocalBucket",
    "ObjectConflict",
    "ObjectInfo",
    "ObjectNotFound",
    "bucket_open",
    "bucket_url_parse",
    "object_name_check",
]
