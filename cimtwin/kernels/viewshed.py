"""Line-of-sight kernels: exact (R3) and ray-cast (R2) viewsheds, and cumulative counts.

Model (GRASS r.viewshed semantics): the observer stands ``h_obs`` above the surface at its
cell centre; a target is the centre of a cell raised by ``h_tgt``. A target is visible when no
terrain sample on the segment between them rises above the sight line. Samples are taken
where the segment crosses a row or column line through cell centres, with the elevation
linearly interpolated between the two cells on either side (not nearest-cell sampling).

Nodata cells (NaN in ``z``) never block and are never visible; a sample between a valid and
a nodata cell takes the valid cell's value. Earth curvature (with refraction) lowers every
sample by ``(1 - refraction) * d**2 / (2 * R_earth)``; ``curv`` is that factor per cell^2,
0 when curvature is off.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

EARTH_RADIUS_M = 6_371_000.0


@njit
def _sample(z, a, b0, frac, along_cols):
    """Elevation on a row line (``along_cols``: row ``a``, between cols b0, b0+1) or column line."""
    if along_cols:
        z0 = z[a, b0]
        z1 = z[a, b0 + 1] if frac > 0.0 else z0
    else:
        z0 = z[b0, a]
        z1 = z[b0 + 1, a] if frac > 0.0 else z0
    if np.isnan(z0):
        return z1
    if np.isnan(z1):
        return z0
    return z0 + (z1 - z0) * frac


@njit
def _los_visible(z, r0, c0, oz, r, c, tz, curv):
    """True when the target at (r, c) with elevation ``tz`` is seen from (r0, c0) at ``oz``.

    Walks the crossings from the target back towards the observer (blockers near the target
    are common, so this exits early more often).
    """
    dr = r - r0
    dc = c - c0
    rise = tz - oz
    d2 = float(dr * dr + dc * dc)
    # crossings of column lines: c0 + k*s for k = 1..|dc|-1
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


@register("viewshed_exact", "cpu")
@njit(parallel=True)
def viewshed_r3(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv):
    """Exact viewshed: a line of sight to every cell within range (parallel over rows)."""
    rows, cols = z.shape
    vis = np.zeros((rows, cols), dtype=np.bool_)
    oz = z[r0, c0] + h_obs
    lim2 = max_dist_cells * max_dist_cells
    rmin = max(0, r0 - int(math.ceil(max_dist_cells))) if np.isfinite(max_dist_cells) else 0
    rmax = min(rows - 1, r0 + int(math.ceil(max_dist_cells))) if np.isfinite(max_dist_cells) else rows - 1
    for r in prange(rmin, rmax + 1):
        for c in range(cols):
            zc = z[r, c]
            if np.isnan(zc):
                continue
            dr = r - r0
            dc = c - c0
            d2 = float(dr * dr + dc * dc)
            if d2 > lim2:
                continue
            tz = zc + h_tgt - curv * d2
            vis[r, c] = _los_visible(z, r0, c0, oz, r, c, tz, curv)
    vis[r0, c0] = True
    return vis


@njit
def _in_sector(ddr, ddc, e1e, e1n, e2e, e2n, wide):
    """Is the bearing of (ddr, ddc) within the clockwise sector from edge 1 to edge 2?

    Edges are unit vectors (east, north). Cross products replace atan2 in the inner loop.
    """
    ve = float(ddc)
    vn = float(-ddr)
    a = e1n * ve - e1e * vn  # > 0: v is clockwise of edge 1
    b = vn * e2e - ve * e2n  # > 0: edge 2 is clockwise of v
    if wide:  # span > 180 deg: outside only when strictly inside the complement
        return not (a < 0.0 and b < 0.0)
    return a >= 0.0 and b >= 0.0


@njit
def _sector_edges(az0, half_fov):
    a1 = az0 - half_fov
    a2 = az0 + half_fov
    return math.sin(a1), math.cos(a1), math.sin(a2), math.cos(a2), half_fov > 0.5 * math.pi


@njit
def _cast_ray(z, r0, c0, oz, tr, tc, h_tgt, lim2, curv, out, orow, ocol,
              sector, e1e, e1n, e2e, e2n, wide, value):
    """One R2 ray from the observer to (tr, tc): marks the cells it finds visible in ``out``.

    ``out`` is a window whose (0, 0) is grid cell (orow, ocol). Each step crosses one line of
    the major axis; the cell nearest to the crossing is tested against the running maximum
    slope of the earlier crossings, then the crossing (interpolated) updates that maximum.
    """
    dr = tr - r0
    dc = tc - c0
    steps = max(abs(dr), abs(dc))
    if steps == 0:
        return
    major_cols = abs(dc) >= abs(dr)
    inv = 1.0 / steps
    step_len = math.sqrt(float(dr * dr + dc * dc)) * inv
    max_slope = -np.inf
    for k in range(1, steps + 1):
        t = k * inv
        if major_cols:
            cc = c0 + (k if dc > 0 else -k)
            y = r0 + dr * t
            b0 = int(math.floor(y))
            frac = y - b0
            zs = _sample(z, cc, b0, frac, False)
            rr = int(math.floor(y + 0.5))
        else:
            rr = r0 + (k if dr > 0 else -k)
            x = c0 + dc * t
            b0 = int(math.floor(x))
            frac = x - b0
            zs = _sample(z, rr, b0, frac, True)
            cc = int(math.floor(x + 0.5))
        dist = k * step_len
        ddr = rr - r0
        ddc = cc - c0
        d2 = float(ddr * ddr + ddc * ddc)
        if d2 > lim2:
            break
        zc = z[rr, cc]
        if not np.isnan(zc):
            slope_c = (zc + h_tgt - curv * d2 - oz) / math.sqrt(d2)
            if slope_c >= max_slope:
                if not sector or _in_sector(ddr, ddc, e1e, e1n, e2e, e2n, wide):
                    out[rr - orow, cc - ocol] = value
        if not np.isnan(zs):
            s = (zs - curv * dist * dist - oz) / dist
            if s > max_slope:
                max_slope = s


@njit
def _perimeter(rmin, rmax, cmin, cmax):
    """Cells on the border of a box, clockwise from the north-west corner."""
    h = rmax - rmin + 1
    w = cmax - cmin + 1
    if h == 1 or w == 1:
        m = h * w
        pr = np.empty(m, dtype=np.int64)
        pc = np.empty(m, dtype=np.int64)
        t = 0
        for r in range(rmin, rmax + 1):
            for c in range(cmin, cmax + 1):
                pr[t] = r
                pc[t] = c
                t += 1
        return pr, pc
    m = 2 * (h + w) - 4
    pr = np.empty(m, dtype=np.int64)
    pc = np.empty(m, dtype=np.int64)
    t = 0
    for c in range(cmin, cmax + 1):
        pr[t] = rmin
        pc[t] = c
        t += 1
    for r in range(rmin + 1, rmax + 1):
        pr[t] = r
        pc[t] = cmax
        t += 1
    for c in range(cmax - 1, cmin - 1, -1):
        pr[t] = rmax
        pc[t] = c
        t += 1
    for r in range(rmax - 1, rmin, -1):
        pr[t] = r
        pc[t] = cmin
        t += 1
    return pr, pc


@njit
def _window(rows, cols, r0, c0, max_dist_cells):
    if np.isfinite(max_dist_cells):
        rad = int(math.floor(max_dist_cells))
        return (max(0, r0 - rad), min(rows - 1, r0 + rad), max(0, c0 - rad), min(cols - 1, c0 + rad))
    return 0, rows - 1, 0, cols - 1


@register("viewshed_r2", "cpu")
@njit(parallel=True)
def viewshed_r2(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv):
    """Approximate viewshed by rays to every border cell of the window (parallel over rays).

    A cell is visible when any ray that visits it finds it visible; rays only ever write
    True, so the result does not depend on thread scheduling.
    """
    rows, cols = z.shape
    vis = np.zeros((rows, cols), dtype=np.bool_)
    oz = z[r0, c0] + h_obs
    lim2 = max_dist_cells * max_dist_cells
    rmin, rmax, cmin, cmax = _window(rows, cols, r0, c0, max_dist_cells)
    pr, pc = _perimeter(rmin, rmax, cmin, cmax)
    for t in prange(pr.size):
        _cast_ray(z, r0, c0, oz, pr[t], pc[t], h_tgt, lim2, curv, vis, 0, 0,
                  False, 0.0, 0.0, 0.0, 0.0, False, True)
    vis[r0, c0] = True
    return vis


@njit
def _observer_into(z, r0, c0, h_obs, h_tgt, rad, curv, az0, half_fov, buf, method_exact):
    """Viewshed of one observer into ``buf`` (a window around it, zeroed by the caller).

    Returns the window origin (row, col) and the box (rmin, rmax, cmin, cmax) in grid cells
    that holds every cell written.
    """
    rows, cols = z.shape
    oz = z[r0, c0] + h_obs
    lim2 = rad * rad
    rmin, rmax, cmin, cmax = _window(rows, cols, r0, c0, rad)
    wr0, wc0 = rmin, cmin
    sector = half_fov < math.pi
    e1e, e1n, e2e, e2n, wide = _sector_edges(az0, half_fov)
    if method_exact:
        for r in range(rmin, rmax + 1):
            for c in range(cmin, cmax + 1):
                zc = z[r, c]
                if np.isnan(zc):
                    continue
                dr = r - r0
                dc = c - c0
                d2 = float(dr * dr + dc * dc)
                if d2 > lim2 or d2 == 0.0:
                    continue
                if sector and not _in_sector(dr, dc, e1e, e1n, e2e, e2n, wide):
                    continue
                if _los_visible(z, r0, c0, oz, r, c, zc + h_tgt - curv * d2, curv):
                    buf[r - rmin, c - cmin] = 1
    else:
        pr, pc = _perimeter(rmin, rmax, cmin, cmax)
        # half a cell of angle at the border keeps every cell of the sector on some ray
        margin = 1.0 / max(1.0, rad)
        # bounding box of the rays cast (observer + their end cells): the caller scans only it
        br0, br1, bc0, bc1 = r0, r0, c0, c0
        for t in range(pr.size):
            if sector:
                az = math.atan2(float(pc[t] - c0), float(r0 - pr[t]))
                diff = abs((az - az0 + 3.0 * math.pi) % (2.0 * math.pi) - math.pi)
                if diff > half_fov + margin + 0.01:
                    continue
            _cast_ray(z, r0, c0, oz, pr[t], pc[t], h_tgt, lim2, curv, buf, rmin, cmin,
                      sector, e1e, e1n, e2e, e2n, wide, 1)
            br0 = min(br0, pr[t])
            br1 = max(br1, pr[t])
            bc0 = min(bc0, pc[t])
            bc1 = max(bc1, pc[t])
        rmin, rmax, cmin, cmax = br0, br1, bc0, bc1
    buf[r0 - wr0, c0 - wc0] = 1
    return wr0, wc0, rmin, rmax, cmin, cmax


@register("cumulative_viewshed", "cpu")
@njit(parallel=True)
def cumulative_count(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact,
                     count):
    """Add to ``count`` the number of observers that see each cell (each counts a cell once).

    Observers are grouped into row bands taller than any observer's window; even bands run in
    parallel first, then odd bands, so no two threads touch the same cells and the integer
    sums are deterministic without atomics or per-thread copies of the grid.
    """
    rows, cols = z.shape
    m = rows_o.size
    if m == 0:
        return
    rmax_all = 0
    for o in range(m):
        rr = rad[o]
        if not np.isfinite(rr):
            rr = float(max(rows, cols))
        ri = int(math.floor(rr))
        if ri > rmax_all:
            rmax_all = ri
    band_h = 2 * rmax_all + 1
    nb = rows // band_h + 1
    # observers sorted by band (counting sort, stable by input order)
    start = np.zeros(nb + 1, dtype=np.int64)
    for o in range(m):
        start[rows_o[o] // band_h + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    pos = start[:nb].copy()
    ordered = np.empty(m, dtype=np.int64)
    for o in range(m):
        b = rows_o[o] // band_h
        ordered[pos[b]] = o
        pos[b] += 1
    wmax = min(band_h, max(rows, cols))
    for phase in range(2):
        nphase = (nb - phase + 1) // 2
        for q in prange(nphase):
            b = 2 * q + phase
            if start[b] == start[b + 1]:
                continue
            buf = np.zeros((min(wmax, rows), min(wmax, cols)), dtype=np.uint8)
            for t in range(start[b], start[b + 1]):
                o = ordered[t]
                rr = rad[o]
                if not np.isfinite(rr):
                    rr = float(max(rows, cols))
                wr0, wc0, rmin, rmax, cmin, cmax = _observer_into(
                    z, rows_o[o], cols_o[o], h_obs[o], h_tgt, rr, curv, az0[o], half_fov[o], buf,
                    method_exact)
                for r in range(rmin, rmax + 1):
                    for c in range(cmin, cmax + 1):
                        if buf[r - wr0, c - wc0]:
                            count[r, c] += 1
                            buf[r - wr0, c - wc0] = 0
