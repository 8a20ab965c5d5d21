"""Property: any interleaving and duplication of batches gives the same records and frontiers."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.store.records as records_module
from gateway.store import Store
from gateway.store.ranges import merge, subtract
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

from ._support import WATCH_A, WATCH_B, make_records

Key = tuple[str, Stream]
Delivered = tuple[Key, int]
#: frontier and holes of one stream
State = tuple[int, list[tuple[int, int]]]

STREAMS = (Stream.HEART_RATE, Stream.ACCEL)
KEYS = [(d, s) for d in (WATCH_A, WATCH_B) for s in STREAMS]
MAX_SEQ = 40

record_keys = st.tuples(st.sampled_from(KEYS), st.integers(0, MAX_SEQ))
batches = st.lists(st.lists(record_keys, max_size=25), max_size=8)
gap_ops = st.tuples(
    st.sampled_from(KEYS), st.integers(0, MAX_SEQ), st.integers(1, 6)
)  # start, length
# An operation: a batch of records, a gap declaration, or closing and reopening the store.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(record_keys, max_size=25)),
        st.tuples(st.just("gap"), gap_ops),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=12,
)


def record(key: Key, seq: int) -> IngestRecord:
    device, stream = key
    return make_records([seq], device=device, stream=stream)[0]


def model_state(stored: set[Delivered], gaps: list[tuple[Key, int, int]]) -> dict[Key, State]:
    """Frontier and holes per stream, computed from scratch."""
    out = {}
    for key in KEYS:
        covered = merge(
            [(q, q + 1) for k, q in stored if k == key] + [(a, b) for k, a, b in gaps if k == key]
        )
        frontier = covered[0][1] if covered and covered[0][0] == 0 else 0
        top = max((b for _, b in covered), default=0)
        out[key] = (frontier, subtract(frontier, top, covered) if top > frontier else [])
    return out


def observed(store: Store) -> tuple[set[Delivered], dict[Key, State]]:
    stored = {((d, s), q) for d, s in KEYS for q in store.records.sequences(d, s)}
    state = {(d, s): (store.records.frontier(d, s), store.records.holes(d, s)) for d, s in KEYS}
    return stored, state


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(
    ops=operations,
    flush_rows=st.sampled_from([1, 7, 10_000]),
    data=st.data(),
)
def test_any_interleaving_gives_the_same_records_and_frontiers(
    ops: list[tuple[str, object]], flush_rows: int, data: st.DataObject
) -> None:
    delivered: set[Delivered] = set()
    gaps: list[tuple[Key, int, int]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(records_module, "FLUSH_ROWS", flush_rows),
    ):
        path = Path(tmp) / "store.db"
        store = Store(path)
        try:
            for kind, arg in ops:
                if kind == "add":
                    assert isinstance(arg, list)
                    batch = [record(k, q) for k, q in arg]
                    new = {(k, q) for k, q in arg} - delivered
                    assert store.records.add(batch) == len(new)
                    delivered |= new
                elif kind == "gap":
                    assert isinstance(arg, tuple)
                    key, start, length = arg
                    store.records.record_gap(key[0], key[1], start, start + length, "overwritten")
                    gaps.append((key, start, start + length))
                else:
                    store.close()
                    store = Store(path)
            stored, state = observed(store)
            assert stored == delivered
            assert state == model_state(delivered, gaps)
            assert store.verify() == []
            # Delivering everything again, in any order and grouping, changes nothing.
            everything = sorted(delivered, key=lambda x: (x[0][0], x[0][1].wire_id, x[1]))
            again = data.draw(st.permutations(everything))
            cut = data.draw(st.integers(0, len(again)))
            assert store.records.add([record(k, q) for k, q in again[:cut]]) == 0
            assert store.records.add([record(k, q) for k, q in again[cut:]]) == 0
            assert observed(store) == (stored, state)
        finally:
            store.close()


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(batches=batches, order=st.randoms(use_true_random=False))
def test_batch_order_does_not_matter(batches: list[list[Delivered]], order: random.Random) -> None:
    shuffled = list(batches)
    order.shuffle(shuffled)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, sequence in enumerate((batches, shuffled)):
            with Store(Path(tmp) / f"{i}.db") as store:
                total = sum(store.records.add([record(k, q) for k, q in b]) for b in sequence)
                results.append((total, observed(store)))
    assert results[0] == results[1]
