"""Shortest-path kernels on CSR graphs (numpy + numba only).

A graph is three arrays: ``indptr`` (int32, n + 1), ``indices`` (int32, arcs) and
``weights`` (float64, arcs), the arcs of node ``u`` being ``indptr[u]:indptr[u + 1]``.
Weights must be finite and > 0 (the caller checks). Distances are float64 with ``inf``
where a node is not reached. Node numbers are 0..n-1 (positions, not user ids).

The priority queue is a lazy 4-ary heap (stale entries skipped when popped), sized by
the number of arcs. Callers get the best locality by numbering nodes spatially
(:func:`hilbert_codes`) before building the CSR.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from cimtwin.kernels._jit import njit
from cimtwin.kernels.heap import heap_capacity, heap_pop, heap_push

__all__ = [
    "build_csr",
    "dijkstra",
    "dijkstra_many",
    "k_nearest",
    "point_to_point",
    "point_to_point_batch",
    "dijkstra_dist",
    "astar_scale",
    "nearest_source",
    "nearest_source_parallel",
    "gather",
    "hilbert_codes",
    "seed_set_matrix",
]

_INF = np.inf
_NOT_SEEN = -1
_SETTLED = -2


# --------------------------------------------------------------------------- CSR build
@njit
def build_csr(n, u, v, w):
    """CSR of the arcs ``u -> v`` keeping, for parallel arcs, only the cheapest.

    Returns ``indptr, indices, weights, arc`` where ``arc`` is the position of the kept
    arc in the input arrays (to map a path back to an edge).
    """
    m = u.shape[0]
    count = np.zeros(n + 1, np.int64)
    for i in range(m):
        count[u[i] + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    fill = count[:-1].copy()
    tmp_idx = np.empty(m, np.int32)
    tmp_w = np.empty(m, np.float64)
    tmp_arc = np.empty(m, np.int32)
    for i in range(m):
        p = fill[u[i]]
        tmp_idx[p] = v[i]
        tmp_w[p] = w[i]
        tmp_arc[p] = i
        fill[u[i]] += 1
    # Drop parallel arcs, keeping the cheapest (ties: first given).
    last = np.full(n, -1, np.int64)
    indptr = np.zeros(n + 1, np.int32)
    indices = np.empty(m, np.int32)
    weights = np.empty(m, np.float64)
    arc = np.empty(m, np.int32)
    k = 0
    for a in range(n):
        start = k
        for p in range(count[a], count[a + 1]):
            b = tmp_idx[p]
            q = last[b]
            if q >= start:  # already an arc a -> b in this row
                if tmp_w[p] < weights[q]:
                    weights[q] = tmp_w[p]
                    arc[q] = tmp_arc[p]
                continue
            last[b] = k
            indices[k] = b
            weights[k] = tmp_w[p]
            arc[k] = tmp_arc[p]
            k += 1
        indptr[a + 1] = k
    return indptr, indices[:k].copy(), weights[:k].copy(), arc[:k].copy()


# The one heap (cimtwin.kernels.heap), under the short names the searches below use.
_push = heap_push
_pop = heap_pop


# --------------------------------------------------------------------------- one/multi-source
@njit
def _settle(indptr, indices, weights, cutoff, h, size, dist, pred, label, track, nt, lo, hi):
    """The one Dijkstra loop: pop, skip stale entries, relax the arcs into ``lo:hi``.

    ``pred``, ``label`` and ``track`` are optional (pass empty arrays to skip them): the
    predecessor tree, the source label carried along it, and the list of nodes first
    reached (``nt`` of them so far) for a cheap reset. Runs until the heap is empty or
    its minimum passes ``cutoff``; returns ``(heap size left, nt)``.
    """
    keep_pred = pred.shape[0] > 0
    keep_label = label.shape[0] > 0
    keep_track = track.shape[0] > 0
    while size > 0:
        d = h[0]
        u = int(h[1])
        if d > cutoff:
            break
        size = _pop(h, size)
        if d > dist[u]:
            continue  # stale entry
        lu = label[u] if keep_label else -1
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if v < lo or v >= hi:
                continue
            nd = d + weights[p]
            if nd < dist[v]:
                if keep_track and dist[v] == _INF:
                    track[nt] = v
                    nt += 1
                dist[v] = nd
                if keep_pred:
                    pred[v] = u
                if keep_label:
                    label[v] = lu
                size = _push(h, size, nd, v)
    return size, nt


@njit
def _dijkstra_into(indptr, indices, weights, sources, source_dist, cutoff,
                   dist, pred, label, h, track):
    """Multi-source Dijkstra writing into preallocated arrays.

    ``dist`` must be inf and ``pred``/``label`` -1 on entry. Source ``i`` starts at
    ``source_dist[i]``; ``label`` holds, per node, the index of the source whose tree
    reached it. Nodes farther than ``cutoff`` are left at inf. Returns the number of
    touched nodes, listed in ``track`` (for a cheap reset).
    """
    size = 0
    ntouched = 0
    for i in range(sources.shape[0]):
        s = sources[i]
        d0 = source_dist[i]
        if d0 < dist[s]:
            if dist[s] == _INF:
                track[ntouched] = s
                ntouched += 1
            dist[s] = d0
            label[s] = i
            pred[s] = -1
            size = _push(h, size, d0, s)
    size, ntouched = _settle(indptr, indices, weights, cutoff, h, size, dist, pred, label, track, ntouched,
                             0, dist.shape[0])
    if size > 0:  # stopped at the cutoff: what lies beyond is not reached
        for j in range(ntouched):
            v = track[j]
            if dist[v] > cutoff:
                dist[v] = _INF
                pred[v] = -1
                label[v] = -1
    return ntouched


@njit
def dijkstra(indptr, indices, weights, sources, source_dist, cutoff):
    """Multi-source Dijkstra: ``(dist, pred, label)`` per node.

    One source gives one-to-all distances; many sources give, for every node, the
    distance to the nearest source and (``label``) which one, in a single pass.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, _INF)
    pred = np.full(n, -1, np.int32)
    label = np.full(n, -1, np.int32)
    h = np.empty(heap_capacity(indices.shape[0], sources.shape[0]), np.float64)
    track = np.empty(n, np.int32)
    _dijkstra_into(indptr, indices, weights, sources, source_dist, cutoff,
                   dist, pred, label, h, track)
    return dist, pred, label


