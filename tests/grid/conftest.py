"""Shared fixtures for the grid tests: small synthetic rasters (projected and geographic)."""

import numpy as np
import pytest

from cimtwin.grid import GridSpec


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def spec():
    """A 12 x 16 grid of 10 m cells in CGCS2000 / 3-degree Gauss-Kruger CM 114E (synthetic)."""
    return GridSpec.from_bounds((500_000.0, 3_000_000.0, 500_160.0, 3_000_120.0), res_m=10.0, crs="EPSG:4547")


@pytest.fixture
def geographic_da():
    """A small DataArray on a lon/lat grid (EPSG:4326)."""
    import xarray as xr

    da = xr.DataArray(np.zeros((4, 5), bool), dims=("y", "x"),
                      coords={"y": [30.4, 30.3, 30.2, 30.1], "x": [114.0, 114.1, 114.2, 114.3, 114.4]})
    return da.rio.write_crs("EPSG:4326")
