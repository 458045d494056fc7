"""Dask-backed grids: chunked results equal the in-memory ones cell for cell.

Chunk layouts are chosen so that sources and observers sit on chunk edges and corners. The
synchronous scheduler keeps the tests single-process. All rasters are synthetic.
"""

import dask
import numpy as np
import pytest

from cimtwin.errors import InputTypeError, NodataError, ValidationError
from cimtwin.grid import (GridSpec, coverage_count, coverage_count_points, cumulative_viewshed, distance, idw,
                          resolve_flats, viewshed, zonal_stats)

SPEC = GridSpec.from_bounds((0.0, 0.0, 330.0, 250.0), res_m=10.0, crs="EPSG:4547")  # 25 x 33
CHUNKS = {"y": 8, "x": 11}  # edges after rows 7/15/23 and cols 10/21


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def _edge_points(rng, n=12):
    """Random cells plus cells on chunk edges and corners (and one just outside the grid)."""
    rows = np.r_[rng.integers(0, 25, n), 7, 8, 15, 16, 0, 24, 7, -1]
    cols = np.r_[rng.integers(0, 33, n), 10, 11, 21, 22, 32, 0, 11, 5]
    return rows.astype(float), cols.astype(float)


@pytest.mark.parametrize("chunks", [(8, 11), (5, 7), (25, 4)])
def test_coverage_disks_equal_in_memory(rng, chunks):
    rows, cols = _edge_points(rng)
    radius = rng.uniform(1.0, 5.5, rows.size)
    expected = coverage_count(SPEC.shape, rows, cols, radius)
    lazy = coverage_count(SPEC.shape, rows, cols, radius, chunks=chunks)
    assert lazy.chunks[0][0] == chunks[0]
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_coverage_sectors_and_half_cells_equal_in_memory(rng):
    rows, cols = _edge_points(rng)
    rows[:4] += 0.5
    az = rng.uniform(0, 360, rows.size)
    fov = rng.choice([60.0, 90.0, 180.0, 360.0], rows.size)
    expected = coverage_count(SPEC.shape, rows, cols, 6.0, azimuth_deg=az, hfov_deg=fov)
    lazy = coverage_count(SPEC.shape, rows, cols, 6.0, azimuth_deg=az, hfov_deg=fov, chunks=(8, 11))
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_coverage_points_lazy_dataarray(rng):
    x, y = rng.uniform(0, 330, 10), rng.uniform(0, 250, 10)
    out = coverage_count_points(SPEC, x, y, radius_m=45.0, chunks=(8, 11))
    assert out.chunks is not None and out.attrs["backend"] == "cpu" and out.attrs["units"] == "count"
    np.testing.assert_array_equal(out.values, coverage_count_points(SPEC, x, y, radius_m=45.0).values)


@pytest.mark.parametrize("kw", [{}, {"radius_m": 60.0}, {"k": 3}, {"k": 2, "radius_m": 45.0}])
def test_idw_equal_in_memory(rng, kw):
    gx = np.r_[rng.uniform(0, 330, 8), 105.0, 215.0]  # two gauges on chunk-edge cell centres
    gy = np.r_[rng.uniform(0, 250, 8), 165.0, 85.0]
    gv = rng.uniform(0, 30, gx.size)
    template = SPEC.to_dataarray(np.zeros(SPEC.shape, np.float32)).chunk(CHUNKS)
    lazy = idw(template, gx, gy, gv, **kw)
    assert lazy.chunks is not None
    expected = idw(SPEC, gx, gy, gv, **kw)
    np.testing.assert_allclose(lazy.values, expected.values, rtol=1e-5, atol=0)
    np.testing.assert_array_equal(np.isnan(lazy.values), np.isnan(expected.values))


def test_distance_with_max_equal_in_memory(rng):
    mask = rng.random(SPEC.shape) < 0.015
    mask[7, 10] = mask[16, 22] = True
    da_mask = SPEC.to_dataarray(mask)
    d_exp, i_exp = distance(da_mask, max_distance_m=45.0, return_index=True)
    d_lazy, i_lazy = distance(da_mask.chunk(CHUNKS), max_distance_m=45.0, return_index=True)
    assert d_lazy.chunks is not None
    np.testing.assert_array_equal(d_lazy.values, d_exp.values)
    np.testing.assert_array_equal(i_lazy.values, i_exp.values)


def test_distance_without_max_needs_memory(rng):
    da_mask = SPEC.to_dataarray(rng.random(SPEC.shape) < 0.1).chunk(CHUNKS)
    with pytest.raises(InputTypeError, match="compute"):
        distance(da_mask)


@pytest.fixture
def dem(rng):
    z = (rng.random(SPEC.shape) * 6.0).astype(np.float32)
    z[5, 20] = np.nan
    return SPEC.to_dataarray(z, name="dem")


