"""Dask-backed grids: the local grid functions run chunk by chunk, same answer as in memory.

Local functions need, for each output chunk, only a bounded neighbourhood:

============================  ===========================================================
function                      what each chunk needs
============================  ===========================================================
coverage count (disks,        the sources whose disk (radius R) reaches the chunk; no input
sectors)                      raster, so a chunk is computed from the global source list
IDW                           the gauges within the search radius of the chunk (all gauges
                              without a radius: still cell-local, every chunk gets them all)
distance up to a maximum D    the mask within ``ceil(D)`` cells (``map_overlap``)
viewshed / cumulative         the DEM within ``ceil(range) + 1`` cells (exact) or
viewshed, range-limited       ``2 * floor(range) + 1`` (r2, whose rays go to the border of
                              the observer's window); observers are passed with global
                              positions and every chunk counts only its own cells
zonal statistics              ``map_blocks``-style partial count/sum/min/max per chunk,
                              combined in chunk order
============================  ===========================================================

Global functions — depression filling, flow direction and accumulation, HAND, ponding and
distance *without* a maximum — depend on cells arbitrarily far away. They are not tiled here:
given a dask-backed DataArray they raise an error asking for ``.compute()`` first (a DEM
that fits in memory), rather than silently materializing it. A tiled Priority-Flood
(Barnes 2016) would lift that limit for fill and accumulation; it is not implemented.

The public functions of :mod:`cimtwin.grid` (``distance``, ``idw``, ``viewshed``,
``cumulative_viewshed``, ``zonal_stats``) send dask-backed DataArrays here, so the same call
works in memory and chunked; coverage counts, whose input is a list of sources rather than a
raster, are chunked with :func:`coverage_count` / :func:`coverage_count_points` below.
Results stay lazy (dask-backed DataArrays) except zonal statistics (a small DataFrame).
The backend (``"auto"`` → CUDA when present) is resolved once on the client and recorded in
``attrs["backend"]``; every task runs that backend.

Floating-point note: a chunk sees positions shifted by its integer origin. For integer (or
half-integer) source positions that is exact and the counts are identical; for arbitrary
fractional positions a cell whose distance equals the radius to the last bit could round the
other way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.grid._array import is_dask_dataarray
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels._dispatch import resolve_backend, select

__all__ = [
    "coverage_count",
    "coverage_count_points",
    "idw",
    "distance",
    "viewshed",
    "cumulative_viewshed",
    "zonal_stats",
    "require_in_memory",
]


def require_in_memory(obj: Any, *, arg: str, function: str) -> None:
    """Raise for a dask-backed input of a function that needs the whole array in memory."""
    if is_dask_dataarray(obj):
        raise InputTypeError(
            f"`{arg}` of {function}() is a dask-backed DataArray, but {function} is a global "
            "computation (a result can depend on cells anywhere in the grid), so it is not run "
            f"chunk by chunk. Load the array first with `{arg}.compute()` (it must fit in memory); "
            "see docs/scale.md for the functions that do run on dask."
        )


# -- helpers ------------------------------------------------------------------------------

def _offsets(chunks: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


def _normalize_chunks(chunks: Any, shape: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    import dask.array as da

    if chunks is None:
        raise ValidationError("`chunks` is required for a chunked grid, e.g. chunks=4096 or (2048, 4096).")
    return da.core.normalize_chunks(chunks, shape, dtype=np.float64)


def _chunks_at_least(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Merge chunks smaller than ``depth`` into a neighbour (map_overlap needs chunk >= depth)."""
    out: list[int] = []
    for c in chunks:
        if out and out[-1] < depth:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < depth:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _ensure_depth(arr, depth: int):
    new = tuple(_chunks_at_least(c, depth) for c in arr.chunks)
    return arr if new == arr.chunks else arr.rechunk(new)


