import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from cimtwin.errors import LayerNotFoundError, ValidationError
from cimtwin.routing import (RoadNetwork, WALK, allocate_shelters, check_declared_junctions, close_roads,
                             closure_impact, from_osm, isochrones, snap_points)
from cimtwin.routing.service_areas import reached_edge_parts

DATA = Path(__file__).parent / "data"


def test_from_roads_nodes_crossings(grid_net):
    assert grid_net.n_nodes == 16 and grid_net.n_edges == 24


def test_distances_match_networkx(grid_net):
    G = grid_net.to_graph()
    d = grid_net.distances(grid_net.node_ids[:3])
    for i, s in enumerate(grid_net.node_ids[:3]):
        ref = nx.single_source_dijkstra_path_length(G, s, weight="length")
        np.testing.assert_allclose(d[i], [ref.get(t, np.inf) for t in grid_net.node_ids])


def test_osm_xml_matches_networkx():
    import osmnx as ox

    net = from_osm(DATA / "small.osm")
    G = ox.graph_from_xml(DATA / "small.osm", simplify=True, retain_all=True)
    d = net.distances(net.node_ids)
    for i, a in enumerate(net.node_ids):
        ref = nx.single_source_dijkstra_path_length(G, a, weight="length")
        np.testing.assert_allclose(d[i], [ref.get(b, np.inf) for b in net.node_ids])
    r = net.shortest_path(net.node_ids[0], net.node_ids[-1])
    assert np.isclose(r.length_m, nx.shortest_path_length(G, net.node_ids[0], net.node_ids[-1], weight="length"))
    back = RoadNetwork.from_graph(net.to_graph())
    np.testing.assert_allclose(back.distances(back.node_ids), d)


def test_shortest_path_and_unreachable():
    net = RoadNetwork.from_arrays([0, 100, 200, 900], [0, 0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], crs="EPSG:32650")
    r = net.shortest_path(0, 2)
    assert r.nodes == [0, 1, 2] and r.length_m == 200 and r.geometry.length == 200
    miss = net.shortest_path(0, 3)
    assert not np.isfinite(miss.cost) and "different" in miss.reason
    assert np.isinf(net.route_costs([0, 0], [2, 3])).tolist() == [False, True]


def test_oneway_and_walk(grid_net):
    top = [i for i, xy in enumerate(grid_net.node_xy) if xy[1] == 300]
    a, b = (grid_net.node_ids[i] for i in sorted(top, key=lambda i: grid_net.node_xy[i][0])[:2])
    assert grid_net.shortest_path(a, b).length_m == 100
    assert grid_net.shortest_path(b, a).length_m == 300  # around the block
    assert grid_net.shortest_path(b, a, weight=WALK).cost == 100  # pedestrians ignore one-way


def test_bad_weights_named():
    with pytest.raises(ValidationError, match="edge 1"):
        RoadNetwork.from_arrays([0, 1, 2], [0, 0, 0], [0, 1], [1, 2], [1.0, np.nan], crs="EPSG:32650")
    G = nx.MultiDiGraph(crs="EPSG:32650")
    G.add_node(1, x=0.0, y=0.0); G.add_node(2, x=1.0, y=0.0)
    G.add_edge(1, 2, length=0.0)
    with pytest.raises(ValidationError, match=r"\(1, 2, 0\)"):
        RoadNetwork.from_graph(G)


def test_snap_and_point_routes(grid_net):
    pts = gpd.GeoSeries([shapely.Point(50, 5), shapely.Point(250, 195)], crs=grid_net.crs)
    snap = snap_points(grid_net, pts)
    np.testing.assert_allclose(snap.distance_m, [5, 5])
    r = grid_net.shortest_path(pts.iloc[0], pts.iloc[1], weight=WALK)
    assert np.isclose(r.length_m, 50 + 200 + 100 + 50 - 0) or np.isclose(r.cost, 400)
    with pytest.raises(ValidationError, match="far"):
        snap_points(grid_net, gpd.GeoSeries([shapely.Point(50, 5), shapely.Point(5000, 0)], index=["ok", "far"],
                                            crs=grid_net.crs), max_snap_m=20)


def test_nearest_and_k_nearest(grid_net):
    fac = grid_net.node_ids[[0, 15]]
    d, which = grid_net.nearest_facility(fac)
    full = grid_net.distances(fac)
    np.testing.assert_allclose(d, full.min(axis=0))
    assert np.allclose(full[which, np.arange(grid_net.n_nodes)], d)
    kd, _ = grid_net.k_nearest_facilities(fac, 2)
    np.testing.assert_allclose(kd, np.sort(full, axis=0).T)
    np.testing.assert_allclose(grid_net.od_matrix(fac, grid_net.node_ids), full)


