"""Distance transform: cimtwin.grid.distance vs scipy.ndimage.distance_transform_edt.

Synthetic input: 1,000 random source cells on a square grid. Both produce distances in
metres (scipy float64, cimtwin float32). Every timing follows one untimed warm-up call (first-touch memory costs on a
fresh VM are large and would land on whichever ran first). Run from the repository root:

    python benchmarks/bench_distance.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import gc
import math

import numpy as np
from _common import machine, parse_args, report, size_label, timeit, warm_memory
from scipy import ndimage

from cimtwin.grid import distance


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8])
    print(machine())
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    warm = np.zeros((64, 64), bool)
    warm[5, 5] = True
    distance(warm, res_m=1.0)
    distance(warm, res_m=1.0, return_index=True)
    rows = []
    for n in args.sizes:
        side = int(math.isqrt(n))
        mask = np.zeros((side, side), bool)
        mask.flat[rng.integers(0, mask.size, 1000)] = True
        repeat = 1 if n >= 10**8 else args.repeat
        ours = timeit(lambda: distance(mask, res_m=10.0), repeat, warmup=1)
        ours_idx = timeit(lambda: distance(mask, res_m=10.0, return_index=True), repeat, warmup=1)
        inv = ~mask
        anchor = timeit(lambda: ndimage.distance_transform_edt(inv, sampling=10.0), repeat, warmup=1)
        del inv
        gc.collect()
        rows.append({"op": "distance", "cells": size_label(side * side), "repeat": repeat,
                     "cimtwin_s": ours, "cimtwin_with_index_s": ours_idx, "anchor_s": anchor})
    report(rows)


if __name__ == "__main__":
    main()