@njit
def dijkstra_dist(indptr, indices, weights, source, cutoff):
    """One-to-all distances only (no tree): the lean path for distance matrices."""
    dist, _ = nearest_source(indptr, indices, weights, np.array([source], np.int32), np.zeros(1), cutoff)
    return dist


@njit
def nearest_source(indptr, indices, weights, sources, source_dist, cutoff):
    """Multi-source Dijkstra keeping only ``(dist, label)``: the lean nearest-facility pass.

    Like :func:`dijkstra` without the predecessor tree.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, _INF)
    label = np.full(n, -1, np.int32)
    h = np.empty(heap_capacity(indices.shape[0], sources.shape[0]), np.float64)
    size = _seed(sources, source_dist, 0, n, dist, label, h)
    none = np.empty(0, np.int32)
    size, _ = _settle(indptr, indices, weights, cutoff, h, size, dist, none, label, none, 0, 0, n)
    if size > 0:
        for v in range(n):
            if dist[v] > cutoff:
                dist[v] = _INF
                label[v] = -1
    return dist, label


@njit
def _seed(sources, source_dist, lo, hi, dist, label, h):
    """Push the sources inside ``lo:hi`` at their initial costs (the cheapest per node wins)."""
    size = 0
    for i in range(sources.shape[0]):
        s = sources[i]
        if s < lo or s >= hi:
            continue
        d0 = source_dist[i]
        if d0 < dist[s]:
            dist[s] = d0
            label[s] = i
            size = _push(h, size, d0, s)
    return size


@njit
def _settle_part(indptr, indices, weights, sources, source_dist, cutoff, lo, hi, dist, label):
    """Dijkstra from the sources inside nodes ``lo:hi``, never leaving that range."""
    h = np.empty(heap_capacity(indices.shape[0], sources.shape[0]), np.float64)
    size = _seed(sources, source_dist, lo, hi, dist, label, h)
    none = np.empty(0, np.int32)
    _settle(indptr, indices, weights, cutoff, h, size, dist, none, label, none, 0, lo, hi)


@njit(parallel=True)
def nearest_source_parallel(indptr, indices, weights, sources, source_dist, cutoff, nparts):
    """:func:`nearest_source` in two phases, the first one parallel; same distances.

    Nodes are cut into ``nparts`` ranges of their numbering (with a spatial numbering,
    compact regions) and each range runs its own multi-source Dijkstra, confined to
    the range, on its own thread. The second phase seeds one search with every node
    that has an arc still able to improve its head (mostly along the cuts) and runs it
    to a fixed point over the whole graph. A label-correcting search that starts from
    upper bounds and queues every improvable node ends at the exact shortest distances,
    so the result equals the one-pass search (a tie between two sources may pick the
    other one).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, _INF)
    label = np.full(n, -1, np.int32)
    per = (n + nparts - 1) // nparts
    for part in prange(nparts):
        lo = part * per
        hi = min(n, lo + per)
        _settle_part(indptr, indices, weights, sources, source_dist, cutoff, lo, hi, dist, label)
    h = np.empty(heap_capacity(indices.shape[0], n), np.float64)
    size = 0
    for u in range(n):
        du = dist[u]
        if du > cutoff:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            if du + weights[p] < dist[indices[p]]:
                size = _push(h, size, du, u)
                break
    none = np.empty(0, np.int32)
    _settle(indptr, indices, weights, cutoff, h, size, dist, none, label, none, 0, 0, n)
    for v in prange(n):
        if dist[v] > cutoff:
            dist[v] = _INF
            label[v] = -1
    return dist, label


