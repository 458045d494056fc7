"""IDW: cimtwin.grid.idw (100 gauges, power 2, all gauges) vs a numpy brute force, same run, same size.

The anchor is the same computation in numpy, vectorised one block of rows at a time in float32
(the dtype cimtwin returns), at the full size (no slice, no scaling). Synthetic gauges at
uniform random positions. Each call gets one untimed warm-up call, then ``--repeat`` timed calls.
``--numpy-max`` skips the anchor above a size (the row then says so and gives no ratio).

    python benchmarks/bench_interp.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import argparse
import math

import numpy as np
from _common import Results, goal_applies, measure, parse_args, size_label, warm_memory

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


def main(argv=None):
    extra = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    extra.add_argument("--numpy-max", type=lambda s: int(float(s)), default=10**8,
                       help="largest size at which the numpy anchor runs (default: 1e8)")
    args = parse_args("", [10**6, 10**7, 10**8], argv=argv, quick_sizes=[10**5, 10**6], parser=extra)
    res = Results(__file__, anchors=[], argv=argv, out=args.out)
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    for n in args.sizes:
        side = int(math.isqrt(n))
        cells = side * side
        gx, gy, gv = rng.uniform(0, side, 100), rng.uniform(0, side, 100), rng.uniform(0, 80, 100)
        on, gnote = goal_applies(n, args.sizes, 10**8, time_goal=True)
        ours = measure(lambda: idw((side, side), gx, gy, gv), args.repeat)
        ours_k8 = measure(lambda: idw((side, side), gx, gy, gv, k=8), args.repeat)
        anchor_t, note = None, gnote
        if cells <= args.numpy_max:
            ref = numpy_idw((side, side), gx, gy, gv)
            got = np.asarray(idw((side, side), gx, gy, gv))
            note = f"max |cimtwin - numpy| {float(np.max(np.abs(got - ref))):.2g}; {gnote}".strip("; ")
            del ref, got
            anchor_t = measure(lambda: numpy_idw((side, side), gx, gy, gv), args.repeat)
        else:
            note = f"numpy anchor not run above --numpy-max {size_label(args.numpy_max)}; no ratio; {gnote}".strip("; ")
        res.add("idw, 100 gauges, p = 2, all gauges", cells, ours, anchor="numpy brute force (float32, row blocks)",
                anchor_t=anchor_t, goal="<= 2 s" if on else None, goal_s=2.0 if on else None, note=note,
                judged=cells >= 10**8)
        res.add("idw, 100 gauges, p = 2, k = 8 nearest", cells, ours_k8)
    res.write()


if __name__ == "__main__":
    main()
