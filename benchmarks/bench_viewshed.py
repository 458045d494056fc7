"""Viewshed benchmark: cimtwin ``exact`` and ``r2`` vs xarray-spatial ``viewshed``, same run.

Parts:

1. **Agreement** of each method with a brute-force line-of-sight reference (vectorised numpy,
   every row/column-line crossing interpolated) on synthetic fractal + Gaussian-hill terrain:
   cell agreement and IoU of the visible cells, over several DEMs and observers.
2. **One observer** at the centre of an n-cell DEM (1.75 m, unlimited range). xarray-spatial
   runs up to ``--anchor-max`` cells; larger sizes compare per cell with its largest run.
   ``exact`` runs up to ``--exact-max`` cells (its cost grows as n^1.5).
3. **Cumulative** on the largest size: 1,000 cameras (90 deg field of view, 500-cell range)
   and 100,000 cameras (100-cell range), r2.

The DEM is synthetic (see ``bench_hydrology.synthetic_dem``).

Usage::

    python benchmarks/bench_viewshed.py --sizes 1e6 1e7 1e8 --repeat 3
"""

from __future__ import annotations

import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import machine, parse_args, report, size_label, timeit  # noqa: E402
from bench_hydrology import synthetic_dem  # noqa: E402


def fractal_hills(n, seed):
    """n x n synthetic terrain: 1/f^3 fractal (40 m relief) plus two Gaussian hills."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.fftfreq(n)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / f ** 1.5
    spec[0, 0] = 0
    z = np.real(np.fft.ifft2(spec))
    z = (z - z.min()) / (z.max() - z.min()) * 40.0
    yy, xx = np.mgrid[0:n, 0:n] / n
    for cy, cx, h, s in [(0.3, 0.6, 15.0, 0.12), (0.7, 0.3, 10.0, 0.08)]:
        z += h * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return z.astype(np.float32)


def brute_force(z, r0, c0, h_obs):
    """Reference viewshed: for each target, all crossings at once with numpy."""
    z = z.astype(np.float64)
    rows, cols = z.shape
    oz = z[r0, c0] + h_obs
    vis = np.zeros(z.shape, dtype=bool)
    for r in range(rows):
        for c in range(cols):
            dr, dc = r - r0, c - c0
            if abs(dr) <= 1 and abs(dc) <= 1:
                vis[r, c] = True
                continue
            rise = z[r, c] - oz
            block = False
            if abs(dc) > 1:
                k = np.arange(1, abs(dc))
                t = k / abs(dc)
                y = r0 + dr * t
                y0 = np.floor(y).astype(int)
                w = y - y0
                x = c0 + np.sign(dc) * k
                zs = (1 - w) * z[y0, x] + w * z[np.minimum(y0 + 1, rows - 1), x]
                block |= bool(np.any(zs - oz > t * rise + 1e-9))
            if not block and abs(dr) > 1:
                k = np.arange(1, abs(dr))
                t = k / abs(dr)
                x = c0 + dc * t
                x0 = np.floor(x).astype(int)
                w = x - x0
                y = r0 + np.sign(dr) * k
                zs = (1 - w) * z[y, x0] + w * z[y, np.minimum(x0 + 1, cols - 1)]
                block |= bool(np.any(zs - oz > t * rise + 1e-9))
            vis[r, c] = not block
    return vis


def agreement_table(n=161, seeds=(1, 2, 3), observers=((80, 80), (40, 120), (120, 30))):
    from cimtwin.grid import viewshed

    stats = {"exact": [], "r2": []}
    for seed in seeds:
        z = fractal_hills(n, seed)
        for r0, c0 in observers:
            ref = brute_force(z, r0, c0, 1.75)
            for method in stats:
                v = viewshed(z, r0, c0, observer_height_m=1.75, method=method)
                inter = np.logical_and(v, ref).sum()
                union = np.logical_or(v, ref).sum()
                stats[method].append(((v == ref).mean(), inter / union, ref.mean()))
    rows = []
    for method, vals in stats.items():
        a = np.array(vals)
        rows.append({"method": method, "cases": len(vals), "agreement_mean": a[:, 0].mean(),
                     "agreement_min": a[:, 0].min(), "iou_mean": a[:, 1].mean(), "iou_min": a[:, 1].min(),
                     "visible_share_ref": a[:, 2].mean()})
    print(f"Agreement with brute-force line of sight ({n}x{n} synthetic fractal+hills DEMs, 1.75 m observer)")
    return report(rows)


def _load():
    """1-minute load average: other work on the shared machine inflates wall-clock times."""
    return round(os.getloadavg()[0], 1)


def main(argv=None):
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--anchor-max", type=lambda s: int(float(s)), default=10**6)
    extra.add_argument("--exact-max", type=lambda s: int(float(s)), default=10**7)
    extra.add_argument("--skip-agreement", action="store_true")
    extra.add_argument("--skip-cumulative", action="store_true")
    opts, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8], default_repeat=3, argv=rest)
    import numba
    import xarray as xr
    import xrspatial

    from cimtwin.grid import cumulative_viewshed, viewshed

    print(machine(), f"numba threads {numba.get_num_threads()}")
    small = fractal_hills(64, 0)
    for m in ("exact", "r2"):
        viewshed(small, 30, 30, method=m)
        cumulative_viewshed(small, [5, 40], [5, 40], res_m=1.0, max_distance_m=10.0, method=m,
                            azimuth_deg=[0, 90], hfov_deg=90)
    if not opts.skip_agreement:
        agreement_table()

    def as_da(z):
        side_r, side_c = z.shape
        return xr.DataArray(z, dims=("y", "x"),
                            coords={"y": np.arange(side_r)[::-1] * 1.0, "x": np.arange(side_c) * 1.0})

    xrspatial.viewshed(as_da(small), x=30.0, y=30.0, observer_elev=1.75)
    rows = []
    anchor_per_cell = None
    for n in args.sizes:
        dem = synthetic_dem(n)
        cells = dem.size
        r0 = c0 = dem.shape[0] // 2
        rep = 1 if cells >= 5 * 10**7 else args.repeat
        t_r2 = timeit(lambda: viewshed(dem, r0, c0, method="r2"), repeat=rep)
        t_ex = None
        if cells <= opts.exact_max:
            t_ex = timeit(lambda: viewshed(dem, r0, c0, method="exact"), repeat=rep)
        note = "same DEM"
        if cells <= opts.anchor_max:
            da = as_da(dem)
            x = float(da.x[c0])
            y = float(da.y[r0])
            t_xrs = timeit(lambda: xrspatial.viewshed(da, x=x, y=y, observer_elev=1.75), repeat=rep)
            anchor_per_cell = t_xrs / cells
            del da
        else:
            t_xrs = anchor_per_cell * cells if anchor_per_cell else None
            note = "xarray-spatial extrapolated per cell from its largest run"
        rows.append({"op": "viewshed r2", "cells": size_label(cells), "cimtwin_s": t_r2, "anchor_s": t_xrs,
                     "cimtwin_Mcells_s": cells / t_r2 / 1e6, "load": _load(), "note": note})
        if t_ex is not None:
            rows.append({"op": "viewshed exact", "cells": size_label(cells), "cimtwin_s": t_ex, "anchor_s": t_xrs,
                         "cimtwin_Mcells_s": cells / t_ex / 1e6, "load": _load(), "note": note})
        report(rows[-2:])
        if n == args.sizes[-1] and not opts.skip_cumulative:
            rng = np.random.default_rng(7)
            side = dem.shape[0]
            for m, rad in [(1000, 500), (100_000, 100)]:
                rr = rng.integers(0, side, m)
                cc = rng.integers(0, side, m)
                az = rng.uniform(0, 360, m)
                cpu0 = time.process_time()
                t = timeit(lambda: cumulative_viewshed(dem, rr, cc, observer_height_m=5.0, azimuth_deg=az,
                                                       hfov_deg=90.0, max_distance_m=float(rad), res_m=1.0,
                                                       method="r2"), repeat=1)
                cpu = time.process_time() - cpu0
                rows.append({"op": f"cumulative r2, {m} cams, 90 deg, R={rad}", "cells": size_label(cells),
                             "cimtwin_s": t, "anchor_s": None, "cimtwin_Mcells_s": None, "load": _load(),
                             "note": f"1 run, {cpu:.1f} s CPU (both threads)"})
                report(rows[-1:])
        del dem
        gc.collect()
    print()
    return report(rows)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
