"""Radio propagation: TR 38.901 path loss, the sector pattern, and the best-server field.

The formulas (documented with their sources in :mod:`cimtwin.coverage.radio`) live here
once, as scalar functions; :func:`path_loss` and :func:`attenuation` apply them to arrays
for the public wrappers, and :func:`best_server_window` applies them to one site's window
of the grid, keeping for every cell the best value seen so far (:func:`best_server_blocks`
computes the same field block by block when no line-of-sight mask is given).

A site's value in a cell is ``offset - PL - A`` (RSRP: ``offset`` = EIRP per resource
element) or ``PL + A + offset`` (coupling loss: ``offset`` = minus the antenna gains).
Values are compared as stored (float32); of two sites with the same value the one with the
lower number is the server, so the field does not depend on the order sites are offered in.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from cimtwin.kernels._jit import njit

_C = 299_792_458.0


@njit
def breakpoint_m(hbs, hut, fc):
    """TR 38.901 breakpoint distance ``d'_BP = 4 h'_BS h'_UT f_c / c`` (m), effective heights ``h - 1 m``."""
    return 4.0 * (hbs - 1.0) * (hut - 1.0) * fc * 1e9 / _C


@njit
def _path_loss(d2d, fc, hbs, hut, uma, los):
    d2d = max(d2d, 10.0)
    dh = hbs - hut
    d3d = math.sqrt(d2d * d2d + dh * dh)
    dbp = breakpoint_m(hbs, hut, fc)
    lf = 20.0 * math.log10(fc)
    ld = math.log10(d3d)
    if uma:
        if d2d <= dbp:
            pl_los = 28.0 + 22.0 * ld + lf
        else:
            pl_los = 28.0 + 40.0 * ld + lf - 9.0 * math.log10(dbp * dbp + dh * dh)
        nlos = 13.54 + 39.08 * ld + lf - 0.6 * (hut - 1.5)
    else:
        if d2d <= dbp:
            pl_los = 32.4 + 21.0 * ld + lf
        else:
            pl_los = 32.4 + 40.0 * ld + lf - 9.5 * math.log10(dbp * dbp + dh * dh)
        nlos = 22.4 + 35.3 * ld + 21.3 * math.log10(fc) - 0.3 * (hut - 1.5)
    if los:
        return pl_los
    return max(pl_los, nlos)


@njit
def _attenuation(offset_deg, beamwidth_deg, front_to_back_db):
    if math.isnan(offset_deg):
        return 0.0
    phi = abs((offset_deg + 180.0) % 360.0 - 180.0)
    return min(12.0 * (phi / beamwidth_deg) ** 2, front_to_back_db)


@njit(parallel=True)
def path_loss(d2d, fc, hbs, hut, uma, los):
    """TR 38.901 path loss (dB) of flat, equally long float64 arrays (``los``: bool array)."""
    out = np.empty(d2d.shape[0], np.float64)
    for k in prange(d2d.shape[0]):
        out[k] = _path_loss(d2d[k], fc[k], hbs[k], hut[k], uma, los[k])
    return out


@njit(parallel=True)
def attenuation(offset_deg, beamwidth_deg, front_to_back_db):
    """Sector attenuation (dB) of flat, equally long float64 arrays."""
    out = np.empty(offset_deg.shape[0], np.float64)
    for k in prange(offset_deg.shape[0]):
        out[k] = _attenuation(offset_deg[k], beamwidth_deg[k], front_to_back_db[k])
    return out


BLOCK = 32  # cells per side of the blocks whose worst value lets a site skip them


@njit
def _dist_to_span(a, lo, hi):
    """Distance from ``a`` to the interval ``[lo, hi]`` (0 inside)."""
    if a < lo:
        return lo - a
    if a > hi:
        return a - hi
    return 0.0


@njit
def _value_bound(d_min, fc, hbs, hut, uma, has_los, offset, att_lb, rsrp):
    """The best value a site can offer at distance ``d_min`` or farther (path loss grows with
    distance; the sector attenuation is never below ``att_lb``), with a hair of margin so
    rounding in the logarithms never rules out a cell that wins."""
    pl_lb = _path_loss(d_min, fc, hbs, hut, uma, has_los) - 1e-6
    return offset - pl_lb - att_lb if rsrp else pl_lb + att_lb + offset


@njit
def _beats(v, site, cur, cur_site, rsrp):
    """Does ``v`` of ``site`` replace ``cur`` of ``cur_site``? Ties go to the lower site number."""
    return (v > cur if rsrp else v < cur) or (v == cur and site < cur_site)


