"""Height Above Nearest Drainage (HAND), in memory and tiled on dask.

Dask adapter: directions and accumulation come from the tiled adapters of
:mod:`cimtwin.grid.flowdir` and :mod:`cimtwin.grid.accumulation`; the same perimeter links as
accumulation carry the stream height found beyond a tile back to the cells whose D8 path
leaves it, and a lazy second pass gives every cell its height above that stream cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import GridAlignmentError, ValidationError
from cimtwin.grid import _tiles
from cimtwin.grid._array import as_grid, is_dask_dataarray, wrap_like
from cimtwin.grid._dem import dask_like, prepare_dem
from cimtwin.grid.accumulation import _accumulation_dask
from cimtwin.grid.flowdir import _conditioned_dask, _dask_directions, _directions
from cimtwin.kernels import hydro_tiled as tk
from cimtwin.kernels._dispatch import select

__all__ = ["hand"]


def hand(dem: Any, *, stream_threshold_cells: int = 1000, conditioned: bool = False,
         nodata: float | None = None, d8: Any = None, accumulation: Any = None, backend: str = "auto"):
    """Height Above Nearest Drainage (m) along D8 flow paths.

    Streams are cells whose flow accumulation is at least ``stream_threshold_cells``. Each
    cell's HAND is its conditioned elevation minus that of the first stream cell on its D8
    path (so HAND >= 0 and is 0 on streams). Cells whose path leaves the grid without meeting
    a stream are NaN, as are holes. ``d8`` reuses directions from :func:`flow_direction_d8`
    (with ``conditioned=True`` and the filled DEM, nothing is recomputed but accumulation);
    ``accumulation`` (from :func:`flow_accumulation` with the same ``d8``) also skips that.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import hand
    >>> hand(np.array([[3, 2, 1]], dtype="f4"), stream_threshold_cells=2)
    array([[1., 0., 0.]], dtype=float32)
    """
    if isinstance(stream_threshold_cells, bool) or int(stream_threshold_cells) != stream_threshold_cells \
            or stream_threshold_cells < 1:
        raise ValidationError(
            f"`stream_threshold_cells` must be a positive integer; got {stream_threshold_cells!r}.")
    if is_dask_dataarray(dem):
        z, template = _tiles.prepare_dem(dem, nodata=nodata)
        zz = _conditioned_dask(z, conditioned)
        dirs = _dask_directions(zz, True, d8)
        if accumulation is not None:
            if d8 is None:
                raise ValidationError("`accumulation` must come with the `d8` it was computed from; pass both.")
            acc = dask_like(accumulation, z, arg="accumulation")
        else:
            acc = _accumulation_dask(dirs).persist()  # both HAND passes read it
        out = _hand_dask(zz, dirs, acc, int(stream_threshold_cells))
        return _tiles.wrap(out, template, name="hand", units="m",
                          attrs={"cimtwin_op": "hand", "stream_threshold_cells": int(stream_threshold_cells)})
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    zz, dirs = _directions(z, valid, conditioned, backend, d8)
    if accumulation is not None:
        if d8 is None:
            raise ValidationError("`accumulation` must come with the `d8` it was computed from; pass both.")
        acc = as_grid(accumulation, arg="accumulation").values
        if acc.shape != z.shape:
            raise GridAlignmentError(f"`accumulation` has shape {acc.shape} but the DEM has {z.shape}.")
    else:
        acc_kernel, _ = select("flow_accumulation", backend)
        acc = acc_kernel(dirs, np.uint32 if z.size < 2**32 else np.uint64)
    streams = acc >= int(stream_threshold_cells)
    del acc
    hand_kernel, _ = select("hand", backend)
    out = hand_kernel(zz, dirs, streams)
    return wrap_like(inp, out, name="hand", units="m",
                     attrs={"cimtwin_op": "hand", "stream_threshold_cells": int(stream_threshold_cells)})


# -- tiled (dask) ---------------------------------------------------------------------

def _hand_pass1(z, dirs, acc, threshold):
    dirs = np.ascontiguousarray(dirs)
    h, w = dirs.shape
    pr, pc = tk.perimeter_cells(h, w)
    streams = np.ascontiguousarray(acc >= threshold)
    kind, end = tk.trace_perimeter(dirs, streams, True)
    value = np.full(kind.size, np.nan)
    hit = kind == 2
    value[hit] = z.ravel()[end[hit]]
    return kind, end, value, dirs[pr, pc]


def _hand_dask(z, dirs, acc, threshold: int):
    """Lazy HAND from dask arrays of the conditioned DEM, its D8 codes and flow counts."""
    tiles = _tiles.Tiles(dirs.chunks)
    z = z.rechunk(dirs.chunks)
    acc = acc.rechunk(dirs.chunks)
    zb, db, ab = z.to_delayed(), dirs.to_delayed(), acc.to_delayed()
    tasks = [_tiles.task(_hand_pass1)(zb[t], db[t], ab[t], threshold) for t in tiles.tiles()]
    results = _tiles.compute_all(tasks)
    kind = np.concatenate([r[0] for r in results])
    end_node = np.concatenate([np.where(r[0] == 1, r[1] + tiles.nodes(*t).start, -1)
                               for t, r in zip(tiles.tiles(), results)])
    value = np.concatenate([r[2] for r in results])
    codes = np.concatenate([r[3] for r in results])
    del results
    receiver = tiles.receivers(codes)
    ref = tk.solve_hand_links(kind, value, end_node, np.maximum(receiver, 0))
    exit_ref = np.where(receiver >= 0, ref[np.maximum(receiver, 0)], np.nan)

    args = {t: (threshold, exit_ref[tiles.nodes(*t)]) for t in tiles.tiles()}
    return _tiles.tile_map(_hand_pass2, [z, dirs, acc], args, chunks=dirs.chunks, dtype=z.dtype)


def _hand_pass2(zb, db, ab, threshold, exit_ref):
    """HAND of a tile; paths leaving it take the reference height found beyond it."""
    streams = np.ascontiguousarray(ab >= threshold)
    return tk.hand_tile(np.ascontiguousarray(zb), np.ascontiguousarray(db), streams, exit_ref)
