"""The routing kernels run on a spatially renumbered copy of the graph; results keep node_ids order."""

import networkx as nx
import numpy as np

from cimtwin.routing import RoadNetwork


def test_renumbered_kernels_keep_node_order():
    """Queries run on a spatially renumbered copy; results must come back in node_ids order."""
    rng = np.random.default_rng(3)
    side = 12
    ii, jj = np.divmod(np.arange(side * side), side)
    x, y = jj * 100.0 + rng.uniform(-20, 20, ii.size), ii * 100.0 + rng.uniform(-20, 20, ii.size)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(u.size) < 0.8
    u, v = u[keep], v[keep]
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * 1.05
    ids = np.arange(side * side) * 7 + 1000  # ids unlike positions
    net = RoadNetwork.from_arrays(x, y, u, v, length, crs="EPSG:32650", node_ids=ids)
    G = nx.Graph()
    G.add_nodes_from(ids)
    G.add_weighted_edges_from(zip(ids[u], ids[v], length), weight="length")
    ref = {a: nx.single_source_dijkstra_path_length(G, a, weight="length") for a in ids}
    table = np.array([[ref[a].get(b, np.inf) for b in ids] for a in ids])
    np.testing.assert_allclose(net.distances(ids[:5]), table[:5])
    fac = ids[[3, 50, 140]]
    d, which = net.nearest_facility(fac)
    np.testing.assert_allclose(d, table[[3, 50, 140]].min(axis=0))
    ok = which >= 0
    np.testing.assert_allclose(table[[3, 50, 140]][which[ok], np.flatnonzero(ok)], d[ok])
    kd, _ = net.k_nearest_facilities(fac, k=2)
    np.testing.assert_allclose(kd, np.sort(table[[3, 50, 140]], axis=0)[:2].T)
    np.testing.assert_allclose(net.od_matrix(ids[:4], ids[10:14]), table[:4, 10:14])
    o, t = ids[rng.integers(0, ids.size, 30)], ids[rng.integers(0, ids.size, 30)]
    expect = table[(o - 1000) // 7, (t - 1000) // 7]
    np.testing.assert_allclose(net.route_costs(o, t), expect)
    net.prepare_landmarks(n_landmarks=3)
    np.testing.assert_allclose(net.route_costs(o, t), expect)
    a, b = next((a, b) for a, b in zip(o, t) if np.isfinite(table[(a - 1000) // 7, (b - 1000) // 7]) and a != b)
    r = net.shortest_path(a, b)
    assert r.nodes[0] == a and r.nodes[-1] == b
    assert np.isclose(nx.path_weight(G, r.nodes, weight="length"), r.length_m)
