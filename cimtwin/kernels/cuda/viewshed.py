"""CUDA twins of the viewshed kernels: exact (R3) and R2, one observer and cumulative counts.

Same model and arithmetic as :mod:`cimtwin.kernels.viewshed` (sight lines sampled where they
cross row/column lines through cell centres, linear interpolation, NaN never blocks).

- ``viewshed_exact``: one thread per target cell runs the line-of-sight test.
- ``viewshed_r2``: one thread per ray to a border cell of the window; rays only write True,
  so races are benign and the result is that of the CPU kernel.
- ``cumulative_viewshed``: exact — a block per observer, its threads over the cells of the
  observer's window, each visible cell counted with an integer atomic (once per observer by
  construction); R2 — observers in batches, each with a scratch window that its rays mark and a
  second kernel turns into +1 per marked cell, so each observer counts a cell once.

Boolean and integer outputs match the CPU kernels; on real hardware a cell whose test is a
tie to the last bit (cells on a sector edge, sight lines grazing a sample) may
round the other way, since the GPU may fuse multiply-adds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, full, to_device


@cuda.jit(device=True)
def _sample(z, a, b0, frac, along_cols):
    if along_cols:
        z0 = z[a, b0]
        z1 = z[a, b0 + 1] if frac > 0.0 else z0
    else:
        z0 = z[b0, a]
        z1 = z[b0 + 1, a] if frac > 0.0 else z0
    if math.isnan(z0):
        return z1
    if math.isnan(z1):
        return z0
    return z0 + (z1 - z0) * frac


@cuda.jit(device=True)
def _los_visible(z, r0, c0, oz, r, c, tz, curv):
    dr = r - r0
    dc = c - c0
    rise = tz - oz
    d2 = float(dr * dr + dc * dc)
    adc = abs(dc)
    if adc > 1:
        s = 1 if dc > 0 else -1
        inv = 1.0 / adc
        for k in range(adc - 1, 0, -1):
            t = k * inv
            y = r0 + dr * t
            b0 = int(math.floor(y))
            frac = y - b0
            zs = _sample(z, c0 + k * s, b0, frac, False)
            if curv != 0.0:
                zs -= curv * t * t * d2
            if zs - oz > t * rise:
                return False
    adr = abs(dr)
    if adr > 1:
        s = 1 if dr > 0 else -1
        inv = 1.0 / adr
        for k in range(adr - 1, 0, -1):
            t = k * inv
            x = c0 + dc * t
            b0 = int(math.floor(x))
            frac = x - b0
            zs = _sample(z, r0 + k * s, b0, frac, True)
            if curv != 0.0:
                zs -= curv * t * t * d2
            if zs - oz > t * rise:
                return False
    return True


@cuda.jit(device=True)
def _in_sector(ddr, ddc, e1e, e1n, e2e, e2n, wide):
    """The CPU kernel's sector test: cross products with the two edge unit vectors."""
    ve = float(ddc)
    vn = float(-ddr)
    a = e1n * ve - e1e * vn
    b = vn * e2e - ve * e2n
    if wide:
        return not (a < 0.0 and b < 0.0)
    return a >= 0.0 and b >= 0.0


def _edges(az, half):
    a1 = az - half
    a2 = az + half
    return math.sin(a1), math.cos(a1), math.sin(a2), math.cos(a2), float(half > 0.5 * math.pi)


def _sector_edges(az0, half_fov, rad=None):
    """Per-observer edge vectors, with ``math`` (libm) like the CPU kernel, not numpy.

    Rows 0-4: the sector; rows 5-9 (with ``rad``): the sector widened by the CPU kernel's
    margin, which picks the border cells that R2 rays go to; row 10: 1 where that widened
    sector is narrower than the full circle.
    """
    m = len(az0)
    edges = np.zeros((11, m))
    for o in range(m):
        az, half = float(az0[o]), float(half_fov[o])
        edges[:5, o] = _edges(az, half)
        if rad is not None:
            ray_half = half + 1.0 / max(1.0, float(rad[o])) + 0.01
            edges[5:10, o] = _edges(az, ray_half)
            edges[10, o] = float(half < math.pi and ray_half < math.pi)
    return edges


