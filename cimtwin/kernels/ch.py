"""Contraction hierarchies on CSR graphs (numpy + numba only).

Preprocessing (:func:`ch_build`) contracts the nodes one by one, least important first:
removing node ``v`` adds a shortcut ``u -> w`` (cost ``c(u, v) + c(v, w)``, middle node
``v``) for each pair of neighbours whose shortest path ran through ``v`` (a bounded
"witness" search from ``u`` that avoids ``v`` decides; on a symmetric graph, such as a
walking network or one without one-way streets, one search per neighbour pair decides both
directions, half the searches). The order comes from a lazily
updated priority: twice the shortcuts the contraction would add, minus the arcs it
removes, plus the node's already contracted neighbours (which spreads contraction evenly)
and twice its depth in the hierarchy so far (a shallow hierarchy answers faster).
Contracting a node makes its neighbours' priorities outdated: they are re-estimated in
batches, in parallel over the threads, each once however many of its neighbours went
since its last estimate (a node with more than ``_SIM_DEGREE`` arcs, both directions
counted, gets a rough bump instead and is re-estimated when it reaches the queue head).
Estimating is most of the work (about three quarters of the CPU time on the synthetic grid).
The two constants were tuned together at 10^6 nodes of that grid: depth weight 2 and 24
arcs build in 42 s where 4 and 48 took 62 s, with the same query cost (0.16 ms); a smaller
degree bound or depth weight builds faster still but answers slower.

:func:`ch_build` returns two upward graphs, each a CSR over the caller's node numbers:

- ``up``: arcs ``v -> x`` to higher-ranked ``x`` (the forward search climbs them);
- ``down``: arcs ``x -> v`` from higher-ranked ``x``, stored at ``v`` (the backward search
  climbs them from the target).

Each arc keeps its cost and its middle node (``-1`` for an original arc), from which a
path is unpacked recursively. Queries are exact: a shortest path always has a form that
climbs from ``s`` to its highest node and descends to ``t``.

Queries run on one *query graph* (:func:`ch_query_graph`) instead: the nodes renumbered
by hierarchy level, deepest first (:func:`ch_levels`, :func:`ch_layout`), so the top
levels that every search climbs into are one small block of memory; and ``up`` and
``down`` merged into one CSR whose row ``v`` lists each higher neighbour once with both
costs side by side. A forward and a backward search then walk the same rows, and the
stall test of either reads the other's cost in the row it is already scanning. Both
directions share one settle/relax step (:func:`_relax`, ``side`` 0 or 1) and keep their
labels interleaved per node, and each queues its nodes in an indexed heap (a node
reached again from below moves up rather than being queued twice: half the heap work of a
lazy heap here). Searches prune with "stall-on-demand" (a node reached more
cheaply from a higher node is not expanded); a pair query records a meeting as soon as
a relaxed node carries the other direction's label, and each direction stops once its
queue head is no cheaper than the best meeting.

Weights must be finite and >= 0; parallel arcs are merged by the caller (cheapest kept),
self-loops are ignored. Work arrays are reset through the list of touched nodes, so a
query costs what it explores, not O(n).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from cimtwin.kernels._jit import njit
from cimtwin.kernels.heap import heap_pop, heap_push, iheap_clear, iheap_new, iheap_pop, iheap_update

__all__ = ["ch_build", "ch_levels", "ch_layout", "ch_query_graph", "ch_query", "ch_query_batch", "ch_path",
           "ch_buckets", "ch_bucket_scan", "ch_many_to_many"]

_INF = np.inf
_WITNESS_HEAP = 1 << 15  # entries: a witness search that would need more gives up (adds the shortcut)
_LEVEL_W = 2.0  # weight of the hierarchy depth in the priority (shallower hierarchy, faster queries)
_BATCH = 64  # outdated priorities re-estimated together (in parallel)
_SIM_DEGREE = 24  # a neighbour above this degree is re-estimated only when it reaches the queue head


# --------------------------------------------------------------------------- dynamic adjacency
# One pool per direction: node v's arcs are pool[start[v] : start[v] + length[v]] with room
# for cap[v]; a full list moves to the pool's end with twice the room. Lists only ever hold
# uncontracted neighbours: contracting v removes v from its neighbours' lists.
@njit
def _pool_from_csr(n, indptr, nbrs, w):
    start = np.empty(n, np.int64)
    length = np.zeros(n, np.int64)
    cap = np.empty(n, np.int64)
    total = 0
    for v in range(n):
        c = max(4, 2 * (indptr[v + 1] - indptr[v]))
        start[v] = total
        cap[v] = c
        total += c
    size = 2 * total + 64
    pnb = np.empty(size, np.int32)
    pw = np.empty(size, np.float64)
    pmid = np.empty(size, np.int32)
    for v in range(n):
        s = start[v]
        k = 0
        for p in range(indptr[v], indptr[v + 1]):
            if nbrs[p] == v:
                continue  # a self-loop is never on a shortest path
            pnb[s + k] = nbrs[p]
            pw[s + k] = w[p]
            pmid[s + k] = -1
            k += 1
        length[v] = k
    return start, length, cap, pnb, pw, pmid, np.array([total], np.int64)


@njit
def _pool_append(start, length, cap, pnb, pw, pmid, end, v, x, wx, mid):
    """Append ``(x, wx, mid)`` to v's list; False when the pool has no room (grow it, retry)."""
    k = length[v]
    if k == cap[v]:
        nc = 2 * cap[v]
        e = end[0]
        if e + nc > pnb.shape[0]:
            return False
        s = start[v]
        for j in range(k):
            pnb[e + j] = pnb[s + j]
            pw[e + j] = pw[s + j]
            pmid[e + j] = pmid[s + j]
        start[v] = e
        cap[v] = nc
        end[0] = e + nc
    p = start[v] + k
    pnb[p] = x
    pw[p] = wx
    pmid[p] = mid
    length[v] = k + 1
    return True


