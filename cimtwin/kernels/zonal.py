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


# accumulator layout, one 48-byte record per bin so an update touches one cache line
_CNT, _SUM, _MIN, _MAX, _ABOVE, _CELLS = 0, 1, 2, 3, 4, 5


@njit(parallel=True)
def _zonal_chunks(values, bins, nbins, nchunks, has_nodata, nodata, has_threshold, threshold):
    n = values.shape[0]
    acc = np.zeros((nchunks, nbins, 6), np.float64)
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    old_chunk = numba.set_parallel_chunksize(1)
    for c in numba.prange(nchunks):
        a = c * n // nchunks
        b = (c + 1) * n // nchunks
        rec = acc[c]
        for z in range(nbins):
            rec[z, _MIN] = np.inf
            rec[z, _MAX] = -np.inf
        for p in range(a, b):
            z = bins[p]
            if z < 0:
                continue
            rec[z, _CELLS] += 1.0
            v = values[p]
            if v != v:  # NaN
                continue
            if has_nodata and v == nodata:
                continue
            rec[z, _CNT] += 1.0
            rec[z, _SUM] += v
            if v < rec[z, _MIN]:
                rec[z, _MIN] = v
            if v > rec[z, _MAX]:
                rec[z, _MAX] = v
            if has_threshold and v > threshold:
                rec[z, _ABOVE] += 1.0
    numba.set_parallel_chunksize(old_chunk)
    return acc


# Same loop without a parallel region, for grids too small to repay waking the threads
# (on a loaded machine that wake-up alone can cost tens of milliseconds).
_zonal_chunks_serial = njit(_zonal_chunks.py_func)
_SERIAL_BELOW = 1 << 21  # cells


@njit
def _combine(acc):
    nchunks, nbins, _ = acc.shape
    out = acc[0].copy()
    for c in range(1, nchunks):
        for z in range(nbins):
            out[z, _CNT] += acc[c, z, _CNT]
            out[z, _SUM] += acc[c, z, _SUM]
            out[z, _MIN] = min(out[z, _MIN], acc[c, z, _MIN])
            out[z, _MAX] = max(out[z, _MAX], acc[c, z, _MAX])
            out[z, _ABOVE] += acc[c, z, _ABOVE]
            out[z, _CELLS] += acc[c, z, _CELLS]
    return out


@njit(parallel=True)
def _minmax(a):
    n = a.shape[0]
    nchunks = 16
    lo = np.empty(nchunks, np.int64)
    hi = np.empty(nchunks, np.int64)
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    old_chunk = numba.set_parallel_chunksize(1)
    for c in numba.prange(nchunks):
        s = c * n // nchunks
        e = (c + 1) * n // nchunks
        mn = np.iinfo(np.int64).max
        mx = np.iinfo(np.int64).min
        for p in range(s, e):
            v = np.int64(a[p])
            mn = min(mn, v)
            mx = max(mx, v)
        lo[c] = mn
        hi[c] = mx
    numba.set_parallel_chunksize(old_chunk)
    return lo.min(), hi.max()


def id_range(zones_flat: np.ndarray) -> tuple[int, int]:
    """(min, max) of a non-empty integer array, in one parallel pass."""
    if zones_flat.shape[0] < _SERIAL_BELOW:
        return int(zones_flat.min()), int(zones_flat.max())
    lo, hi = _minmax(zones_flat)
    return int(lo), int(hi)


@register("zonal", "cpu")
def zonal_cpu(values, bins, nbins, nodata, threshold):
    """Per-bin (count, sum, min, max, n_above, n_cells) for flat ``values`` and int ``bins``.

    ``bins`` holds 0..nbins-1, or -1 to skip a cell. ``count`` counts valid values (not NaN,
    not ``nodata``), ``n_cells`` every cell of the bin. ``nodata``/``threshold`` are floats or
    None. min/max are ``inf``/``-inf`` for bins without valid values.
    """
    # Fixed chunking (not the thread count) keeps float sums identical on every machine.
    # Each chunk's bins cost 48 B x nbins: use chunks of at least 2^20 cells and 16 cells
    # per bin (small grids run as one chunk) and keep all partials under ~256 MB.
    nb = max(int(nbins), 1)
    n = values.shape[0]
    nchunks = int(max(1, min(16, n >> 20, n // (16 * nb), (256 << 20) // (48 * nb))))
    kernel = _zonal_chunks_serial if n < _SERIAL_BELOW else _zonal_chunks
    acc = kernel(values, bins, int(nbins), nchunks, nodata is not None,
                          0.0 if nodata is None else float(nodata), threshold is not None,
                          0.0 if threshold is None else float(threshold))
    out = _combine(acc)
    return (out[:, _CNT].astype(np.int64), out[:, _SUM].copy(), out[:, _MIN].copy(), out[:, _MAX].copy(),
            out[:, _ABOVE].astype(np.int64), out[:, _CELLS].astype(np.int64))


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
