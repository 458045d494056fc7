"""D8 flow directions with flat resolution, in memory and tiled on dask.

Dask adapter: local directions need a one-cell halo, which is made of the neighbouring tiles'
perimeter cells: those are read once and handed to every task as a plain argument. Flat cells
drain along shortest 8-connected paths to their flat's outlets; the tiles compute those distances by breadth-first
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


def _conditioned_dask(z, conditioned: bool):
    """``z``, or its filled surface persisted: the flat rounds read it several times, and a lazy
    one would be filled again each time (4 bytes a cell of float32 in the workers' memory)."""
    return z if conditioned else _fill_dask(z).persist()


def _dask_directions(z, conditioned: bool, d8):
    """D8 codes of a dask DEM: the given ``d8`` (checked like in memory), or computed and
    persisted (a caller reads them twice; 1 byte a cell in the workers' memory)."""
    if d8 is None:
        return _d8_dask(_conditioned_dask(z, conditioned)).persist()
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
        dirs = _d8_dask(_conditioned_dask(z, conditioned))
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

def _flat_state(core, er, ec, ring_z):
    return tk.flat_perimeter_state(tk.with_halo(np.ascontiguousarray(core), er, ec, ring_z))


def _flat_round(core, er, ec, ring_z, rr, rc, ring, local):
    return tk.flat_round_tile(tk.with_halo(np.ascontiguousarray(core), er, ec, ring_z), rr, rc, ring, local)


def _flat_final(core, er, ec, ring_z, ring):
    return tk.flat_final_tile(tk.with_halo(np.ascontiguousarray(core), er, ec, ring_z), er, ec, ring)


def _d8_dask(z):
    """Lazy D8 codes of the conditioned float dask array ``z``.

    Every tile's perimeter heights are read first: they are the other tiles' halos, handed to
    each task as a plain argument. Round 0 reads each tile's perimeter state (nodata, flat or
    draining). Every node (perimeter cell) then has a distance to its flat's outlets: 0 when it
    drains, INF_DIST for nodata or a flat cell not reached yet. The tiles with flat perimeter
    cells search the flats on their edge once from their own outlets, then again from the halo
    cells whose distance dropped, until none drops; the lazy last pass computes every tile's
    codes once.
    """
    tiles = _tiles.Tiles(z.chunks)
    blocks = z.to_delayed()
    zper = _tiles.perimeter_values(z, tiles)
    halo = {t: tiles.halo(*t, zper, np.nan) for t in tiles.tiles()}
    del zper
    state = np.concatenate(_tiles.compute_all(
        [_tiles.task(_flat_state)(blocks[t], *halo[t]) for t in tiles.tiles()]))
    flat = state == tk.FLAT
    dist = np.where(flat | (state == 255), tk.INF_DIST, 0).astype(np.int32)
    rings = {t: tiles.ring_nodes(*t) for t in tiles.tiles()}

    def ring_values(t):
        nodes = rings[t][2]
        return np.where(nodes >= 0, dist[np.maximum(nodes, 0)], tk.INF_DIST).astype(np.int32)

    flat_tiles = [t for t in tiles.tiles() if flat[tiles.nodes(*t)].any()]
    used = {t: ring_values(t) for t in flat_tiles}
    tasks = {t: (rings[t][0], rings[t][1], used[t], True) for t in flat_tiles}
    bar = _tiles.progress(desc="flat rounds", unit="round")
    while tasks:
        results = _tiles.compute_all([_tiles.task(_flat_round)(blocks[t], *halo[t], *a)
                                      for t, a in tasks.items()])
        for t, per in zip(tasks, results):
            sl = tiles.nodes(*t)
            dist[sl] = np.where(flat[sl], np.minimum(dist[sl], per), dist[sl])
        bar.update(1)
        tasks = {}
        for t in flat_tiles:
            new = ring_values(t)
            dropped = new < used[t]
            if dropped.any():
                tasks[t] = (rings[t][0][dropped], rings[t][1][dropped], new[dropped], False)
                used[t] = new
    bar.close()
    args = {t: (*halo[t], ring_values(t)) for t in tiles.tiles()}
    return _tiles.tile_map(_flat_final, [z], args, chunks=z.chunks, dtype=np.uint8)
