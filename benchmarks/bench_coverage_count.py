"""Coverage count: cimtwin.grid.coverage_count vs scipy EDT-then-threshold.

Synthetic input: N sources at uniform random fractional positions, radius 15 cells. The
anchor (scipy ``distance_transform_edt`` on the source-cell mask, then ``<= r``) only says
covered / not covered; cimtwin counts every overlapping source. Every timing follows one untimed warm-up call (first-touch memory costs on a
fresh VM are large and would land on whichever ran first). Run from the repository root:

    python benchmarks/bench_coverage_count.py --sizes 1e6 1e7 1e8 --repeat 3 --sources 100000
"""

import argparse
import gc
import math
import sys

import numpy as np
from _common import machine, parse_args, report, size_label, timeit, warm_memory
from scipy import ndimage

from cimtwin.grid import coverage_count


def main():
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--sources", type=int, default=100_000)
    extra.add_argument("--radius", type=float, default=15.0)
    known, rest = extra.parse_known_args()
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8], argv=rest)
    print(machine())
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    coverage_count((40, 40), [3.5], [4.2], 2.0, method="stamp")
    coverage_count((40, 40), [3.5], [4.2], 2.0, method="sweep")
    coverage_count((40, 40), [3.5], [4.2], 2.0, azimuth_deg=[10.0], hfov_deg=[90.0])
    rows = []
    n_src, radius = known.sources, known.radius
    for n in args.sizes:
        side = int(math.isqrt(n))
        r = rng.uniform(0, side, n_src)
        c = rng.uniform(0, side, n_src)
        az = rng.uniform(0, 360, n_src)
        repeat = 1 if n >= 10**8 else args.repeat
        ours = timeit(lambda: coverage_count((side, side), r, c, radius), repeat, warmup=1)
        sectors = timeit(lambda: coverage_count((side, side), r, c, radius, azimuth_deg=az, hfov_deg=90.0),
                         repeat, warmup=1)
        mask = np.zeros((side, side), bool)
        mask[np.clip(np.rint(r).astype(int), 0, side - 1), np.clip(np.rint(c).astype(int), 0, side - 1)] = True
        inv = ~mask
        anchor = timeit(lambda: ndimage.distance_transform_edt(inv) <= radius, repeat, warmup=1)
        del inv, mask
        gc.collect()
        rows.append({"op": f"coverage N={n_src} R={radius:g}", "cells": size_label(side * side), "repeat": repeat,
                     "cimtwin_s": ours, "cimtwin_sectors90_s": sectors, "anchor_s": anchor})
    report(rows)


if __name__ == "__main__":
    sys.exit(main())