def _lazy_dataarray(data, *, spec: GridSpec | None, template: Any, name: str, attrs: dict):
    """A DataArray around a dask array, with the template's coords or the grid's."""
    import xarray as xr

    if template is not None:
        out = xr.DataArray(data, dims=template.dims, coords=template.coords, name=name, attrs=dict(attrs))
        for key in ("crs", "res_m"):
            if key in template.attrs:
                out.attrs.setdefault(key, template.attrs[key])
        return out
    from cimtwin.grid.spec import _spatial_ref_attrs

    out = xr.DataArray(data, dims=("y", "x"), coords={"y": spec.y, "x": spec.x}, name=name, attrs=dict(attrs))
    if spec.crs is not None:
        out = out.assign_coords(spatial_ref=xr.DataArray(0, attrs=_spatial_ref_attrs(spec)))
        out.attrs.setdefault("crs", spec.crs.to_string())
    out.attrs.setdefault("res_m", float(spec.transform.a))
    return out


def _template_of(obj: Any, arg: str):
    """(dask array, GridSpec or None, template) of a dask-backed DataArray."""
    if not is_dask_dataarray(obj):
        raise InputTypeError(f"`{arg}` must be a dask-backed xarray DataArray (e.g. `da.chunk(...)`); "
                             f"got {type(obj).__name__}.")
    if obj.ndim != 2:
        raise ValidationError(f"`{arg}` must be 2-D (y, x); got dims {obj.dims}.")
    spec = GridSpec.from_dataarray(obj) if ("x" in obj.coords and "y" in obj.coords) else None
    return obj.data, spec, obj


def _block_origin(block_info, offsets_r, offsets_c):
    loc = block_info[None]["chunk-location"]
    return int(offsets_r[loc[0]]), int(offsets_c[loc[1]])


def _map_overlap_core(fn, arr, depth: int, dtype, **kwargs):
    """``map_overlap`` with ``boundary='none'``; ``fn(ext, r0, c0, er0, ec0, h, w)`` returns the core.

    (r0, c0): global origin of the core chunk; (er0, ec0): of the extended block; (h, w):
    core shape. The core is returned by ``fn``, so no trimming is needed.
    """
    arr = _ensure_depth(arr, depth)
    off_r, off_c = _offsets(arr.chunks[0]), _offsets(arr.chunks[1])

    def block(ext, block_info=None):
        i, j = block_info[None]["chunk-location"]
        r0, c0 = int(off_r[i]), int(off_c[j])
        h, w = arr.chunks[0][i], arr.chunks[1][j]
        er0, ec0 = max(0, r0 - depth), max(0, c0 - depth)
        return fn(ext, r0, c0, er0, ec0, h, w)

    if depth == 0:
        return arr.map_blocks(lambda b, block_info=None: block(b, block_info), dtype=dtype, **kwargs)
    return arr.map_overlap(block, depth=depth, boundary="none", trim=False, chunks=arr.chunks,
                           dtype=dtype, **kwargs)


# -- coverage -----------------------------------------------------------------------------

def coverage_count(shape: Any, rows: Any, cols: Any, radius_cells: Any, *, chunks: Any,
                   azimuth_deg: Any = None, hfov_deg: Any = None, backend: str = "auto",
                   method: str = "auto"):
    """Lazy (dask) :func:`cimtwin.grid.coverage_count`, one task per chunk of ``chunks``.

    Each chunk receives the sources whose disk reaches it (positions shifted to the chunk)
    and counts them with the in-memory function, so the grid is never materialized whole.

    Returns
    -------
    dask.array.Array of int32 with the given chunks.

    Examples
    --------
    >>> from cimtwin.grid.chunked import coverage_count
    >>> lazy = coverage_count((100, 100), [10, 50], [10, 50], 5, chunks=40)
    >>> int(lazy.sum().compute())
    162
    """
    import dask.array as da

    from cimtwin.grid.coverage import _as_vector, _shape
    from cimtwin.grid.coverage import coverage_count as count_in_memory

    nrows, ncols = _shape(shape)
    r = np.asarray(rows, dtype="float64").ravel()
    c = np.asarray(cols, dtype="float64").ravel()
    if r.shape != c.shape:
        raise ValidationError(f"`rows` and `cols` must have the same length; got {r.shape[0]} and {c.shape[0]}.")
    n = r.shape[0]
    radius = _as_vector(radius_cells, n, arg="radius_cells")
    az = None if azimuth_deg is None else _as_vector(azimuth_deg, n, arg="azimuth_deg")
    hf = None if hfov_deg is None else _as_vector(hfov_deg, n, arg="hfov_deg")
    used = resolve_backend(backend)
    # validate once on the whole input (cheap: no grid), so bad input fails before any task runs
    count_in_memory((1, 1), r, c, radius, azimuth_deg=az, hfov_deg=hf, backend=used, method=method)
    rchunks, cchunks = _normalize_chunks(chunks, (nrows, ncols))
    off_r, off_c = _offsets(rchunks), _offsets(cchunks)

    def block(block_info=None):
        i, j = block_info[None]["chunk-location"]
        r0, r1 = off_r[i], off_r[i + 1]
        c0, c1 = off_c[j], off_c[j + 1]
        near = (r + radius >= r0) & (r - radius <= r1 - 1) & (c + radius >= c0) & (c - radius <= c1 - 1)
        sel = np.flatnonzero(near)
        return count_in_memory((r1 - r0, c1 - c0), r[sel] - r0, c[sel] - c0, radius[sel],
                               azimuth_deg=None if az is None else az[sel],
                               hfov_deg=None if hf is None else hf[sel], backend=used, method=method)

    return da.map_blocks(block, chunks=(rchunks, cchunks), dtype=np.int32, meta=np.empty((0, 0), np.int32))


