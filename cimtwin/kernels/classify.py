"""Optimal 1-D classification: Fisher–Jenks natural breaks (numpy + numba only).

Fisher's (1958) exact partition of sorted values into ``k`` consecutive classes with the
least total within-class sum of squared deviations (Jenks' natural breaks). It runs on the
distinct values with their counts as weights, so a break always falls between two
different values and no class is empty. The dynamic programme

    D[c][m] = min over i of  D[c - 1][i - 1] + SSE(i .. m)

is solved row by row by divide and conquer: the best start ``i`` of the last class never
moves left as ``m`` grows (the within-class SSE obeys the quadrangle inequality; the
argument behind Ckmeans.1d.dp, Wang & Song 2011), so each row costs O(u log u) instead of
O(u^2) for u distinct values. Sums are float64 prefix sums of values centred on their mean
(less cancellation).
"""

from __future__ import annotations

import numpy as np

from cimtwin.kernels._jit import njit

__all__ = ["fisher_jenks_breaks", "sse_of_breaks"]


@njit
def _sse(cw, cs, cq, i, j):
    """Weighted sum of squared deviations of distinct values ``i .. j`` (inclusive)."""
    w = cw[j + 1] - cw[i]
    s = cs[j + 1] - cs[i]
    return max(0.0, (cq[j + 1] - cq[i]) - s * s / w)


@njit
def _row(prev, cur, opt, c, cw, cs, cq, lo, hi, olo, ohi):
    """Fill ``cur[lo..hi]`` (best cost of ``c + 1`` classes over values ``0..m``); the last
    class starts in ``[olo, ohi]``. An explicit stack instead of recursion."""
    stack = np.empty((64, 4), np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = lo, hi, olo, ohi
    top = 1
    while top > 0:
        top -= 1
        a, b, oa, ob = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        if a > b:
            continue
        m = (a + b) >> 1
        best = np.inf
        arg = max(oa, c)
        for i in range(max(oa, c), min(m, ob) + 1):  # the last class is values i..m
            v = prev[i - 1] + _sse(cw, cs, cq, i, m)
            if v < best:  # the leftmost of equal costs: starts stay monotone
                best = v
                arg = i
        cur[m] = best
        opt[c, m] = arg
        stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = a, m - 1, oa, arg
        stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2], stack[top + 1, 3] = m + 1, b, arg, ob
        top += 2


@njit
def _fisher_jenks(u, w, k):
    n = u.size
    mean = (u * w).sum() / w.sum()
    cw = np.zeros(n + 1)
    cs = np.zeros(n + 1)
    cq = np.zeros(n + 1)
    for j in range(n):
        d = u[j] - mean
        cw[j + 1] = cw[j] + w[j]
        cs[j + 1] = cs[j] + w[j] * d
        cq[j + 1] = cq[j] + w[j] * d * d
    opt = np.zeros((k, n), np.int64)
    prev = np.empty(n)
    for m in range(n):
        prev[m] = _sse(cw, cs, cq, 0, m)
    cur = np.empty(n)
    for c in range(1, k):
        cur[:c] = np.inf  # fewer values than classes
        _row(prev, cur, opt, c, cw, cs, cq, c, n - 1, c, n - 1)
        prev, cur = cur, prev
    upper = np.empty(k)
    end = n - 1
    for c in range(k - 1, -1, -1):
        upper[c] = u[end]
        end = opt[c, end] - 1
    return upper


def fisher_jenks_breaks(values, k):
    """Upper bounds of the ``k`` Fisher–Jenks classes of ``values`` (the last is the maximum).

    Parameters
    ----------
    values : array_like
        Finite numbers (any order, repeats allowed).
    k : int
        Classes, at most the number of distinct values.

    Returns
    -------
    numpy.ndarray
        float64, ``k`` increasing class maxima: class ``j`` holds the values in
        ``(upper[j - 1], upper[j]]``.

    Examples
    --------
    >>> fisher_jenks_breaks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    u, counts = np.unique(np.asarray(values, np.float64), return_counts=True)
    k = int(k)
    if not 1 <= k <= u.size:
        raise ValueError(f"k must be between 1 and the number of distinct values ({u.size}); got {k}.")
    return _fisher_jenks(u, counts.astype(np.float64), k)


def sse_of_breaks(values, upper):
    """Total within-class sum of squared deviations of ``values`` classed by ``upper``
    (class maxima, as :func:`fisher_jenks_breaks` returns them).

    Examples
    --------
    >>> sse_of_breaks([1, 2, 3, 10], [2.0, 10.0])  # {1, 2} and {3, 10}
    25.0
    """
    x = np.asarray(values, np.float64)
    cls = np.searchsorted(np.asarray(upper, np.float64), x, side="left")
    total = 0.0
    for c in np.unique(cls):
        part = x[cls == c]
        total += float(((part - part.mean()) ** 2).sum())
    return total
