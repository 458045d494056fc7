"""A small synthetic town whose target values can be worked out by hand (labelled synthetic).

Also imported by tests/cli/test_report.py (by path) through :func:`build_town`.
"""

import geopandas as gpd
import numpy as np
import shapely

import cimtwin

CRS = "EPSG:4527"  # CGCS2000 Gauss–Krüger zone 39 (Jinan)
X0, Y0 = 39_500_000.0, 4_060_000.0


def gdf(data, geometry):
    return gpd.GeoDataFrame(data, geometry=[shapely.affinity.translate(g, X0, Y0) for g in geometry], crs=CRS)


def box(*b):
    return shapely.box(*b)


def build_town():
    districts = gdf({"name": ["甲区", "乙区"]}, [box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)])
    subdistricts = gdf({"name": ["s1", "s2", "s3", "s4"]},
                       [box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000), box(2000, 0, 3000, 2000),
                        box(3000, 0, 4000, 2000)])
    cameras = gdf(
        {"height_m": [6.0] * 4, "azimuth_deg": [np.nan, 0.0, 90.0, 180.0], "hfov_deg": [360.0, 90.0, 90.0, 90.0],
         "range_m": [300.0, 100.0, 100.0, 100.0], "connected": [True, True, False, True],
         "is_smart": [True, False, False, True]},
        [shapely.Point(500, 500), shapely.Point(2500, 1500), shapely.Point(2600, 1500), shapely.Point(3500, 500)],
    )
    key_areas = gdf(
        {"name": ["部位A", "公共区B"], "category": ["重要部位", "重点公共区域"]},
        # 部位A lies inside the omni camera's 300 m disc; 公共区B holds cameras 2 (connected) and 3 (not).
        [box(450, 450, 550, 550), box(2400, 1400, 2700, 1600)],
    )
    gauges = gdf({"automated": [True, True]}, [shapely.Point(500, 1000), shapely.Point(2500, 1000)])
    sites = gdf({"height_m": [30.0] * 3, "frequency_mhz": [3500.0] * 3, "eirp_dbm": [60.0] * 3,
                 "bandwidth_mhz": [100.0] * 3},
                [shapely.Point(100, 100), shapely.Point(2100, 100), shapely.Point(3900, 100)])
    roads = gdf(
        {"name": ["祈福街", "祈福街", "某路", "支路"], "road_class": ["branch", "branch", "arterial", "local"],
         "width_m": [20.0, 20.0, 30.0, 10.0], "gazette_seq": [1.0, 1.0, 2.0, np.nan]},
        [shapely.LineString([(100, 300), (900, 300)]), shapely.LineString([(900, 300), (1900, 300)]),
         shapely.LineString([(2100, 700), (3900, 700)]), shapely.LineString([(1000, 0), (1000, 2000)])],
    )
    buildings = gdf(
        {"height_m": [10.0] * 4, "use": ["residential", "residential", "school", "hospital"],
         "fortification_intensity": [6, 7, 8, 7]},
        [box(100, 1500, 150, 1550), box(300, 1500, 350, 1550), box(2100, 1500, 2150, 1550),
         box(3100, 1500, 3150, 1550)],
    )
    stations = gdf({"kind": ["flow", "flow", "rain"], "automated": [True, False, False]},
                   [shapely.Point(200, 200), shapely.Point(2200, 200), shapely.Point(3200, 200)])
    return cimtwin.CityModel.from_layers(
        {"districts": districts, "subdistricts": subdistricts, "cameras": cameras, "key_areas": key_areas,
         "rain_gauges": gauges, "sites_5g": sites, "roads": roads, "buildings": buildings,
         "hydrology_stations": stations},
        metadata={"name": "hand-checked town (synthetic)", "synthetic": ["all"]},
    )


