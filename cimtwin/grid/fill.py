"""Depression filling (Priority-Flood) and depression depth, in memory and tiled on dask.

Dask adapter (after Barnes 2016; the tile bookkeeping is in :mod:`cimtwin.grid._tiles`): pass 1
floods every tile on its own (no halo) from its perimeter cells and from the cells next to
nodata, and returns its perimeter heights and the spill edges between perimeter labels. The
client links perimeter cells across tile edges (and to the outside where a neighbour in
another tile is nodata or beyond the grid); a minimax Dijkstra over that small graph gives
every perimeter cell its final fill height; pass 2 (lazy) fills each tile again with its
perimeter held at those heights. The result equals the in-memory fill cell for cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import NodataError, ValidationError
from cimtwin.grid import _tiles
from cimtwin.grid._array import is_dask_dataarray, wrap_like
from cimtwin.grid._dem import prepare_dem
from cimtwin.kernels import hydro as hk
from cimtwin.kernels import hydro_tiled as tk
from cimtwin.kernels._dispatch import select

__all__ = ["fill_depressions", "depression_depth"]


def _condition(z: np.ndarray, valid: np.ndarray, backend: str) -> np.ndarray:
    # no exact parallel fill: with backend="cuda" the fill runs on the CPU, D8 and accumulation on the GPU
    fill, _ = select("fill_depressions", "cpu" if backend == "cuda" else backend)
    return fill(z, valid, False)


def fill_depressions(dem: Any, *, nodata: float | None = None, epsilon: bool = False,
                     backend: str = "auto"):
    """Fill depressions so that every cell drains to the grid edge (or a nodata hole).

    8-connected Priority-Flood (Barnes, Lehman & Mulla 2014) with a plain queue for cells
    already flooded. Without ``epsilon`` filled depressions become flat at their spill
    level; with ``epsilon=True`` each raised cell is one float step above its flooding
    neighbour, so the surface strictly descends to an outlet.

    Parameters
    ----------
    dem : numpy.ndarray or xarray.DataArray
        Elevation (m), north-up. float32 stays float32; other dtypes become float64.
    nodata : float, optional
        Value marking holes, besides NaN. Holes drain like the grid edge and are NaN in
        the output.
    epsilon : bool
        Nudge filled cells upward so no flats remain.

    Returns
    -------
    Same kind as ``dem``: the filled elevation (m), ``>= dem`` everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import fill_depressions
    >>> dem = np.array([[5, 5, 5], [5, 1, 5], [5, 4, 5]], dtype="float32")
    >>> fill_depressions(dem)[1, 1]
    np.float32(4.0)
    """
    if is_dask_dataarray(dem):
        z, template = _tiles.prepare_dem(dem, nodata=nodata)
        if epsilon:
            raise ValidationError("`epsilon=True` is not available for a dask-backed DEM; fill without it "
                                  "or load the DEM with `.compute()`.")
        return _tiles.wrap(_fill_dask(z), template, name="filled", units="m",
                          attrs={"cimtwin_op": "fill_depressions"})
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    fill, _ = select("fill_depressions", backend)
    out = fill(z, valid, bool(epsilon))
    return wrap_like(inp, out, name="filled", units="m", attrs={"cimtwin_op": "fill_depressions"})


def depression_depth(dem: Any, *, nodata: float | None = None, backend: str = "auto"):
    """Depth of each cell below its spill level: ``fill_depressions(dem) - dem`` (m, >= 0).

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import depression_depth
    >>> depression_depth(np.array([[5, 5, 5], [5, 1, 5], [5, 4, 5]], dtype="f4"))[1, 1]
    np.float32(3.0)
    """
    if is_dask_dataarray(dem):
        z, template = _tiles.prepare_dem(dem, nodata=nodata)
        return _tiles.wrap(_fill_dask(z) - z, template, name="depression_depth", units="m",
                          attrs={"cimtwin_op": "depression_depth"})
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    filled = _condition(z, valid, backend)
    return wrap_like(inp, filled - z, name="depression_depth", units="m",
                     attrs={"cimtwin_op": "depression_depth"})


# -- tiled (dask) ---------------------------------------------------------------------

def _fill_pass1(core, node_start, ocean):
    """Label flood of one tile; its raw perimeter heights and its spill edges (global node ids)."""
    core = np.ascontiguousarray(core)
    _, ea, eb, ew = tk.fill_tile_labels(core)
    lo, hi, ew = tk.lowest_spills(ea, eb, ew, node_start, ocean)
    pr, pc = tk.perimeter_cells(*core.shape)
    return core[pr, pc], lo, hi, ew, bool(np.isfinite(core).any())


def _spill_levels(tiles: _tiles.Tiles, results) -> np.ndarray:
    """Global fill height of every perimeter cell (node), from the tiles' first passes."""
    N = tiles.n_nodes
    zper = np.concatenate([r[0] for r in results]).astype(np.float64)
    a = [r[1] for r in results]
    b = [r[2] for r in results]
    wt = [r[3] for r in results]
    # Links across tile edges: each perimeter cell to its neighbours in other tiles (E, SE, S,
    # SW; the other half are the same pairs reversed), and to the ocean at its own height when
    # a neighbour in another tile is nodata or beyond the grid (the first pass sees no halo).
    R, C, ti, tj = tiles.node_rc()
    src = np.arange(N, dtype=np.int64)
    valid = np.isfinite(zper)
    for k in range(8):
        R2, C2 = R + hk.DR[k], C + hk.DC[k]
        other = valid & ((R2 < tiles.row_off[ti]) | (R2 >= tiles.row_off[ti + 1])
                         | (C2 < tiles.col_off[tj]) | (C2 >= tiles.col_off[tj + 1]))
        q = tiles.node_of(R2[other], C2[other])
        p = src[other]
        drain = q < 0
        drain[~drain] = ~valid[q[~drain]]
        a.append(p[drain])
        b.append(np.full(int(drain.sum()), N, np.int64))
        wt.append(zper[p[drain]])
        if k < 4:
            ok = ~drain
            a.append(p[ok])
            b.append(q[ok])
            wt.append(np.maximum(zper[p[ok]], zper[q[ok]]))
    a = np.concatenate(a)
    b = np.concatenate(b)
    wt = np.concatenate(wt)
    u = np.concatenate([a, b])
    v = np.concatenate([b, a])
    ww = np.concatenate([wt, wt])
    order = np.argsort(u, kind="stable")
    indptr = np.searchsorted(u[order], np.arange(N + 2)).astype(np.int64)
    level = tk.graph_minimax(indptr, v[order], ww[order], N)
    with np.errstate(invalid="ignore"):
        return np.maximum(zper, level[:N])


def _fill_dask(z):
    """Lazy filled surface of the float dask array ``z`` (NaN holes)."""
    tiles = _tiles.Tiles(z.chunks)
    ocean = tiles.n_nodes
    blocks = z.to_delayed()
    tasks = [_tiles.task(_fill_pass1)(blocks[t], tiles.nodes(*t).start, ocean) for t in tiles.tiles()]
    results = _tiles.compute_all(tasks)
    if not any(r[4] for r in results):
        raise NodataError("`dem` has no valid cells (all NaN or equal to nodata).")
    levels = _spill_levels(tiles, results).astype(z.dtype)
    del results
    args = {t: (levels[tiles.nodes(*t)],) for t in tiles.tiles()}
    return _tiles.tile_map(_fill_pass2, [z], args, chunks=z.chunks, dtype=z.dtype)


def _fill_pass2(block, per_levels):
    """Fill a tile again with its perimeter cells held at their global fill heights."""
    h, w = block.shape
    core = np.array(block, dtype=per_levels.dtype, order="C")
    pr, pc = tk.perimeter_cells(h, w)
    core[pr, pc] = per_levels
    return hk.priority_flood_fill(core, np.isfinite(core), False)
