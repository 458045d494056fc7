"""CUDA twin of ``idw``: one thread per cell.

All gauges (optionally within a radius): float32 sums with the CPU kernel's float32 distance
and radius tests, so the same gauges count for every cell and values agree to float32
rounding. k nearest: per-thread sorted list of the best ``k`` (``k <= KMAX``) with the CPU
kernel's insertion order (ties keep gauge order), float64 weights. Exact hits (a cell centre
on a gauge) are applied on the host by the CPU kernel's ``_apply_hits``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.errors import ValidationError
from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, to_device

KMAX = 64  # per-thread list length for k-nearest IDW


@cuda.jit
def _idw_all_kernel(out, gr, gc, gv, power, limited, radius, nodata):
    rows = out.shape[0]
    cols = out.shape[1]
    n = gr.shape[0]
    r2max = radius * radius
    half_power = 0.5 * power
    tiny = np.float32(1e-12)
    start = cuda.grid(1)
    for cell in range(start, rows * cols, cuda.gridsize(1)):
        i = cell // cols
        j = cell % cols
        xj = np.float32(j)
        num = np.float32(0.0)
        den = np.float32(0.0)
        for g in range(n):
            dy = np.float32(i - gr[g])
            dy2 = dy * dy
            if limited:
                if dy2 > r2max:
                    continue
                h = math.sqrt(r2max - dy2)
                if j < math.ceil(gc[g] - h) or j > math.floor(gc[g] + h):
                    continue
            dx = xj - np.float32(gc[g])
            d2 = max(dx * dx + dy2, tiny)
            if limited and d2 > r2max:
                continue
            if power == 2.0:
                w = np.float32(1.0) / d2
            else:
                w = np.float32(math.exp(-half_power * math.log(d2)))
            num += w * np.float32(gv[g])
            den += w
        if den > 0:
            out[i, j] = num / den
        elif limited:
            out[i, j] = nodata
        else:
            out[i, j] = np.float32(0.0)


@cuda.jit(device=True)
def _weight(d2, power, half_power):
    if power == 2.0:
        return 1.0 / d2
    if power == 1.0:
        return 1.0 / math.sqrt(d2)
    if power == 3.0:
        return 1.0 / (d2 * math.sqrt(d2))
    if power == 4.0:
        return 1.0 / (d2 * d2)
    return math.exp(-half_power * math.log(d2))


@cuda.jit
def _idw_knn_kernel(out, gr, gc, gv, power, radius, k, nodata):
    rows = out.shape[0]
    cols = out.shape[1]
    n = gr.shape[0]
    r2max = radius * radius
    half_power = 0.5 * power
    bd = cuda.local.array(KMAX, np.float64)
    bg = cuda.local.array(KMAX, np.int64)
    start = cuda.grid(1)
    for cell in range(start, rows * cols, cuda.gridsize(1)):
        i = cell // cols
        j = cell % cols
        nb = 0
        for g in range(n):
            d2 = (i - gr[g]) ** 2 + (j - gc[g]) ** 2
            if d2 > r2max:
                continue
            if nb == k and d2 >= bd[k - 1]:
                continue
            p = nb if nb < k else k - 1
            while p > 0 and bd[p - 1] > d2:
                if p < k:
                    bd[p] = bd[p - 1]
                    bg[p] = bg[p - 1]
                p -= 1
            bd[p] = d2
            bg[p] = g
            if nb < k:
                nb += 1
        if nb == 0:
            out[i, j] = nodata
            continue
        num = 0.0
        den = 0.0
        for q in range(nb):
            w = _weight(max(bd[q], 1e-30), power, half_power)
            num += w * gv[bg[q]]
            den += w
        out[i, j] = num / den


def idw_device(shape, rows, cols, values, power, radius, k, nodata):
    """float32 IDW grid on the device, without the exact-hit fix (see :func:`idw_cuda`)."""
    nrows, ncols = int(shape[0]), int(shape[1])
    out = cuda.device_array((nrows, ncols), np.float32)
    d_r, d_c, d_v = (to_device(a, np.float64) for a in (rows, cols, values))
    launch = (blocks_for(nrows * ncols), THREADS)
    if k and k > 0:
        if k > KMAX:
            raise ValidationError(f"The CUDA IDW keeps at most k={KMAX} nearest gauges; got k={k}. "
                                  "Use a smaller k or backend='cpu'.")
        _idw_knn_kernel[launch](out, d_r, d_c, d_v, float(power), float(radius), int(k), float(nodata))
    else:
        limited = bool(np.isfinite(radius))
        _idw_all_kernel[launch](out, d_r, d_c, d_v, float(power), limited,
                                float(radius) if limited else 0.0, np.float32(nodata))
    return out


@register("idw", "cuda")
def idw_cuda(shape, rows, cols, values, power, radius, k, nodata):
    """Same contract as the CPU ``idw`` kernel."""
    from cimtwin.kernels.interp import _apply_hits

    out = idw_device(shape, rows, cols, values, power, radius, k, nodata).copy_to_host()
    _apply_hits(out, np.ascontiguousarray(rows, np.float64), np.ascontiguousarray(cols, np.float64),
                np.ascontiguousarray(values, np.float64))
    return out