@njit
def _pool_remove(start, length, pnb, pw, pmid, v, x):
    """Drop x from v's list (swap with the last entry)."""
    s = start[v]
    k = length[v]
    for j in range(k):
        if pnb[s + j] == x:
            last = s + k - 1
            pnb[s + j] = pnb[last]
            pw[s + j] = pw[last]
            pmid[s + j] = pmid[last]
            length[v] = k - 1
            return


@njit
def _pool_grow(n, start, length, cap, pnb, pw, pmid, contracted):
    """A pool twice as large holding the live lists (contracted nodes' lists dropped)."""
    total = 0
    for v in range(n):
        if not contracted[v]:
            total += max(4, 2 * length[v])
    size = max(2 * pnb.shape[0], 2 * total + 64)
    nnb = np.empty(size, np.int32)
    nw = np.empty(size, np.float64)
    nmid = np.empty(size, np.int32)
    e = 0
    for v in range(n):
        if contracted[v]:
            continue
        s = start[v]
        c = max(4, 2 * length[v])
        for j in range(length[v]):
            nnb[e + j] = pnb[s + j]
            nw[e + j] = pw[s + j]
            nmid[e + j] = pmid[s + j]
        start[v] = e
        cap[v] = c
        e += c
    return nnb, nw, nmid, np.array([e], np.int64)


# --------------------------------------------------------------------------- witness search
@njit
def _undecided_max(o_nb, tfirst, tend, need):
    """The dearest cost through the removed node of the targets still undecided."""
    m = -1.0
    for b in range(tfirst, tend):
        m = max(m, need[o_nb[b]])
    return m


@njit
def _witness(o_start, o_len, o_nb, o_w, src, skip, tfirst, tend, max_settled, n_targets, need,
             dist, track, h):
    """Bounded Dijkstra from ``src`` avoiding ``skip``: fills ``dist`` (touched listed in track).

    ``need[x] >= 0`` marks a target and holds the cost of its path through ``skip``. A target
    is decided, and unmarked (``need[x] = -1``), as soon as some path reaches it at no more
    than that cost (a witness: a tentative cost is that of a real path) or once it is settled
    dearer (no witness). The targets are ``o_nb[tfirst:tend]`` (``skip``'s list). The search
    stops when all ``n_targets`` are decided, past the dearest undecided target's cost, after
    ``max_settled`` nodes, or when the heap is full; stopping early only misses a witness (an
    unneeded shortcut), never a wrong distance.
    """
    limit = _undecided_max(o_nb, tfirst, tend, need)
    nt = 1
    track[0] = src
    dist[src] = 0.0
    size = heap_push(h, 0, 0.0, src)
    settled = 0
    left = n_targets
    cap = h.shape[0] // 2
    while size > 0:
        d = h[0]
        u = int(h[1])
        if d > limit:
            break
        size = heap_pop(h, size)
        if d > dist[u]:
            continue
        if need[u] >= 0.0:  # settled dearer than its path through skip: no witness
            need[u] = -1.0
            left -= 1
            if left == 0:
                break
            limit = _undecided_max(o_nb, tfirst, tend, need)
        settled += 1
        if settled > max_settled:
            break
        s = o_start[u]
        for j in range(s, s + o_len[u]):
            x = o_nb[j]
            if x == skip:
                continue
            nd = d + o_w[j]
            if nd < dist[x]:
                if dist[x] == _INF:
                    track[nt] = x
                    nt += 1
                dist[x] = nd
                if nd <= need[x]:  # a witness
                    was = need[x]
                    need[x] = -1.0
                    left -= 1
                    if left == 0:
                        return nt
                    if was == limit:
                        limit = _undecided_max(o_nb, tfirst, tend, need)
                if size >= cap:
                    return nt
                size = heap_push(h, size, nd, x)
    return nt


@njit
def _add_arc(o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
             i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, u, x, wx, mid):
    """Insert or lower arc ``u -> x`` in both directions' lists; False when a pool is full."""
    s = o_start[u]
    for j in range(s, s + o_len[u]):
        if o_nb[j] == x:
            if wx < o_w[j]:
                o_w[j] = wx
                o_mid[j] = mid
                t = i_start[x]
                for k in range(t, t + i_len[x]):
                    if i_nb[k] == u:
                        i_w[k] = wx
                        i_mid[k] = mid
                        break
            return True
    # Room in both lists first, so a failure leaves the graph unchanged.
    if o_len[u] == o_cap[u] and o_end[0] + 2 * o_cap[u] > o_nb.shape[0]:
        return False
    if i_len[x] == i_cap[x] and i_end[0] + 2 * i_cap[x] > i_nb.shape[0]:
        return False
    _pool_append(o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end, u, x, wx, mid)
    _pool_append(i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, x, u, wx, mid)
    return True


@njit
def _room_for_pair(length, cap, nb, end, u, x):
    """Whether the one pool of a symmetric graph takes ``u -> x`` and ``x -> u`` without growing."""
    need = (2 * cap[u] if length[u] == cap[u] else 0) + (2 * cap[x] if length[x] == cap[x] else 0)
    return end[0] + need <= nb.shape[0]


@njit
def _n_sources(v, sym, o_len, i_len):
    """How many witness searches removing ``v`` takes.

    ``sym``: the graph is symmetric (every arc has its reverse at the same cost, so in- and
    out-lists match), and one search per neighbour pair decides both directions: the search
    from ``v``'s ``a``-th neighbour looks only for the neighbours after it, and the last
    neighbour needs none.
    """
    return max(0, o_len[v] - 1) if sym else i_len[v]