@njit
def _offer(value, server, site, r_lo, r_hi, c_lo, c_hi, ra, ca, gx, gy, sx, sy, reach, fc, hbs, hut, uma,
           los, has_los, azimuth_deg, beamwidth_deg, front_to_back_db, offset, rsrp):
    """Offer ``site`` to the cells ``[r_lo:r_hi, c_lo:c_hi]`` within ``reach`` (``los`` is its
    window's mask, origin ``(ra, ca)``): the one evaluation of a site at a cell."""
    for r in range(r_lo, r_hi):
        dy = gy[r] - sy
        for c in range(c_lo, c_hi):
            dx = gx[c] - sx
            d = math.sqrt(dx * dx + dy * dy)
            if d > reach:
                continue
            pl = _path_loss(d, fc, hbs, hut, uma, has_los and los[r - ra, c - ca])
            att = 0.0
            if not math.isnan(azimuth_deg):
                bearing = math.degrees(math.atan2(dx, dy))  # 0 = north, clockwise
                att = _attenuation(bearing - azimuth_deg, beamwidth_deg, front_to_back_db)
            # compared as stored (float32)
            v = np.float32(offset - pl - att) if rsrp else np.float32(pl + att + offset)
            if _beats(v, site, value[r, c], server[r, c], rsrp):
                value[r, c] = v
                server[r, c] = site


@njit
def _block_worst(value, br, bc, rsrp):
    """The worst current value in block ``(br, bc)`` (lowest RSRP, highest coupling loss)."""
    rows, cols = value.shape
    w = value[br * BLOCK, bc * BLOCK]
    for r in range(br * BLOCK, min(rows, (br + 1) * BLOCK)):
        for c in range(bc * BLOCK, min(cols, (bc + 1) * BLOCK)):
            w = min(w, value[r, c]) if rsrp else max(w, value[r, c])
    return w


@njit
def _block_distance(br, bc, gx, gy, sx, sy, ra, rb, ca, cb):
    """Distance from the site to the nearest cell centre of block ``(br, bc)`` within its window."""
    r_lo, r_hi = max(ra, br * BLOCK), min(rb, (br + 1) * BLOCK)
    c_lo, c_hi = max(ca, bc * BLOCK), min(cb, (bc + 1) * BLOCK)
    dy = _dist_to_span(sy, min(gy[r_lo], gy[r_hi - 1]), max(gy[r_lo], gy[r_hi - 1]))
    dx = _dist_to_span(sx, min(gx[c_lo], gx[c_hi - 1]), max(gx[c_lo], gx[c_hi - 1]))
    return math.sqrt(dx * dx + dy * dy)


@njit(parallel=True)
def best_server_window(value, server, worst, site, ra, rb, ca, cb, gx, gy, sx, sy, reach, fc, hbs, hut, uma,
                       los, has_los, azimuth_deg, beamwidth_deg, front_to_back_db, offset, rsrp):
    """Offer site ``site`` to the cells ``[ra:rb, ca:cb]``; keep it where it beats the current value.

    ``value`` (float32) and ``server`` (int32) are the whole field, updated in place;
    ``gx``/``gy`` the grid's cell-centre coordinates; ``los`` a bool array of the window's
    shape (read only when ``has_los``). Cells farther than ``reach`` are not offered.

    ``worst`` holds, per :data:`BLOCK` x :data:`BLOCK` block of the field, its worst current
    value (lowest RSRP, highest coupling loss). Path loss grows with distance and the sector
    attenuation is never below ``min(0, front_to_back_db)``, so the site's best possible value
    in a block is bounded by its value at the block's nearest point; a block whose worst
    cell is already better is skipped whole, so the field equals offering every cell. Far
    sites are skipped almost everywhere once nearer ones have been offered: offer the sites
    in a scattered order (a site list sorted in space would approach every block from afar,
    each site a little nearer than the last, and none would be skipped).
    """
    att_lb = min(0.0, front_to_back_db)
    b0, b1 = ra // BLOCK, (rb - 1) // BLOCK + 1
    k0, k1 = ca // BLOCK, (cb - 1) // BLOCK + 1
    for br in prange(b0, b1):
        r_lo, r_hi = max(ra, br * BLOCK), min(rb, (br + 1) * BLOCK)
        for bc in range(k0, k1):
            d_min = _block_distance(br, bc, gx, gy, sx, sy, ra, rb, ca, cb)
            if d_min > reach:
                continue
            bound = _value_bound(d_min, fc, hbs, hut, uma, has_los, offset, att_lb, rsrp)
            if (bound < worst[br, bc]) if rsrp else (bound > worst[br, bc]):
                continue
            c_lo, c_hi = max(ca, bc * BLOCK), min(cb, (bc + 1) * BLOCK)
            _offer(value, server, site, r_lo, r_hi, c_lo, c_hi, ra, ca, gx, gy, sx, sy, reach, fc, hbs, hut, uma,
                   los, has_los, azimuth_deg, beamwidth_deg, front_to_back_db, offset, rsrp)
            # the block's worst value, over all its cells (a window may cut it)
            worst[br, bc] = _block_worst(value, br, bc, rsrp)


