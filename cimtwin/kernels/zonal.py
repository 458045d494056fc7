"""Zonal statistics over a label raster: count, sum, min, max and count above a threshold.

Zone labels arrive as bin numbers ``0..nbins-1`` (the caller maps ids to bins; -1 = skip).
The grid is split into a fixed number of row chunks (independent of the thread count), each
accumulating into its own bins; partials are combined in chunk order, so the float sums are
the same on every run and machine.
"""

from __future__ import annotations

import numba
import numpy as np

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit


@njit(parallel=True)
def _zonal_chunks(values, bins, nbins, nchunks, has_nodata, nodata, has_threshold, threshold):
    n = values.shape[0]
    cnt = np.zeros((nchunks, nbins), np.int64)
    tot = np.zeros((nchunks, nbins), np.float64)
    lo = np.full((nchunks, nbins), np.inf)
    hi = np.full((nchunks, nbins), -np.inf)
    above = np.zeros((nchunks, nbins), np.int64)
    for c in numba.prange(nchunks):
        a = c * n // nchunks
        b = (c + 1) * n // nchunks
        for p in range(a, b):
            z = bins[p]
            if z < 0:
                continue
            v = values[p]
            if v != v:  # NaN
                continue
            if has_nodata and v == nodata:
                continue
            cnt[c, z] += 1
            tot[c, z] += v
            if v < lo[c, z]:
                lo[c, z] = v
            if v > hi[c, z]:
                hi[c, z] = v
            if has_threshold and v > threshold:
                above[c, z] += 1
    return cnt, tot, lo, hi, above


@njit
def _combine(cnt, tot, lo, hi, above):
    nchunks, nbins = cnt.shape
    c_out = np.zeros(nbins, np.int64)
    s_out = np.zeros(nbins, np.float64)
    lo_out = np.full(nbins, np.inf)
    hi_out = np.full(nbins, -np.inf)
    a_out = np.zeros(nbins, np.int64)
    for c in range(nchunks):
        for z in range(nbins):
            c_out[z] += cnt[c, z]
            s_out[z] += tot[c, z]
            lo_out[z] = min(lo_out[z], lo[c, z])
            hi_out[z] = max(hi_out[z], hi[c, z])
            a_out[z] += above[c, z]
    return c_out, s_out, lo_out, hi_out, a_out


@register("zonal", "cpu")
def zonal_cpu(values, bins, nbins, nodata, threshold):
    """Per-bin (count, sum, min, max, n_above) for flat ``values`` and int ``bins`` (-1 = skip).

    ``nodata``/``threshold`` are floats or None. min/max are ``inf``/``-inf`` for empty bins.
    """
    # Per-chunk bins cost 40 B x nbins x chunks; keep that under ~256 MB.
    nchunks = int(max(1, min(16, values.shape[0] // 65536 + 1, (256 << 20) // (40 * max(nbins, 1)))))
    parts = _zonal_chunks(values, bins, int(nbins), nchunks, nodata is not None,
                          0.0 if nodata is None else float(nodata), threshold is not None,
                          0.0 if threshold is None else float(threshold))
    return _combine(*parts)
