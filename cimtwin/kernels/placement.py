"""Maximal-covering placement kernels: candidate → demand incidence (CSR) and lazy greedy.

``disk_incidence`` lists, for each candidate site, the demand cells within a radius (cell
units, cell centres at integer positions, boundary inclusive) as a CSR matrix
(``indptr``, ``indices`` into the demand array).

``lazy_greedy`` picks candidates one at a time by the largest uncovered demand weight they
add. Coverage is submodular, so a candidate's gain only shrinks as others are chosen: a
stale gain is an upper bound, and a candidate whose recomputed gain still tops the heap is
the true best (Minoux's lazy evaluation). The greedy answer covers at least (1 - 1/e) of the
optimum for a fixed number of sites (Nemhauser, Wolsey and Fisher 1978). Ties go to the
lower candidate index, so results are deterministic.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cimtwin.kernels._jit import njit


@njit
def _disk_cells(r0, c0, radius, rows, cols, demand_index, out, write):
    n = 0
    ra = max(0, int(math.ceil(r0 - radius)))
    rb = min(rows - 1, int(math.floor(r0 + radius)))
    r2 = radius * radius
    for i in range(ra, rb + 1):
        dr = i - r0
        h2 = r2 - dr * dr
        if h2 < 0:
            continue
        h = math.sqrt(h2)
        ca = max(0, int(math.ceil(c0 - h)))
        cb = min(cols - 1, int(math.floor(c0 + h)))
        for j in range(ca, cb + 1):
            dc = j - c0
            if dc * dc + dr * dr > r2:
                continue
            d = demand_index[i * cols + j]
            if d >= 0:
                if write:
                    out[n] = d
                n += 1
    return n


@njit(parallel=True)
def disk_incidence(rows, cols, demand_index, cand_row, cand_col, radius):
    """CSR (indptr int64, indices int64) of demand cells within ``radius`` of each candidate.

    ``demand_index`` is a flat (rows*cols) int64 map from grid cell to demand id, -1 where
    the cell is not demand. ``cand_row``/``cand_col``/``radius`` are float64 in cell units.
    """
    n = cand_row.shape[0]
    counts = np.zeros(n + 1, np.int64)
    dummy = np.zeros(1, np.int64)
    for s in numba.prange(n):
        counts[s + 1] = _disk_cells(cand_row[s], cand_col[s], radius[s], rows, cols, demand_index, dummy, False)
    indptr = np.cumsum(counts)
    indices = np.empty(indptr[n], np.int64)
    for s in numba.prange(n):
        _disk_cells(cand_row[s], cand_col[s], radius[s], rows, cols, demand_index,
                    indices[indptr[s]:indptr[s + 1]], True)
    return indptr, indices


@njit
def _better(ga, ia, gb, ib):
    return ga > gb or (ga == gb and ia < ib)


@njit
def _sift_down(gain, cand, size, pos):
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        best = left
        right = left + 1
        if right < size and _better(gain[right], cand[right], gain[left], cand[left]):
            best = right
        if _better(gain[best], cand[best], gain[pos], cand[pos]):
            gain[best], gain[pos] = gain[pos], gain[best]
            cand[best], cand[pos] = cand[pos], cand[best]
            pos = best
        else:
            return


@njit
def _gain(c, indptr, indices, weights, covered):
    g = 0.0
    for p in range(indptr[c], indptr[c + 1]):
        d = indices[p]
        if not covered[d]:
            g += weights[d]
    return g


@njit
def lazy_greedy(indptr, indices, weights, covered_in, max_sites, target_weight):
    """Greedy maximal covering with lazy gain evaluation.

    Stops after ``max_sites`` picks, once the covered weight reaches ``target_weight``, or
    when no candidate adds anything. Returns (chosen int64, gains float64, evaluations int64):
    the picks in order, the weight each added, and how many gains were computed.
    """
    n = indptr.shape[0] - 1
    covered = covered_in.copy()
    total = 0.0
    for d in range(weights.shape[0]):
        if covered[d]:
            total += weights[d]
    gain = np.empty(n, np.float64)
    cand = np.empty(n, np.int64)
    for c in range(n):
        gain[c] = _gain(c, indptr, indices, weights, covered)
        cand[c] = c
    evaluations = n
    size = n
    for pos in range(n // 2 - 1, -1, -1):
        _sift_down(gain, cand, size, pos)
    chosen = np.empty(min(max_sites, n), np.int64)
    gains = np.empty(min(max_sites, n), np.float64)
    k = 0
    while k < chosen.shape[0] and size > 0 and total < target_weight:
        c = cand[0]
        g = _gain(c, indptr, indices, weights, covered)
        evaluations += 1
        # remove the top
        size -= 1
        gain[0] = gain[size]
        cand[0] = cand[size]
        _sift_down(gain, cand, size, 0)
        if size == 0 or not _better(gain[0], cand[0], g, c):
            if g <= 0.0:
                break
            chosen[k] = c
            gains[k] = g
            k += 1
            total += g
            for p in range(indptr[c], indptr[c + 1]):
                covered[indices[p]] = True
        else:
            # stale bound: push back with the fresh gain
            pos = size
            gain[pos] = g
            cand[pos] = c
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if _better(gain[pos], cand[pos], gain[parent], cand[parent]):
                    gain[pos], gain[parent] = gain[parent], gain[pos]
                    cand[pos], cand[parent] = cand[parent], cand[pos]
                    pos = parent
                else:
                    break
    return chosen[:k], gains[:k], evaluations
