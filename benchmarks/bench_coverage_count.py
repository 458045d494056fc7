"""Coverage count: cimtwin.grid.coverage_count vs EDT-then-threshold (scipy, edt), same run, same size.

Synthetic input: N sources at uniform random fractional positions, radius 15 cells. The anchors
(scipy ``distance_transform_edt`` and ``edt.edt`` on the source-cell mask, then ``<= r``) only
say covered / not covered; cimtwin counts every overlapping source. The source mask is built
outside the timed region. Each call gets one untimed warm-up call, then ``--repeat`` timed calls.

    python benchmarks/bench_coverage_count.py --sizes 1e6 1e7 1e8 --repeat 3 --sources 100000
"""

import argparse
import gc
import math
import os
import sys

import numpy as np
from _common import Results, goal_applies, measure, parse_args, warm_memory
from scipy import ndimage

from cimtwin.grid import coverage_count


def main(argv=None):
    extra = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    extra.add_argument("--sources", type=int, default=100_000)
    extra.add_argument("--radius", type=float, default=15.0)
    args = parse_args("", [10**6, 10**7, 10**8], argv=argv, quick_sizes=[10**5, 10**6], parser=extra)
    import edt

    res = Results(__file__, anchors=["scipy", "edt"], argv=argv, out=args.out)
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    cores = os.cpu_count() or 1
    n_src, radius = args.sources, args.radius
    for n in args.sizes:
        side = int(math.isqrt(n))
        cells = side * side
        r = rng.uniform(0, side, n_src)
        c = rng.uniform(0, side, n_src)
        az = rng.uniform(0, 360, n_src)
        on, gnote = goal_applies(n, args.sizes, 10**8)
        ours = measure(lambda: coverage_count((side, side), r, c, radius), args.repeat)
        sectors = measure(lambda: coverage_count((side, side), r, c, radius, azimuth_deg=az, hfov_deg=90.0),
                          args.repeat)
        mask = np.zeros((side, side), bool)
        mask[np.clip(np.rint(r).astype(int), 0, side - 1), np.clip(np.rint(c).astype(int), 0, side - 1)] = True
        inv = ~mask
        del mask
        t_scipy = measure(lambda: ndimage.distance_transform_edt(inv) <= radius, args.repeat)
        op = f"coverage count, {n_src:,} disks, R = {radius:g} cells"
        res.add(op, cells, ours, anchor="scipy distance_transform_edt then <= R", anchor_t=t_scipy,
                goal=">= 60x scipy EDT-then-threshold" if on else None, goal_ratio=60.0 if on else None,
                note=gnote)
        t_edt = measure(lambda: edt.edt(inv, black_border=False, parallel=cores) <= radius, args.repeat)
        res.add(op, cells, ours, anchor=f"edt.edt (parallel={cores}) then <= R", anchor_t=t_edt)
        res.add(f"coverage count, {n_src:,} sectors 90 deg, R = {radius:g} cells", cells, sectors,
                anchor="scipy distance_transform_edt then <= R (disks: no sectors)", anchor_t=t_scipy,
                note="the anchor cannot do sectors; its disk time is shown for scale")
        del inv
        gc.collect()
    res.write()


if __name__ == "__main__":
    sys.exit(main())