@njit
def _source_search(v, a, sym, max_settled, o_start, o_len, o_nb, o_w, i_start, i_nb, i_w,
                   need, dist, track, h, flags):
    """The witness search from ``v``'s ``a``-th source ``u``: ``flags[k]`` tells whether
    ``u -> x`` (``x`` the ``k``-th of ``v``'s out-neighbours) needs a shortcut. Returns how many do."""
    os_ = o_start[v]
    ol = o_len[v]
    p = os_ + a if sym else i_start[v] + a
    u = o_nb[p] if sym else i_nb[p]
    wu = o_w[p] if sym else i_w[p]
    first = p + 1 if sym else os_
    n_targets = 0
    for b in range(first, os_ + ol):
        if o_nb[b] != u:
            need[o_nb[b]] = wu + o_w[b]
            n_targets += 1
    nt = _witness(o_start, o_len, o_nb, o_w, u, v, first, os_ + ol, max_settled, n_targets, need, dist, track, h)
    count = 0
    for b in range(os_, os_ + ol):
        x = o_nb[b]
        f = False
        if b >= first:
            need[x] = -1.0
            f = x != u and dist[x] > wu + o_w[b]
        flags[b - os_] = f
        count += f
    for j in range(nt):
        dist[track[j]] = _INF
    return count


@njit
def _add_shortcuts(v, a, sym, flags, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                   i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end):
    """Add the shortcuts that ``_source_search`` flagged for ``v``'s ``a``-th source; False
    when a pool is full (nothing of this pair added)."""
    os_ = o_start[v]
    p = os_ + a if sym else i_start[v] + a
    u = o_nb[p] if sym else i_nb[p]
    wu = o_w[p] if sym else i_w[p]
    for b in range(os_, os_ + o_len[v]):
        if not flags[b - os_]:
            continue
        x = o_nb[b]
        # both arcs of a symmetric pair or neither: the retry after growing the pools would
        # take a lone u -> x for the witness of x -> u
        if sym and not _room_for_pair(o_len, o_cap, o_nb, o_end, u, x):
            return False
        # on a symmetric graph the in-lists are the out-lists (one pool): u -> x in u's list
        # and u in x's "in-list" is x -> u, both arcs at once
        if not _add_arc(o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                        i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, u, x, wu + o_w[b], v):
            return False
    return True


@njit
def _contract(v, add, sym, max_settled,
              o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
              i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, need, dist, track, h, flags):
    """Shortcuts needed to remove ``v`` (added when ``add``, each source's right after its
    search, so later searches may use them): ``(count, ok)``; ok False = pool full."""
    count = 0
    n_src = _n_sources(v, sym, o_len, i_len)
    for a in range(n_src):
        c = _source_search(v, a, sym, max_settled, o_start, o_len, o_nb, o_w, i_start, i_nb, i_w,
                           need, dist, track, h, flags)
        count += 2 * c if sym else c
        if add and c > 0 and not _add_shortcuts(v, a, sym, flags, o_start, o_len, o_cap, o_nb, o_w, o_mid,
                                                o_end, i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end):
            return count, False
    return count, True


@njit
def _priority(shortcuts, degree, deleted, level):
    """Contract first what adds few arcs, sits beside few contracted nodes and low in the hierarchy."""
    return 2.0 * shortcuts - degree + deleted + _LEVEL_W * level


@njit
def _reverse_csr(n, indptr, indices, w):
    m = indices.shape[0]
    rptr = np.zeros(n + 1, np.int64)
    for p in range(m):
        rptr[indices[p] + 1] += 1
    for v in range(n):
        rptr[v + 1] += rptr[v]
    fill = rptr[:-1].copy()
    rnb = np.empty(m, np.int32)
    rw = np.empty(m, np.float64)
    for u in range(n):
        for p in range(indptr[u], indptr[u + 1]):
            x = indices[p]
            rnb[fill[x]] = u
            rw[fill[x]] = w[p]
            fill[x] += 1
    return rptr, rnb, rw


@njit
def _is_symmetric(n, indptr, indices, w, rptr, rnb, rw):
    """Whether every arc ``u -> x`` has ``x -> u`` at the same cost (row u of the graph and of
    its reverse hold the same arcs)."""
    for u in range(n):
        if indptr[u + 1] - indptr[u] != rptr[u + 1] - rptr[u]:
            return False
        for p in range(indptr[u], indptr[u + 1]):
            found = False
            for q in range(rptr[u], rptr[u + 1]):
                if rnb[q] == indices[p] and rw[q] == w[p]:
                    found = True
                    break
            if not found:
                return False
    return True


@njit(parallel=True)
def _simulate_batch(nodes, m, counts, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                    i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, need, dist, track, wh, flags):
    """Shortcut counts of ``nodes[:m]`` (read-only on the graph), split over the threads.

    Each thread has its own row of the work arrays (``need``, ``dist``, ``track``, ``wh``, ``flags``).
    """
    nt = dist.shape[0]
    for t in prange(nt):
        for i in range(t, m, nt):
            c, _ = _contract(nodes[i], False, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                             i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, need[t], dist[t], track[t],
                             wh[t], flags[t])
            counts[i] = c


@njit
def _reestimate(dlist, nd, counts, popped, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, t_need, t_dist, t_track, t_wh, t_flags,
                dirty, deleted, level, prio, contracted, h, size):
    """New priorities for the dirty nodes ``dlist[:nd]``, queued where they changed (and for
    ``popped``, whose entry has just left the queue). Returns the queue size."""
    _simulate_batch(dlist, nd, counts, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                    i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, t_need, t_dist, t_track, t_wh, t_flags)
    for j in range(nd):
        x = dlist[j]
        dirty[x] = False
        p = _priority(counts[j], o_len[x] + i_len[x], deleted[x], level[x])
        if p == prio[x] and x != popped:
            continue  # its queue entry still holds
        prio[x] = p
        size = _enqueue(h, size, prio, contracted, x)
    return size


@njit
def _enqueue(h, size, prio, contracted, x):
    """Queue node ``x`` at ``prio[x]``; a full queue is rebuilt from the live priorities
    instead (which drops the outdated entries and holds ``x``). Returns the queue size."""
    if size < h.shape[0] // 2:
        return heap_push(h, size, prio[x], x)
    size = 0
    for y in range(prio.shape[0]):
        if not contracted[y]:
            size = heap_push(h, size, prio[y], y)
    return size


