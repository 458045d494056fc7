"""CUDA kernel cases for the CUDA simulator, run in a subprocess by ``test_cuda.py``.

Not collected by the main run (no ``test_`` prefix): numba's simulator must be switched on
(``NUMBA_ENABLE_CUDASIM=1``) before numba.cuda is first imported. Every CUDA kernel is
compared with its CPU twin on tiny synthetic inputs (the simulator runs each GPU thread as a
Python thread): integers identical, floats within 1e-5 relative.
"""

import math
import os

import numpy as np
import pytest

from cimtwin.grid import flow_accumulation, flow_direction_d8, resolve_flats
from cimtwin.kernels import distance as cpu_dist, hydro as cpu_hydro, interp as cpu_idw, zonal as cpu_zonal
from cimtwin.kernels.cuda import distance as g_dist, hydro as g_hydro, interp as g_idw, pipeline, zonal as g_zonal
from cimtwin.kernels import coverage as cpu_cov
from cimtwin.kernels.cuda import transfer

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1",
                                reason="needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported")


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _dem_with_flats(rng, shape=(9, 11), dtype=np.float32):
    """Terraced synthetic DEM: integer heights give many flats and equal drops."""
    z = np.round(rng.random(shape) * 3).astype(dtype)
    z[4, 2:7] = 1.0  # a flat shelf
    return z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_d8_and_accumulation_match_cpu(rng, dtype):
    z = _dem_with_flats(rng, dtype=dtype)
    z[2, 3] = np.nan  # a hole drains like the edge
    for conditioned in (False, True):
        cpu = flow_direction_d8(z, conditioned=conditioned, backend="cpu")
        gpu = flow_direction_d8(z, conditioned=conditioned, backend="cuda")
        np.testing.assert_array_equal(gpu, cpu)
        acc_cpu = flow_accumulation(z, conditioned=conditioned, backend="cpu")
        acc_gpu = flow_accumulation(z, conditioned=conditioned, backend="cuda")
        assert acc_gpu.dtype == acc_cpu.dtype == np.uint32
        np.testing.assert_array_equal(acc_gpu, acc_cpu)
    np.testing.assert_array_equal(resolve_flats(z, backend="cuda"), resolve_flats(z, backend="cpu"))


def test_accumulation_kernel_on_hand_made_codes():
    # a 2 x 3 grid: (1, 0) drains NE and (1, 1) N into (0, 1), then east; (1, 2) is nodata
    dirs = np.array([[1, 1, 0], [128, 64, 255]], np.uint8)
    np.testing.assert_array_equal(g_hydro.accumulation_cuda(dirs, np.uint64),
                                  cpu_hydro.flow_accumulation_d8(dirs, np.uint64))
    np.testing.assert_array_equal(g_hydro.accumulation_cuda(dirs), [[1, 4, 5], [1, 1, 0]])


def test_d8_without_flats_needs_no_host_step(rng):
    z = np.add.outer(np.arange(6.0), np.arange(7.0)).astype(np.float32)  # a plane: no flats
    valid = np.ones(z.shape, bool)
    dirs, steps = g_hydro.d8_device(z, valid, True)
    cpu_dirs, cpu_steps = cpu_hydro.d8_directions(z, valid, True)
    np.testing.assert_array_equal(dirs.copy_to_host(), cpu_dirs)
    np.testing.assert_array_equal(steps, cpu_steps)


@pytest.mark.parametrize("max_d", [math.inf, 23.0])
def test_distance_only_path_matches_cpu(rng, max_d):
    mask = rng.random((13, 17)) < 0.05
    mask[12, 0] = True
    d_gpu, _ = g_dist.distance_device(mask, 2.5, max_d, False)
    d_cpu, _ = cpu_dist.distance_cpu(mask, 2.5, max_d, False)
    np.testing.assert_array_equal(d_gpu.copy_to_host(), d_cpu)
    empty_gpu, _ = g_dist.distance_device(np.zeros((3, 4), bool), 1.0, math.inf, False)
    assert np.isinf(empty_gpu.copy_to_host()).all()


