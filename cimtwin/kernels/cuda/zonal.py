"""CUDA twin of ``zonal``: per-bin count, sum, min, max, count above a threshold, cells.

One thread per cell (grid-stride), as few atomics as possible per cell:

- the cell count and the valid-value count share one uint64 word (``cells << 32 | count``),
  so one atomic add updates both;
- min and max are integer atomics on the value's bits mapped to an order-preserving unsigned
  key (no compare-and-swap loop), and are skipped when a plain read already shows the value
  cannot improve them: the stored key only moves one way, so a stale read can only cause an
  unneeded atomic, never a missed one. After the first few cells of a zone almost none
  improve it;
- the float64 sum is one native atomic add.

Private partials: when a block's shared memory holds the zones (20 bytes a zone: the word,
the sum and the count above), each block adds its cells' counts, sums and counts above there
and adds its totals to the global ones once at the end, so the per-cell atomics stay on the
SM. Up to 48 KiB that is any GPU's default; above it (some 11,000 zones on an H100 or H200,
227 KiB a block) the kernel opts in to the card's larger limit. Few zones get several copies,
one per group of warps, so that warps do not queue on the same few addresses. Each thread
loads four cells before it updates any, to keep enough reads in flight while blocks are few.
More zones than fit fall back on global atomics only.

Counts, min and max are exact; the float64 sums are added in a scheduling-dependent order, so
they agree with the CPU kernel to rounding (well within 1e-5 relative) but are not
bit-reproducible between runs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import cuda, types

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import (DEFAULT_SHARED_BYTES, THREADS, allow_dynamic_shared, blocks_for,
                                          device_attribute, full, simulated, to_device)

_CELL = np.uint64(1 << 32)
_LOW32 = np.uint64(0xFFFFFFFF)
ZONE_BYTES = 20  # shared memory per zone and copy: word (uint64), sum (float64), count above (uint32)


class Plan(NamedTuple):
    """How :func:`zonal_device` launches: ``"private"`` (shared-memory partials) or ``"global"``."""

    strategy: str
    threads: int
    blocks: int
    copies: int = 0
    shared_bytes: int = 0


def plan_for(nbins: int, n: int, *, budget: int | None = None, per_sm: int | None = None,
             sms: int | None = None) -> Plan:
    """The launch for ``nbins`` zones over ``n`` cells on the current GPU.

    ``budget``, ``per_sm``, ``sms``: shared memory one block may use, shared memory of one SM,
    number of SMs (default: the current card's; under the simulator 48 KiB, twice that, one).
    Private partials whenever one copy of the zones fits in it; then as many
    copies (a power of two, at most one per warp) as keep four blocks of 512 threads on an SM,
    and 1,024-thread blocks where only one block fits.
    """
    nbins, n = int(nbins), int(n)
    if budget is None:
        budget = DEFAULT_SHARED_BYTES if simulated() else device_attribute(
            "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN", DEFAULT_SHARED_BYTES)
    per_copy = ZONE_BYTES * max(nbins, 1)
    if per_copy > budget:
        return Plan("global", THREADS, blocks_for(n))
    if per_sm is None:
        per_sm = device_attribute("MAX_SHARED_MEMORY_PER_MULTIPROCESSOR", 2 * budget)
    per_sm = max(per_sm, per_copy)
    if sms is None:
        sms = device_attribute("MULTIPROCESSOR_COUNT", 1)
    threads = 1024 if 2 * per_copy > per_sm else 512
    resident = 2048 // threads  # blocks an SM runs at full occupancy
    copies = 1
    while (2 * copies <= threads // 32 and 2 * copies * per_copy <= budget
           and resident * 2 * copies * per_copy <= per_sm):
        copies *= 2
    shared = copies * per_copy
    blocks = min(blocks_for(n, threads), sms * max(1, min(resident, per_sm // shared)))
    return Plan("private", threads, blocks, copies, shared)


@cuda.jit
def _to_f64(src, dst):
    for p in range(cuda.grid(1), src.shape[0], cuda.gridsize(1)):
        dst[p] = float(src[p])


@cuda.jit(device=True)
def _widen(lo, hi, z, b, sign):
    """Zone ``z``'s min and max keys widened to the value with bits ``b``, atomics only when needed."""
    key = ~b if b & sign else b | sign  # unsigned order == float order
    if key < lo[z]:
        cuda.atomic.min(lo, z, key)
    if key > hi[z]:
        cuda.atomic.max(hi, z, key)


@cuda.jit
def _zonal_kernel(values, bits, sign, bins, has_nodata, nodata, has_threshold, threshold, word, tot, lo, hi,
                  above):
    start = cuda.grid(1)
    for p in range(start, values.shape[0], cuda.gridsize(1)):
        z = bins[p]
        if z < 0:
            continue
        v = values[p]
        if math.isnan(v) or (has_nodata and v == nodata):
            cuda.atomic.add(word, z, _CELL)
            continue
        cuda.atomic.add(word, z, _CELL + np.uint64(1))
        cuda.atomic.add(tot, z, float(v))
        _widen(lo, hi, z, bits[p], sign)
        if has_threshold and v > threshold:
            cuda.atomic.add(above, z, 1)


@cuda.jit(device=True)
def _add_private(z, v, b, base, m, s64, sf, s32, sign, has_nodata, nodata, has_threshold, threshold, lo, hi):
    """One cell into this warp's copy of the partials (``base``: the copy's first slot)."""
    if z < 0:
        return
    k = base + z
    if math.isnan(v) or (has_nodata and v == nodata):
        cuda.atomic.add(s64, k, _CELL)
        return
    cuda.atomic.add(s64, k, _CELL + np.uint64(1))
    cuda.atomic.add(sf, m + k, float(v))
    _widen(lo, hi, z, b, sign)
    if has_threshold and v > threshold:
        cuda.atomic.add(s32, 4 * m + k, np.uint32(1))


# 64 registers a thread let a 1,024-thread block launch on any card (64 Ki registers an SM);
# the simulator takes no such option
@cuda.jit(**({} if simulated() else {"max_registers": 64}))
def _zonal_private_kernel(values, bits, sign, bins, nbins, copies, has_nodata, nodata, has_threshold, threshold,
                          word, tot, lo, hi, above):
    # one dynamic buffer, three views: words [0, m), sums [m, 2m) as float64, counts above
    # [4m, 5m) as uint32 (m = zones x copies)
    s64 = cuda.shared.array(0, types.uint64)
    sf = cuda.shared.array(0, types.float64)
    s32 = cuda.shared.array(0, types.uint32)
    m = nbins * copies
    tid = cuda.threadIdx.x
    for k in range(tid, m, cuda.blockDim.x):
        s64[k] = 0
        sf[m + k] = 0.0
        s32[4 * m + k] = 0
    cuda.syncthreads()
    base = (tid // 32) % copies * nbins
    n = values.shape[0]
    step = cuda.gridsize(1)
    p0 = cuda.grid(1)
    while p0 < n:
        p1 = p0 + step
        p2 = p1 + step
        p3 = p2 + step
        z0, v0, b0 = bins[p0], values[p0], bits[p0]
        z1, v1, b1 = -1, v0, b0
        z2, v2, b2 = -1, v0, b0
        z3, v3, b3 = -1, v0, b0
        if p1 < n:
            z1, v1, b1 = bins[p1], values[p1], bits[p1]
        if p2 < n:
            z2, v2, b2 = bins[p2], values[p2], bits[p2]
        if p3 < n:
            z3, v3, b3 = bins[p3], values[p3], bits[p3]
        _add_private(z0, v0, b0, base, m, s64, sf, s32, sign, has_nodata, nodata, has_threshold, threshold, lo, hi)
        _add_private(z1, v1, b1, base, m, s64, sf, s32, sign, has_nodata, nodata, has_threshold, threshold, lo, hi)
        _add_private(z2, v2, b2, base, m, s64, sf, s32, sign, has_nodata, nodata, has_threshold, threshold, lo, hi)
        _add_private(z3, v3, b3, base, m, s64, sf, s32, sign, has_nodata, nodata, has_threshold, threshold, lo, hi)
        p0 = p3 + step
    cuda.syncthreads()
    for z in range(tid, nbins, cuda.blockDim.x):
        w = np.uint64(0)
        t = 0.0
        a = 0
        for c in range(copies):
            k = c * nbins + z
            w += s64[k]
            t += sf[m + k]
            a += s32[4 * m + k]
        if w != 0:
            cuda.atomic.add(word, z, w)
            cuda.atomic.add(tot, z, t)
            if a != 0:
                cuda.atomic.add(above, z, np.int64(a))


@cuda.jit
def _finish(word, lo, hi, sign, inf_bits, ninf_bits, cnt, cells):
    z = cuda.grid(1)
    if z >= word.shape[0]:
        return
    w = word[z]
    c = w & _LOW32
    cnt[z] = c
    cells[z] = w >> np.uint64(32)
    if c == 0:  # no valid value: +inf / -inf as on the CPU
        lo[z] = inf_bits
        hi[z] = ninf_bits
        return
    k = lo[z]  # keys back to the value's bits, in place
    lo[z] = k & ~sign if k & sign else ~k
    k = hi[z]
    hi[z] = k & ~sign if k & sign else ~k


def zonal_device(values, bins, nbins, nodata, threshold, *, plan: Plan | None = None):
    """(count, sum, min, max, n_above, n_cells) as device arrays; ``values``/``bins`` flat, host or device.

    min and max come back in the dtype of ``values`` (float32 or float64). ``plan`` overrides
    :func:`plan_for` (benchmarks and tests compare the strategies).
    """
    d_v = to_device(values)
    if d_v.dtype not in (np.float32, np.float64):  # e.g. an int32 count grid: cast on the device
        as_f64 = cuda.device_array(d_v.shape, np.float64)
        if d_v.size:
            _to_f64[blocks_for(d_v.size), THREADS](d_v, as_f64)
        d_v = as_f64
    d_b = to_device(bins)
    nbins = int(nbins)
    ut = np.uint32 if d_v.dtype == np.float32 else np.uint64
    ft = d_v.dtype
    sign = ut(1 << (8 * np.dtype(ut).itemsize - 1))
    word = full((max(nbins, 1),), 0, np.uint64)
    tot = full((max(nbins, 1),), 0.0, np.float64)
    lo = full((max(nbins, 1),), np.iinfo(ut).max, ut)
    hi = full((max(nbins, 1),), 0, ut)
    above = full((max(nbins, 1),), 0, np.int64)
    n = int(d_v.shape[0])
    flags = (nodata is not None, 0.0 if nodata is None else float(nodata), threshold is not None,
             0.0 if threshold is None else float(threshold))
    out = (word, tot, lo, hi, above)
    if n and nbins:
        plan = plan or plan_for(nbins, n)
        if plan.strategy == "private":
            args = (d_v, d_v.view(ut), sign, d_b, nbins, plan.copies, *flags, *out)
            if not allow_dynamic_shared(_zonal_private_kernel, args, plan.shared_bytes):
                plan = plan_for(nbins, n, budget=DEFAULT_SHARED_BYTES)
                args = (d_v, d_v.view(ut), sign, d_b, nbins, plan.copies, *flags, *out)
        if plan.strategy == "private":
            _zonal_private_kernel[plan.blocks, plan.threads, 0, plan.shared_bytes](*args)
        else:
            _zonal_kernel[plan.blocks, plan.threads](d_v, d_v.view(ut), sign, d_b, *flags, *out)
    cnt = cuda.device_array(max(nbins, 1), np.int64)
    cells = cuda.device_array(max(nbins, 1), np.int64)
    inf_bits = np.array([np.inf, -np.inf], ft).view(ut)
    _finish[blocks_for(max(nbins, 1)), THREADS](word, lo, hi, sign, inf_bits[0], inf_bits[1], cnt, cells)
    return cnt[:nbins], tot[:nbins], lo.view(ft)[:nbins], hi.view(ft)[:nbins], above[:nbins], cells[:nbins]


@register("zonal", "cuda")
def zonal_cuda(values, bins, nbins, nodata, threshold):
    """Same contract as the CPU ``zonal`` kernel."""
    from cimtwin.kernels.cuda.transfer import upload

    cnt, tot, lo, hi, above, cells = (a.copy_to_host() for a in zonal_device(
        upload(values), upload(bins), nbins, nodata, threshold))
    return cnt, tot, lo.astype(np.float64), hi.astype(np.float64), above, cells
