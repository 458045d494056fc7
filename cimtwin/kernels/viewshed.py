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

import numba
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
def _perimeter_cell(t, rmin, rmax, cmin, cmax):
    """The ``t``-th border cell of a box, clockwise from the north-west corner (no allocation)."""
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


@njit
def _n_perimeter(rmin, rmax, cmin, cmax):
    h = rmax - rmin + 1
    w = cmax - cmin + 1
    if h == 1 or w == 1:
        return h * w
    return 2 * (h + w) - 4


# per-ray state of ``_r2_rays``: integer fields (rows of ``ist``) and float fields (``fst``)
_FNUM, _MB, _ZI, _OI, _STEPS, _DMIN, _ZMAJ, _ZMIN, _OMAJ, _OMIN, _KEND, _KTEST, _RMAJ, _CMAJ, _RMIN, _CMIN = range(16)
_INV, _ILEN, _SLEN, _MS, _MSQ = range(5)
N_INT_STATE = 16
N_FLOAT_STATE = 5


@njit
def _r2_rays(zf, ncols, r0, c0, oz, tr, tc, n, h_tgt, lim2, curv, sector, e1e, e1n, e2e, e2n, wide,
             out, ow, orow, ocol, inv_k, ist, fst):
    """R2 rays from the observer to the cells (tr[j], tc[j]), j < n; sets ``out`` where visible.

    ``zf`` is the surface, flattened (rows of ``ncols``); ``out`` a flattened window (rows of
    ``ow``) whose (0, 0) is grid cell (orow, ocol); ``ist``/``fst`` scratch state, at least
    ``n`` wide.

    Along each ray, step k crosses the k-th line of the major axis. The cell nearest to the
    crossing is visible when its slope from the observer is >= the running maximum slope of
    the earlier crossings; then the crossing (linearly interpolated between its two cells)
    updates that maximum. The minor coordinate of the crossing, ``k * dminor / steps``, is
    kept as an exact integer part and remainder, so the cells sampled do not depend on
    floating-point rounding.

    All rays advance one step at a time together: neighbouring rays read neighbouring cells,
    which are then still in L1 cache, and the independent rays keep the CPU busy while a load
    waits (one ray at a time ran ~2.5x slower on a 1e8-cell grid). Slopes are compared without
    divisions or roots (x * |x| is increasing, and 1/k comes from ``inv_k``).
    """
    bent = curv != 0.0
    kmax = 0
    for j in range(n):
        dr = tr[j] - r0
        dc = tc[j] - c0
        adr = abs(dr)
        adc = abs(dc)
        steps = max(adr, adc)
        ist[_KEND, j] = steps
        if steps == 0:
            continue
        kmax = max(kmax, steps)
        if adc >= adr:  # major axis: columns
            ist[_DMIN, j] = dr
            zmaj = 1 if dc > 0 else -1
            ist[_ZMAJ, j] = zmaj
            ist[_ZMIN, j] = ncols
            ist[_OMAJ, j] = zmaj
            ist[_OMIN, j] = ow
            ist[_RMAJ, j] = 0
            ist[_CMAJ, j] = zmaj
            ist[_RMIN, j] = 1
            ist[_CMIN, j] = 0
        else:
            ist[_DMIN, j] = dc
            ist[_ZMAJ, j] = ncols if dr > 0 else -ncols
            ist[_ZMIN, j] = 1
            ist[_OMAJ, j] = ow if dr > 0 else -ow
            ist[_OMIN, j] = 1
            ist[_RMAJ, j] = 1 if dr > 0 else -1
            ist[_CMAJ, j] = 0
            ist[_RMIN, j] = 0
            ist[_CMIN, j] = 1
        ist[_STEPS, j] = steps
        ist[_FNUM, j] = 0  # crossing = floor cell + fnum / steps (0 <= fnum < steps)
        ist[_MB, j] = 0  # minor offset of the floor cell from the observer
        ist[_ZI, j] = r0 * ncols + c0  # flat index of the floor cell
        ist[_OI, j] = (r0 - orow) * ow + (c0 - ocol)
        inv = 1.0 / steps
        step_len = math.sqrt(float(dr * dr + dc * dc)) * inv
        fst[_INV, j] = inv
        fst[_SLEN, j] = step_len
        fst[_ILEN, j] = 1.0 / step_len
        fst[_MS, j] = -np.inf
        fst[_MSQ, j] = -np.inf
        # steps below k_test need the sector test; beyond it the cells (within half a cell of
        # the ray) are inside the sector by more than 1e-6 rad, so the test would pass anyway
        k_test = 0
        if sector:
            k_test = steps + 1
            if not wide:
                ve = float(dc)
                vn = float(-dr)
                sin_in = min(e1n * ve - e1e * vn, vn * e2e - ve * e2n) / math.sqrt(ve * ve + vn * vn)
                if sin_in > 2e-6:
                    k_test = min(steps + 1, int(0.5 / (sin_in - 1e-6)) + 1)
        ist[_KTEST, j] = k_test
    for k in range(1, kmax + 1):
        ik = inv_k[np.uint64(k)]
        kk = k * k
        for j in range(n):
            if k > ist[_KEND, j]:
                continue
            steps = ist[_STEPS, j]
            fnum = ist[_FNUM, j] + ist[_DMIN, j]
            carry = (fnum >= steps) - (fnum < 0)
            fnum -= carry * steps
            ist[_FNUM, j] = fnum
            mb = ist[_MB, j] + carry
            ist[_MB, j] = mb
            zmin = ist[_ZMIN, j]
            omin = ist[_OMIN, j]
            zi = ist[_ZI, j] + ist[_ZMAJ, j] + carry * zmin
            ist[_ZI, j] = zi
            oi = ist[_OI, j] + ist[_OMAJ, j] + carry * omin
            ist[_OI, j] = oi
            z0 = zf[np.uint64(zi)]
            z1 = zf[np.uint64(zi + (fnum > 0) * zmin)]
            up = 2 * fnum >= steps
            zc = z1 if up else z0
            mo = mb + up
            d2 = float(kk + mo * mo)
            if d2 > lim2:  # d2 grows along a ray: the ray has left the range
                ist[_KEND, j] = 0
                continue
            a = zc + h_tgt
            if bent:
                a -= curv * d2
            a -= oz
            seen = a * abs(a) >= fst[_MSQ, j] * d2  # a / sqrt(d2) >= max slope; False for a hole
            if k < ist[_KTEST, j]:
                seen = seen & _in_sector(k * ist[_RMAJ, j] + mo * ist[_RMIN, j],
                                         k * ist[_CMAJ, j] + mo * ist[_CMIN, j], e1e, e1n, e2e, e2n, wide)
            if seen:  # only True is stored: rays of other threads mark the same cells, and a
                out[np.uint64(oi + up * omin)] = True  # read-or-write would lose their marks
            zs = z0 + (z1 - z0) * (fnum * fst[_INV, j])
            if np.isnan(zs):
                zs = z1 if np.isnan(z0) else z0  # a hole takes the valid side's value (NaN if both)
            if bent:
                dist = k * fst[_SLEN, j]
                zs -= curv * dist * dist
            sl = (zs - oz) * (ik * fst[_ILEN, j])
            if sl > fst[_MS, j]:  # False for NaN
                fst[_MS, j] = sl
                fst[_MSQ, j] = sl * abs(sl)


