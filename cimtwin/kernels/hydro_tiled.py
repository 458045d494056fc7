"""Tile kernels for hydrology on chunked grids, and the small global solves that join the tiles.

A tile is one chunk of the grid (the *core*, ``h x w`` cells), sometimes given with a one-cell
halo (the *ext* block, ``(h + 2) x (w + 2)``; NaN or 255 beyond the grid edge, so the grid edge
behaves like nodata, as it does in :mod:`cimtwin.kernels.hydro`). The cells on a core's outer
ring are its *perimeter*, numbered in raster order (:func:`perimeter_index`); a perimeter cell
of tile ``t`` is node ``node_offset[t] + pid`` of the global graphs solved here.

Every result is identical to the in-memory kernels: the fill surface is unique, flat distances
are shortest-path lengths, flow counts are integers, and the tie rules are the same.
"""

from __future__ import annotations

import numpy as np

from cimtwin.kernels._jit import njit
from cimtwin.kernels.hydro import _INV_DIST, CODES, DC, DR, _heap_pop, _heap_push, priority_flood_fill

OCEAN = -1  # label of cells flooded from an outlet inside the tile
INF_DIST = np.int32(2**31 - 1)  # flat distance of a cell no outlet reaches (yet)
FLAT = np.uint8(254)  # D8 code of a cell with no lower neighbour that is not an outlet


# -- perimeter numbering -----------------------------------------------------------------

def perimeter_count(h: int, w: int) -> int:
    """Number of cells on the outer ring of an ``h x w`` core."""
    return h * w - max(h - 2, 0) * max(w - 2, 0)


@njit
def _pid(r, c, h, w):
    m = min(w, 2)
    if r == 0:
        return c
    if r == h - 1:
        return w + (h - 2) * m + c
    return w + (r - 1) * m + (0 if c == 0 else 1)