def test_landmarks_exact(grid_net):
    rng = np.random.default_rng(0)
    o = rng.choice(grid_net.node_ids, 30); t = rng.choice(grid_net.node_ids, 30)
    plain = grid_net.route_costs(o, t)
    grid_net.prepare_landmarks(n_landmarks=3)
    np.testing.assert_allclose(grid_net.route_costs(o, t), plain)
    full = grid_net.distances(grid_net.node_ids)
    np.testing.assert_allclose(plain, full[grid_net.node_index(o), grid_net.node_index(t)])


def test_isochrone_holds_exactly_reached_parts(grid_net):
    T = 170.0
    parts = reached_edge_parts(grid_net, grid_net.node_ids[[5]], T, WALK)
    d = grid_net.distances(grid_net.node_ids[[5]], WALK)[0]
    # brute force on sample points along every edge
    for e in range(grid_net.n_edges):
        L = grid_net.edge_attr("length")[e]
        for f in np.linspace(0, 1, 41):
            cost = min(d[grid_net._u[e]] + f * L, d[grid_net._v[e]] + (1 - f) * L)
            p = parts[parts.edge == e]
            inside = bool(((p.start <= f + 1e-12) & (f - 1e-12 <= p.end)).any())
            assert inside == (cost <= T + 1e-9), (e, f, cost)
    iso = isochrones(grid_net, grid_net.node_ids[[5]], [T], WALK, buffer_m=0)
    assert np.isclose(iso.reached_length_m.iloc[0], ((parts.end - parts.start) * 100).sum())


def test_isochrone_population():
    net = RoadNetwork.from_arrays([0, 1000], [0, 0], [0], [1], [1000.0], crs="EPSG:32650")
    pop = xr.DataArray(np.ones((1, 10)), coords={"y": [0.0], "x": np.arange(10) * 100.0 + 50}, dims=("y", "x"))
    iso = isochrones(net, [0], [300.0], buffer_m=10, population=pop)
    assert iso.population.iloc[0] == 3  # cells centred at 50, 150, 250


def test_closures_change_exactly_what_they_should(grid_net):
    e = 0
    closed = close_roads(grid_net, edges=[e])
    assert closed.n_edges == grid_net.n_edges - 1
    before, after = grid_net.distances([grid_net.node_ids[0]]), closed.distances([grid_net.node_ids[0]])
    G = grid_net.to_graph()
    u, v = grid_net.node_ids[grid_net._u[e]], grid_net.node_ids[grid_net._v[e]]
    G.remove_edges_from([(u, v, k) for k in list(G[u][v])] + ([(v, u, k) for k in list(G[v][u])] if G.has_edge(v, u) else []))
    ref = nx.single_source_dijkstra_path_length(G, grid_net.node_ids[0], weight="length")
    np.testing.assert_allclose(after[0], [ref.get(t, np.inf) for t in grid_net.node_ids])
    assert (after >= before).all()
    slow = close_roads(grid_net, edges=[e], slow_factor=3.0)
    assert slow.n_edges == grid_net.n_edges
    # a flooded polygon around node 0's corner isolates it
    flood = shapely.Point(0, 0).buffer(30)
    cut = close_roads(grid_net, polygons=flood)
    imp = closure_impact(grid_net, cut, grid_net.node_ids[[15]])
    corner = grid_net.node_ids[np.flatnonzero((grid_net.node_xy == 0).all(axis=1))]
    assert list(imp["nodes_lost"]) == list(corner)
    imp2 = closure_impact(grid_net, cut, corner)
    assert imp2["facilities_lost"].tolist() == [0]


def test_allocation_never_exceeds_capacity(grid_net):
    rng = np.random.default_rng(3)
    res = gpd.GeoDataFrame({"population": rng.integers(1, 40, 30)},
                           geometry=gpd.points_from_xy(rng.uniform(0, 300, 30), rng.uniform(0, 300, 30)), crs=grid_net.crs)
    shel = gpd.GeoDataFrame({"capacity_persons": [50, np.nan], "area_m2": [np.nan, 90.0]},
                            geometry=[shapely.Point(0, 0), shapely.Point(300, 300)], crs=grid_net.crs)
    out = allocate_shelters(grid_net, res, shel, max_snap_m=300)
    s = out["shelters"]
    assert s.capacity.tolist() == [50, 60]
    assert (s.assigned <= s.capacity + 1e-9).all()
    served = out["assignments"].groupby("resident").persons.sum().reindex(res.index, fill_value=0)
    left = out["unserved"].set_index("resident").persons.reindex(res.index, fill_value=0)
    np.testing.assert_allclose(served + left, res.population)
    assert np.isclose(out["unserved"].persons.sum(), res.population.sum() - 110)


