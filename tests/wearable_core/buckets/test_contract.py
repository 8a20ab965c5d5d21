"""The bucket contract, run unchanged against a local directory and the GCS emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wearable_core.buckets import (
    RESERVED_PREFIX,
    Bucket,
    BucketError,
    Created,
    GenerationMismatch,
    LocalBucket,
    ObjectConflict,
    ObjectInfo,
    ObjectNotFound,
    bucket_open,
)


@pytest.fixture
def bucket(bucket_url: str) -> Bucket:
    return bucket_open(bucket_url, retry_deadline_s=10.0)


def test_opened_bucket_satisfies_protocol(bucket: Bucket, bucket_url: str) -> None:
    assert isinstance(bucket, Bucket)
    assert bucket.list() == []
    if bucket_url.startswith("gs://"):
        assert bucket.url == bucket_url
    else:
        assert bucket.url == Path(bucket_url).as_uri()


def test_create_then_read_round_trips(bucket: Bucket) -> None:
    assert bucket.create("a.bin", b"payload") is Created.CREATED
    data, generation = bucket.read("a.bin")
    assert data == b"payload"
    assert generation > 0
    assert bucket.stat("a.bin") == ObjectInfo("a.bin", 7, generation)


def test_create_same_bytes_is_already_present_without_a_second_write(bucket: Bucket) -> None:
    bucket.create("a", b"same")
    _, generation = bucket.read("a")
    assert bucket.create("a", b"same") is Created.ALREADY_PRESENT
    assert bucket.list() == [ObjectInfo("a", 4, generation)]  # untouched: same generation


def test_create_different_bytes_conflicts_and_keeps_original(bucket: Bucket) -> None:
    bucket.create("a", b"original")
    _, generation = bucket.read("a")
    with pytest.raises(ObjectConflict) as info:
        bucket.create("a", b"imposter")
    assert info.value.name == "a"
    assert bucket.url in str(info.value)
    assert bucket.read("a") == (b"original", generation)


def test_replace_with_zero_creates_only_when_absent(bucket: Bucket) -> None:
    generation = bucket.replace("ptr", b"v1", if_generation=0)
    assert bucket.read("ptr") == (b"v1", generation)
    with pytest.raises(GenerationMismatch) as info:
        bucket.replace("ptr", b"v2", if_generation=0)
    assert (info.value.expected, info.value.actual) == (0, generation)
    assert bucket.read("ptr") == (b"v1", generation)


def test_replace_is_compare_and_swap(bucket: Bucket) -> None:
    g1 = bucket.replace("ptr", b"v1", if_generation=0)
    g2 = bucket.replace("ptr", b"v2", if_generation=g1)
    assert g2 != g1
    with pytest.raises(GenerationMismatch) as info:
        bucket.replace("ptr", b"v3", if_generation=g1)  # stale: lost update prevented
    assert info.value.actual == g2
    assert bucket.read("ptr") == (b"v2", g2)


def test_replace_of_absent_object_with_nonzero_generation_fails(bucket: Bucket) -> None:
    with pytest.raises(GenerationMismatch) as info:
        bucket.replace("nothing", b"x", if_generation=12345)
    assert info.value.actual == 0
    assert bucket.stat("nothing") is None


def test_generation_changes_on_every_write(bucket: Bucket) -> None:
    seen = [bucket.replace("p", b"same bytes", if_generation=0)]
    for _ in range(5):
        seen.append(bucket.replace("p", b"same bytes", if_generation=seen[-1]))
    bucket.delete("p")
    bucket.create("p", b"same bytes")
    seen.append(bucket.read("p")[1])
    assert len(set(seen)) == len(seen)
    assert all(g > 0 for g in seen)


def test_list_filters_by_prefix_and_sorts(bucket: Bucket) -> None:
    names = ["b/2", "a", "b/1", "b/sub/x", "ba", "c/d/e/f"]
    for name in names:
        bucket.create(name, name.encode())
    assert [o.name for o in bucket.list()] == sorted(names)
    assert [o.name for o in bucket.list("b/")] == ["b/1", "b/2", "b/sub/x"]
    assert [o.name for o in bucket.list("b")] == ["b/1", "b/2", "b/sub/x", "ba"]
    assert [o.name for o in bucket.list("b/s")] == ["b/sub/x"]
    assert [o.name for o in bucket.list("c/d/")] == ["c/d/e/f"]
    assert bucket.list("zzz") == []
    assert bucket.list("nope/") == []
    by_name = {o.name: o for o in bucket.list()}
    assert by_name["b/sub/x"].size == len(b"b/sub/x")
    assert by_name["b/sub/x"].generation == bucket.read("b/sub/x")[1]


def test_list_shows_no_temp_or_metadata_files(bucket: Bucket) -> None:
    bucket.create("x", b"1")
    g = bucket.replace("y", b"1", if_generation=0)
    bucket.replace("y", b"2", if_generation=g)
    with pytest.raises(ObjectConflict):
        bucket.create("x", b"other")
    assert [o.name for o in bucket.list()] == ["x", "y"]
    if isinstance(bucket, LocalBucket):
        files = [p for p in bucket.root.rglob("*") if p.is_file()]
        visible = [p for p in files if RESERVED_PREFIX not in p.relative_to(bucket.root).parts]
        assert sorted(p.name for p in visible) == ["x", "y"]
        assert not list((bucket.root / RESERVED_PREFIX / "tmp").iterdir())


def test_nested_names_and_binary_empty_and_large_data(bucket: Bucket) -> None:
    binary = bytes(range(256)) * 4
    large = os.urandom(1024 * 1024 + 17)
    bucket.create("deep/er/still/binary.bin", binary)
    bucket.create("empty", b"")
    bucket.create("large/blob", large)
    assert bucket.read("deep/er/still/binary.bin")[0] == binary
    assert bucket.read("empty")[0] == b""
    assert bucket.read("large/blob")[0] == large
    info = bucket.stat("empty")
    assert info is not None and info.size == 0 and info.generation > 0
    assert bucket.stat("large/blob") == ObjectInfo(
        "large/blob", len(large), bucket.read("large/blob")[1]
    )
    assert bucket.create("empty", b"") is Created.ALREADY_PRESENT


def test_unguarded_delete(bucket: Bucket) -> None:
    bucket.create("d/x", b"1")
    bucket.create("d/y", b"2")
    bucket.delete("d/x")
    assert bucket.stat("d/x") is None
    assert [o.name for o in bucket.list()] == ["d/y"]
    with pytest.raises(ObjectNotFound):
        bucket.read("d/x")
    assert bucket.create("d/x", b"again") is Created.CREATED


def test_guarded_delete(bucket: Bucket) -> None:
    g1 = bucket.replace("ptr", b"v1", if_generation=0)
    g2 = bucket.replace("ptr", b"v2", if_generation=g1)
    with pytest.raises(GenerationMismatch) as info:
        bucket.delete("ptr", if_generation=g1)
    assert (info.value.expected, info.value.actual) == (g1, g2)
    assert bucket.read("ptr") == (b"v2", g2)
    bucket.delete("ptr", if_generation=g2)
    assert bucket.stat("ptr") is None


def test_missing_objects(bucket: Bucket) -> None:
    with pytest.raises(ObjectNotFound) as info:
        bucket.read("ghost")
    assert info.value.name == "ghost"
    assert bucket.stat("ghost") is None
    with pytest.raises(ObjectNotFound):
        bucket.delete("ghost")
    with pytest.raises(ObjectNotFound):
        bucket.delete("ghost", if_generation=1)


@pytest.mark.parametrize(
    "name", ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", f"{RESERVED_PREFIX}/lock"]
)
def test_invalid_names_are_rejected(bucket: Bucket, name: str) -> None:
    with pytest.raises(BucketError, match="invalid object name"):
        bucket.create(name, b"x")
    with pytest.raises(BucketError, match="invalid object name"):
        bucket.read(name)
    assert bucket.list() == []
