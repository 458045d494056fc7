"""Exact Euclidean distance transform (Felzenszwalb–Huttenlocher), with nearest-source index.

Two separable passes, both parallel and cache-friendly on row-major arrays:

1. columns: for every cell the row offset to the nearest source in its own column, found
   with a forward and a backward sweep that walk the rows in order over blocks of columns;
2. rows: the lower envelope of parabolas ``(j - q)^2 + g(q)^2`` along each row (FH 2012).

Plain arrays in, plain arrays out (numpy + numba only), so a CUDA twin can share the signature.
"""

from __future__ import annotations

import numba
import numpy as np

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

_COL_BLOCK = 512  # columns per task in the column pass: a few KB per row stays in L1


_NONE = -(1 << 30)  # offset meaning "no source in this column"; stays far below any real offset


@njit(parallel=True)
def _column_pass(mask, off):
    """off[i, j] = (row of the nearest source in column j) - i, or about ``_NONE`` if none.

    A forward sweep keeps the nearest source at or above; a backward sweep replaces it by
    the one below when strictly nearer. Both are branch-free selects, so they vectorise.
    """
    rows, cols = mask.shape
    nblocks = (cols + _COL_BLOCK - 1) // _COL_BLOCK
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for b in numba.prange(nblocks):
        j0 = b * _COL_BLOCK
        j1 = min(cols, j0 + _COL_BLOCK)
        for j in range(j0, j1):
            off[0, j] = 0 if mask[0, j] else _NONE
        for i in range(1, rows):
            for j in range(j0, j1):
                off[i, j] = 0 if mask[i, j] else off[i - 1, j] - 1
        for i in range(rows - 2, -1, -1):
            for j in range(j0, j1):
                cur = off[i, j]
                cand = off[i + 1, j] + 1
                off[i, j] = cand if abs(cand) < abs(cur) else cur


@njit
def _row_envelope(i, near_row_i, sq, sf, v, z, d2_out, q_out):
    """FH lower envelope along one row; writes squared distance and source column.

    ``near_row_i`` holds column offsets to the nearest source in each column (see
    ``_column_pass``); site q carries ``f(q) = offset^2``, and parabola q is ``(j - q)^2 + f(q)``.
    """
    cols = near_row_i.shape[0]
    ns = 0
    for q in range(cols):
        d = near_row_i[q]
        if d > _NONE // 2:
            sq[ns] = q
            sf[ns] = float(d * d) + float(q) * float(q)  # f(q) + q^2
            ns += 1
    if ns == 0:  # no source anywhere in the grid
        for j in range(cols):
            d2_out[j] = 0
            q_out[j] = -1
        return
    k = 0
    v[0] = 0
    z[0] = -np.inf
    for t in range(1, ns):
        q = sq[t]
        hq = sf[t]
        while True:
            p = v[k]
            s = (hq - sf[p]) / (2.0 * (q - sq[p]))
            if s <= z[k] and k > 0:
                k -= 1
            else:
                break
        if s <= z[k]:  # k == 0 and the new parabola hides the first one everywhere
            v[0] = t
            continue
        k += 1
        v[k] = t
        z[k] = s
    z[k + 1] = np.inf
    m = 0
    for j in range(cols):
        while z[m + 1] < j:
            m += 1
        q = sq[v[m]]
        dc = j - q
        d2_out[j] = int(sf[v[m]] - float(q) * float(q)) + dc * dc
        q_out[j] = q


@njit(parallel=True)
def _edt_rows(near_row, res, max_d2, out, index, want_index):
    rows, cols = near_row.shape
    res32 = np.float32(res)
    nchunks = min(rows, 256)
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for c in numba.prange(nchunks):
        i0 = c * rows // nchunks
        i1 = (c + 1) * rows // nchunks
        v = np.empty(cols, np.int64)
        z = np.empty(cols + 1, np.float64)
        d2 = np.empty(cols, np.int64)
        qs = np.empty(cols, np.int64)
        sq = np.empty(cols, np.int64)
        sf = np.empty(cols, np.float64)
        line = np.empty(cols, np.int64)
        for i in range(i0, i1):
            for j in range(cols):
                line[j] = near_row[i, j]
            _row_envelope(i, line, sq, sf, v, z, d2, qs)
            if want_index:
                for j in range(cols):
                    q = qs[j]
                    index[i, j] = -1 if (d2[j] > max_d2 or q < 0) else (i + line[q]) * cols + q
            for j in range(cols):
                out[i, j] = np.float32(np.sqrt(float(d2[j]))) * res32
            for j in range(cols):
                if d2[j] > max_d2 or qs[j] < 0:
                    out[i, j] = np.inf


@register("distance", "cpu")
def distance_cpu(mask: np.ndarray, res: float, max_distance: float, want_index: bool):
    """Distance (float32, units of ``res``) to the nearest True cell, and its flat index.

    ``mask`` is a C-contiguous 2-D bool array with at least one True cell. Cells farther
    than ``max_distance`` (same units; ``inf`` for none) get ``inf`` and index -1. Returns
    ``(distance, index)``; ``index`` is None unless ``want_index``.
    """
    rows, cols = mask.shape
    # The column offsets live in the index output when one is wanted (int64, rewritten in
    # place row by row), else in a temporary int32 array: peak = output + 4 B/cell.
    if want_index:
        index = np.empty((rows, cols), np.int64)
        near_row = index
    else:
        index = np.empty((1, 1), np.int64)
        near_row = np.empty((rows, cols), np.int32)
    with numba.parallel_chunksize(1):
        _column_pass(mask, near_row)
    out = np.empty((rows, cols), np.float32)
    if np.isinf(max_distance):
        max_d2 = np.iinfo(np.int64).max
    else:
        max_d2 = int(np.floor((max_distance / res) ** 2 * (1 + 1e-12)))
    with numba.parallel_chunksize(1):
        _edt_rows(near_row, float(res), max_d2, out, index, want_index)
    return out, (index if want_index else None)
