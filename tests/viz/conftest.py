"""A small synthetic city (two districts, three roads, cameras, a raster) for the map tests."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimtwin


@pytest.fixture(scope="module")
def tiny_model():
    """Synthetic: two 0.05° districts near Jinan, one gazette road, two cameras, a class raster."""
    districts = gpd.GeoDataFrame(
        {"name": ["甲区", "乙区"]},
        geometry=[shapely.box(117.00, 36.60, 117.05, 36.65), shapely.box(117.05, 36.60, 117.10, 36.65)],
        crs="EPSG:4326",
    )
    roads = gpd.GeoDataFrame(
        {"name": ["祈福街", "经十路", "支路"], "road_class": ["branch", "arterial", "local"],
         "width_m": [20.0, 40.0, 10.0], "gazette_seq": [1.0, np.nan, np.nan]},
        geometry=[shapely.LineString([(117.01, 36.61), (117.09, 36.64)]),
                  shapely.LineString([(117.0, 36.625), (117.1, 36.625)]),
                  shapely.LineString([(117.03, 36.60), (117.03, 36.65)])],
        crs="EPSG:4326",
    )
    cameras = gpd.GeoDataFrame(
        {"height_m": [8.0, 8.0], "azimuth_deg": [45.0, np.nan], "hfov_deg": [90.0, 360.0],
         "range_m": [300.0, 150.0], "connected": [True, False]},
        geometry=[shapely.Point(117.02, 36.63), shapely.Point(117.07, 36.62)],
        crs="EPSG:4326",
    )
    return cimtwin.CityModel.from_layers({"districts": districts, "roads": roads, "cameras": cameras},
                                         metadata={"name": "tiny (synthetic)", "synthetic": ["all"]})


@pytest.fixture(scope="module")
def class_raster(tiny_model):
    """Risk classes 1–5 on a 2 km square inside the east district, in the model CRS (synthetic)."""
    from cimtwin.grid.spec import GridSpec

    x0, y0, x1, y1 = tiny_model.bounds
    cx, cy = x0 + 0.75 * (x1 - x0), y0 + 0.3 * (y1 - y0)
    spec = GridSpec.from_bounds((cx - 1000, cy - 1000, cx + 1000, cy + 1000), res_m=50.0, crs=tiny_model.crs)
    values = np.full(spec.shape, 5.0)
    values[:, : spec.shape[1] // 2] = 4.0
    values[0, 0] = np.nan
    return spec.to_dataarray(values, name="risk_class")
