"""CUDA kernels at 1e8 cells: resident on the GPU, including host->device transfer, and CPU.

For each kernel — distance, coverage count (disks, sectors), cumulative viewshed, IDW, zonal —
three figures from this one script: the CUDA kernel with its inputs already on the device
("resident", timed with a device synchronize), the same including the host->device copy of
the inputs and the device->host copy of the result ("with transfer"), and the CPU kernel
of the same op on the same data. Inputs are synthetic (seeded random sources, fractal-ish
DEM from upsampled noise). Skipped with a message when no CUDA GPU is present.

    python benchmarks/bench_gpu.py                 # 1e8 cells
    python benchmarks/bench_gpu.py --sizes 1e7 1e8 --repeat 5
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np
from _common import machine, parse_args, report, size_label

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gpu_ready() -> tuple[bool, str]:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True, "CUDA simulator (functional check only: the times are not GPU figures)"
    try:
        from numba import cuda

        if cuda.is_available():
            dev = cuda.get_current_device()
            return True, dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    except Exception as exc:  # numba without CUDA, driver errors
        return False, f"numba.cuda unusable: {exc}"
    return False, "no CUDA GPU found"


def _median(fn, repeat):
    from numba import cuda

    times = []
    for _ in range(max(1, repeat)):
        cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        cuda.synchronize()
        times.append(time.perf_counter() - t0)
        del out
    return float(np.median(times))


def _cpu(fn, repeat):
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return float(np.median(times))


def bench_size(n: int, repeat: int) -> list[dict]:
    from numba import cuda

    from cimtwin.kernels import coverage as cpu_cov, distance as cpu_dist, interp as cpu_idw
    from cimtwin.kernels import viewshed as cpu_vs, zonal as cpu_zonal
    from cimtwin.kernels.cuda import coverage as g_cov, distance as g_dist, interp as g_idw
    from cimtwin.kernels.cuda import viewshed as g_vs, zonal as g_zonal

    rows = int(round(math.sqrt(n)))
    cols = n // rows
    shape = (rows, cols)
    rng = np.random.default_rng(0)
    out = []

    def add(op, resident, transfer, cpu):
        out.append({"kernel": op, "cells": size_label(rows * cols), "cuda_resident_s": resident,
                    "cuda_with_transfer_s": transfer, "cpu_s": cpu, "x_resident": cpu / resident,
                    "x_with_transfer": cpu / transfer})

    # distance: 1,000 seed cells
    mask = np.zeros(shape, bool)
    mask.flat[rng.choice(rows * cols, 1000, replace=False)] = True
    d_mask = cuda.to_device(mask.view(np.uint8))
    g_dist.distance_device(d_mask, 5.0, math.inf, False)  # compile
    add("distance (EDT, 1e3 seeds)",
        _median(lambda: g_dist.distance_device(d_mask, 5.0, math.inf, False), repeat),
        _median(lambda: g_dist.distance_cuda(mask, 5.0, math.inf, False), repeat),
        _cpu(lambda: cpu_dist.distance_cpu(mask, 5.0, math.inf, False), repeat))
    del d_mask, mask

    # coverage: 1e5 sources at R = 15 cells (disks), then 90-degree sectors
    ns = 100_000
    r, c = rng.uniform(0, rows - 1, ns), rng.uniform(0, cols - 1, ns)
    rad = np.full(ns, 15.0)
    az, fov = rng.uniform(0, 360, ns), np.full(ns, 90.0)
    d_r, d_c, d_rad = cuda.to_device(r), cuda.to_device(c), cuda.to_device(rad)
    terms = [cuda.to_device(t) for t in g_cov.sector_terms(az, fov)]
    g_cov.coverage_count_device(shape, d_r, d_c, d_rad)
    g_cov.coverage_count_device(shape, d_r, d_c, d_rad, *terms)
    strategy = cpu_cov.choose_strategy(rows * cols, ns, 15.0, False)
    add("coverage count (1e5 disks, R=15)",
        _median(lambda: g_cov.coverage_count_device(shape, d_r, d_c, d_rad), repeat),
        _median(lambda: g_cov.coverage_count_cuda(shape, r, c, rad, None, None, "stamp"), repeat),
        _cpu(lambda: cpu_cov.coverage_count_cpu(shape, r, c, rad, None, None, strategy), repeat))
    add("coverage count (1e5 sectors 90 deg, R=15)",
        _median(lambda: g_cov.coverage_count_device(shape, d_r, d_c, d_rad, *terms), repeat),
        _median(lambda: g_cov.coverage_count_cuda(shape, r, c, rad, az, fov, "stamp"), repeat),
        _cpu(lambda: cpu_cov.coverage_count_cpu(shape, r, c, rad, az, fov, "stamp"), repeat))
    del d_r, d_c, d_rad, terms

    # DEM: coarse noise upsampled (synthetic terrain), float32
    coarse = rng.random((rows // 100 + 2, cols // 100 + 2)).astype(np.float32) * 50
    dem = np.kron(coarse, np.ones((100, 100), np.float32))[:rows, :cols] + rng.random(shape, np.float32)
    dem = np.ascontiguousarray(dem)
    d_dem = cuda.to_device(dem)

    # cumulative viewshed: 1,000 cameras, 90-degree sectors, 500-cell range, r2 and exact
    m = 1000
    orow = rng.integers(0, rows, m)
    ocol = rng.integers(0, cols, m)
    h = np.full(m, 5.0)
    rad_o = np.full(m, 500.0)
    az_o = np.deg2rad(rng.uniform(0, 360, m))
    half = np.full(m, math.pi / 4)
    for exact in (False, True):
        label = "exact" if exact else "r2"

        def gpu_res():
            cnt = g_vs.full(shape, 0, np.int32)
            return g_vs.cumulative_device(d_dem, orow, ocol, h, 0.0, rad_o, az_o, half, 0.0, exact, cnt)

        def gpu_tr():
            cnt = np.zeros(shape, np.int32)
            g_vs.cumulative_count_cuda(dem, orow, ocol, h, 0.0, rad_o, az_o, half, 0.0, exact, cnt)
            return cnt

        def cpu_run():
            cnt = np.zeros(shape, np.int32)
            cpu_vs.cumulative_count(dem, orow, ocol, h, 0.0, rad_o, az_o, half, 0.0, exact, cnt)
            return cnt

        gpu_res()
        add(f"cumulative viewshed {label} (1e3 cams, 90 deg, R=500)", _median(gpu_res, repeat),
            _median(gpu_tr, repeat), _cpu(cpu_run, 1))

    # single viewshed, unlimited range
    g_vs.viewshed_device(d_dem, rows // 2, cols // 2, 2.0, 0.0, math.inf, 0.0, False)
    add("viewshed r2 (1 observer)",
        _median(lambda: g_vs.viewshed_device(d_dem, rows // 2, cols // 2, 2.0, 0.0, math.inf, 0.0, False), repeat),
        _median(lambda: g_vs.viewshed_r2_cuda(dem, rows // 2, cols // 2, 2.0, 0.0, math.inf, 0.0), repeat),
        _cpu(lambda: cpu_vs.viewshed_r2(dem, rows // 2, cols // 2, 2.0, 0.0, math.inf, 0.0), repeat))
    del d_dem

    # IDW: 100 gauges, p = 2, all gauges
    gr, gc, gv = rng.uniform(0, rows - 1, 100), rng.uniform(0, cols - 1, 100), rng.uniform(0, 80, 100)
    d_gr, d_gc, d_gv = cuda.to_device(gr), cuda.to_device(gc), cuda.to_device(gv)
    g_idw.idw_device(shape, d_gr, d_gc, d_gv, 2.0, math.inf, 0, math.nan)
    add("IDW (100 gauges, p=2)",
        _median(lambda: g_idw.idw_device(shape, d_gr, d_gc, d_gv, 2.0, math.inf, 0, math.nan), repeat),
        _median(lambda: g_idw.idw_cuda(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan), repeat),
        _cpu(lambda: cpu_idw.idw_cpu(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan), repeat))

    # zonal: 1e4 zones, random labels (worst locality)
    values = dem.ravel()
    bins = rng.integers(0, 10_000, rows * cols).astype(np.int64)
    d_v, d_b = cuda.to_device(values), cuda.to_device(bins)
    g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0)
    add("zonal stats (1e4 zones)",
        _median(lambda: g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0), repeat),
        _median(lambda: g_zonal.zonal_cuda(values, bins, 10_000, None, 25.0), repeat),
        _cpu(lambda: cpu_zonal.zonal_cpu(values, bins, 10_000, None, 25.0), repeat))
    return out


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], [100_000_000], default_repeat=3, argv=argv)
    ok, device = _gpu_ready()
    if not ok:
        print(f"bench_gpu: skipped ({device}). Run it on a machine with an NVIDIA GPU and numba.cuda.")
        return 0
    print(f"machine: {machine()}\ndevice: {device}")
    rows = []
    for n in args.sizes:
        rows += bench_size(n, args.repeat)
    report(rows, ours="cuda_resident_s", anchor="cpu_s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
