"""Shortest-path kernels against networkx on random graphs."""

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels import graph as kg


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 12))
    m = draw(st.integers(0, 30))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(st.lists(st.floats(0.5, 100.0), min_size=m, max_size=m))
    xy = draw(st.lists(st.tuples(st.floats(0, 50), st.floats(0, 50)), min_size=n, max_size=n))
    return n, np.array(u, np.int32), np.array(v, np.int32), np.array(w), np.array(xy)


def _nx(n, u, v, w):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, c in zip(u, v, w):  # parallel arcs: the cheapest counts
        if not G.has_edge(a, b) or G[a][b]["weight"] > c:
            G.add_edge(int(a), int(b), weight=float(c))
    return G


@settings(max_examples=40, deadline=None)
@given(graphs(), st.data())
def test_kernels_match_networkx(g, data):
    n, u, v, w, xy = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    G = _nx(n, u, v, w)
    s = data.draw(st.integers(0, n - 1))
    ref = nx.single_source_dijkstra_path_length(G, s)
    expect = np.array([ref.get(i, np.inf) for i in range(n)])
    dist, pred, _ = kg.dijkstra(indptr, indices, ww, np.array([s], np.int32), np.zeros(1), np.inf)
    np.testing.assert_allclose(dist, expect)
    np.testing.assert_allclose(kg.dijkstra_many(indptr, indices, ww, np.array([s, s], np.int32), np.inf)[1], expect)
    cut = data.draw(st.floats(0, 150))
    dc = kg.dijkstra(indptr, indices, ww, np.array([s], np.int32), np.zeros(1), cut)[0]
    np.testing.assert_allclose(dc, np.where(expect <= cut, expect, np.inf))
    # multi-source nearest: min over sources
    srcs = np.array(sorted(set(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)))), np.int32)
    md, _, lab = kg.dijkstra(indptr, indices, ww, srcs, np.zeros(srcs.size), np.inf)
    per = np.array([[nx.single_source_dijkstra_path_length(G, int(a)).get(i, np.inf) for i in range(n)] for a in srcs])
    np.testing.assert_allclose(md, per.min(axis=0))
    reached = lab >= 0
    np.testing.assert_allclose(per[lab[reached], np.flatnonzero(reached)], md[reached])
    kd, kw = kg.k_nearest(indptr, indices, ww, srcs, 2, np.inf)
    padded = np.vstack([per, np.full((2, n), np.inf)])
    np.testing.assert_allclose(kd, np.sort(padded, axis=0)[:2].T)
    # point to point (A*, with and without landmarks): reverse CSR from swapped arcs
    r = kg.build_csr(n, v, u, w)
    c = kg.astar_scale(u, v, w, xy[:, 0], xy[:, 1])
    t = data.draw(st.integers(0, n - 1))
    empty = np.empty((n, 0))
    d1, path = kg.point_to_point(indptr, indices, ww, r[0], r[1], r[2], xy[:, 0], xy[:, 1], c, empty, empty, 0, s, t)
    np.testing.assert_allclose(d1, expect[t])
    if np.isfinite(d1):
        assert path[0] == s and path[-1] == t
        assert np.isclose(sum(G[a][b]["weight"] for a, b in zip(path[:-1], path[1:])), d1)
    marks, lm_from = kg.farthest_landmarks(indptr, indices, ww, 0, 2)
    lm_to = kg.landmark_distances(r[0], r[1], r[2], marks)
    ts = np.arange(n, dtype=np.int32)
    batch = kg.point_to_point_batch(indptr, indices, ww, r[0], r[1], r[2], xy[:, 0], xy[:, 1], c,
                                    lm_from, lm_to, 2, np.full(n, s, np.int32), ts, 2)
    np.testing.assert_allclose(batch, expect)


def test_parallel_arcs_keep_cheapest():
    indptr, indices, w, arc = kg.build_csr(2, np.array([0, 0, 0], np.int32), np.array([1, 1, 1], np.int32),
                                           np.array([5.0, 2.0, 3.0]))
    assert indices.tolist() == [1] and w.tolist() == [2.0] and arc.tolist() == [1]


@settings(max_examples=30, deadline=None)
@given(graphs(), st.data())
def test_nearest_source_matches_networkx(g, data):
    """The lean and the two-phase (parallel, cut into ranges) searches give the same distances."""
    n, u, v, w, _ = g
    indptr, indices, ww, _ = kg.build_csr(n, u, v, w)
    G = _nx(n, u, v, w)
    srcs = np.array(sorted(set(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))), np.int32)
    d0 = np.array(data.draw(st.lists(st.floats(0, 20), min_size=srcs.size, max_size=srcs.size)))
    per = np.array([[d0[i] + nx.single_source_dijkstra_path_length(G, int(a)).get(j, np.inf) for j in range(n)]
                    for i, a in enumerate(srcs)])
    cut = data.draw(st.sampled_from([np.inf, 30.0]))
    expect = per.min(axis=0)
    expect = np.where(expect <= cut, expect, np.inf)
    nparts = data.draw(st.integers(1, 5))
    for dist, lab in (kg.nearest_source(indptr, indices, ww, srcs, d0, cut),
                      kg.nearest_source_parallel(indptr, indices, ww, srcs, d0, cut, nparts)):
        np.testing.assert_allclose(dist, expect)
        reached = np.isfinite(dist)
        assert (lab[~reached] == -1).all()
        np.testing.assert_allclose(per[lab[reached], np.flatnonzero(reached)], dist[reached])


def test_hilbert_codes_are_a_spatial_order():
    """Neighbouring cells of a grid get nearby Hilbert positions; gather inverts the order."""
    side = 16
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))
    x, y = jj.ravel().astype(float), ii.ravel().astype(float)
    codes = kg.hilbert_codes(x, y, 4)
    assert np.unique(codes).size == side * side  # a bijection on a 2^4 grid
    order = np.argsort(codes)
    steps = np.hypot(np.diff(x[order]), np.diff(y[order]))
    np.testing.assert_allclose(steps, 1.0)  # the curve moves one cell at a time
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    vals = np.arange(order.size) * 1.5
    np.testing.assert_array_equal(kg.gather(kg.gather(vals, order), rank), vals)
