"""Nothing that identifies a person or a device leaves the gateway: scan every uploaded byte.

A simulated ward (three watches, three hours, alerts and a sensor fault) goes through the
real ingest, store, detection and sync into a local bucket; the test then reads back
every object, compressed and decompressed, and looks for every identifier and exact
time the gateway knows.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from gateway.privacy.pseudonym import PseudonymKey
from gateway.store import Store
from gateway.sync.engine import SyncEngine
from wearable_core.buckets import bucket_open
from wearable_core.contracts.aggregate_batch import batch_decode

from ._support import Ward


def _identifier_forms(ward: Ward) -> set[bytes]:
    forms: set[str] = set()
    for address in ward.addresses:
        bare = address.replace(":", "")
        forms |= {address, address.lower(), bare, bare.lower(), address.replace(":", "-")}
    for text in (*ward.names, *ward.serials):
        forms |= {text, text.lower()}
    out = {f.encode() for f in forms}
    for address in ward.addresses:
        raw = bytes.fromhex(address.replace(":", ""))
        out |= {raw, raw[::-1]}  # the address as bytes, either byte order
    return out


def _secret_forms(secret: bytes) -> set[bytes]:
    return {
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
    }


def _time_forms(ward: Ward) -> set[bytes]:
    forms: set[bytes] = set()
    for t_ms in ward.times_ms:
        forms.add(str(t_ms).encode())  # Unix ms
        forms.add(str(t_ms // 1000).encode())  # Unix s
        moment = datetime.fromtimestamp(t_ms / 1000, UTC)
        forms.add(moment.strftime("%Y-%m-%dT%H:%M").encode())  # ISO to the minute
        forms.add(moment.strftime("%H:%M:%S").encode())
    return forms


def test_no_identifier_secret_or_exact_time_in_any_uploaded_byte(
    ward: Ward, ward_store: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "pseudonym.key"
    key = PseudonymKey.load_or_create(key_file)
    bucket_dir = tmp_path / "bucket"
    bucket = bucket_open(str(bucket_dir))
    with Store(ward_store) as store:
        # The store itself holds every identifier (it must, to run the ward).
        devices = store.devices.list()
        assert {d.id for d in devices} == set(ward.addresses)
        assert {d.name for d in devices} == set(ward.names)
        assert len(store.alerts.list()) >= 2
        engine = SyncEngine(store, key, bucket, clock=lambda: ward.end_ms + 6 * 3600_000)
        report = engine.run_once(flush=True)
        assert report.error is None and report.backlog_items == 0
        assert store.outbox.pending_window_count() == 0

    names = [info.name for info in bucket.list()]
    assert {n.split("/")[0] for n in names} == {"aggregates", "alerts", "diagnostics"}
    # What really arrived: the bucket directory's files, byte for byte (plus names).
    blobs = [
        p.read_bytes()
        for p in bucket_dir.rglob("*")
        if p.is_file() and ".bucket-meta" not in p.parts
    ]
    assert len(blobs) == len(names)
    texts = [gzip.decompress(b) for b in blobs]
    haystacks = [*blobs, *texts, "\n".join(names).encode()]

    needles = {
        "identifier": _identifier_forms(ward),
        "secret": _secret_forms(key_file.read_bytes()),
        "exact time": _time_forms(ward),
    }
    for what, forms in needles.items():
        for form in forms:
            hits = [i for i, h in enumerate(haystacks) if form in h]
            assert not hits, f"{what} {form!r} found in uploaded object(s) {hits}"

    # And the decoded content is what the format allows, nothing else. Every time is an
    # hour bucket inside the ward's hours; no counter looks like a Unix time.
    hours = range(ward.start_ms // 3600_000, (ward.end_ms + 6 * 3600_000) // 3600_000 + 1)
    for blob in blobs:
        batch = batch_decode(blob)
        assert re.fullmatch(r"[0-9a-f]{32}", batch.pseudonym)
        assert batch.pseudonym not in {a.replace(":", "").lower() for a in ward.addresses}
        times = [*batch.windows.hour.tolist(), *(h.hour for h in batch.hours)]
        times += [a.hour for a in batch.alerts]
        assert all(t in hours for t in times)
        for name, value in batch.diagnostics.items():
            if name == "hour":
                assert value in hours
            elif isinstance(value, int):
                assert not 10**9 <= value < 10**10 and value < 10**12, name
    allowed = {
        "alerts", "diagnostics", "feature_schema_version", "format", "hours", "kind",
        "models", "noise", "pseudonym", "version", "windows",
    }  # fmt: skip
    for text in texts:
        doc = json.loads(text)
        # An aggregates batch also names its windows, opaquely (keyed like the pseudonym).
        extra = {"windows_id"} if doc["kind"] == "aggregates" else set()
        assert set(doc) == allowed | extra


def test_pseudonyms_differ_between_installs_and_after_rotation(ward: Ward, tmp_path: Path) -> None:
    from gateway.privacy.pseudonym import key_rotate

    path = tmp_path / "pseudonym.key"
    first = PseudonymKey.load_or_create(path).device(ward.addresses[0])
    assert PseudonymKey.load_or_create(path).device(ward.addresses[0]) == first
    assert path.stat().st_mode & 0o777 == 0o600
    other = PseudonymKey.load_or_create(tmp_path / "other.key").device(ward.addresses[0])
    rotated = key_rotate(path).device(ward.addresses[0])
    assert len({first, other, rotated}) == 3
    assert PseudonymKey.load_or_create(path).device(ward.addresses[0]) == rotated


def test_the_pseudonym_key_and_its_directory_are_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    import stat

    from gateway.privacy.pseudonym import key_rotate
    from tests.support.umask import umask

    path = tmp_path / "state" / "pseudonym.key"
    with umask(0):
        PseudonymKey.load_or_create(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        path.chmod(0o644)
        key_rotate(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["pseudonym.key"]


def test_windows_name_their_alerts_only_by_the_ids_alert_outcomes_carry(
    ward: Ward, ward_store: Path, tmp_path: Path
) -> None:
    # Version 2 links each window row to the alerts whose span holds it, so a verdict
    # labels exactly its alert's windows. The link is the pseudonymous alert id the
    # alerts batches already carry, sorted, never a time: the cloud learns which rows an
    # alert holds, not when within the hour they were.
    key = PseudonymKey.load_or_create(tmp_path / "pseudonym.key")
    bucket = bucket_open(str(tmp_path / "bucket"))
    with Store(ward_store) as store:
        SyncEngine(store, key, bucket, clock=lambda: ward.end_ms + 6 * 3600_000).run_once(
            flush=True
        )
    batches = [batch_decode(bucket.read(info.name)[0]) for info in bucket.list()]
    outcomes = {(b.pseudonym, a.alert) for b in batches for a in b.alerts}
    assert all(b.windows.alerts is not None for b in batches)  # every row says
    links = [(b.pseudonym, ids) for b in batches for ids in b.windows.alerts or ()]
    linked = [(p, ids) for p, ids in links if ids]
    assert linked, "the ward's alerts hold some uploaded windows"
    for pseudonym, ids in linked:
        assert list(ids) == sorted(ids)
        assert {(pseudonym, a) for a in ids} <= outcomes
