"""GcsBucket against the emulator behind a FaultProxy: retries, lost responses, outages."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from tests.support.fault_proxy import FaultKind, FaultProxy, When
from tests.support.gcs_emulator import GcsEmulator
from wearable_core.buckets import (
    Bucket,
    BucketConfigError,
    BucketUnavailable,
    Created,
    GenerationMismatch,
    ObjectInfo,
    bucket_open,
)

pytestmark = pytest.mark.integration

UPLOAD = "POST /upload/"


def _direct(url: str, emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """The same bucket, opened straight on the emulator (no faults) to check its state."""
    with monkeypatch.context() as m:
        m.setenv("STORAGE_EMULATOR_HOST", emulator.endpoint)
        return bucket_open(url)


@pytest.mark.parametrize(
    ("kind", "when", "expected"),
    [
        ("503", "before", Created.CREATED),
        ("500", "before", Created.CREATED),
        ("429", "before", Created.CREATED),
        ("reset", "before", Created.CREATED),
        # Lost responses: the upload landed, the retry gets 412, the bytes match.
        ("503", "after", Created.ALREADY_PRESENT),
        ("429", "after", Created.ALREADY_PRESENT),
        ("reset", "after", Created.ALREADY_PRESENT),
    ],
)
def test_create_survives_fault_and_writes_exactly_once(
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    kind: FaultKind,
    when: When,
    expected: Created,
) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    proxy.inject(kind, when=when, match=UPLOAD)
    assert bucket.create("summary/0001.json", b'{"hr": 61}') is expected
    assert proxy.faults_injected == 1 and proxy.pending_faults == 0
    uploads = [s for s in proxy.seen if s.request.startswith(UPLOAD)]
    assert len(uploads) == 2  # the faulted attempt and one retry
    assert all("ifGenerationMatch=0" in s.request for s in uploads)
    direct = _direct(url, gcs_emulator, monkeypatch)
    [info] = direct.list()
    assert info.name == "summary/0001.json"
    assert direct.read("summary/0001.json") == (b'{"hr": 61}', info.generation)


def test_lost_create_response_with_different_bytes_is_a_conflict(
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    bucket.create("a", b"first")
    proxy.inject("503", match=UPLOAD)
    assert bucket.create("a", b"first") is Created.ALREADY_PRESENT
    with pytest.raises(Exception, match="different content"):
        bucket.create("a", b"second")
    assert _direct(url, gcs_emulator, monkeypatch).read("a")[0] == b"first"


def test_reads_stats_and_lists_are_retried(fault_proxy: tuple[FaultProxy, str]) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    bucket.create("x", b"1")
    generation = bucket.read("x")[1]
    proxy.inject("503", match="GET /download/")
    proxy.inject("reset", match="GET /storage/v1/b/")
    assert bucket.read("x") == (b"1", generation)
    assert bucket.list() == [ObjectInfo("x", 1, generation)]
    assert proxy.faults_injected == 2 and proxy.pending_faults == 0


def test_replace_retries_and_recognises_its_own_write_after_a_lost_response(
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    g1 = bucket.replace("ptr", b"v1", if_generation=0)
    proxy.inject("503", match=UPLOAD)
    g2 = bucket.replace("ptr", b"v2", if_generation=g1)
    assert bucket.read("ptr") == (b"v2", g2)
    # The write lands but its response is lost: the retry gets 412 against its own
    # object, and the write id in the object's metadata says it is ours: success.
    proxy.inject("503", when="after", match=UPLOAD)
    g3 = bucket.replace("ptr", b"v3", if_generation=g2)
    assert proxy.faults_injected == 2 and proxy.pending_faults == 0
    assert _direct(url, gcs_emulator, monkeypatch).read("ptr") == (b"v3", g3)
    assert g3 != g2
    # The same for a create-if-absent replace (generation 0), the checkpoint's first write.
    proxy.inject("reset", when="after", match=UPLOAD)
    g_new = bucket.replace("fresh", b"x", if_generation=0)
    assert _direct(url, gcs_emulator, monkeypatch).read("fresh") == (b"x", g_new)


@pytest.mark.parametrize("same_bytes", [False, True])
def test_replace_that_lost_a_race_is_still_a_mismatch(
    fault_proxy: tuple[FaultProxy, str], same_bytes: bool
) -> None:
    # Another writer moved the object (even to identical bytes): the write id is not
    # ours, so this compare-and-swap lost and must say so.
    _, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    other = bucket_open(url, retry_deadline_s=10.0)
    g1 = bucket.replace("ptr", b"v1", if_generation=0)
    theirs = b"v2" if same_bytes else b"theirs"
    g2 = other.replace("ptr", theirs, if_generation=g1)
    with pytest.raises(GenerationMismatch) as info:
        bucket.replace("ptr", b"v2", if_generation=g1)
    assert (info.value.expected, info.value.actual) == (g1, g2)
    assert bucket.read("ptr") == (theirs, g2)


def test_unguarded_delete_is_never_retried(
    fault_proxy: tuple[FaultProxy, str],
    gcs_emulator: GcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=10.0)
    bucket.create("x", b"1")
    proxy.inject("503", count=5, match="DELETE ")
    with pytest.raises(BucketUnavailable, match="503"):
        bucket.delete("x")
    assert [s.request.split()[0] for s in proxy.seen].count("DELETE") == 1
    assert _direct(url, gcs_emulator, monkeypatch).stat("x") is not None
    # A guarded delete is idempotent and is retried through the remaining faults.
    generation = bucket.read("x")[1]
    proxy.clear()
    proxy.inject("503", count=2, match="DELETE ")
    bucket.delete("x", if_generation=generation)
    assert _direct(url, gcs_emulator, monkeypatch).stat("x") is None


def test_offline_storage_is_unavailable_within_the_retry_deadline(
    fault_proxy: tuple[FaultProxy, str],
) -> None:
    proxy, url = fault_proxy
    bucket = bucket_open(url, retry_deadline_s=3.0)
    bucket.create("before-outage", b"1")
    proxy.offline = True
    for operation in (
        lambda: bucket.create("during-outage", b"2"),
        lambda: bucket.read("before-outage"),
        lambda: bucket.list(),
    ):
        started = time.monotonic()
        with pytest.raises(BucketUnavailable) as info:
            operation()
        elapsed = time.monotonic() - started
        assert elapsed < 3.0 + 2.0, f"gave up after {elapsed:.1f} s, deadline 3 s"
        assert url in str(info.value)
        assert "ConnectionError" in str(info.value)
    assert proxy.faults_injected >= 3
    proxy.offline = False
    assert [o.name for o in bucket.list()] == ["before-outage"]


def test_storage_emulator_host_is_honoured(
    fault_proxy: tuple[FaultProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, url = fault_proxy
    bucket_open(url).create("via-proxy", b"1")
    assert any("via-proxy" in s.request or UPLOAD in s.request for s in proxy.seen)
    seen = proxy.requests_seen
    # host:port without a scheme, as many tools write it, works too.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint.removeprefix("http://"))
    assert bucket_open(url).read("via-proxy")[0] == b"1"
    assert proxy.requests_seen > seen


def test_missing_bucket_is_a_config_error(
    gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.endpoint)
    bucket = bucket_open("gs://no-such-bucket-here/p", retry_deadline_s=3.0)
    with pytest.raises(BucketConfigError, match="does not exist"):
        bucket.list()


def test_proxy_keeps_connections_alive_and_forwards_chunked_bodies(
    gcs_emulator: GcsEmulator,
) -> None:
    with FaultProxy(gcs_emulator.endpoint) as proxy:
        port = int(proxy.endpoint.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            # An iterable body without a length makes http.client send it chunked.
            conn.request(
                "POST",
                "/storage/v1/b?project=p",
                body=iter([b'{"name": ', b'"chunked-body-bucket"}']),
                headers={"Content-Type": "application/json"},
            )
            response = conn.getresponse()
            assert response.status == 200, response.read()
            assert json.loads(response.read())["name"] == "chunked-body-bucket"
            sock = conn.sock
            conn.request("GET", "/storage/v1/b/chunked-body-bucket")
            response = conn.getresponse()
            assert json.loads(response.read())["name"] == "chunked-body-bucket"
            assert conn.sock is sock  # same TCP connection: keep-alive worked
        finally:
            conn.close()
        assert [s.request.split("?")[0] for s in proxy.seen] == [
            "POST /storage/v1/b",
            "GET /storage/v1/b/chunked-body-bucket",
        ]