def ch_build(indptr, indices, weights, max_settled, sim_settled):
    """Contract every node of the CSR graph: ``(rank, up_ptr, up_to, up_w, up_mid,
    down_ptr, down_from, down_w, down_mid)``.

    ``max_settled`` bounds each witness search while contracting, ``sim_settled`` while
    estimating priorities (smaller: a cheap estimate is enough to order the nodes).
    """
    # the thread count is read here, not in the kernel: numba.get_num_threads inside a
    # kernel is a dynamic global, and numba then cannot cache the kernel on disk
    return _ch_build(indptr, indices, weights, max_settled, sim_settled, max(1, numba.get_num_threads()))


@njit
def _ch_build(indptr, indices, weights, max_settled, sim_settled, nth):
    n = indptr.shape[0] - 1
    o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end = _pool_from_csr(n, indptr, indices, weights)
    rptr, rnb, rw = _reverse_csr(n, indptr, indices, weights)
    # a symmetric graph keeps one pool: every list is both v's out- and in-list (half the
    # memory and list updates) and one witness search decides both arcs of a pair
    sym = _is_symmetric(n, indptr, indices, weights, rptr, rnb, rw)
    if sym:
        i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end = o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end
    else:
        i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end = _pool_from_csr(n, rptr, rnb, rw)
    contracted = np.zeros(n, np.bool_)
    deleted = np.zeros(n, np.int64)
    level = np.zeros(n, np.int64)
    prio = np.empty(n, np.float64)
    # work arrays of the witness searches: one row per thread for the batched estimates; row 0
    # also serves the searches of the (serial) contraction itself
    t_need = np.full((nth, n), -1.0)  # witness targets' costs through the removed node
    t_dist = np.full((nth, n), _INF)
    t_track = np.empty((nth, n + 1), np.int32)
    t_wh = np.empty((nth, 2 * _WITNESS_HEAP), np.float64)
    t_flags = np.zeros((nth, n + 1), np.bool_)  # one search's shortcut flags, by out-neighbour
    need = t_need[0]
    dist = t_dist[0]
    track = t_track[0]
    wh = t_wh[0]
    flags = t_flags[0]
    # Priorities are estimated in batches: contracting v marks its neighbours dirty; once
    # _BATCH are dirty (or a dirty node reaches the queue head), all are re-estimated at
    # once, in parallel, each once however many of its neighbours went meanwhile.
    dirty = np.zeros(n, np.bool_)
    stale = np.zeros(n, np.bool_)
    dlist = np.arange(n).astype(np.int32)
    counts = np.empty(n, np.int64)
    _simulate_batch(dlist, n, counts, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                    i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, t_need, t_dist, t_track, t_wh, t_flags)
    for v in range(n):
        prio[v] = _priority(counts[v], o_len[v] + i_len[v], 0, 0)
    nd = 0
    h = np.empty(2 * (4 * n + 16), np.float64)  # room for stale entries; rebuilt when full
    size = 0
    for v in range(n):
        size = _enqueue(h, size, prio, contracted, v)
    # The hierarchy, frozen node by node as they are contracted (their lists then hold
    # exactly their arcs to higher nodes).
    f_start = np.zeros(n, np.int64)
    f_len = np.zeros(n, np.int64)
    b_start = np.zeros(n, np.int64)
    b_len = np.zeros(n, np.int64)
    ocap = 2 * indices.shape[0] + 16
    f_to = np.empty(ocap, np.int32)
    f_w = np.empty(ocap, np.float64)
    f_mid = np.empty(ocap, np.int32)
    b_fr = np.empty(ocap, np.int32)
    b_w = np.empty(ocap, np.float64)
    b_mid = np.empty(ocap, np.int32)
    nf = 0
    nb = 0
    rank = np.full(n, -1, np.int32)
    seen = np.full(n, -1, np.int64)
    k = 0
    while size > 0:
        p = h[0]
        v = int(h[1])
        size = heap_pop(h, size)
        if contracted[v] or p != prio[v]:
            continue  # stale entry
        if dirty[v]:
            # re-estimate every dirty node, this one included, then look at the queue head again
            size = _reestimate(dlist, nd, counts, v, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                               i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, t_need, t_dist, t_track, t_wh, t_flags,
                               dirty, deleted, level, prio, contracted, h, size)
            nd = 0
            continue
        if stale[v]:
            stale[v] = False
            c, _ = _contract(v, False, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                             i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, need, dist, track, wh, flags)
            newp = _priority(c, o_len[v] + i_len[v], deleted[v], level[v])
            if size > 0 and newp > h[0]:
                prio[v] = newp  # lazy update: no longer the least important, try again later
                size = _enqueue(h, size, prio, contracted, v)
                continue
        while not _contract(v, True, sym, max_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                            i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, need, dist, track, wh, flags)[1]:
            o_nb, o_w, o_mid, o_end = _pool_grow(n, o_start, o_len, o_cap, o_nb, o_w, o_mid, contracted)
            if sym:
                i_nb, i_w, i_mid, i_end = o_nb, o_w, o_mid, o_end
            else:
                i_nb, i_w, i_mid, i_end = _pool_grow(n, i_start, i_len, i_cap, i_nb, i_w, i_mid, contracted)
        # freeze v's arcs (all to uncontracted, hence higher, nodes)
        room = max(nf + o_len[v], nb + i_len[v])
        if room > f_to.shape[0]:
            ncap = 2 * room
            f_to2 = np.empty(ncap, np.int32); f_to2[:nf] = f_to[:nf]; f_to = f_to2
            f_w2 = np.empty(ncap, np.float64); f_w2[:nf] = f_w[:nf]; f_w = f_w2
            f_mid2 = np.empty(ncap, np.int32); f_mid2[:nf] = f_mid[:nf]; f_mid = f_mid2
            b_fr2 = np.empty(ncap, np.int32); b_fr2[:nb] = b_fr[:nb]; b_fr = b_fr2
            b_w2 = np.empty(ncap, np.float64); b_w2[:nb] = b_w[:nb]; b_w = b_w2
            b_mid2 = np.empty(ncap, np.int32); b_mid2[:nb] = b_mid[:nb]; b_mid = b_mid2
        f_start[v] = nf
        s = o_start[v]
        for j in range(s, s + o_len[v]):
            f_to[nf] = o_nb[j]
            f_w[nf] = o_w[j]
            f_mid[nf] = o_mid[j]
            nf += 1
        f_len[v] = nf - f_start[v]
        b_start[v] = nb
        s = i_start[v]
        for j in range(s, s + i_len[v]):
            b_fr[nb] = i_nb[j]
            b_w[nb] = i_w[j]
            b_mid[nb] = i_mid[j]
            nb += 1
        b_len[v] = nb - b_start[v]
        contracted[v] = True
        rank[v] = k
        k += 1
        # unlink v and refresh its neighbours' priorities
        s = o_start[v]
        for j in range(s, s + o_len[v]):
            x = o_nb[j]
            _pool_remove(i_start, i_len, i_nb, i_w, i_mid, x, v)
        s = i_start[v]
        for j in range(s, s + (0 if sym else i_len[v])):  # one pool: done above
            x = i_nb[j]
            _pool_remove(o_start, o_len, o_nb, o_w, o_mid, x, v)
        for side in range(2):
            s = o_start[v] if side == 0 else i_start[v]
            ln = o_len[v] if side == 0 else i_len[v]
            for j in range(s, s + ln):
                x = o_nb[j] if side == 0 else i_nb[j]
                if contracted[x] or seen[x] == v:
                    continue  # a two-way neighbour is in both lists: count it once
                seen[x] = v
                deleted[x] += 1
                level[x] = max(level[x], level[v] + 1)
                if o_len[x] + i_len[x] > _SIM_DEGREE:
                    # a dense core node: a rough estimate now, simulated when it reaches the head
                    stale[x] = True
                    prio[x] += 1.0 + _LEVEL_W
                    size = _enqueue(h, size, prio, contracted, x)
                elif not dirty[x]:
                    dirty[x] = True
                    dlist[nd] = x
                    nd += 1
        if nd >= _BATCH:
            size = _reestimate(dlist, nd, counts, -1, sym, sim_settled, o_start, o_len, o_cap, o_nb, o_w, o_mid, o_end,
                               i_start, i_len, i_cap, i_nb, i_w, i_mid, i_end, t_need, t_dist, t_track, t_wh, t_flags,
                               dirty, deleted, level, prio, contracted, h, size)
            nd = 0
    up_ptr, up_to, up_w, up_mid = _to_csr(n, f_start, f_len, f_to, f_w, f_mid)
    dn_ptr, dn_fr, dn_w, dn_mid = _to_csr(n, b_start, b_len, b_fr, b_w, b_mid)
    return rank, up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid


