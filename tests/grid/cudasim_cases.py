"""CUDA backend cases, run only under NUMBA_ENABLE_CUDASIM=1 in a separate process.

Not collected by the main test run (the file name does not start with ``test_``):
``tests/grid/test_cuda_backend.py`` runs it with ``python -m pytest`` in a subprocess, because
the simulator must be switched on before numba.cuda is first imported. Inputs are tiny: the
simulator runs every GPU thread as a Python thread. All rasters are synthetic.
"""

import math
import os

import numpy as np
import pytest

from cimtwin import config
from cimtwin.grid import (GridSpec, coverage_count, coverage_count_points, cumulative_viewshed, distance, idw,
                          viewshed, zonal_stats)

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1",
                                reason="needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported")

SPEC = GridSpec.from_bounds((0.0, 0.0, 160.0, 160.0), res_m=10.0, crs="EPSG:4547")  # 16 x 16


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_distance_matches_cpu(rng):
    mask = rng.random((16, 16)) < 0.04
    mask[0, 15] = True
    for max_d in (None, 35.0):
        d_cpu, i_cpu = distance(mask, res_m=10.0, return_index=True, max_distance_m=max_d, backend="cpu")
        d_gpu, i_gpu = distance(mask, res_m=10.0, return_index=True, max_distance_m=max_d, backend="cuda")
        np.testing.assert_array_equal(d_gpu, d_cpu)
        np.testing.assert_array_equal(i_gpu, i_cpu)


@pytest.mark.parametrize("sectors", [False, True])
def test_coverage_count_matches_cpu(rng, sectors):
    rows = np.r_[rng.integers(-2, 18, 5), 7.5, 0]
    cols = np.r_[rng.integers(-2, 18, 5), 3.25, 15]
    radius = rng.uniform(1.0, 6.0, rows.size)
    kw = {}
    if sectors:
        kw = {"azimuth_deg": rng.uniform(0, 360, rows.size), "hfov_deg": np.r_[90.0, 45.0, 360.0, 120.0, 60.0, 90, 200]}
    cpu = coverage_count((16, 16), rows, cols, radius, backend="cpu", **kw)
    gpu = coverage_count((16, 16), rows, cols, radius, backend="cuda", **kw)
    assert gpu.dtype == np.int32
    np.testing.assert_array_equal(gpu, cpu)


def test_coverage_points_records_backend():
    out = coverage_count_points(SPEC, [55.0, 120.0], [60.0, 100.0], radius_m=30.0, backend="auto")
    assert out.attrs["backend"] == "cuda"
    cpu = coverage_count_points(SPEC, [55.0, 120.0], [60.0, 100.0], radius_m=30.0, backend="cpu")
    np.testing.assert_array_equal(out.values, cpu.values)


@pytest.mark.parametrize("kw", [{}, {"radius_m": 50.0}, {"k": 3}, {"k": 2, "radius_m": 40.0, "power": 3.0}])
def test_idw_matches_cpu(rng, kw):
    x = np.r_[rng.uniform(0, 160, 6), 55.0]  # the last gauge sits on a cell centre
    y = np.r_[rng.uniform(0, 160, 6), 105.0]
    v = rng.uniform(0, 40, 7)
    cpu = idw(SPEC, x, y, v, backend="cpu", **kw)
    gpu = idw(SPEC, x, y, v, backend="cuda", **kw)
    assert gpu.attrs["backend"] == "cuda"
    np.testing.assert_allclose(gpu.values, cpu.values, rtol=1e-5, atol=0)
    np.testing.assert_array_equal(np.isnan(gpu.values), np.isnan(cpu.values))


@pytest.fixture
def dem(rng):
    z = (rng.random((16, 16)) * 6.0).astype(np.float32)
    z[3, 12] = np.nan  # a hole never blocks and is never visible
    return z


@pytest.mark.parametrize("method", ["exact", "r2"])
@pytest.mark.parametrize("max_d", [None, 55.0])
def test_viewshed_matches_cpu(dem, method, max_d):
    cpu = viewshed(dem, 8, 7, res_m=10.0, max_distance_m=max_d, method=method, backend="cpu")
    gpu = viewshed(dem, 8, 7, res_m=10.0, max_distance_m=max_d, method=method, backend="cuda")
    assert gpu.dtype == np.bool_
    np.testing.assert_array_equal(gpu, cpu)


@pytest.mark.parametrize("method", ["exact", "r2"])
def test_cumulative_viewshed_matches_cpu(dem, method):
    rows, cols = [0, 8, 15, 4], [0, 7, 15, 13]
    kw = dict(res_m=10.0, max_distance_m=[40.0, 60.0, 200.0, 30.0], method=method,
              azimuth_deg=[90.0, 0.0, 300.0, 180.0], hfov_deg=[90.0, 360.0, 120.0, 180.0], observer_height_m=2.0)
    cpu = cumulative_viewshed(dem, rows, cols, backend="cpu", **kw)
    gpu = cumulative_viewshed(dem, rows, cols, backend="cuda", **kw)
    np.testing.assert_array_equal(gpu, cpu)


def test_zonal_matches_cpu(rng):
    values = rng.normal(size=(16, 16))
    values[2, 2] = np.nan
    zones = rng.integers(1, 5, (16, 16))
    cpu = zonal_stats(values, zones, threshold=0.3, backend="cpu")
    gpu = zonal_stats(values, zones, threshold=0.3, backend="cuda")
    assert gpu.attrs["backend"] == "cuda"
    np.testing.assert_array_equal(gpu["count"], cpu["count"])
    np.testing.assert_allclose(gpu[["sum", "mean", "min", "max", "share_above"]].values,
                               cpu[["sum", "mean", "min", "max", "share_above"]].values, rtol=1e-5)


def test_auto_and_config_pick_cuda_under_simulator():
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    da = SPEC.to_dataarray(np.zeros((16, 16), bool))
    da.values[3, 3] = True
    assert distance(da, backend="auto").attrs["backend"] == "cuda"
    with config.set(backend="cpu"):
        assert distance(da, backend=None).attrs["backend"] == "cpu"
    with config.set(backend="cuda"):
        assert distance(da, backend=None).attrs["backend"] == "cuda"
    assert math.isfinite(float(distance(mask, res_m=1.0, backend="cuda").max()))