@cuda.jit
def _exact_kernel(z, r0, c0, oz, h_tgt, lim2, curv, rmin, rmax, vis):
    cols = z.shape[1]
    start = cuda.grid(1)
    for cell in range(start, (rmax - rmin + 1) * cols, cuda.gridsize(1)):
        r = rmin + cell // cols
        c = cell % cols
        zc = z[r, c]
        if math.isnan(zc):
            continue
        dr = r - r0
        dc = c - c0
        d2 = float(dr * dr + dc * dc)
        if d2 > lim2:
            continue
        if d2 == 0.0 or _los_visible(z, r0, c0, oz, r, c, zc + h_tgt - curv * d2, curv):
            vis[r, c] = 1


@cuda.jit(device=True)
def _cast_ray(z, r0, c0, oz, tr, tc, h_tgt, lim2, curv, out, orow, ocol, ob, sector, edges, o):
    """One R2 ray (the CPU kernel's ``_r2_ray``, same integer stepping and arithmetic);
    marks ``out[ob, r - orow, c - ocol] = 1``. The CPU kernel skips the sector test where it
    cannot fail; here every cell is tested, with the same outcome."""
    dr = tr - r0
    dc = tc - c0
    adr = abs(dr)
    adc = abs(dc)
    steps = max(adr, adc)
    if steps == 0:
        return
    major_cols = adc >= adr
    if major_cols:
        dmin = dr
        smaj = 1 if dc > 0 else -1
    else:
        dmin = dc
        smaj = 1 if dr > 0 else -1
    inv = 1.0 / steps
    step_len = math.sqrt(float(dr * dr + dc * dc)) * inv
    inv_len = 1.0 / step_len
    bent = curv != 0.0
    max_slope = -math.inf
    max_sq = -math.inf
    mb = 0
    fnum = 0
    for k in range(1, steps + 1):
        fnum += dmin
        carry = 0
        if fnum >= steps:
            carry = 1
        elif fnum < 0:
            carry = -1
        fnum -= carry * steps
        mb += carry
        b1 = mb + 1 if fnum > 0 else mb
        up = 2 * fnum >= steps
        mo = b1 if up else mb
        if major_cols:
            z0 = z[r0 + mb, c0 + smaj * k]
            z1 = z[r0 + b1, c0 + smaj * k]
            rr = r0 + mo
            cc = c0 + smaj * k
        else:
            z0 = z[r0 + smaj * k, c0 + mb]
            z1 = z[r0 + smaj * k, c0 + b1]
            rr = r0 + smaj * k
            cc = c0 + mo
        zc = z1 if up else z0
        d2 = float(k * k + mo * mo)
        if d2 > lim2:
            break
        # float(): widen float32 exactly, as the CPU kernel does (the simulator would keep
        # float32 for an array element plus a Python float)
        a = float(zc) + h_tgt
        if bent:
            a -= curv * d2
        a -= oz
        if a * abs(a) >= max_sq * d2:
            if not sector or _in_sector(rr - r0, cc - c0, edges[0, o], edges[1, o], edges[2, o], edges[3, o],
                                        edges[4, o] != 0.0):
                out[ob, rr - orow, cc - ocol] = 1
        zs = float(z0) + float(z1 - z0) * (fnum * inv)
        if math.isnan(zs):
            zs = float(z1) if math.isnan(z0) else float(z0)
        if bent:
            dist = k * step_len
            zs -= curv * dist * dist
        s = (zs - oz) * ((1.0 / k) * inv_len)
        if s > max_slope:
            max_slope = s
            max_sq = s * abs(s)


@cuda.jit(device=True)
def _perimeter_cell(t, rmin, rmax, cmin, cmax):
    """The ``t``-th border cell of a box, in the CPU kernel's clockwise order."""
    h = rmax - rmin + 1
    w = cmax - cmin + 1
    if h == 1 or w == 1:
        return rmin + t // w, cmin + t % w
    if t < w:
        return rmin, cmin + t
    t -= w
    if t < h - 1:
        return rmin + 1 + t, cmax
    t -= h - 1
    if t < w - 1:
        return rmax, cmax - 1 - t
    t -= w - 1
    return rmax - 1 - t, cmin


@cuda.jit(device=True)
def _n_perimeter(rmin, rmax, cmin, cmax):
    h = rmax - rmin + 1
    w = cmax - cmin + 1
    if h == 1 or w == 1:
        return h * w
    return 2 * (h + w) - 4


@cuda.jit
def _r2_kernel(z, r0, c0, oz, h_tgt, lim2, curv, rmin, rmax, cmin, cmax, vis3, edges):
    n = _n_perimeter(rmin, rmax, cmin, cmax)
    start = cuda.grid(1)
    for t in range(start, n, cuda.gridsize(1)):
        tr, tc = _perimeter_cell(t, rmin, rmax, cmin, cmax)
        _cast_ray(z, r0, c0, oz, tr, tc, h_tgt, lim2, curv, vis3, 0, 0, 0, False, edges, 0)