@njit
def _to_csr(n, start, length, nb, w, mid):
    ptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        ptr[v + 1] = ptr[v] + length[v]
    m = ptr[n]
    onb = np.empty(m, np.int32)
    ow = np.empty(m, np.float64)
    omid = np.empty(m, np.int32)
    for v in range(n):
        s = start[v]
        p = ptr[v]
        for j in range(length[v]):
            onb[p + j] = nb[s + j]
            ow[p + j] = w[s + j]
            omid[p + j] = mid[s + j]
    return ptr, onb, ow, omid


# --------------------------------------------------------------------------- query layout
@njit
def ch_levels(rank, up_ptr, up_to, dn_ptr, dn_fr):
    """Depth of each node in the hierarchy: 0 for a node no lower node reaches, else one
    more than its deepest lower neighbour (up or down arc)."""
    n = rank.shape[0]
    by_rank = np.empty(n, np.int64)
    for v in range(n):
        by_rank[rank[v]] = v
    level = np.zeros(n, np.int64)
    for k in range(n):
        v = by_rank[k]
        lv = level[v] + 1
        for p in range(up_ptr[v], up_ptr[v + 1]):
            x = up_to[p]
            if level[x] < lv:
                level[x] = lv
        for p in range(dn_ptr[v], dn_ptr[v + 1]):
            x = dn_fr[p]
            if level[x] < lv:
                level[x] = lv
    return level


def ch_layout(level):
    """Query numbering of the nodes: ``(pos, order)``, deepest level first.

    ``pos[v]`` is the new number of node ``v`` and ``order`` its inverse. Nodes of one
    level keep their relative order (the caller's numbering, spatial in cimtwin), so the
    few top levels every search climbs into share a small block of memory at the front,
    and the wide bottom levels stay spatially sorted.
    """
    order = np.argsort(-np.asarray(level, np.int64), kind="stable").astype(np.int32)
    pos = np.empty_like(order)
    pos[order] = np.arange(order.size, dtype=np.int32)
    return pos, order


@njit
def ch_query_graph(pos, up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid):
    """The hierarchy as one upward CSR in the numbering ``pos``: ``(ptr, to, w, mid)``.

    Row ``i`` lists every higher neighbour ``x`` of node ``i`` once, with both costs
    interleaved: ``w[2p]`` for the arc ``i -> x`` (forward search), ``w[2p + 1]`` for
    ``x -> i`` (backward search); inf where that arc does not exist. ``mid`` is laid out
    alike (middle node of a shortcut, -1 for an original arc or none). Both searches, and
    the stalling test of either (which reads the other direction's cost), walk the same
    rows.
    """
    n = pos.shape[0]
    order = np.empty(n, np.int64)
    for v in range(n):
        order[pos[v]] = v
    stamp = np.full(n, -1, np.int64)
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        v = order[i]
        c = 0
        for p in range(up_ptr[v], up_ptr[v + 1]):
            x = up_to[p]
            if stamp[x] != i:
                stamp[x] = i
                c += 1
        for p in range(dn_ptr[v], dn_ptr[v + 1]):
            x = dn_fr[p]
            if stamp[x] != i:
                stamp[x] = i
                c += 1
        ptr[i + 1] = ptr[i] + c
    m = ptr[n]
    to = np.empty(m, np.int32)
    w = np.full(2 * m, _INF)
    mid = np.full(2 * m, -1, np.int32)
    slot = np.empty(n, np.int64)
    stamp[:] = -1
    for i in range(n):
        v = order[i]
        q = ptr[i]
        for side in range(2):
            a = up_ptr[v] if side == 0 else dn_ptr[v]
            b = up_ptr[v + 1] if side == 0 else dn_ptr[v + 1]
            for p in range(a, b):
                x = up_to[p] if side == 0 else dn_fr[p]
                c = up_w[p] if side == 0 else dn_w[p]
                md = up_mid[p] if side == 0 else dn_mid[p]
                if stamp[x] != i:
                    stamp[x] = i
                    slot[x] = q
                    to[q] = pos[x]
                    q += 1
                k = 2 * slot[x] + side
                if c < w[k]:  # a repeated arc: the cheapest
                    w[k] = c
                    mid[k] = pos[md] if md >= 0 else -1
    return ptr, to, w, mid