@njit
def gather(values, index):
    """``values[index]`` (maps kernel-order results back to the caller's order).

    Serial on purpose: waking a thread pool costs more than this pass saves on a busy
    machine, and numpy's fancy indexing first converts the int32 index.
    """
    out = np.empty(index.shape[0], values.dtype)
    for i in range(index.shape[0]):
        out[i] = values[index[i]]
    return out


@njit
def hilbert_codes(x, y, bits):
    """Position of each point along a Hilbert curve over the points' bounding box.

    Sorting nodes by it numbers them so that nodes near each other on the ground are
    near each other in memory, which keeps a search front's data in cache.
    """
    n = x.shape[0]
    out = np.zeros(n, np.int64)
    if n == 0:
        return out
    x0 = x.min()
    y0 = y.min()
    span = max(max(x.max() - x0, y.max() - y0), 1e-9)
    top = (1 << bits) - 1
    for i in range(n):
        qx = int((x[i] - x0) / span * top)
        qy = int((y[i] - y0) / span * top)
        d = 0
        s = 1 << (bits - 1)
        while s > 0:
            rx = 1 if (qx & s) > 0 else 0
            ry = 1 if (qy & s) > 0 else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:
                if rx == 1:
                    qx = s - 1 - qx
                    qy = s - 1 - qy
                qx, qy = qy, qx
            s >>= 1
        out[i] = d
    return out


@njit(parallel=True)
def dijkstra_many(indptr, indices, weights, sources, cutoff):
    """One-to-all distances from each source: ``(len(sources), n)``, parallel over sources."""
    n = indptr.shape[0] - 1
    ns = sources.shape[0]
    out = np.empty((ns, n), np.float64)
    for i in prange(ns):
        out[i, :] = dijkstra_dist(indptr, indices, weights, sources[i], cutoff)
    return out


@njit(parallel=True)
def seed_set_matrix(indptr, indices, weights, s_ptr, s_nodes, s_d0, t_ptr, t_nodes, t_d0, cutoff, nchunks):
    """Cost matrix between seed sets by one Dijkstra per source set, parallel over sources.

    Source ``i`` is the seeds ``s_nodes[s_ptr[i]:s_ptr[i + 1]]`` entering at ``s_d0`` (a
    point part-way along an edge enters at both ends); target ``j`` is reached through
    its seeds at ``dist[node] + t_d0``. Each thread resets only what a search touched.
    """
    n = indptr.shape[0] - 1
    ns = s_ptr.shape[0] - 1
    nt = t_ptr.shape[0] - 1
    out = np.full((ns, nt), _INF)
    for ch in prange(nchunks):
        dist = np.full(n, _INF)
        pred = np.full(n, -1, np.int32)
        label = np.full(n, -1, np.int32)
        h = np.empty(heap_capacity(indices.shape[0], s_nodes.shape[0]), np.float64)
        track = np.empty(n, np.int32)
        for i in range(ch, ns, nchunks):
            a = s_ptr[i]
            b = s_ptr[i + 1]
            touched = _dijkstra_into(indptr, indices, weights, s_nodes[a:b], s_d0[a:b], cutoff,
                                     dist, pred, label, h, track)
            for j in range(nt):
                best = _INF
                for k in range(t_ptr[j], t_ptr[j + 1]):
                    c = dist[t_nodes[k]] + t_d0[k]
                    if c < best:
                        best = c
                out[i, j] = best if best <= cutoff else _INF
            for q in range(touched):
                v = track[q]
                dist[v] = _INF
                pred[v] = -1
                label[v] = -1
    return out


