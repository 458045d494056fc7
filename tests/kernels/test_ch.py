"""Contraction hierarchies against networkx on random graphs (one-way, parallel, zero-cost arcs, parts)."""

import networkx as nx
import numpy as np
import pytest
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


def _query_graph(indptr, indices, ww, settle, sim, renumber=True):
    """The hierarchy as the queries take it: ``(pos, order, ptr, to, w, mid)``.

    ``renumber=False`` keeps the caller's numbering (identity), to compare layouts.
    """
    rank, *arcs = ch.ch_build(indptr, indices, ww, settle, sim)
    up_ptr, up_to, _, _, dn_ptr, dn_fr, _, _ = arcs
    if renumber:
        pos, order = ch.ch_layout(ch.ch_levels(rank, up_ptr, up_to, dn_ptr, dn_fr))
    else:
        pos = order = np.arange(rank.size, dtype=np.int32)
    return (pos, order, *ch.ch_query_graph(pos, *arcs))


def _answers(n, q, pos, order):
    """Pair costs, matrix and paths in the caller's numbering."""
    ptr, to, w, mid = q
    nodes = np.arange(n, dtype=np.int32)
    o, t = pos[np.repeat(nodes, n)], pos[np.tile(nodes, n)]
    pairs = ch.ch_query_batch(ptr, to, w, o, t, 2).reshape(n, n)
    rows = np.arange(n + 1, dtype=np.int64)
    mat = ch.ch_many_to_many(ptr, to, w, rows, pos[nodes], np.zeros(n), rows, pos[nodes], np.zeros(n), 2)
    one = np.zeros(1)
    paths = {}
    for s in range(n):
        for t_ in range(n):
            d, path = ch.ch_path(ptr, to, w, mid, np.array([pos[s]], np.int32), one,
                                 np.array([pos[t_]], np.int32), one)
            paths[s, t_] = (d, order[path])
    return pairs, mat, paths


@settings(max_examples=60, deadline=None)
@given(graphs(), st.sampled_from([1, 3, 100]))
def test_ch_costs_paths_and_matrix_equal_networkx(g, settle):
    n, u, v, w = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    pos, order, *q = _query_graph(indptr, indices, ww, settle, 1)
    G = _nx(n, u, v, w)
    ref = _table(G, n)
    pairs, mat, paths = _answers(n, q, pos, order)
    np.testing.assert_allclose(pairs, ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mat, ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ch.ch_query(*q[:3], np.array([pos[0]], np.int32), np.zeros(1),
                                           np.array([pos[n - 1]], np.int32), np.zeros(1)), ref[0, n - 1])
    for (s, t), (d, path) in paths.items():
        if np.isfinite(ref[s, t]):
            assert path[0] == s and path[-1] == t
            assert np.isclose(nx.path_weight(G, path.tolist(), "weight"), ref[s, t], atol=1e-9)
        else:
            assert path.size == 0 and d == np.inf


@settings(max_examples=40, deadline=None)
@given(graphs(), st.sampled_from([1, 3, 100]))
def test_renumbered_hierarchy_answers_equal_unrenumbered(g, settle):
    """The level-ordered query layout changes memory order only: same costs, same path costs."""
    n, u, v, w = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    pos, order, *q = _query_graph(indptr, indices, ww, settle, 1)
    assert np.array_equal(np.sort(pos), np.arange(n)) and np.array_equal(pos[order], np.arange(n))
    ipos, iorder, *iq = _query_graph(indptr, indices, ww, settle, 1, renumber=False)
    a, b = _answers(n, q, pos, order), _answers(n, iq, ipos, iorder)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    G = _nx(n, u, v, w)
    for key, (d, path) in a[2].items():
        d2, path2 = b[2][key]
        assert d == d2 and path.size == path2.size == 0 or np.isclose(
            nx.path_weight(G, path.tolist(), "weight"), nx.path_weight(G, path2.tolist(), "weight"))


def test_query_graph_interleaves_both_directions():
    """One-way, two-way and parallel arcs: one row entry per higher neighbour, inf where absent."""
    # 0 -> 1 one-way, 1 <-> 2 two-way with different costs, 2 -> 0 twice (cheapest kept by build_csr)
    indptr, indices, ww, _ = kg.build_csr(3, np.array([0, 1, 2, 2, 2], np.int32), np.array([1, 2, 1, 0, 0], np.int32),
                                          np.array([1.0, 2.0, 3.0, 5.0, 4.0]))
    pos, order, ptr, to, w, mid = _query_graph(indptr, indices, ww, 10, 2)
    assert np.all(np.diff(ptr) >= 0) and ptr[-1] == to.size and w.size == mid.size == 2 * to.size
    for i in range(3):
        row = to[ptr[i]:ptr[i + 1]]
        assert row.size == np.unique(row).size  # each higher neighbour once
    # every finite cost is an original arc or a shortcut no cheaper than the true distance
    assert np.isfinite(w).sum() >= 3 and np.all(w[np.isfinite(w)] >= 0)


