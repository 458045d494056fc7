import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.routing import RoadNetwork


@pytest.fixture
def grid_roads():
    """Synthetic 4x4 street grid (100 m blocks), one one-way street, named roads."""
    lines, names, oneway, cls = [], [], [], []
    for i in range(4):
        lines.append(shapely.LineString([(0, i * 100), (300, i * 100)]))
        names.append(f"东西{i}路"); oneway.append(i == 3); cls.append("arterial" if i == 0 else "local")
        lines.append(shapely.LineString([(i * 100, 0), (i * 100, 300)]))
        names.append(f"南北{i}街"); oneway.append(False); cls.append("branch")
    return gpd.GeoDataFrame({"name": names, "road_class": cls, "oneway": oneway, "width_m": 10.0,
                             "speed_kmh": np.nan}, geometry=lines, crs="EPSG:32650")


@pytest.fixture
def grid_net(grid_roads):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RoadNetwork.from_roads(grid_roads)