def coverage_count_points(spec: GridSpec, x: Any, y: Any, *, radius_m: Any, chunks: Any,
                          azimuth_deg: Any = None, hfov_deg: Any = None, backend: str = "auto"):
    """Lazy :func:`cimtwin.grid.coverage_count_points`: a dask-backed DataArray on ``spec``.

    Examples
    --------
    >>> from cimtwin.grid import GridSpec
    >>> from cimtwin.grid.chunked import coverage_count_points
    >>> spec = GridSpec.from_bounds((0, 0, 1000, 1000), res_m=10, crs="EPSG:4527")
    >>> cov = coverage_count_points(spec, [500], [500], radius_m=50, chunks=32)
    >>> int(cov.sum())
    81
    """
    if not isinstance(spec, GridSpec):
        raise ValidationError(f"`spec` must be a GridSpec; got {type(spec).__name__}.")
    res = spec.res_m
    r, c = spec.rowcol_float(np.asarray(x, dtype="float64").ravel(), np.asarray(y, dtype="float64").ravel())
    radius = np.asarray(radius_m, dtype="float64") / res
    _, used = select("coverage_count", backend)
    counts = coverage_count(spec.shape, r, c, radius, chunks=chunks, azimuth_deg=azimuth_deg,
                            hfov_deg=hfov_deg, backend=used)
    return _lazy_dataarray(counts, spec=spec, template=None, name="coverage_count",
                           attrs={"units": "count", "backend": used})


# -- IDW ----------------------------------------------------------------------------------

