"""CUDA twin of ``zonal``: per-bin count, sum, min, max, count above a threshold, cells.

One thread per cell (grid-stride) with global atomics. Counts, min and max are exact; the
float64 sums are added in a scheduling-dependent order, so they agree with the CPU kernel to
rounding (well within 1e-5 relative) but are not bit-reproducible between runs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, full, to_device


@cuda.jit
def _zonal_kernel(values, bins, has_nodata, nodata, has_threshold, threshold, cnt, tot, lo, hi, above,
                  cells):
    start = cuda.grid(1)
    for p in range(start, values.shape[0], cuda.gridsize(1)):
        z = bins[p]
        if z < 0:
            continue
        cuda.atomic.add(cells, z, 1)
        v = values[p]
        if math.isnan(v):
            continue
        if has_nodata and v == nodata:
            continue
        vf = float(v)
        cuda.atomic.add(cnt, z, 1)
        cuda.atomic.add(tot, z, vf)
        cuda.atomic.min(lo, z, vf)
        cuda.atomic.max(hi, z, vf)
        if has_threshold and v > threshold:
            cuda.atomic.add(above, z, 1)


def zonal_device(values, bins, nbins, nodata, threshold):
    """(count, sum, min, max, n_above, n_cells) as device arrays; ``values``/``bins`` flat, host or device."""
    d_v = to_device(values)
    d_b = to_device(bins)
    nbins = int(nbins)
    cnt = full((nbins,), 0, np.int64)
    tot = full((nbins,), 0.0, np.float64)
    lo = full((nbins,), np.inf, np.float64)
    hi = full((nbins,), -np.inf, np.float64)
    above = full((nbins,), 0, np.int64)
    cells = full((nbins,), 0, np.int64)
    n = int(d_v.shape[0])
    if n and nbins:
        _zonal_kernel[blocks_for(n), THREADS](
            d_v, d_b, nodata is not None, 0.0 if nodata is None else float(nodata), threshold is not None,
            0.0 if threshold is None else float(threshold), cnt, tot, lo, hi, above, cells)
    return cnt, tot, lo, hi, above, cells


@register("zonal", "cuda")
def zonal_cuda(values, bins, nbins, nodata, threshold):
    """Same contract as the CPU ``zonal`` kernel."""
    return tuple(a.copy_to_host() for a in zonal_device(values, bins, nbins, nodata, threshold))
