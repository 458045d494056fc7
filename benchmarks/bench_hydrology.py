"""Hydrology benchmark: cimtwin vs pysheds on the same synthetic DEM, same run.

Times (medians of ``--repeat`` runs):

* ``fill``: ``cimtwin.grid.fill_depressions`` vs pysheds ``Grid.fill_depressions``;
* ``d8+acc``: ``cimtwin.grid.flow_accumulation(filled, conditioned=True)`` (D8 directions,
  flat resolution and accumulation) vs pysheds ``resolve_flats`` + ``flowdir`` +
  ``accumulation``;
* ``ponding``: ``cimtwin.grid.ponding_depth`` (Fill-Spill-Merge, 30 mm runoff; no anchor).

The DEM is synthetic: a coarse fractal surface (1/f^3 spectrum) upsampled bilinearly, plus
0.3 m of white noise, float32. pysheds is run only up to ``--anchor-max`` cells (it is slow
and memory-hungry at 1e8); above that the ratio uses its per-cell speed at the largest size
it ran, and the table says so.

pysheds needs two shims under NumPy 2 / numba 0.6x: ``np.in1d = np.isin`` and a numba-compiled
``itertools.count`` in ``pysheds._sgrid`` (numba no longer compiles ``zip(count(), ...)``).

Usage::

    python benchmarks/bench_hydrology.py --sizes 1e6 1e7 1e8 --repeat 3
"""

from __future__ import annotations

import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import machine, parse_args, report, size_label, timeit, warm_memory  # noqa: E402


def synthetic_dem(n_cells: int, seed: int = 0, *, relief_m: float = 60.0, noise_m: float = 0.3):
    """Synthetic terrain: a fractal surface on a coarse grid, bilinearly upsampled, plus noise."""
    from scipy import ndimage

    side = int(round(n_cells ** 0.5))
    coarse = max(64, side // 50)
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(coarse)[:, None]
    fx = np.fft.fftfreq(coarse)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=(coarse, coarse)) + 1j * rng.normal(size=(coarse, coarse))) / f ** 1.5
    spec[0, 0] = 0
    z = np.real(np.fft.ifft2(spec)).astype(np.float32)
    z = (z - z.min()) / (z.max() - z.min()) * relief_m
    dem = ndimage.zoom(z, side / coarse, order=1, output=np.float32, grid_mode=False)[:side, :side]
    dem = np.ascontiguousarray(dem)
    for r0 in range(0, side, 1000):  # add noise in row blocks to keep the peak memory low
        blk = dem[r0:r0 + 1000]
        blk += rng.normal(scale=noise_m, size=blk.shape).astype(np.float32)
    return dem


def _pysheds():
    np.in1d = np.isin  # NumPy 2 shim
    if not hasattr(np, "bool8"):
        np.bool8 = np.bool_
    import numba
    import pysheds._sgrid as sg

    @numba.njit
    def count(start=0, step=1):
        i = start
        while True:
            yield i
            i += step

    sg.count = count
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    return Grid, Raster, ViewFinder


def main(argv=None):
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--anchor-max", type=lambda s: int(float(s)), default=10**7)
    opts, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__.splitlines()[0], [10**6, 10**7, 10**8], default_repeat=3, argv=rest)
    import numba

    from cimtwin.grid import fill_depressions, flow_accumulation, ponding_depth

    print(machine(), f"numba threads {numba.get_num_threads()}")
    # compile outside the timings
    small = synthetic_dem(10_000)
    flow_accumulation(fill_depressions(small), conditioned=True)
    ponding_depth(small, 30.0, res_m=5.0)
    Grid, Raster, ViewFinder = _pysheds()
    vf = ViewFinder(shape=small.shape, nodata=np.float32(-9999))
    g = Grid(viewfinder=vf)
    f = g.fill_depressions(Raster(small, viewfinder=vf))
    g.accumulation(g.flowdir(g.resolve_flats(f)))

    rows = []
    per_cell_anchor = {}
    warm_memory()
    for n in args.sizes:
        dem = synthetic_dem(n)
        cells = dem.size
        print(f"{size_label(cells)}: load average {os.getloadavg()[0]:.1f}", flush=True)
        rep = 1 if cells >= 5 * 10**7 else args.repeat
        t_fill = timeit(lambda: fill_depressions(dem), repeat=rep)
        filled = fill_depressions(dem)
        t_acc = timeit(lambda: flow_accumulation(filled, conditioned=True), repeat=rep)
        t_pond = timeit(lambda: ponding_depth(dem, 30.0, res_m=5.0), repeat=1)
        anchor_fill = anchor_acc = None
        note = "same DEM"
        if cells <= opts.anchor_max:
            vf = ViewFinder(shape=dem.shape, nodata=np.float32(-9999))
            g = Grid(viewfinder=vf)
            r = Raster(dem, viewfinder=vf)
            anchor_fill = timeit(lambda: g.fill_depressions(r), repeat=rep)
            pf = g.fill_depressions(r)
            assert np.array_equal(np.asarray(pf), filled), "pysheds and cimtwin fills differ"
            infl = g.resolve_flats(pf)
            anchor_acc = timeit(lambda: g.accumulation(g.flowdir(infl)), repeat=rep)
            per_cell_anchor = {"fill": anchor_fill / cells, "acc": anchor_acc / cells}
            del g, r, pf, infl
        elif per_cell_anchor:
            anchor_fill = per_cell_anchor["fill"] * cells
            anchor_acc = per_cell_anchor["acc"] * cells
            note = "pysheds extrapolated per cell from the largest size it ran"
        rows.append({"op": "fill", "cells": size_label(cells), "cimtwin_s": t_fill, "anchor_s": anchor_fill,
                     "cimtwin_Mcells_s": cells / t_fill / 1e6, "anchor": "pysheds fill_depressions", "note": note})
        rows.append({"op": "d8+acc", "cells": size_label(cells), "cimtwin_s": t_acc, "anchor_s": anchor_acc,
                     "cimtwin_Mcells_s": cells / t_acc / 1e6,
                     "anchor": "pysheds resolve_flats excluded; flowdir+accumulation", "note": note})
        rows.append({"op": "ponding (FSM)", "cells": size_label(cells), "cimtwin_s": t_pond, "anchor_s": None,
                     "cimtwin_Mcells_s": cells / t_pond / 1e6, "anchor": "-", "note": "1 run"})
        del dem, filled
        gc.collect()
        report(rows[-3:])
    print()
    return report(rows)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
