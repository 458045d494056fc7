"""CUDA twin of ``distance``: exact Euclidean distance transform, two separable passes.

Distances only (no index), the common case, take the fast path:

1. rows, banded: each thread handles one band of ``_BAND`` cells of one row, so there are
   enough threads to fill the GPU. A first kernel records each band's first and last seed, a
   short per-row scan over bands gives every band the nearest seed on either side, and a third
   kernel writes each cell's horizontal distance to the nearest seed of its row, in the
   narrowest integer type that holds it (int16 below 32,768 columns), -1 for a seedless row.
   Blocks stage their mask tile and their output tile in shared memory (padded against bank
   conflicts), so that global loads and stores are coalesced;
2. columns: one thread per column builds the lower envelope of the parabolas
   ``(r - q)^2 + h(q)^2`` over the rows ``q`` (Felzenszwalb-Huttenlocher). Adjacent threads
   are adjacent columns, so every load and store coalesces; the envelope is decided in exact
   int64 arithmetic (no float breakpoints to store), its entries packed (row << 16 | h) in one
   uint32 when both fit, its top two entries kept in registers, and the next rows' values
   loaded four iterations ahead to hide memory latency;
3. the envelopes are read off by many threads per column: each takes ``_SEG`` rows, finds
   the entry active at its first row by bisection (breakpoints increase along the envelope)
   and walks down from there.

Distances are ``sqrt(d2)`` of the exact integer squared distance, rounded as the CPU kernel
does, so they are identical to it; which of several equidistant seeds is nearest does not
matter without an index. Scratch buffers are kept between calls of the same shape.

With ``want_index`` the CPU kernel's order (columns, then rows) and tie-breaks are kept:

1. columns: one thread per column sweeps down then up and records the row of the nearest
   source in that column (adjacent threads read adjacent cells, so loads coalesce);
2. rows: one thread per row builds the Felzenszwalb–Huttenlocher lower envelope with the
   same float64 arithmetic and tie-breaking as the CPU kernel, so distances and nearest-source
   indices are identical. The envelope scratch is stored column-major (``[k, row]``) so that
   the threads of a warp touch neighbouring words.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, _fill_kernel as _fill, blocks_for, is_device, to_device


@cuda.jit
def _column_kernel(mask, near):
    j = cuda.grid(1)
    rows = mask.shape[0]
    cols = mask.shape[1]
    if j >= cols:
        return
    near[0, j] = 0 if mask[0, j] else -1
    for i in range(1, rows):
        near[i, j] = i if mask[i, j] else near[i - 1, j]
    for i in range(rows - 2, -1, -1):
        below = near[i + 1, j]
        if below > i:
            cur = near[i, j]
            if cur < 0 or (below - i) < (i - cur):
                near[i, j] = below


@cuda.jit
def _row_kernel(near, res, max_d2, v, z, out, index, want_index):
    i = cuda.grid(1)
    rows = near.shape[0]
    cols = near.shape[1]
    if i >= rows:
        return
    k = -1
    for q in range(cols):
        r = near[i, q]
        if r < 0:
            continue
        fq = float((i - r) * (i - r)) + float(q) * float(q)
        while k >= 0:
            p = v[k, i]
            rp = near[i, p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            s = (fq - fp) / (2.0 * (q - p))
            if s <= z[k, i]:
                k -= 1
            else:
                break
        k += 1
        v[k, i] = q
        if k == 0:
            z[k, i] = -math.inf
        else:
            p = v[k - 1, i]
            rp = near[i, p]
            fp = float((i - rp) * (i - rp)) + float(p) * float(p)
            z[k, i] = (fq - fp) / (2.0 * (q - p))
    if k < 0:  # no source anywhere: only reachable for an empty mask
        for j in range(cols):
            out[i, j] = math.inf
            if want_index:
                index[i, j] = -1
        return
    z[k + 1, i] = math.inf
    m = 0
    for j in range(cols):
        while z[m + 1, i] < j:
            m += 1
        p = v[m, i]
        dr = i - near[i, p]
        dc = j - p
        d2 = dr * dr + dc * dc
        if d2 > max_d2:
            out[i, j] = math.inf
            if want_index:
                index[i, j] = -1
        else:
            out[i, j] = np.float32(math.sqrt(float(d2))) * np.float32(res)
            if want_index:
                index[i, j] = np.int64(near[i, p]) * cols + p


_BAND = 64  # cells per thread in the row pass
_SEG = 128  # rows per thread when reading the column envelopes off
_PREFETCH = 4  # padding rows below ``h`` for the column pass's look-ahead loads
_WORK: dict = {}  # scratch device arrays, reused while the grid shape stays the same


def _scratch(name, shape, dtype):
    key = (name, tuple(shape), np.dtype(dtype).str)
    arr = _WORK.get(name)
    if arr is None or arr[0] != key:
        _WORK[name] = (key, cuda.device_array(shape, dtype))  # replaces (frees) the old one
    return _WORK[name][1]


def release_scratch() -> None:
    """Free the scratch buffers kept between calls."""
    _WORK.clear()


_TROWS = 4  # rows per block in the row pass; a block covers _TROWS x (32 * _BAND) cells
_MSTRIDE = _BAND + 4  # padded per-band strides of the shared tiles: no bank conflicts
_HSTRIDE = _BAND + 2
_TCOLS = 32 * _BAND
_MTILE = 32 * _MSTRIDE
_HTILE = 32 * _HSTRIDE


@cuda.jit(device=True)
def _stage_mask(mask, tile, i0, j0, tid):
    """Coalesced copy of the block's mask cells into shared memory (0 beyond the grid)."""
    rows = mask.shape[0]
    cols = mask.shape[1]
    for idx in range(tid, _TROWS * _TCOLS, 32 * _TROWS):
        r = idx // _TCOLS
        col = idx - r * _TCOLS
        i = i0 + r
        j = j0 + col
        v = 0
        if i < rows and j < cols:
            v = mask[i, j]
        tile[r, (col // _BAND) * _MSTRIDE + col % _BAND] = v
    cuda.syncthreads()


@cuda.jit
def _band_ends(mask, first, last):
    tile = cuda.shared.array((_TROWS, _MTILE), np.uint8)
    b = cuda.blockIdx.x * 32 + cuda.threadIdx.x
    i = cuda.blockIdx.y * _TROWS + cuda.threadIdx.y
    _stage_mask(mask, tile, cuda.blockIdx.y * _TROWS, cuda.blockIdx.x * _TCOLS,
                cuda.threadIdx.y * 32 + cuda.threadIdx.x)
    if i >= mask.shape[0] or b >= first.shape[1]:
        return
    base = cuda.threadIdx.x * _MSTRIDE
    r = cuda.threadIdx.y
    f = -1
    la = -1
    for t in range(_BAND):
        if tile[r, base + t]:
            if f < 0:
                f = b * _BAND + t
            la = b * _BAND + t
    first[i, b] = f
    last[i, b] = la


@cuda.jit
def _band_neighbours(first, last, left, right):
    """Per row: nearest seed column before each band (``left``) and after it (``right``)."""
    i = cuda.grid(1)
    if i >= first.shape[0]:
        return
    nb = first.shape[1]
    cur = -1
    for b in range(nb):
        left[i, b] = cur
        if last[i, b] >= 0:
            cur = last[i, b]
    cur = -1
    for b in range(nb - 1, -1, -1):
        right[i, b] = cur
        if first[i, b] >= 0:
            cur = first[i, b]


@cuda.jit
def _row_distance(mask, first, left, right, h):
    """Horizontal distance to the row's nearest seed; staged through shared memory so that
    the loads and the stores of a warp touch consecutive cells."""
    tile = cuda.shared.array((_TROWS, _MTILE), np.uint8)
    out = cuda.shared.array((_TROWS, _HTILE), np.int32)
    tid = cuda.threadIdx.y * 32 + cuda.threadIdx.x
    i0 = cuda.blockIdx.y * _TROWS
    j0 = cuda.blockIdx.x * _TCOLS
    _stage_mask(mask, tile, i0, j0, tid)
    rows = mask.shape[0]
    cols = mask.shape[1]
    b = cuda.blockIdx.x * 32 + cuda.threadIdx.x
    i = i0 + cuda.threadIdx.y
    r = cuda.threadIdx.y
    mb = cuda.threadIdx.x * _MSTRIDE
    hb = cuda.threadIdx.x * _HSTRIDE
    if i < rows and b < first.shape[1]:
        jb = b * _BAND
        lo = left[i, b]
        hi = first[i, b]
        if hi < 0:
            hi = right[i, b]
        for t in range(_BAND):
            j = jb + t
            if j == hi:  # passing a seed: it becomes the left one; find the next
                lo = hi
                hi = -1
                for u in range(t + 1, _BAND):
                    if tile[r, mb + u]:
                        hi = jb + u
                        break
                if hi < 0:
                    hi = right[i, b]
            d = -1
            if lo >= 0:
                d = j - lo
            if hi >= 0 and (d < 0 or hi - j < d):
                d = hi - j
            out[r, hb + t] = d
    cuda.syncthreads()
    for idx in range(tid, _TROWS * _TCOLS, 32 * _TROWS):
        rr = idx // _TCOLS
        col = idx - rr * _TCOLS
        ii = i0 + rr
        j = j0 + col
        if ii < rows and j < cols:
            h[ii, j] = out[rr, (col // _BAND) * _HSTRIDE + col % _BAND]


@cuda.jit
def _column_envelope(h, stack, count, shift, low):
    j = cuda.grid(1)
    rows = h.shape[0] - _PREFETCH
    if j >= h.shape[1]:
        return
    # Lower envelope of the parabolas (r - q)^2 + h_q^2 = r^2 - 2 r q + F_q with F_q = h_q^2 + q^2.
    # All entries sit in ``stack[:, j]``; the top (qt, Ft) and the one below it (qs, Fs) also
    # in registers, so only a pop reads memory.
    k = 0
    qs = np.int64(0)
    fs = np.int64(0)
    qt = np.int64(0)
    ft = np.int64(0)
    p0 = h[0, j]
    p1 = h[1, j]
    p2 = h[2, j]
    p3 = h[3, j]
    for q in range(rows):
        hq = np.int64(p0)
        p0 = p1
        p1 = p2
        p2 = p3
        p3 = h[q + 4, j]  # padded: always in bounds, used four rows later
        if hq < 0:
            continue
        qq = np.int64(q)
        fq = hq * hq + qq * qq
        # the top is hidden when q overtakes it no later than it overtook the entry below:
        # (Fq - Ft) / (q - qt) <= (Ft - Fs) / (qt - qs)
        while k >= 2 and (fq - ft) * (qt - qs) <= (ft - fs) * (qq - qt):
            k -= 1
            qt = qs
            ft = fs
            if k >= 2:
                e = np.int64(stack[k - 2, j])
                qs = e >> shift
                hs = e & low
                fs = hs * hs + qs * qs
        stack[k, j] = (qq << shift) | hq
        k += 1
        qs = qt
        fs = ft
        qt = qq
        ft = fq
    count[j] = k


@cuda.jit(device=True)
def _entry(stack, m, j, shift, low):
    e = np.int64(stack[m, j])
    q = e >> shift
    hh = e & low
    return q, hh * hh + q * q


@cuda.jit
def _envelope_fill(stack, count, shift, low, res32, max_d2, seg, out):
    """Reads the envelopes off: thread (column, segment of ``seg`` rows) finds the envelope
    entry active at its first row by bisection, then walks down. Many threads per column."""
    j, g = cuda.grid(2)
    rows = out.shape[0]
    if j >= out.shape[1]:
        return
    r0 = g * seg
    if r0 >= rows:
        return
    r1 = r0 + seg
    if r1 > rows:
        r1 = rows
    k = count[j]
    if k == 0:  # no seed at all
        for r in range(r0, r1):
            out[r, j] = math.inf
        return
    # entry m is active at row r while the next one is not strictly lower there:
    # F_{m+1} - F_m >= 2 r (q_{m+1} - q_m); breakpoints increase with m, so bisect
    lo = 0
    hi = k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        qa, fa = _entry(stack, mid, j, shift, low)
        qb, fb = _entry(stack, mid + 1, j, shift, low)
        if fb - fa < 2 * r0 * (qb - qa):
            lo = mid + 1
        else:
            hi = mid
    m = lo
    qc, fc = _entry(stack, m, j, shift, low)
    qn = np.int64(0)
    fn = np.int64(0)
    if m + 1 < k:
        qn, fn = _entry(stack, m + 1, j, shift, low)
    for r in range(r0, r1):
        while m + 1 < k and fn - fc < 2 * r * (qn - qc):
            m += 1
            qc = qn
            fc = fn
            if m + 1 < k:
                qn, fn = _entry(stack, m + 1, j, shift, low)
        dr = r - qc
        d2 = dr * dr + (fc - qc * qc)
        if d2 > max_d2:
            out[r, j] = math.inf
        else:
            out[r, j] = np.float32(math.sqrt(float(d2))) * res32


def _max_d2(res: float, max_distance: float) -> int:
    if np.isinf(max_distance):
        return int(np.iinfo(np.int64).max)
    return int(np.floor((max_distance / res) ** 2 * (1 + 1e-12)))


def _distance_only(d_mask, res, max_d2, out):
    rows, cols = d_mask.shape
    nb = (cols + _BAND - 1) // _BAND
    first = _scratch("first", (rows, nb), np.int32)
    last = _scratch("last", (rows, nb), np.int32)
    left = _scratch("left", (rows, nb), np.int32)
    right = _scratch("right", (rows, nb), np.int32)
    h = _scratch("h", (rows + _PREFETCH, cols), np.int16 if cols <= 32_767 else np.int32)
    packed = rows < 65_536 and cols < 65_536
    stack = _scratch("stack", (rows, cols), np.uint32 if packed else np.int64)
    grid2 = ((nb + 31) // 32, (rows + _TROWS - 1) // _TROWS)
    _band_ends[grid2, (32, _TROWS)](d_mask, first, last)
    _band_neighbours[blocks_for(rows, 32), 32](first, last, left, right)
    _row_distance[grid2, (32, _TROWS)](d_mask, first, left, right, h)
    pad = h[rows:]
    _fill[blocks_for(pad.size), THREADS](pad.reshape(pad.size), pad.dtype.type(-1))
    count = _scratch("count", (cols,), np.int32)
    shift = 16 if packed else 32
    low = (1 << shift) - 1
    _column_envelope[blocks_for(cols, 32), 32](h, stack, count, shift, low)
    grid = ((cols + 31) // 32, (rows + _SEG - 1) // _SEG)
    _envelope_fill[grid, (32, 4)](stack, count, shift, low, np.float32(res), max_d2, _SEG, out)
    return out


def distance_device(mask, res: float, max_distance: float, want_index: bool, out=None):
    """``(distance, index)`` as device arrays; ``mask`` is a host or device 2-D bool/uint8 array.

    ``out`` (a device float32 array of the mask's shape) receives the distances when given.
    """
    if not is_device(mask) and mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    d_mask = to_device(mask)
    rows, cols = d_mask.shape
    if out is None:
        out = cuda.device_array((rows, cols), np.float32)
    max_d2 = _max_d2(res, max_distance)
    if not want_index:
        if rows and cols:
            _distance_only(d_mask, res, max_d2, out)
        return out, None
    near = cuda.device_array((rows, cols), np.int32)
    _column_kernel[blocks_for(cols, 32), 32](d_mask, near)
    v = cuda.device_array((cols, rows), np.int32)
    z = cuda.device_array((cols + 1, rows), np.float64)
    index = cuda.device_array((rows, cols), np.int64)
    _row_kernel[blocks_for(rows, 32), 32](near, float(res), max_d2, v, z, out, index, True)
    return out, index


@register("distance", "cuda")
def distance_cuda(mask: np.ndarray, res: float, max_distance: float, want_index: bool):
    """Same contract and results as the CPU ``distance`` kernel."""
    from cimtwin.kernels.cuda.transfer import download, upload

    d_mask = upload(mask.view(np.uint8) if mask.dtype == np.bool_ else mask)
    out, index = distance_device(d_mask, res, max_distance, want_index)
    return download(out), (download(index) if want_index else None)