@pytest.mark.parametrize("method", ["exact", "r2"])
def test_cumulative_viewshed_observers_on_edges(dem, method):
    rows = [7, 8, 15, 16, 0, 24, 12]
    cols = [10, 11, 21, 22, 32, 0, 16]
    kw = dict(max_distance_m=[60.0, 45.0, 80.0, 30.0, 100.0, 50.0, 70.0], method=method,
              azimuth_deg=[0.0, 90.0, 225.0, 300.0, 180.0, 45.0, 0.0], hfov_deg=[120.0, 360, 90, 200, 60, 90, 360],
              observer_height_m=3.0)
    expected = cumulative_viewshed(dem, rows, cols, **kw)
    lazy = cumulative_viewshed(dem.chunk(CHUNKS), rows, cols, **kw)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, expected.values)


@pytest.mark.parametrize("method", ["exact", "r2"])
def test_viewshed_with_range_on_a_chunk_corner(dem, method):
    expected = viewshed(dem, 8, 11, max_distance_m=90.0, method=method)
    lazy = viewshed(dem.chunk(CHUNKS), 8, 11, max_distance_m=90.0, method=method)
    np.testing.assert_array_equal(lazy.values, expected.values)


def test_zonal_equal_in_memory(rng, dem):
    zones = SPEC.to_dataarray(rng.integers(0, 6, SPEC.shape))
    expected = zonal_stats(dem, zones, threshold=3.0, zones_nodata=0)
    got = zonal_stats(dem.chunk(CHUNKS), zones.chunk(CHUNKS), threshold=3.0, zones_nodata=0)
    assert list(got.index) == list(expected.index)
    np.testing.assert_array_equal(got["count"], expected["count"])
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-12)


def test_global_functions_ask_for_compute(dem):
    # fill, D8, accumulation and HAND run tiled (tests/grid/test_hydrology_dask.py), ponding
    # on windows (tests/grid/test_ponding_dask.py); this does not
    with pytest.raises(InputTypeError, match="compute"):
        resolve_flats(dem.chunk(CHUNKS))


def test_cumulative_viewshed_with_building_heights(dem):
    heights = np.zeros(SPEC.shape, np.float32)
    heights[6:10, 9:13] = 15.0  # a block straddling a chunk corner
    kw = dict(max_distance_m=70.0, method="exact", heights=heights)
    expected = cumulative_viewshed(dem, [3, 8, 12], [4, 11, 15], **kw)
    lazy = cumulative_viewshed(dem.chunk(CHUNKS), [3, 8, 12], [4, 11, 15], **kw)
    np.testing.assert_array_equal(lazy.values, expected.values)


def test_coverage_on_a_dask_template_uses_its_chunks(rng):
    rows, cols = _edge_points(rng)
    template = SPEC.to_dataarray(np.zeros(SPEC.shape, np.float32)).chunk(CHUNKS)
    lazy = coverage_count(template, rows, cols, 4.5)
    assert lazy.chunks == template.chunks and lazy.attrs["units"] == "count"
    np.testing.assert_array_equal(lazy.values, coverage_count(SPEC, rows, cols, 4.5).values)


def test_coverage_chunked_validates_before_any_task(rng):
    with pytest.raises(ValidationError, match="radius_cells"):
        coverage_count(SPEC.shape, [1.0], [2.0], -1.0, chunks=8)


def test_idw_on_a_plain_shape_with_chunks(rng):
    gx, gy, gv = rng.uniform(0, 32, 6), rng.uniform(0, 24, 6), rng.uniform(0, 30, 6)
    lazy = idw(SPEC.shape, gx, gy, gv, radius_m=80.0, res_m=10.0, k=3, chunks=(8, 11))
    np.testing.assert_allclose(lazy.compute(), idw(SPEC.shape, gx, gy, gv, radius_m=80.0, res_m=10.0, k=3),
                               rtol=1e-5)


def test_viewshed_observer_on_nodata_fails_before_compute(dem):
    # dem[5, 20] is NaN: the in-memory error, raised when the lazy result is built
    with pytest.raises(NodataError, match="row 5, col 20"):
        viewshed(dem.chunk(CHUNKS), 5, 20, max_distance_m=50.0)
    with pytest.raises(NodataError, match=r"indices \[1\]"):
        cumulative_viewshed(dem.chunk(CHUNKS), [3, 5], [3, 20], max_distance_m=50.0)


def test_viewshed_negative_heights_fail_on_dask_too(dem):
    heights = np.zeros(SPEC.shape, np.float32)
    heights[2, 2] = -1.0
    with pytest.raises(ValidationError, match="negative"):
        cumulative_viewshed(dem.chunk(CHUNKS), [8], [11], max_distance_m=50.0, heights=heights)
