"""IDW: cimtwin.grid.idw (100 gauges, power 2, all gauges) vs a numpy brute force.

The anchor is the same computation in numpy, vectorised one row block at a time (float32);
at 1e8 cells it is timed on a 1e7-cell slice and scaled by 10 to save time. Synthetic gauges
at uniform random positions. cimtwin timings follow one untimed warm-up call (first-touch
memory costs on a fresh VM are large); the numpy anchor allocates only row blocks and runs
once at 1e7 and up. Run from the repository root:

    python benchmarks/bench_interp.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import math

import numpy as np
from _common import machine, parse_args, report, size_label, timeit, warm_memory

from cimtwin.grid import idw


def numpy_idw(shape, gx, gy, gv, block=64):
    rows, cols = shape
    out = np.empty(shape, np.float32)
    xs = np.arange(cols, dtype=np.float32)
    for i0 in range(0, rows, block):
        ys = np.arange(i0, min(rows, i0 + block), dtype=np.float32)[:, None]
        num = np.zeros((ys.shape[0], cols), np.float32)
        den = np.zeros_like(num)
        for x, y, v in zip(gx, gy, gv):
            w = 1.0 / np.maximum((xs - np.float32(x)) ** 2 + (ys - np.float32(y)) ** 2, np.float32(1e-12))
            num += w * np.float32(v)
            den += w
        out[i0:i0 + ys.shape[0]] = num / den
    return out


def main():
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8])
    print(machine())
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    idw((20, 20), [1.5, 3.2], [2.5, 7.1], [1.0, 2.0])
    idw((20, 20), [1.5, 3.2], [2.5, 7.1], [1.0, 2.0], k=1)
    rows = []
    for n in args.sizes:
        side = int(math.isqrt(n))
        gx, gy, gv = rng.uniform(0, side, 100), rng.uniform(0, side, 100), rng.uniform(0, 80, 100)
        repeat = 1 if n >= 10**8 else args.repeat
        ours = timeit(lambda: idw((side, side), gx, gy, gv), repeat, warmup=1)
        ours_k8 = timeit(lambda: idw((side, side), gx, gy, gv, k=8), repeat, warmup=1)
        scale = 1
        anchor_rows = side
        if n >= 10**8:
            scale, anchor_rows = 10, side // 10
        anchor = timeit(lambda: numpy_idw((anchor_rows, side), gx, gy, gv), 1 if n >= 10**7 else repeat) * scale
        rows.append({"op": "idw 100 gauges p=2", "cells": size_label(side * side), "repeat": repeat,
                     "cimtwin_s": ours, "cimtwin_k8_s": ours_k8, "anchor_s": anchor,
                     "anchor": "numpy" + (" (x10 from 1e7 slice)" if scale > 1 else "")})
    report(rows)


if __name__ == "__main__":
    main()
