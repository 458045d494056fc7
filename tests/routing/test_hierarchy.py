"""RoadNetwork.contract: CH-backed queries equal Dijkstra / networkx; closures fall back to Dijkstra."""

from pathlib import Path

import networkx as nx
import numpy as np

from cimtwin.routing import RoadNetwork, close_roads, from_osm, walking

DATA = Path(__file__).parent / "data"


def test_osm_graph_hierarchy_equals_networkx():
    import osmnx as ox

    net = from_osm(DATA / "small.osm")
    G = ox.graph_from_xml(DATA / "small.osm", simplify=True, retain_all=True)
    ids = net.node_ids
    ref = {a: nx.single_source_dijkstra_path_length(G, a, weight="length") for a in ids}
    table = np.array([[ref[a].get(b, np.inf) for b in ids] for a in ids])
    hier = net.contract()
    assert net.contract() is hier  # cached
    assert hier.n_arcs >= net.csr().indices.size - hier.n_shortcuts
    o, t = np.repeat(ids, ids.size), np.tile(ids, ids.size)
    np.testing.assert_allclose(net.route_costs(o, t).reshape(ids.size, ids.size), table, rtol=1e-12)
    np.testing.assert_allclose(net.od_matrix(ids, ids, progress=False), table, rtol=1e-12)
    rng = np.random.default_rng(0)
    for a, b in zip(rng.choice(ids, 25), rng.choice(ids, 25)):
        r = net.shortest_path(a, b)
        if np.isfinite(table[ids == a][0][ids == b][0]):
            assert r.nodes[0] == a and r.nodes[-1] == b
            assert np.isclose(nx.path_weight(G, r.nodes, weight="length"), r.length_m)
            assert np.isclose(r.cost, table[ids == a][0][ids == b][0])
        else:
            assert not r.found and r.reason


def test_travel_time_hierarchy_and_closures(grid_net):
    mode = walking()
    ids = grid_net.node_ids
    before = grid_net.distances(ids, mode)
    grid_net.contract(mode)
    grid_net.contract("length")
    o, t = np.repeat(ids, ids.size), np.tile(ids, ids.size)
    np.testing.assert_allclose(grid_net.route_costs(o, t, mode).reshape(ids.size, -1), before)
    np.testing.assert_allclose(grid_net.route_costs(o, t).reshape(ids.size, -1), grid_net.distances(ids))
    # a closed network is a new network: no hierarchy, same answers as its own Dijkstra
    closed = close_roads(grid_net, edges=[0, 5, 9])
    assert closed.hierarchy("length") is None
    d_closed = closed.distances(ids)
    np.testing.assert_allclose(closed.route_costs(o, t).reshape(ids.size, -1), d_closed)
    np.testing.assert_allclose(closed.od_matrix(ids, ids, progress=False), d_closed)
    closed.contract()
    np.testing.assert_allclose(closed.route_costs(o, t).reshape(ids.size, -1), d_closed)
    slowed = close_roads(grid_net, edges=[1, 2], slow_factor=3.0)
    slowed.contract()
    np.testing.assert_allclose(slowed.od_matrix(ids, ids, progress=False), slowed.distances(ids))
    assert not np.allclose(slowed.distances(ids), grid_net.distances(ids))


def test_point_matrix_rows_equal_one_to_all(grid_net):
    """Any-point matrices equal, row by row, a one-to-all search from the snapped point."""
    import geopandas as gpd
    import shapely

    from cimtwin.routing import od_matrix, od_matrix_blocks

    rng = np.random.default_rng(4)
    pts = gpd.GeoSeries([shapely.Point(x, y) for x, y in rng.uniform(-10, 310, (12, 2))], crs=grid_net.crs)
    dst = gpd.GeoSeries([shapely.Point(x, y) for x, y in rng.uniform(-10, 310, (7, 2))], crs=grid_net.crs)
    rows = []
    for p in pts:
        # brute force: route each pair point -> point with the existing single-route code
        rows.append([grid_net.shortest_path(p, q).cost for q in dst])
    rows = np.array(rows)
    plain = od_matrix(grid_net, pts, dst, progress=False)
    np.testing.assert_allclose(plain, rows, rtol=1e-9)
    grid_net.contract()
    np.testing.assert_allclose(od_matrix(grid_net, pts, dst, progress=False), rows, rtol=1e-9)
    blocks = list(od_matrix_blocks(grid_net, pts, dst, rows=5, progress=False))
    assert [b.shape[0] for _, b in blocks] == [5, 5, 2]
    np.testing.assert_allclose(np.vstack([b for _, b in blocks]), rows, rtol=1e-9)
