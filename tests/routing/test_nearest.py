"""nearest_facility for any points: brute-force costs, one-way ends, statuses instead of exceptions."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimtwin.errors import InputTypeError
from cimtwin.routing import RoadNetwork, edge_access, nearest_facility, walking


def _line_net(oneway):
    # 0 --100-- 1 --100-- 2, edges drawn left to right
    return RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], oneway=oneway,
                                   crs="EPSG:32650")


def test_one_way_ends_counted_in_the_right_direction():
    net = _line_net(True)
    home = gpd.GeoSeries([shapely.Point(150, 3), shapely.Point(50, 2)], crs=net.crs)
    shelter = gpd.GeoSeries([shapely.Point(30, -4)], index=["west"], crs=net.crs)
    out = nearest_facility(home, shelter, network=net)
    # home 0 is east of the shelter on a one-way street eastwards: no way back
    assert out.status.tolist() == ["unreachable", "unreachable"]
    shelter = gpd.GeoSeries([shapely.Point(170, -4)], index=["east"], crs=net.crs)
    out = nearest_facility(home, shelter, network=net)
    assert out.status.tolist() == ["ok", "ok"]
    np.testing.assert_allclose(out.distance_m, [20.0, 120.0])
    np.testing.assert_allclose(out.origin_snap_m, [3.0, 2.0])
    np.testing.assert_allclose(out.facility_snap_m, [4.0, 4.0])
    # walking ignores one-way: the west shelter is reachable in seconds
    west = gpd.GeoSeries([shapely.Point(30, -4)], index=["west"], crs=net.crs)
    out = nearest_facility(home, west, network=net, weight=walking())
    assert out.status.tolist() == ["ok", "ok"]
    np.testing.assert_allclose(out.time_s, np.array([120.0, 20.0]) / walking().speed_mps)
    acc = edge_access(net, [0], [0.3], towards_point=True)
    assert acc.cost_u.tolist() == [30.0] and acc.cost_v.tolist() == [np.inf]


def test_statuses_and_order(grid_net):
    pts = gpd.GeoDataFrame({"name": list("abcd")}, index=[10, 11, 12, 13], crs=grid_net.crs,
                           geometry=[shapely.Point(50, 10), shapely.Point(5000, 5000), shapely.Point(150, 290),
                                     shapely.box(240, 240, 260, 260)])
    fac = gpd.GeoDataFrame({"kind": ["A", "B", "far"]}, index=["S1", "S2", "S3"], crs=grid_net.crs,
                           geometry=[shapely.Point(0, 200), shapely.Point(300, 5), shapely.Point(-900, -900)])
    with pytest.warns(UserWarning, match="S3"):
        out = nearest_facility(pts, fac, network=grid_net, max_snap_m=60)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.status.tolist() == ["ok", "unsnappable", "ok", "ok"]
    assert pd.isna(out.facility.iloc[1]) and np.isnan(out.cost.iloc[1])
    assert out.origin_snap_m.iloc[1] > 60
    # brute force: the cheapest single route to any facility
    for k in (0, 2, 3):
        g = pts.geometry.iloc[k]
        costs = [grid_net.shortest_path(g, f).cost for f in fac.geometry.iloc[:2]]
        assert np.isclose(out.cost.iloc[k], min(costs))
        assert out.facility.iloc[k] == ["S1", "S2"][int(np.argmin(costs))]
    with pytest.warns(UserWarning, match="S3"):
        none = nearest_facility(pts, fac.iloc[[2]], network=grid_net, max_snap_m=60)
    assert set(none.status) == {"no_facility", "unsnappable"}
    with pytest.raises(InputTypeError):
        nearest_facility([shapely.Point(0, 0)], fac, network=grid_net)


def test_sample_shelters_snap_with_the_default():
    import cimtwin

    model = cimtwin.load_sample("jinan")
    net = RoadNetwork.from_roads(model.layer("roads"), warn_components=False)
    shelters = model.layer("shelters")
    homes = model.layer("buildings").iloc[:300]
    with pytest.warns(UserWarning) as rec:
        out = nearest_facility(homes, shelters, network=net)
    # the default reach (500 m) snaps all but the one shelter ~680 m from any road
    assert len(rec) == 1 and "1 of" not in str(rec[0].message)
    assert (out.status == "ok").mean() > 0.9
    assert set(out.status) <= {"ok", "unsnappable", "unreachable"}
