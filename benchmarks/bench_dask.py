"""Distributed run: camera coverage ratio and IDW on a lazily generated grid (dask.distributed).

The grid (default 20,000 x 20,000 = 4e8 cells, 5 m cells: about the area of Jinan) is never
materialized: each task computes one chunk from the global camera / gauge lists and the
results are reduced (coverage ratio = share of cells seen by at least one camera; IDW mean and
range). Runs on a ``LocalCluster`` with bounded memory per worker, or on an existing cluster
with ``--scheduler tcp://host:8786``; peak RSS per worker process is reported.

Anchor: the same cimtwin function in memory, at the same size, in this process (up to
``--anchor-max`` cells; a size above says so and gives no ratio). Cameras and gauges are
synthetic (uniform random positions, seeded). Each call gets one untimed warm-up call, then
``--repeat`` timed calls (default 1: the distributed run is long).

    python benchmarks/bench_dask.py                       # 4e8 cells, LocalCluster(2 x 1 thread)
    python benchmarks/bench_dask.py --sizes 1e8 --memory-limit 2GiB --repeat 3
    python benchmarks/bench_dask.py --scheduler tcp://10.0.0.5:8786 --chunk 8192
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys

import numpy as np
from _common import Results, measure, parse_args, size_label

# the repository root, for this process and for the LocalCluster's worker processes
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)

CAMERAS_PER_CELL = 1e-3  # 1 camera per 1,000 cells (4e5 at 4e8 cells)
RADIUS_CELLS = 15.0  # 75 m at 5 m cells
HFOV_DEG = 90.0
GAUGES = 100


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _workload(n_cells: int, seed: int = 0):
    side_r = int(round(math.sqrt(n_cells)))
    side_c = int(round(n_cells / side_r))
    rng = np.random.default_rng(seed)
    n_cam = int(n_cells * CAMERAS_PER_CELL)
    cams = (rng.uniform(0, side_r - 1, n_cam).round(), rng.uniform(0, side_c - 1, n_cam).round(),
            rng.uniform(0, 360, n_cam))
    gauges = (rng.uniform(0, side_c - 1, GAUGES), rng.uniform(0, side_r - 1, GAUGES), rng.uniform(0, 80, GAUGES))
    return (side_r, side_c), cams, gauges


def _warm_up() -> None:
    from cimtwin.grid import coverage_count, idw

    r = np.array([5.0, 9.0])
    coverage_count((64, 64), r, r, RADIUS_CELLS, azimuth_deg=np.array([0.0, 90.0]), hfov_deg=HFOV_DEG, backend="cpu")
    idw((64, 64), r, r, np.array([1.0, 2.0]), backend="cpu")


def run_dask(n_cells: int, chunk: int, client) -> dict:
    """Coverage ratio and IDW reductions on the lazily chunked grid; returns the two values."""
    from cimtwin.grid import coverage_count

    shape, (cr, cc, az), (gx, gy, gv) = _workload(n_cells)
    cov = coverage_count(shape, cr, cc, RADIUS_CELLS, azimuth_deg=az, hfov_deg=HFOV_DEG,
                         chunks=chunk, backend="cpu")
    ratio = float((cov > 0).mean().compute())
    return ratio


def run_dask_idw(n_cells: int, chunk: int, client) -> float:
    from cimtwin.grid import idw

    shape, _, (gx, gy, gv) = _workload(n_cells)
    surf = idw(shape, gx, gy, gv, chunks=chunk, backend="cpu")
    mean, lo, hi = (float(v) for v in client.compute([surf.mean(), surf.min(), surf.max()], sync=True))
    return mean


def in_memory_coverage(n_cells: int) -> float:
    from cimtwin.grid import coverage_count

    shape, (cr, cc, az), _ = _workload(n_cells)
    cnt = coverage_count(shape, cr, cc, RADIUS_CELLS, azimuth_deg=az, hfov_deg=HFOV_DEG, backend="cpu")
    return float((cnt > 0).mean())


def in_memory_idw(n_cells: int) -> float:
    from cimtwin.grid import idw

    shape, _, (gx, gy, gv) = _workload(n_cells)
    return float(idw(shape, gx, gy, gv, backend="cpu").mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chunk", type=int, default=4096, help="chunk side in cells (default 4096)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="2GiB", help="per worker, LocalCluster only")
    p.add_argument("--scheduler", default=None, help="address of a running dask scheduler")
    p.add_argument("--anchor-max", type=lambda s: int(float(s)), default=400_000_000,
                   help="largest size at which the in-memory anchor also runs (default: 4e8)")
    args = parse_args("", [400_000_000], default_repeat=1, argv=argv, quick_sizes=[10**6], parser=p)
    from dask.distributed import Client, LocalCluster

    res = Results(__file__, anchors=["dask", "distributed"], argv=argv, out=args.out)
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, memory_limit=args.memory_limit,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    res.meta["cluster"] = (f"{args.workers} workers x 1 thread, memory limit {args.memory_limit} per worker, "
                           f"chunk {args.chunk}" if cluster else f"scheduler at {args.scheduler}")
    client.run(_warm_up)  # compile the kernels on every worker outside the timing
    _warm_up()
    for n in args.sizes:
        t_cov = measure(lambda: run_dask(n, args.chunk, client), args.repeat)
        t_idw = measure(lambda: run_dask_idw(n, args.chunk, client), args.repeat)
        peak = round(max(client.run(_peak_rss_mb).values()))
        a_cov = a_idw = None
        skip = ""
        if n <= args.anchor_max:
            a_cov = measure(lambda: in_memory_coverage(n), args.repeat)
            a_idw = measure(lambda: in_memory_idw(n), args.repeat)
        else:
            skip = f"in-memory anchor not run above --anchor-max {size_label(args.anchor_max)}; no ratio"
        n_cam = int(n * CAMERAS_PER_CELL)
        res.add(f"camera coverage ratio, {n_cam:,} cameras, R = {RADIUS_CELLS:g}, {HFOV_DEG:g} deg (dask)", n, t_cov,
                anchor="the same function in memory in this process (numba, all cores)", anchor_t=a_cov,
                note=skip or "ratio < 1: the chunked run is slower than in memory; its point is bounded memory",
                peak_rss_per_worker_mb=peak, value=run_dask(n, args.chunk, client))
        res.add(f"IDW, {GAUGES} gauges, p = 2 (dask)", n, t_idw,
                anchor="the same function in memory in this process (numba, all cores)", anchor_t=a_idw, note=skip,
                peak_rss_per_worker_mb=peak)
    client.close()
    if cluster is not None:
        cluster.close()
    res.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