def perimeter_index(r, c, h, w) -> np.ndarray:
    """Raster-order number of perimeter cells ``(r, c)`` of ``h x w`` cores (vectorized; ``h``
    and ``w`` may be arrays too, one core per cell)."""
    r = np.asarray(r, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    m = np.minimum(w, 2)
    mid = w + (r - 1) * m + np.where(c == 0, 0, 1)
    return np.where(r == 0, c, np.where(r == h - 1, w + (h - 2) * m + c, mid))


def perimeter_cells(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the perimeter cells of an ``h x w`` core in raster (pid) order."""
    m = min(w, 2)
    mid = np.arange(1, h - 1, dtype=np.int64)
    rows = [np.zeros(w, np.int64), np.repeat(mid, m)]
    cols = [np.arange(w, dtype=np.int64), np.tile(np.array([0, w - 1][:m], np.int64), mid.size)]
    if h > 1:
        rows.append(np.full(w, h - 1, np.int64))
        cols.append(np.arange(w, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(cols)


@njit
def _next_to_nodata(zf, r, c, h, w):
    """Whether core cell ``(r, c)`` has a nodata neighbour inside the core."""
    for k in range(8):
        rr = r + DR[k]
        cc = c + DC[k]
        if 0 <= rr < h and 0 <= cc < w and not np.isfinite(zf[rr * w + cc]):
            return True
    return False


@njit
def with_halo(core, ring_r, ring_c, ring_z):
    """The ext block of a core: the core framed by its halo ring, ``ring_z`` at ext cells
    ``(ring_r, ring_c)`` (the perimeter cells of the neighbouring tiles, NaN beyond the grid).

    Built inside the task from a plain argument, so no overlap tasks copy halos between tiles.
    """
    h, w = core.shape
    ext = np.empty((h + 2, w + 2), dtype=core.dtype)
    for r in range(h):
        for c in range(w):
            ext[r + 1, c + 1] = core[r, c]
    for t in range(ring_r.size):
        ext[ring_r[t], ring_c[t]] = ring_z[t]
    return ext


# -- depression filling (Barnes 2016: label flood per tile, spill graph, second pass) ------

def fill_tile_labels(core):
    """First pass of the tiled fill on one core (no halo needed).

    Priority-Flood of the core (the in-memory kernel, :func:`hydro.priority_flood_fill`) from
    its perimeter cells, each its own label (the pid), and from the inner cells next to
    nodata (label OCEAN); every cell takes the label of the seed it is flooded from. Returns
    the locally filled core, and the spill edges ``(a, b, weight)`` between labels that touch:
    ``weight`` is the higher of the two cells' local fill heights, so water can pass between
    the labels' seeds at that level. Perimeter cells next to nodata inside the core get an
    edge to OCEAN at their own height; their neighbours in other tiles or beyond the grid are
    the caller's to link.
    """
    core = np.ascontiguousarray(core)
    valid = np.isfinite(core)
    label = _seed_labels(core)
    z = priority_flood_fill(core, valid, False, label)
    ea, eb, ew = _spill_edges(z, label)
    return z, ea, eb, ew


@njit
def _seed_labels(core):
    """Labels of the flood's seeds (pid on the perimeter, OCEAN inside), -2 elsewhere."""
    h, w = core.shape
    zf = core.ravel()
    label = np.full(h * w, -2, dtype=np.int64)
    for r in range(h):
        for c in range(w):
            i = r * w + c
            if not np.isfinite(zf[i]):
                continue
            if r == 0 or c == 0 or r == h - 1 or c == w - 1:
                label[i] = _pid(r, c, h, w)
            elif _next_to_nodata(zf, r, c, h, w):
                label[i] = OCEAN
    return label


@njit
def _spill_edges(z, label):
    """Spill edges between differently labelled touching cells of a filled core, and from
    perimeter cells next to nodata to OCEAN (see :func:`fill_tile_labels`)."""
    ne = _edge_pass(z, label, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), False)
    ea = np.empty(ne, dtype=np.int64)
    eb = np.empty(ne, dtype=np.int64)
    ew = np.empty(ne, dtype=np.float64)
    _edge_pass(z, label, ea, eb, ew, True)
    return ea, eb, ew


@njit
def _edge_pass(z, label, ea, eb, ew, write):
    """Count (``write`` False) or write the spill edges; each pair once (E, SE, S, SW)."""
    h, w = z.shape
    zf = z.ravel()
    e = 0
    for r in range(h):
        for c in range(w):
            i = r * w + c
            li = label[i]
            if li == -2:
                continue
            if li >= 0 and (r == 0 or c == 0 or r == h - 1 or c == w - 1) and _next_to_nodata(zf, r, c, h, w):
                if write:
                    ea[e] = li
                    eb[e] = OCEAN
                    ew[e] = zf[i]
                e += 1
            for k in range(4):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr >= h or cc < 0 or cc >= w:
                    continue
                j = rr * w + cc
                lj = label[j]
                if lj != -2 and lj != li:
                    if write:
                        ea[e] = li
                        eb[e] = lj
                        ew[e] = max(zf[i], zf[j])
                    e += 1
    return e


@njit
def lowest_spills(ea, eb, ew, node_start, ocean):
    """A tile's spill edges in global node ids ``(lo, hi, weight)``, one per label pair, the
    lowest weight of each (labels are ``node_start`` + pid, OCEAN becomes node ``ocean``)."""
    n = ea.size
    key = np.empty(n, dtype=np.int64)
    for e in range(n):
        a = ocean if ea[e] == OCEAN else ea[e] + node_start
        b = ocean if eb[e] == OCEAN else eb[e] + node_start
        key[e] = min(a, b) * (ocean + 1) + max(a, b)
    order = np.argsort(key)
    m = 0
    for t in range(n):
        if t == 0 or key[order[t]] != key[order[t - 1]]:
            m += 1
    lo = np.empty(m, dtype=np.int64)
    hi = np.empty(m, dtype=np.int64)
    wt = np.empty(m, dtype=np.float64)
    u = -1
    for t in range(n):
        e = order[t]
        if t == 0 or key[e] != key[order[t - 1]]:
            u += 1
            lo[u] = key[e] // (ocean + 1)
            hi[u] = key[e] % (ocean + 1)
            wt[u] = ew[e]
        elif ew[e] < wt[u]:
            wt[u] = ew[e]
    return lo, hi, wt


@njit
def graph_minimax(indptr, nbr, weight, source):
    """Lowest level at which water from each node can reach ``source`` (min over paths of the
    highest edge); Dijkstra with ``max`` in place of ``+``. Unreached nodes get +inf."""
    n = indptr.size - 1
    level = np.full(n, np.inf)
    done = np.zeros(n, dtype=np.bool_)
    keys = np.empty(max(16, nbr.size + 1), dtype=np.float64)
    idx = np.empty(keys.size, dtype=np.int64)
    level[source] = -np.inf
    size = _heap_push(keys, idx, 0, -np.inf, source)
    while size > 0:
        u = idx[0]
        size = _heap_pop(keys, idx, size)
        if done[u]:
            continue
        done[u] = True
        lu = level[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = nbr[e]
            lv = max(lu, weight[e])
            if lv < level[v]:
                level[v] = lv
                size = _heap_push(keys, idx, size, lv, v)
    return level


# -- flats (distances to the flat's outlets, joined across tiles by relaxation) ------------
#
# A tile's halo ring is described by one int32 per halo cell: 0 for a cell that drains (valid,
# not flat: as an outlet it is a flat cell "0 steps" from the outlets), the known distance of a
# flat cell, INF_DIST for a flat cell not reached yet, for nodata and beyond the grid.


@njit
def _d8_cell(ext, r, c):
    """D8 code of ext cell ``(r, c)`` (which has all 8 neighbours in ``ext``): 255 nodata,
    FLAT when no neighbour is lower and none is nodata, else the steepest descent code (0
    next to nodata with no lower neighbour); the arithmetic of :func:`hydro._d8_local`."""
    zc = ext[r, c]
    if not np.isfinite(zc):
        return np.uint8(255)
    best = 0.0
    code = np.uint8(0)
    border = False
    for k in range(8):
        zn = ext[r + DR[k], c + DC[k]]
        if not np.isfinite(zn):
            border = True
            continue
        drop = (zc - zn) * _INV_DIST[k]
        if drop > best:
            best = drop
            code = CODES[k]
    if code == 0 and not border:
        return FLAT
    return code


@njit
def _is_flat(ext, r, c):
    """``_d8_cell(ext, r, c) == FLAT``, stopping at the first lower or nodata neighbour."""
    zc = ext[r, c]
    if not np.isfinite(zc):
        return False
    for k in range(8):
        zn = ext[r + DR[k], c + DC[k]]
        if not np.isfinite(zn) or zn < zc:
            return False
    return True


@njit
def flat_perimeter_state(ext):
    """Local D8 state of a core's perimeter cells by pid: 255 nodata, FLAT, else 0 (drains)."""
    H, W = ext.shape
    h = H - 2
    w = W - 2
    out = np.empty(h * w - max(h - 2, 0) * max(w - 2, 0), dtype=np.uint8)
    for r in range(h):
        step = 1 if (r == 0 or r == h - 1) else max(w - 1, 1)
        for c in range(0, w, step):
            p = _pid(r, c, h, w)
            if not np.isfinite(ext[r + 1, c + 1]):
                out[p] = 255
            elif _is_flat(ext, r + 1, c + 1):
                out[p] = FLAT
            else:
                out[p] = 0
    return out


@njit
def _flat_bfs(ext, dist, flat, seeds, cand, ns, queue):
    """Distances by breadth-first search from ``seeds`` (ext flat indices) at their candidate
    distances ``cand``, over same-height flat core cells. ``flat`` caches the flat test per
    ext cell (0 unknown, 1 flat, 2 not), filled in as the search meets cells."""
    H, W = ext.shape
    df = dist.ravel()
    for t in range(ns):
        if cand[t] < df[seeds[t]]:
            df[seeds[t]] = cand[t]
    order = np.argsort(cand[:ns], kind="mergesort")
    qh = 0
    qt = 0
    s = 0
    while s < ns or qh < qt:
        if qh < qt and (s >= ns or df[queue[qh]] < cand[order[s]]):
            i = queue[qh]
            qh += 1
        else:
            o = order[s]
            s += 1
            i = seeds[o]
            if df[i] != cand[o]:
                continue  # reached sooner from another seed; it was queued then
        r = i // W
        c = i - r * W
        d1 = df[i] + 1
        level = ext[r, c]
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr == 0 or cc == 0 or rr == H - 1 or cc == W - 1 or ext[rr, cc] != level:
                continue
            if flat[rr, cc] == 0:
                flat[rr, cc] = 1 if _is_flat(ext, rr, cc) else 2
            if flat[rr, cc] != 1:
                continue
            if dist[rr, cc] > d1:
                dist[rr, cc] = d1
                queue[qt] = rr * W + cc
                qt += 1


@njit
def _perimeter_dist(dist, flat):
    H, W = dist.shape
    h = H - 2
    w = W - 2
    per = np.full(h * w - max(h - 2, 0) * max(w - 2, 0), INF_DIST, dtype=np.int32)
    for r in range(h):
        step = 1 if (r == 0 or r == h - 1) else max(w - 1, 1)
        for c in range(0, w, step):
            if flat[r + 1, c + 1] == 1:
                per[_pid(r, c, h, w)] = dist[r + 1, c + 1]
    return per


@njit
def _outlet_step(ext, dist, flat, r, c):
    """Distance bound of flat ext cell ``(r, c)`` from its neighbours at its height: 1 next to a
    draining core cell, ``d + 1`` next to a halo cell ``d`` steps from the outlets (0 when it
    drains), else INF_DIST. ``flat`` caches the flat test (0 unknown, 1 flat, 2 not)."""
    H, W = ext.shape
    level = ext[r, c]
    best = INF_DIST
    for k in range(8):
        rr = r + DR[k]
        cc = c + DC[k]
        if ext[rr, cc] != level:
            continue
        if rr == 0 or cc == 0 or rr == H - 1 or cc == W - 1:
            hd = dist[rr, cc]
            if hd != INF_DIST and hd + 1 < best:
                best = hd + 1
        else:
            if flat[rr, cc] == 0:
                flat[rr, cc] = 1 if _is_flat(ext, rr, cc) else 2
            if flat[rr, cc] == 2:
                return np.int32(1)  # a draining cell at the same height (nodata never equals it)
    return best


@njit
def flat_round_tile(ext, ring_r, ring_c, ring_val, local):
    """One relaxation round of the flat distances on a tile; returns perimeter distances by pid.

    With ``local`` the search covers the flats that touch the core's perimeter, seeded by their
    outlets (in the core or on the halo: ring value 0) and by the halo cells' known distances
    ``ring_val`` at ``(ring_r, ring_c)`` (ext coordinates). Without it only the given halo
    cells seed the search (those whose distance dropped since the tile's last round); the
    caller keeps the minimum with the earlier result, which is exact because a breadth-first
    distance is the minimum over its seeds. Only same-height flat cells reached from the
    perimeter are visited, so a round costs what the flats on the tile's edge cost.
    """
    H, W = ext.shape
    h = H - 2
    w = W - 2
    dist = np.full((H, W), INF_DIST, dtype=np.int32)
    flat = np.zeros((H, W), dtype=np.uint8)
    for r in range(H):
        flat[r, 0] = 2
        flat[r, W - 1] = 2
    for c in range(W):
        flat[0, c] = 2
        flat[H - 1, c] = 2
    for t in range(ring_r.size):
        dist[ring_r[t], ring_c[t]] = ring_val[t]
    queue = np.empty(h * w, dtype=np.int64)
    if local:
        # the flat cells connected to perimeter flat cells (their flat test cached in ``flat``)
        m = 0
        for r in range(h):
            step = 1 if (r == 0 or r == h - 1) else max(w - 1, 1)
            for c in range(0, w, step):
                if _is_flat(ext, r + 1, c + 1):
                    flat[r + 1, c + 1] = 1
                    queue[m] = (r + 1) * W + c + 1
                    m += 1
                else:
                    flat[r + 1, c + 1] = 2
        head = 0
        while head < m:
            i = queue[head]
            head += 1
            r = i // W
            c = i - r * W
            level = ext[r, c]
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if flat[rr, cc] != 0 or ext[rr, cc] != level:
                    continue
                if _is_flat(ext, rr, cc):
                    flat[rr, cc] = 1
                    queue[m] = rr * W + cc
                    m += 1
                else:
                    flat[rr, cc] = 2
        seeds = np.empty(m, dtype=np.int64)
        cand = np.empty(m, dtype=np.int32)
        ns = 0
        for t in range(m):
            i = queue[t]
            r = i // W
            best = _outlet_step(ext, dist, flat, r, i - r * W)
            if best != INF_DIST:
                seeds[ns] = i
                cand[ns] = best
                ns += 1
    else:
        seeds = np.empty(8 * ring_r.size, dtype=np.int64)
        cand = np.empty(8 * ring_r.size, dtype=np.int32)
        ns = 0
        for t in range(ring_r.size):
            r = ring_r[t]
            c = ring_c[t]
            v = ring_val[t]
            if v == INF_DIST:
                continue
            level = ext[r, c]
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 1 or cc < 1 or rr > H - 2 or cc > W - 2 or ext[rr, cc] != level:
                    continue
                if flat[rr, cc] == 0:
                    flat[rr, cc] = 1 if _is_flat(ext, rr, cc) else 2
                if flat[rr, cc] == 1:
                    seeds[ns] = rr * W + cc
                    cand[ns] = v + 1
                    ns += 1
    _flat_bfs(ext, dist, flat, seeds, cand, ns, queue)
    return _perimeter_dist(dist, flat)


@njit
def flat_final_tile(ext, ring_r, ring_c, ring_val):
    """Final D8 codes of a core, given the converged distances on its halo ring.

    Non-flat cells take their steepest descent code; each flat cell points at its first
    neighbour (in code order E, SE, ..., NE) one step nearer the outlets, the rule of the
    in-memory search, or 0 when no outlet is reached.
    """
    H, W = ext.shape
    h = H - 2
    w = W - 2
    codes = np.empty((h, w), dtype=np.uint8)
    nflat = 0
    for r in range(h):
        for c in range(w):
            code = _d8_cell(ext, r + 1, c + 1)
            codes[r, c] = code
            if code == FLAT:
                nflat += 1
    if nflat == 0:
        return codes
    dist = np.full((H, W), INF_DIST, dtype=np.int32)
    flat = np.full((H, W), 2, dtype=np.uint8)
    for t in range(ring_r.size):
        dist[ring_r[t], ring_c[t]] = ring_val[t]
    seeds = np.empty(nflat, dtype=np.int64)
    cand = np.empty(nflat, dtype=np.int32)
    ns = 0
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            if codes[r - 1, c - 1] == FLAT:
                flat[r, c] = 1
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            if codes[r - 1, c - 1] != FLAT:
                continue
            best = _outlet_step(ext, dist, flat, r, c)
            if best != INF_DIST:
                seeds[ns] = r * W + c
                cand[ns] = best
                ns += 1
    _flat_bfs(ext, dist, flat, seeds, cand, ns, np.empty(nflat, dtype=np.int64))
    out = codes.copy()
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            if codes[r - 1, c - 1] != FLAT:
                continue
            d = dist[r, c]
            code = np.uint8(0)
            if d != INF_DIST:
                level = ext[r, c]
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if ext[rr, cc] != level:
                        continue
                    ring = rr == 0 or cc == 0 or rr == H - 1 or cc == W - 1
                    if dist[rr, cc] == d - 1 or (d == 1 and not ring and codes[rr - 1, cc - 1] != FLAT):
                        code = CODES[k]
                        break
            out[r - 1, c - 1] = code
    return out


# -- accumulation and HAND (Barnes 2017: tile pass, perimeter links solved globally) -------

@njit
def _code_index(d):
    k = 0
    while CODES[k] != d:
        k += 1
    return k


@njit
def accumulate_tile(dirs, inflow, acc):
    """Flow counts of a core given the inflow (from other tiles) at its perimeter cells.

    ``inflow`` is indexed by pid; ``acc`` is the preallocated output (uint32 or uint64).
    Flow leaving the core is dropped here (it is the perimeter links' business).
    """
    h, w = dirs.shape
    indeg = np.zeros((h, w), dtype=np.uint8)
    for r in range(h):
        for c in range(w):
            d = dirs[r, c]
            acc[r, c] = 0 if d == 255 else 1
            if d == 0 or d == 255:
                continue
            k = _code_index(d)
            rr = r + DR[k]
            cc = c + DC[k]
            if 0 <= rr < h and 0 <= cc < w:
                indeg[rr, cc] += 1
    for r in range(h):
        for c in range(w):
            if r == 0 or c == 0 or r == h - 1 or c == w - 1:
                acc[r, c] += inflow[_pid(r, c, h, w)]
    for r0 in range(h):
        for c0 in range(w):
            if indeg[r0, c0] != 0 or dirs[r0, c0] == 255:
                continue
            r = r0
            c = c0
            while True:
                d = dirs[r, c]
                if d == 0 or d == 255:
                    break
                k = _code_index(d)
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= h or cc < 0 or cc >= w:
                    break
                acc[rr, cc] += acc[r, c]
                indeg[rr, cc] -= 1
                if indeg[rr, cc] > 0:
                    break
                indeg[rr, cc] = 255  # reached: the outer scan must not start here again
                r = rr
                c = cc


@njit
def trace_perimeter(dirs, stop, use_stop):
    """Where the flow path of each perimeter cell ends inside the core (memoized walks).

    Returns (kind, end) per pid: kind 0 = ends at an outlet/pit/nodata, 1 = leaves the core
    from cell ``end`` (a perimeter cell, as a pid), 2 = meets a ``stop`` cell ``end`` (flat
    core index r * w + c) first.
    """
    h, w = dirs.shape
    n = h * w
    memo_kind = np.full(n, -1, dtype=np.int8)
    memo_end = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    P = h * w - max(h - 2, 0) * max(w - 2, 0)
    kind = np.empty(P, dtype=np.int8)
    end = np.empty(P, dtype=np.int64)
    for r0 in range(h):
        for c0 in range(w):
            if not (r0 == 0 or c0 == 0 or r0 == h - 1 or c0 == w - 1):
                continue
            top = 0
            i = r0 * w + c0
            while True:
                if memo_kind[i] >= 0:
                    kk = memo_kind[i]
                    ee = memo_end[i]
                    break
                stack[top] = i
                top += 1
                r = i // w
                c = i - r * w
                if use_stop and stop[r, c]:
                    kk = 2
                    ee = i
                    break
                d = dirs[r, c]
                if d == 0 or d == 255:
                    kk = 0
                    ee = -1
                    break
                k = _code_index(d)
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= h or cc < 0 or cc >= w:
                    kk = 1
                    ee = _pid(r, c, h, w)
                    break
                i = rr * w + cc
            for t in range(top):
                memo_kind[stack[t]] = kk
                memo_end[stack[t]] = ee
            p = _pid(r0, c0, h, w)
            kind[p] = kk
            end[p] = ee
    return kind, end


@njit
def solve_accumulation_links(is_exit, acc_exit, receiver, next_exit, out_dtype_sample):
    """Global flow through the perimeter links (a DAG over exit cells, Kahn's order).

    Per node: ``is_exit`` (its flow leaves its tile), ``acc_exit`` (its local count),
    ``receiver`` (node it drains into, exits only), ``next_exit`` (exit node its in-tile path
    reaches, or -1). Returns the inflow each node receives from other tiles.
    """
    n = is_exit.size
    inflow = np.zeros(n, dtype=out_dtype_sample.dtype)
    out = np.zeros(n, dtype=out_dtype_sample.dtype)
    indeg = np.zeros(n, dtype=np.int64)
    for y in range(n):
        if is_exit[y]:
            x = next_exit[receiver[y]]
            if x >= 0:
                indeg[x] += 1
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for y in range(n):
        if is_exit[y]:
            out[y] = acc_exit[y]
            if indeg[y] == 0:
                queue[tail] = y
                tail += 1
    head = 0
    while head < tail:
        y = queue[head]
        head += 1
        e = receiver[y]
        inflow[e] += out[y]
        x = next_exit[e]
        if x >= 0:
            out[x] += out[y]
            indeg[x] -= 1
            if indeg[x] == 0:
                queue[tail] = x
                tail += 1
    return inflow


@njit
def solve_hand_links(kind, value, end_node, receiver):
    """Reference (stream) height of every perimeter node's path across tiles.

    ``kind``/``value``/``end_node`` per node from :func:`trace_perimeter` (value = stream
    height for kind 2; end_node = exit node for kind 1); ``receiver`` per exit node.
    """
    n = kind.size
    ref = np.full(n, np.nan)
    done = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for s in range(n):
        top = 0
        e = s
        v = np.nan
        while True:
            if done[e]:
                v = ref[e]
                break
            stack[top] = e
            top += 1
            if kind[e] == 2:
                v = value[e]
                break
            if kind[e] == 0:
                break
            e = receiver[end_node[e]]
        for t in range(top):
            ref[stack[t]] = v
            done[stack[t]] = True
    return ref


@njit
def hand_tile(z, dirs, streams, exit_ref):
    """HAND of a core; a path that leaves the core from perimeter cell ``p`` (not a stream)
    takes ``exit_ref[p]``, the reference height found beyond the tile."""
    h, w = dirs.shape
    n = h * w
    zf = z.ravel()
    ref = np.full(n, np.nan)
    done = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = i // w
        c = i - r * w
        if done[i] or dirs[r, c] == 255:
            continue
        top = 0
        j = i
        value = np.nan
        while True:
            if done[j]:
                value = ref[j]
                break
            rj = j // w
            cj = j - rj * w
            if streams[rj, cj]:
                value = zf[j]
                ref[j] = value
                done[j] = True
                break
            stack[top] = j
            top += 1
            d = dirs[rj, cj]
            if d == 0 or d == 255:
                break
            k = _code_index(d)
            rr = rj + DR[k]
            cc = cj + DC[k]
            if rr < 0 or rr >= h or cc < 0 or cc >= w:
                value = exit_ref[_pid(rj, cj, h, w)]
                break
            j = rr * w + cc
        for t in range(top):
            ref[stack[t]] = value
            done[stack[t]] = True
    out = np.empty(n, dtype=z.dtype)
    for i in range(n):
        r = i // w
        c = i - r * w
        if dirs[r, c] == 255:
            out[i] = np.nan
        else:
            out[i] = zf[i] - ref[i]
    return out.reshape(h, w)
