"""Distance transform: cimtwin.grid.distance vs scipy, edt and xarray-spatial, same run, same size.

Synthetic input: 1,000 random source cells on a square grid, 10 m cells; every method gives
the Euclidean distance in metres to the nearest source. Anchors, each called the way its docs
show, on inputs prepared outside the timed region:

* scipy ``ndimage.distance_transform_edt(~mask, sampling=10)`` (float64 out, one thread);
  with ``return_indices=True`` it is also the anchor for ``distance(..., return_index=True)``;
* ``edt.edt(~mask, anisotropy=(10, 10), parallel=<cores>)`` (float32 out like cimtwin, all cores);
* xarray-spatial ``proximity(raster, target_values=[1])`` (float32 out), up to
  ``--proximity-max`` cells (it takes seconds per 1e6 cells; larger sizes say so, with no ratio).

Each call gets one untimed warm-up call, then ``--repeat`` timed calls.

    python benchmarks/bench_distance.py --sizes 1e6 1e7 1e8 --repeat 3
"""

import argparse
import gc
import math
import os

import numpy as np
from _common import Results, goal_applies, measure, parse_args, size_label, warm_memory
from scipy import ndimage

from cimtwin.grid import distance

RES_M = 10.0


def main(argv=None):
    extra = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    extra.add_argument("--proximity-max", type=lambda s: int(float(s)), default=10**7,
                       help="largest size at which xarray-spatial proximity runs (default: 1e7)")
    args = parse_args("", [10**6, 10**7, 10**8], argv=argv, quick_sizes=[10**5, 10**6], parser=extra)
    import edt
    import xarray as xr
    import xrspatial

    res = Results(__file__, anchors=["scipy", "edt", "xarray-spatial"], argv=argv, out=args.out)
    if max(args.sizes) >= 10**8:
        warm_memory(3.0)
    rng = np.random.default_rng(0)
    cores = os.cpu_count() or 1
    for n in args.sizes:
        side = int(math.isqrt(n))
        cells = side * side
        mask = np.zeros((side, side), bool)
        mask.flat[rng.integers(0, mask.size, 1000)] = True
        inv = ~mask
        on, gnote = goal_applies(n, args.sizes, 10**8)
        ours = measure(lambda: distance(mask, res_m=RES_M), args.repeat)
        ours_idx = measure(lambda: distance(mask, res_m=RES_M, return_index=True), args.repeat)
        # same answer as scipy (float32 against float64)
        d = distance(mask, res_m=RES_M)
        ref = ndimage.distance_transform_edt(inv, sampling=RES_M)
        err = float(np.max(np.abs(np.asarray(d, np.float64) - ref)))
        del d, ref
        gc.collect()
        t_scipy = measure(lambda: ndimage.distance_transform_edt(inv, sampling=RES_M), args.repeat)
        res.add("distance, 1,000 sources", cells, ours, anchor="scipy distance_transform_edt", anchor_t=t_scipy,
                goal=">= 6x scipy EDT" if on else None, goal_ratio=6.0 if on else None,
                note=f"max |cimtwin - scipy| {err:.2g} m; {gnote}".strip("; "))
        t_edt = measure(lambda: edt.edt(inv, anisotropy=(RES_M, RES_M), black_border=False, parallel=cores),
                        args.repeat)
        res.add("distance, 1,000 sources", cells, ours, anchor=f"edt.edt (parallel={cores})", anchor_t=t_edt)
        gc.collect()
        t_scipy_idx = measure(lambda: ndimage.distance_transform_edt(inv, sampling=RES_M, return_indices=True),
                              args.repeat)
        res.add("distance with nearest-source index", cells, ours_idx,
                anchor="scipy distance_transform_edt(return_indices=True)", anchor_t=t_scipy_idx)
        gc.collect()
        if cells <= args.proximity_max:
            raster = xr.DataArray(mask.astype(np.float32), dims=("y", "x"),
                                  coords={"y": np.arange(side)[::-1] * RES_M, "x": np.arange(side) * RES_M})
            t_prox = measure(lambda: xrspatial.proximity(raster, target_values=[1]), args.repeat)
            res.add("distance, 1,000 sources", cells, ours, anchor="xarray-spatial proximity", anchor_t=t_prox)
            del raster
        else:
            res.add("distance, 1,000 sources", cells, ours, anchor="xarray-spatial proximity", anchor_t=None,
                    note=f"proximity not run above --proximity-max {size_label(args.proximity_max)}: "
                         "seconds per 1e6 cells, so minutes per call here; no ratio")
        del mask, inv
        gc.collect()
    res.write()


if __name__ == "__main__":
    main()
