"""Fixtures of the coverage tests."""

import numpy as np
import pytest
import shapely

import cimtwin
from tests.coverage._coverage_synth import P, gdf


@pytest.fixture
def city():
    """Two 1 km sub-districts side by side (synthetic)."""
    zones = gdf({"name": ["A", "B"]}, [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)])
    districts = gdf({"name": ["D"]}, [shapely.box(0, 0, 2000, 1000)])
    cams = gdf({"height_m": [6.0, 6.0], "azimuth_deg": [0.0, np.nan], "hfov_deg": [90.0, 360.0],
                "range_m": [100.0, 50.0], "connected": [True, False], "is_smart": [True, False]},
               [P(500, 500), P(1500, 500)])
    key = gdf({"name": ["k1", "k2"], "category": ["重要部位", "重点公共区域"]},
              [shapely.box(400, 400, 600, 700), shapely.box(1400, 400, 1600, 600)])
    gauges = gdf({}, [P(500, 500)])
    roads = gdf({"name": ["r"], "road_class": ["arterial"], "width_m": [20.0]},
                [shapely.LineString([(0, 500), (2000, 500)])])
    sites = gdf({"height_m": [25.0], "frequency_mhz": [3500.0], "eirp_dbm": [60.0], "bandwidth_mhz": [100.0]},
                [P(1000, 500)])
    return cimtwin.CityModel.from_layers(
        {"subdistricts": zones, "districts": districts, "cameras": cams, "key_areas": key, "rain_gauges": gauges,
         "roads": roads, "sites_5g": sites}, metadata={"name": "synthetic", "synthetic": ["all"]})
