"""Hydrology kernels: priority-flood fill, D8 directions with flat resolution, accumulation, HAND.

Arrays in, arrays out, inputs never modified. Every kernel takes the elevation ``z`` (float32
or float64, C-contiguous) and a boolean ``valid`` mask; invalid (nodata) cells act as drains,
like the grid edge, and get a nodata value in the outputs.

D8 encoding (ESRI): 1 = E, 2 = SE, 4 = S, 8 = SW, 16 = W, 32 = NW, 64 = N, 128 = NE;
0 = outlet (the cell drains off the grid or into nodata) or an unresolved pit; 255 = nodata.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from cimtwin.kernels._dispatch import register
from cimtwin.kernels._jit import njit

# Neighbour k: row offset, col offset, ESRI code. Order E, SE, S, SW, W, NW, N, NE.
DR = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
DC = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)
D8_NODATA = np.uint8(255)
_INV_DIST = np.array([1.0, 1 / math.sqrt(2), 1.0, 1 / math.sqrt(2), 1.0, 1 / math.sqrt(2), 1.0,
                      1 / math.sqrt(2)])


# --------------------------------------------------------------------------------------
# binary min-heap on (key, index), ties broken by index so results never depend on push order
# --------------------------------------------------------------------------------------
@njit
def _heap_push(keys, idx, size, k, i):
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 1
        pk = keys[parent]
        if pk < k or (pk == k and idx[parent] < i):
            break
        keys[pos] = pk
        idx[pos] = idx[parent]
        pos = parent
    keys[pos] = k
    idx[pos] = i
    return size + 1


@njit
def _heap_pop(keys, idx, size):
    """Remove the top; returns the new size (caller read keys[0], idx[0] before)."""
    size -= 1
    k = keys[size]
    i = idx[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        other = child + 1
        if other < size:
            ck = keys[child]
            ok = keys[other]
            if ok < ck or (ok == ck and idx[other] < idx[child]):
                child = other
        ck = keys[child]
        if k < ck or (k == ck and i < idx[child]):
            break
        keys[pos] = ck
        idx[pos] = idx[child]
        pos = child
    keys[pos] = k
    idx[pos] = i
    return size


@njit
def _grow(a):
    b = np.empty(a.size * 2, dtype=a.dtype)
    b[: a.size] = a
    return b


@njit
def _is_border(z_valid, r, c, rows, cols):
    """True when the cell touches the grid edge or a nodata cell (so it can drain there)."""
    if r == 0 or c == 0 or r == rows - 1 or c == cols - 1:
        return True
    for k in range(8):
        if not z_valid[r + DR[k], c + DC[k]]:
            return True
    return False


@njit
def _sortable_u32(bits):
    """Map float32 bit patterns to uint32 so that integer order equals float order."""
    if bits & np.uint32(0x80000000):
        return ~bits
    return bits | np.uint32(0x80000000)


@njit
def _u64_push(heap, size, key):
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 1
        pk = heap[parent]
        if pk <= key:
            break
        heap[pos] = pk
        pos = parent
    heap[pos] = key
    return size + 1


@njit
def _u64_pop(heap, size):
    """Remove the minimum: the hole sinks to a leaf along smaller children (one comparison per
    level), then the last key rises from there; new keys are mostly large, so it rises little."""
    size -= 1
    key = heap[size]
    if size == 0:
        return size
    pos = 0
    child = 1
    while child < size:
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        heap[pos] = heap[child]
        pos = child
        child = 2 * pos + 1
    while pos > 0:
        parent = (pos - 1) >> 1
        pk = heap[parent]
        if pk <= key:
            break
        heap[pos] = pk
        pos = parent
    heap[pos] = key
    return size


@njit
def _flood_f32_run(zf, bits, closed, heap, size, pit, head, tail, trace, thead, ttail, rows, cols, label):
    """Run the flood until done or until a buffer might overflow.

    Three containers: the heap (cells that may spill into a lower open neighbour), the pit
    queue (cells raised to the current level) and the trace queue (cells that keep their own
    height). A cell next to a closed cell no higher than itself keeps its height whatever
    the order, so a traced cell whose open neighbours are all higher closes them at once,
    without the heap (the one-pass variant of Zhou, Sun & Fu 2016); only a traced cell with
    a lower or equal open neighbour goes to the heap. The filled surface is unique, so this
    gives the same result as the plain Priority-Flood.

    With a non-empty ``label`` (one int64 per cell, set on the seeds) every cell takes the
    label of the cell that closed it, so each cell's label is a seed it is flooded from (the
    tiled fill's first pass).

    Growing arrays inside this loop would make numba reference-count every access (about
    20x slower), so the caller grows them between runs. Returns (size, head, tail, thead,
    ttail, status): status 0 = done, 1 = heap full, 2 = pit queue full, 3 = trace queue full.
    """
    mask = np.uint64(0xFFFFFFFF)
    off = np.empty(8, dtype=np.int64)
    for k in range(8):
        off[k] = DR[k] * cols + DC[k]
    nb = np.empty(8, dtype=np.int64)
    labelled = label.size > 0
    while size > 0 or tail > head or ttail > thead:
        if size + 8 > heap.size:
            return size, head, tail, thead, ttail, 1
        if tail + 8 > pit.size:
            return size, head, tail, thead, ttail, 2
        if ttail + 8 > trace.size:
            return size, head, tail, thead, ttail, 3
        traced = False
        if tail > head:
            c0 = pit[head]
            head += 1
            if head == tail:
                head = 0
                tail = 0
        elif ttail > thead:
            c0 = trace[thead]
            thead += 1
            if thead == ttail:
                thead = 0
                ttail = 0
            traced = True
        else:
            c0 = np.int64(heap[0] & mask)
            size = _u64_pop(heap, size)
        level = zf[c0]
        r = c0 // cols
        c = c0 - r * cols
        interior = r > 0 and c > 0 and r < rows - 1 and c < cols - 1
        m = 0
        for k in range(8):
            if interior:
                j = c0 + off[k]
            else:
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                    continue
                j = rr * cols + cc
            if not closed[j]:
                nb[m] = j
                m += 1
        if traced:
            spills = False
            for t in range(m):
                if zf[nb[t]] <= level:
                    spills = True
                    break
            if spills:  # wait in the heap for its turn
                size = _u64_push(heap, size, (np.uint64(_sortable_u32(bits[c0])) << np.uint64(32)) | np.uint64(c0))
                continue
        for t in range(m):
            j = nb[t]
            closed[j] = True
            if labelled:
                label[j] = label[c0]
            if zf[j] <= level:
                zf[j] = level
                pit[tail] = j
                tail += 1
            else:
                trace[ttail] = j
                ttail += 1
    return size, head, tail, thead, ttail, 0


@njit
def _priority_flood_f32(z, valid, label):
    """float32 fast path of the plain fill: one uint64 heap key = (sortable height, index).
    ``label``: empty, or labels to spread from the seeds (see :func:`_flood_f32_run`)."""
    rows, cols = z.shape
    n = rows * cols
    out = z.copy()
    zf = out.ravel()
    bits = zf.view(np.uint32)
    vf = valid.ravel()
    closed = np.zeros(n, dtype=np.bool_)
    nseed = 0
    for r in range(rows):
        for c in range(cols):
            if vf[r * cols + c] and _is_border(valid, r, c, rows, cols):
                nseed += 1
    heap = np.empty(max(1024, 2 * nseed + 16), dtype=np.uint64)
    size = 0
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if not vf[i]:
                closed[i] = True
            elif _is_border(valid, r, c, rows, cols):
                closed[i] = True
                size = _u64_push(heap, size, (np.uint64(_sortable_u32(bits[i])) << np.uint64(32)) | np.uint64(i))
    pit = np.empty(4096, dtype=np.int64)
    trace = np.empty(4096, dtype=np.int64)
    head = 0
    tail = 0
    thead = 0
    ttail = 0
    while True:
        size, head, tail, thead, ttail, status = _flood_f32_run(zf, bits, closed, heap, size, pit, head, tail,
                                                                trace, thead, ttail, rows, cols, label)
        if status == 0:
            break
        if status == 1:
            heap = _grow(heap)
        elif status == 2:
            pit = _grow(pit)
        else:
            trace = _grow(trace)
    return out


_NO_LABEL = np.empty(0, dtype=np.int64)


@register("fill_depressions", "cpu")
def priority_flood_fill(z, valid, epsilon, label=_NO_LABEL):
    """Filled copy of ``z`` (see :func:`_priority_flood`); float32 grids use a packed-key heap.

    ``label`` (int64 per cell, raster order, set on the seeds: the valid cells on the edge or
    next to nodata) is filled in with the seed each cell is flooded from; the tiled fill
    uses it. Not with ``epsilon``.
    """
    if z.dtype == np.float32 and not epsilon and z.size < 2**32:
        return _priority_flood_f32(z, valid, label)
    return _priority_flood(z, valid, epsilon, label)


@njit
def _priority_flood(z, valid, epsilon, label):
    """Barnes et al. (2014) Priority-Flood with a plain FIFO queue for flooded cells.

    Returns the filled surface (same dtype as ``z``; invalid cells copied unchanged). With
    ``epsilon`` every raised cell is nudged one ulp above the cell it was flooded from, so
    the filled surface has a strictly descending path to the edge (no flats); the FIFO
    shortcut is then skipped because raised cells are not at a single level.
    """
    rows, cols = z.shape
    n = rows * cols
    out = z.copy()
    zf = out.ravel()
    vf = valid.ravel()
    closed = np.zeros(n, dtype=np.bool_)
    cap = max(1024, 4 * (rows + cols))
    keys = np.empty(cap, dtype=z.dtype)
    idx = np.empty(cap, dtype=np.int64)
    size = 0
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if not vf[i]:
                closed[i] = True
            elif _is_border(valid, r, c, rows, cols):
                closed[i] = True
                if size == keys.size:
                    keys = _grow(keys)
                    idx = _grow(idx)
                size = _heap_push(keys, idx, size, zf[i], i)
    pit = np.empty(1024, dtype=np.int64)
    head = 0
    tail = 0  # pit queue as a growable array (reset when empty)
    infbox = np.empty(1, dtype=z.dtype)
    infbox[0] = np.inf
    inf = infbox[0]  # +inf in the DEM's dtype, so nextafter steps one float32 ulp for float32
    labelled = label.size > 0
    while size > 0 or tail > head:
        if tail > head:
            c0 = pit[head]
            head += 1
            if head == tail:
                head = 0
                tail = 0
        else:
            c0 = idx[0]
            size = _heap_pop(keys, idx, size)
        level = zf[c0]
        if epsilon:
            level_up = np.nextafter(level, inf)
        else:
            level_up = level
        r = c0 // cols
        c = c0 - r * cols
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            j = rr * cols + cc
            if closed[j]:
                continue
            closed[j] = True
            if labelled:
                label[j] = label[c0]
            if zf[j] <= level_up:
                zf[j] = level_up
                if epsilon:
                    if size == keys.size:
                        keys = _grow(keys)
                        idx = _grow(idx)
                    size = _heap_push(keys, idx, size, zf[j], j)
                else:
                    if tail == pit.size:
                        pit = _grow(pit)
                    pit[tail] = j
                    tail += 1
            else:
                if size == keys.size:
                    keys = _grow(keys)
                    idx = _grow(idx)
                size = _heap_push(keys, idx, size, zf[j], j)
    return out


@njit(parallel=True)
def _d8_local(z, valid, dirs, unresolved, all_valid=False):
    """Steepest-descent direction per cell; flags interior cells with no lower neighbour.

    ``all_valid`` (no nodata anywhere) skips the per-neighbour nodata checks."""
    rows, cols = z.shape
    for r in prange(rows):
        for c in range(cols):
            if not all_valid and not valid[r, c]:
                dirs[r, c] = 255
                unresolved[r, c] = False
                continue
            zc = z[r, c]
            best = 0.0
            code = 0
            border = r == 0 or c == 0 or r == rows - 1 or c == cols - 1
            interior = not border
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if not interior and (rr < 0 or rr >= rows or cc < 0 or cc >= cols):
                    continue
                if not all_valid and not valid[rr, cc]:
                    border = True
                    continue
                drop = (zc - z[rr, cc]) * _INV_DIST[k]
                if drop > best:
                    best = drop
                    code = CODES[k]
            dirs[r, c] = code
            unresolved[r, c] = code == 0 and not border


# the same kernel without threads, for small tiles (a tile task is already one of many in parallel)
_d8_local_serial = njit(_d8_local.py_func)


@njit
def _resolve_flats(z, dirs, unresolved, flat_dist, comp, queue, with_steps):
    """Breadth-first search from each flat's outlets into its equal-elevation cells.

    Flats are handled one at a time (label the flat, collect its outlets, then search), which
    keeps memory access local. Each flat cell points at a neighbour one step nearer the
    outlets (the first in code order E, SE, ..., NE when several are), so flow crosses a flat
    along shortest 8-connected paths to its outlets; ``flat_dist`` records
    the step count (a Garbrecht-Martz "towards lower" gradient), 0 outside flats. A flat with
    no outlet is a pit of an unconditioned DEM and keeps direction 0.
    """
    rows, cols = z.shape
    n = rows * cols
    zf = z.ravel()
    df = dirs.ravel()
    fd = flat_dist.ravel()
    # 1 unresolved, 2 in the current flat, 3 pit, 4 queued outlet. ``comp`` and ``queue`` are
    # preallocated by the caller (growing arrays here would slow every access down ~20x).
    # ``unresolved`` is the caller's scratch mask, viewed as bytes (True = 1): no copy.
    state = unresolved.ravel()
    for i0 in range(n):
        if state[i0] != 1:
            continue
        level = zf[i0]
        # 1. label the flat (equal height, unresolved, 8-connected) and collect its outlets:
        #    drained neighbours at the same height
        ncomp = 1
        comp[0] = i0
        state[i0] = 2
        tail = 0
        h = 0
        while h < ncomp:
            i = comp[h]
            h += 1
            r = i // cols
            c = i - r * cols
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                    continue
                j = rr * cols + cc
                if zf[j] != level:
                    continue
                sj = state[j]
                if sj == 1:
                    state[j] = 2
                    comp[ncomp] = j
                    ncomp += 1
                elif sj == 0 and df[j] != 255:
                    state[j] = 4
                    queue[tail] = j
                    tail += 1
        nseeds = tail
        # 2. breadth-first search from the outlets, one distance level at a time: a cell
        #    reached at level d (state 5) points at its neighbour of level d - 1 with the
        #    smallest code, whatever the queue order, so a tiled search can reproduce it
        head = 0
        level_end = tail
        while head < tail:
            if head == level_end:
                for q in range(level_end, tail):
                    state[queue[q]] = 0
                level_end = tail
            i = queue[head]
            head += 1
            r = i // cols
            c = i - r * cols
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                    continue
                j = rr * cols + cc
                sj = state[j]
                if sj == 2:
                    state[j] = 5
                    df[j] = CODES[(k + 4) % 8]  # points back at i
                    if with_steps:
                        fd[j] = fd[i] + 1
                    queue[tail] = j
                    tail += 1
                elif sj == 5 and CODES[(k + 4) % 8] < df[j]:
                    df[j] = CODES[(k + 4) % 8]
        for q in range(level_end, tail):
            state[queue[q]] = 0
        for h in range(ncomp):
            if state[comp[h]] == 2:
                state[comp[h]] = 3
        for h in range(nseeds):
            state[queue[h]] = 0


@register("flow_direction_d8", "cpu")
def d8_directions(z, valid, with_steps=True):
    """D8 directions (ESRI codes) with flats resolved; returns (dirs uint8, flat_dist int32).

    With ``with_steps=False`` the step counts are not kept (flat_dist is None), which saves
    a full int32 grid when only the directions are wanted.
    """
    dirs = np.empty(z.shape, dtype=np.uint8)
    unresolved = np.empty(z.shape, dtype=np.bool_)
    with numba.parallel_chunksize(max(1, 65536 // max(1, z.shape[1]))):
        _d8_local(z, valid, dirs, unresolved, bool(valid.all()))
    n_flat = int(np.count_nonzero(unresolved))
    flat_dist = np.zeros(z.shape if with_steps else (1, 1), dtype=np.int32)
    if n_flat:
        idx_t = np.int32 if z.size < 2**31 else np.int64
        comp = np.empty(n_flat, dtype=idx_t)
        queue = np.empty(min(z.size, 9 * n_flat + 8), dtype=idx_t)
        _resolve_flats(z, dirs, unresolved.view(np.uint8), flat_dist, comp, queue, with_steps)
    return dirs, (flat_dist if with_steps else None)


@njit
def _receiver(dirs_flat, i, cols, n):
    """Index of the cell ``i`` drains to, or -1 for an outlet/pit/nodata."""
    d = dirs_flat[i]
    if d == 0 or d == 255:
        return -1
    k = 0
    while CODES[k] != d:
        k += 1
    r = i // cols + DR[k]
    c = i % cols + DC[k]
    return r * cols + c


def _offset_by_code(cols):
    """Flat-index step of each D8 code (0 for outlets, pits and nodata)."""
    off = np.zeros(256, dtype=np.int64)
    for k in range(8):
        off[CODES[k]] = DR[k] * cols + DC[k]
    return off


@njit(parallel=True)
def _init_accumulation(dirs, indeg, acc):
    """In-degree of every cell and its own count (1, or 0 on nodata), rows in parallel."""
    rows, cols = dirs.shape
    for r in prange(rows):
        for c in range(cols):
            cnt = 0
            interior = r > 0 and c > 0 and r < rows - 1 and c < cols - 1
            for k in range(8):
                rr = r + DR[k]
                cc = c + DC[k]
                if not interior and (rr < 0 or rr >= rows or cc < 0 or cc >= cols):
                    continue
                if dirs[rr, cc] == CODES[(k + 4) % 8]:
                    cnt += 1
            indeg[r, c] = cnt
            acc[r, c] = 0 if dirs[r, c] == 255 else 1


@njit
def _accumulate(dirs, indeg, acc, off):
    """Push counts downstream from every source; a cell passes its total on once all its
    donors have (Kahn's topological order, one walk per chain, no queue)."""
    n = dirs.size
    df = dirs.ravel()
    ind = indeg.ravel()
    af = acc.ravel()
    for i in range(n):
        if ind[i] != 0 or df[i] == 255:
            continue
        j = i
        while True:
            d = df[j]
            if d == 0 or d == 255:
                break
            rcv = j + off[d]
            af[rcv] += af[j]
            ind[rcv] -= 1
            if ind[rcv] > 0:
                break
            ind[rcv] = 255  # reached: the outer scan must not start here again
            j = rcv


@register("flow_accumulation", "cpu")
def flow_accumulation_d8(dirs, dtype=np.uint32):
    """Cells draining through each cell (itself included) from D8 codes; 0 on nodata."""
    indeg = np.empty(dirs.shape, dtype=np.uint8)
    acc = np.empty(dirs.shape, dtype=dtype)
    with numba.parallel_chunksize(max(1, 65536 // max(1, dirs.shape[1]))):
        _init_accumulation(dirs, indeg, acc)
    _accumulate(dirs, indeg, acc, _offset_by_code(dirs.shape[1]))
    return acc


@njit
def _hand_run(zf, df, sf, ref, done, stack, start, off, n):
    """Reference heights from cell ``start`` on; returns the cell where the stack ran out, or n."""
    for i in range(start, n):
        if done[i] or df[i] == 255:
            continue
        top = 0
        j = i
        value = np.nan
        while True:
            if done[j]:
                value = ref[j]
                break
            if sf[j]:
                value = zf[j]
                ref[j] = value
                done[j] = True
                break
            if top == stack.size:
                return i  # nothing written for this cell yet: grow and resume here
            stack[top] = j
            top += 1
            d = df[j]
            if d == 0 or d == 255:
                break
            j = j + off[d]
        for t in range(top):
            ref[stack[t]] = value
            done[stack[t]] = True
    return n


@register("hand", "cpu")
@njit
def height_above_drainage(filled, dirs, streams):
    """Height of each cell above the first stream cell on its D8 path (NaN if none is met)."""
    rows, cols = filled.shape
    n = rows * cols
    zf = filled.ravel()
    df = dirs.ravel()
    sf = streams.ravel()
    ref = np.full(n, np.nan, dtype=np.float64)
    done = np.zeros(n, dtype=np.bool_)
    stack = np.empty(4096, dtype=np.int64)
    off = np.zeros(256, dtype=np.int64)
    for k in range(8):
        off[CODES[k]] = DR[k] * cols + DC[k]
    start = 0
    while True:
        start = _hand_run(zf, df, sf, ref, done, stack, start, off, n)
        if start >= n:
            break
        stack = _grow(stack)
    out = np.empty(n, dtype=filled.dtype)
    for i in range(n):
        if df[i] == 255:
            out[i] = np.nan
        else:
            out[i] = zf[i] - ref[i]
    return out.reshape(rows, cols)


@njit(parallel=True)
def scs_runoff(p, cn, ia_ratio, out):
    """SCS curve-number direct runoff (mm) into ``out``: Q = (P − Ia)² / (P − Ia + S) where P > Ia, else 0.

    S = 25400 / CN − 254 and Ia = ``ia_ratio`` · S (TR-55 Eq. 2-1..2-4). ``p`` (rainfall, mm) and
    ``cn`` are flat arrays of ``out.size`` elements or of one (the same for every cell); NaN in
    either gives NaN. Computed in float64 whatever the dtype of ``out``.
    """
    one_p, one_c = p.shape[0] == 1, cn.shape[0] == 1
    for k in prange(out.shape[0]):
        pk = np.float64(p[0] if one_p else p[k])
        ck = np.float64(cn[0] if one_c else cn[k])
        if math.isnan(pk) or math.isnan(ck):
            out[k] = np.nan
            continue
        s = 25400.0 / ck - 254.0
        excess = pk - ia_ratio * s
        out[k] = excess * excess / (excess + s) if excess > 0 else 0.0
