"""Exact Euclidean distance transform (Felzenszwalb–Huttenlocher), with nearest-source index.

Two separable passes, both parallel and cache-friendly on row-major arrays:

1. columns: for every cell the row of the nearest source in its own column, found with a
   forward and a backward sweep that walk the rows in order over blocks of columns;
2. rows: the lower envelope of parabolas ``(j - q)^2 + g(q)^2`` along each row (FH 2012).

Plain arrays in, plain arrays out (numpy + numba only), so a CUDA twin can share the signature.
"""

from __future__ import annotations

import numba
import numpy as np

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

_COL_BLOCK = 512  # columns per task in the column pass: a few KB per row stays in L1


@njit(parallel=True)
def _column_pass(mask, near_row):
    """near_row[i, j] = row of the source nearest to (i, j) within column j, or -1."""
    rows, cols = mask.shape
    nblocks = (cols + _COL_BLOCK - 1) // _COL_BLOCK
    for b in numba.prange(nblocks):
        j0 = b * _COL_BLOCK
        j1 = min(cols, j0 + _COL_BLOCK)
        # forward: last source at or above
        for j in range(j0, j1):
            near_row[0, j] = 0 if mask[0, j] else -1
        for i in range(1, rows):
            for j in range(j0, j1):
                near_row[i, j] = i if mask[i, j] else near_row[i - 1, j]
        # backward: replace by the next source below when it is strictly nearer
        for i in range(rows - 2, -1, -1):
            for j in range(j0, j1):
                below = near_row[i + 1, j]
                if below > i:  # a source at or below i + 1
                    cur = near_row[i, j]
                    if cur < 0 or (below - i) < (i - cur):
                        near_row[i, j] = below


@njit
def _row_envelope(i, near_row_i, v, z, d2_out, q_out):
    """FH lower envelope along one row; writes squared distance and source column."""
    cols = near_row_i.shape[0]
    k = -1
    for q in range(cols):
        r = near_row_i[q]
        if r < 0:
            continue
        fq = float((i - r) * (i - r)) + float(q) * float(q)
        while k >= 0:
            p = v[k]
            rp = near_row_i[p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            s = (fq - fp) / (2.0 * (q - p))
            if s <= z[k]:
                k -= 1
            else:
                break
        k += 1
        v[k] = q
        if k == 0:
            z[k] = -np.inf
        else:
            p = v[k - 1]
            rp = near_row_i[p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            z[k] = (fq - fp) / (2.0 * (q - p))
    z[k + 1] = np.inf
    m = 0
    for j in range(cols):
        while z[m + 1] < j:
            m += 1
        p = v[m]
        rp = near_row_i[p]
        dr = i - rp
        dc = j - p
        d2_out[j] = dr * dr + dc * dc
        q_out[j] = p


@njit(parallel=True)
def _edt_rows(near_row, res, max_d2, out, index, want_index):
    rows, cols = near_row.shape
    nchunks = min(rows, 256)
    for c in numba.prange(nchunks):
        i0 = c * rows // nchunks
        i1 = (c + 1) * rows // nchunks
        v = np.empty(cols, np.int64)
        z = np.empty(cols + 1, np.float64)
        d2 = np.empty(cols, np.int64)
        qs = np.empty(cols, np.int64)
        line = np.empty(cols, np.int64)
        for i in range(i0, i1):
            for j in range(cols):
                line[j] = near_row[i, j]
            _row_envelope(i, line, v, z, d2, qs)
            for j in range(cols):
                if d2[j] > max_d2:
                    out[i, j] = np.inf
                    if want_index:
                        index[i, j] = -1
                else:
                    out[i, j] = np.float32(np.sqrt(float(d2[j])) * res)
                    if want_index:
                        index[i, j] = line[qs[j]] * cols + qs[j]


@register("distance", "cpu")
def distance_cpu(mask: np.ndarray, res: float, max_distance: float, want_index: bool):
    """Distance (float32, units of ``res``) to the nearest True cell, and its flat index.

    ``mask`` is a C-contiguous 2-D bool array with at least one True cell. Cells farther
    than ``max_distance`` (same units; ``inf`` for none) get ``inf`` and index -1. Returns
    ``(distance, index)``; ``index`` is None unless ``want_index``.
    """
    rows, cols = mask.shape
    # The column pass result lives in the index output when one is wanted (int64, rewritten
    # in place row by row), else in a temporary int32 array: peak = output + 4 B/cell.
    if want_index:
        index = np.empty((rows, cols), np.int64)
        near_row = index
    else:
        index = np.empty((1, 1), np.int64)
        near_row = np.empty((rows, cols), np.int32)
    _column_pass(mask, near_row)
    out = np.empty((rows, cols), np.float32)
    if np.isinf(max_distance):
        max_d2 = np.iinfo(np.int64).max
    else:
        max_d2 = int(np.floor((max_distance / res) ** 2 * (1 + 1e-12)))
    _edt_rows(near_row, float(res), max_d2, out, index, want_index)
    return out, (index if want_index else None)
