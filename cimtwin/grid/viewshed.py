"""Viewsheds on a DEM (plus optional building heights): one observer, or counts over many.

Semantics follow GRASS r.viewshed: the observer is ``observer_height_m`` above the surface at
its cell centre, targets are cell centres raised by ``target_height_m``, elevations along the
sight line are linearly interpolated where it crosses row/column lines through cell
centres, the observer's own cell is visible, and the Earth is flat unless
``curvature=True`` (then samples drop by ``(1 - refraction) * d**2 / (2 R)``).

Methods
-------
``"exact"``
    R3: one line of sight per target cell, parallel over cells, early exit on the first
    blocking crossing. Against a brute-force line-of-sight reference on synthetic fractal +
    Gaussian-hill terrain (9 cases: 3 DEMs of 161 x 161 cells x 3 observers at 1.75 m) it
    agrees on 100.00 % of cells, IoU of visible cells 1.000. Cost grows as cells x distance
    (n^1.5 for an unlimited range), so use a range or ``"r2"`` on very large grids.
``"r2"``
    Franklin & Ray's R2: rays from the observer to every border cell of the window, each
    keeping a running maximum slope; a cell is visible when a ray through it finds it
    visible. Each step of a ray crosses one row or column line at an exact rational
    position (integer part and remainder), and the nearest cell to the crossing is the one
    tested. A camera with a field of view casts only the rays towards its sector (widened by
    half a cell at the window's border). Linear cost. On the same 9 cases: 99.0 % cell
    agreement on average (min 97.4 %), IoU of visible cells 0.86 on average (min 0.83) with
    about 6 % of cells visible; its errors sit on the edges of visible patches and lean
    towards "visible". Use it for many observers and large areas. Figures:
    ``benchmarks/RESULTS.md``.

Nodata cells (NaN, or equal to ``nodata``) never block a sight line and are never visible.

Dask adapter (a dask-backed DEM, ``max_distance_m`` required): observers and options are
validated once on the client (reading only the DEM at the observer cells). Each chunk is
computed on the DEM (and building heights) extended by a halo of ``ceil(range) + 1`` cells
(``"exact"``) or ``2 * floor(range) + 1`` (``"r2"``, whose rays run to the border of each
observer's window), with the observers that can reach it at their global positions; it keeps
only its own cells, so an observer near a chunk edge counts in every chunk it sees, exactly
as in memory. A single viewshed runs as a one-observer cumulative viewshed. Without a range
an observer can see the whole grid, so a dask DEM is refused with a request to
``.compute()`` it first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimtwin._validate import one_of, require_positive, requires_metres
from cimtwin.errors import GridAlignmentError, InputTypeError, NodataError, ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray, resolve_res_m, wrap_like
from cimtwin.grid._dem import dem_float, holes_to_nan
from cimtwin.grid._dem import prepare_dem as _prepare_dem
from cimtwin.grid.chunked import _lazy_dataarray, _map_overlap_core, _map_overlap_stacked, _stack, _template_of
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.viewshed")

__all__ = ["viewshed", "cumulative_viewshed"]

EARTH_RADIUS_M = 6_371_000.0
METHODS = ("exact", "r2")


def _surface(dem, heights, nodata, *, lazy: bool):
    """(input, elevations, building heights or None, ``valid_at(rows, cols)``), validated.

    In memory the elevations have NaN holes and include the heights. On dask (``lazy``) both
    stay lazy and raw (each chunk makes its holes NaN and adds its heights), and validity is
    read at the requested cells only.
    """
    if lazy:
        z, inp = _template_of(dem, "dem")
        z = dem_float(z, arg="dem")

        def valid_at(r, c):
            return holes_to_nan(np.asarray(z.vindex[r, c].compute()), nodata)[1] if r.size else np.ones(0, bool)
    else:
        inp, z, valid = _prepare_dem(dem, nodata=nodata)

        def valid_at(r, c):
            return valid[r, c]
    if heights is None:
        return inp, z, None, valid_at
    if is_dask_dataarray(heights):
        h, hin = _template_of(heights, "heights")
    else:
        hin = as_grid(heights, arg="heights")
        h = hin.values
    if tuple(h.shape) != tuple(z.shape):
        raise GridAlignmentError(
            f"`heights` has shape {tuple(h.shape)} but the DEM has {tuple(z.shape)}; rasterize the "
            "building heights onto the DEM's grid.")
    if inp.spec is not None and hin.spec is not None:
        inp.spec.require_aligned(hin.spec, what="heights raster")
    if bool((h < 0).any()):  # NaN compares False; on dask this reads the heights once
        raise ValidationError("`heights` has negative values; building heights must be >= 0 m.")
    if lazy:
        import dask.array as da

        return inp, z, da.asarray(h), valid_at
    z = z + np.nan_to_num(h.astype(z.dtype, copy=False), nan=0.0)  # new array: the DEM is never modified
    return inp, np.ascontiguousarray(z), None, valid_at


def _require_range(max_distance_m: Any, function: str) -> None:
    if max_distance_m is None:
        raise InputTypeError(
            f"{function}() without `max_distance_m` is global (an observer can see the whole grid), "
            "so it does not run chunk by chunk on a dask-backed DEM. Give `max_distance_m=` (each "
            "chunk then needs a halo of that range) or load the DEM with `dem.compute()` first.")


def _res_for(inp, res_m, needed: bool, why: str) -> float | None:
    if res_m is None and inp.spec is None:
        if needed:
            raise ValidationError(f"`res_m` (the cell size in metres) is required for numpy input {why}.")
        return None
    return resolve_res_m(inp, res_m)


def _curv_per_cell2(curvature: bool, refraction: float, res: float | None) -> float:
    if not curvature:
        return 0.0
    if not 0.0 <= float(refraction) < 1.0:
        raise ValidationError(f"`refraction` must be in [0, 1); got {refraction!r}.")
    return (1.0 - float(refraction)) * res * res / (2.0 * EARTH_RADIUS_M)


def _check_cell(shape, valid_at, row, col, what="observer"):
    rows, cols = shape
    if int(row) != row or int(col) != col:
        raise ValidationError(f"The {what} cell must be integer (row, col); got ({row!r}, {col!r}).")
    row, col = int(row), int(col)
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValidationError(
            f"The {what} cell (row {row}, col {col}) is outside the grid of shape {tuple(shape)}; "
            f"rows must be in [0, {rows - 1}] and cols in [0, {cols - 1}].")
    if not valid_at(np.array([row]), np.array([col]))[0]:
        raise NodataError(f"The {what} cell (row {row}, col {col}) is nodata; move the {what} onto valid terrain.")
    return row, col


@requires_metres("dem")
def viewshed(dem: Any, row: int, col: int, *, observer_height_m: float = 1.75, target_height_m: float = 0.0,
             res_m: float | None = None, max_distance_m: float | None = None, method: str = "exact",
             curvature: bool = False, refraction: float = 0.13, heights: Any = None,
             nodata: float | None = None, backend: str = "auto"):
    """Cells visible from an observer at (``row``, ``col``).

    Parameters
    ----------
    dem : numpy.ndarray or xarray.DataArray
        Ground elevation (m), north-up.
    row, col : int
        Observer cell (row 0 = north).
    observer_height_m, target_height_m : float
        Heights above the surface of the observer and of every target (m, >= 0).
    res_m : float, optional
        Cell size (m). Needed with numpy input only for ``max_distance_m`` or ``curvature``.
    max_distance_m : float, optional
        Range; cells farther away are not visible. None = unlimited.
    method : {"exact", "r2"}
        See the module notes: exact R3 lines of sight, or fast approximate R2 rays.
    curvature, refraction : bool, float
        Earth curvature with the refraction coefficient (GRASS default 0.13).
    heights : array, optional
        Building heights (m) on the DEM's grid, added to the DEM for occlusion.
    nodata : float, optional
        DEM value marking holes (NaN always does).

    Returns
    -------
    Same kind as ``dem``: bool, True where visible.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import viewshed
    >>> dem = np.zeros((1, 5), dtype="f4"); dem[0, 2] = 10.0   # a wall between
    >>> viewshed(dem, 0, 0, observer_height_m=1.75, res_m=10)
    array([[ True,  True,  True, False, False]])
    """
    one_of(method, METHODS, arg="method")
    lazy = is_dask_dataarray(dem)
    if lazy:
        _require_range(max_distance_m, "viewshed")
    inp, z, h, valid_at = _surface(dem, heights, nodata, lazy=lazy)
    r0, c0 = _check_cell(z.shape, valid_at, row, col)
    h_obs = require_positive(observer_height_m, arg="observer_height_m", allow_zero=True)
    h_tgt = require_positive(target_height_m, arg="target_height_m", allow_zero=True)
    res = _res_for(inp, res_m, max_distance_m is not None or curvature, "with max_distance_m or curvature")
    lim = math.inf
    if max_distance_m is not None:
        lim = require_positive(max_distance_m, arg="max_distance_m") / res
    curv = _curv_per_cell2(curvature, refraction, res)
    attrs = {"cimtwin_op": "viewshed", "method": method, "observer_row": r0, "observer_col": c0,
             "observer_height_m": h_obs, "target_height_m": h_tgt}
    if lazy:  # a one-observer cumulative viewshed: same kernels, same answer
        kernel, used = select("cumulative_viewshed", backend)
        count = _cumulative_viewshed_dask(kernel, z, h, nodata, np.array([r0]), np.array([c0]), np.array([h_obs]),
                                          h_tgt, np.array([lim]), np.zeros(1), np.full(1, math.pi), curv,
                                          exact=method == "exact")
        return _lazy_dataarray(count > 0, spec=inp.spec, template=inp.template, name="visible",
                               attrs={**attrs, "backend": used, "units": "boolean"})
    kernel, used = select("viewshed_exact" if method == "exact" else "viewshed_r2", backend)
    vis = kernel(z, r0, c0, float(h_obs), float(h_tgt), float(lim), curv)
    return wrap_like(inp, vis, name="visible", units="boolean", attrs={**attrs, "backend": used})


def _per_observer(value, m, arg, *, allow_none=False):
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,):
        raise ValidationError(f"`{arg}` must be a scalar or one value per observer ({m}); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValidationError(f"`{arg}` has NaN/inf values.")
    return arr


@requires_metres("dem")
def cumulative_viewshed(dem: Any, rows: Any, cols: Any, *, observer_height_m: Any = 1.75,
                        target_height_m: float = 0.0, azimuth_deg: Any = None, hfov_deg: Any = None,
                        max_distance_m: Any = None, res_m: float | None = None, method: str = "r2",
                        heights: Any = None, curvature: bool = False, refraction: float = 0.13,
                        nodata: float | None = None, return_union: bool = False, backend: str = "auto"):
    """Per cell, the number of observers that see it (each observer counts a cell once).

    Parameters
    ----------
    dem : numpy.ndarray or xarray.DataArray
        Ground elevation (m).
    rows, cols : array of int
        Observer cells.
    observer_height_m : float or array
        Height of each observer above the surface (DEM + ``heights``) at its cell (m).
    azimuth_deg, hfov_deg : float or array, optional
        Viewing direction (0 = north = up, clockwise) and full horizontal field of view.
        Given together; a cell counts when its centre's bearing is within ``hfov_deg / 2``
        of the azimuth. None = all round.
    max_distance_m : float or array, optional
        Range per observer (m). None = unlimited.
    method : {"r2", "exact"}
        Per-observer method (see :func:`viewshed`).
    heights : array, optional
        Building heights (m) added to the DEM for occlusion.
    return_union : bool
        Also return the boolean union (count > 0).

    Returns
    -------
    int32 counts ("observers"), same kind as ``dem``; with ``return_union`` a tuple
    ``(count, union)``.

    Notes
    -----
    Observers are processed in parallel in row bands taller than any window (even bands,
    then odd bands), so threads never write the same cell and results are deterministic. Within
    a band, observers run in column order (neighbouring windows stay in cache); with ``"r2"``
    each observer's rays mark a scratch window that is added to the counts once, so a cell
    crossed by several rays of one observer counts once.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import cumulative_viewshed
    >>> cumulative_viewshed(np.zeros((3, 3), "f4"), [0, 2], [0, 2], res_m=1, max_distance_m=1.0)
    array([[1, 1, 0],
           [1, 0, 1],
           [0, 1, 1]], dtype=int32)
    """
    one_of(method, METHODS, arg="method")
    lazy = is_dask_dataarray(dem)
    if lazy:
        _require_range(max_distance_m, "cumulative_viewshed")
    inp, z, h, valid_at = _surface(dem, heights, nodata, lazy=lazy)
    r = np.atleast_1d(np.asarray(rows))
    c = np.atleast_1d(np.asarray(cols))
    if r.shape != c.shape or r.ndim != 1:
        raise ValidationError(f"`rows` and `cols` must be 1-D and of equal length; got {r.shape} and {c.shape}.")
    m = r.size
    if m and (not np.issubdtype(r.dtype, np.number) or (r != np.round(r)).any() or (c != np.round(c)).any()):
        raise ValidationError("`rows` and `cols` must be integer cell indices.")
    r = r.astype(np.int64)
    c = c.astype(np.int64)
    nr, nc = z.shape
    outside = np.nonzero((r < 0) | (r >= nr) | (c < 0) | (c >= nc))[0]
    if outside.size:
        from cimtwin._validate import format_ids

        raise ValidationError(
            f"{outside.size} observers are outside the grid of shape {z.shape}: indices {format_ids(outside)}. "
            "Drop them or extend the grid.")
    on_hole = np.nonzero(~valid_at(r, c))[0] if m else np.array([], dtype=np.int64)
    if on_hole.size:
        from cimtwin._validate import format_ids

        raise NodataError(f"{on_hole.size} observers stand on nodata cells: indices {format_ids(on_hole)}.")
    h_obs = _per_observer(observer_height_m, m, "observer_height_m")
    if (h_obs < 0).any():
        raise ValidationError("`observer_height_m` must be >= 0.")
    h_tgt = require_positive(target_height_m, arg="target_height_m", allow_zero=True)
    if (azimuth_deg is None) != (hfov_deg is None):
        raise ValidationError("Give `azimuth_deg` and `hfov_deg` together (or neither for all-round views).")
    if azimuth_deg is None:
        az = np.zeros(m)
        half = np.full(m, math.pi)
    else:
        az = np.deg2rad(_per_observer(azimuth_deg, m, "azimuth_deg") % 360.0)
        fov = _per_observer(hfov_deg, m, "hfov_deg")
        if ((fov <= 0) | (fov > 360)).any():
            raise ValidationError("`hfov_deg` must be in (0, 360] degrees (the full angle).")
        half = np.where(fov >= 360, math.pi, np.deg2rad(fov) / 2.0)
    res = _res_for(inp, res_m, max_distance_m is not None or curvature, "with max_distance_m or curvature")
    if max_distance_m is None:
        rad = np.full(m, np.inf)
    else:
        dist = _per_observer(max_distance_m, m, "max_distance_m")
        if (dist <= 0).any():
            raise ValidationError("`max_distance_m` must be > 0 for every observer.")
        rad = dist / res
    curv = _curv_per_cell2(curvature, refraction, res)
    kernel, used = select("cumulative_viewshed", backend)
    attrs = {"cimtwin_op": "cumulative_viewshed", "method": method, "observers": int(m), "backend": used}
    if lazy:
        count = _cumulative_viewshed_dask(kernel, z, h, nodata, r, c, h_obs, float(h_tgt), rad, az, half, curv,
                                          exact=method == "exact")
        out = _lazy_dataarray(count, spec=inp.spec, template=inp.template, name="visible_count",
                              attrs={**attrs, "units": "observers"})
        if return_union:
            return out, _lazy_dataarray(count > 0, spec=inp.spec, template=inp.template, name="visible_any",
                                        attrs={**attrs, "units": "boolean"})
        return out
    count = np.zeros(z.shape, dtype=np.int32)
    if m:
        kernel(z, r, c, h_obs, float(h_tgt), rad, az, half, curv, method == "exact", count)
    out = wrap_like(inp, count, name="visible_count", units="observers", attrs=attrs)
    if return_union:
        union = wrap_like(inp, count > 0, name="visible_any", units="boolean", attrs=dict(attrs))
        return out, union
    return out


def _cumulative_viewshed_dask(kernel, z, heights, nodata, r, c, h_obs, h_tgt, rad, az, half, curv, *, exact: bool):
    """Lazy observer counts of validated observers on a dask DEM (ranges ``rad`` in cells).

    Each chunk reads the DEM (stacked with the building heights) within the halo the method
    needs and runs the in-memory kernel for the observers that can reach it.
    """
    reach = np.ceil(rad) if exact else np.floor(rad)
    depth = int(reach.max()) + 1 if exact else 2 * int(reach.max()) + 1

    def run(ext, r0, c0, er0, ec0, h, w):
        near = (r + reach >= r0) & (r - reach <= r0 + h - 1) & (c + reach >= c0) & (c - reach <= c0 + w - 1)
        sel = np.flatnonzero(near)
        if sel.size == 0:
            return np.zeros((h, w), np.int32)
        zb, _ = holes_to_nan(ext if heights is None else ext[0], nodata)
        if heights is not None:
            zb = zb + np.nan_to_num(ext[1], nan=0.0)
        count = np.zeros(zb.shape, np.int32)
        kernel(np.ascontiguousarray(zb), r[sel] - er0, c[sel] - ec0, h_obs[sel], h_tgt, rad[sel], az[sel],
               half[sel], curv, exact, count)
        return count[r0 - er0:r0 - er0 + h, c0 - ec0:c0 - ec0 + w]

    if heights is None:
        return _map_overlap_core(run, z, depth, np.int32)
    return _map_overlap_stacked(run, _stack(z, heights), depth, np.int32)
