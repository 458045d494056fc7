"""Contraction hierarchies against networkx on random graphs (one-way, parallel, zero-cost arcs, parts)."""

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels import ch
from cimtwin.kernels import graph as kg


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 14))
    m = draw(st.integers(0, 40))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    # few distinct costs (ties) and zeros (zero-length edges)
    w = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 2.5, 7.0]) | st.floats(0, 50), min_size=m, max_size=m))
    return n, np.array(u, np.int32), np.array(v, np.int32), np.array(w, np.float64)


def _nx(n, u, v, w):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, c in zip(u.tolist(), v.tolist(), w.tolist()):
        if a != b and (not G.has_edge(a, b) or G[a][b]["weight"] > c):
            G.add_edge(a, b, weight=c)
    return G


def _table(G, n):
    return np.array([[nx.single_source_dijkstra_path_length(G, s).get(t, np.inf) for t in range(n)]
                     for s in range(n)])


@settings(max_examples=60, deadline=None)
@given(graphs(), st.sampled_from([1, 3, 100]))
def test_ch_costs_paths_and_matrix_equal_networkx(g, settle):
    n, u, v, w = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    _, up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid = ch.ch_build(indptr, indices, ww, settle, 1)
    arrays = (up_ptr, up_to, up_w, dn_ptr, dn_fr, dn_w)
    G = _nx(n, u, v, w)
    ref = _table(G, n)
    nodes = np.arange(n, dtype=np.int32)
    pairs = np.repeat(nodes, n), np.tile(nodes, n)
    np.testing.assert_allclose(ch.ch_query_batch(*arrays, *pairs, 2).reshape(n, n), ref, rtol=1e-12, atol=1e-9)
    ptr = np.arange(n + 1, dtype=np.int64)
    zero = np.zeros(n)
    np.testing.assert_allclose(ch.ch_many_to_many(*arrays, ptr, nodes, zero, ptr, nodes, zero, 2), ref,
                               rtol=1e-12, atol=1e-9)
    one = np.zeros(1)
    for s in range(n):
        for t in range(n):
            d, path = ch.ch_path(up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid,
                                 np.array([s], np.int32), one, np.array([t], np.int32), one)
            if np.isfinite(ref[s, t]):
                assert path[0] == s and path[-1] == t
                assert np.isclose(nx.path_weight(G, path.tolist(), "weight"), ref[s, t], atol=1e-9)
            else:
                assert path.size == 0 and d == np.inf


@settings(max_examples=30, deadline=None)
@given(graphs(), st.data())
def test_seed_sets_match_one_to_all_rows(g, data):
    """Seeds entering at a cost (points part-way along edges): CH buckets == Dijkstra rows."""
    n, u, v, w = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    arrays = ch.ch_build(indptr, indices, ww, 50, 5)
    up = (arrays[1], arrays[2], arrays[3], arrays[5], arrays[6], arrays[7])
    k = data.draw(st.integers(1, 4))
    sizes = data.draw(st.lists(st.integers(1, 2), min_size=k, max_size=k))
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    seeds = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=int(ptr[-1]), max_size=int(ptr[-1]))), np.int32)
    d0 = np.array(data.draw(st.lists(st.floats(0, 10), min_size=int(ptr[-1]), max_size=int(ptr[-1]))))
    got = ch.ch_many_to_many(*up, ptr, seeds, d0, ptr, seeds, d0, 2)
    rows = kg.seed_set_matrix(indptr, indices, ww, ptr, seeds, d0, ptr, seeds, d0, np.inf, 2)
    np.testing.assert_allclose(got, rows, rtol=1e-12, atol=1e-9)
    # and the Dijkstra rows themselves: min over seed pairs of d0 + d(a, b) + d0'
    ref = _table(_nx(n, u, v, w), n)
    for i in range(k):
        for j in range(k):
            cand = [d0[a] + ref[seeds[a], seeds[b]] + d0[b] for a in range(ptr[i], ptr[i + 1])
                    for b in range(ptr[j], ptr[j + 1])]
            assert np.isclose(rows[i, j], min(cand)) or rows[i, j] == min(cand) == np.inf
