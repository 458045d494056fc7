"""Benchmark: the risk flood chain (fill, D8, accumulation, HAND, ponding) against pysheds.

cimtwin runs the chain the way ``cimtwin.risk.flood_hazard`` does: one Priority-Flood fill,
D8 directions and accumulation on the filled surface, HAND on it, and Fill-Spill-Merge
ponding of a uniform runoff. pysheds (the anchor; ``pip install pysheds``) runs the steps it
has: ``fill_depressions`` (fill), ``resolve_flats`` + ``flowdir`` (D8),
``accumulation`` and ``compute_hand``; it has no ponding. Both run in the same process on
the same synthetic float32 DEM (fractal-like terrain with many closed depressions); pysheds is
given that float32 array and its ``fill_depressions`` alone (it fills pits itself, so a
``fill_pits`` first would be redundant). Each step gets one untimed warm-up call, then
``--repeat`` timed calls; its input is computed outside the timed region.

Run: ``python benchmarks/bench_flood_chain.py --sizes 1e6 1e7 1e8 --repeat 3``. pysheds runs up
to ``--anchor-max`` cells (default 1e8, every size); a size above it says so and gives no ratio.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys

import numpy as np
from _common import Results, goal_applies, measure, parse_args, size_label, warm_memory


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


def cimtwin_steps(dem, res_m, repeat, threshold):
    """The chain as ``flood_hazard`` runs it: one fill, one D8, reused by accumulation and HAND.

    Each step's input is computed once outside its timed region.
    """
    from cimtwin.grid import hydrology as hydro

    t = {}
    t["fill"] = measure(lambda: hydro.fill_depressions(dem), repeat)
    filled = hydro.fill_depressions(dem)
    t["d8"] = measure(lambda: hydro.flow_direction_d8(filled, conditioned=True), repeat)
    d8 = hydro.flow_direction_d8(filled, conditioned=True)
    t["accumulation"] = measure(lambda: hydro.flow_accumulation(filled, conditioned=True, d8=d8), repeat)
    acc = hydro.flow_accumulation(filled, conditioned=True, d8=d8)
    t["hand"] = measure(lambda: hydro.hand(filled, stream_threshold_cells=threshold, conditioned=True, d8=d8,
                                           accumulation=acc), repeat)
    del filled, d8, acc
    gc.collect()
    t["ponding"] = measure(lambda: hydro.ponding_depth(dem, 50.0, res_m=res_m), repeat)
    pond = hydro.ponding_depth(dem, 50.0, res_m=res_m)
    balance = abs(pond.runoff_volume_m3 - pond.ponded_volume_m3 - pond.outflow_volume_m3) / pond.runoff_volume_m3
    return t, balance


def pysheds_steps(dem, repeat, threshold):
    """pysheds' best documented chain on the same float32 DEM: fill_depressions (no redundant
    fill_pits), resolve_flats + flowdir, accumulation, compute_hand; inputs computed outside."""
    if not hasattr(np, "in1d"):  # pysheds still calls np.in1d, removed in NumPy 2.4
        np.in1d = np.isin
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    vf = ViewFinder(affine=Affine(10.0, 0, 0, 0, -10.0, dem.shape[0] * 10.0), shape=dem.shape,
                    nodata=np.float32(np.nan))
    grid = Grid(viewfinder=vf)
    r = Raster(dem, viewfinder=vf)
    t = {}
    t["fill"] = measure(lambda: grid.fill_depressions(r), repeat)
    flooded = grid.fill_depressions(r)
    t["d8"] = measure(lambda: grid.flowdir(grid.resolve_flats(flooded)), repeat)
    inflated = grid.resolve_flats(flooded)
    fdir = grid.flowdir(inflated)
    del flooded
    t["accumulation"] = measure(lambda: grid.accumulation(fdir), repeat)
    streams = grid.accumulation(fdir) >= threshold
    t["hand"] = measure(lambda: grid.compute_hand(fdir, inflated, streams), repeat)
    return t


def _sum(timings):
    """Sum of step timings: medians, minima and maxima added step by step."""
    return {k: sum(t[k] for t in timings) for k in ("median_s", "min_s", "max_s")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--anchor-max", type=lambda s: int(float(s)), default=int(1e8),
                   help="largest size at which pysheds also runs (default: %(default)s)")
    p.add_argument("--threshold", type=int, default=1000, help="HAND stream threshold, cells")
    args = parse_args("", [10**6, 10**7, 10**8], argv=argv, quick_sizes=[10**5, 10**6], parser=p)
    res = Results(__file__, anchors=["pysheds"], argv=argv, out=args.out)
    from cimtwin.grid import hydrology as hydro

    # compile the kernels outside the timings
    small = synthetic_dem(10_000)
    hydro.ponding_depth(small, 5.0, res_m=10.0)
    hydro.hand(hydro.fill_depressions(small), stream_threshold_cells=50, conditioned=True)
    pysheds_steps(small, 1, 50)
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    chain_steps = ("fill", "d8", "accumulation", "hand")
    names = {"fill": "fill (pysheds: fill_depressions)", "d8": "d8 (pysheds: resolve_flats + flowdir)",
             "accumulation": "accumulation", "hand": "hand (pysheds: compute_hand)", "ponding": "ponding (FSM)"}
    for n in args.sizes:
        dem = synthetic_dem(n)
        cells = dem.size
        ours, balance = cimtwin_steps(dem, 10.0, args.repeat, args.threshold)
        theirs = {}
        skip = ""
        if cells <= args.anchor_max:
            theirs = pysheds_steps(dem, args.repeat, args.threshold)
        else:
            skip = (f"pysheds not run above --anchor-max {size_label(args.anchor_max)} in this run "
                    "(minutes per call at this size); no ratio")
        for step, t in ours.items():
            res.add(names[step], cells, t, anchor="pysheds" if step in chain_steps else "none (pysheds has no ponding)",
                    anchor_t=theirs.get(step), note=skip if step in chain_steps else "")
        on, gnote = goal_applies(n, args.sizes, 10**8, time_goal=True)
        res.add("chain, all 5 steps (sum of step medians)", cells, _sum(ours.values()),
                goal="<= 150 s" if on else None, goal_s=150.0 if on else None, judged=cells >= 10**8,
                note=f"volume balance error {balance:.1e}; {gnote}".strip("; "))
        res.add("4 shared steps (sum of step medians)", cells, _sum([ours[s] for s in chain_steps]),
                anchor="pysheds, same 4 steps", anchor_t=_sum([theirs[s] for s in chain_steps]) if theirs else None,
                note=skip)
        del dem
        gc.collect()
    res.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
