"""Polygon burning by scanlines (numpy + numba only).

A polygon burns the cells whose centre lies inside it, by the even-odd rule over its rings
(so holes stay unburnt), with GDAL's conventions for centres on an edge: a scanline at a row
centre crosses an edge when ``y1 <= y < y2``, and a cell is burnt when its centre lies in
``(x_a, x_b]`` between two crossings. Polygons burn in order, a later one over an earlier.
Coordinates are in pixel units (column, row; row 0 at the top).
"""

from __future__ import annotations

import math

import numpy as np

from cimtwin.kernels._jit import njit

__all__ = ["burn_polygons"]


@njit
def burn_polygons(out, px, py, ring_offsets, poly_ring_offsets, values):
    """Burn polygon ``p`` (rings ``poly_ring_offsets[p]:poly_ring_offsets[p+1]``, each ring's
    closed coordinates ``ring_offsets[k]:ring_offsets[k+1]`` of ``px``/``py``) with ``values[p]``."""
    rows, cols = out.shape
    xs = np.empty(64, np.float64)
    for p in range(values.shape[0]):
        k0, k1 = poly_ring_offsets[p], poly_ring_offsets[p + 1]
        a, b = ring_offsets[k0], ring_offsets[k1]
        if b - a < 4:
            continue  # fewer than three distinct corners: no area
        ymin, ymax = py[a], py[a]
        for j in range(a, b):
            ymin = min(ymin, py[j])
            ymax = max(ymax, py[j])
        r0 = max(0, int(math.ceil(ymin - 0.5)))
        r1 = min(rows, int(math.ceil(ymax - 0.5)))
        for r in range(r0, r1):
            yc = r + 0.5
            n = 0
            for k in range(k0, k1):
                for j in range(ring_offsets[k], ring_offsets[k + 1] - 1):
                    y1, y2 = py[j], py[j + 1]
                    if (y1 <= yc < y2) or (y2 <= yc < y1):
                        if n == xs.shape[0]:
                            grown = np.empty(2 * n, np.float64)
                            grown[:n] = xs
                            xs = grown
                        xs[n] = px[j] + (yc - y1) * (px[j + 1] - px[j]) / (y2 - y1)
                        n += 1
            if n < 2:
                continue
            xs[:n].sort()
            v = values[p]
            for i in range(0, n - 1, 2):
                c0 = max(0, int(math.floor(xs[i] + 0.5)))
                c1 = min(cols, int(math.floor(xs[i + 1] + 0.5)))
                for c in range(c0, c1):
                    out[r, c] = v
    return out


@njit
def polygon_mask_areas(px, py, ring_offsets, poly_ring_offsets, nrows, ncols, mask):
    """Exact area of each polygon inside the grid and inside its True cells (cell units).

    The area of a polygon within each cell of its bounding box is accumulated edge by edge
    (each edge piece within one cell adds its trapezoid to that cell and the rest of its
    height to the cells east of it, summed up by one prefix sum per row), so a cell cut by
    the polygon's edge counts its exact share, not all or nothing. Rings: the first of a
    polygon is its shell, the others holes; either orientation.

    Returns
    -------
    (covered, inside): float64 arrays, one value per polygon, in squared cell widths.
    """
    npoly = poly_ring_offsets.shape[0] - 1
    covered = np.zeros(npoly, np.float64)
    inside = np.zeros(npoly, np.float64)
    for p in range(npoly):
        k0, k1 = poly_ring_offsets[p], poly_ring_offsets[p + 1]
        a, b = ring_offsets[k0], ring_offsets[k1]
        if b - a < 4:
            continue
        xmin, xmax, ymin, ymax = px[a], px[a], py[a], py[a]
        for j in range(a, b):
            xmin = min(xmin, px[j])
            xmax = max(xmax, px[j])
            ymin = min(ymin, py[j])
            ymax = max(ymax, py[j])
        c0 = max(0, int(math.floor(xmin)))
        c1 = min(ncols, int(math.ceil(xmax)))
        r0 = max(0, int(math.floor(ymin)))
        r1 = min(nrows, int(math.ceil(ymax)))
        if c1 <= c0 or r1 <= r0:
            continue
        acc = np.zeros((r1 - r0, c1 - c0), np.float64)
        for k in range(k0, k1):
            s, e = ring_offsets[k], ring_offsets[k + 1]
            twice = 0.0  # twice the ring's signed area: its orientation
            for j in range(s, e - 1):
                twice += px[j] * py[j + 1] - px[j + 1] * py[j]
            if twice == 0.0:
                continue
            # the accumulation below gives -area for a ring of positive signed area
            sign = (-1.0 if twice > 0.0 else 1.0) * (1.0 if k == k0 else -1.0)
            for j in range(s, e - 1):
                _edge_into_cells(acc, px[j], py[j], px[j + 1], py[j + 1], sign, r0, c0)
        for r in range(r1 - r0):
            run = 0.0
            for c in range(c1 - c0):
                run += acc[r, c]
                inside[p] += run
                if mask[r0 + r, c0 + c]:
                    covered[p] += run
    return covered, inside


@njit
def _edge_into_cells(acc, xa, ya, xb, yb, sign, r0, c0):
    """Add one polygon edge's share of area to the accumulation rows of ``acc`` (origin r0, c0)."""
    if ya == yb:
        return
    d = sign
    if ya > yb:  # walk downwards in rows; the edge's direction sets the sign
        xa, ya, xb, yb = xb, yb, xa, ya
        d = -sign
    nr, nc = acc.shape
    lo_r = max(ya, float(r0))
    hi_r = min(yb, float(r0 + nr))
    if hi_r <= lo_r:
        return
    slope = (xb - xa) / (yb - ya)
    for r in range(int(math.floor(lo_r)), int(math.ceil(hi_r))):
        y0 = max(lo_r, float(r))
        y1 = min(hi_r, float(r + 1))
        if y1 <= y0:
            continue
        dy = y1 - y0
        xs = xa + (y0 - ya) * slope
        xe = xa + (y1 - ya) * slope
        lo, hi = min(xs, xe), max(xs, xe)
        # cut the row's piece at every column edge; each part lies in one column
        x = lo
        while True:
            nxt = min(hi, math.floor(x) + 1.0)
            part = dy if hi == lo else dy * (nxt - x) / (hi - lo)
            xmid = 0.5 * (x + nxt) if hi > lo else lo
            c = int(math.floor(xmid)) - c0
            if c < 0:
                acc[r - r0, 0] += d * part  # west of the box: the whole row east of it
            elif c < nc:
                inner = d * part * (c + c0 + 1.0 - xmid)
                acc[r - r0, c] += inner
                if c + 1 < nc:
                    acc[r - r0, c + 1] += d * part - inner
            if nxt >= hi:
                break
            x = nxt