def test_distance_one_seed_row_and_wide_grid(rng):
    mask = np.zeros((5, 40), bool)
    mask[2, 37] = True  # one row holds every seed; most bands of the row are empty
    np.testing.assert_array_equal(g_dist.distance_device(mask, 1.0, math.inf, False)[0].copy_to_host(),
                                  cpu_dist.distance_cpu(mask, 1.0, math.inf, False)[0])


def test_idw_all_gauges_matches_cpu(rng):
    shape = (9, 12)
    gr, gc, gv = rng.uniform(0, 8, 5), rng.uniform(0, 11, 5), rng.uniform(0, 30, 5)
    for power, radius in ((2.0, math.inf), (3.0, math.inf), (2.0, 4.0)):
        gpu = g_idw.idw_cuda(shape, gr, gc, gv, power, radius, 0, math.nan)
        cpu = cpu_idw.idw_cpu(shape, gr, gc, gv, power, radius, 0, math.nan)
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5)
        np.testing.assert_array_equal(np.isnan(gpu), np.isnan(cpu))


def _assert_zonal_equal(gpu, cpu):
    for name, a, b in zip(("count", "sum", "min", "max", "above", "cells"), gpu, cpu):
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize(("nodata", "nbins"), [(None, 7), (0.5, 7), (0.5, 2500)])
def test_zonal_matches_cpu(rng, nodata, nbins):
    # 7 zones: private partials in several copies; 2,500 zones (50 kB) are past the simulator's
    # 48 KiB, so global atomics only
    values = rng.normal(size=150).astype(np.float32)
    values[3] = np.nan
    values[4] = 0.5
    bins = rng.integers(-1, 6, 150)
    bins[:20] = nbins - 1
    assert g_zonal.plan_for(nbins, 150).strategy == ("private" if nbins == 7 else "global")
    _assert_zonal_equal(g_zonal.zonal_cuda(values, bins, nbins, nodata, 0.2),
                        cpu_zonal.zonal_cpu(values, bins, nbins, nodata, 0.2))


