"""Length of line segments per raster cell key, by exact cell traversal.

A segment is cut at every cell edge it crosses (Amanatides–Woo stepping in the grid's own
column/row coordinates) and each piece's length is added to the key of the cell holding
the piece's midpoint. Pieces outside the grid are dropped. The sums are exact for zones
that are unions of cells (a class raster), with no polygon overlay.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from cimtwin.kernels._jit import njit


@njit
def segment_lengths_by_key(col0, row0, col1, row1, length, key, nkeys):
    """Sum ``length`` of each segment over the keys of the cells it crosses.

    :func:`segment_lengths_by_group_key` with every segment in one group.

    Parameters
    ----------
    col0, row0, col1, row1 : float64 arrays
        Segment ends in continuous cell coordinates (column, row; cell (r, c) spans
        [c, c+1) x [r, r+1)).
    length : float64 array
        Each segment's length in world units (split in proportion to the parameter).
    key : int64 2-D array
        Key of every cell, in ``0..nkeys-1``; a negative key drops the piece.
    nkeys : int

    Returns
    -------
    float64 array of ``nkeys`` sums.
    """
    group = np.zeros(col0.shape[0], np.int64)
    no_values = np.zeros((0, 0), np.float32)
    return segment_lengths_by_group_key(col0, row0, col1, row1, length, group, 1, key, nkeys, no_values)[0][0]


@njit
def segment_lengths_by_group_key(col0, row0, col1, row1, length, group, ngroups, key, nkeys, values):
    """Sum ``length`` of each segment over (its group, the key of each cell it crosses);
    also the largest of ``values`` over the cells each group crosses.

    Parameters
    ----------
    col0, row0, col1, row1, length
        As in :func:`segment_lengths_by_key`.
    group : int64 array
        Group of each segment in ``0..ngroups-1`` (the feature it belongs to).
    ngroups : int
    key : 2-D integer array
        Key of every cell in ``0..nkeys-1`` (any integer dtype: a boolean mask viewed as
        int8 needs no copy); a negative key drops the piece.
    nkeys : int
    values : 2-D float array on the grid, or shape (0, 0) for none
        Its largest value over the cells each group crosses (NaN cells skipped).

    Returns
    -------
    (float64 array (ngroups, nkeys), float64 array (ngroups,): the maxima, -inf where a
    group crosses no cell with a value, or where no ``values`` are given).
    """
    rows, cols = key.shape
    out = np.zeros((ngroups, nkeys), np.float64)
    vmax = np.full(ngroups, -np.inf)
    with_values = values.shape[0] > 0
    for s in range(col0.shape[0]):
        ax, ay = col0[s], row0[s]
        dx, dy = col1[s] - ax, row1[s] - ay
        # clip the parameter range to the grid (Liang–Barsky)
        t0, t1 = 0.0, 1.0
        ok = True
        for p, q in ((-dx, ax), (dx, cols - ax), (-dy, ay), (dy, rows - ay)):
            if p == 0.0:
                if q < 0.0:
                    ok = False
            else:
                r = q / p
                if p < 0.0:
                    if r > t0:
                        t0 = r
                else:
                    if r < t1:
                        t1 = r
        if not ok or t1 <= t0:
            continue
        # next vertical and horizontal grid line crossed after t0
        if dx > 0.0:
            kx = math.floor(ax + t0 * dx) + 1.0
            stepx = 1.0
        elif dx < 0.0:
            kx = math.ceil(ax + t0 * dx) - 1.0
            stepx = -1.0
        else:
            kx = 0.0
            stepx = 0.0
        if dy > 0.0:
            ky = math.floor(ay + t0 * dy) + 1.0
            stepy = 1.0
        elif dy < 0.0:
            ky = math.ceil(ay + t0 * dy) - 1.0
            stepy = -1.0
        else:
            ky = 0.0
            stepy = 0.0
        t = t0
        while t < t1:
            tx = (kx - ax) / dx if stepx != 0.0 else math.inf
            ty = (ky - ay) / dy if stepy != 0.0 else math.inf
            tn = min(tx, ty, t1)
            if tn > t:
                tm = 0.5 * (t + tn)
                c = int(math.floor(ax + tm * dx))
                r = int(math.floor(ay + tm * dy))
                c = min(max(c, 0), cols - 1)
                r = min(max(r, 0), rows - 1)
                k = key[r, c]
                if k >= 0:
                    out[group[s], k] += (tn - t) * length[s]
                if with_values and length[s] > 0.0 and values[r, c] > vmax[group[s]]:
                    vmax[group[s]] = values[r, c]
            if tx <= tn:
                kx += stepx
            if ty <= tn:
                ky += stepy
            t = tn
    return out, vmax


@njit
def split_polylines(xy, start, cut_start, cut_pos, cut_xy):
    """Cut polylines at distances along them; the pieces as one vertex array.

    Parameters
    ----------
    xy : (m, 2) float64 array
        Vertices of every line, line after line.
    start : int64 array of n + 1
        Line ``i`` is ``xy[start[i]:start[i + 1]]`` (at least two vertices).
    cut_start : int64 array of n + 1
        Line ``i``'s cut distances are ``cut_pos[cut_start[i]:cut_start[i + 1]]``, increasing,
        each strictly inside the line (0 < d < length; one within 1e-9 of the end is dropped).
    cut_pos : float64 array
    cut_xy : (c, 2) float64 array
        Where each cut puts the ends of its two pieces (a crossing point, so that the pieces
        of both lines end on the very same point), or NaN to take the point at ``cut_pos``.

    Returns
    -------
    out : (k, 2) float64 array
        Vertices of the pieces, piece after piece: a piece runs from one cut (or the line's
        start) to the next, with the line's vertices strictly between; a cut that falls on
        a vertex is that vertex.
    piece_start : int64 array of p + 1
        Piece ``j`` is ``out[piece_start[j]:piece_start[j + 1]]``.
    source : int64 array of p
        The line each piece comes from.
    """
    n = start.shape[0] - 1
    n_cuts = cut_pos.shape[0]
    out = np.empty((xy.shape[0] + 2 * n_cuts, 2), np.float64)
    piece_start = np.empty(n + n_cuts + 1, np.int64)
    source = np.empty(n + n_cuts, np.int64)
    k = 0  # next output vertex
    p = 0  # next piece
    for i in range(n):
        s, e = start[i], start[i + 1]
        ci, ce = cut_start[i], cut_start[i + 1]
        piece_start[p] = k
        source[p] = i
        p += 1
        out[k, 0], out[k, 1] = xy[s, 0], xy[s, 1]
        k += 1
        m0 = 0.0  # distance of vertex j - 1 along the line
        for j in range(s + 1, e):
            dx, dy = xy[j, 0] - xy[j - 1, 0], xy[j, 1] - xy[j - 1, 1]
            m1 = m0 + math.sqrt(dx * dx + dy * dy)
            on_vertex = False
            while ci < ce and (cut_pos[ci] <= m1 or j == e - 1):
                c = cut_pos[ci]
                if j == e - 1 and c >= m1 - 1e-9:  # at the end (by rounding): no piece to cut off
                    ci += 1
                    continue
                if c >= m1:  # on this vertex: the vertex itself
                    x, y = xy[j, 0], xy[j, 1]
                    on_vertex = j < e - 1
                elif math.isnan(cut_xy[ci, 0]):
                    t = (c - m0) / (m1 - m0)
                    x, y = xy[j - 1, 0] + t * dx, xy[j - 1, 1] + t * dy
                else:
                    x, y = cut_xy[ci, 0], cut_xy[ci, 1]
                # close the piece at the cut and open the next one there
                out[k, 0], out[k, 1] = x, y
                k += 1
                piece_start[p] = k
                source[p] = i
                p += 1
                out[k, 0], out[k, 1] = x, y
                k += 1
                ci += 1
            if not on_vertex:
                out[k, 0], out[k, 1] = xy[j, 0], xy[j, 1]
                k += 1
            m0 = m1
    piece_start[p] = k
    return out[:k], piece_start[: p + 1], source[:p]


@njit
def merge_sorted_intervals(key, start, end):
    """Union of intervals per key: ``(key, start, end)`` sorted by key then start, merged where they overlap or touch.

    Returns the merged ``key``, ``start`` and ``end`` arrays, in the same order.
    """
    n = key.shape[0]
    k_out = np.empty(n, key.dtype)
    s_out = np.empty(n, np.float64)
    e_out = np.empty(n, np.float64)
    m = -1
    for i in range(n):
        if m >= 0 and key[i] == k_out[m] and start[i] <= e_out[m]:
            e_out[m] = max(e_out[m], end[i])
        else:
            m += 1
            k_out[m], s_out[m], e_out[m] = key[i], start[i], end[i]
    return k_out[: m + 1], s_out[: m + 1], e_out[: m + 1]


@njit
def sub_polylines(xy, start, line, d_from, d_to):
    """The parts of polylines between two distances along them, as one vertex array.

    Part ``k`` runs along line ``line[k]`` (``xy[start[i]:start[i + 1]]``, as in
    :func:`split_polylines`) from ``d_from[k]`` to ``d_to[k]`` metres (clamped to the line):
    the point at ``d_from``, the vertices strictly between, the point at ``d_to``.

    Returns ``(out, piece_start)``: part ``k`` is ``out[piece_start[k]:piece_start[k + 1]]``.
    """
    n_parts = line.shape[0]
    cap = 0
    for k in range(n_parts):
        cap += start[line[k] + 1] - start[line[k]] + 2
    out = np.empty((cap, 2), np.float64)
    piece_start = np.empty(n_parts + 1, np.int64)
    q = 0
    for k in range(n_parts):
        s, e = start[line[k]], start[line[k] + 1]
        a, b = d_from[k], d_to[k]
        piece_start[k] = q
        m0 = 0.0
        started = False
        for j in range(s + 1, e):
            dx, dy = xy[j, 0] - xy[j - 1, 0], xy[j, 1] - xy[j - 1, 1]
            seg = math.sqrt(dx * dx + dy * dy)
            m1 = m0 + seg
            last = j == e - 1
            if not started and (a <= m1 or last):
                t = min(1.0, max(0.0, (a - m0) / seg)) if seg > 0 else 0.0
                out[q, 0], out[q, 1] = xy[j - 1, 0] + t * dx, xy[j - 1, 1] + t * dy
                q += 1
                started = True
            if started:
                if b <= m1 or last:
                    t = min(1.0, max(0.0, (b - m0) / seg)) if seg > 0 else 1.0
                    out[q, 0], out[q, 1] = xy[j - 1, 0] + t * dx, xy[j - 1, 1] + t * dy
                    q += 1
                    break
                if a < m1:  # the vertex lies strictly between the two points
                    out[q, 0], out[q, 1] = xy[j, 0], xy[j, 1]
                    q += 1
            m0 = m1
    piece_start[n_parts] = q
    return out[:q], piece_start


# How near a point must be to a segment to count as on it, relative to the largest
# coordinate magnitude: rounding is some 1e-16 of it, while GEOS settles nearly collinear
# segments and nearly touching ends through rounded intersection points, and may find a
# sliver of shared length there. Everything within this far wider margin (2e-5 m at
# 3.5e6 m) is left to it.
_NEAR_REL = 1e-12


@njit
def _orient(ax, ay, bx, by, cx, cy):
    """Twice the signed area of triangle abc: ``|ab|`` times c's signed distance from the line ab."""
    return (ax - cx) * (by - cy) - (ay - cy) * (bx - cx)