# --------------------------------------------------------------------------- queries
# Search state is interleaved per node: dist[2v] forward, dist[2v + 1] backward (pred alike),
# so the meeting test and the "first touch" test read one cache line.
@njit
def _stalled(u, du, side, ptr, to, w, dist):
    """True when a higher node reaches u more cheaply than ``du`` (u needs no expansion).

    Stall-on-demand: the arcs that would reach u from above are u's own row, read with the
    other direction's cost.
    """
    o = 1 - side
    for p in range(ptr[u], ptr[u + 1]):
        if dist[2 * to[p] + side] + w[2 * p + o] < du:
            return True
    return False


@njit
def _relax(u, du, side, ptr, to, w, dist, pred, hq, size, track, nt, best, meet):
    """The one relax step of every CH search: queue u's improved higher neighbours in the
    indexed heap ``hq`` (a node reached again from below moves up, it is not added twice).

    Newly touched nodes go to ``track`` (reset later, not O(n)); a neighbour already
    reached by the other direction offers a path, which may lower ``best`` (``meet``)
    early and so prune sooner. ``pred`` (empty: not kept) stores the arc position.
    Returns ``(size, nt, best, meet)``.
    """
    keys, items, where = hq
    keep = pred.shape[0] > 0
    o = 1 - side
    for p in range(ptr[u], ptr[u + 1]):
        c = w[2 * p + side]
        if c == _INF:
            continue
        x = to[p]
        nd = du + c
        k = 2 * x + side
        if nd < dist[k]:
            other = dist[2 * x + o]
            if dist[k] == _INF and other == _INF:
                track[nt] = x
                nt += 1
            dist[k] = nd
            if keep:
                pred[k] = p
            size = iheap_update(keys, items, where, size, nd, x)
            if nd + other < best:
                best = nd + other
                meet = x
    return size, nt, best, meet


@njit
def _seed(nodes, d0, side, dist, pred, hq, size, track, nt):
    keys, items, where = hq
    keep = pred.shape[0] > 0
    for i in range(nodes.shape[0]):
        v = nodes[i]
        k = 2 * v + side
        if dist[2 * v] == _INF and dist[2 * v + 1] == _INF:
            track[nt] = v
            nt += 1
        if d0[i] < dist[k]:
            dist[k] = d0[i]
            if keep:
                pred[k] = -1
            size = iheap_update(keys, items, where, size, d0[i], v)
    return size, nt


@njit
def _query_into(ptr, to, w, s_nodes, s_d0, t_nodes, t_d0, dist, pred, hf, hb, track):
    """Bidirectional upward search between seed sets: ``(cost, meeting node, n touched)``.

    Seeds start at their given costs (a point part-way along an edge enters the graph at
    both ends of its edge). The smaller queue head goes next; a direction stops once its
    head is no cheaper than the best path found (nothing it settles later can improve it).
    The heaps are left empty; ``dist`` still holds the labels (see :func:`_reset`).
    """
    sf, nt = _seed(s_nodes, s_d0, 0, dist, pred, hf, 0, track, 0)
    sb, nt = _seed(t_nodes, t_d0, 1, dist, pred, hb, 0, track, nt)
    best = _INF
    meet = -1
    for i in range(s_nodes.shape[0]):  # a node seeded on both sides
        v = s_nodes[i]
        if dist[2 * v] + dist[2 * v + 1] < best:
            best = dist[2 * v] + dist[2 * v + 1]
            meet = v
    fk, fi, fw = hf
    bk, bi, bw = hb
    while True:
        go_f = sf > 0 and fk[0] < best
        go_b = sb > 0 and bk[0] < best
        if not go_f and not go_b:
            break
        # one branch per direction, each on its own heap's arrays (no heap tuple picked per step)
        if go_f and (not go_b or fk[0] <= bk[0]):
            d = fk[0]
            u = fi[0]
            sf = iheap_pop(fk, fi, fw, sf)
            if not _stalled(u, d, 0, ptr, to, w, dist):
                sf, nt, best, meet = _relax(u, d, 0, ptr, to, w, dist, pred, hf, sf, track, nt, best, meet)
        else:
            d = bk[0]
            u = bi[0]
            sb = iheap_pop(bk, bi, bw, sb)
            if not _stalled(u, d, 1, ptr, to, w, dist):
                sb, nt, best, meet = _relax(u, d, 1, ptr, to, w, dist, pred, hb, sb, track, nt, best, meet)
    iheap_clear(fi, fw, sf)
    iheap_clear(bi, bw, sb)
    return best, meet, nt


@njit
def _work(n, n_seeds, want_tree):
    dist = np.full(2 * n, _INF)
    pred = np.full(2 * n if want_tree else 0, -1, np.int64)
    track = np.empty(n + n_seeds + 1, np.int32)
    return dist, pred, iheap_new(n), iheap_new(n), track


