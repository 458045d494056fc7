"""Helpers building small synthetic grids and layers for the risk tests (synthetic data)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimtwin.grid import GridSpec
from cimtwin.model import CityModel

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


