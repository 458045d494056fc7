"""Polygon burning by scanlines (numpy + numba only).

A polygon burns the cells whose centre lies inside it, by the even-odd rule over its rings
(so holes stay unburnt), with GDAL's conventions for centres on an edge: a scanline at a row
centre crosses an edge when ``y1 <= y < y2``, and a cell is burnt when its centre lies in
``(x_a, x_b]`` between two crossings. Polygons burn in order, a later one over an earlier.
Coordinates are in pixel units (column, row; row 0 at the top).
"""

from __future__ import annotations

import math

import numpy as np

from cimtwin.kernels._jit import njit

__all__ = ["burn_polygons"]


@njit
def burn_polygons(out, px, py, ring_offsets, poly_ring_offsets, values):
    """Burn polygon ``p`` (rings ``poly_ring_offsets[p]:poly_ring_offsets[p+1]``, each ring's
    closed coordinates ``ring_offsets[k]:ring_offsets[k+1]`` of ``px``/``py``) with ``values[p]``."""
    rows, cols = out.shape
    xs = np.empty(64, np.float64)
    for p in range(values.shape[0]):
        k0, k1 = poly_ring_offsets[p], poly_ring_offsets[p + 1]
        a, b = ring_offsets[k0], ring_offsets[k1]
        if b - a < 4:
            continue  # fewer than three distinct corners: no area
        ymin, ymax = py[a], py[a]
        for j in range(a, b):
            ymin = min(ymin, py[j])
            ymax = max(ymax, py[j])
        r0 = max(0, int(math.ceil(ymin - 0.5)))
        r1 = min(rows, int(math.ceil(ymax - 0.5)))
        for r in range(r0, r1):
            yc = r + 0.5
            n = 0
            for k in range(k0, k1):
                for j in range(ring_offsets[k], ring_offsets[k + 1] - 1):
                    y1, y2 = py[j], py[j + 1]
                    if (y1 <= yc < y2) or (y2 <= yc < y1):
                        if n == xs.shape[0]:
                            grown = np.empty(2 * n, np.float64)
                            grown[:n] = xs
                            xs = grown
                        xs[n] = px[j] + (yc - y1) * (px[j + 1] - px[j]) / (y2 - y1)
                        n += 1
            if n < 2:
                continue
            xs[:n].sort()
            v = values[p]
            for i in range(0, n - 1, 2):
                c0 = max(0, int(math.floor(xs[i] + 0.5)))
                c1 = min(cols, int(math.floor(xs[i + 1] + 0.5)))
                for c in range(c0, c1):
                    out[r, c] = v
    return out
