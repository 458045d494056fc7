"""Zonal statistics: cimtwin.grid.zonal_stats vs np.bincount (sum + count).

Synthetic input: float32 values and 1e4 random int32 zone ids (worst case for locality).
cimtwin computes count, sum, mean, min and max in one pass; the anchor only sum and count, so a
second row times cimtwin with ``stats=("count", "sum")`` as well.
Every timing follows one untimed warm-up call (first-touch memory costs on a
fresh VM are large and would land on whichever ran first). Run from the repository root:

    python benchmarks/bench_zonal.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import math

import numpy as np
from _common import machine, parse_args, report, size_label, timeit, warm_memory

from cimtwin.grid import zonal_stats


def main():
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8])
    print(machine())
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    zonal_stats(np.ones((8, 8), np.float32), np.zeros((8, 8), np.int32))
    rows = []
    for n in args.sizes:
        side = int(math.isqrt(n))
        values = rng.random((side, side), dtype=np.float32)
        zones = rng.integers(0, 10_000, (side, side), dtype=np.int32)
        repeat = 1 if n >= 10**8 else args.repeat
        ours = timeit(lambda: zonal_stats(values, zones), repeat, warmup=1)
        # like for like with the anchor: only the two statistics bincount gives
        ours_sum_count = timeit(lambda: zonal_stats(values, zones, stats=("count", "sum")), repeat, warmup=1)
        flat_z, flat_v = zones.ravel(), values.ravel()
        anchor = timeit(lambda: (np.bincount(flat_z, weights=flat_v, minlength=10_000),
                                 np.bincount(flat_z, minlength=10_000)), repeat, warmup=1)
        rows.append({"op": "zonal 1e4 zones", "cells": size_label(side * side), "repeat": repeat,
                     "cimtwin_s": ours, "anchor_s": anchor})
        rows.append({"op": "zonal 1e4 zones, count+sum only", "cells": size_label(side * side), "repeat": repeat,
                     "cimtwin_s": ours_sum_count, "anchor_s": anchor})
        del values, zones, flat_z, flat_v
    report(rows)


if __name__ == "__main__":
    main()
