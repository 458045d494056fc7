"""Nearest line segment for many points, by a uniform bucket grid.

Every segment is filed under each grid cell its bounding box touches; a point searches
square rings of cells around its own cell, growing until the best segment found is
nearer than anything outside the rings can be (``ring * cell``) or the ring passes the
search radius. Points run in parallel (``prange``); each point's answer does not depend on
the others, so the result is the same with any thread count.

Ties (two segments at exactly the same distance) go to the lower segment number, so the
answer does not depend on the order in which cells are visited.

Once a point's line is known, ``locate_on_polylines`` says how far along that line its
nearest point lies (the same point-segment cost, no grid needed).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from cimtwin.kernels._jit import njit


@njit
def bucket_segments(x0, y0, x1, y1, xmin, ymin, cell, ncols, nrows):
    """File segments under the grid cells their bounding boxes touch.

    Returns ``(indptr, items)``: the segments of cell ``r * ncols + c`` are
    ``items[indptr[k]:indptr[k + 1]]``, in increasing segment order.
    """
    n = x0.shape[0]
    counts = np.zeros(ncols * nrows + 1, np.int64)
    fill = counts[:0]
    items = np.empty(0, np.int64)
    for rnd in range(2):  # count per cell, then file
        if rnd == 1:
            indptr = np.cumsum(counts)
            fill = indptr[:-1].copy()
            items = np.empty(indptr[-1], np.int64)
        for s in range(n):
            c0 = max(int((min(x0[s], x1[s]) - xmin) / cell), 0)
            c1 = min(int((max(x0[s], x1[s]) - xmin) / cell), ncols - 1)
            r0 = max(int((min(y0[s], y1[s]) - ymin) / cell), 0)
            r1 = min(int((max(y0[s], y1[s]) - ymin) / cell), nrows - 1)
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    k = r * ncols + c
                    if rnd == 0:
                        counts[k + 1] += 1
                    else:
                        items[fill[k]] = s
                        fill[k] += 1
    return np.cumsum(counts), items


@njit
def _point_segment(px, py, ax, ay, bx, by):
    """Squared distance from a point to segment a-b and the parameter (0..1) of the foot."""
    dx = bx - ax
    dy = by - ay
    l2 = dx * dx + dy * dy
    t = 0.0
    if l2 > 0.0:
        t = ((px - ax) * dx + (py - ay) * dy) / l2
        t = min(max(t, 0.0), 1.0)
    qx = ax + t * dx - px
    qy = ay + t * dy - py
    return qx * qx + qy * qy, t


@njit(parallel=True)
def nearest_segments(px, py, x0, y0, x1, y1, indptr, items, xmin, ymin, cell, ncols, nrows, max_d):
    """For each point, the nearest segment within ``max_d`` and where its foot lies.

    Returns ``(segment, t, dist)``: the segment number (-1 when none lies within
    ``max_d``), the foot's parameter along it (0 at ``x0, y0``) and the distance.
    """
    n = px.shape[0]
    seg = np.full(n, -1, np.int64)
    tt = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    for i in prange(n):
        x = px[i]
        y = py[i]
        fc = math.floor((x - xmin) / cell)
        fr = math.floor((y - ymin) / cell)
        # rings that cannot reach the grid at all are skipped
        far_c = max(0.0, -fc, fc - (ncols - 1))
        far_r = max(0.0, -fr, fr - (nrows - 1))
        start = int(max(far_c, far_r))
        best = np.inf
        best_s = -1
        best_t = 0.0
        lim = max_d * max_d
        ring = start
        while ring <= start + ncols + nrows:
            # everything not yet seen lies outside the rings done, at least (ring - 1) cells away
            if ring > start and (best <= ((ring - 1) * cell) ** 2 or (ring - 1) * cell > max_d):
                break
            for r in range(int(fr) - ring, int(fr) + ring + 1):
                if r < 0 or r >= nrows:
                    continue
                edge_row = r == int(fr) - ring or r == int(fr) + ring
                step = 1 if edge_row else 2 * ring
                c = int(fc) - ring
                while c <= int(fc) + ring:
                    if 0 <= c < ncols:
                        k = r * ncols + c
                        for j in range(indptr[k], indptr[k + 1]):
                            s = items[j]
                            d2, t = _point_segment(x, y, x0[s], y0[s], x1[s], y1[s])
                            if d2 <= lim and (d2 < best or (d2 == best and s < best_s)):
                                best = d2
                                best_s = s
                                best_t = t
                    c += step
            ring += 1
        if best_s >= 0:
            seg[i] = best_s
            tt[i] = best_t
            dist[i] = math.sqrt(best)
    return seg, tt, dist


def segment_grid(x0, y0, x1, y1):
    """A bucket grid for these segments: ``(indptr, items, xmin, ymin, cell, ncols, nrows)``.

    About one segment per cell, and never more cells than a few per segment.
    """
    if x0.size:
        xmin, ymin = float(min(x0.min(), x1.min())), float(min(y0.min(), y1.min()))
        xmax, ymax = float(max(x0.max(), x1.max())), float(max(y0.max(), y1.max()))
        typical = float(np.median(np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))))
    else:
        xmin = ymin = 0.0
        xmax = ymax = typical = 1.0
    span = max(xmax - xmin, ymax - ymin, 1.0)
    cell = max(typical, span / max(math.sqrt(4.0 * max(x0.size, 1)), 1.0), span * 1e-6)
    ncols = int((xmax - xmin) / cell) + 1
    nrows = int((ymax - ymin) / cell) + 1
    indptr, items = bucket_segments(x0, y0, x1, y1, xmin, ymin, cell, ncols, nrows)
    return indptr, items, xmin, ymin, cell, ncols, nrows


@njit(parallel=True)
def lines_near_points(px, py, skip_line, x0, y0, x1, y1, seg_line, indptr, items, xmin, ymin, cell, ncols, nrows,
                      max_d):
    """Every (point, line) pair with a segment of the line within ``max_d`` of the point.

    ``seg_line`` gives each segment's line; point i ignores the line ``skip_line[i]`` (its
    own). Returns ``(point, line)`` int64 arrays, sorted by point then line, each pair once.
    """
    n = px.shape[0]
    none = np.empty(0, np.int64)
    count = np.zeros(n + 1, np.int64)
    for i in prange(n):  # count the (possibly repeated) hits of each point, then file them
        count[i + 1] = _lines_near(i, px, py, skip_line, x0, y0, x1, y1, seg_line, indptr, items, xmin, ymin, cell,
                                   ncols, nrows, max_d, none, none, -1)
    at = np.cumsum(count)
    out_p = np.empty(at[-1], np.int64)
    out_l = np.empty(at[-1], np.int64)
    for i in prange(n):
        _lines_near(i, px, py, skip_line, x0, y0, x1, y1, seg_line, indptr, items, xmin, ymin, cell, ncols, nrows,
                    max_d, out_p, out_l, at[i])
    # a line met in several cells or by several segments is listed once
    lines = seg_line.max() + 1 if seg_line.size else 1
    key = np.unique(out_p * lines + out_l)
    return key // lines, key % lines


@njit
def _lines_near(i, px, py, skip_line, x0, y0, x1, y1, seg_line, indptr, items, xmin, ymin, cell, ncols, nrows,
                max_d, out_p, out_l, at):
    """The segments within ``max_d`` of point i (not of its own line): counted, and filed from ``at`` when ≥ 0."""
    x = px[i]
    y = py[i]
    c0 = max(int(math.floor((x - max_d - xmin) / cell)), 0)
    c1 = min(int(math.floor((x + max_d - xmin) / cell)), ncols - 1)
    r0 = max(int(math.floor((y - max_d - ymin) / cell)), 0)
    r1 = min(int(math.floor((y + max_d - ymin) / cell)), nrows - 1)
    m = 0
    for r in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            k = r * ncols + c
            for j in range(indptr[k], indptr[k + 1]):
                s = items[j]
                if seg_line[s] != skip_line[i] and _point_segment(x, y, x0[s], y0[s], x1[s], y1[s])[0] <= max_d * max_d:
                    if at >= 0:
                        out_p[at + m] = i
                        out_l[at + m] = seg_line[s]
                    m += 1
    return m


@njit(parallel=True)
def locate_on_polylines(xy, start, line, px, py):
    """How far along line ``line[i]`` its point nearest to ``(px[i], py[i])`` lies, for every i.

    What GEOS's ``line_locate_point`` returns (the first segment at the least distance; the
    foot's distance from the line's start, segment lengths summed in order), without a
    shapely point per query: millions of (road end, road) pairs when noding a city.
    ``xy[start[k]:start[k + 1]]`` are line k's vertices.
    """
    n = line.shape[0]
    out = np.empty(n, np.float64)
    for i in prange(n):
        best = np.inf
        pos = 0.0
        m0 = 0.0  # distance of the segment's start along the line
        for j in range(start[line[i]] + 1, start[line[i] + 1]):
            ax, ay, bx, by = xy[j - 1, 0], xy[j - 1, 1], xy[j, 0], xy[j, 1]
            d2, t = _point_segment(px[i], py[i], ax, ay, bx, by)
            length = math.sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay))
            if d2 < best:
                best = d2
                pos = m0 + t * length
            m0 += length
        out[i] = pos
    return out