@njit
def _r2_ray(zf, ncols, r0, c0, oz, tr, tc, h_tgt, lim2, curv, sector, e1e, e1n, e2e, e2n, wide,
            out, ow, orow, ocol, inv_k):
    """One R2 ray to (tr, tc): the arithmetic of ``_r2_rays``, for one ray at a time.

    Faster than ``_r2_rays`` when the rays are short and their cells already in cache (a
    camera's window); same results.
    """
    dr = tr - r0
    dc = tc - c0
    adr = abs(dr)
    adc = abs(dc)
    steps = max(adr, adc)
    if steps == 0:
        return
    if adc >= adr:  # major axis: columns
        dmin = dr
        zmaj = 1 if dc > 0 else -1
        zmin = ncols
        omaj = zmaj
        omin = ow
        rmaj, cmaj, rmin_, cmin_ = 0, zmaj, 1, 0
    else:
        dmin = dc
        zmaj = ncols if dr > 0 else -ncols
        zmin = 1
        omaj = ow if dr > 0 else -ow
        omin = 1
        rmaj, cmaj, rmin_, cmin_ = (1 if dr > 0 else -1), 0, 0, 1
    inv = 1.0 / steps
    step_len = math.sqrt(float(dr * dr + dc * dc)) * inv
    inv_len = 1.0 / step_len
    # steps below k_test need the sector test; beyond it the cells (within half a cell of the
    # ray) are inside the sector by more than 1e-6 rad, so the test would pass anyway
    k_test = 0
    if sector:
        k_test = steps + 1
        if not wide:
            ve = float(dc)
            vn = float(-dr)
            sin_in = min(e1n * ve - e1e * vn, vn * e2e - ve * e2n) / math.sqrt(ve * ve + vn * vn)
            if sin_in > 2e-6:
                k_test = min(steps + 1, int(0.5 / (sin_in - 1e-6)) + 1)
    bent = curv != 0.0
    max_slope = -np.inf
    max_sq = -np.inf
    zi = r0 * ncols + c0  # flat index of the cell at floor of the crossing
    oi = (r0 - orow) * ow + (c0 - ocol)
    mb = 0  # minor offset of that cell from the observer
    fnum = 0  # crossing = that cell + fnum / steps (0 <= fnum < steps)
    for k in range(1, steps + 1):
        fnum += dmin
        carry = (fnum >= steps) - (fnum < 0)
        fnum -= carry * steps
        mb += carry
        zi += zmaj + carry * zmin
        oi += omaj + carry * omin
        z0 = zf[np.uint64(zi)]
        z1 = zf[np.uint64(zi + (fnum > 0) * zmin)]
        up = 2 * fnum >= steps
        zc = z1 if up else z0
        mo = mb + up
        d2i = k * k + mo * mo
        d2 = float(d2i)
        if d2 > lim2:
            break
        a = zc + h_tgt
        if bent:
            a -= curv * d2
        a -= oz
        # a / sqrt(d2) >= max_slope, compared through x * |x| (increasing) without a root
        seen = a * abs(a) >= max_sq * d2  # False for a hole (NaN)
        if k < k_test:
            seen = seen & _in_sector(k * rmaj + mo * rmin_, k * cmaj + mo * cmin_, e1e, e1n, e2e, e2n,
                                     wide)
        oc = np.uint64(oi + up * omin)
        out[oc] |= seen
        zs = z0 + (z1 - z0) * (fnum * inv)
        if np.isnan(zs):
            zs = z1 if np.isnan(z0) else z0  # a hole takes the valid side's value (NaN if both)
        if bent:
            dist = k * step_len
            zs -= curv * dist * dist
        s = (zs - oz) * (inv_k[np.uint64(k)] * inv_len)
        if s > max_slope:  # False for NaN
            max_slope = s
            max_sq = s * abs(s)


