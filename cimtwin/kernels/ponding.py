"""Fill-Spill-Merge ponding (after Barnes, Callaghan & Wickert 2020), numpy + numba only.

Steps:

1. **Depression hierarchy.** Cells are visited in ascending elevation (ties by index). A cell
   with no lower-or-equal visited neighbour starts a leaf depression (its pit); otherwise it
   joins the basin of its lowest visited neighbour, so every cell belongs to the basin its
   runoff flows down to. Cells on the grid edge or next to nodata belong to the "ocean" (water
   there leaves the grid). When a cell touches two basins, they meet at the cell's elevation:
   two depressions merge into a parent whose children both spill at that level; a depression
   that meets the ocean spills out of the grid. This is a Kruskal-style merge tree, built with
   union-find.
2. **Capacities.** Each node's storage up to its own spill level, from per-node cell counts
   and elevation sums aggregated up the tree.
3. **Routing.** Each leaf receives its basin's runoff. A full depression passes its excess
   over its spill into the basin on the other side (the active depression containing that
   basin); when both children of a node are full they merge and fill together; excess of a
   top-level depression leaves the grid.
4. **Water levels.** Each active depression's level solves ``storage(level) = water`` exactly
   over its sorted cell elevations; depth = level - elevation where positive.

Volume is conserved by construction: runoff = ponded + outflow.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit
from cimtwin.kernels.hydro import DC, DR

OCEAN = 0  # node id of the outside world


@njit
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit
def _count_pits(z, valid):
    """Upper bound on leaf depressions: interior cells with no strictly lower valid neighbour."""
    rows, cols = z.shape
    m = 0
    for r in range(1, rows - 1):
        for c in range(1, cols - 1):
            if not valid[r, c]:
                continue
            zc = z[r, c]
            pit = True
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if not valid[rr, cc] or z[rr, cc] < zc:
                    pit = False
                    break
            if pit:
                m += 1
    return m


@njit
def _build_hierarchy(z, valid, order):
    """Merge tree of depressions. Returns per-cell leaf ids and per-node arrays."""
    rows, cols = z.shape
    n = rows * cols
    zf = z.ravel()
    vf = valid.ravel()
    leaf = np.full(n, -1, dtype=np.int32)  # basin (leaf node) of each cell; OCEAN for the outside
    # every node is a pit or the merge of two, so 2 * pits + 1 bounds the count; arrays are
    # sized once because growing them inside this loop would slow every access down
    cap = 2 * _count_pits(z, valid) + 2
    uf = np.empty(cap, dtype=np.int64)  # union-find over nodes: current top-level node
    parent = np.empty(cap, dtype=np.int64)  # tree parent (-1 = none yet; OCEAN = spills out)
    spill = np.empty(cap, dtype=np.float64)
    target = np.empty(cap, dtype=np.int64)  # leaf on the far side of the spill (or OCEAN)
    child_a = np.empty(cap, dtype=np.int64)
    child_b = np.empty(cap, dtype=np.int64)
    cnt = np.zeros(cap, dtype=np.float64)  # cells at or below the node's spill, not in children
    zsum = np.zeros(cap, dtype=np.float64)
    uf[0] = 0
    parent[0] = -1
    spill[0] = np.inf
    target[0] = -1
    child_a[0] = -1
    child_b[0] = -1
    nn = 1
    for t in range(order.size):
        i = order[t]
        if not vf[i]:
            continue
        r = i // cols
        c = i - r * cols
        zi = zf[i]
        border = r == 0 or c == 0 or r == rows - 1 or c == cols - 1
        best = -1
        bestz = np.inf
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            j = rr * cols + cc
            if not vf[j]:
                border = True
                continue
            if leaf[j] >= 0 and zf[j] < bestz:
                bestz = zf[j]
                best = j
        if border:
            my = OCEAN
        elif best >= 0:
            my = leaf[best]
        else:  # a pit: new leaf
            my = nn
            uf[nn] = nn
            parent[nn] = -1
            spill[nn] = np.inf
            target[nn] = -1
            child_a[nn] = -1
            child_b[nn] = -1
            cnt[nn] = 0.0
            zsum[nn] = 0.0
            nn += 1
        leaf[i] = my
        # meet every other visited basin around this cell at this cell's elevation
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            j = rr * cols + cc
            if leaf[j] < 0:
                continue
            a = _find(uf, my)
            b = _find(uf, leaf[j])
            if a == b:
                continue
            if a == OCEAN or b == OCEAN:
                d = b if a == OCEAN else a
                spill[d] = zi
                parent[d] = OCEAN
                target[d] = OCEAN
                uf[d] = OCEAN
                continue
            p = nn
            nn += 1
            uf[p] = p
            parent[p] = -1
            spill[p] = np.inf
            target[p] = -1
            child_a[p] = a
            child_b[p] = b
            cnt[p] = 0.0
            zsum[p] = 0.0
            spill[a] = zi
            spill[b] = zi
            parent[a] = p
            parent[b] = p
            # the far side of a's spill is the basin of the neighbour, and vice versa
            if _find(uf, my) == a:
                target[a] = leaf[j]
                target[b] = my
            else:
                target[a] = my
                target[b] = leaf[j]
            uf[a] = p
            uf[b] = p
        top = _find(uf, my)
        if top != OCEAN:
            cnt[top] += 1.0
            zsum[top] += zi
    return (leaf, nn, parent[:nn].copy(), spill[:nn].copy(), target[:nn].copy(),
            child_a[:nn].copy(), child_b[:nn].copy(), cnt[:nn].copy(), zsum[:nn].copy())


@njit
def _route(nn, parent, spill, target, child_a, child_b, capacity, leaf_water):
    """Fill-Spill-Merge over the tree; returns (water per node, active id per node, outflow)."""
    water = np.zeros(nn, dtype=np.float64)
    full = np.zeros(nn, dtype=np.bool_)
    active = np.arange(nn)  # union-find: a node points to the merged node that holds its water
    outflow = 0.0
    for lf in range(1, nn):
        w = leaf_water[lf]
        if w <= 0.0 or child_a[lf] >= 0:
            continue
        node = _find(active, lf)
        while True:
            water[node] += w
            room = capacity[node] - water[node]
            if room >= 0.0:
                break
            w = -room
            water[node] = capacity[node]
            full[node] = True
            p = parent[node]
            if p == OCEAN or p < 0:
                outflow += w
                break
            sib = child_b[p] if child_a[p] == node else child_a[p]
            if full[sib]:
                active[node] = p
                active[sib] = p
                water[p] = water[node] + water[sib]
                node = p
            else:
                node = _find(active, target[node])
    for i in range(nn):
        _find(active, i)
    return water, active, outflow


@njit
def _water_level(zs, target_vol, spill):
    """Level that stores ``target_vol`` (metres x cells) over cells of sorted heights ``zs``, capped at ``spill``.

    Storage at level h is k*h - sum(zs[:k]) for zs[k-1] <= h <= zs[k].
    """
    csum = 0.0
    m = zs.size
    for k in range(1, m + 1):
        csum += zs[k - 1]
        upper = zs[k] if k < m else spill
        if k * upper - csum >= target_vol:
            return min((target_vol + csum) / k, spill)
    return spill


@njit
def _levels(zf, leaf, act_of_leaf, spill, water, cell_area, depth):
    """Exact water level per active depression; writes depth (m) per cell."""
    n = zf.size
    nn = water.size
    # cells that can hold water: in a wet depression and below its spill level
    counts = np.zeros(nn + 1, dtype=np.int64)
    for i in range(n):
        lf = leaf[i]
        if lf <= 0:
            continue
        a = act_of_leaf[lf]
        if water[a] > 0.0 and zf[i] < spill[a]:
            counts[a + 1] += 1
    for a in range(nn):
        counts[a + 1] += counts[a]
    cells = np.empty(counts[nn], dtype=np.int64)
    fill = counts[:nn].copy()
    for i in range(n):
        lf = leaf[i]
        if lf <= 0:
            continue
        a = act_of_leaf[lf]
        if water[a] > 0.0 and zf[i] < spill[a]:
            cells[fill[a]] = i
            fill[a] += 1
    for a in range(nn):
        lo = counts[a]
        hi = counts[a + 1]
        if hi == lo:
            continue
        idx = cells[lo:hi]
        level = _water_level(np.sort(zf[idx].astype(np.float64)), water[a] / cell_area, spill[a])
        for t in range(idx.size):
            i = idx[t]
            d = level - zf[i]
            if d > 0.0:
                depth[i] = d


def fill_spill_merge_sorted(z, valid, runoff_m, cell_area_m2):
    """Reference implementation: the merge tree from one pass over all cells in sorted order.

    Slower than :func:`fill_spill_merge` (a full sort, then random access in elevation order)
    and kept to check it. Ponded depth (m) and volumes (m^3) from a runoff depth (m) per cell.

    ``runoff_m`` is a float64 array of the DEM's shape (0 where there is no runoff). Returns
    ``(depth_m float32, runoff_m3, ponded_m3, outflow_m3)``.
    """
    rows, cols = z.shape
    zf = np.ascontiguousarray(z).ravel()
    key = np.where(valid.ravel(), zf, np.inf)
    order = np.argsort(key, kind="stable")
    (leaf, nn, parent, spill, target, child_a, child_b, cnt, zsum) = _build_hierarchy(z, valid, order)
    del order
    # aggregate counts up the tree (children are always created before parents)
    for node in range(1, nn):
        p = parent[node]
        if p > 0:
            cnt[p] += cnt[node]
            zsum[p] += zsum[node]
    with np.errstate(invalid="ignore"):
        capacity = np.where(np.isfinite(spill), (cnt * spill - zsum) * cell_area_m2, np.inf)
    capacity[0] = np.inf
    capacity = np.maximum(capacity, 0.0)
    vol = np.where(valid.ravel(), runoff_m.ravel(), 0.0) * cell_area_m2
    runoff_total = float(vol.sum())
    leaf_water = np.bincount(np.maximum(leaf, 0), weights=vol, minlength=nn).astype(np.float64)
    ocean_direct = float(leaf_water[0]) if nn > 0 else 0.0
    leaf_water[0] = 0.0
    water, active, outflow = _route(nn, parent, spill, target, child_a, child_b, capacity, leaf_water)
    depth = np.zeros(rows * cols, dtype=np.float64)
    _levels(zf, leaf, active, spill, water, float(cell_area_m2), depth)
    ponded = float(depth.sum() * cell_area_m2)
    outflow_total = outflow + ocean_direct
    return depth.reshape(rows, cols), runoff_total, ponded, outflow_total


# --------------------------------------------------------------------------------------
# Fast path: the same merge tree without visiting every cell in elevation order
# --------------------------------------------------------------------------------------
# Cell i "precedes" cell j when (z_i, i) < (z_j, j): that is the sorted order of the reference.
# There, a cell joins the basin of its lowest preceding neighbour, which is a local rule: each
# basin (leaf) is found by following those pointers down to a pit, in parallel. Merges happen
# only where two basins touch, so only boundary cells (a few per basin) need sorting, and
# Kruskal's union-find runs over those events. The per-node cell counts and elevation sums
# (capacities) then come from one pass that places each cell in the node that was on top of
# its basin when the cell was reached.

_NOT_DONE = -1  # label of an unlabelled (or nodata) cell while basins are labelled
_PIT = -3


@njit
def _lower_slot(zf, vf, i, r, c, rows, cols):
    """Slot k of the lowest preceding valid neighbour of valid cell ``i`` (ties: first k).

    9 when the cell touches the edge or nodata (it drains out: the ocean), 8 for a pit.
    """
    if r == 0 or c == 0 or r == rows - 1 or c == cols - 1:
        return 9
    zi = zf[i]
    best = 8
    bestz = np.inf
    for k in range(8):
        j = i + DR[k] * cols + DC[k]
        if not vf[j]:
            return 9
        zj = zf[j]
        if (zj < zi or (zj == zi and j < i)) and zj < bestz:
            bestz = zj
            best = k
    return best


def _row_chunk(cols):
    """Rows per parallel work item: small items keep a preempted thread from holding the rest."""
    return max(1, 65536 // max(1, cols))


@njit(parallel=True)
def _mark_pits(zf, vf, leaf, down, rows, cols):
    """leaf = OCEAN on drained cells, _PIT on pits, _NOT_DONE elsewhere; ``down`` = the slot k
    of the lowest preceding neighbour (8 = none). Returns pits per row."""
    per_row = np.zeros(rows, dtype=np.int64)
    for r in prange(rows):
        m = 0
        for c in range(cols):
            i = r * cols + c
            down[i] = 8
            if not vf[i]:
                leaf[i] = _NOT_DONE
                continue
            k = _lower_slot(zf, vf, i, r, c, rows, cols)
            if k == 9:
                leaf[i] = OCEAN
            elif k == 8:
                leaf[i] = _PIT
                m += 1
            else:
                leaf[i] = _NOT_DONE
                down[i] = k
        per_row[r] = m
    return per_row


@njit(parallel=True)
def _list_pits(leaf, offsets, pits, rows, cols):
    for r in prange(rows):
        m = offsets[r]
        for c in range(cols):
            i = r * cols + c
            if leaf[i] == _PIT:
                pits[m] = i
                m += 1


@njit(parallel=True)
def _label_basins(vf, leaf, down, rows, cols):
    """Each cell's basin: the label at the end of its chain of lowest preceding neighbours.

    Two walks per chain (find the label, then write it), so no stack is needed; threads that
    meet on a chain write the same labels, so the result does not depend on scheduling.
    """
    step = np.empty(8, dtype=np.int64)
    for k in range(8):
        step[k] = DR[k] * cols + DC[k]
    for r in prange(rows):
        for c in range(cols):
            i = r * cols + c
            if not vf[i] or leaf[i] != _NOT_DONE:
                continue
            j = i
            while leaf[j] == _NOT_DONE:
                j += step[down[j]]
            label = leaf[j]
            j = i
            while leaf[j] == _NOT_DONE:
                leaf[j] = label
                j += step[down[j]]


@njit
def _boundary_mask(zf, vf, leaf, i, rows, cols):
    """Bit k set where cell ``i`` meets a new basin through neighbour k (first k per basin)."""
    r = i // cols
    c = i - r * cols
    zi = zf[i]
    my = leaf[i]
    mask = 0
    interior = r > 0 and c > 0 and r < rows - 1 and c < cols - 1
    for k in range(8):
        rr = r + DR[k]
        cc = c + DC[k]
        if not interior and (rr < 0 or rr >= rows or cc < 0 or cc >= cols):
            continue
        j = rr * cols + cc
        lj = leaf[j]
        if lj == my or not vf[j]:
            continue
        zj = zf[j]
        if not (zj < zi or (zj == zi and j < i)):
            continue
        dup = False
        for t in range(k):  # a basin already met through an earlier slot
            if (mask >> t) & 1 and leaf[(r + DR[t]) * cols + c + DC[t]] == lj:
                dup = True
                break
        if dup:
            continue
        mask |= 1 << k
    return mask


@njit(parallel=True)
def _mark_events(zf, vf, leaf, masks, rows, cols):
    per_row = np.zeros(rows, dtype=np.int64)
    for r in prange(rows):
        m = 0
        for c in range(cols):
            i = r * cols + c
            b = 0
            if vf[i]:
                b = _boundary_mask(zf, vf, leaf, i, rows, cols)
                for k in range(8):
                    m += (b >> k) & 1
            masks[i] = b
        per_row[r] = m
    return per_row


@njit(parallel=True)
def _list_events(masks, offsets, events, rows, cols):
    for r in prange(rows):
        m = offsets[r]
        for c in range(cols):
            i = r * cols + c
            b = masks[i]
            if b == 0:
                continue
            for k in range(8):
                if (b >> k) & 1:
                    events[m] = i * 8 + k
                    m += 1


@njit(parallel=True)
def _unpack_event_codes(keys, codes):
    """In place (``codes`` is an int64 view of ``keys``): back to ``cell * 8 + k`` codes."""
    low = np.uint64(0xFFFFFFFF)
    for t in prange(keys.size):
        codes[t] = np.int64(keys[t] & low)


@njit(parallel=True)
def _pack_event_keys(zbits, codes, keys):
    """In place (``keys`` is a uint64 view of ``codes``): codes to keys (sortable float32
    height, cell * 8 + k), so that integer order is event order."""
    for t in prange(codes.size):
        code = codes[t]
        b = zbits[code >> 3]
        if b & np.uint32(0x80000000):
            s = ~b
        else:
            s = b | np.uint32(0x80000000)
        keys[t] = (np.uint64(s) << np.uint64(32)) | np.uint64(code)


@njit
def _kruskal(zf, leaf, events, n_leaves, cols):
    """Merge tree from the events in elevation order (the reference's merge rules)."""
    cap = 2 * n_leaves + 2
    uf = np.arange(cap)
    parent = np.full(cap, -1, dtype=np.int64)
    spill = np.full(cap, np.inf, dtype=np.float64)
    spill_cell = np.full(cap, np.iinfo(np.int64).max, dtype=np.int64)
    target = np.full(cap, -1, dtype=np.int64)
    child_a = np.full(cap, -1, dtype=np.int64)
    child_b = np.full(cap, -1, dtype=np.int64)
    nn = n_leaves + 1
    for t in range(events.size):
        code = events[t]
        i = code >> 3
        k = code & 7
        r = i // cols
        j = (r + DR[k]) * cols + (i - r * cols) + DC[k]
        my = leaf[i]
        a = _find(uf, my)
        b = _find(uf, leaf[j])
        if a == b:
            continue
        zi = zf[i]
        if a == OCEAN or b == OCEAN:
            d = b if a == OCEAN else a
            spill[d] = zi
            spill_cell[d] = i
            parent[d] = OCEAN
            target[d] = OCEAN
            uf[d] = OCEAN
            continue
        p = nn
        nn += 1
        child_a[p] = a
        child_b[p] = b
        spill[a] = zi
        spill[b] = zi
        spill_cell[a] = i
        spill_cell[b] = i
        parent[a] = p
        parent[b] = p
        # a holds this cell's own basin: its spill leads to the neighbour's basin
        target[a] = leaf[j]
        target[b] = my
        uf[a] = p
        uf[b] = p
    return nn, parent[:nn].copy(), spill[:nn].copy(), spill_cell[:nn].copy(), target[:nn].copy(), \
        child_a[:nn].copy(), child_b[:nn].copy()


@njit
def _after(zi, i, rec, d):
    """True when cell (zi, i) is reached at or after node d's spill (rec[d] = spill, cell)."""
    return zi > rec[d, 0] or (zi == rec[d, 0] and i >= rec[d, 1])


@njit(parallel=True)
def _node_cells(zf, vf, leaf, nn, parent, spill, spill_cell, child_a, child_b, node, runs):
    """Cells and elevation sums per node: each cell counts in the node on top of its basin
    when the cell is reached (below that node's spill), none once its basin drains out.

    Spill keys grow towards the root, so the node is the first ancestor whose spill comes
    after the cell. Most cells get the node of the cell scanned before them (checked with
    preorder intervals), or the last node found in their own basin; the rest search with
    skew-binary jump pointers (Myers 1983) in O(log depth) steps. ``node`` (one entry per
    cell) receives each cell's node, 0 for none; the cells are searched in ``runs`` runs.
    """
    # one 64-byte record per node, so a step of the search costs one cache line:
    # spill height, spill cell, jump, parent, preorder index, subtree size,
    # creation height, creation cell (the children's spill)
    rec = np.empty((nn, 8), dtype=np.float64)
    depth = np.zeros(nn, dtype=np.int64)
    jump = np.arange(nn)
    size = np.ones(nn, dtype=np.int64)
    for d in range(nn):
        rec[d, 0] = spill[d]
        rec[d, 1] = spill_cell[d]
        rec[d, 2] = d
        rec[d, 3] = d
        rec[d, 6] = -np.inf
        rec[d, 7] = -1.0
        if child_a[d] >= 0:  # children are numbered before their parents
            size[d] += size[child_a[d]] + size[child_b[d]]
            rec[d, 6] = spill[child_a[d]]
            rec[d, 7] = spill_cell[child_a[d]]
    tin = np.zeros(nn, dtype=np.int64)
    t = 0
    for d in range(nn - 1, 0, -1):  # parents before children
        p = parent[d]
        if p <= 0:
            tin[d] = t  # a root: its subtree takes the next block of preorder numbers
            t += size[d]
        else:
            rec[d, 3] = p
            depth[d] = depth[p] + 1
            jp = jump[p]
            if depth[p] - depth[jp] == depth[jp] - depth[jump[jp]]:
                jump[d] = jump[jp]
            else:
                jump[d] = p
            rec[d, 2] = jump[d]
        a = child_a[d]
        if a >= 0:
            tin[a] = tin[d] + 1
            tin[child_b[d]] = tin[d] + 1 + size[a]
    for d in range(nn):
        rec[d, 4] = tin[d]
        rec[d, 5] = size[d]
    out_z = spill.copy()  # per node: the key at which its root spills out (inf: never)
    out_cell = spill_cell.copy()
    for d in range(nn - 1, 0, -1):
        p = parent[d]
        if p > 0:
            out_z[d] = out_z[p]
            out_cell[d] = out_cell[p]
    # Each cell's node is found on its own (the previous cell's node and the basin's last
    # one are hints, checked before use), so contiguous runs of cells are searched in
    # parallel, each with its own hints; the sums are then taken in cell order, as one
    # thread would, so they do not depend on the number of threads.
    n = zf.size
    step = -(-n // runs)
    for k in prange(runs):
        memo = np.arange(nn)
        prev = 0
        for i in range(k * step, min(n, (k + 1) * step)):
            node[i] = 0
            lf = leaf[i]
            if lf <= 0 or not vf[i]:
                continue
            zi = zf[i]
            if zi > out_z[lf] or (zi == out_z[lf] and i >= out_cell[lf]):
                continue  # reached after its basin joined the ocean
            d = lf
            if _after(zi, i, rec, d):
                tl = rec[lf, 4]
                if (prev > 0 and rec[prev, 4] <= tl < rec[prev, 4] + rec[prev, 5] and not _after(zi, i, rec, prev)
                        and (zi > rec[prev, 6] or (zi == rec[prev, 6] and i >= rec[prev, 7]))):
                    d = prev  # the previous cell's node is this cell's too
                else:
                    m = memo[lf]
                    if zi > rec[m, 6] or (zi == rec[m, 6] and i >= rec[m, 7]):
                        d = m  # the answer is the basin's last node or above it
                    while _after(zi, i, rec, d):
                        jd = np.int64(rec[d, 2])
                        if jd != d and _after(zi, i, rec, jd):
                            d = jd
                        else:
                            d = np.int64(rec[d, 3])
                    memo[lf] = d
            prev = d
            node[i] = d
    cnt = np.zeros(nn, dtype=np.float64)
    zsum = np.zeros(nn, dtype=np.float64)
    for i in range(n):
        d = node[i]
        if d > 0:
            cnt[d] += 1.0
            zsum[d] += zf[i]
    return cnt, zsum


@njit
def _basin_runoff(vf, leaf, runoff_mm, uniform, cell_area, nn):
    """Runoff volume (m^3) per leaf; [0] is what lands on drained cells. Also the total."""
    water = np.zeros(nn, dtype=np.float64)
    total = 0.0
    for i in range(leaf.size):
        if not vf[i]:
            continue
        v = ((runoff_mm[0] if uniform else runoff_mm[i]) / 1000.0) * cell_area
        total += v
        lf = leaf[i]
        if lf >= 0:
            water[lf] += v
    return water, total


@njit
def _levels_f32(zf, leaf, act_of_leaf, spill, water, cell_area, depth):
    """Like :func:`_levels`, writing float32 depths; returns the ponded volume (m^3)."""
    n = zf.size
    nn = water.size
    # per leaf: the level below which its cells may hold water (-inf when its lake is dry),
    # so the scans below read one small table per cell
    wet_below = np.full(nn, -np.inf)
    for lf in range(1, nn):
        a = act_of_leaf[lf]
        if water[a] > 0.0:
            wet_below[lf] = spill[a]
    counts = np.zeros(nn + 1, dtype=np.int64)
    for i in range(n):
        lf = leaf[i]
        if lf > 0 and zf[i] < wet_below[lf]:
            counts[act_of_leaf[lf] + 1] += 1
    for a in range(nn):
        counts[a + 1] += counts[a]
    cells = np.empty(counts[nn], dtype=np.int64)
    fill = counts[:nn].copy()
    for i in range(n):
        lf = leaf[i]
        if lf > 0 and zf[i] < wet_below[lf]:
            a = act_of_leaf[lf]
            cells[fill[a]] = i
            fill[a] += 1
    ponded = 0.0
    for a in range(nn):
        lo = counts[a]
        hi = counts[a + 1]
        if hi == lo:
            continue
        idx = cells[lo:hi]
        level = _water_level(np.sort(zf[idx].astype(np.float64)), water[a] / cell_area, spill[a])
        for t in range(idx.size):
            i = idx[t]
            d = level - zf[i]
            if d > 0.0:
                depth[i] = d
                ponded += d
    return ponded * cell_area


@register("ponding_fsm", "cpu")
def fill_spill_merge(z, valid, runoff_mm, cell_area_m2):
    """Ponded depth (m) and volumes (m^3) from a runoff depth (mm) per cell.

    ``runoff_mm`` is a float array of the DEM's shape (read on valid cells only) or a scalar
    for uniform runoff. Returns ``(depth_m float32, runoff_m3, ponded_m3, outflow_m3)``; the
    same results as :func:`fill_spill_merge_sorted` (up to float rounding in the sums).
    """
    return _fill_spill_merge(z, valid, runoff_mm, cell_area_m2, None, None)


def fill_spill_merge_window(z, valid, drains, pit_water_m3, cell_area_m2):
    """Fill-Spill-Merge on a window of a larger DEM, for the tiled ponding.

    Cells where ``drains`` is True are taken as drained (water there leaves, like the grid
    edge) whatever their elevation; every other valid cell is kept. ``pit_water_m3`` (float64,
    the window's shape) gives the runoff volume that reaches each pit of a kept cell: the
    runoff of the pit's whole basin, which may reach beyond the window. When the kept cells
    are whole plateaus of the filled surface (see :mod:`cimtwin.grid.ponding`) with a
    one-cell margin to the window's border, the depression trees of the kept cells are
    those of the whole DEM, and so are their ponded depths. Returns
    ``(depth_m float32, ponded_m3)``; depth is 0 outside the kept cells.
    """
    depth, _, ponded, _ = _fill_spill_merge(z, valid, 0.0, cell_area_m2, np.ascontiguousarray(drains).ravel(),
                                            np.ascontiguousarray(pit_water_m3, dtype=np.float64).ravel())
    return depth, ponded


def _fill_spill_merge(z, valid, runoff_mm, cell_area_m2, drains, pit_water):
    rows, cols = z.shape
    n = rows * cols
    zf = np.ascontiguousarray(z).ravel()
    vf = np.ascontiguousarray(valid).ravel()
    leaf = np.empty(n, dtype=np.int32 if n < 2**31 - 1 else np.int64)
    down = np.empty(n, dtype=np.uint8)  # flow slot per cell, then the event bit masks
    with numba.parallel_chunksize(_row_chunk(cols)):  # set here: a kernel that sets it cannot be cached
        pits_per_row = _mark_pits(zf, vf, leaf, down, rows, cols)
        if drains is not None:  # drained cells end every chain that reaches them, like the edge
            leaf[drains & vf] = OCEAN
            pits_per_row = (leaf == _PIT).reshape(rows, cols).sum(axis=1)
        offsets = np.concatenate(([0], np.cumsum(pits_per_row)))
        pits = np.empty(int(offsets[-1]), dtype=np.int64)
        _list_pits(leaf, offsets, pits, rows, cols)
        # leaves are numbered in scan order, so neighbouring cells read neighbouring node entries
        # (numbering them by elevation made every per-cell lookup a cache miss on large grids)
        leaf[pits] = np.arange(1, pits.size + 1, dtype=leaf.dtype)
        n_leaves = pits.size
        pit_volume = pit_water[pits] if pit_water is not None else None
        del pits
        _label_basins(vf, leaf, down, rows, cols)
        ev_per_row = _mark_events(zf, vf, leaf, down, rows, cols)
        offsets = np.concatenate(([0], np.cumsum(ev_per_row)))
        codes = np.empty(int(offsets[-1]), dtype=np.int64)
        _list_events(down, offsets, codes, rows, cols)
    del down
    if zf.dtype == np.float32 and n < 2**29:
        keys = codes.view(np.uint64)  # sorted in place: no second array
        _pack_event_keys(zf.view(np.uint32), codes, keys)
        keys.sort()
        _unpack_event_codes(keys, codes)
        del keys
    else:
        codes = codes[np.lexsort((codes, zf[codes >> 3]))]
    nn, parent, spill, spill_cell, target, child_a, child_b = _kruskal(zf, leaf, codes, n_leaves, cols)
    del codes
    # the node each cell counts in (0: none); int32 like ``leaf`` (nodes are fewer than cells)
    # (the thread count is read here: a kernel that reads it cannot be cached)
    cnt, zsum = _node_cells(zf, vf, leaf, nn, parent, spill, spill_cell, child_a, child_b,
                            np.empty(n, dtype=leaf.dtype), numba.get_num_threads())
    for node in range(1, nn):  # children are always numbered before their parents
        p = parent[node]
        if p > 0:
            cnt[p] += cnt[node]
            zsum[p] += zsum[node]
    with np.errstate(invalid="ignore"):
        capacity = np.where(np.isfinite(spill), (cnt * spill - zsum) * cell_area_m2, np.inf)
    capacity[0] = np.inf
    capacity = np.maximum(capacity, 0.0)
    if pit_volume is not None:  # the runoff reaching each pit is given (leaves are numbered like the pits)
        leaf_water = np.zeros(nn, dtype=np.float64)
        leaf_water[1:n_leaves + 1] = pit_volume
        runoff_total = float(pit_volume.sum())
    else:
        uniform = np.ndim(runoff_mm) == 0
        runoff = np.array([float(runoff_mm)]) if uniform else np.ascontiguousarray(runoff_mm).ravel()
        leaf_water, runoff_total = _basin_runoff(vf, leaf, runoff, uniform, float(cell_area_m2), nn)
    ocean_direct = float(leaf_water[0])
    leaf_water[0] = 0.0
    water, active, outflow = _route(nn, parent, spill, target, child_a, child_b, capacity, leaf_water)
    depth = np.zeros(n, dtype=np.float32)
    ponded = _levels_f32(zf, leaf, active, spill, water, float(cell_area_m2), depth)
    return depth.reshape(rows, cols), float(runoff_total), float(ponded), outflow + ocean_direct


# -- tiled (dask) ponding: pieces run per tile or per window ------------------------------

@njit
def pit_terminals_tile(ext):
    """Where the runoff of each core cell of a tile ends: its pit, or the tile's halo.

    ``ext`` is a tile with a one-cell halo (NaN for nodata and beyond the grid). Each core
    cell drains to its lowest preceding neighbour as in :func:`fill_spill_merge` (cells next
    to nodata drain out). Returns, per ext cell (flat), the flat ext index of the core pit
    or of the first halo cell its chain reaches, -1 when it drains out, -2 for halo and
    nodata cells.
    """
    H, W = ext.shape
    n = H * W
    zf = ext.ravel()
    term = np.full(n, -2, dtype=np.int64)
    down = np.full(n, -1, dtype=np.int64)
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            i = r * W + c
            zi = zf[i]
            if not np.isfinite(zi):
                continue
            best = -1
            bestz = np.inf
            out = False
            for k in range(8):
                j = i + DR[k] * W + DC[k]
                zj = zf[j]
                if not np.isfinite(zj):
                    out = True
                    break
                if (zj < zi or (zj == zi and j < i)) and zj < bestz:
                    bestz = zj
                    best = j
            if out:
                term[i] = -1
            elif best < 0:
                term[i] = i  # a pit
            else:
                rr = best // W
                cc = best - rr * W
                if rr == 0 or cc == 0 or rr == H - 1 or cc == W - 1:
                    term[i] = best  # leaves the tile
                else:
                    down[i] = best
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            i = r * W + c
            if down[i] < 0 or term[i] != -2:
                continue
            j = i
            while term[j] == -2:
                j = down[j]
            t = term[j]
            j = i
            while term[j] == -2:
                term[j] = t
                j = down[j]
    return term


@njit
def plateau_roots(f):
    """Per cell, the smallest flat index of its plateau: the 8-connected cells of equal ``f``.

    NaN cells get -1. Union-find with the smaller index as root, so the result does not
    depend on the scan.
    """
    H, W = f.shape
    n = H * W
    ff = f.ravel()
    parent = np.arange(n)
    for r in range(H):
        for c in range(W):
            i = r * W + c
            fi = ff[i]
            if not np.isfinite(fi):
                continue
            for k in range(4):  # E, SE, S, SW: each pair once
                dr = (0, 1, 1, 1)[k]
                dc = (1, 1, 0, -1)[k]
                rr = r + dr
                cc = c + dc
                if rr >= H or cc < 0 or cc >= W:
                    continue
                j = rr * W + cc
                if ff[j] != fi:
                    continue
                a = _find(parent, i)
                b = _find(parent, j)
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = _find(parent, i) if np.isfinite(ff[i]) else -1
    return out
