"""CUDA twin of ``coverage_count``: disks and sectors, one block per source.

Each block visits the cells of its source's bounding box (threads stride over them), applies
the CPU kernel's tests on the same float64 expressions — the disk test
``(j - c)^2 + (i - r)^2 <= R^2`` and the sector test with the same angular slack — and adds 1
with an atomic. Integer atomics commute, so the result is deterministic and equal to the CPU
count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from cimtwin.kernels._dispatch import register
from cimtwin.kernels.coverage import _ANGLE_TOL
from cimtwin.kernels.cuda._device import THREADS, blocks_for, full, to_device


@cuda.jit
def _stamp_kernel(out, r, c, radius, sectors, ux, uy, cosh, tol):
    rows = out.shape[0]
    cols = out.shape[1]
    n = r.shape[0]
    for s in range(cuda.blockIdx.x, n, cuda.gridDim.x):
        rs = r[s]
        cs = c[s]
        rad = radius[s]
        r2 = rad * rad
        i0 = max(0, math.ceil(rs - rad))
        i1 = min(rows - 1, math.floor(rs + rad))
        j0 = max(0, math.ceil(cs - rad) - 1)
        j1 = min(cols - 1, math.floor(cs + rad) + 1)
        h = i1 - i0 + 1
        w = j1 - j0 + 1
        if h <= 0 or w <= 0:
            continue
        for t in range(cuda.threadIdx.x, h * w, cuda.blockDim.x):
            i = i0 + t // w
            j = j0 + t % w
            dr = i - rs
            if r2 - dr * dr < 0:
                continue
            if (j - cs) ** 2 + dr * dr > r2:
                continue
            if sectors:
                # the CPU kernel's squared form of dot(v, u) >= |v| cos(hfov/2)
                north = -dr
                ch = cosh[s] - tol
                ch2 = ch * ch
                east = j - cs
                dot = east * ux[s] + uy[s] * north
                v2 = (east * east + north * north) * ch2
                if ch >= 0.0:
                    if not (dot >= 0.0 and dot * dot >= v2):
                        continue
                elif not (dot >= 0.0 or dot * dot <= v2):
                    continue
            cuda.atomic.add(out, (i, j), 1)


def coverage_count_device(shape, rows, cols, radius, ux=None, uy=None, cosh=None, out=None):
    """Count grid on the device (int32). Inputs may be host or device arrays.

    ``ux``/``uy``/``cosh`` (sine and cosine of the azimuth, cosine of half the field of view)
    switch on sectors; None for disks. ``out`` (a zeroed device int32 grid) is added into.
    """
    nrows, ncols = int(shape[0]), int(shape[1])
    if out is None:
        out = full((nrows, ncols), 0, np.int32)
    n = int(rows.shape[0])
    if n == 0:
        return out
    d_r = to_device(rows, np.float64)
    d_c = to_device(cols, np.float64)
    d_rad = to_device(radius, np.float64)
    sectors = ux is not None
    if sectors:
        d_ux, d_uy, d_cosh = to_device(ux, np.float64), to_device(uy, np.float64), to_device(cosh, np.float64)
    else:
        d_ux = d_uy = d_cosh = to_device(np.zeros(1))
    _stamp_kernel[blocks_for(n, 1), THREADS](out, d_r, d_c, d_rad, sectors, d_ux, d_uy, d_cosh, _ANGLE_TOL)
    return out


def sector_terms(azimuth_deg, hfov_deg):
    """(ux, uy, cosh) for sectors, computed exactly as the CPU kernel does."""
    az = np.deg2rad(azimuth_deg)
    half = np.deg2rad(np.minimum(hfov_deg, 360.0)) / 2.0
    cosh = np.cos(half)
    cosh[hfov_deg >= 360.0] = -2.0  # full circle: every direction passes
    return np.sin(az), np.cos(az), cosh


@register("coverage_count", "cuda")
def coverage_count_cuda(shape, rows, cols, radius, azimuth_deg, hfov_deg, strategy):
    """Same contract as the CPU ``coverage_count`` kernel; ``strategy`` is ignored (always stamps)."""
    terms = (None, None, None) if azimuth_deg is None else sector_terms(azimuth_deg, hfov_deg)
    from cimtwin.kernels.cuda.transfer import download

    return download(coverage_count_device(shape, rows, cols, radius, *terms))