def _window(rows, cols, r0, c0, max_dist_cells):
    if np.isfinite(max_dist_cells):
        rad = int(math.floor(max_dist_cells))
        return max(0, r0 - rad), min(rows - 1, r0 + rad), max(0, c0 - rad), min(cols - 1, c0 + rad)
    return 0, rows - 1, 0, cols - 1


def viewshed_device(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv, method_exact=True):
    """uint8 visibility grid on the device (1 = visible); ``z`` host or device float array."""
    d_z = to_device(z)
    rows, cols = d_z.shape
    r0, c0 = int(r0), int(c0)
    oz = float(z[r0, c0] if not hasattr(z, "copy_to_host") else d_z[r0:r0 + 1, c0:c0 + 1].copy_to_host()[0, 0])
    oz += float(h_obs)
    lim2 = float(max_dist_cells) * float(max_dist_cells)
    vis = full((rows, cols), 0, np.uint8)
    if method_exact:
        if np.isfinite(max_dist_cells):
            rmin = max(0, r0 - int(math.ceil(max_dist_cells)))
            rmax = min(rows - 1, r0 + int(math.ceil(max_dist_cells)))
        else:
            rmin, rmax = 0, rows - 1
        n = (rmax - rmin + 1) * cols
        _exact_kernel[blocks_for(n), THREADS](d_z, r0, c0, oz, float(h_tgt), lim2, float(curv), rmin, rmax, vis)
    else:
        rmin, rmax, cmin, cmax = _window(rows, cols, r0, c0, max_dist_cells)
        n = 2 * (rmax - rmin + cmax - cmin + 2)
        vis3 = vis.reshape((1, rows, cols))
        _r2_kernel[blocks_for(n), THREADS](d_z, r0, c0, oz, float(h_tgt), lim2, float(curv),
                                           rmin, rmax, cmin, cmax, vis3, to_device(np.zeros((11, 1))))
    vis[r0:r0 + 1, c0:c0 + 1] = np.ones((1, 1), np.uint8)
    return vis


@register("viewshed_exact", "cuda")
def viewshed_exact_cuda(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv):
    """Same contract and result as the CPU exact (R3) viewshed."""
    return viewshed_device(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv, True).copy_to_host().view(np.bool_)


@register("viewshed_r2", "cuda")
def viewshed_r2_cuda(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv):
    """Same contract and result as the CPU R2 viewshed."""
    return viewshed_device(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv, False).copy_to_host().view(np.bool_)


# -- cumulative -----------------------------------------------------------------------------

@cuda.jit(device=True)
def _obs_window(rows, cols, r0, c0, rr):
    rad = int(math.floor(rr))
    return max(0, r0 - rad), min(rows - 1, r0 + rad), max(0, c0 - rad), min(cols - 1, c0 + rad)


@cuda.jit
def _cum_exact_kernel(z, ro, co, h_obs, h_tgt, rad, edges, half_fov, curv, count):
    rows = z.shape[0]
    cols = z.shape[1]
    for o in range(cuda.blockIdx.x, ro.shape[0], cuda.gridDim.x):
        r0 = ro[o]
        c0 = co[o]
        rr = rad[o]
        oz = z[r0, c0] + h_obs[o]
        lim2 = rr * rr
        rmin, rmax, cmin, cmax = _obs_window(rows, cols, r0, c0, rr)
        w = cmax - cmin + 1
        sector = half_fov[o] < math.pi
        for t in range(cuda.threadIdx.x, (rmax - rmin + 1) * w, cuda.blockDim.x):
            r = rmin + t // w
            c = cmin + t % w
            dr = r - r0
            dc = c - c0
            if dr == 0 and dc == 0:
                cuda.atomic.add(count, (r, c), 1)
                continue
            zc = z[r, c]
            if math.isnan(zc):
                continue
            d2 = float(dr * dr + dc * dc)
            if d2 > lim2:
                continue
            if sector and not _in_sector(dr, dc, edges[0, o], edges[1, o], edges[2, o], edges[3, o],
                                         edges[4, o] != 0.0):
                continue
            if _los_visible(z, r0, c0, oz, r, c, zc + h_tgt - curv * d2, curv):
                cuda.atomic.add(count, (r, c), 1)


