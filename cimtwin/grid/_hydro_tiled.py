"""Hydrology on dask-backed DEMs, tile by tile, identical to the in-memory results.

Each operation runs a first pass over the tiles (one task per chunk) that returns only
what concerns the tile perimeters, solves a small global problem on those perimeter cells
in the client, and returns a lazy second pass that computes each tile's cells from its own
chunk and the perimeter solution (docs/scale.md):

* fill: labelled Priority-Flood per tile, spill graph between the labels and across tile
  edges, minimax levels from the outlets (Barnes 2016), then each tile is filled again with
  its perimeter held at the global levels;
* D8: local directions with a one-cell halo; flats crossing tile edges get their distances
  to the outlets by tile searches repeated until the perimeter distances stop changing;
* accumulation and HAND: tile pass, perimeter links (exit cell -> receiving cell) solved as
  a DAG, tile pass with the inflow / the reference heights from beyond the tile (Barnes 2017).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import NodataError, ValidationError
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels import hydro as hk
from cimtwin.kernels import hydro_tiled as tk

_NODE_ARRAYS: dict = {}


# -- input --------------------------------------------------------------------------------

def prepare_dem(obj: Any, *, arg: str = "dem", nodata: float | None = None):
    """(float dask array with NaN holes, template DataArray); the same checks as in memory."""
    import dask.array as da

    if obj.ndim != 2:
        raise ValidationError(f"`{arg}` must be 2-D (y, x); got dims {obj.dims}.")
    if "x" in obj.coords and "y" in obj.coords:
        GridSpec.from_dataarray(obj)  # non-north-up grids fail here, as in memory
    z = obj.data
    if not np.issubdtype(z.dtype, np.number) or np.issubdtype(z.dtype, np.complexfloating):
        raise ValidationError(f"`{arg}` must hold real numbers; got dtype {z.dtype}.")
    if z.dtype not in (np.float32, np.float64):
        z = z.astype(np.float64)
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


def _ext(arr, fill):
    """Blocks with a one-cell halo from the neighbouring chunks (``fill`` beyond the grid)."""
    import dask.array as da

    return da.overlap.overlap(arr, depth={0: 1, 1: 1}, boundary={0: fill, 1: fill})


def _compute(tasks):
    import dask

    return dask.compute(*tasks) if tasks else ()


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


def _location(block_info):
    return block_info[None]["chunk-location"]


# -- fill ---------------------------------------------------------------------------------

def _fill_pass1(ext, t, node_start, ocean):
    local, ea, eb, ew = tk.fill_tile_labels(np.ascontiguousarray(ext))
    del local
    h, w = ext.shape[0] - 2, ext.shape[1] - 2
    pr, pc = tk.perimeter_cells(h, w)
    zper = ext[1:-1, 1:-1][pr, pc].astype(np.float64)
    a = np.where(ea == tk.OCEAN, ocean, ea + node_start)
    b = np.where(eb == tk.OCEAN, ocean, eb + node_start)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    if lo.size:
        key = lo * (ocean + 1) + hi
        order = np.lexsort((ew, key))
        key, ew = key[order], ew[order]
        first = np.ones(key.size, bool)
        first[1:] = key[1:] != key[:-1]
        key, ew = key[first], ew[first]  # lowest spill per label pair
        lo, hi = key // (ocean + 1), key % (ocean + 1)
    any_valid = bool(np.isfinite(ext[1:-1, 1:-1]).any())
    return zper, lo, hi, ew, any_valid


def _spill_levels(tiles: Tiles, results) -> np.ndarray:
    """Global fill height of every perimeter cell (node), from the tiles' first passes."""
    N = tiles.n_nodes
    zper = np.concatenate([r[0] for r in results]) if results else np.empty(0)
    a = [r[1] for r in results]
    b = [r[2] for r in results]
    wt = [r[3] for r in results]
    # links across tile edges: each perimeter cell to its neighbours in other tiles
    R, C, ti, tj = tiles.node_rc()
    src = np.arange(N, dtype=np.int64)
    for k in range(4):  # E, SE, S, SW; the other half is the same pairs reversed
        R2, C2 = R + hk.DR[k], C + hk.DC[k]
        other = ((R2 < tiles.row_off[ti]) | (R2 >= tiles.row_off[ti + 1])
                 | (C2 < tiles.col_off[tj]) | (C2 >= tiles.col_off[tj + 1]))
        q = np.full(N, -1, np.int64)
        q[other] = tiles.node_of(R2[other], C2[other])
        ok = q >= 0
        ok[ok] &= np.isfinite(zper[src[ok]]) & np.isfinite(zper[q[ok]])
        a.append(src[ok])
        b.append(q[ok])
        wt.append(np.maximum(zper[src[ok]], zper[q[ok]]))
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