@njit
def _tolerance(ax, ay, bx, by, cx, cy, dx, dy):
    """The nearness tolerance of segments ab and cd: ``_NEAR_REL`` of their largest coordinate."""
    return _NEAR_REL * max(max(max(abs(ax), abs(ay)), max(abs(bx), abs(by))),
                           max(max(abs(cx), abs(cy)), max(abs(dx), abs(dy))))


@njit
def _boxes_apart(ax, ay, bx, by, cx, cy, dx, dy, tol):
    """True when the boxes of segments ab and cd are more than ``tol`` apart."""
    return (max(cx, dx) < min(ax, bx) - tol or min(cx, dx) > max(ax, bx) + tol
            or max(cy, dy) < min(ay, by) - tol or min(cy, dy) > max(ay, by) + tol)


@njit
def _off_line(ax, ay, bx, by, cx, cy, tol):
    """True when c is farther than ``tol`` from the line through a and b."""
    # |ab|_1 >= |ab|: a safe bound on the distance
    return abs(_orient(ax, ay, bx, by, cx, cy)) > tol * (abs(bx - ax) + abs(by - ay))


@njit
def _near_segment(ax, ay, bx, by, cx, cy, tol):
    """True when c is within ``tol`` of segment ab but is neither of its ends exactly."""
    if (cx == ax and cy == ay) or (cx == bx and cy == by):
        return False
    ux, uy = bx - ax, by - ay
    den = ux * ux + uy * uy
    t = 0.0 if den == 0.0 else min(1.0, max(0.0, ((cx - ax) * ux + (cy - ay) * uy) / den))
    ex, ey = ax + t * ux - cx, ay + t * uy - cy
    return ex * ex + ey * ey <= 4.0 * tol * tol


