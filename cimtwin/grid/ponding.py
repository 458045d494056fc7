"""Ponding of runoff in depressions (Fill-Spill-Merge), in memory and on a dask DEM.

On a dask-backed DEM the basins' runoff is summed tile by tile and each depression plateau
is ponded in memory on its own window (see ``_ponding_dask`` and docs/scale.md): memory
is bounded by the largest plateau's bounding box, not by the DEM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import CimtwinError, GridAlignmentError, ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray, resolve_res_m, wrap_like
from cimtwin.grid._dem import prepare_dem
from cimtwin.kernels._dispatch import select

__all__ = ["ponding_depth", "PondingResult", "PondingWindowError", "DEFAULT_MAX_WINDOW_CELLS"]

DEFAULT_MAX_WINDOW_CELLS = 50_000_000  # about 2.3 GiB of window arrays


@dataclass(frozen=True)
class PondingResult:
    """Ponded depth per cell and the water balance of :func:`ponding_depth`.

    ``runoff_volume_m3 == ponded_volume_m3 + outflow_volume_m3`` to floating tolerance.
    """

    depth_m: Any
    runoff_volume_m3: float
    ponded_volume_m3: float
    outflow_volume_m3: float


@requires_metres("dem", "runoff_mm")
def ponding_depth(dem: Any, runoff_mm: Any, *, res_m: float | None = None, nodata: float | None = None,
                  backend: str = "auto", filled: Any = None,
                  max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS) -> PondingResult:
    """Route a runoff depth over the DEM into its depressions (Fill-Spill-Merge).

    Runoff flows downslope to the pit of its basin; each depression stores water up to its
    spill level and passes the excess over its spill into the neighbouring depression;
    when both sides of a spill are full they fill together as one larger depression
    (Barnes, Callaghan & Wickert 2020). Water reaching the grid edge or a nodata hole
    leaves. The ponded depth never exceeds ``depression_depth(dem)`` and grows with rain.

    Parameters
    ----------
    dem : numpy.ndarray or xarray.DataArray
        Elevation (m), projected grid.
    runoff_mm : float or array of the DEM's shape
        Runoff depth (mm) generated on each cell, >= 0 (e.g. SCS-CN excess rain). NaN is
        allowed only on nodata cells.
    res_m : float, optional
        Cell size (m); taken from a DataArray's grid when omitted.
    filled : xarray.DataArray, optional
        Dask DEM only: the DEM's :func:`~cimtwin.grid.fill_depressions` result, to reuse it.
    max_window_cells : int
        Dask DEM only: the largest in-memory window (cells) a depression plateau may need
        (about 48 bytes a cell); a larger one raises :class:`PondingWindowError`.

    A dask-backed ``dem`` gives a lazy ``depth_m``, equal to the in-memory result (volumes
    to float rounding): the runoff reaching each depression pit is summed tile by tile
    along the drainage chains, and each plateau of the filled surface holding depressions
    (8-connected cells of one filled height) is ponded in memory on its bounding box plus
    one cell. Memory: one tile's arrays per task, the pits in depressions or on
    their plateaus (16 bytes each), the ponded cells (12 bytes each) and the largest plateau window.

    Returns
    -------
    PondingResult
        ``depth_m`` (same kind as ``dem``, float32 metres) and the volumes in m^3.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import ponding_depth
    >>> dem = np.array([[5, 5, 5], [5, 1, 5], [5, 4, 5]], dtype="f4")
    >>> res = ponding_depth(dem, 1000.0, res_m=1.0)   # 1 m of runoff on 9 cells of 1 m^2
    >>> float(res.depth_m[1, 1]), res.ponded_volume_m3, res.outflow_volume_m3
    (1.0, 1.0, 8.0)
    """
    if is_dask_dataarray(dem):
        return _ponding_dask(dem, runoff_mm, res_m=res_m, nodata=nodata, filled=filled,
                             max_window_cells=max_window_cells)
    inp, z, valid = prepare_dem(dem, nodata=nodata)
    res = resolve_res_m(inp, res_m)
    if np.ndim(runoff_mm) == 0:
        r = float(runoff_mm)
        if not np.isfinite(r) or r < 0:
            raise ValidationError(f"`runoff_mm` must be finite and >= 0; got {runoff_mm!r}.")
        runoff = r  # uniform: no full-grid array
    else:
        rin = as_grid(runoff_mm, arg="runoff_mm")
        if rin.values.shape != z.shape:
            raise GridAlignmentError(
                f"`runoff_mm` has shape {rin.values.shape} but the DEM has {z.shape}; give a scalar "
                "or a raster on the DEM's grid.")
        if inp.spec is not None and rin.spec is not None:
            inp.spec.require_aligned(rin.spec, what="runoff raster")
        rv = rin.values
        if not np.issubdtype(rv.dtype, np.floating):
            rv = rv.astype(np.float64)
        bad = valid & ~np.isfinite(rv)
        if bad.any():
            rr, cc = np.nonzero(bad)
            raise ValidationError(
                f"`runoff_mm` is NaN/inf on {bad.sum()} valid DEM cells (first at row {rr[0]}, col {cc[0]}); "
                "fill them (e.g. with 0) or mark those DEM cells as nodata.")
        del bad
        if (rv < 0).any() and (rv[valid] < 0).any():
            raise ValidationError("`runoff_mm` has negative values; runoff depths must be >= 0.")
        runoff = rv  # mm; the kernel reads valid cells only
    kernel, _ = select("ponding_fsm", backend)
    depth, runoff_v, ponded_v, outflow_v = kernel(z, valid, runoff, res * res)
    depth = depth.astype(np.float32, copy=False)
    depth[~valid] = np.nan
    attrs = {"cimtwin_op": "ponding_depth", "runoff_volume_m3": runoff_v,
             "ponded_volume_m3": ponded_v, "outflow_volume_m3": outflow_v}
    return PondingResult(wrap_like(inp, depth, name="ponding_depth", units="m", attrs=attrs),
                         runoff_v, ponded_v, outflow_v)


# -- tiled (dask) ------------------------------------------------------------------------
#
# Ponding happens only in depressions, and each depression tree (the nested depressions
# that merge as they overflow, up to the one that spills out of the grid) keeps its water
# to itself. A tree lies in one plateau of the filled surface: the 8-connected cells of
# equal filled height (its cells below the final spill, and the cells at that height that
# join its parts). Running Fill-Spill-Merge on a window that holds whole plateaus with a
# one-cell margin, every other cell taken as drained, rebuilds those trees exactly as on
# the whole DEM; the water each tree gets is the runoff of its pits' whole basins, summed
# tile by tile along the same drainage chains (they may reach far beyond the window).

_BYTES_PER_WINDOW_CELL = 48  # Fill-Spill-Merge arrays and the plateau labels, per window cell


class PondingWindowError(CimtwinError, MemoryError):
    """A depression plateau needs a larger in-memory window than the limit allows."""


def _global_index(er, ec, r0, c0, cols):
    return (er - 1 + r0) * cols + (ec - 1 + c0)


def _pit_pass1(ext, vol, fext, r0, c0, cols):
    """A tile's runoff by where it ends (pits of this tile, halo cells) and its perimeter's ends."""
    from cimtwin.kernels import ponding as pk

    ext = np.ascontiguousarray(ext)
    H, W = ext.shape
    term = pk.pit_terminals_tile(ext).reshape(H, W)
    core = term[1:-1, 1:-1]
    h, w = core.shape
    ends = core >= 0
    sums = np.bincount(core[ends], weights=np.asarray(vol, np.float64)[ends], minlength=H * W)
    where = np.flatnonzero(sums)
    er, ec = np.divmod(where, W)
    contrib = (_global_index(er, ec, r0, c0, cols), (er == 0) | (ec == 0) | (er == H - 1) | (ec == W - 1),
               sums[where])
    # perimeter cells of the core: the end of their chain (for chains entering from outside)
    ring = np.zeros((h, w), bool)
    ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = True
    pr, pc = np.nonzero(ring)
    t = core[pr, pc]
    ter, tec = np.divmod(np.maximum(t, 0), W)
    per = (_global_index(pr + 1, pc + 1, r0, c0, cols),
           np.where(t >= 0, _global_index(ter, tec, r0, c0, cols), -1),
           (t >= 0) & ((ter == 0) | (tec == 0) | (ter == H - 1) | (tec == W - 1)))
    # the pits that can hold water: in a depression (filled above the DEM) or at the level of
    # a depression's plateau (a neighbour of equal filled height); a pit anywhere else spills
    # at once
    flat = np.arange(H * W).reshape(H, W)[1:-1, 1:-1]
    fext = np.asarray(fext)
    fc = fext[1:-1, 1:-1]
    pit = (core == flat) & (fc > ext[1:-1, 1:-1])
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                pit |= (core == flat) & (fext[1 + dr:H - 1 + dr, 1 + dc:W - 1 + dc] == fc)
    pr, pc = np.nonzero(pit)
    return contrib, per, _global_index(pr + 1, pc + 1, r0, c0, cols)


def _pit_water(z, filled, vol):
    """(sorted pit ids, runoff volume m^3 reaching each): pits in depressions, whole basins."""
    import dask
    import dask.array as da

    rows, cols = z.shape
    ext = da.overlap.overlap(z, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan})
    fext = da.overlap.overlap(filled, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan})
    eb, vb, fb = ext.to_delayed(), vol.to_delayed(), fext.to_delayed()
    ro = np.concatenate([[0], np.cumsum(z.chunks[0])])
    co = np.concatenate([[0], np.cumsum(z.chunks[1])])
    tasks = [dask.delayed(_pit_pass1)(eb[i, j], vb[i, j], fb[i, j], int(ro[i]), int(co[j]), cols)
             for i in range(len(z.chunks[0])) for j in range(len(z.chunks[1]))]
    results = dask.compute(*tasks)
    # chains that cross tiles: a perimeter cell's end may be a halo cell, i.e. another tile's
    # perimeter cell; follow those links (pointer jumping) to a pit or out of the grid
    pid = np.concatenate([r[1][0] for r in results])
    order = np.argsort(pid)
    pid = pid[order]
    pend = np.concatenate([r[1][1] for r in results])[order]
    pexit = np.concatenate([r[1][2] for r in results])[order]
    while pexit.any():
        k = np.flatnonzero(pexit)
        pos = np.searchsorted(pid, pend[k])
        pend[k] = pend[pos]
        pexit[k] = pexit[pos]
    end = np.concatenate([r[0][0] for r in results])
    leaves = np.concatenate([r[0][1] for r in results])
    amount = np.concatenate([r[0][2] for r in results])
    end[leaves] = pend[np.searchsorted(pid, end[leaves])]
    pits = np.sort(np.concatenate([r[2] for r in results]))
    keep = np.isin(end, pits)
    water = np.zeros(pits.size)
    np.add.at(water, np.searchsorted(pits, end[keep]), amount[keep])
    return pits, water


def _window_ponding(z, f, kept, pits, water, r0, c0, cols, cell_area):
    """Fill-Spill-Merge on a window (ext coordinates, global offset of ext cell (1, 1) = r0, c0)."""
    from cimtwin.kernels import ponding as pk

    H, W = z.shape
    er, ec = np.nonzero(kept)
    g = _global_index(er, ec, r0, c0, cols)
    pos = np.minimum(np.searchsorted(pits, g), max(pits.size - 1, 0))
    pit_water = np.zeros((H, W))
    if pits.size:
        hit = pits[pos] == g
        pit_water[er[hit], ec[hit]] = water[pos[hit]]
    valid = np.isfinite(z)
    depth, ponded = pk.fill_spill_merge_window(np.ascontiguousarray(z), valid, ~kept, pit_water, cell_area)
    depth = depth.reshape(H, W)
    wet = kept & (depth > 0)
    er, ec = np.nonzero(wet)
    return _global_index(er, ec, r0, c0, cols), depth[wet], ponded


def _plateaus(z, f):
    """Plateau root per cell, and per root index: holds a depression cell, touches the border."""
    from cimtwin.kernels import ponding as pk

    H, W = f.shape
    root = pk.plateau_roots(np.ascontiguousarray(f)).reshape(H, W)
    has = root >= 0
    deep = np.zeros(H * W, bool)
    deep[root[has & (f > z)]] = True
    border = np.zeros((H, W), bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    touch = np.zeros(H * W, bool)
    touch[root[border & has]] = True
    return root, deep, touch


def _ponding_pass2(zext, fext, i, j, r0, c0, h, w, cols, pits, water, cell_area):
    """A tile's plateaus whose first cell lies in it: those within its halo are ponded here,
    the others (wider than the tile) are returned as seeds for windows in the client."""
    zext = np.asarray(zext)
    fext = np.asarray(fext)
    H, W = zext.shape
    root, deep, touch = _plateaus(zext, fext)
    rr, rc = np.divmod(np.arange(H * W), W)
    home = (rr >= 1) & (rr <= h) & (rc >= 1) & (rc <= w)
    has = root >= 0
    rootc = np.where(has, root, 0)
    # a piece not touching the halo's border is a whole plateau, and its root its first cell:
    # the tile holding that cell ponds it; every other deep piece becomes a seed for the
    # client (pieces of one plateau seen by several tiles are merged there)
    whole = deep & ~touch
    mine = whole & home
    kept = has & mine[rootc].reshape(H, W)
    wide = np.flatnonzero((deep & touch) | (whole & ~home))
    seeds = _global_index(*np.divmod(wide, W), r0, c0, cols)
    done = _global_index(*np.divmod(np.flatnonzero(mine), W), r0, c0, cols)
    if kept.any():
        g, d, ponded = _window_ponding(zext, fext, kept, pits, water, r0, c0, cols, cell_area)
    else:
        g, d, ponded = np.empty(0, np.int64), np.empty(0, np.float32), 0.0
    return g, d, ponded, seeds, done


def _read_window(arr, R0, R1, C0, C1):
    """Rows R0:R1, cols C0:C1 of a dask array, NaN beyond the grid (a one-cell margin)."""
    rows, cols = arr.shape
    out = np.full((R1 - R0, C1 - C0), np.nan, dtype=arr.dtype)
    a, b, c, d = max(R0, 0), min(R1, rows), max(C0, 0), min(C1, cols)
    out[a - R0:b - R0, c - C0:d - C0] = np.asarray(arr[a:b, c:d].compute())
    return out


def _wide_plateaus(z, filled, seeds, done, pits, water, cell_area, step, max_cells):
    """Ponding of the plateaus wider than a tile, on windows grown until each is whole.

    ``done``: the first cells of the plateaus already ponded (by the tiles).
    """
    rows, cols = z.shape
    out_g, out_d, ponded = [], [], 0.0
    for seed in np.unique(seeds):
        if np.isin(seed, done):
            continue
        sr, sc = divmod(int(seed), cols)
        R0, R1, C0, C1 = sr - step, sr + step + 1, sc - step, sc + step + 1
        while True:
            R0, R1, C0, C1 = max(R0, -1), min(R1, rows + 1), max(C0, -1), min(C1, cols + 1)
            n = (R1 - R0) * (C1 - C0)
            if n > max_cells:
                raise PondingWindowError(
                    f"A depression plateau around row {sr}, col {sc} needs a window of more than {n:,} cells "
                    f"(about {n * _BYTES_PER_WINDOW_CELL / 2**30:.1f} GiB) in memory, over the limit of "
                    f"{max_cells:,} cells. Raise `max_window_cells=` if the memory is there, or run on a "
                    "coarser DEM (the window is the depression's bounding box).")
            zw = _read_window(z, R0, R1, C0, C1)
            fw = _read_window(filled, R0, R1, C0, C1)
            root, deep, touch = _plateaus(zw, fw)
            H, W = zw.shape
            local = (sr - R0) * W + (sc - C0)
            me = root.ravel()[local]
            if not touch[me]:
                break
            mine = root == me
            er = np.flatnonzero(mine.any(axis=1))
            ec = np.flatnonzero(mine.any(axis=0))
            grow_r0 = R0 - step if er[0] == 0 else R0
            grow_r1 = R1 + step if er[-1] == H - 1 else R1
            grow_c0 = C0 - step if ec[0] == 0 else C0
            grow_c1 = C1 + step if ec[-1] == W - 1 else C1
            R0, R1, C0, C1 = grow_r0, grow_r1, grow_c0, grow_c1
        # every whole deep plateau in the window that holds a pending seed is ponded here, once
        rs, cs = np.divmod(seeds, cols)
        inside = (rs > R0) & (rs < R1 - 1) & (cs > C0) & (cs < C1 - 1)
        cand = np.unique(root[rs[inside] - R0, cs[inside] - C0])
        cand = cand[(cand >= 0) & deep[np.maximum(cand, 0)] & ~touch[np.maximum(cand, 0)]]
        cand_g = _global_index(*np.divmod(cand, W), R0 + 1, C0 + 1, cols)
        fresh = ~np.isin(cand_g, done)
        cand, cand_g = cand[fresh], cand_g[fresh]
        done = np.concatenate([done, cand_g])
        kept = np.isin(root, cand)
        g, d, p = _window_ponding(zw, fw, kept, pits, water, R0 + 1, C0 + 1, cols, cell_area)
        out_g.append(g)
        out_d.append(d)
        ponded += p
        # seeds in the plateaus just ponded are done
        covered = inside.copy()
        covered[inside] = np.isin(root[rs[inside] - R0, cs[inside] - C0], cand)
        done = np.concatenate([done, seeds[covered]])
    return out_g, out_d, ponded


def _ponding_dask(dem, runoff_mm, *, res_m, nodata, filled, max_window_cells):
    import dask
    import dask.array as da

    from cimtwin.grid import _tiles
    from cimtwin.grid.fill import _fill_dask

    max_window_cells = int(max_window_cells)
    if max_window_cells < 9:
        raise ValidationError(f"`max_window_cells` must be at least 9; got {max_window_cells}.")
    z, template = _tiles.prepare_dem(dem, nodata=nodata)
    from cimtwin._validate import require_positive
    from cimtwin.grid.spec import GridSpec

    if res_m is not None:
        res = require_positive(res_m, arg="res_m")
    elif "x" in template.coords and "y" in template.coords:
        res = GridSpec.from_dataarray(template).res_m
    else:
        raise ValidationError("`res_m` is required for a DEM without x/y coordinates (the cell size in metres).")
    cell_area = res * res
    valid = da.isfinite(z)
    if np.ndim(runoff_mm) == 0:
        r = float(runoff_mm)
        if not np.isfinite(r) or r < 0:
            raise ValidationError(f"`runoff_mm` must be finite and >= 0; got {runoff_mm!r}.")
        vol = da.where(valid, (r / 1000.0) * cell_area, 0.0)
    else:
        if tuple(runoff_mm.shape) != tuple(z.shape):
            raise GridAlignmentError(
                f"`runoff_mm` has shape {tuple(runoff_mm.shape)} but the DEM has {tuple(z.shape)}; give a scalar "
                "or a raster on the DEM's grid.")
        rv = da.asarray(getattr(runoff_mm, "data", runoff_mm)).rechunk(z.chunks)
        if not np.issubdtype(rv.dtype, np.floating):
            rv = rv.astype(np.float64)
        bad, neg = dask.compute((valid & ~da.isfinite(rv)).sum(), (valid & (rv < 0)).sum())
        if bad:
            raise ValidationError(
                f"`runoff_mm` is NaN/inf on {int(bad)} valid DEM cells; fill them (e.g. with 0) or mark those "
                "DEM cells as nodata.")
        if neg:
            raise ValidationError("`runoff_mm` has negative values; runoff depths must be >= 0.")
        vol = da.where(valid, (rv.astype(np.float64) / 1000.0) * cell_area, 0.0)
    f = _fill_dask(z) if filled is None else da.asarray(getattr(filled, "data", filled)).rechunk(z.chunks)
    rows, cols = z.shape
    pits, water = _pit_water(z, f, vol)
    zext = da.overlap.overlap(z, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan}).to_delayed()
    fext = da.overlap.overlap(f, depth={0: 1, 1: 1}, boundary={0: np.nan, 1: np.nan}).to_delayed()
    ro = np.concatenate([[0], np.cumsum(z.chunks[0])])
    co = np.concatenate([[0], np.cumsum(z.chunks[1])])
    biggest = (max(z.chunks[0]) + 2) * (max(z.chunks[1]) + 2)
    if biggest > max_window_cells:
        raise PondingWindowError(
            f"The dem's chunks need windows of {biggest:,} cells, over `max_window_cells` = {max_window_cells:,}; "
            "use smaller chunks or raise the limit.")
    dp, dw = dask.delayed(pits), dask.delayed(water)
    tasks = [dask.delayed(_ponding_pass2)(zext[i, j], fext[i, j], i, j, int(ro[i]), int(co[j]), int(z.chunks[0][i]),
                                          int(z.chunks[1][j]), cols, dp, dw, cell_area)
             for i in range(len(z.chunks[0])) for j in range(len(z.chunks[1]))]
    results = dask.compute(*tasks)
    out_g = [r[0] for r in results]
    out_d = [r[1] for r in results]
    ponded = float(sum(r[2] for r in results))
    seeds = np.concatenate([r[3] for r in results])
    done = np.concatenate([r[4] for r in results])
    del results
    if seeds.size:
        step = max(max(z.chunks[0]), max(z.chunks[1]))
        g2, d2, p2 = _wide_plateaus(z, f, seeds, done, pits, water, cell_area, step, max_window_cells)
        out_g += g2
        out_d += d2
        ponded += p2
    g = np.concatenate(out_g) if out_g else np.empty(0, np.int64)
    d = np.concatenate(out_d).astype(np.float32) if out_d else np.empty(0, np.float32)
    order = np.argsort(g)
    g, d = g[order], d[order]
    runoff_v = float(vol.sum().compute())
    outflow_v = runoff_v - ponded

    def place(block, block_info=None):
        (a, b), (c, e) = block_info[0]["array-location"]
        lo, hi = np.searchsorted(g, [a * cols, b * cols])
        gr, gc = np.divmod(g[lo:hi], cols)
        m = (gc >= c) & (gc < e)
        out = np.zeros(block.shape, np.float32)
        out[gr[m] - a, gc[m] - c] = d[lo:hi][m]
        out[~np.isfinite(block)] = np.nan
        return out

    depth = z.map_blocks(place, dtype=np.float32)
    attrs = {"cimtwin_op": "ponding_depth", "runoff_volume_m3": runoff_v,
             "ponded_volume_m3": ponded, "outflow_volume_m3": outflow_v}
    out = _tiles.wrap(depth, template, name="ponding_depth", units="m", attrs=attrs)
    return PondingResult(out, runoff_v, ponded, outflow_v)
