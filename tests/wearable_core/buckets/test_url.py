"""bucket_open: which URL opens which bucket, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from wearable_core.buckets import BucketConfigError, LocalBucket, bucket_open
from wearable_core.buckets.gcs import GcsBucket


@pytest.fixture(autouse=True)
def _no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("gs://my-bucket", "gs://my-bucket"),
        ("gs://my-bucket/", "gs://my-bucket"),
        ("gs://my-bucket/some/prefix", "gs://my-bucket/some/prefix"),
        ("gs://my-bucket/some/prefix/", "gs://my-bucket/some/prefix"),
        ("GS://my.bucket_1/p", "gs://my.bucket_1/p"),
    ],
)
def test_gs_urls_open_gcs_buckets_without_network(url: str, normalized: str) -> None:
    # The client (and credential lookup) is created on first use, not here.
    bucket = bucket_open(url)
    assert isinstance(bucket, GcsBucket)
    assert bucket.url == normalized


def test_gs_retry_deadline_is_passed_on() -> None:
    bucket = bucket_open("gs://my-bucket/p", retry_deadline_s=3.5)
    assert isinstance(bucket, GcsBucket)
    assert bucket.retry_deadline_s == 3.5


def test_file_url_opens_local_bucket_and_creates_directory(tmp_path: Path) -> None:
    root = tmp_path / "new" / "dir with space"
    bucket = bucket_open(root.as_uri())  # percent-encoded space
    assert isinstance(bucket, LocalBucket)
    assert bucket.root == root
    assert root.is_dir()
    assert bucket.url == root.as_uri()


def test_file_localhost_url(tmp_path: Path) -> None:
    bucket = bucket_open(f"file://localhost{tmp_path}/b")
    assert isinstance(bucket, LocalBucket)
    assert bucket.root == tmp_path / "b"


def test_plain_paths_relative_absolute_and_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    relative = bucket_open("rel/bucket")
    absolute = bucket_open(str(tmp_path / "abs"))
    home = bucket_open("~/hb")
    assert isinstance(relative, LocalBucket) and relative.root == tmp_path / "rel" / "bucket"
    assert isinstance(absolute, LocalBucket) and absolute.root == tmp_path / "abs"
    assert isinstance(home, LocalBucket) and home.root == tmp_path / "home" / "hb"


def test_file_url_and_plain_path_are_the_same_bucket(tmp_path: Path) -> None:
    bucket_open(str(tmp_path / "b")).create("x", b"1")
    assert bucket_open((tmp_path / "b").as_uri()).read("x")[0] == b"1"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("s3://bucket/x", "not supported"),
        ("http://example.com/b", "not supported"),
        ("gs://", "no bucket name"),
        ("gs:///prefix", "no bucket name"),
        ("gs:bucket", "starts with 'gs://'"),
        ("gs://Upper-Case", "not a valid GCS bucket name"),
        ("gs://ab", "not a valid GCS bucket name"),
        ("gs://-bucket", "not a valid GCS bucket name"),
        ("gs://bucket/a/../b", "bad prefix"),
        ("gs://bucket/a//b", "bad prefix"),
        ("gs://bucket/p?x=1", "query"),
        ("gs://user@bucket", "credentials"),
        ("file://relative/dir", "host name"),
        ("file:relative", "file:///absolute/path"),
        ("file:///tmp/x?y", "query"),
    ],
)
def test_unusable_urls_are_config_errors(url: str, why: str) -> None:
    with pytest.raises(BucketConfigError) as info:
        bucket_open(url)
    message = str(info.value)
    assert repr(url) in message
    assert why in message
    assert "accepted forms: gs://BUCKET" in message
    assert info.value.url == url
    assert isinstance(info.value, ValueError)  # BucketConfigError is also a ValueError


def test_unwritable_directory_is_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"not a directory")
    with pytest.raises(BucketConfigError, match="cannot create the bucket directory"):
        bucket_open(str(tmp_path / "file" / "bucket"))