def idw(shape_or_spec: Any, x: Any, y: Any, values: Any, *, chunks: Any = None, power: float = 2.0,
        radius_m: float | None = None, k: int | None = None, res_m: float | None = None,
        nodata: float = math.nan, backend: str = "auto"):
    """Lazy :func:`cimtwin.grid.idw` on a chunked grid.

    ``shape_or_spec`` is a dask-backed DataArray template (its chunks are used), or a
    GridSpec / (rows, cols) with ``chunks``. Each chunk gets the gauges within the search
    radius of it (all gauges when there is none) with positions shifted to the chunk.

    Returns
    -------
    dask-backed DataArray (template or GridSpec) or dask array (plain shape), float32.
    """
    import dask.array as da

    from cimtwin.grid.interp import idw as idw_in_memory

    template = None
    spec = None
    if is_dask_dataarray(shape_or_spec):
        _, spec, template = _template_of(shape_or_spec, "shape_or_spec")
        if spec is None:
            raise ValidationError("The DataArray template needs `x`/`y` coordinates to place the gauges.")
        rchunks, cchunks = shape_or_spec.data.chunks
    else:
        if isinstance(shape_or_spec, GridSpec):
            spec = shape_or_spec
            shape = spec.shape
        else:
            shape = tuple(int(v) for v in shape_or_spec)
        rchunks, cchunks = _normalize_chunks(chunks, shape)
    shape = (sum(rchunks), sum(cchunks))
    gx = np.asarray(x, dtype="float64").ravel()
    gy = np.asarray(y, dtype="float64").ravel()
    gv = np.asarray(values, dtype="float64").ravel()
    used = resolve_backend(backend)
    # validation on the full input: errors come now, not from a worker
    idw_in_memory((1, 1) if spec is None else GridSpec(spec.transform, (1, 1), spec.crs), gx, gy, gv, power=power,
                  radius_m=radius_m, k=k, res_m=res_m, nodata=nodata, backend=used)
    if spec is not None:
        res = spec.res_m
        grow, gcol = spec.rowcol_float(gx, gy)
    else:
        res = None if res_m is None else float(res_m)
        grow, gcol = gy, gx
    reach = math.inf if radius_m is None else radius_m / res
    off_r, off_c = _offsets(rchunks), _offsets(cchunks)

    def block(block_info=None):
        i, j = block_info[None]["chunk-location"]
        r0, r1 = off_r[i], off_r[i + 1]
        c0, c1 = off_c[j], off_c[j + 1]
        if math.isinf(reach):
            sel = slice(None)
        else:
            dy = np.maximum(np.maximum(r0 - grow, grow - (r1 - 1)), 0.0)
            dx = np.maximum(np.maximum(c0 - gcol, gcol - (c1 - 1)), 0.0)
            sel = np.flatnonzero(dx * dx + dy * dy <= reach * reach * (1 + 1e-12))
            if sel.size == 0:
                return np.full((r1 - r0, c1 - c0), nodata, np.float32)
        return idw_in_memory((r1 - r0, c1 - c0), gcol[sel] - c0, grow[sel] - r0, gv[sel], power=power,
                             radius_m=None if radius_m is None else reach, k=k,
                             res_m=None if radius_m is None else 1.0, nodata=nodata, backend=used)

    lazy = da.map_blocks(block, chunks=(rchunks, cchunks), dtype=np.float32, meta=np.empty((0, 0), np.float32))
    if spec is None:
        return lazy
    attrs = {"backend": used, "long_name": "inverse-distance-weighted surface", "idw_power": float(power)}
    if template is not None and "units" in template.attrs:
        attrs["units"] = template.attrs["units"]
    return _lazy_dataarray(lazy, spec=spec, template=template, name="idw", attrs=attrs)


# -- distance -----------------------------------------------------------------------------

