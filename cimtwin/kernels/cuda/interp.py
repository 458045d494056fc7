"""CUDA twin of ``idw``.

All gauges, power 2, no radius (the common case): each thread computes ``_CPT`` cells of one
row, 32 columns apart so that a warp's stores coalesce, and shares each gauge's row term
between them. Like the CPU kernel it takes gauges two at a time with one division,
``w_a = d_b / (d_a d_b)``, compiled with fast math (approximate reciprocal, fused
multiply-adds): about six FP32 instructions and half a reciprocal per gauge and cell, which
is what the arithmetic floor of the card allows. Values agree with the CPU to float32
rounding (well within 1e-5 relative).

Other cases, one thread per cell. All gauges (optionally within a radius): float32 sums with the CPU kernel's float32 distance
and radius tests, so the same gauges count for every cell and values agree to float32
rounding. k nearest: per-thread sorted list of the best ``k`` (``k <= KMAX``) with the CPU
kernel's insertion order (ties keep gauge order), float64 weights. Exact hits (a cell centre
on a gauge) are applied on the host by the CPU kernel's ``_apply_hits``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, cuda

from cimtwin.errors import ValidationError
from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, to_device

KMAX = 64  # per-thread list length for k-nearest IDW
_CPT = 4  # cells per thread in the power-2 kernel
_BX, _BY = 32, 8  # its block


@cuda.jit(device=True, fastmath=True)
def _at_least(x, floor):
    return x if x > floor else floor


if config.ENABLE_CUDASIM:  # the simulator's libdevice functions are stubs
    @cuda.jit(device=True)
    def _rcp(x):
        return np.float32(1.0) / x
else:
    from numba.cuda import libdevice

    @cuda.jit(device=True)
    def _rcp(x):
        return libdevice.fast_fdividef(np.float32(1.0), x)  # approximate reciprocal, ~2 ulp


@cuda.jit(device=True)
def _rcp_at_least(x, floor):
    return _rcp(x if x > floor else floor)


@cuda.jit(fastmath=True)
def _idw_p2_kernel(out, gr, gc32, gv32):
    rows = out.shape[0]
    cols = out.shape[1]
    n = gr.shape[0]
    i = cuda.blockIdx.y * _BY + cuda.threadIdx.y
    if i >= rows:
        return
    j0 = cuda.blockIdx.x * (_BX * _CPT) + cuda.threadIdx.x
    tiny = np.float32(1e-12)
    x0 = np.float32(j0)
    x1 = np.float32(j0 + _BX)
    x2 = np.float32(j0 + 2 * _BX)
    x3 = np.float32(j0 + 3 * _BX)
    n0 = np.float32(0.0)
    n1 = np.float32(0.0)
    n2 = np.float32(0.0)
    n3 = np.float32(0.0)
    e0 = np.float32(0.0)
    e1 = np.float32(0.0)
    e2 = np.float32(0.0)
    e3 = np.float32(0.0)
    for gp in range(n // 2):
        g = 2 * gp
        dya = np.float32(i - gr[g])
        ya = dya * dya
        ca = gc32[g]
        va = gv32[g]
        dyb = np.float32(i - gr[g + 1])
        yb = dyb * dyb
        cb = gc32[g + 1]
        vb = gv32[g + 1]
        # four cells: w_a = d_b / (d_a d_b), w_b = d_a / (d_a d_b)
        t = x0 - ca
        da = _at_least(t * t + ya, tiny)
        t = x0 - cb
        db = _at_least(t * t + yb, tiny)
        inv = _rcp(da * db)
        n0 += (va * db + vb * da) * inv
        e0 += (da + db) * inv
        t = x1 - ca
        da = _at_least(t * t + ya, tiny)
        t = x1 - cb
        db = _at_least(t * t + yb, tiny)
        inv = _rcp(da * db)
        n1 += (va * db + vb * da) * inv
        e1 += (da + db) * inv
        t = x2 - ca
        da = _at_least(t * t + ya, tiny)
        t = x2 - cb
        db = _at_least(t * t + yb, tiny)
        inv = _rcp(da * db)
        n2 += (va * db + vb * da) * inv
        e2 += (da + db) * inv
        t = x3 - ca
        da = _at_least(t * t + ya, tiny)
        t = x3 - cb
        db = _at_least(t * t + yb, tiny)
        inv = _rcp(da * db)
        n3 += (va * db + vb * da) * inv
        e3 += (da + db) * inv
    if n % 2 == 1:
        g = n - 1
        dy = np.float32(i - gr[g])
        y = dy * dy
        c = gc32[g]
        v = gv32[g]
        t = x0 - c
        w = _rcp_at_least(t * t + y, tiny)
        n0 += w * v
        e0 += w
        t = x1 - c
        w = _rcp_at_least(t * t + y, tiny)
        n1 += w * v
        e1 += w
        t = x2 - c
        w = _rcp_at_least(t * t + y, tiny)
        n2 += w * v
        e2 += w
        t = x3 - c
        w = _rcp_at_least(t * t + y, tiny)
        n3 += w * v
        e3 += w
    if j0 < cols:
        out[i, j0] = n0 / e0 if e0 > 0 else np.float32(0.0)
    if j0 + _BX < cols:
        out[i, j0 + _BX] = n1 / e1 if e1 > 0 else np.float32(0.0)
    if j0 + 2 * _BX < cols:
        out[i, j0 + 2 * _BX] = n2 / e2 if e2 > 0 else np.float32(0.0)
    if j0 + 3 * _BX < cols:
        out[i, j0 + 3 * _BX] = n3 / e3 if e3 > 0 else np.float32(0.0)


@cuda.jit
def _set_cells(flat, keys, vals):
    t = cuda.grid(1)
    if t < keys.shape[0]:
        flat[keys[t]] = vals[t]


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


def idw_device(shape, rows, cols, values, power, radius, k, nodata, out=None, hits=True):
    """float32 IDW grid on the device (``out`` when given).

    ``rows``/``cols``/``values`` are host arrays (a few gauges). With ``hits`` cells with a
    gauge on their centre get that gauge's value, as on the CPU.
    """
    nrows, ncols = int(shape[0]), int(shape[1])
    if out is None:
        out = cuda.device_array((nrows, ncols), np.float32)
    if nrows * ncols == 0:
        return out
    rows, cols, values = (np.ascontiguousarray(a, np.float64) for a in (rows, cols, values))
    if float(power) == 2.0 and not (k and k > 0) and not np.isfinite(radius):
        grid = ((ncols + _BX * _CPT - 1) // (_BX * _CPT), (nrows + _BY - 1) // _BY)
        _idw_p2_kernel[grid, (_BX, _BY)](out, to_device(rows), to_device(cols.astype(np.float32)),
                                          to_device(values.astype(np.float32)))
    else:
        _idw_general(out, rows, cols, values, power, radius, k, nodata)
    if hits:
        from cimtwin.kernels.interp import hit_cells

        keys, vals = hit_cells(nrows, ncols, rows, cols, values)
        if keys.size:
            _set_cells[blocks_for(keys.size), THREADS](out.reshape(nrows * ncols), to_device(keys),
                                                       to_device(vals.astype(np.float32)))
    return out


def _idw_general(out, rows, cols, values, power, radius, k, nodata):
    nrows, ncols = out.shape
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


@register("idw", "cuda")
def idw_cuda(shape, rows, cols, values, power, radius, k, nodata):
    """Same contract as the CPU ``idw`` kernel."""
    from cimtwin.kernels.cuda.transfer import download

    return download(idw_device(shape, rows, cols, values, power, radius, k, nodata))