@njit
def _reset(track, nt, dist):
    for j in range(nt):
        v = track[j]
        dist[2 * v] = _INF
        dist[2 * v + 1] = _INF


@njit
def ch_query(ptr, to, w, s_nodes, s_d0, t_nodes, t_d0):
    """Cost of the cheapest path from the source seeds to the target seeds (inf if none)."""
    n = ptr.shape[0] - 1
    dist, pred, hf, hb, track = _work(n, s_nodes.shape[0] + t_nodes.shape[0], False)
    d, _, _ = _query_into(ptr, to, w, s_nodes, s_d0, t_nodes, t_d0, dist, pred, hf, hb, track)
    return d


@njit(parallel=True)
def ch_query_batch(ptr, to, w, origins, targets, nchunks):
    """Costs of many node pairs ``origins[i] -> targets[i]``, parallel over pairs.

    Each thread keeps one set of work arrays and resets only what a query touched.
    """
    n = ptr.shape[0] - 1
    q = origins.shape[0]
    out = np.empty(q, np.float64)
    for ch in prange(nchunks):
        dist, pred, hf, hb, track = _work(n, 2, False)
        s = np.empty(1, np.int32)
        t = np.empty(1, np.int32)
        zero = np.zeros(1)
        for i in range(ch, q, nchunks):
            s[0] = origins[i]
            t[0] = targets[i]
            d, _, nt = _query_into(ptr, to, w, s, zero, t, zero, dist, pred, hf, hb, track)
            out[i] = d
            _reset(track, nt, dist)
    return out


@njit
def _find(ptr, to, v, x):
    for p in range(ptr[v], ptr[v + 1]):
        if to[p] == x:
            return p
    return -1


@njit
def _unpack(a, b, mid, ptr, to, mids, out, k):
    """Append the original nodes after ``a`` on arc ``a -> b`` (ending with b) to ``out``."""
    stack_a = np.empty(64, np.int32)
    stack_b = np.empty(64, np.int32)
    stack_m = np.empty(64, np.int32)
    stack_a[0] = a
    stack_b[0] = b
    stack_m[0] = mid
    top = 1
    while top > 0:
        top -= 1
        x = stack_a[top]
        y = stack_b[top]
        m = stack_m[top]
        if m < 0:
            out[k] = y
            k += 1
            continue
        if top + 2 > stack_a.shape[0]:
            na = np.empty(2 * stack_a.shape[0], np.int32); na[:top] = stack_a[:top]; stack_a = na
            nb_ = np.empty(2 * stack_b.shape[0], np.int32); nb_[:top] = stack_b[:top]; stack_b = nb_
            nm = np.empty(2 * stack_m.shape[0], np.int32); nm[:top] = stack_m[:top]; stack_m = nm
        # m is below x and y, so both halves are in m's row: x -> m as a backward cost,
        # m -> y as a forward one. Push the second half first so the first is unpacked first.
        p2 = _find(ptr, to, m, y)
        p1 = _find(ptr, to, m, x)
        stack_a[top] = m
        stack_b[top] = y
        stack_m[top] = mids[2 * p2]
        top += 1
        stack_a[top] = x
        stack_b[top] = m
        stack_m[top] = mids[2 * p1 + 1]
        top += 1
    return out, k


@njit
def _append_arc(a, b, mid, ptr, to, mids, out, k, n):
    if k + n > out.shape[0]:
        grown = np.empty(2 * out.shape[0] + n, np.int32)
        grown[:k] = out[:k]
        out = grown
    return _unpack(a, b, mid, ptr, to, mids, out, k)


@njit
def ch_path(ptr, to, w, mid, s_nodes, s_d0, t_nodes, t_d0):
    """Cheapest path between seed sets: ``(cost, nodes)``, original nodes from a source
    seed to a target seed; an empty path when none."""
    n = ptr.shape[0] - 1
    dist, pred, hf, hb, track = _work(n, s_nodes.shape[0] + t_nodes.shape[0], True)
    d, meet, _ = _query_into(ptr, to, w, s_nodes, s_d0, t_nodes, t_d0, dist, pred, hf, hb, track)
    if meet < 0:
        return d, np.empty(0, np.int32)
    # arcs from the source seed up to the meeting node, collected backwards
    arcs_a = []
    arcs_b = []
    arcs_m = []
    v = meet
    while pred[2 * v] >= 0:
        p = pred[2 * v]
        a = _row_of(ptr, p)  # forward arc a -> v, stored in a's row
        arcs_a.append(a)
        arcs_b.append(v)
        arcs_m.append(mid[2 * p])
        v = a
    out = np.empty(16, np.int32)
    out[0] = v
    k = 1
    for j in range(len(arcs_a) - 1, -1, -1):
        out, k = _append_arc(arcs_a[j], arcs_b[j], arcs_m[j], ptr, to, mid, out, k, n)
    v = meet
    while pred[2 * v + 1] >= 0:
        p = pred[2 * v + 1]
        b = _row_of(ptr, p)  # backward arc v -> b, stored in b's row
        out, k = _append_arc(v, b, mid[2 * p + 1], ptr, to, mid, out, k, n)
        v = b
    return d, out[:k].copy()


@njit
def _row_of(ptr, p):
    """The row (node) whose CSR range holds position p (binary search)."""
    lo = 0
    hi = ptr.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if ptr[mid] <= p:
            lo = mid
        else:
            hi = mid
    # skip empty rows that share the start
    while ptr[lo + 1] <= p:
        lo += 1
    return lo


# --------------------------------------------------------------------------- many-to-many
@njit
def _upward(ptr, to, w, side, seeds, d0, dist, h, track, settled, sd):
    """Full upward search (``side`` 0 forward, 1 backward) from the seeds with stalling:
    settled, unstalled nodes and their costs go to ``settled``/``sd``; returns their count."""
    no_pred = np.empty(0, np.int64)
    keys, items, where = h
    size, nt = _seed(seeds, d0, side, dist, no_pred, h, 0, track, 0)
    ns = 0
    while size > 0:
        d = keys[0]
        u = items[0]
        size = iheap_pop(keys, items, where, size)
        if _stalled(u, d, side, ptr, to, w, dist):
            continue
        settled[ns] = u
        sd[ns] = d
        ns += 1
        size, nt, _, _ = _relax(u, d, side, ptr, to, w, dist, no_pred, h, size, track, nt, _INF, -1)
    _reset(track, nt, dist)
    return ns