def test_route_by_name_and_topology(grid_roads, grid_net):
    r = grid_net.route_between_roads("东西1路", "东西2路")
    assert np.isclose(r.length_m, 100)
    with pytest.raises(LayerNotFoundError, match="东西1路"):
        grid_net.route_between_roads("东西l路", "东西2路")
    j = pd.DataFrame({"road": ["东西1路", "东西1路", "南北0街"], "other_road": ["南北2街", "东西2路", "无名路"]})
    rep = check_declared_junctions(grid_roads, j, tolerance_m=1)
    assert rep.connected.tolist() == [True, False, False]
    assert np.isclose(rep.gap_m.iloc[1], 100)


def test_components_reported():
    roads = gpd.GeoDataFrame({"oneway": [False, False], "road_class": ["local", "local"]},
                             geometry=[shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(500, 0), (600, 0)])],
                             crs="EPSG:32650")
    with pytest.warns(UserWarning, match="2 disconnected parts"):
        net = RoadNetwork.from_roads(roads)
    table, label = net.components()
    assert table.n_nodes.tolist() == [2, 2]


def test_geographic_roads_refused():
    roads = gpd.GeoDataFrame({"oneway": [False]}, geometry=[shapely.LineString([(117, 36), (117.1, 36)])], crs="EPSG:4326")
    with pytest.raises(ValidationError, match="projected"):
        RoadNetwork.from_roads(roads)


def test_snap_points_on_curved_osm_edges_equal_shapely_projection():
    net = from_osm(DATA / "small.osm")
    lines = net.edge_geometry()
    assert (shapely.get_num_coordinates(lines) > 2).any()  # the grid must handle polylines, not just segments
    x0, y0, x1, y1 = shapely.total_bounds(lines)
    rng = np.random.default_rng(7)
    pts = shapely.points(rng.uniform(x0 - 50, x1 + 50, 400), rng.uniform(y0 - 50, y1 + 50, 400))
    snap = snap_points(net, pts, max_snap_m=1e6)
    _, want = shapely.STRtree(lines).query_nearest(pts, return_distance=True, all_matches=False)
    np.testing.assert_allclose(snap["distance_m"], want, atol=1e-6)
    chosen = lines[snap["edge"].to_numpy()]
    np.testing.assert_allclose(shapely.distance(chosen, pts), want, atol=1e-6)
    np.testing.assert_allclose(snap["offset_m"], shapely.line_locate_point(chosen, pts), atol=1e-6)
    np.testing.assert_allclose(snap["fraction"], snap["offset_m"] / shapely.length(chosen), atol=1e-9)
    foot = shapely.line_interpolate_point(chosen, snap["offset_m"].to_numpy())
    np.testing.assert_allclose(snap[["x", "y"]].to_numpy(), shapely.get_coordinates(foot), atol=1e-6)


def test_from_model_builds_one_network_per_model_and_options():
    import cimtwin

    roads = gpd.GeoDataFrame({"name": ["甲路", "乙路"], "road_class": ["local", "local"], "width_m": [8.0, 8.0]},
                             geometry=[shapely.LineString([(5e5, 4e6), (5e5 + 100, 4e6)]), shapely.LineString([(5e5 + 50, 4e6 - 50), (5e5 + 50, 4e6 + 50)])],
                             crs="EPSG:32650")
    m = cimtwin.CityModel.from_layers({"roads": roads})
    a = RoadNetwork.from_model(m)
    assert RoadNetwork.from_model(m) is a  # shared by every analysis of the model
    assert RoadNetwork.from_model(m, snap_tolerance_m=5.0) is not a  # other options, other network
    m2 = m.with_layer("roads", roads.iloc[:1])
    b = RoadNetwork.from_model(m2)  # a new model starts without derived results
    assert b is not a and b.n_edges == 1 and a.n_edges == 4
    assert RoadNetwork.from_roads(roads).n_edges == a.n_edges
    with pytest.raises(LayerNotFoundError):
        RoadNetwork.from_model(cimtwin.CityModel.from_layers({"districts": gpd.GeoDataFrame(
            {"name": ["甲区"]}, geometry=[shapely.box(5e5, 4e6, 5e5 + 100, 4e6 + 100)], crs="EPSG:32650")}))