@njit
def _inv_k(max_steps):
    """1/k for k = 0..max_steps: products with it replace a division per ray step (the CUDA
    twin computes the same IEEE quotients directly, so both give identical slopes)."""
    inv_k = np.empty(max_steps + 1)
    inv_k[0] = 0.0
    for k in range(1, max_steps + 1):
        inv_k[k] = 1.0 / k
    return inv_k


@njit
def _window(rows, cols, r0, c0, max_dist_cells):
    if np.isfinite(max_dist_cells):
        rad = int(math.floor(max_dist_cells))
        return (max(0, r0 - rad), min(rows - 1, r0 + rad), max(0, c0 - rad), min(cols - 1, c0 + rad))
    return 0, rows - 1, 0, cols - 1


@njit(parallel=True)
def _viewshed_r2_into(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv, vis):
    rows, cols = z.shape
    oz = z[r0, c0] + h_obs
    lim2 = max_dist_cells * max_dist_cells
    rmin, rmax, cmin, cmax = _window(rows, cols, r0, c0, max_dist_cells)
    n = _n_perimeter(rmin, rmax, cmin, cmax)
    inv_k = _inv_k(max(rows, cols))
    zf = z.reshape(z.size)
    vf = vis.reshape(vis.size)
    chunk = 128  # rays advanced together (more keeps north-south rays in L1, fewer east-west ones)
    nchunks = (n + chunk - 1) // chunk
    # chunks handed out one at a time: a thread slowed by other work on the machine takes fewer
    for q in prange(nchunks):
        t0 = q * chunk
        nq = min(chunk, n - t0)
        tr = np.empty(nq, dtype=np.int64)
        tc = np.empty(nq, dtype=np.int64)
        for j in range(nq):
            tr[j], tc[j] = _perimeter_cell(t0 + j, rmin, rmax, cmin, cmax)
        ist = np.empty((N_INT_STATE, nq), dtype=np.int64)
        fst = np.empty((N_FLOAT_STATE, nq))
        _r2_rays(zf, cols, r0, c0, oz, tr, tc, nq, h_tgt, lim2, curv, False, 0.0, 0.0, 0.0, 0.0, False,
                 vf, cols, 0, 0, inv_k, ist, fst)
    vis[r0, c0] = True


@register("viewshed_r2", "cpu")
def viewshed_r2(z, r0, c0, h_obs, h_tgt, max_dist_cells, curv):
    """Approximate viewshed by rays to every border cell of the window (parallel over rays).

    A cell is visible when any ray that visits it finds it visible; rays only ever set marks,
    so the result does not depend on thread scheduling. Rays go in chunks of neighbours that
    advance together (``_r2_rays``).
    """
    vis = np.zeros(z.shape, dtype=np.bool_)
    with numba.parallel_chunksize(1):
        _viewshed_r2_into(np.ascontiguousarray(z), int(r0), int(c0), float(h_obs), float(h_tgt),
                          float(max_dist_cells), float(curv), vis)
    return vis


