"""D8 flow accumulation, in memory and tiled on dask (Barnes 2017 perimeter links).

Dask adapter: pass 1 accumulates inside each tile (D8 codes with a one-cell halo) and follows
each perimeter cell's path to where it leaves the tile; the exit -> receiving-cell links form
a DAG over perimeter cells, solved in topological order on the client; pass 2 (lazy)
accumulates each tile again with the inflow from other tiles added at its perimeter. Counts
equal the in-memory ones exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.grid import _tiles
from cimtwin.grid._array import is_dask_dataarray, wrap_like
from cimtwin.grid._dem import check_d8, prepare_dem
from cimtwin.grid.flowdir import _dask_directions, _directions
from cimtwin.kernels import hydro_tiled as tk
from cimtwin.kernels._dispatch import select

__all__ = ["flow_accumulation"]


def flow_accumulation(dem: Any, *, conditioned: bool = False, nodata: float | None = None,
                      d8: Any = None, backend: str = "auto"):
    """Number of cells draining through each cell, itself included (D8).

    Unless ``conditioned=True`` the DEM is filled and its flats resolved first, so every
    valid cell drains to an outlet: the minimum is 1 and the values at outlets (D8 code 0)
    sum to the number of valid cells. Holes get 0. Pass ``d8`` (from
    :func:`flow_direction_d8`) to reuse directions already computed; ``dem`` then only gives
    the grid (use ``conditioned=True`` to skip the fill).

    Returns
    -------
    Same kind as ``dem``: uint32 counts ("cells").

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import flow_accumulation
    >>> flow_accumulation(np.array([[3, 2, 1]], dtype="f4"))
    array([[1, 2, 3]], dtype=uint32)
    """
    if is_dask_dataarray(dem):
        z, template = _tiles.prepare_dem(dem, nodata=nodata)
        dirs = _dask_directions(z, conditioned, d8)
        return _tiles.wrap(_accumulation_dask(dirs), template, name="flow_accumulation", units="cells",
                          attrs={"cimtwin_op": "flow_accumulation"})
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    if d8 is not None:
        dirs = check_d8(d8, z.shape)
    else:
        _, dirs = _directions(z, valid, conditioned, backend)
    acc_kernel, _ = select("flow_accumulation", backend)
    dtype = np.uint32 if z.size < 2**32 else np.uint64
    acc = acc_kernel(dirs, dtype)
    return wrap_like(inp, acc, name="flow_accumulation", units="cells",
                     attrs={"cimtwin_op": "flow_accumulation"})


# -- tiled (dask) ---------------------------------------------------------------------

def _acc_dtype(shape) -> type:
    return np.uint32 if shape[0] * shape[1] < 2**32 else np.uint64


def _acc_pass1(dirs, dtype):
    dirs = np.ascontiguousarray(dirs)
    h, w = dirs.shape
    pr, pc = tk.perimeter_cells(h, w)
    acc = np.empty((h, w), dtype)
    tk.accumulate_tile(dirs, np.zeros(pr.size, dtype), acc)
    kind, end = tk.trace_perimeter(dirs, np.zeros((1, 1), np.bool_), False)
    return acc[pr, pc], kind, end, dirs[pr, pc]


def _accumulation_dask(dirs):
    """Lazy flow counts from the dask array of D8 codes ``dirs``."""
    tiles = _tiles.Tiles(dirs.chunks)
    dtype = _acc_dtype(tiles.shape)
    blocks = dirs.to_delayed()
    results = _tiles.compute_all([_tiles.task(_acc_pass1)(blocks[t], dtype) for t in tiles.tiles()])
    acc_per = np.concatenate([r[0] for r in results])
    kind = np.concatenate([r[1] for r in results])
    end = np.concatenate([r[2] + tiles.nodes(*t).start for t, r in zip(tiles.tiles(), results)])
    codes = np.concatenate([r[3] for r in results])
    del results
    receiver = tiles.receivers(codes)
    next_exit = np.where(kind == 1, end, -1)
    is_exit = receiver >= 0
    inflow = tk.solve_accumulation_links(is_exit, acc_per, np.maximum(receiver, 0), next_exit,
                                         np.zeros(1, dtype))

    args = {t: (inflow[tiles.nodes(*t)],) for t in tiles.tiles()}
    return _tiles.tile_map(_acc_pass2, [dirs], args, chunks=dirs.chunks, dtype=dtype)


def _acc_pass2(block, inflow):
    """Flow counts of a tile with the inflow from other tiles added at its perimeter."""
    out = np.empty(block.shape, inflow.dtype)
    tk.accumulate_tile(np.ascontiguousarray(block), inflow, out)
    return out
