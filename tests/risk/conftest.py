"""Fixtures: a small synthetic city model for the risk tests (all data here is synthetic)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimtwin.model import CityModel
from cimtwin.grid import GridSpec

CRS = "EPSG:4527"
X0, Y0 = 39_500_000.0, 4_060_000.0


def make_spec(rows=20, cols=30, res=10.0):
    return GridSpec.from_bounds((X0, Y0, X0 + cols * res, Y0 + rows * res), res_m=res, crs=CRS)


def bowl_dem(spec, depth=2.0):
    """A tilted plane with one round bowl (synthetic)."""
    rows, cols = spec.shape
    r, c = np.mgrid[0:rows, 0:cols]
    z = 50.0 + 0.02 * c + 0.01 * r
    rc, cc = rows / 2, cols / 3
    d2 = (r - rc) ** 2 + (c - cc) ** 2
    z = z - depth * np.exp(-d2 / 8.0)
    return spec.to_dataarray(z.astype("float32"), name="dem", attrs={"units": "m"})


def gdf(data, geoms):
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


@pytest.fixture
def synth():
    """The helpers above, for tests that build their own grids."""
    import types

    return types.SimpleNamespace(CRS=CRS, make_spec=make_spec, bowl_dem=bowl_dem, gdf=gdf)


@pytest.fixture
def spec():
    return make_spec()


@pytest.fixture
def city(spec):
    """A 300 m × 200 m synthetic city: two districts, land use, roads, buildings, a fault, gauges."""
    xmin, ymin, xmax, ymax = spec.bounds
    xmid = (xmin + xmax) / 2
    districts = gdf({"name": ["West", "East"]}, [shapely.box(xmin, ymin, xmid, ymax), shapely.box(xmid, ymin, xmax, ymax)])
    land_use = gdf({"land_class": ["residential", "park"], "soil_group": ["C", "B"]},
                   [shapely.box(xmin, ymin, xmid, ymax), shapely.box(xmid, ymin, xmax, ymax)])
    ymid = (ymin + ymax) / 2
    roads = gdf({"name": ["Main", "Cross"], "road_class": ["arterial", "branch"], "width_m": [20.0, 8.0]},
                [shapely.LineString([(xmin + 5, ymid + 1), (xmax - 5, ymid + 1)]),
                 shapely.LineString([(xmid + 1, ymin + 5), (xmid + 1, ymax - 5)])])
    buildings = gdf({"height_m": [10.0, 20.0, 12.0], "use": ["residential", "school", "hospital"],
                     "fortification_intensity": [7, 7, 8], "population": [100.0, 500.0, 50.0]},
                    [shapely.box(xmin + 20, ymin + 20, xmin + 40, ymin + 40),
                     shapely.box(xmax - 60, ymin + 20, xmax - 40, ymin + 40),
                     shapely.box(xmax - 60, ymax - 40, xmax - 40, ymax - 20)])
    faults = gdf({"name": ["F1"], "activity": ["Late Pleistocene"], "magnitude": [6.5], "strike_deg": [90.0]},
                 [shapely.LineString([(xmin - 2000, ymin - 3000), (xmax + 2000, ymin - 3000)])])
    # synthetic GB 18306-style zones: 0.10 g in the west half, 0.15 g in the east half
    zoning = gdf({"pga_g": [0.10, 0.15], "source": ["synthetic", "synthetic"]},
                 [shapely.box(xmin, ymin, xmid, ymax), shapely.box(xmid, ymin, xmax, ymax)])
    gauges = gdf({"gauge_id": ["g1", "g2", "g3"], "automated": [True, True, False]},
                 gpd.points_from_xy([xmin + 15, xmax - 15, xmid], [ymin + 15, ymax - 15, ymid]))
    shelters = gdf({"name": ["East park", "West square"], "level": ["emergency", "emergency"],
                    "area_m2": [5000.0, 3000.0]},
                   gpd.points_from_xy([xmax - 10, xmin + 10], [ymid + 1, ymid + 1]))
    obs = pd.DataFrame({"gauge_id": ["g1", "g1", "g2", "g3"],
                        "time": pd.to_datetime(["2024-07-01 10:00", "2024-07-01 11:00", "2024-07-01 10:00",
                                                "2024-07-01 10:00"]),
                        "rain_mm": [30.0, 20.0, 80.0, 60.0]})
    dem = bowl_dem(spec)
    pop = spec.to_dataarray(np.full(spec.shape, 2.0, dtype="float32"), name="population",
                            attrs={"units": "persons"})
    return CityModel.from_layers(
        {"districts": districts, "land_use": land_use, "roads": roads, "buildings": buildings,
         "faults": faults, "seismic_zoning": zoning, "rain_gauges": gauges, "shelters": shelters},
        rasters={"dem": dem, "population": pop}, tables={"gauge_observations": obs}, crs=CRS,
        metadata={"name": "synthetic", "synthetic": ["all"],
                  "design_storm": {"A1": 10.0, "C": 0.8, "b": 10.0, "n": 0.7, "P_years": 50,
                                   "duration_min": 120, "source": "synthetic parameters for tests"}})
