"""CUDA twins of ``flow_direction_d8`` and ``flow_accumulation``.

D8: one thread per cell computes the steepest drop with the CPU kernel's arithmetic (the
height difference in the DEM's dtype times a float64 1 or 1/sqrt(2), strict ``>`` so the
first of equal drops in the order E, SE, S, ..., NE wins), so the codes are identical. Flats
(interior cells with no lower neighbour) are then resolved by the CPU kernel's breadth-first
search on the host: its tie-breaks follow the queue order of a sequential search, which a
parallel search does not reproduce, so exact equality keeps that step on the CPU. Only
conditioned DEMs with flats pay for it (one copy of the directions each way).

Accumulation: the CPU kernel's walk from every source cell, in parallel. Each cell holds one
uint64 word = donors arrived << 40 | count; a donor adds ``count + 2^40`` with one atomic,
which passes its count on and registers its arrival together, and the donor whose atomic
saw all the other donors already there was the last: it carries the receiver's total on
downstream. Integer adds commute,
so the result equals the CPU count exactly (cycles in hand-made D8 codes stall the same
cells in both).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.cuda._device import is_device, to_device

_INV_SQRT2 = 1 / math.sqrt(2)  # the CPU kernel's diagonal factor, bit for bit
_SHIFT = np.uint64(40)
_LOW = np.uint64((1 << 40) - 1)
_ARRIVED = np.uint64(1 << 40)
_ONE = np.uint64(1)
_BLOCK2 = (32, 8)


@cuda.jit(device=True)
def _step(k):
    """(row offset, col offset, code) of neighbour ``k`` in the order E, SE, S, SW, W, NW, N, NE."""
    if k == 0:
        return 0, 1, 1
    if k == 1:
        return 1, 1, 2
    if k == 2:
        return 1, 0, 4
    if k == 3:
        return 1, -1, 8
    if k == 4:
        return 0, -1, 16
    if k == 5:
        return -1, -1, 32
    if k == 6:
        return -1, 0, 64
    return -1, 1, 128


@cuda.jit(device=True)
def _offset(code):
    """(row offset, col offset) of a D8 code; (0, 0) for 0 and 255."""
    if code == 1:
        return 0, 1
    if code == 2:
        return 1, 1
    if code == 4:
        return 1, 0
    if code == 8:
        return 1, -1
    if code == 16:
        return 0, -1
    if code == 32:
        return -1, -1
    if code == 64:
        return -1, 0
    if code == 128:
        return -1, 1
    return 0, 0


@cuda.jit
def _d8_kernel(z, valid, dirs, unresolved, n_unresolved):
    c, r = cuda.grid(2)
    rows = z.shape[0]
    cols = z.shape[1]
    if r >= rows or c >= cols:
        return
    if not valid[r, c]:
        dirs[r, c] = 255
        unresolved[r, c] = 0
        return
    zc = z[r, c]
    best = 0.0
    code = 0
    border = r == 0 or c == 0 or r == rows - 1 or c == cols - 1
    for k in range(8):
        dr, dc, kc = _step(k)
        rr = r + dr
        cc = c + dc
        if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
            continue
        if not valid[rr, cc]:
            border = True
            continue
        drop = (zc - z[rr, cc]) * (_INV_SQRT2 if k % 2 == 1 else 1.0)
        if drop > best:
            best = drop
            code = kc
    dirs[r, c] = code
    flat = code == 0 and not border
    unresolved[r, c] = 1 if flat else 0
    if flat:
        cuda.atomic.add(n_unresolved, 0, 1)


def _launch2(shape):
    rows, cols = int(shape[0]), int(shape[1])
    return (max(1, (cols + _BLOCK2[0] - 1) // _BLOCK2[0]), max(1, (rows + _BLOCK2[1] - 1) // _BLOCK2[1])), _BLOCK2


def d8_device(z, valid, with_steps=True, host_z=None):
    """``(dirs, flat_dist)`` with ``dirs`` a device uint8 grid; ``flat_dist`` host int32 or None.

    ``z``/``valid`` may be host or device arrays (``host_z``: a host copy of ``z``, if the
    caller has one, saves copying it back for the flat step). Flats, when present, are resolved
    on the host (see the module docstring); ``flat_dist`` is all zero without flats.
    """
    d_z = to_device(z)
    d_valid = to_device(valid.view(np.uint8) if not is_device(valid) and valid.dtype == np.bool_ else valid)
    shape = d_z.shape
    dirs = cuda.device_array(shape, np.uint8)
    unresolved = cuda.device_array(shape, np.uint8)
    count = cuda.to_device(np.zeros(1, np.int64))
    if d_z.size:
        grid, block = _launch2(shape)
        _d8_kernel[grid, block](d_z, d_valid, dirs, unresolved, count)
    n_flat = int(count.copy_to_host()[0])
    flat_dist = np.zeros(shape if with_steps else (1, 1), np.int32)
    if n_flat:
        from cimtwin.kernels.hydro import _resolve_flats

        from cimtwin.kernels.cuda.transfer import download, upload

        if host_z is not None:
            h_z = np.ascontiguousarray(host_z)
        else:
            h_z = download(z) if is_device(z) else np.ascontiguousarray(z)
        h_dirs = download(dirs)
        h_unres = download(unresolved)
        idx_t = np.int32 if h_z.size < 2**31 else np.int64
        comp = np.empty(n_flat, dtype=idx_t)
        queue = np.empty(min(h_z.size, 9 * n_flat + 8), dtype=idx_t)
        _resolve_flats(h_z, h_dirs, h_unres, flat_dist, comp, queue, with_steps)
        dirs = upload(h_dirs)
    return dirs, (flat_dist if with_steps else None)


@register("flow_direction_d8", "cuda")
def d8_cuda(z, valid, with_steps=True):
    """Same contract and results as the CPU ``flow_direction_d8`` kernel."""
    from cimtwin.kernels.cuda.transfer import download, upload

    d_valid = upload(valid.view(np.uint8) if valid.dtype == np.bool_ else valid)
    dirs, flat_dist = d8_device(upload(z), d_valid, with_steps, host_z=z)
    return download(dirs), flat_dist


@cuda.jit
def _init_words(dirs, indeg, words):
    c, r = cuda.grid(2)
    rows = dirs.shape[0]
    cols = dirs.shape[1]
    if r >= rows or c >= cols:
        return
    deg = 0
    for k in range(8):
        dr, dc, _ = _step(k)
        rr = r + dr
        cc = c + dc
        if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
            continue
        _, _, back = _step((k + 4) % 8)
        if dirs[rr, cc] == back:
            deg += 1
    indeg[r, c] = deg
    words[r, c] = np.uint64(0 if dirs[r, c] == 255 else 1)


@cuda.jit
def _walk(dirs, indeg, words):
    c, r = cuda.grid(2)
    rows = dirs.shape[0]
    cols = dirs.shape[1]
    if r >= rows or c >= cols:
        return
    if dirs[r, c] == 255 or indeg[r, c] != 0:
        return  # walks start at sources only
    val = np.uint64(1)
    while True:
        d = dirs[r, c]
        if d == 0 or d == 255:
            return
        dr, dc = _offset(d)
        r += dr
        c += dc
        old = cuda.atomic.add(words, (r, c), val + _ARRIVED)
        if (old >> _SHIFT) + _ONE != indeg[r, c]:
            return  # other donors still to come: the last of them carries on
        val = (old & _LOW) + val


@cuda.jit
def _unpack(words, acc):
    c, r = cuda.grid(2)
    if r < acc.shape[0] and c < acc.shape[1]:
        acc[r, c] = words[r, c] & _LOW


def accumulation_device(dirs, dtype=np.uint32):
    """Flow accumulation of D8 ``dirs`` (host or device uint8) as a device array of ``dtype``."""
    d_dirs = to_device(dirs)
    shape = d_dirs.shape
    acc = cuda.device_array(shape, dtype)
    if d_dirs.size:
        words = cuda.device_array(shape, np.uint64)
        indeg = cuda.device_array(shape, np.uint8)
        grid, block = _launch2(shape)
        _init_words[grid, block](d_dirs, indeg, words)
        _walk[grid, block](d_dirs, indeg, words)
        _unpack[grid, block](words, acc)
    return acc


@register("flow_accumulation", "cuda")
def accumulation_cuda(dirs, dtype=np.uint32):
    """Same contract and results as the CPU ``flow_accumulation`` kernel."""
    from cimtwin.kernels.cuda.transfer import download, upload

    return download(accumulation_device(upload(dirs), dtype))
