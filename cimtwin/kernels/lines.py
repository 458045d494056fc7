"""Length of line segments per raster cell key, by exact cell traversal.

A segment is cut at every cell edge it crosses (Amanatides–Woo stepping in the grid's own
column/row coordinates) and each piece's length is added to the key of the cell holding
the piece's midpoint. Pieces outside the grid are dropped. The sums are exact for zones
that are unions of cells (a class raster), with no polygon overlay.
"""

from __future__ import annotations

import math

import numpy as np

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