def distance(mask: Any, *, res_m: float | None = None, return_index: bool = False,
             max_distance_m: float | None = None, backend: str = "auto"):
    """Chunked :func:`cimtwin.grid.distance` for a dask-backed mask; ``max_distance_m`` required.

    Each chunk is computed on the mask extended by ``ceil(max_distance_m / res_m)`` cells, so
    every source within range of a chunk cell is seen. Nearest-source indices are global flat
    indices (``row * cols + col``).
    """
    import dask.array as da

    from cimtwin.grid._array import resolve_res_m
    from cimtwin.grid.distance import distance as distance_in_memory

    arr, spec, template = _template_of(mask, "mask")
    if max_distance_m is None:
        raise InputTypeError(
            "distance() without `max_distance_m` is a global computation (the nearest source can be "
            "anywhere), so it does not run chunk by chunk on a dask-backed mask. Give "
            "`max_distance_m=` (each chunk then needs only a halo of that width) or load the mask "
            "with `mask.compute()` first.")
    if arr.dtype != np.bool_:
        arr = arr != 0
    from cimtwin.grid._array import GridInput

    res = resolve_res_m(GridInput(np.empty((0, 0)), spec, template), res_m)
    max_d = float(max_distance_m)
    if not max_d > 0:
        raise ValidationError(f"`max_distance_m` must be > 0; got {max_distance_m!r}.")
    if not bool(arr.any().compute()):
        raise ValidationError(
            "`mask` has no True cell, so there is no source to measure distance from. "
            "Check the mask (e.g. that the sources fall inside the grid).")
    _, used = select("distance", backend)
    depth = int(math.ceil(max_d / res))
    nrows, ncols = arr.shape

    def run(ext, r0, c0, er0, ec0, h, w, want_index):
        lr, lc = r0 - er0, c0 - ec0
        if not ext.any():
            return np.full((h, w), -1, np.int64) if want_index else np.full((h, w), np.inf, np.float32)
        dist, idx = distance_in_memory(np.ascontiguousarray(ext), res_m=res, return_index=True,
                                       max_distance_m=max_d, backend=used)
        if not want_index:
            return dist[lr:lr + h, lc:lc + w]
        idx = idx[lr:lr + h, lc:lc + w]
        ecols = ext.shape[1]
        return np.where(idx >= 0, (idx // ecols + er0) * ncols + (idx % ecols + ec0), -1)

    dist = _map_overlap_core(lambda *a: run(*a, False), arr, depth, np.float32)
    attrs = {"backend": used, "long_name": "distance to nearest source", "units": "m"}
    d_out = _lazy_dataarray(dist, spec=spec, template=template, name="distance", attrs=attrs)
    if not return_index:
        return d_out
    index = _map_overlap_core(lambda *a: run(*a, True), arr, depth, np.int64)
    i_out = _lazy_dataarray(index, spec=spec, template=template, name="nearest_index",
                            attrs={"backend": used, "units": "1",
                                   "long_name": "flat index of nearest source (-1 = none)"})
    return d_out, i_out


# -- viewsheds ----------------------------------------------------------------------------

def _require_range(max_distance_m: Any, function: str) -> None:
    if max_distance_m is None:
        raise InputTypeError(
            f"{function}() without `max_distance_m` is global (an observer can see the whole grid), "
            "so it does not run chunk by chunk on a dask-backed DEM. Give `max_distance_m=` (each "
            "chunk then needs a halo of that range) or load the DEM with `dem.compute()` first.")


def cumulative_viewshed(dem: Any, rows: Any, cols: Any, *, observer_height_m: Any = 1.75,
                        target_height_m: float = 0.0, azimuth_deg: Any = None, hfov_deg: Any = None,
                        max_distance_m: Any = None, res_m: float | None = None, method: str = "r2",
                        heights: Any = None, curvature: bool = False, refraction: float = 0.13,
                        nodata: float | None = None, return_union: bool = False, backend: str = "auto"):
    """Chunked :func:`cimtwin.grid.cumulative_viewshed` for a dask-backed DEM (range required).

    Every chunk is computed on the DEM extended by the halo the method needs; it is given
    the observers that can reach it (global positions shifted to the extended block) and
    keeps only its own cells, so observers near chunk edges count in the neighbouring chunks.
    """
    from cimtwin.grid.viewshed import cumulative_viewshed as cum_in_memory

    _require_range(max_distance_m, "cumulative_viewshed")
    if heights is not None and not is_dask_dataarray(heights):
        import xarray as xr

        heights = xr.DataArray(np.asarray(getattr(heights, "values", heights)), dims=dem.dims).chunk(
            dict(zip(dem.dims, dem.data.chunks)))
    arr, spec, template = _template_of(dem, "dem")
    from cimtwin.grid._array import GridInput, resolve_res_m

    res = resolve_res_m(GridInput(np.empty((0, 0)), spec, template), res_m)
    r = np.atleast_1d(np.asarray(rows)).astype(np.int64)
    c = np.atleast_1d(np.asarray(cols)).astype(np.int64)
    m = r.size
    dist = np.broadcast_to(np.asarray(max_distance_m, dtype=np.float64), (m,)).copy()
    per = {}
    for key, value in (("observer_height_m", observer_height_m), ("azimuth_deg", azimuth_deg),
                       ("hfov_deg", hfov_deg)):
        per[key] = None if value is None else np.broadcast_to(np.asarray(value, dtype=np.float64), (m,)).copy()
    _, used = select("cumulative_viewshed", backend)
    # options are validated by the in-memory function inside each task; ranges and positions now
    if (dist <= 0).any() or not np.isfinite(dist).all():
        raise ValidationError("`max_distance_m` must be finite and > 0 for every observer.")
    nrows, ncols = arr.shape
    outside = np.nonzero((r < 0) | (r >= nrows) | (c < 0) | (c >= ncols))[0]
    if outside.size:
        from cimtwin._validate import format_ids

        raise ValidationError(f"{outside.size} observers are outside the grid of shape {(nrows, ncols)}: "
                              f"indices {format_ids(outside)}. Drop them or extend the grid.")
    rad = np.floor(dist / res).astype(np.int64)
    if method == "exact":
        depth = int(np.ceil(dist / res).max()) + 1
    else:
        depth = 2 * int(rad.max()) + 1
    h_arr = None if heights is None else heights.data
    stacked = arr if h_arr is None else _stack(arr, h_arr)

    def run(ext, r0, c0, er0, ec0, h, w):
        z = ext if h_arr is None else ext[0]
        hz = None if h_arr is None else ext[1]
        eh, ew = z.shape
        reach = rad if method != "exact" else np.ceil(dist / res)
        near = (r + reach >= r0) & (r - reach <= r0 + h - 1) & (c + reach >= c0) & (c - reach <= c0 + w - 1)
        sel = np.flatnonzero(near)
        if sel.size == 0:
            return np.zeros((h, w), np.int32)
        kw = {key: (None if v is None else v[sel]) for key, v in per.items()}
        out = cum_in_memory(np.ascontiguousarray(z), r[sel] - er0, c[sel] - ec0, target_height_m=target_height_m,
                            max_distance_m=dist[sel], res_m=res, method=method,
                            heights=None if hz is None else np.ascontiguousarray(hz), curvature=curvature,
                            refraction=refraction, nodata=nodata, backend=used, **kw)
        return out[r0 - er0:r0 - er0 + h, c0 - ec0:c0 - ec0 + w]

    if h_arr is None:
        lazy = _map_overlap_core(run, stacked, depth, np.int32)
    else:
        lazy = _map_overlap_stacked(run, stacked, depth, np.int32)
    attrs = {"cimtwin_op": "cumulative_viewshed", "method": method, "observers": int(m), "backend": used,
             "units": "observers"}
    out = _lazy_dataarray(lazy, spec=spec, template=template, name="visible_count", attrs=attrs)
    if return_union:
        union = _lazy_dataarray(lazy > 0, spec=spec, template=template, name="visible_any",
                                attrs={**attrs, "units": "boolean"})
        return out, union
    return out


def _stack(z, h):
    import dask.array as da

    return da.stack([z.astype(np.float64), h.rechunk(z.chunks).astype(np.float64)])


def _map_overlap_stacked(fn, stacked, depth, dtype):
    """:func:`_map_overlap_core` for a (2, rows, cols) stack of DEM and heights."""
    stacked = stacked.rechunk((2,) + tuple(_chunks_at_least(c, depth) for c in stacked.chunks[1:]))
    off_r, off_c = _offsets(stacked.chunks[1]), _offsets(stacked.chunks[2])

    def block(ext, block_info=None):
        _, i, j = block_info[None]["chunk-location"]
        r0, c0 = int(off_r[i]), int(off_c[j])
        h, w = stacked.chunks[1][i], stacked.chunks[2][j]
        return fn(ext, r0, c0, max(0, r0 - depth), max(0, c0 - depth), h, w)[None]

    out = stacked.map_overlap(block, depth={0: 0, 1: depth, 2: depth}, boundary="none", trim=False,
                              chunks=((1,),) + stacked.chunks[1:], dtype=dtype)
    return out[0]


def viewshed(dem: Any, row: int, col: int, *, observer_height_m: float = 1.75, target_height_m: float = 0.0,
             res_m: float | None = None, max_distance_m: float | None = None, method: str = "exact",
             curvature: bool = False, refraction: float = 0.13, heights: Any = None,
             nodata: float | None = None, backend: str = "auto"):
    """Chunked :func:`cimtwin.grid.viewshed` for a dask-backed DEM (``max_distance_m`` required).

    Computed as a one-observer cumulative viewshed (same kernels, same answer), so chunks
    out of the observer's range are all False without reading the DEM's values.
    """
    _require_range(max_distance_m, "viewshed")
    count = cumulative_viewshed(dem, [row], [col], observer_height_m=observer_height_m,
                                target_height_m=target_height_m, max_distance_m=max_distance_m, res_m=res_m,
                                method=method, heights=heights, curvature=curvature, refraction=refraction,
                                nodata=nodata, backend=backend)
    _, used = select("viewshed_exact" if method == "exact" else "viewshed_r2", backend)
    vis = count > 0
    vis.name = "visible"
    vis.attrs = {"cimtwin_op": "viewshed", "method": method, "observer_row": int(row), "observer_col": int(col),
                 "observer_height_m": float(observer_height_m), "target_height_m": float(target_height_m),
                 "backend": used, "units": "boolean"}
    return vis


# -- zonal --------------------------------------------------------------------------------

def zonal_stats(values: Any, zones: Any, *, stats=("count", "sum", "mean", "min", "max"),
                threshold: float | None = None, nodata: float | None = None, zones_nodata: int | None = None,
                backend: str = "auto", **_ignored):
    """Chunked :func:`cimtwin.grid.zonal_stats` for a dask-backed value raster and label raster.

    Zone ids are collected first (one pass), then every chunk adds its partial count, sum,
    min, max and count-above per zone; partials are combined in chunk order. Counts, min and
    max are exact; sums agree with the in-memory result to float64 rounding.
    """
    import dask
    import dask.array as da

    from cimtwin.grid.zonal import STATS

    stats = tuple(stats)
    for s in stats:
        if s not in STATS:
            raise ValidationError(f"Unknown statistic {s!r}; choose from {list(STATS)}.")
    if threshold is not None and "share_above" not in stats:
        stats = stats + ("share_above",)
    if "share_above" in stats and threshold is None:
        raise ValidationError("`share_above` needs `threshold=`.")
    varr, vspec, _ = _template_of(values, "values")
    zarr = zones.data if is_dask_dataarray(zones) else da.asarray(np.asarray(getattr(zones, "values", zones)))
    if zarr.shape != varr.shape:
        from cimtwin.errors import GridAlignmentError

        raise GridAlignmentError(f"`zones` shape {zarr.shape} does not match `values` shape {varr.shape}.")
    if zarr.dtype.kind == "b":
        zarr = zarr.astype(np.int64)
    if zarr.dtype.kind not in "iu":
        raise InputTypeError(f"`zones` must be an integer label raster; got dtype {zarr.dtype}.")
    if varr.dtype.kind not in "fiub":
        raise InputTypeError(f"`values` must be numeric; got dtype {varr.dtype}.")
    zarr = zarr.rechunk(varr.chunks)
    ids = np.asarray(da.unique(zarr).compute())
    if zones_nodata is not None:
        ids = ids[ids != zones_nodata]
    kernel, used = select("zonal", backend)
    nbins = ids.size

    def partial(v, z):
        v = np.ascontiguousarray(v, dtype=np.float64 if v.dtype.kind != "f" else v.dtype).ravel()
        z = np.asarray(z).ravel()
        pos = np.searchsorted(ids, z)
        ok = (pos < nbins) & (ids[np.minimum(pos, nbins - 1)] == z) if nbins else np.zeros(z.shape, bool)
        bins = np.where(ok, pos, -1).astype(np.int64)
        return kernel(v, bins, nbins, nodata, threshold)

    parts = [dask.delayed(partial)(v, z) for v, z in zip(varr.to_delayed().ravel(), zarr.to_delayed().ravel())]
    (parts,) = dask.compute(parts)
    cnt = np.zeros(nbins, np.int64)
    tot = np.zeros(nbins)
    lo = np.full(nbins, np.inf)
    hi = np.full(nbins, -np.inf)
    above = np.zeros(nbins, np.int64)
    for p_cnt, p_tot, p_lo, p_hi, p_above in (p[:5] for p in parts):
        cnt += p_cnt
        tot += p_tot
        np.minimum(lo, p_lo, out=lo)
        np.maximum(hi, p_hi, out=hi)
        above += p_above
    from cimtwin.grid.zonal import zonal_table

    return zonal_table(ids, cnt, tot, lo, hi, above, stats=stats, backend=used, units=values.attrs.get("units"))