@settings(max_examples=30, deadline=None)
@given(graphs(), st.data())
def test_seed_sets_match_one_to_all_rows(g, data):
    """Seeds entering at a cost (points part-way along edges): CH buckets == Dijkstra rows."""
    n, u, v, w = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    pos, order, ptr_, to, w_, _ = _query_graph(indptr, indices, ww, 50, 5)
    k = data.draw(st.integers(1, 4))
    sizes = data.draw(st.lists(st.integers(1, 2), min_size=k, max_size=k))
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    seeds = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=int(ptr[-1]), max_size=int(ptr[-1]))), np.int32)
    d0 = np.array(data.draw(st.lists(st.floats(0, 10), min_size=int(ptr[-1]), max_size=int(ptr[-1]))))
    got = ch.ch_many_to_many(ptr_, to, w_, ptr, pos[seeds], d0, ptr, pos[seeds], d0, 2)
    rows = kg.seed_set_matrix(indptr, indices, ww, ptr, seeds, d0, ptr, seeds, d0, np.inf, 2)
    np.testing.assert_allclose(got, rows, rtol=1e-12, atol=1e-9)
    # and the Dijkstra rows themselves: min over seed pairs of d0 + d(a, b) + d0'
    ref = _table(_nx(n, u, v, w), n)
    for i in range(k):
        for j in range(k):
            cand = [d0[a] + ref[seeds[a], seeds[b]] + d0[b] for a in range(ptr[i], ptr[i + 1])
                    for b in range(ptr[j], ptr[j + 1])]
            assert np.isclose(rows[i, j], min(cand)) or rows[i, j] == min(cand) == np.inf
        # and a single pair query with seed sets on both ends
        for j in range(k):
            a_, b_ = slice(ptr[i], ptr[i + 1]), slice(ptr[j], ptr[j + 1])
            d = ch.ch_query(ptr_, to, w_, pos[seeds[a_]], d0[a_], pos[seeds[b_]], d0[b_])
            assert np.isclose(d, rows[i, j], rtol=1e-12, atol=1e-9) or d == rows[i, j] == np.inf


@settings(max_examples=60, deadline=None)
@given(graphs(), st.sampled_from([1, 3, 100]))
def test_symmetric_graphs_take_one_search_per_pair_and_equal_networkx(g, settle):
    """Two-way arcs only: the build searches each neighbour pair once and still answers exactly."""
    n, u, v, w = g
    uu, vv, w2 = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    indptr, indices, ww, _ = kg.build_csr(n, uu, vv, w2)
    rptr, rnb, rw = ch._reverse_csr(n, indptr, indices, ww)
    assert ch._is_symmetric(n, indptr, indices, ww, rptr, rnb, rw)
    pos, order, *q = _query_graph(indptr, indices, ww, settle, 1)
    ref = _table(_nx(n, uu, vv, w2), n)
    pairs, mat, _ = _answers(n, q, pos, order)
    np.testing.assert_allclose(pairs, ref, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mat, ref, rtol=1e-12, atol=1e-9)


def test_symmetry_test_sees_one_way_and_unequal_costs():
    two_way = kg.build_csr(3, np.array([0, 1, 1, 2], np.int32), np.array([1, 0, 2, 1], np.int32),
                           np.array([1.0, 1.0, 2.0, 2.0]))[:3]
    one_way = kg.build_csr(3, np.array([0, 1, 1], np.int32), np.array([1, 0, 2], np.int32),
                           np.array([1.0, 1.0, 2.0]))[:3]
    unequal = kg.build_csr(3, np.array([0, 1, 1, 2], np.int32), np.array([1, 0, 2, 1], np.int32),
                           np.array([1.0, 1.0, 2.0, 3.0]))[:3]
    got = [ch._is_symmetric(3, *g, *ch._reverse_csr(3, *g)) for g in (two_way, one_way, unequal)]
    assert got == [True, False, False]


@pytest.mark.parametrize("settle, sim", [(30, 6), (1, 1)])
def test_large_symmetric_grid_grows_its_pools_and_equals_scipy(settle, sim):
    """A 40 x 40 perturbed grid with diagonals against scipy's Dijkstra; searches that settle one
    node find few witnesses, and the shortcuts outgrow the adjacency pool (it grows twice)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(3)
    side = 40
    idx = np.arange(side * side).reshape(side, side)
    pairs = [(idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :]), (idx[:-1, :-1], idx[1:, 1:])]
    u = np.concatenate([a.ravel() for a, _ in pairs]).astype(np.int32)
    v = np.concatenate([b.ravel() for _, b in pairs]).astype(np.int32)
    keep = rng.random(u.size) < 0.8
    u, v = u[keep], v[keep]
    w = rng.uniform(1.0, 3.0, u.size)
    n = side * side
    indptr, indices, ww, _ = kg.build_csr(n, np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w]))
    pos, order, ptr, to, qw, _ = _query_graph(indptr, indices, ww, settle, sim)
    src = rng.integers(0, n, 25)
    ref = dijkstra(csr_matrix((ww, indices, indptr), shape=(n, n)), indices=src)
    o = np.repeat(pos[src], n).astype(np.int32)
    t = np.tile(pos, src.size).astype(np.int32)
    got = ch.ch_query_batch(ptr, to, qw, o, t, 2).reshape(src.size, n)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
