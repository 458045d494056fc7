"""The two priority queues against a reference built on Python's heapq and a dict."""

import heapq

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels.heap import heap_pop, heap_push, iheap_clear, iheap_new, iheap_pop, iheap_update

# an operation: ("push", item, key) or ("pop",); few distinct keys, so ties happen
ops = st.lists(st.one_of(st.tuples(st.just("push"), st.integers(0, 19), st.sampled_from([0.0, 1.0, 2.5, 7.0])
                                   | st.floats(0, 100)),
                         st.tuples(st.just("pop"))), max_size=80)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_lazy_heap_pops_keys_in_order(seq):
    h = np.empty(2 * 100, np.float64)
    size = 0
    ref = []
    for op in seq:
        if op[0] == "push":
            size = heap_push(h, size, op[2], op[1])
            heapq.heappush(ref, op[2])
        elif size:
            assert h[0] == heapq.heappop(ref)
            size = heap_pop(h, size)
    out = []
    while size:
        out.append(h[0])
        size = heap_pop(h, size)
    assert out == sorted(ref)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_indexed_heap_keeps_each_item_once_at_its_least_key(seq):
    keys, items, where = iheap_new(20)
    size = 0
    best = {}  # item -> key now queued
    for op in seq:
        if op[0] == "push":
            _, item, key = op
            if item in best and key >= best[item]:
                continue  # the contract: a queued item's key only ever goes down
            size = iheap_update(keys, items, where, size, key, item)
            best[item] = key
        elif size:
            k, item = keys[0], items[0]
            assert k == min(best.values()) and best[item] == k
            size = iheap_pop(keys, items, where, size)
            del best[item]
        assert size == len(best)
        assert sorted(int(i) for i in items[:size]) == sorted(best)
        assert all(where[items[j]] == j for j in range(size))
        assert int((where >= 0).sum()) == size
    size = iheap_clear(items, where, size)
    assert size == 0 and (where == -1).all()
