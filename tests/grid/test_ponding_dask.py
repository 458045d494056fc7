"""Fill-Spill-Merge ponding on a dask DEM equals the in-memory result (all DEMs here are SYNTHETIC)."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cimtwin.errors import CimtwinError, ValidationError
from cimtwin.grid import GridSpec, fill_depressions, ponding_depth
from cimtwin.grid.ponding import PondingWindowError


def _terrain(seed, n=48, holes=True):
    """Smoothed noise rounded to 1 cm: many depressions, nested ones, flats and equal saddles."""
    rng = np.random.default_rng(seed)
    z = ndi.gaussian_filter(rng.random((n, n)) * 3.0, 2.0)
    z = np.round(z, 2).astype("float32")
    if holes:
        z[10:13, 20:24] = np.nan  # a nodata hole: an outlet
    runoff = (rng.random((n, n)) * 50.0).astype("float32")
    runoff[~np.isfinite(z)] = 0.0
    return z, runoff


def _check_equal(z, runoff, chunks, res_m=2.0):
    ref = ponding_depth(z, runoff, res_m=res_m)
    dz = xr.DataArray(z, dims=("y", "x")).chunk({"y": chunks[0], "x": chunks[1]})
    run = runoff if np.ndim(runoff) == 0 else xr.DataArray(runoff, dims=("y", "x"))
    res = ponding_depth(dz, run, res_m=res_m)
    assert type(res.depth_m.data).__module__.startswith("dask")
    # the same merge trees and the same water per tree: depths equal cell for cell
    np.testing.assert_array_equal(res.depth_m.values, ref.depth_m)
    # volumes are sums in another order: equal to float64 rounding
    np.testing.assert_allclose(res.runoff_volume_m3, ref.runoff_volume_m3, rtol=1e-12)
    np.testing.assert_allclose(res.ponded_volume_m3, ref.ponded_volume_m3, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.outflow_volume_m3, ref.outflow_volume_m3, rtol=1e-9, atol=1e-6)
    return res, ref


@pytest.mark.parametrize("seed", [0, 2, 3])
@pytest.mark.parametrize("chunks", [(1, 48), (48, 1), (7, 9), (13, 48), (48, 48)])
def test_equals_in_memory_on_rough_terrain(seed, chunks):
    z, runoff = _terrain(seed)
    res, ref = _check_equal(z, runoff, chunks)
    assert ref.ponded_volume_m3 > 0
    # the depressions do cross the chunk edges
    depth = np.asarray(fill_depressions(z)) - z
    labels, n = ndi.label(depth > 0, structure=np.ones((3, 3)))
    rows = [np.unique(np.nonzero(labels == k)[0] // chunks[0]).size for k in range(1, n + 1)]
    cols = [np.unique(np.nonzero(labels == k)[1] // chunks[1]).size for k in range(1, n + 1)]
    assert chunks == (48, 48) or max(max(rows), max(cols)) > 1


def test_one_lake_over_many_chunks_with_nested_pits_and_a_flat_saddle():
    # a bowl 30 cells wide with two pits joined by a saddle at exactly the bowl's spill level
    r, c = np.mgrid[0:40, 0:40]
    z = (10.0 + 0.02 * ((r - 20) ** 2 + (c - 20) ** 2)).astype("float32")
    z[z > 14.0] = 14.0 + 0.01 * (r[z > 14.0] + c[z > 14.0])
    z[12, 14] = 9.0
    z[26, 25] = 9.5
    z[19:22, :] = np.maximum(z[19:22, :], 12.0)  # a ridge across the bowl, lower than its rim
    z[19:22, 20] = 12.0
    runoff = np.full(z.shape, 80.0, dtype="float32")
    for chunks in [(5, 5), (1, 40), (40, 3), (11, 7)]:
        res, ref = _check_equal(z, runoff, chunks, res_m=1.0)
    assert float(np.nanmax(ref.depth_m)) > 1.0


def test_uniform_runoff_and_a_numpy_runoff():
    z, runoff = _terrain(5, holes=False)
    _check_equal(z, 30.0, (10, 10))
    ref = ponding_depth(z, runoff, res_m=2.0)
    res = ponding_depth(xr.DataArray(z, dims=("y", "x")).chunk(16), runoff, res_m=2.0)
    np.testing.assert_array_equal(res.depth_m.values, ref.depth_m)


def test_grid_from_coordinates():
    z, runoff = _terrain(1)
    spec = GridSpec.from_bounds((0, 0, 96, 96), res_m=2.0, crs="EPSG:32650")
    da = spec.to_dataarray(z)
    ref = ponding_depth(da, spec.to_dataarray(runoff))
    res = ponding_depth(da.chunk(10), spec.to_dataarray(runoff).chunk(10))
    np.testing.assert_array_equal(res.depth_m.values, ref.depth_m.values)
    assert res.depth_m.attrs["units"] == "m"


@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(3, 14), st.integers(3, 14)),
              elements=st.integers(-1, 6).map(lambda v: np.nan if v < 0 else float(v))),
       st.integers(1, 5), st.integers(1, 5), st.floats(0.0, 3000.0))
def test_any_chunk_shape_on_small_integer_dems(z, ch_r, ch_c, rain_mm):
    # integer heights: plateaus, flats and ties everywhere; NaN holes are outlets
    if np.isnan(z).all():
        return
    ref = ponding_depth(z, rain_mm, res_m=1.0)
    res = ponding_depth(xr.DataArray(z, dims=("y", "x")).chunk({"y": ch_r, "x": ch_c}), rain_mm, res_m=1.0)
    np.testing.assert_array_equal(res.depth_m.values, ref.depth_m)
    np.testing.assert_allclose(res.ponded_volume_m3, ref.ponded_volume_m3, rtol=1e-9, atol=1e-9)


def test_window_limit_is_a_clear_error():
    r, c = np.mgrid[0:40, 0:40]
    z = (0.01 * ((r - 20) ** 2 + (c - 20) ** 2)).astype("float32")  # one bowl over the whole grid
    da = xr.DataArray(z, dims=("y", "x")).chunk(8)
    with pytest.raises(PondingWindowError, match=r"max_window_cells") as err:
        ponding_depth(da, 10.0, res_m=1.0, max_window_cells=500)
    assert isinstance(err.value, CimtwinError) and isinstance(err.value, MemoryError)
    assert "cells" in str(err.value)
    with pytest.raises(PondingWindowError, match="row 20, col 20|window of more than"):
        ponding_depth(da, 10.0, res_m=1.0, max_window_cells=200)
    res = ponding_depth(da, 10.0, res_m=1.0, max_window_cells=2000)
    np.testing.assert_array_equal(res.depth_m.values, ponding_depth(z, 10.0, res_m=1.0).depth_m)


def test_errors_as_in_memory():
    z, runoff = _terrain(0)
    da = xr.DataArray(z, dims=("y", "x")).chunk(16)
    bad = runoff.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        ponding_depth(da, bad, res_m=2.0)
    with pytest.raises(ValidationError, match="negative"):
        ponding_depth(da, -runoff - 1, res_m=2.0)
    with pytest.raises(ValidationError, match="res_m"):
        ponding_depth(da, runoff)
