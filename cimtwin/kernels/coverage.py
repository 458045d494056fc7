"""Per-cell count of sources (disks or sectors) covering each cell.

A cell (i, j) counts source s when ``(i - r_s)^2 + (j - c_s)^2 <= R_s^2`` (cell units, cell
centres at integer positions) and, for a sector, when the direction from the source to the
cell lies within ``hfov/2`` of the azimuth (boundary inclusive; the apex cell always counts).

Two strategies, chosen by the caller with :func:`choose_strategy`:

- ``"stamp"``: write +1 into every covered cell, one disk scanline at a time
  (cost ~ N * pi * R^2 writes);
- ``"sweep"``: write +1/-1 at the two ends of each scanline into a difference grid and take a
  prefix sum along every row (cost ~ 2 N (2R + 1) writes plus one pass over the grid).
  It is independent of the area of the disks, which makes it the fast choice when they
  overlap a lot (N * pi * R^2 >> cells); sectors always stamp (their rows need an angle test).

Both run in parallel over bands of rows: each band is owned by one task and visits only the
sources whose disks reach it, so writes never race and the output is deterministic.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

_BAND_ROWS = 32
_ANGLE_TOL = 1e-9  # relative slack on the sector boundary test, so exact boundaries count


def choose_strategy(n_cells: int, n_sources: int, mean_radius: float, sectors: bool) -> str:
    """``"stamp"`` or ``"sweep"`` from a cost model (cell writes, sweep pass weighted 1.5)."""
    if sectors:
        return "stamp"
    stamp = n_sources * math.pi * mean_radius**2
    sweep = 2.0 * n_sources * (2.0 * mean_radius + 1.0) + 1.5 * n_cells
    return "stamp" if stamp <= sweep else "sweep"


@njit
def _span(dr, c, r2, cols):
    """Inclusive column span [c0, c1] of a disk row at row offset ``dr``; c0 > c1 if empty."""
    h2 = r2 - dr * dr
    if h2 < 0:
        return 1, 0
    h = math.sqrt(h2)
    c0 = math.ceil(c - h)
    c1 = math.floor(c + h)
    # fix rounding at the boundary so the test is exactly d^2 <= R^2
    while (c0 - 1 - c) ** 2 + dr * dr <= r2:
        c0 -= 1
    while c0 <= c1 and (c0 - c) ** 2 + dr * dr > r2:
        c0 += 1
    while (c1 + 1 - c) ** 2 + dr * dr <= r2:
        c1 += 1
    while c1 >= c0 and (c1 - c) ** 2 + dr * dr > r2:
        c1 -= 1
    if c0 < 0:
        c0 = 0
    if c1 > cols - 1:
        c1 = cols - 1
    return c0, c1


@njit
def _band_lists(rows, band_rows, r, radius):
    """CSR lists: for each band of rows, the sources whose disk reaches it."""
    nb = (rows + band_rows - 1) // band_rows
    n = r.shape[0]
    counts = np.zeros(nb + 1, np.int64)
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    for s in range(n):
        a = math.ceil(r[s] - radius[s])
        b = math.floor(r[s] + radius[s])
        if a < 0:
            a = 0
        if b > rows - 1:
            b = rows - 1
        if a > b:
            lo[s] = 1
            hi[s] = 0
            continue
        lo[s] = a // band_rows
        hi[s] = b // band_rows
        for k in range(lo[s], hi[s] + 1):
            counts[k + 1] += 1
    for k in range(nb):
        counts[k + 1] += counts[k]
    fill = counts[:-1].copy()
    members = np.empty(counts[nb], np.int64)
    for s in range(n):
        for k in range(lo[s], hi[s] + 1):
            members[fill[k]] = s
            fill[k] += 1
    return counts, members


@njit(parallel=True)
def _stamp(out, r, c, radius, band_ptr, members, band_rows, sectors, ux, uy, cosh, by0, by1, bx0, bx1):
    rows, cols = out.shape
    nb = band_ptr.shape[0] - 1
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for b in numba.prange(nb):
        i0 = b * band_rows
        i1 = min(rows, i0 + band_rows)
        # zero our own rows first: fresh pages are touched in order, by the thread that uses them
        for i in range(i0, i1):
            for j in range(cols):
                out[i, j] = 0
        for m in range(band_ptr[b], band_ptr[b + 1]):
            s = members[m]
            rs = r[s]
            cs = c[s]
            r2 = radius[s] * radius[s]
            a = max(i0, math.ceil(rs - radius[s]))
            z = min(i1 - 1, math.floor(rs + radius[s]))
            if sectors:
                a = max(a, by0[s])
                z = min(z, by1[s])
            for i in range(a, z + 1):
                dr = i - rs
                c0, c1 = _span(dr, cs, r2, cols)
                if not sectors:
                    for j in range(c0, c1 + 1):
                        out[i, j] += 1
                else:
                    # angle(v, u) <= hfov/2  <=>  dot(v, u) >= |v| cos(hfov/2); squared to skip sqrt
                    north = -dr  # rows north of the apex are "up"
                    ch = cosh[s] - _ANGLE_TOL
                    ch2 = ch * ch
                    ex = ux[s]
                    ny = uy[s] * north
                    n2 = north * north
                    # only the sector's bounding box can hold covered cells
                    c0 = max(c0, bx0[s])
                    c1 = min(c1, bx1[s])
                    # branch-free bodies so the loops vectorise
                    if ch >= 0.0:
                        for j in range(c0, c1 + 1):
                            east = j - cs
                            dot = east * ex + ny
                            out[i, j] += np.int32((dot >= 0.0) & (dot * dot >= (east * east + n2) * ch2))
                    else:
                        for j in range(c0, c1 + 1):
                            east = j - cs
                            dot = east * ex + ny
                            out[i, j] += np.int32((dot >= 0.0) | (dot * dot <= (east * east + n2) * ch2))


@njit(parallel=True)
def _sweep(out, r, c, radius, band_ptr, members, band_rows):
    rows, cols = out.shape
    nb = band_ptr.shape[0] - 1
    # hand out iterations one at a time: a thread preempted on a shared machine
    # does not hold up the others (static halves would)
    for b in numba.prange(nb):
        i0 = b * band_rows
        i1 = min(rows, i0 + band_rows)
        diff = np.zeros((i1 - i0, cols + 1), np.int32)
        for m in range(band_ptr[b], band_ptr[b + 1]):
            s = members[m]
            rs = r[s]
            r2 = radius[s] * radius[s]
            a = max(i0, math.ceil(rs - radius[s]))
            z = min(i1 - 1, math.floor(rs + radius[s]))
            for i in range(a, z + 1):
                c0, c1 = _span(i - rs, c[s], r2, cols)
                if c0 <= c1:
                    diff[i - i0, c0] += 1
                    diff[i - i0, c1 + 1] -= 1
        for i in range(i0, i1):
            acc = 0
            for j in range(cols):
                acc += diff[i - i0, j]
                out[i, j] = acc


def _sector_boxes(rows, cols, radius, azimuth_deg, hfov_deg):
    """Integer row/col bounding boxes of each sector (apex, arc ends, arc extremes), padded 1 cell."""
    half = np.minimum(hfov_deg, 360.0) / 2.0
    pts_r = [rows]
    pts_c = [cols]
    # directions whose points bound the sector: its two edges and any compass point it spans
    dirs = [azimuth_deg - half, azimuth_deg + half]
    for compass in (0.0, 90.0, 180.0, 270.0):
        off = np.abs((compass - azimuth_deg + 180.0) % 360.0 - 180.0)
        dirs.append(np.where(off <= half, compass, azimuth_deg))
    for d in dirs:
        rad = np.deg2rad(d)
        pts_r.append(rows - radius * np.cos(rad))
        pts_c.append(cols + radius * np.sin(rad))
    pr = np.vstack(pts_r)
    pc = np.vstack(pts_c)
    return (np.floor(pr.min(0)).astype(np.int64) - 1, np.ceil(pr.max(0)).astype(np.int64) + 1,
            np.floor(pc.min(0)).astype(np.int64) - 1, np.ceil(pc.max(0)).astype(np.int64) + 1)


@register("coverage_count", "cpu")
def coverage_count_cpu(shape, rows, cols, radius, azimuth_deg, hfov_deg, strategy):
    """int32 count grid of ``shape``.

    ``rows``, ``cols``, ``radius`` are float64 arrays of one length (cell units; radius > 0).
    ``azimuth_deg``/``hfov_deg`` are float64 arrays of that length, or None for disks.
    ``strategy`` is ``"stamp"`` or ``"sweep"`` (disks only).
    """
    nrows, ncols = int(shape[0]), int(shape[1])
    if rows.shape[0] == 0:
        return np.zeros((nrows, ncols), np.int32)
    out = np.empty((nrows, ncols), np.int32)  # every cell is written by the kernels
    band_ptr, members = _band_lists(nrows, _BAND_ROWS, rows, radius)
    sectors = azimuth_deg is not None
    with numba.parallel_chunksize(1):  # bands handed out one at a time
        if sectors:
            az = np.deg2rad(azimuth_deg)
            half = np.deg2rad(np.minimum(hfov_deg, 360.0)) / 2.0
            ux, uy = np.sin(az), np.cos(az)
            cosh = np.cos(half)
            cosh[hfov_deg >= 360.0] = -2.0  # full circle: every direction passes
            by0, by1, bx0, bx1 = _sector_boxes(rows, cols, radius, azimuth_deg, hfov_deg)
            _stamp(out, rows, cols, radius, band_ptr, members, _BAND_ROWS, True, ux, uy, cosh, by0, by1, bx0, bx1)
        elif strategy == "sweep":
            _sweep(out, rows, cols, radius, band_ptr, members, _BAND_ROWS)
        else:
            dummy = np.zeros(1)
            box = np.zeros(1, np.int64)
            _stamp(out, rows, cols, radius, band_ptr, members, _BAND_ROWS, False, dummy, dummy, dummy, box, box, box, box)
    return out


@njit(parallel=True)
def sector_rings(x, y, ro, ri, start_deg, span_deg, nseg, full):
    """Vertices of sector, annular-sector and disk polygons, as flat rings (GeoArrow layout).

    Sector i has its apex at (x, y), outer radius ``ro`` and inner radius ``ri`` (0: none),
    its arc from bearing ``start_deg`` clockwise over ``span_deg`` (0 = north) in ``nseg``
    chords; arc vertex q lies at ``start + q * span / nseg`` (q = nseg exactly at the end).
    Its shell is the apex (no blind zone), the outer arc and the inner arc back (a blind
    zone); a disk (``full``) is its arc without the repeated end, with the inner circle as a
    hole when ``ri > 0``. Every ring ends on its first vertex.

    Returns
    -------
    coords : (m, 2) float64, ring_offsets : int64 (rings + 1), polygon_offsets : int64 (n + 1)
        Each polygon's shell ring, then its hole when it has one.
    """
    n = x.shape[0]
    n_rings = np.empty(n, np.int64)
    ring_len = np.empty((n, 2), np.int64)
    for i in range(n):
        hollow = ri[i] > 0
        if full[i]:
            ring_len[i, 0] = nseg[i] + 1
            ring_len[i, 1] = nseg[i] + 1 if hollow else 0
        else:
            ring_len[i, 0] = (2 * (nseg[i] + 1) if hollow else nseg[i] + 2) + 1
            ring_len[i, 1] = 0
        n_rings[i] = 2 if ring_len[i, 1] > 0 else 1
    poly_offsets = np.zeros(n + 1, np.int64)
    poly_offsets[1:] = np.cumsum(n_rings)
    ring_offsets = np.zeros(poly_offsets[n] + 1, np.int64)
    for i in range(n):
        k = poly_offsets[i]
        ring_offsets[k + 1] = ring_offsets[k] + ring_len[i, 0]
        if n_rings[i] == 2:
            ring_offsets[k + 2] = ring_offsets[k + 1] + ring_len[i, 1]
    coords = np.empty((ring_offsets[-1], 2), np.float64)
    for i in numba.prange(n):
        step = span_deg[i] / nseg[i]
        o = ring_offsets[poly_offsets[i]]
        if not full[i] and ri[i] <= 0:
            coords[o, 0] = x[i]
            coords[o, 1] = y[i]
            o += 1
        last = nseg[i] if not full[i] else nseg[i] - 1
        for q in range(last + 1):
            _arc_vertex(coords, o, x[i], y[i], ro[i], start_deg[i], step, span_deg[i], q, nseg[i])
            o += 1
        if not full[i] and ri[i] > 0:
            for q in range(nseg[i], -1, -1):
                _arc_vertex(coords, o, x[i], y[i], ri[i], start_deg[i], step, span_deg[i], q, nseg[i])
                o += 1
        first = ring_offsets[poly_offsets[i]]
        coords[o, 0] = coords[first, 0]
        coords[o, 1] = coords[first, 1]
        if n_rings[i] == 2:
            o += 1
            first = o
            for q in range(nseg[i] - 1, -1, -1):
                _arc_vertex(coords, o, x[i], y[i], ri[i], start_deg[i], step, span_deg[i], q, nseg[i])
                o += 1
            coords[o, 0] = coords[first, 0]
            coords[o, 1] = coords[first, 1]
    return coords, ring_offsets, poly_offsets


@njit(inline="always")
def _arc_vertex(coords, o, x, y, radius, start_deg, step, span_deg, q, nseg):
    t = math.radians(start_deg + (span_deg if q == nseg else q * step))
    coords[o, 0] = x + radius * math.sin(t)
    coords[o, 1] = y + radius * math.cos(t)
