"""CUDA twin of ``zonal``: per-bin count, sum, min, max, count above a threshold, cells.

One thread per cell (grid-stride) with global atomics, as few as possible per cell:

- the cell count and the valid-value count share one uint64 word (``cells << 32 | count``),
  so one atomic add updates both;
- min and max are integer atomics on the value's bits mapped to an order-preserving unsigned
  key (no compare-and-swap loop), and are skipped when a plain read already shows the value
  cannot improve them: the stored key only moves one way, so a stale read can only cause an
  unneeded atomic, never a missed one. After the first few cells of a zone almost none
  improve it;
- the float64 sum is one native atomic add.

Up to ``_SBINS`` zones, each block first sums counts, sums and counts above the threshold
in shared memory and adds its partial totals to the global ones once at the end, so the
per-cell atomics stay on the SM (a few zones would otherwise make every thread queue on
the same few addresses).

Counts, min and max are exact; the float64 sums are added in a scheduling-dependent order, so
they agree with the CPU kernel to rounding (well within 1e-5 relative) but are not
bit-reproducible between runs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import THREADS, blocks_for, full, to_device

_CELL = np.uint64(1 << 32)
_LOW32 = np.uint64(0xFFFFFFFF)
_SBINS = 2048  # zones kept per block in shared memory (20 B each)
_SHARED_BLOCKS = 1024  # blocks of the shared-memory kernel: partials flushed = blocks x zones


@cuda.jit
def _to_f64(src, dst):
    for p in range(cuda.grid(1), src.shape[0], cuda.gridsize(1)):
        dst[p] = float(src[p])


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
        b = bits[p]
        key = ~b if b & sign else b | sign  # unsigned order == float order
        if key < lo[z]:
            cuda.atomic.min(lo, z, key)
        if key > hi[z]:
            cuda.atomic.max(hi, z, key)
        if has_threshold and v > threshold:
            cuda.atomic.add(above, z, 1)


@cuda.jit
def _zonal_shared_kernel(values, bits, sign, bins, nbins, has_nodata, nodata, has_threshold, threshold, word, tot,
                         lo, hi, above):
    s_word = cuda.shared.array(_SBINS, np.uint64)
    s_tot = cuda.shared.array(_SBINS, np.float64)
    s_above = cuda.shared.array(_SBINS, np.uint32)
    tid = cuda.threadIdx.x
    for z in range(tid, nbins, cuda.blockDim.x):
        s_word[z] = 0
        s_tot[z] = 0.0
        s_above[z] = 0
    cuda.syncthreads()
    start = cuda.grid(1)
    for p in range(start, values.shape[0], cuda.gridsize(1)):
        z = bins[p]
        if z < 0:
            continue
        v = values[p]
        if math.isnan(v) or (has_nodata and v == nodata):
            cuda.atomic.add(s_word, z, _CELL)
            continue
        cuda.atomic.add(s_word, z, _CELL + np.uint64(1))
        cuda.atomic.add(s_tot, z, float(v))
        b = bits[p]
        key = ~b if b & sign else b | sign
        if key < lo[z]:
            cuda.atomic.min(lo, z, key)
        if key > hi[z]:
            cuda.atomic.max(hi, z, key)
        if has_threshold and v > threshold:
            cuda.atomic.add(s_above, z, 1)
    cuda.syncthreads()
    for z in range(tid, nbins, cuda.blockDim.x):
        w = s_word[z]
        if w != 0:
            cuda.atomic.add(word, z, w)
            cuda.atomic.add(tot, z, s_tot[z])
            if s_above[z] != 0:
                cuda.atomic.add(above, z, np.int64(s_above[z]))


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


def zonal_device(values, bins, nbins, nodata, threshold):
    """(count, sum, min, max, n_above, n_cells) as device arrays; ``values``/``bins`` flat, host or device.

    min and max come back in the dtype of ``values`` (float32 or float64).
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
    args = (nodata is not None, 0.0 if nodata is None else float(nodata), threshold is not None,
            0.0 if threshold is None else float(threshold), word, tot, lo, hi, above)
    if n and nbins <= _SBINS:
        blocks = min(blocks_for(n, 256), _SHARED_BLOCKS)
        _zonal_shared_kernel[blocks, 256](d_v, d_v.view(ut), sign, d_b, nbins, *args)
    elif n and nbins:
        _zonal_kernel[blocks_for(n), THREADS](d_v, d_v.view(ut), sign, d_b, *args)
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
