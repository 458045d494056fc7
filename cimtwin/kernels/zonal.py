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


# accumulator layout: one 32-byte record per bin (two per cache line), so an update touches
# one line; cells skipped as NaN/nodata and cells above the threshold are rare or optional and
# kept in their own arrays, off the hot loop
_CNT, _SUM, _MIN, _MAX = 0, 1, 2, 3


@njit(parallel=True)
def _zonal_chunks(values, bins, nbins, nchunks, has_nodata, nodata, has_threshold, threshold, minmax):
    n = values.shape[0]
    acc = np.zeros((nchunks, nbins, 4), np.float64)
    skipped = np.zeros((nchunks, nbins), np.int64)
    above = np.zeros((nchunks, nbins if has_threshold else 0), np.int64)
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for c in numba.prange(nchunks):
        a = c * n // nchunks
        b = (c + 1) * n // nchunks
        rec = acc[c]
        skip = skipped[c]
        up = above[c]  # empty without a threshold, then never indexed
        for z in range(nbins):
            rec[z, _MIN] = np.inf
            rec[z, _MAX] = -np.inf
        # two copies of the loop rather than a test per cell; min/max without branches
        # (random values would mispredict them)
        if minmax:
            for p in range(a, b):
                z = bins[p]
                if z < 0:
                    continue
                v = values[p]
                if v != v or (has_nodata and v == nodata):
                    skip[z] += 1
                    continue
                rec[z, _CNT] += 1.0
                rec[z, _SUM] += v
                rec[z, _MIN] = min(rec[z, _MIN], v)
                rec[z, _MAX] = max(rec[z, _MAX], v)
                if has_threshold and v > threshold:
                    up[z] += 1
        else:
            for p in range(a, b):
                z = bins[p]
                if z < 0:
                    continue
                v = values[p]
                if v != v or (has_nodata and v == nodata):
                    skip[z] += 1
                    continue
                rec[z, _CNT] += 1.0
                rec[z, _SUM] += v
                if has_threshold and v > threshold:
                    up[z] += 1
    return acc, skipped, above


# Same loop without a parallel region, for grids too small to repay waking the threads
# (on a loaded machine that wake-up alone can cost tens of milliseconds).
_zonal_chunks_serial = njit(_zonal_chunks.py_func)
_SERIAL_BELOW = 1 << 21  # cells


@njit
def _combine(acc, skipped, above):
    """Add the chunks' partials in chunk order (fixed, so float sums repeat exactly)."""
    nchunks, nbins, _ = acc.shape
    out = acc[0].copy()
    cells = skipped[0].copy()
    n_above = np.zeros(nbins, np.int64)
    for c in range(1, nchunks):
        for z in range(nbins):
            out[z, _CNT] += acc[c, z, _CNT]
            out[z, _SUM] += acc[c, z, _SUM]
            out[z, _MIN] = min(out[z, _MIN], acc[c, z, _MIN])
            out[z, _MAX] = max(out[z, _MAX], acc[c, z, _MAX])
            cells[z] += skipped[c, z]
    for z in range(nbins):
        cells[z] += np.int64(out[z, _CNT])
    for c in range(above.shape[0]):
        for z in range(above.shape[1]):
            n_above[z] += above[c, z]
    return out, cells, n_above


@njit
def _minmax(a):
    # one serial pass in the array's own dtype: the loop vectorizes and runs at memory
    # speed (a parallel version with int64 widening cost ~8x more CPU)
    mn = a[0]
    mx = a[0]
    for p in range(a.shape[0]):
        v = a[p]
        mn = min(mn, v)
        mx = max(mx, v)
    return mn, mx


def id_range(zones_flat: np.ndarray) -> tuple[int, int]:
    """(min, max) of a non-empty integer array, in one pass."""
    lo, hi = _minmax(zones_flat)
    return int(lo), int(hi)


@register("zonal", "cpu")
def zonal_cpu(values, bins, nbins, nodata, threshold, *, minmax=True):
    """Per-bin (count, sum, min, max, n_above, n_cells) for flat ``values`` and int ``bins``.

    ``bins`` holds 0..nbins-1, or -1 to skip a cell. ``count`` counts valid values (not NaN,
    not ``nodata``), ``n_cells`` every cell of the bin. ``nodata``/``threshold`` are floats or
    None. min/max are ``inf``/``-inf`` for bins without valid values, and for every bin when
    ``minmax=False`` (skips that work when only count/sum/mean are wanted).
    """
    # Fixed chunking (not the thread count) keeps float sums identical on every machine.
    # Each chunk's bins cost 32 B + 8 B x nbins: use chunks of at least 2^19 cells and 16 cells
    # per bin (small grids run as one chunk) and keep all partials under ~256 MB.
    nb = max(int(nbins), 1)
    n = values.shape[0]
    nchunks = int(max(1, min(16, n >> 19, n // (16 * nb), (256 << 20) // (40 * nb))))
    kernel = _zonal_chunks_serial if n < _SERIAL_BELOW else _zonal_chunks
    with numba.parallel_chunksize(1):  # chunks handed out one at a time
        acc, skipped, above = kernel(values, bins, int(nbins), nchunks, nodata is not None,
                                     0.0 if nodata is None else float(nodata), threshold is not None,
                                     0.0 if threshold is None else float(threshold), bool(minmax))
    out, cells, n_above = _combine(acc, skipped, above)
    return (out[:, _CNT].astype(np.int64), out[:, _SUM].copy(), out[:, _MIN].copy(), out[:, _MAX].copy(),
            n_above, cells)


@njit
def label_counts(labels, mask, nlabels):
    """Cells per label and, of those, cells where ``mask`` is True (one pass, no temporaries).

    ``labels`` are int ids in [0, nlabels); ``mask`` is a boolean array of the same size.
    """
    total = np.zeros(nlabels, np.int64)
    covered = np.zeros(nlabels, np.int64)
    for i in range(labels.size):
        lab = labels[i]
        total[lab] += 1
        if mask[i]:
            covered[lab] += 1
    return total, covered
