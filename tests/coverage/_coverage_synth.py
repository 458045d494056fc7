"""Small synthetic cities (labelled synthetic) for the coverage tests."""

import geopandas as gpd
import numpy as np
import shapely

import cimtwin

CRS = "EPSG:4527"  # CGCS2000 3-degree Gauss-Krüger zone 39 (Jinan)
X0, Y0 = 39_500_000.0, 4_060_000.0


def gdf(data=None, geometry=(), **kw):
    geoms = [shapely.affinity.translate(g, X0, Y0) for g in geometry]
    return gpd.GeoDataFrame(data or {}, geometry=geoms, crs=CRS, **kw)


def P(x, y):
    return shapely.Point(x, y)


