"""Tiling helpers for the tiled (dask) hydrology: chunk layout, perimeter numbering, halos.

The tiled operations (:mod:`cimtwin.grid.fill`, :mod:`~cimtwin.grid.flowdir`,
:mod:`~cimtwin.grid.accumulation`, :mod:`~cimtwin.grid.drainage`) run a first pass over the
tiles (one task per chunk) that returns only what concerns the tile perimeters, solve a small
global problem on those perimeter cells in the client, and return a lazy second pass
(docs/scale.md). A perimeter cell of tile ``t`` is node ``node_offset[t] + pid`` of those
global problems (pid: raster-order number on the tile's outer ring). A tile's one-cell halo is
its neighbours' perimeter cells: read once (:func:`perimeter_values`) and handed to each task
as a plain argument (:meth:`Tiles.halo`), rather than copied between tiles by overlap tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import ValidationError
from cimtwin.grid._dem import dem_float
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels import hydro as hk
from cimtwin.kernels import hydro_tiled as tk


# -- input --------------------------------------------------------------------------------

def prepare_dem(obj: Any, *, arg: str = "dem", nodata: float | None = None):
    """(float dask array with NaN holes, template DataArray); the same checks as in memory."""
    import dask.array as da

    if obj.ndim != 2:
        raise ValidationError(f"`{arg}` must be 2-D (y, x); got dims {obj.dims}.")
    if "x" in obj.coords and "y" in obj.coords:
        GridSpec.from_dataarray(obj)  # non-north-up grids fail here, as in memory
    z = dem_float(obj.data, arg=arg)
    if nodata is not None:
        z = da.where(z == nodata, np.nan, z).astype(z.dtype)
    return z, obj


def wrap(data, template, *, name: str, units: str, attrs: dict):
    import xarray as xr

    out = xr.DataArray(data, dims=template.dims, coords=template.coords, name=name,
                       attrs={**attrs, "units": units})
    for key in ("crs", "res_m"):
        if key in template.attrs:
            out.attrs.setdefault(key, template.attrs[key])
    return out


def _perimeter_of(block):
    pr, pc = tk.perimeter_cells(*block.shape)
    return np.asarray(block)[pr, pc]


def perimeter_values(arr, tiles: Tiles) -> np.ndarray:
    """Every tile's perimeter cells of ``arr``, by node id (one small task per tile).

    The one-cell halo of a tile is made of its neighbours' perimeter cells, so these values
    give every halo (:meth:`Tiles.halo`) without overlap tasks that copy blocks between tiles.
    """
    blocks = arr.to_delayed()
    parts = compute_all([task(_perimeter_of)(blocks[t]) for t in tiles.tiles()])
    return np.concatenate(parts) if parts else np.empty(0, arr.dtype)


def task(fn):
    """``fn`` as a dask task whose key is random, not a hash of its arguments.

    Tile tasks carry numpy arrays (halos, slices of a global solve); hashing them is client
    time, serial while every worker waits (0.3 s of the 1e8 chain's fill, D8 and accumulation).
    Each task runs once, so no cache is lost.
    """
    import dask

    return dask.delayed(fn, pure=False)


def compute_all(tasks):
    import dask

    return dask.compute(*tasks) if tasks else ()


def tile_map(fn, sources, args: dict, *, chunks, dtype):
    """Lazy array whose tile ``(i, j)`` is ``fn(*(block (i, j) of each source), *args[i, j])``.

    ``args`` holds each tile's own small arrays (its slice of a global solve), so a task
    carries only its tile's share, not the whole solution (which a closure would ship to
    every task on a cluster). Task names are random, not hashes of the arguments: hashing every
    tile's arrays is client time that no worker thread can share.
    """
    import dask.array as da

    blocks = [src.to_delayed() for src in sources]
    call = task(fn)
    return da.block([[da.from_delayed(call(*(b[i, j] for b in blocks), *args[i, j]), (h, w), dtype=dtype)
                      for j, w in enumerate(chunks[1])] for i, h in enumerate(chunks[0])])


def balanced_chunks(shape: tuple[int, ...], target: int) -> tuple[tuple[int, ...], ...]:
    """Near-equal chunks of at most ``target`` cells a side along each axis.

    ``dem.chunk(target)`` leaves a thin remainder tile at the end of each axis (3163 cells in
    chunks of 1024: 1024, 1024, 1024, 91), so a pass of the tiled hydrology waits on whichever
    thread drew more full tiles; equal tiles (791 x 4) keep every thread busy to the end.

    Parameters
    ----------
    shape : tuple of int
        Grid shape, e.g. ``dem.shape``.
    target : int
        Largest chunk side (cells).

    Returns
    -------
    tuple of tuple of int
        Chunk sizes per axis, for ``dem.chunk(dict(zip(dem.dims, chunks)))``.

    Examples
    --------
    >>> from cimtwin.grid import balanced_chunks
    >>> balanced_chunks((3163, 2000), 1024)
    ((791, 791, 791, 790), (1000, 1000))
    """
    out = []
    for n in shape:
        k = max(1, -(-int(n) // max(1, int(target))))
        base, extra = divmod(int(n), k)
        out.append(tuple([base + 1] * extra + [base] * (k - extra)))
    return tuple(out)


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress(*, desc: str, unit: str, total: int | None = None):
    """A tqdm bar for the client-side loops (shown after 2 s; ``cimtwin.config.progress``)."""
    from cimtwin.config import config

    if not config.progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, delay=2.0, leave=False)


# -- tile bookkeeping ---------------------------------------------------------------------

class Tiles:
    """Chunk layout and the global numbering of the tiles' perimeter cells (graph nodes)."""

    def __init__(self, chunks):
        self.hs = np.asarray(chunks[0], dtype=np.int64)
        self.ws = np.asarray(chunks[1], dtype=np.int64)
        self.row_off = np.concatenate([[0], np.cumsum(self.hs)])
        self.col_off = np.concatenate([[0], np.cumsum(self.ws)])
        self.nr, self.nc = self.hs.size, self.ws.size
        self.shape = (int(self.row_off[-1]), int(self.col_off[-1]))
        counts = [tk.perimeter_count(int(h), int(w)) for h in self.hs for w in self.ws]
        self.node_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.n_nodes = int(self.node_off[-1])
        self._rc = None

    def tiles(self):
        return [(i, j) for i in range(self.nr) for j in range(self.nc)]

    def nodes(self, i: int, j: int) -> slice:
        t = i * self.nc + j
        return slice(int(self.node_off[t]), int(self.node_off[t + 1]))

    def node_rc(self):
        """Global (row, col) of every node, and its tile (i, j)."""
        if self._rc is None:
            rows, cols, ti, tj = [], [], [], []
            for i, j in self.tiles():
                r, c = tk.perimeter_cells(int(self.hs[i]), int(self.ws[j]))
                rows.append(r + self.row_off[i])
                cols.append(c + self.col_off[j])
                ti.append(np.full(r.size, i, np.int64))
                tj.append(np.full(r.size, j, np.int64))
            self._rc = tuple(np.concatenate(a) for a in (rows, cols, ti, tj))
        return self._rc

    def node_of(self, R, C):
        """Node id of global cells (R, C), which must be perimeter cells; -1 outside the grid."""
        R = np.asarray(R, np.int64)
        C = np.asarray(C, np.int64)
        inside = (R >= 0) & (C >= 0) & (R < self.shape[0]) & (C < self.shape[1])
        Rc = np.where(inside, R, 0)
        Cc = np.where(inside, C, 0)
        ti = np.searchsorted(self.row_off, Rc, side="right") - 1
        tj = np.searchsorted(self.col_off, Cc, side="right") - 1
        pid = tk.perimeter_index(Rc - self.row_off[ti], Cc - self.col_off[tj], self.hs[ti], self.ws[tj])
        return np.where(inside, self.node_off[ti * self.nc + tj] + pid, -1)

    def ring_nodes(self, i: int, j: int):
        """(ext rows, ext cols, node ids or -1) of the halo ring around tile (i, j)."""
        h, w = int(self.hs[i]), int(self.ws[j])
        er = np.concatenate([np.zeros(w + 2, np.int64), np.full(w + 2, h + 1, np.int64),
                             np.arange(1, h + 1), np.arange(1, h + 1)])
        ec = np.concatenate([np.arange(w + 2), np.arange(w + 2), np.zeros(h, np.int64),
                             np.full(h, w + 1, np.int64)])
        nodes = self.node_of(er - 1 + self.row_off[i], ec - 1 + self.col_off[j])
        return er, ec, nodes

    def halo(self, i: int, j: int, per_values: np.ndarray, fill):
        """(ext rows, ext cols, values) of the halo ring of tile (i, j): its neighbours'
        perimeter values from ``per_values`` (by node), ``fill`` beyond the grid."""
        er, ec, nodes = self.ring_nodes(i, j)
        vals = per_values[np.maximum(nodes, 0)]
        vals[nodes < 0] = fill
        return er, ec, vals

    def receivers(self, codes):
        """Node each perimeter node drains into when its D8 code leaves its tile, else -1."""
        R, C, ti, tj = self.node_rc()
        codes = np.asarray(codes, np.uint8)
        k = np.full(codes.size, -1, np.int64)
        for kk in range(8):
            k[codes == hk.CODES[kk]] = kk
        moving = k >= 0
        R2 = R + np.where(moving, hk.DR[np.maximum(k, 0)], 0)
        C2 = C + np.where(moving, hk.DC[np.maximum(k, 0)], 0)
        leaves = moving & ((R2 < self.row_off[ti]) | (R2 >= self.row_off[ti + 1])
                           | (C2 < self.col_off[tj]) | (C2 >= self.col_off[tj + 1]))
        out = np.full(codes.size, -1, np.int64)
        out[leaves] = self.node_of(R2[leaves], C2[leaves])
        return out