@njit
def _segments_may_share(ax, ay, bx, by, cx, cy, dx, dy):
    """May segments ab and cd share a length, in GEOS's rounding? False only when clearly not."""
    tol = _tolerance(ax, ay, bx, by, cx, cy, dx, dy)
    if _boxes_apart(ax, ay, bx, by, cx, cy, dx, dy, tol):
        return False
    if not _off_line(ax, ay, bx, by, cx, cy, tol) and not _off_line(ax, ay, bx, by, dx, dy, tol):
        return True  # collinear or nearly so
    # an end on or next to the other segment, other than at a shared end: GEOS may snap there
    return (_near_segment(ax, ay, bx, by, cx, cy, tol) or _near_segment(ax, ay, bx, by, dx, dy, tol)
            or _near_segment(cx, cy, dx, dy, ax, ay, tol) or _near_segment(cx, cy, dx, dy, bx, by, tol))


@njit
def polylines_may_overlap(xy, start, a, b):
    """For each pair ``(a[k], b[k])`` of polylines: may their interiors share a length?

    Lines share a length only where a segment of one is collinear with a segment of the
    other. ``False``: no two segments are collinear or nearly so, and none ends on or
    next to the other except at a shared end (the usual junction of two streets), each
    far beyond rounding (``_NEAR_REL``). ``True``: the caller decides exactly (GEOS).
    ``xy``/``start`` as in :func:`split_polylines`; for lines that do not cross or touch
    themselves (GEOS nodes such a line first and may find slivers the test cannot see).
    """
    return _flag_pairs(xy, start, a, b, False)