# --------------------------------------------------------------------------- k nearest
@njit
def k_nearest(indptr, indices, weights, sources, k, cutoff):
    """The ``k`` nearest sources of every node: ``(dist, which)`` of shape (n, k).

    A label-setting search where a node is settled at most once per source and at
    most ``k`` times; columns are sorted by distance, missing entries inf / -1. Heap
    items pack ``source * n + node`` (exact in float64 below 2**53).
    """
    n = indptr.shape[0] - 1
    dist = np.full((n, k), _INF)
    which = np.full((n, k), -1, np.int32)
    count = np.zeros(n, np.int32)
    h = np.empty(heap_capacity(k * indices.shape[0], sources.shape[0]), np.float64)
    size = 0
    for i in range(sources.shape[0]):
        size = _push(h, size, 0.0, i * n + sources[i])
    while size > 0:
        d = h[0]
        item = int(h[1])
        size = _pop(h, size)
        if d > cutoff:
            break
        f = item // n
        u = item - f * n
        c = count[u]
        if c >= k:
            continue
        dup = False
        for j in range(c):
            if which[u, j] == f:
                dup = True
                break
        if dup:
            continue
        dist[u, c] = d
        which[u, c] = f
        count[u] = c + 1
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if count[v] >= k:
                continue
            size = _push(h, size, d + weights[p], f * n + v)
    return dist, which


# --------------------------------------------------------------------------- point to point
@njit
def astar_scale(u, v, weights, x, y):
    """Largest ``c`` with ``c * euclid(a, b) <= w(a, b)`` on every arc (<= slack-free bound).

    ``c * euclidean distance`` is then an admissible, consistent A* potential for any
    weight (metres or seconds), whatever the projection's scale error.
    """
    c = _INF
    for i in range(u.shape[0]):
        dx = x[u[i]] - x[v[i]]
        dy = y[u[i]] - y[v[i]]
        e = np.sqrt(dx * dx + dy * dy)
        if e > 0.0:
            r = weights[i] / e
            if r < c:
                c = r
    if not np.isfinite(c):
        c = 0.0
    return c * (1.0 - 1e-9)


@njit
def _lower_bound(v, a, x, y, c, lm_from, lm_to, active):
    """Admissible lower bound of d(v, a): Euclidean and landmark (ALT) bounds.

    ``lm_from[w, i]`` is d(L_i, w) and ``lm_to[w, i]`` is d(w, L_i); with the triangle
    inequality d(v, a) >= d(L, a) - d(L, v) and >= d(v, L) - d(a, L). Non-finite terms
    (other components) carry no information and are skipped.
    """
    best = c * np.sqrt((x[v] - x[a]) ** 2 + (y[v] - y[a]) ** 2)
    for j in range(active.shape[0]):
        i = active[j]
        b = lm_from[a, i] - lm_from[v, i]
        if b > best and b < _INF:
            best = b
        b = lm_to[v, i] - lm_to[a, i]
        if b > best and b < _INF:
            best = b
    return best


@njit
def _potential(v, s, t, x, y, c, lm_from, lm_to, active):
    """Average potential p(v) = (lb d(v, t) - lb d(s, v)) / 2 (consistent both ways)."""
    return 0.5 * (_lower_bound(v, t, x, y, c, lm_from, lm_to, active)
                  - _lower_bound(s, v, x, y, c, lm_from, lm_to, active))


