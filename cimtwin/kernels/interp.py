"""Inverse-distance weighting of scattered point values onto cell centres.

Positions are in cell units (cell centres at integer row/col); IDW weights ``d^-p`` are
scale-free, so metres never enter the kernel. Two kernels:

- ``_idw_rows``: every gauge (optionally within a radius) contributes; parallel over rows,
  with the inner loop running along a row so it vectorises;
- ``_idw_knn``: the k nearest gauges (optionally within a radius); parallel over square
  tiles, each with a candidate list pruned by distance bounds, so a cell looks at few gauges.

Cells with no gauge in range get ``nodata``. A cell centre that coincides with a gauge
(closer than ``_HIT`` cells) takes that gauge's value (the mean when several coincide).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

_HIT = 1e-6  # cells: closer than this counts as an exact hit
_TILE = 32


@njit
def _weight(d2, power, half_power):
    # d2 > 0 here; the common powers avoid pow()
    if power == 2.0:
        return 1.0 / d2
    if power == 1.0:
        return 1.0 / math.sqrt(d2)
    if power == 3.0:
        return 1.0 / (d2 * math.sqrt(d2))
    if power == 4.0:
        return 1.0 / (d2 * d2)
    return math.exp(-half_power * math.log(d2))


@njit(parallel=True, fastmath=True)
def _idw_rows(out, gr, gc, gv, power, limited, radius, nodata):
    # fastmath assumes no inf/NaN inside: ``limited`` and ``nodata`` are decided by the caller.
    # Reciprocals are written as ``x ** -1`` so numba emits a plain (vectorisable) division
    # without its divide-by-zero check; d^2 is floored at ``tiny`` (exact hits are fixed later).
    rows, cols = out.shape
    n = gr.shape[0]
    r2max = radius * radius
    half_power = 0.5 * power
    tiny = np.float32(1e-12)
    xs = np.arange(cols).astype(np.float32)
    paired = power == 2.0 and not limited
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for i in numba.prange(rows):
        num = np.zeros(cols, np.float32)
        den = np.zeros(cols, np.float32)
        npairs = n // 2 if paired else 0
        # two gauges per division: w_a = d_b / (d_a d_b), w_b = d_a / (d_a d_b)
        for gp in range(npairs):
                g = 2 * gp
                dya = np.float32(i - gr[g])
                dya2 = dya * dya
                ca = np.float32(gc[g])
                va = np.float32(gv[g])
                dyb = np.float32(i - gr[g + 1])
                dyb2 = dyb * dyb
                cb = np.float32(gc[g + 1])
                vb = np.float32(gv[g + 1])
                for j in range(cols):
                    dxa = xs[j] - ca
                    da = max(dxa * dxa + dya2, tiny)
                    dxb = xs[j] - cb
                    db = max(dxb * dxb + dyb2, tiny)
                    inv = (da * db) ** np.float32(-1.0)
                    num[j] += (va * db + vb * da) * inv
                    den[j] += (da + db) * inv
        for g in range(2 * npairs, n):
            dy = np.float32(i - gr[g])
            dy2 = dy * dy
            c0 = 0
            c1 = cols - 1
            if limited:
                if dy2 > r2max:
                    continue
                h = math.sqrt(r2max - dy2)
                c0 = max(0, math.ceil(gc[g] - h))
                c1 = min(cols - 1, math.floor(gc[g] + h))
            gcf = np.float32(gc[g])
            v = np.float32(gv[g])
            for j in range(c0, c1 + 1):
                dx = xs[j] - gcf
                d2 = max(dx * dx + dy2, tiny)
                if limited and d2 > r2max:
                    continue
                if power == 2.0:
                    w = d2 ** np.float32(-1.0)
                else:
                    w = np.float32(math.exp(-half_power * math.log(d2)))
                num[j] += w * v
                den[j] += w
        for j in range(cols):
            out[i, j] = num[j] / den[j] if den[j] > 0 else np.float32(0)
        if limited:
            for j in range(cols):
                if not den[j] > 0:
                    out[i, j] = nodata


@njit(parallel=True)
def _idw_knn(out, gr, gc, gv, power, radius, k, nodata):
    rows, cols = out.shape
    n = gr.shape[0]
    r2max = radius * radius
    half_power = 0.5 * power
    tr = (rows + _TILE - 1) // _TILE
    tc = (cols + _TILE - 1) // _TILE
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for t in numba.prange(tr * tc):
        i0 = (t // tc) * _TILE
        j0 = (t % tc) * _TILE
        i1 = min(rows, i0 + _TILE) - 1
        j1 = min(cols, j0 + _TILE) - 1
        # distance bounds from the tile's box to each gauge
        lo = np.empty(n)
        hi = np.empty(n)
        for g in range(n):
            dy = max(i0 - gr[g], 0.0, gr[g] - i1)
            dx = max(j0 - gc[g], 0.0, gc[g] - j1)
            lo[g] = dx * dx + dy * dy
            fy = max(abs(gr[g] - i0), abs(gr[g] - i1))
            fx = max(abs(gc[g] - j0), abs(gc[g] - j1))
            hi[g] = fx * fx + fy * fy
        # every cell's k-th nearest is no farther than the k-th smallest upper bound
        kth = np.sort(hi)[min(k, n) - 1]
        cut = min(kth, r2max)
        cand = np.empty(n, np.int64)
        m = 0
        for g in range(n):
            if lo[g] <= cut:
                cand[m] = g
                m += 1
        bd = np.empty(k)
        bg = np.empty(k, np.int64)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                nb = 0
                for q in range(m):
                    g = cand[q]
                    d2 = (i - gr[g]) ** 2 + (j - gc[g]) ** 2
                    if d2 > r2max:
                        continue
                    if nb == k and d2 >= bd[k - 1]:
                        continue
                    # insertion into the sorted best-k list (ties keep input order)
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


@njit
def hit_cells(rows, cols, gr, gc, gv):
    """Cells with a gauge on their centre: (flat index, mean value of the gauges there)."""
    n = gr.shape[0]
    key = np.full(n, -1, np.int64)
    for g in range(n):
        i = round(gr[g])
        j = round(gc[g])
        if 0 <= i < rows and 0 <= j < cols and (gr[g] - i) ** 2 + (gc[g] - j) ** 2 < _HIT * _HIT:
            key[g] = i * cols + j
    vals = np.zeros(n)
    for g in range(n):
        if key[g] < 0:
            continue
        s = 0.0
        c = 0
        for h in range(n):
            if key[h] == key[g]:
                s += gv[h]
                c += 1
        vals[g] = s / c
    keep = key >= 0
    return key[keep], vals[keep]


@njit
def _apply_hits(out, gr, gc, gv):
    rows, cols = out.shape
    keys, vals = hit_cells(rows, cols, gr, gc, gv)
    for t in range(keys.shape[0]):
        out[keys[t] // cols, keys[t] % cols] = vals[t]


@register("idw", "cpu")
def idw_cpu(shape, rows, cols, values, power, radius, k, nodata):
    """float32 IDW grid of ``shape``.

    ``rows``/``cols``: float64 gauge positions in cell units; ``values`` float64 (finite);
    ``radius`` in cells (``inf`` for none); ``k`` nearest (0 for all); ``nodata`` float.
    """
    out = np.empty((int(shape[0]), int(shape[1])), np.float32)
    with numba.parallel_chunksize(1):  # rows handed out one at a time
        if k and k > 0:
            _idw_knn(out, rows, cols, values, float(power), float(radius), int(k), float(nodata))
        else:
            limited = bool(np.isfinite(radius))
            _idw_rows(out, rows, cols, values, float(power), limited, float(radius) if limited else 0.0,
                      np.float32(nodata))
    _apply_hits(out, rows, cols, values)
    return out