@pytest.mark.parametrize("plan", [
    g_zonal.Plan("global", 32, 3),
    g_zonal.Plan("private", 64, 3, copies=1, shared_bytes=9 * g_zonal.ZONE_BYTES),
    g_zonal.Plan("private", 64, 2, copies=2, shared_bytes=2 * 9 * g_zonal.ZONE_BYTES),
    g_zonal.Plan("private", 32, 1, copies=1, shared_bytes=9 * g_zonal.ZONE_BYTES),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_zonal_every_launch_matches_cpu(rng, plan, dtype):
    # grid-stride rounds of four cells with tails of 0-3, copies per warp, several blocks
    n = 64 * 3 * 4 * 2 + 5
    values = (rng.normal(size=n) * 10).astype(dtype)
    if dtype != np.int32:
        values[rng.random(n) < 0.05] = np.nan
    bins = rng.integers(-1, 9, n)
    bins[bins == 8] = 7  # zone 8 stays empty: +inf / -inf, zero counts
    gpu = [a.copy_to_host() for a in g_zonal.zonal_device(values, bins, 9, 3, 1.0, plan=plan)]
    cpu = cpu_zonal.zonal_cpu(values, bins, 9, 3, 1.0)
    _assert_zonal_equal(gpu, cpu)


def test_zonal_without_the_opt_in_falls_back(rng, monkeypatch):
    # a driver or numba-cuda that refuses more than 48 KiB: the same table from global atomics
    values = rng.normal(size=300).astype(np.float32)
    bins = rng.integers(0, 3000, 300)
    big = g_zonal.Plan("private", 32, 2, copies=1, shared_bytes=3000 * g_zonal.ZONE_BYTES)  # 60 kB
    asked = []

    def refuse(kernel, args, nbytes):
        asked.append(nbytes)
        return False

    monkeypatch.setattr(g_zonal, "allow_dynamic_shared", refuse)
    gpu = [a.copy_to_host() for a in g_zonal.zonal_device(values, bins, 3000, None, 0.0, plan=big)]
    assert asked == [60_000]
    _assert_zonal_equal(gpu, cpu_zonal.zonal_cpu(values, bins, 3000, None, 0.0))


def test_zonal_plans():
    h100 = dict(budget=232_448, per_sm=233_472, sms=132)  # 227 KiB a block, 228 KiB an SM
    # one copy of 1e4 zones (200 kB) fits a block: private, one 1,024-thread block an SM
    big = g_zonal.plan_for(10_000, 10**8, **h100)
    assert big == g_zonal.Plan("private", 1024, 132, copies=1, shared_bytes=200_000)
    # few zones: copies (one per warp at most) while four 512-thread blocks still fit an SM
    few = g_zonal.plan_for(100, 10**8, **h100)
    assert few == g_zonal.Plan("private", 512, 4 * 132, copies=16, shared_bytes=16 * 2000)
    mid = g_zonal.plan_for(2_000, 10**8, **h100)  # 40 kB a copy: one copy, four blocks an SM
    assert mid == g_zonal.Plan("private", 512, 4 * 132, copies=1, shared_bytes=40_000)
    # without the opt-in (48 KiB) 1e4 zones take global atomics only
    assert g_zonal.plan_for(10_000, 10**8, budget=48 * 1024).strategy == "global"
    assert g_zonal.plan_for(5, 10, **h100).blocks == 1  # never more blocks than cells need


def test_pinned_transfers_round_trip(rng):
    a = rng.random((7, 5)).astype(np.float32)
    d = transfer.upload(a, chunk_bytes=24)  # several chunks through the two staging buffers
    np.testing.assert_array_equal(transfer.download(d, chunk_bytes=40), a)
    out = np.empty_like(a)
    transfer.download(d, out=out)
    np.testing.assert_array_equal(out, a)


def test_resident_chains_match_cpu_chains(rng):
    shape = (10, 12)
    zones = rng.integers(0, 4, shape)
    r, c, rad = rng.uniform(0, 9, 6), rng.uniform(0, 11, 6), rng.uniform(1, 4, 6)
    got = pipeline.coverage_zonal(shape, r, c, rad, zones, 4, threshold=0.5)
    count = cpu_cov.coverage_count_cpu(shape, r, c, rad, None, None, "stamp")
    want = cpu_zonal.zonal_cpu(count.ravel(), zones.ravel(), 4, None, 0.5)
    for a, b in zip(got.stats, want):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    np.testing.assert_array_equal(got.grid, count)
    gr, gc, gv = rng.uniform(0, 9, 4), rng.uniform(0, 11, 4), rng.uniform(0, 9, 4)
    got = pipeline.idw_zonal(shape, gr, gc, gv, zones, 4, threshold=3.0, return_grid=False)
    grid = cpu_idw.idw_cpu(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan)
    want = cpu_zonal.zonal_cpu(grid.ravel(), zones.ravel(), 4, None, 3.0)
    assert got.grid is None
    for a, b in zip(got.stats, want):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_distance_across_row_pass_blocks():
    # wider than one block of the row pass (32 bands of 64 cells): seeds on both sides of the seam
    mask = np.zeros((3, 2100), bool)
    mask[0, 5] = mask[2, 2090] = mask[1, 2047] = True
    np.testing.assert_array_equal(g_dist.distance_device(mask, 1.0, math.inf, False)[0].copy_to_host(),
                                  cpu_dist.distance_cpu(mask, 1.0, math.inf, False)[0])


@pytest.mark.parametrize("max_d", [math.inf, 30.0])
def test_distance_envelope_read_off_in_segments(rng, max_d):
    # taller than one read-off segment (128 rows): later segments start by bisection
    mask = rng.random((300, 7)) < 0.01
    mask[150, 3] = mask[299, 0] = mask[0, 6] = True
    np.testing.assert_array_equal(g_dist.distance_device(mask, 1.0, max_d, False)[0].copy_to_host(),
                                  cpu_dist.distance_cpu(mask, 1.0, max_d, False)[0])
