"""CUDA twin of ``distance``: the CPU kernel's two separable passes, one thread per line.

1. columns: one thread per column sweeps down then up and records the row of the nearest
   source in that column (adjacent threads read adjacent cells, so loads coalesce);
2. rows: one thread per row builds the Felzenszwalb–Huttenlocher lower envelope with the
   same float64 arithmetic and tie-breaking as the CPU kernel, so distances and nearest-source
   indices are identical. The envelope scratch is stored column-major (``[k, row]``) so that
   the threads of a warp touch neighbouring words.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, to_device


@cuda.jit
def _column_kernel(mask, near):
    j = cuda.grid(1)
    rows = mask.shape[0]
    cols = mask.shape[1]
    if j >= cols:
        return
    near[0, j] = 0 if mask[0, j] else -1
    for i in range(1, rows):
        near[i, j] = i if mask[i, j] else near[i - 1, j]
    for i in range(rows - 2, -1, -1):
        below = near[i + 1, j]
        if below > i:
            cur = near[i, j]
            if cur < 0 or (below - i) < (i - cur):
                near[i, j] = below


@cuda.jit
def _row_kernel(near, res, max_d2, v, z, out, index, want_index):
    i = cuda.grid(1)
    rows = near.shape[0]
    cols = near.shape[1]
    if i >= rows:
        return
    k = -1
    for q in range(cols):
        r = near[i, q]
        if r < 0:
            continue
        fq = float((i - r) * (i - r)) + float(q) * float(q)
        while k >= 0:
            p = v[k, i]
            rp = near[i, p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            s = (fq - fp) / (2.0 * (q - p))
            if s <= z[k, i]:
                k -= 1
            else:
                break
        k += 1
        v[k, i] = q
        if k == 0:
            z[k, i] = -math.inf
        else:
            p = v[k - 1, i]
            rp = near[i, p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            z[k, i] = (fq - fp) / (2.0 * (q - p))
    if k < 0:  # no source anywhere: only reachable for an empty mask
        for j in range(cols):
            out[i, j] = math.inf
            if want_index:
                index[i, j] = -1
        return
    z[k + 1, i] = math.inf
    m = 0
    for j in range(cols):
        while z[m + 1, i] < j:
            m += 1
        p = v[m, i]
        dr = i - near[i, p]
        dc = j - p
        d2 = dr * dr + dc * dc
        if d2 > max_d2:
            out[i, j] = math.inf
            if want_index:
                index[i, j] = -1
        else:
            out[i, j] = np.float32(math.sqrt(float(d2)) * res)
            if want_index:
                index[i, j] = np.int64(near[i, p]) * cols + p


def _max_d2(res: float, max_distance: float) -> int:
    if np.isinf(max_distance):
        return int(np.iinfo(np.int64).max)
    return int(np.floor((max_distance / res) ** 2 * (1 + 1e-12)))


def distance_device(mask, res: float, max_distance: float, want_index: bool):
    """``(distance, index)`` as device arrays; ``mask`` is a host or device 2-D bool/uint8 array."""
    if not hasattr(mask, "copy_to_host") and mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    d_mask = to_device(mask)
    rows, cols = d_mask.shape
    near = cuda.device_array((rows, cols), np.int32)
    _column_kernel[blocks_for(cols), THREADS](d_mask, near)
    v = cuda.device_array((cols, rows), np.int32)
    z = cuda.device_array((cols + 1, rows), np.float64)
    out = cuda.device_array((rows, cols), np.float32)
    index = cuda.device_array((rows, cols) if want_index else (1, 1), np.int64)
    _row_kernel[blocks_for(rows), THREADS](near, float(res), _max_d2(res, max_distance), v, z, out,
                                           index, bool(want_index))
    return out, (index if want_index else None)


@register("distance", "cuda")
def distance_cuda(mask: np.ndarray, res: float, max_distance: float, want_index: bool):
    """Same contract and results as the CPU ``distance`` kernel."""
    out, index = distance_device(mask, res, max_distance, want_index)
    return out.copy_to_host(), (index.copy_to_host() if want_index else None)
