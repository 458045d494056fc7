"""Benchmark: the risk flood chain (fill, D8, accumulation, HAND, ponding) against pysheds.

cimtwin runs the chain the way ``cimtwin.risk.flood_hazard`` does: one Priority-Flood fill,
D8 directions and accumulation on the filled surface, HAND on it, and Fill-Spill-Merge
ponding of a uniform runoff. pysheds (the anchor; ``pip install pysheds``) runs the steps it
has: ``fill_pits`` + ``fill_depressions`` (fill), ``resolve_flats`` + ``flowdir`` (D8),
``accumulation`` and ``compute_hand``; it has no ponding. Both run in the same process on
the same synthetic DEM (float32 fractal-like terrain with many closed depressions).

Run: ``python benchmarks/bench_flood_chain.py --sizes 1e6 1e7 1e8 --repeat 3``. pysheds runs up
to ``--anchor-max`` cells (default 1e7: at 1e8 it holds several float64 copies and takes tens of
minutes); above that its time is extrapolated per cell from the largest size it ran, and the
table says so.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time

import numpy as np
from _common import machine, report, size_label, warm_memory


def synthetic_dem(n_cells: int, seed: int = 0) -> np.ndarray:
    """Square float32 DEM: a regional slope, ridges and ~1 closed bowl per 2 500 cells (synthetic)."""
    side = int(round(math.sqrt(n_cells)))
    rng = np.random.default_rng(seed)
    out = np.empty((side, side), dtype=np.float32)
    x = np.arange(side, dtype=np.float32)
    kx, ky = rng.uniform(0.02, 0.2, 4).astype(np.float32), rng.uniform(0.02, 0.2, 4).astype(np.float32)
    waves_x = sum(np.sin(k * x) for k in kx)
    block = 1024
    for r0 in range(0, side, block):
        r = np.arange(r0, min(side, r0 + block), dtype=np.float32)[:, None]
        waves_y = sum(np.sin(k * r) for k in ky)
        out[r0:r0 + r.shape[0]] = (100.0 + 0.001 * (x[None, :] + r) + 2.0 * waves_x[None, :] * waves_y
                                   + rng.standard_normal((r.shape[0], side), dtype=np.float32) * 0.05)
    return out


def time_once(fn):
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median_time(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        del result
        dt, result = time_once(fn)
        times.append(dt)
    return float(np.median(times)), result


def cimtwin_steps(dem, res_m, repeat, threshold):
    """The chain as ``flood_hazard`` runs it: one fill, one D8, reused by accumulation and HAND."""
    from cimtwin.grid import hydrology as hydro

    rows = {}
    rows["fill"], filled = median_time(lambda: hydro.fill_depressions(dem), repeat)
    rows["d8"], d8 = median_time(lambda: hydro.flow_direction_d8(filled, conditioned=True), repeat)
    rows["accumulation"], acc = median_time(
        lambda: hydro.flow_accumulation(filled, conditioned=True, d8=d8), repeat)
    rows["hand"], _ = median_time(
        lambda: hydro.hand(filled, stream_threshold_cells=threshold, conditioned=True, d8=d8, accumulation=acc),
        repeat)
    del filled, d8, acc
    gc.collect()
    rows["ponding"], res = median_time(lambda: hydro.ponding_depth(dem, 50.0, res_m=res_m), repeat)
    balance = abs(res.runoff_volume_m3 - res.ponded_volume_m3 - res.outflow_volume_m3) / res.runoff_volume_m3
    del res
    return rows, balance


def pysheds_steps(dem, repeat, threshold):
    if not hasattr(np, "in1d"):  # pysheds still calls np.in1d, removed in NumPy 2.4
        np.in1d = np.isin
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    vf = ViewFinder(affine=Affine(10.0, 0, 0, 0, -10.0, dem.shape[0] * 10.0), shape=dem.shape,
                    nodata=np.nan)
    grid = Grid(viewfinder=vf)
    r = Raster(dem.astype(np.float64), viewfinder=vf)
    rows = {}
    rows["fill"], flooded = median_time(lambda: grid.fill_depressions(grid.fill_pits(r)), repeat)
    dt, inflated = time_once(lambda: grid.resolve_flats(flooded))
    d8_t, fdir = median_time(lambda: grid.flowdir(inflated), repeat)
    rows["d8"] = dt + d8_t
    rows["accumulation"], acc = median_time(lambda: grid.accumulation(fdir), repeat)
    streams = acc >= threshold
    rows["hand"], _ = median_time(lambda: grid.compute_hand(fdir, inflated, streams), repeat)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=[int(1e8)])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--anchor-max", type=lambda s: int(float(s)), default=int(1e7),
                   help="largest size at which pysheds also runs (default: %(default)s)")
    p.add_argument("--threshold", type=int, default=1000, help="HAND stream threshold, cells")
    args = p.parse_args(argv)
    print(machine(), flush=True)
    table = []
    warm_memory()
    per_cell = {}
    for n in args.sizes:
        dem = synthetic_dem(n)
        repeat = 1 if n >= 5e7 else args.repeat
        # compile the kernels outside the timings
        from cimtwin.grid import hydrology as hydro

        small = synthetic_dem(10_000)
        hydro.ponding_depth(small, 5.0, res_m=10.0)
        hydro.hand(hydro.fill_depressions(small), stream_threshold_cells=50, conditioned=True)
        load = os.getloadavg()[0]
        ours, balance = cimtwin_steps(dem, 10.0, repeat, args.threshold)
        print(f"{size_label(n)}: cimtwin {ours}, volume balance error {balance:.2e}, load {load:.1f}", flush=True)
        theirs = {}
        note = "same run"
        if n <= args.anchor_max:
            pysheds_steps(synthetic_dem(10_000), 1, 50)  # warm pysheds' numba kernels
            theirs = pysheds_steps(dem, repeat, args.threshold)
            per_cell = {step: t / dem.size for step, t in theirs.items()}
            print(f"{size_label(n)}: pysheds {theirs}", flush=True)
        elif per_cell:
            theirs = {step: t * dem.size for step, t in per_cell.items()}
            note = "pysheds per cell from its largest run"
        for step, t in ours.items():
            table.append({"size": size_label(n), "step": step, "cimtwin_s": t, "anchor_s": theirs.get(step),
                          "note": note})
        chain_steps = ("fill", "d8", "accumulation", "hand")
        table.append({"size": size_label(n), "step": "chain (all 5 steps)", "cimtwin_s": sum(ours.values()),
                      "anchor_s": None, "note": f"load {load:.1f}"})
        if theirs:
            table.append({"size": size_label(n), "step": "4 shared steps", "cimtwin_s":
                          sum(ours[s] for s in chain_steps), "anchor_s": sum(theirs[s] for s in chain_steps),
                          "note": note})
        del dem
        gc.collect()
    report(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
