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

import numpy as np

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
        zs = np.sort(zf[idx].astype(np.float64))
        target_vol = water[a] / cell_area  # in metres x cells
        # storage(h) over sorted zs: k*h - sum(zs[:k]) for zs[k-1] <= h <= zs[k]
        csum = 0.0
        level = spill[a]
        m = zs.size
        for k in range(1, m + 1):
            csum += zs[k - 1]
            upper = zs[k] if k < m else spill[a]
            if k * upper - csum >= target_vol:
                level = (target_vol + csum) / k
                break
        if level > spill[a]:
            level = spill[a]
        for t in range(idx.size):
            i = idx[t]
            d = level - zf[i]
            if d > 0.0:
                depth[i] = d


@register("ponding_fsm", "cpu")
def fill_spill_merge(z, valid, runoff_m, cell_area_m2):
    """Ponded depth (m) and volumes (m^3) from a runoff depth (m) per cell.

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