@njit
def _count_observer(z, r0, c0, h_obs, h_tgt, rad, curv, az0, half_fov, method_exact, count, buf,
                    inv_k, ray_r, ray_c):
    """Add 1 to ``count`` at each cell one observer sees (its window is ``rad`` cells around it).

    ``buf`` is an all-zero scratch window at least as large as the observer's; it is left
    all zero. ``ray_r``, ``ray_c``: scratch for the ray ends (as many as the window has
    border cells).
    """
    rows, cols = z.shape
    oz = z[r0, c0] + h_obs
    lim2 = rad * rad
    rmin, rmax, cmin, cmax = _window(rows, cols, r0, c0, rad)
    sector = half_fov < math.pi
    e1e, e1n, e2e, e2n, wide = _sector_edges(az0, half_fov)
    count[r0, c0] += 1
    if method_exact:  # one sight line per cell: each cell is tested once, no scratch needed
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
                    count[r, c] += 1
        return
    zf = z.reshape(z.size)
    # rays only to border cells within the sector widened by half a cell at the border (+0.01
    # rad), so that every cell of the sector lies on some ray
    ray_half = half_fov + 1.0 / max(1.0, rad) + 0.01
    ray_sector = sector and ray_half < math.pi
    f1e, f1n, f2e, f2n, fwide = _sector_edges(az0, ray_half)
    # rays cross cells near the observer many times: they mark ``buf``, then the box they
    # covered (observer + ray ends) is added to ``count`` once and cleared
    br0, br1, bc0, bc1 = r0, r0, c0, c0
    n = _n_perimeter(rmin, rmax, cmin, cmax)
    nr = 0
    for t in range(n):
        tr, tc = _perimeter_cell(t, rmin, rmax, cmin, cmax)
        if ray_sector and not _in_sector(tr - r0, tc - c0, f1e, f1n, f2e, f2n, fwide):
            continue
        ray_r[nr] = tr
        ray_c[nr] = tc
        nr += 1
        br0 = min(br0, tr)
        br1 = max(br1, tr)
        bc0 = min(bc0, tc)
        bc1 = max(bc1, tc)
    bf = buf.reshape(buf.size)
    for j in range(nr):
        _r2_ray(zf, cols, r0, c0, oz, ray_r[j], ray_c[j], h_tgt, lim2, curv, sector, e1e, e1n, e2e, e2n,
                wide, bf, buf.shape[1], rmin, cmin, inv_k)
    for r in range(br0, br1 + 1):
        brow = buf[r - rmin]
        crow = count[r]
        for c in range(bc0, bc1 + 1):
            crow[c] += brow[c - cmin]
            brow[c - cmin] = 0


@register("cumulative_viewshed", "cpu")
def cumulative_count(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact, count):
    """Add to ``count`` the number of observers that see each cell (see :func:`_cumulative_count`)."""
    with numba.parallel_chunksize(1):  # bands handed out one at a time
        _cumulative_count(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact, count)


@njit(parallel=True)
def _cumulative_count(z, rows_o, cols_o, h_obs, h_tgt, rad, az0, half_fov, curv, method_exact,
                      count):
    """Add to ``count`` the number of observers that see each cell (each counts a cell once).

    Observers are grouped into row bands taller than any observer's window; even bands run in
    parallel first, then odd bands, so no two threads touch the same cells and the integer
    sums are deterministic without atomics or per-thread copies of the grid. R2 rays cross
    cells near the observer many times; they mark a per-band scratch window, which is added
    to ``count`` (and cleared) once per observer.
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
    # observers sorted by band, then by column: neighbours in the order share most of their
    # windows, which stay in cache (the counts are integer sums, so the order does not matter)
    start = np.zeros(nb + 1, dtype=np.int64)
    key = np.empty(m, dtype=np.int64)
    for o in range(m):
        start[rows_o[o] // band_h + 1] += 1
        key[o] = (rows_o[o] // band_h) * cols + cols_o[o]
    for b in range(nb):
        start[b + 1] += start[b]
    ordered = np.argsort(key, kind="mergesort")
    wh = min(band_h, rows)
    ww = min(band_h, cols)
    inv_k = _inv_k(max(rows, cols))
    for phase in range(2):
        nphase = (nb - phase + 1) // 2
        for q in prange(nphase):
            b = 2 * q + phase
            if start[b] == start[b + 1]:
                continue
            buf = np.zeros((0, 0) if method_exact else (wh, ww), dtype=np.uint8)
            nray = 0 if method_exact else 2 * (wh + ww)
            ray_r = np.empty(nray, dtype=np.int64)
            ray_c = np.empty(nray, dtype=np.int64)
            for t in range(start[b], start[b + 1]):
                o = ordered[t]
                rr = rad[o]
                if not np.isfinite(rr):
                    rr = float(max(rows, cols))
                _count_observer(z, rows_o[o], cols_o[o], h_obs[o], h_tgt, rr, curv, az0[o],
                                half_fov[o], method_exact, count, buf, inv_k, ray_r, ray_c)