@njit
def _search_work(n, n_seeds):
    dist = np.full(2 * n, _INF)
    h = iheap_new(n)
    track = np.empty(n + n_seeds + 1, np.int32)
    settled = np.empty(n, np.int32)
    sd = np.empty(n, np.float64)
    return dist, h, track, settled, sd


@njit(parallel=True)
def _bucket_counts(ptr, to, w, t_ptr, t_nodes, t_d0, nchunks):
    n = ptr.shape[0] - 1
    nt = t_ptr.shape[0] - 1
    counts = np.zeros(nt, np.int64)
    for ch in prange(nchunks):
        dist, h, track, settled, sd = _search_work(n, t_nodes.shape[0])
        for j in range(ch, nt, nchunks):
            a, b = t_ptr[j], t_ptr[j + 1]
            counts[j] = _upward(ptr, to, w, 1, t_nodes[a:b], t_d0[a:b], dist, h, track, settled, sd)
    return counts


@njit(parallel=True)
def _bucket_fill(ptr, to, w, t_ptr, t_nodes, t_d0, offs, e_node, e_t, e_d, nchunks):
    n = ptr.shape[0] - 1
    nt = t_ptr.shape[0] - 1
    for ch in prange(nchunks):
        dist, h, track, settled, sd = _search_work(n, t_nodes.shape[0])
        for j in range(ch, nt, nchunks):
            a, b = t_ptr[j], t_ptr[j + 1]
            ns = _upward(ptr, to, w, 1, t_nodes[a:b], t_d0[a:b], dist, h, track, settled, sd)
            o = offs[j]
            for i in range(ns):
                e_node[o + i] = settled[i]
                e_t[o + i] = j
                e_d[o + i] = sd[i]


@njit
def _buckets(n, e_node, e_t, e_d):
    """Entries sorted by node (counting sort): ``(ptr, target, cost)``."""
    m = e_node.shape[0]
    ptr = np.zeros(n + 1, np.int64)
    for i in range(m):
        ptr[e_node[i] + 1] += 1
    for v in range(n):
        ptr[v + 1] += ptr[v]
    fill = ptr[:-1].copy()
    bt = np.empty(m, np.int32)
    bd = np.empty(m, np.float64)
    for i in range(m):
        v = e_node[i]
        bt[fill[v]] = e_t[i]
        bd[fill[v]] = e_d[i]
        fill[v] += 1
    return ptr, bt, bd


@njit(parallel=True)
def _scan(ptr, to, w, s_ptr, s_nodes, s_d0, bptr, bt, bd, n_t, nchunks):
    n = ptr.shape[0] - 1
    ns_ = s_ptr.shape[0] - 1
    out = np.full((ns_, n_t), _INF)
    for ch in prange(nchunks):
        dist, h, track, settled, sd = _search_work(n, s_nodes.shape[0])
        for i in range(ch, ns_, nchunks):
            a, b = s_ptr[i], s_ptr[i + 1]
            ns = _upward(ptr, to, w, 0, s_nodes[a:b], s_d0[a:b], dist, h, track, settled, sd)
            row = out[i]
            for k in range(ns):
                x = settled[k]
                dx = sd[k]
                for q in range(bptr[x], bptr[x + 1]):
                    c = dx + bd[q]
                    j = bt[q]
                    if c < row[j]:
                        row[j] = c
    return out


def ch_buckets(ptr, to, w, t_ptr, t_nodes, t_d0, nchunks):
    """Buckets of the targets' backward upward searches: ``(ptr, target, cost)`` per node.

    Target ``j``'s seeds are ``t_nodes[t_ptr[j]:t_ptr[j + 1]]`` entering at ``t_d0``. Each
    target leaves ``(j, cost)`` at every node its search settles (unstalled): a few hundred
    entries per target on road networks.
    """
    n = ptr.shape[0] - 1
    n_t = t_ptr.shape[0] - 1
    counts = _bucket_counts(ptr, to, w, t_ptr, t_nodes, t_d0, nchunks)
    offs = np.zeros(n_t + 1, np.int64)
    np.cumsum(counts, out=offs[1:])
    m = int(offs[-1])
    e_node = np.empty(m, np.int32)
    e_t = np.empty(m, np.int32)
    e_d = np.empty(m, np.float64)
    _bucket_fill(ptr, to, w, t_ptr, t_nodes, t_d0, offs, e_node, e_t, e_d, nchunks)
    return _buckets(n, e_node, e_t, e_d)


def ch_bucket_scan(ptr, to, w, s_ptr, s_nodes, s_d0, buckets, n_targets, nchunks):
    """Rows of the cost matrix for the given sources against the targets of ``buckets``.

    One forward upward search per source; at every node it settles, the bucket's
    entries give a candidate cost ``d(s, x) + d(x, t)``; the least is exact.
    """
    bptr, bt, bd = buckets
    return _scan(ptr, to, w, s_ptr, s_nodes, s_d0, bptr, bt, bd, n_targets, nchunks)


def ch_many_to_many(ptr, to, w, s_ptr, s_nodes, s_d0, t_ptr, t_nodes, t_d0, nchunks):
    """Cost matrix from every source seed set to every target seed set (bucket algorithm).

    :func:`ch_buckets` then :func:`ch_bucket_scan`. Memory: the matrix plus one bucket
    entry per node settled by a backward search.
    """
    b = ch_buckets(ptr, to, w, t_ptr, t_nodes, t_d0, nchunks)
    return ch_bucket_scan(ptr, to, w, s_ptr, s_nodes, s_d0, b, t_ptr.shape[0] - 1, nchunks)
