"""D8 flow directions with flat resolution, in memory and tiled on dask.

Dask adapter: local directions need a one-cell halo. Flat cells drain along shortest
8-connected paths to their flat's outlets; the tiles compute those distances by breadth-first
search seeded by their outlets and by the distances already known on their neighbours'
perimeters, and the tiles whose halo changed search again until no perimeter distance changes
(a flat crossing k tiles takes about k rounds). Unconditioned DEMs are filled tile-wise first
(:mod:`cimtwin.grid.fill`). The codes equal the in-memory ones cell for cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import ValidationError
from cimtwin.grid import _tiles
from cimtwin.grid._array import is_dask_dataarray, wrap_like
from cimtwin.grid._dem import D8_NODATA, check_d8, dask_like, prepare_dem
from cimtwin.grid.fill import _condition, _fill_dask
from cimtwin.kernels import hydro as hk
from cimtwin.kernels import hydro_tiled as tk
from cimtwin.kernels._dispatch import select

__all__ = ["flow_direction_d8", "resolve_flats"]


def _directions(z, valid, conditioned, backend, d8=None):
    zz = z if conditioned else _condition(z, valid, backend)
    if d8 is not None:
        return zz, check_d8(d8, z.shape)
    kernel, _ = select("flow_direction_d8", backend)
    dirs, _ = kernel(zz, valid, False)
    return zz, dirs


def _dask_directions(z, conditioned: bool, d8):
    """Lazy D8 codes of a dask DEM: the given ``d8`` (checked like in memory) or computed."""
    if d8 is None:
        return _d8_dask(z if conditioned else _fill_dask(z))
    dirs = dask_like(d8, z, arg="d8")
    if dirs.dtype != np.uint8:
        raise ValidationError(f"`d8` must be uint8 ESRI codes from flow_direction_d8; got dtype {dirs.dtype}.")
    return dirs


def flow_direction_d8(dem: Any, *, conditioned: bool = False, nodata: float | None = None,
                      backend: str = "auto"):
    """D8 steepest-descent flow direction (ESRI codes), flats resolved.

    The drop to a diagonal neighbour is divided by sqrt(2). Unless ``conditioned=True`` the
    DEM is first filled (:func:`fill_depressions`); flats then drain towards their outlets
    (:func:`resolve_flats`). Codes: 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE; 0 = drains
    off the grid or into a hole (or an unfilled pit); 255 = nodata.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import flow_direction_d8
    >>> flow_direction_d8(np.array([[3, 2, 1]], dtype="f4"))
    array([[1, 1, 0]], dtype=uint8)
    """
    if is_dask_dataarray(dem):
        z, template = _tiles.prepare_dem(dem, nodata=nodata)
        dirs = _d8_dask(z if conditioned else _fill_dask(z))
        return _tiles.wrap(dirs, template, name="d8", units="esri_d8_code",
                          attrs={"cimtwin_op": "flow_direction_d8", "nodata": D8_NODATA})
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    _, dirs = _directions(z, valid, conditioned, backend)
    return wrap_like(inp, dirs, name="d8", units="esri_d8_code",
                     attrs={"cimtwin_op": "flow_direction_d8", "nodata": D8_NODATA})


def resolve_flats(filled: Any, *, nodata: float | None = None, backend: str = "auto"):
    """Flat resolution: steps from each flat cell to its flat's outlet (0 off flats).

    Flats of a filled DEM (cells with no lower neighbour that are not on the edge) are
    drained by a breadth-first search from their outlets, the "towards lower" gradient of
    Garbrecht & Martz (1997) as organised by Barnes et al. (2014). ``filled + k * steps`` for a
    tiny ``k`` is a surface with a small gradient across every flat; :func:`flow_direction_d8`
    uses the same search. Flats without an outlet (pits of an unfilled DEM) stay 0.

    Returns
    -------
    Same kind as ``filled``: int32 step counts ("cells").

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import resolve_flats
    >>> resolve_flats(np.array([[3, 3, 3, 3, 3], [3, 1, 1, 1, 0], [3, 3, 3, 3, 3]], "f4"))[1]
    array([0, 2, 1, 0, 0], dtype=int32)
    """
    inp, z, valid = prepare_dem(filled, arg="filled", nodata=nodata)
    d8, _ = select("flow_direction_d8", backend)
    _, steps = d8(z, valid)
    return wrap_like(inp, steps, name="flat_steps", units="cells", attrs={"cimtwin_op": "resolve_flats"})


# -- tiled (dask) ---------------------------------------------------------------------

def _d8_local_block(ext):
    ext = np.ascontiguousarray(ext)
    valid = np.isfinite(ext)
    dirs = np.empty(ext.shape, np.uint8)
    unresolved = np.empty(ext.shape, np.bool_)
    hk._d8_local_serial(ext, valid, dirs, unresolved, max(1, 65536 // max(1, ext.shape[1])), bool(valid.all()))
    dirs[unresolved] = tk.FLAT
    return dirs[1:-1, 1:-1]


def _halo(shape, er, ec, values):
    halo = np.full(shape, tk.INF_DIST, np.int32)
    halo[er, ec] = values
    return halo


def _flat_round(extz, extd, er, ec, ring):
    extz = np.ascontiguousarray(extz)
    extd = np.ascontiguousarray(extd)
    h, w = extz.shape[0] - 2, extz.shape[1] - 2
    pr, pc = tk.perimeter_cells(h, w)
    flat_per = extd[1:-1, 1:-1][pr, pc] == tk.FLAT
    if not flat_per.any():
        return np.full(pr.size, tk.INF_DIST, np.int32), False
    dist = tk.flat_distances_tile(extz, extd, _halo(extz.shape, er, ec, ring))
    return dist[1:-1, 1:-1][pr, pc], True


def _d8_dask(z):
    """Lazy D8 codes of the conditioned float dask array ``z``."""
    import dask

    tiles = _tiles.Tiles(z.chunks)
    d0 = z.map_overlap(_d8_local_block, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan}, trim=False,
                       chunks=z.chunks, dtype=np.uint8)
    extz = _tiles.ext_blocks(z, np.nan)
    extd = _tiles.ext_blocks(d0, 255)
    dist_all = np.full(tiles.n_nodes, tk.INF_DIST, np.int32)
    rings = {t: tiles.ring_nodes(*t) for t in tiles.tiles()}

    def ring_values(t):
        nodes = rings[t][2]
        return np.where(nodes >= 0, dist_all[np.maximum(nodes, 0)], tk.INF_DIST).astype(np.int32)

    zblocks, dblocks = extz.to_delayed(), extd.to_delayed()
    active = tiles.tiles()
    used: dict = {}
    flat_tiles: set = set()
    while active:
        vals = {t: ring_values(t) for t in active}
        tasks = [dask.delayed(_flat_round)(zblocks[t], dblocks[t], rings[t][0], rings[t][1], vals[t])
                 for t in active]
        for t, (per, has_flat) in zip(active, _tiles.compute_all(tasks)):
            used[t] = vals[t]
            if has_flat:
                flat_tiles.add(t)
                dist_all[tiles.nodes(*t)] = per
        active = [t for t in sorted(flat_tiles) if not np.array_equal(ring_values(t), used[t])]

    final_rings = {t: ring_values(t) for t in flat_tiles}

    def directions(ez, ed, block_info=None):
        t = tuple(_tiles.location(block_info))
        ed = np.ascontiguousarray(ed)
        if t not in final_rings and not (ed[1:-1, 1:-1] == tk.FLAT).any():
            return ed[1:-1, 1:-1].copy()
        ez = np.ascontiguousarray(ez)
        ring = final_rings.get(t)
        er, ec, nodes = rings[t]
        if ring is None:
            ring = np.full(nodes.size, tk.INF_DIST, np.int32)
        dist = tk.flat_distances_tile(ez, ed, _halo(ez.shape, er, ec, ring))
        return tk.flat_directions_tile(ez, ed, dist)

    import dask.array as da

    return da.map_blocks(directions, extz, extd, chunks=z.chunks, dtype=np.uint8)