@njit
def _pick_landmarks(s, t, x, y, c, lm_from, lm_to, n_active):
    """The ``n_active`` landmarks giving the best bound on d(s, t) (Goldberg-Harrelson)."""
    k = lm_from.shape[1]
    if k <= n_active:
        return np.arange(k).astype(np.int32)
    score = np.empty(k)
    one = np.empty(1, np.int32)
    for i in range(k):
        one[0] = i
        score[i] = _lower_bound(s, t, x, y, 0.0, lm_from, lm_to, one)
    return np.argsort(-score)[:n_active].astype(np.int32)


@njit
def _p2p_into(f_indptr, f_indices, f_w, r_indptr, r_indices, r_w, x, y, c,
              lm_from, lm_to, n_active, s, t, gf, gr, pf, pr, hf, hr, track, pot, want_tree):
    """Bidirectional A* / ALT (average potentials) from ``s`` to ``t``.

    Keys are reduced distances: with ``p(v) = (lb d(v, t) - lb d(s, v)) / 2`` both
    searches run Dijkstra on the same non-negative reduced costs, so the classic
    bidirectional stopping rule (sum of the two queue minima >= best meeting) holds.
    ``p(v)`` is computed once per touched node and kept in ``pot`` (nan = not yet);
    a popped entry is stale when its key exceeds the node's current key, recomputed
    from the same cached numbers (so a node whose cost improves is expanded again).
    Returns ``(distance, meeting node, number touched)``; with ``want_tree`` the two
    search trees are in ``pf``/``pr``.
    """
    if s == t:
        return 0.0, s, 0
    active = _pick_landmarks(s, t, x, y, c, lm_from, lm_to, n_active)
    ps = _potential(s, s, t, x, y, c, lm_from, lm_to, active)
    pt = _potential(t, s, t, x, y, c, lm_from, lm_to, active)
    ntouched = 2
    track[0] = s
    track[1] = t
    pot[s] = ps
    pot[t] = pt
    gf[s] = 0.0
    gr[t] = 0.0
    sf = _push(hf, 0, 0.0, s)
    sr = _push(hr, 0, 0.0, t)
    best = _INF  # reduced length of the best s-t path met so far
    meet = -1
    while sf > 0 and sr > 0:
        kf = hf[0]
        kr = hr[0]
        if kf + kr >= best:
            break
        if kf <= kr:
            u = int(hf[1])
            sf = _pop(hf, sf)
            gu = gf[u]
            if kf > gu + pot[u] - ps:
                continue  # stale
            for p in range(f_indptr[u], f_indptr[u + 1]):
                v = f_indices[p]
                ng = gu + f_w[p]
                if ng < gf[v]:
                    pv = pot[v]
                    if pv != pv:  # first touch
                        track[ntouched] = v
                        ntouched += 1
                        pv = _potential(v, s, t, x, y, c, lm_from, lm_to, active)
                        pot[v] = pv
                    gf[v] = ng
                    if want_tree:
                        pf[v] = u
                    sf = _push(hf, sf, ng + pv - ps, v)
                    grv = gr[v]
                    if grv < _INF:
                        tot = ng + grv - ps + pt
                        if tot < best:
                            best = tot
                            meet = v
        else:
            u = int(hr[1])
            sr = _pop(hr, sr)
            gu = gr[u]
            if kr > gu - pot[u] + pt:
                continue  # stale
            for p in range(r_indptr[u], r_indptr[u + 1]):
                v = r_indices[p]
                ng = gu + r_w[p]
                if ng < gr[v]:
                    pv = pot[v]
                    if pv != pv:
                        track[ntouched] = v
                        ntouched += 1
                        pv = _potential(v, s, t, x, y, c, lm_from, lm_to, active)
                        pot[v] = pv
                    gr[v] = ng
                    if want_tree:
                        pr[v] = u
                    sr = _push(hr, sr, ng - pv + pt, v)
                    gfv = gf[v]
                    if gfv < _INF:
                        tot = gfv + ng - ps + pt
                        if tot < best:
                            best = tot
                            meet = v
    if meet < 0:
        return _INF, -1, ntouched
    return gf[meet] + gr[meet], meet, ntouched


@njit
def _p2p_reset(track, nt, gf, gr, pf, pr, pot):
    for j in range(nt):
        v = track[j]
        gf[v] = _INF
        gr[v] = _INF
        pf[v] = -1
        pr[v] = -1
        pot[v] = np.nan