@njit
def _same_side(ax, ay, bx, by, cx, cy, dx, dy, tol):
    """True when c and d are both clearly off the line through a and b, on the same side."""
    if not (_off_line(ax, ay, bx, by, cx, cy, tol) and _off_line(ax, ay, bx, by, dx, dy, tol)):
        return False
    return (_orient(ax, ay, bx, by, cx, cy) > 0.0) == (_orient(ax, ay, bx, by, dx, dy) > 0.0)


@njit
def _segments_meet_only_at_ends(ax, ay, bx, by, cx, cy, dx, dy, a_end, b_end, c_end, d_end):
    """True when segments ab and cd clearly meet nowhere, or only at one shared vertex that
    ends both lines (``*_end``: the vertex is its line's first or last)."""
    tol = _tolerance(ax, ay, bx, by, cx, cy, dx, dy)
    if _boxes_apart(ax, ay, bx, by, cx, cy, dx, dy, tol):
        return True
    if _same_side(ax, ay, bx, by, cx, cy, dx, dy, tol) or _same_side(cx, cy, dx, dy, ax, ay, bx, by, tol):
        return True
    # one exactly shared vertex, ending both lines, and each segment's other end clearly
    # off the other's line (not collinear): that vertex is all they share
    for s in range(2):
        px, py, p_end, ox, oy = (ax, ay, a_end, bx, by) if s == 0 else (bx, by, b_end, ax, ay)
        for t in range(2):
            qx, qy, q_end, rx, ry = (cx, cy, c_end, dx, dy) if t == 0 else (dx, dy, d_end, cx, cy)
            if px == qx and py == qy:
                return (p_end and q_end and _off_line(ax, ay, bx, by, rx, ry, tol)
                        and _off_line(cx, cy, dx, dy, ox, oy, tol))
    return False


@njit
def polylines_may_cross(xy, start, a, b):
    """For each pair ``(a[k], b[k])`` of polylines: may they meet other than at ends of both?

    ``False``: every pair of their segments clearly misses (far beyond rounding, see
    ``_NEAR_REL``) or shares one vertex that is the first or last of both lines (the usual
    junction of two streets): noding cuts neither there. ``True``: the caller intersects
    them exactly (GEOS). ``xy``/``start`` as in :func:`split_polylines`; for lines that
    do not cross or touch themselves, as :func:`polylines_may_overlap`.
    """
    return _flag_pairs(xy, start, a, b, True)


@njit
def _pair_flagged(xy, start, i, j, cross):
    """Does some pair of segments of lines ``i`` and ``j`` fail the test (see :func:`_flag_pairs`)?"""
    i0, i1, j0, j1 = start[i], start[i + 1] - 1, start[j], start[j + 1] - 1
    for p in range(i0, i1):
        for q in range(j0, j1):
            ax, ay, bx, by = xy[p, 0], xy[p, 1], xy[p + 1, 0], xy[p + 1, 1]
            cx, cy, dx, dy = xy[q, 0], xy[q, 1], xy[q + 1, 0], xy[q + 1, 1]
            if cross:
                if not _segments_meet_only_at_ends(ax, ay, bx, by, cx, cy, dx, dy,
                                                   p == i0, p + 1 == i1, q == j0, q + 1 == j1):
                    return True
            elif _segments_may_share(ax, ay, bx, by, cx, cy, dx, dy):
                return True
    return False


@njit(parallel=True)
def _flag_pairs(xy, start, a, b, cross):
    """Per pair ``(a[k], b[k])``: may the lines cross (``cross``) or share a length, in parallel."""
    out = np.zeros(a.shape[0], np.bool_)
    for k in prange(a.shape[0]):
        out[k] = _pair_flagged(xy, start, a[k], b[k], cross)
    return out