SUPER = 8  # blocks per side of the buckets that list the sites reaching them


@njit(parallel=True)
def best_server_blocks(value, server, ra, rb, ca, cb, gx, gy, sx, sy, reach, fc, hbs, hut, uma,
                       azimuth_deg, beamwidth_deg, front_to_back_db, offset, rsrp):
    """The whole field at once, block by block, without line-of-sight masks (NLOS everywhere).

    The same field as offering every site through :func:`best_server_window` (each cell's
    best value within reach, ties to the lower site number), computed the other way round:
    each :data:`BLOCK` x :data:`BLOCK` block, in parallel, takes the sites whose window
    ``[ra:rb, ca:cb]`` meets it, best possible value first (:func:`_value_bound` at the
    block's nearest cell), and stops at the first that cannot beat the block's worst cell.
    The nearest sites settle a block, and the many far ones within reach are never
    evaluated cell by cell. Per-site arrays hold one entry per site (``uma`` bool).
    """
    rows, cols = value.shape
    n_br, n_bc = -(-rows // BLOCK), -(-cols // BLOCK)
    n_sr, n_sc = -(-n_br // SUPER), -(-n_bc // SUPER)
    # sites by the super blocks their window meets (counting sort)
    n_sites = sx.shape[0]
    count = np.zeros(n_sr * n_sc + 1, np.int64)
    for i in range(n_sites):
        if ra[i] >= rb[i] or ca[i] >= cb[i]:
            continue
        for sr in range(ra[i] // BLOCK // SUPER, (rb[i] - 1) // BLOCK // SUPER + 1):
            for sc in range(ca[i] // BLOCK // SUPER, (cb[i] - 1) // BLOCK // SUPER + 1):
                count[sr * n_sc + sc + 1] += 1
    ptr = np.cumsum(count)
    fill = ptr[:-1].copy()
    sites = np.empty(ptr[-1], np.int64)
    for i in range(n_sites):
        if ra[i] >= rb[i] or ca[i] >= cb[i]:
            continue
        for sr in range(ra[i] // BLOCK // SUPER, (rb[i] - 1) // BLOCK // SUPER + 1):
            for sc in range(ca[i] // BLOCK // SUPER, (cb[i] - 1) // BLOCK // SUPER + 1):
                sites[fill[sr * n_sc + sc]] = i
                fill[sr * n_sc + sc] += 1
    no_los = np.zeros((0, 0), np.bool_)
    att_lb = min(0.0, front_to_back_db)
    for sb in prange(n_sr * n_sc):
        sr, sc = sb // n_sc, sb % n_sc
        cand = sites[ptr[sb]:ptr[sb + 1]]  # in site order
        key = np.empty(cand.shape[0], np.float64)
        for br in range(sr * SUPER, min(n_br, (sr + 1) * SUPER)):
            for bc in range(sc * SUPER, min(n_bc, (sc + 1) * SUPER)):
                m = 0
                for i in cand:
                    if ra[i] >= (br + 1) * BLOCK or rb[i] <= br * BLOCK or ca[i] >= (bc + 1) * BLOCK \
                            or cb[i] <= bc * BLOCK:
                        key[m] = np.inf  # the window misses this block
                    else:
                        d_min = _block_distance(br, bc, gx, gy, sx[i], sy[i], ra[i], rb[i], ca[i], cb[i])
                        if d_min > reach[i]:
                            key[m] = np.inf
                        else:
                            b = _value_bound(d_min, fc[i], hbs[i], hut, uma[i], False, offset[i], att_lb, rsrp)
                            key[m] = -b if rsrp else b  # ascending: the best bound first
                    m += 1
                order = np.argsort(key[:m], kind="mergesort")  # stable: site order among equal bounds
                r_lo, r_hi = br * BLOCK, min(rows, (br + 1) * BLOCK)
                c_lo, c_hi = bc * BLOCK, min(cols, (bc + 1) * BLOCK)
                worst = value[r_lo, c_lo]  # the initial -inf / inf: every site in reach beats it
                for o in order:
                    if key[o] == np.inf:
                        break
                    bound = -key[o] if rsrp else key[o]
                    if (bound < worst) if rsrp else (bound > worst):
                        break  # no later site can do better: their bounds are no better
                    i = cand[o]
                    _offer(value, server, i, max(r_lo, ra[i]), min(r_hi, rb[i]), max(c_lo, ca[i]), min(c_hi, cb[i]),
                           ra[i], ca[i], gx, gy, sx[i], sy[i], reach[i], fc[i], hbs[i], hut, uma[i], no_los, False,
                           azimuth_deg[i], beamwidth_deg[i], front_to_back_db, offset[i], rsrp)
                    worst = _block_worst(value, br, bc, rsrp)