@cuda.jit
def _cum_r2_rays(z, ro, co, h_obs, h_tgt, rad, az0, half_fov, edges, curv, o0, buf):
    """Rays of observers ``o0 .. o0 + nbatch - 1``, one block per observer, into ``buf[b]``."""
    rows = z.shape[0]
    cols = z.shape[1]
    nbatch = buf.shape[0]
    for b in range(cuda.blockIdx.x, nbatch, cuda.gridDim.x):
        o = o0 + b
        if o >= ro.shape[0]:
            continue
        r0 = ro[o]
        c0 = co[o]
        rr = rad[o]
        oz = z[r0, c0] + h_obs[o]
        rmin, rmax, cmin, cmax = _obs_window(rows, cols, r0, c0, rr)
        sector = half_fov[o] < math.pi
        ray_sector = edges[10, o] != 0.0
        n = _n_perimeter(rmin, rmax, cmin, cmax)
        for t in range(cuda.threadIdx.x, n, cuda.blockDim.x):
            tr, tc = _perimeter_cell(t, rmin, rmax, cmin, cmax)
            if ray_sector and not _in_sector(tr - r0, tc - c0, edges[5, o], edges[6, o], edges[7, o], edges[8, o],
                                             edges[9, o] != 0.0):
                continue
            _cast_ray(z, r0, c0, oz, tr, tc, h_tgt, rr * rr, curv, buf, rmin, cmin, b,
                      sector, edges, o)
        if cuda.threadIdx.x == 0:
            buf[b, r0 - rmin, c0 - cmin] = 1


@cuda.jit
def _cum_r2_count(ro, co, rad, o0, buf, count):
    """Add each marked window cell of the batch to ``count`` and clear the mark."""
    rows = count.shape[0]
    cols = count.shape[1]
    nbatch = buf.shape[0]
    for b in range(cuda.blockIdx.x, nbatch, cuda.gridDim.x):
        o = o0 + b
        if o >= ro.shape[0]:
            continue
        rmin, rmax, cmin, cmax = _obs_window(rows, cols, ro[o], co[o], rad[o])
        w = cmax - cmin + 1
        for t in range(cuda.threadIdx.x, (rmax - rmin + 1) * w, cuda.blockDim.x):
            i = t // w
            j = t % w
            if buf[b, i, j]:
                cuda.atomic.add(count, (rmin + i, cmin + j), 1)
                buf[b, i, j] = 0


_SCRATCH_BYTES = 256 << 20  # R2 batch scratch on the device


def cumulative_device(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact, count):
    """Add per-cell observer counts into the device int32 grid ``count``; inputs host or device."""
    d_z = to_device(z)
    rows, cols = d_z.shape
    m = int(rows_o.shape[0])
    if m == 0:
        return count
    rad = np.where(np.isfinite(rad), rad, float(max(rows, cols)))
    d_r, d_c = to_device(rows_o, np.int64), to_device(cols_o, np.int64)
    d_h, d_rad = to_device(h_obs, np.float64), to_device(rad, np.float64)
    d_az, d_half = to_device(az0, np.float64), to_device(half_fov, np.float64)
    d_edges = to_device(_sector_edges(np.asarray(az0, np.float64), np.asarray(half_fov, np.float64), rad))
    if method_exact:
        _cum_exact_kernel[blocks_for(m, 1), THREADS](d_z, d_r, d_c, d_h, float(h_tgt), d_rad, d_edges, d_half,
                                                     float(curv), count)
        return count
    wmax = int(math.floor(float(rad.max())))
    wr, wc = min(rows, 2 * wmax + 1), min(cols, 2 * wmax + 1)
    batch = int(max(1, min(m, _SCRATCH_BYTES // (wr * wc))))
    buf = full((batch, wr, wc), 0, np.uint8)
    for o0 in range(0, m, batch):
        _cum_r2_rays[batch, THREADS](d_z, d_r, d_c, d_h, float(h_tgt), d_rad, d_az, d_half, d_edges, float(curv),
                                     o0, buf)
        _cum_r2_count[batch, THREADS](d_r, d_c, d_rad, o0, buf, count)
    return count


@register("cumulative_viewshed", "cuda")
def cumulative_count_cuda(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact, count):
    """Same contract as the CPU kernel: adds observer counts into the host array ``count``."""
    d_count = to_device(count)
    cumulative_device(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact, d_count)
    count[...] = d_count.copy_to_host()
