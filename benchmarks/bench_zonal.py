"""Zonal statistics: cimtwin.grid.zonal_stats vs np.bincount (sum + count), same run, same size.

Synthetic input: float32 values and 1e4 random int32 zone ids (worst case for locality), the
dtypes a user holds. Two anchors:

* ``np.bincount`` called on those int32 zones and float32 values: bincount converts them
  (zones to intp, weights to float64) inside its call, and that time is counted, as a user
  would pay it;
* ``np.bincount`` on inputs converted beforehand, outside the timed region (its best case).

cimtwin computes count, sum, mean, min and max in one pass; bincount gives sum and count only,
so extra rows time ``stats=("count", "sum")`` as well. Each call gets one untimed warm-up call.

    python benchmarks/bench_zonal.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import gc
import math

import numpy as np
from _common import Results, goal_applies, measure, parse_args, warm_memory

from cimtwin.grid import zonal_stats

ZONES = 10_000


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8], argv=argv, quick_sizes=[10**5, 10**6])
    res = Results(__file__, anchors=[], argv=argv, out=args.out)
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    zonal_stats(np.ones((8, 8), np.float32), np.zeros((8, 8), np.int32))  # compile
    for n in args.sizes:
        side = int(math.isqrt(n))
        values = rng.random((side, side), dtype=np.float32)
        zones = rng.integers(0, ZONES, (side, side), dtype=np.int32)
        flat_z, flat_v = zones.ravel(), values.ravel()
        ours = measure(lambda: zonal_stats(values, zones), args.repeat)
        ours_sc = measure(lambda: zonal_stats(values, zones, stats=("count", "sum")), args.repeat)
        user = measure(lambda: (np.bincount(flat_z, weights=flat_v, minlength=ZONES),
                                np.bincount(flat_z, minlength=ZONES)), args.repeat)
        zi, vd = flat_z.astype(np.intp), flat_v.astype(np.float64)
        pre = measure(lambda: (np.bincount(zi, weights=vd, minlength=ZONES), np.bincount(zi, minlength=ZONES)),
                      args.repeat)
        # same answer: counts exact, sums to float rounding
        got = zonal_stats(values, zones, stats=("count", "sum"))
        assert np.array_equal(got["count"].to_numpy(), np.bincount(zi, minlength=ZONES))
        assert np.allclose(got["sum"].to_numpy(), np.bincount(zi, weights=vd, minlength=ZONES), rtol=1e-9)
        del got, zi, vd
        cells = side * side
        on, note = goal_applies(n, args.sizes, 10**8)
        anchor_user = "np.bincount sum + count, int32/float32 as held (conversions timed)"
        anchor_pre = "np.bincount sum + count, intp/float64 converted beforehand"
        res.add("zonal_stats, 5 stats, 1e4 zones", cells, ours, anchor=anchor_user, anchor_t=user,
                goal=">= 2x bincount (user dtypes)" if on else None, goal_ratio=2.0 if on else None, note=note)
        res.add("zonal_stats, 5 stats, 1e4 zones", cells, ours, anchor=anchor_pre, anchor_t=pre,
                goal=">= 1.5x bincount (pre-converted)" if on else None, goal_ratio=1.5 if on else None, note=note)
        res.add("zonal_stats, count + sum only", cells, ours_sc, anchor=anchor_user, anchor_t=user)
        res.add("zonal_stats, count + sum only", cells, ours_sc, anchor=anchor_pre, anchor_t=pre)
        del values, zones, flat_z, flat_v
        gc.collect()
    res.write()


if __name__ == "__main__":
    main()