def fill(z, *, progress: bool = False):
    """Lazy filled surface of the float dask array ``z`` (NaN holes)."""
    import dask

    tiles = Tiles(z.chunks)
    ext = _ext(z, np.nan)
    ocean = tiles.n_nodes
    blocks = ext.to_delayed()
    tasks = [dask.delayed(_fill_pass1)(blocks[i, j], i * tiles.nc + j, tiles.nodes(i, j).start, ocean)
             for i, j in tiles.tiles()]
    results = _compute(tasks)
    if not any(r[4] for r in results):
        raise NodataError("`dem` has no valid cells (all NaN or equal to nodata).")
    levels = _spill_levels(tiles, results).astype(z.dtype)
    del results

    def second_pass(block, block_info=None):
        i, j = _location(block_info)
        h, w = block.shape
        core = np.array(block, dtype=z.dtype, order="C")
        pr, pc = tk.perimeter_cells(h, w)
        core[pr, pc] = levels[tiles.nodes(i, j)]
        return hk.priority_flood_fill(core, np.isfinite(core), False)

    return z.map_blocks(second_pass, dtype=z.dtype)


# -- D8 -----------------------------------------------------------------------------------

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


def d8(z, *, progress: bool = False):
    """Lazy D8 codes of the conditioned float dask array ``z``."""
    import dask

    tiles = Tiles(z.chunks)
    d0 = z.map_overlap(_d8_local_block, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan}, trim=False,
                       chunks=z.chunks, dtype=np.uint8)
    extz = _ext(z, np.nan)
    extd = _ext(d0, 255)
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
        for t, (per, has_flat) in zip(active, _compute(tasks)):
            used[t] = vals[t]
            if has_flat:
                flat_tiles.add(t)
                dist_all[tiles.nodes(*t)] = per
        active = [t for t in sorted(flat_tiles) if not np.array_equal(ring_values(t), used[t])]

    final_rings = {t: ring_values(t) for t in flat_tiles}

    def directions(ez, ed, block_info=None):
        t = tuple(_location(block_info))
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


# -- accumulation -------------------------------------------------------------------------

def acc_dtype(shape) -> type:
    return np.uint32 if shape[0] * shape[1] < 2**32 else np.uint64


def _acc_pass1(dirs, dtype):
    dirs = np.ascontiguousarray(dirs)
    h, w = dirs.shape
    pr, pc = tk.perimeter_cells(h, w)
    acc = np.empty((h, w), dtype)
    tk.accumulate_tile(dirs, np.zeros(pr.size, dtype), acc)
    kind, end = tk.trace_perimeter(dirs, np.zeros((1, 1), np.bool_), False)
    return acc[pr, pc], kind, end, dirs[pr, pc]


def accumulation(dirs, *, progress: bool = False):
    """Lazy flow counts from the dask array of D8 codes ``dirs``."""
    import dask

    tiles = Tiles(dirs.chunks)
    dtype = acc_dtype(tiles.shape)
    blocks = dirs.to_delayed()
    results = _compute([dask.delayed(_acc_pass1)(blocks[t], dtype) for t in tiles.tiles()])
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

    def second_pass(block, block_info=None):
        i, j = _location(block_info)
        out = np.empty(block.shape, dtype)
        tk.accumulate_tile(np.ascontiguousarray(block), inflow[tiles.nodes(i, j)], out)
        return out

    return dirs.map_blocks(second_pass, dtype=dtype)


# -- HAND ---------------------------------------------------------------------------------

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


def hand(z, dirs, acc, threshold: int, *, progress: bool = False):
    """Lazy HAND from dask arrays of the conditioned DEM, its D8 codes and flow counts."""
    import dask
    import dask.array as da

    tiles = Tiles(dirs.chunks)
    z = z.rechunk(dirs.chunks)
    acc = acc.rechunk(dirs.chunks)
    zb, db, ab = z.to_delayed(), dirs.to_delayed(), acc.to_delayed()
    tasks = [dask.delayed(_hand_pass1)(zb[t], db[t], ab[t], threshold) for t in tiles.tiles()]
    results = _compute(tasks)
    kind = np.concatenate([r[0] for r in results])
    end_node = np.concatenate([np.where(r[0] == 1, r[1] + tiles.nodes(*t).start, -1)
                               for t, r in zip(tiles.tiles(), results)])
    value = np.concatenate([r[2] for r in results])
    codes = np.concatenate([r[3] for r in results])
    del results
    receiver = tiles.receivers(codes)
    ref = tk.solve_hand_links(kind, value, end_node, np.maximum(receiver, 0))
    exit_ref = np.where(receiver >= 0, ref[np.maximum(receiver, 0)], np.nan)

    def second_pass(zb, db, ab, block_info=None):
        i, j = _location(block_info)
        streams = np.ascontiguousarray(ab >= threshold)
        return tk.hand_tile(np.ascontiguousarray(zb), np.ascontiguousarray(db), streams,
                            exit_ref[tiles.nodes(i, j)])

    return da.map_blocks(second_pass, z, dirs, acc, dtype=z.dtype)