@njit
def _p2p_work(n, m_f, m_r):
    gf = np.full(n, _INF)
    gr = np.full(n, _INF)
    pf = np.full(n, -1, np.int32)
    pr = np.full(n, -1, np.int32)
    hf = np.empty(heap_capacity(m_f, 1), np.float64)
    hr = np.empty(heap_capacity(m_r, 1), np.float64)
    track = np.empty(n, np.int32)
    pot = np.full(n, np.nan)
    return gf, gr, pf, pr, hf, hr, track, pot


@njit
def point_to_point(f_indptr, f_indices, f_w, r_indptr, r_indices, r_w, x, y, c,
                   lm_from, lm_to, n_active, s, t):
    """Shortest ``s -> t``: ``(distance, node path)``; an empty path when unreachable."""
    n = f_indptr.shape[0] - 1
    gf, gr, pf, pr, hf, hr, track, pot = _p2p_work(n, f_indices.shape[0], r_indices.shape[0])
    d, meet, _ = _p2p_into(f_indptr, f_indices, f_w, r_indptr, r_indices, r_w, x, y, c,
                           lm_from, lm_to, n_active, s, t, gf, gr, pf, pr, hf, hr, track, pot, True)
    if meet < 0:
        return d, np.empty(0, np.int32)
    nf = 0
    v = meet
    while v >= 0:
        nf += 1
        v = pf[v]
    nr = 0
    v = pr[meet]
    while v >= 0:
        nr += 1
        v = pr[v]
    path = np.empty(nf + nr, np.int32)
    v = meet
    j = nf - 1
    while v >= 0:
        path[j] = v
        j -= 1
        v = pf[v]
    j = nf
    v = pr[meet]
    while v >= 0:
        path[j] = v
        j += 1
        v = pr[v]
    return d, path


@njit(parallel=True)
def point_to_point_batch(f_indptr, f_indices, f_w, r_indptr, r_indices, r_w, x, y, c,
                         lm_from, lm_to, n_active, origins, targets, nchunks):
    """Distances of many ``origin -> target`` pairs, parallel over pairs.

    Each thread reuses its work arrays and resets only the nodes a query touched, so a
    short query costs what it explores, not O(n). Pairs are dealt to threads in an
    interleaved order so a run of long queries does not land on one thread.
    """
    n = f_indptr.shape[0] - 1
    q = origins.shape[0]
    out = np.empty(q, np.float64)
    for ch in prange(nchunks):
        gf, gr, pf, pr, hf, hr, track, pot = _p2p_work(n, f_indices.shape[0], r_indices.shape[0])
        for i in range(ch, q, nchunks):
            d, meet, nt = _p2p_into(f_indptr, f_indices, f_w, r_indptr, r_indices, r_w, x, y,
                                    c, lm_from, lm_to, n_active, origins[i], targets[i],
                                    gf, gr, pf, pr, hf, hr, track, pot, False)
            out[i] = d
            _p2p_reset(track, nt, gf, gr, pf, pr, pot)
    return out


@njit
def farthest_landmarks(indptr, indices, weights, start, k):
    """``k`` landmarks by farthest-point selection from ``start`` (ALT preprocessing).

    Returns the landmark nodes and ``dist_from`` of shape (n, k): d(L_i, v).
    """
    n = indptr.shape[0] - 1
    out = np.full((n, k), _INF)
    marks = np.empty(k, np.int32)
    d = dijkstra_dist(indptr, indices, weights, start, _INF)
    score = np.where(d < _INF, d, -1.0)
    for i in range(k):
        best = int(np.argmax(score))
        marks[i] = best
        d = dijkstra_dist(indptr, indices, weights, best, _INF)
        out[:, i] = d
        for v in range(n):
            dv = d[v] if d[v] < _INF else -1.0
            if dv < score[v]:
                score[v] = dv
    return marks, out


@njit(parallel=True)
def landmark_distances(indptr, indices, weights, marks):
    """d(L_i, v) for given landmarks, shape (n, k) (on the reverse CSR: d(v, L_i))."""
    n = indptr.shape[0] - 1
    k = marks.shape[0]
    out = np.empty((n, k))
    for i in prange(k):
        out[:, i] = dijkstra_dist(indptr, indices, weights, marks[i], _INF)
    return out
