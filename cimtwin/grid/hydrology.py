"""Hydrology on a DEM: depression filling, flats, D8 directions, accumulation, HAND, ponding.

Every function accepts a 2-D numpy array or an xarray DataArray and returns the same kind.
Nodata: NaN cells, and cells equal to ``nodata`` when given, are holes. Like the grid edge they
drain (water reaching them leaves the grid); they are NaN (float outputs), 255 (D8) or 0
(counts) in the results. Inputs are never modified.

D8 encoding (ESRI): 1 = E, 2 = SE, 4 = S, 8 = SW, 16 = W, 32 = NW, 64 = N, 128 = NE; 0 = the
cell drains off the grid (an edge or nodata outlet) or is a pit of an unconditioned DEM;
255 = nodata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimtwin.errors import GridAlignmentError, NodataError, ValidationError
from cimtwin.grid import _hydro_tiled as tiled
from cimtwin.grid._array import GridInput, as_grid, is_dask_dataarray, resolve_res_m, wrap_like
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.hydro")
add_provider("cpu", "cimtwin.kernels.ponding")

__all__ = [
    "fill_depressions",
    "resolve_flats",
    "flow_direction_d8",
    "flow_accumulation",
    "depression_depth",
    "hand",
    "ponding_depth",
    "PondingResult",
]

D8_CODES = {"E": 1, "SE": 2, "S": 4, "SW": 8, "W": 16, "NW": 32, "N": 64, "NE": 128}
D8_OUTLET = 0
D8_NODATA = 255


def _prepare_dem(dem: Any, *, arg: str = "dem", nodata: float | None = None) -> tuple[GridInput, np.ndarray, np.ndarray]:
    """(input, float elevations with NaN holes, valid mask); the caller's array is untouched."""
    inp = as_grid(dem, arg=arg)
    z = inp.values
    if not np.issubdtype(z.dtype, np.number) or np.issubdtype(z.dtype, np.complexfloating):
        raise ValidationError(f"`{arg}` must hold real numbers; got dtype {z.dtype}.")
    if z.dtype not in (np.float32, np.float64):
        z = z.astype(np.float64)
    valid = np.isfinite(z)
    if nodata is not None:
        valid &= z != nodata
    if not valid.all():
        z = np.where(valid, z, np.nan).astype(z.dtype, copy=False)
    if not valid.any():
        raise NodataError(f"`{arg}` has no valid cells (all NaN or equal to nodata={nodata!r}).")
    return inp, np.ascontiguousarray(z), valid


def _condition(z: np.ndarray, valid: np.ndarray, backend: str) -> np.ndarray:
    fill, _ = select("fill_depressions", backend)
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
        z, template = tiled.prepare_dem(dem, nodata=nodata)
        if epsilon:
            raise ValidationError("`epsilon=True` is not available for a dask-backed DEM; fill without it "
                                  "or load the DEM with `.compute()`.")
        return tiled.wrap(tiled.fill(z), template, name="filled", units="m",
                          attrs={"cimtwin_op": "fill_depressions"})
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
    fill, _ = select("fill_depressions", backend)
    out = fill(z, valid, bool(epsilon))
    return wrap_like(inp, out, name="filled", units="m", attrs={"cimtwin_op": "fill_depressions"})


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
    inp, z, valid = _prepare_dem(filled, arg="filled", nodata=nodata)
    d8, _ = select("flow_direction_d8", backend)
    _, steps = d8(z, valid)
    return wrap_like(inp, steps, name="flat_steps", units="cells", attrs={"cimtwin_op": "resolve_flats"})


def _check_d8(d8, shape):
    """Validate precomputed ESRI D8 codes (as from :func:`flow_direction_d8`)."""
    din = as_grid(d8, arg="d8")
    dirs = din.values
    if dirs.shape != shape:
        raise GridAlignmentError(f"`d8` has shape {dirs.shape} but the DEM has {shape}.")
    if dirs.dtype != np.uint8:
        raise ValidationError(f"`d8` must be uint8 ESRI codes from flow_direction_d8; got dtype {dirs.dtype}.")
    ok = np.zeros(256, dtype=bool)
    ok[[0, 1, 2, 4, 8, 16, 32, 64, 128, 255]] = True
    if not ok[dirs].all():
        raise ValidationError("`d8` holds values other than 0, 1, 2, 4, ..., 128 and 255 (nodata).")
    # no cell may point off the grid
    off = (np.isin(dirs[0], (32, 64, 128)).any() or np.isin(dirs[-1], (2, 4, 8)).any()
           or np.isin(dirs[:, 0], (8, 16, 32)).any() or np.isin(dirs[:, -1], (128, 1, 2)).any())
    if off:
        raise ValidationError("`d8` has edge cells pointing off the grid; edge outlets must be 0.")
    return np.ascontiguousarray(dirs)


def _directions(z, valid, conditioned, backend, d8=None):
    zz = z if conditioned else _condition(z, valid, backend)
    if d8 is not None:
        return zz, _check_d8(d8, z.shape)
    kernel, _ = select("flow_direction_d8", backend)
    dirs, _ = kernel(zz, valid, False)
    return zz, dirs


def _dask_like(obj, z, *, arg: str):
    """A raster given with a dask DEM, as a dask array chunked like the DEM."""
    import dask.array as da

    data = obj.data if hasattr(obj, "dims") else obj
    if tuple(data.shape) != tuple(z.shape):
        raise GridAlignmentError(f"`{arg}` has shape {tuple(data.shape)} but the DEM has {tuple(z.shape)}.")
    return da.asarray(data).rechunk(z.chunks)


def _dask_directions(z, conditioned: bool, d8):
    """Lazy D8 codes of a dask DEM: the given ``d8`` (checked like in memory) or computed."""
    if d8 is None:
        return tiled.d8(z if conditioned else tiled.fill(z))
    dirs = _dask_like(d8, z, arg="d8")
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
        z, template = tiled.prepare_dem(dem, nodata=nodata)
        dirs = tiled.d8(z if conditioned else tiled.fill(z))
        return tiled.wrap(dirs, template, name="d8", units="esri_d8_code",
                          attrs={"cimtwin_op": "flow_direction_d8", "nodata": D8_NODATA})
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
    _, dirs = _directions(z, valid, conditioned, backend)
    return wrap_like(inp, dirs, name="d8", units="esri_d8_code",
                     attrs={"cimtwin_op": "flow_direction_d8", "nodata": D8_NODATA})


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
        z, template = tiled.prepare_dem(dem, nodata=nodata)
        dirs = _dask_directions(z, conditioned, d8)
        return tiled.wrap(tiled.accumulation(dirs), template, name="flow_accumulation", units="cells",
                          attrs={"cimtwin_op": "flow_accumulation"})
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
    if d8 is not None:
        dirs = _check_d8(d8, z.shape)
    else:
        _, dirs = _directions(z, valid, conditioned, backend)
    acc_kernel, _ = select("flow_accumulation", backend)
    dtype = np.uint32 if z.size < 2**32 else np.uint64
    acc = acc_kernel(dirs, dtype)
    return wrap_like(inp, acc, name="flow_accumulation", units="cells",
                     attrs={"cimtwin_op": "flow_accumulation"})


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
        z, template = tiled.prepare_dem(dem, nodata=nodata)
        return tiled.wrap(tiled.fill(z) - z, template, name="depression_depth", units="m",
                          attrs={"cimtwin_op": "depression_depth"})
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
    filled = _condition(z, valid, backend)
    return wrap_like(inp, filled - z, name="depression_depth", units="m",
                     attrs={"cimtwin_op": "depression_depth"})


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
        z, template = tiled.prepare_dem(dem, nodata=nodata)
        zz = z if conditioned else tiled.fill(z)
        dirs = _dask_directions(zz, True, d8)
        if accumulation is not None:
            if d8 is None:
                raise ValidationError("`accumulation` must come with the `d8` it was computed from; pass both.")
            acc = _dask_like(accumulation, z, arg="accumulation")
        else:
            acc = tiled.accumulation(dirs)
        out = tiled.hand(zz, dirs, acc, int(stream_threshold_cells))
        return tiled.wrap(out, template, name="hand", units="m",
                          attrs={"cimtwin_op": "hand", "stream_threshold_cells": int(stream_threshold_cells)})
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
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


@dataclass(frozen=True)
class PondingResult:
    """Ponded depth per cell and the water balance of :func:`ponding_depth`.

    ``runoff_volume_m3 == ponded_volume_m3 + outflow_volume_m3`` to floating tolerance.
    """

    depth_m: Any
    runoff_volume_m3: float
    ponded_volume_m3: float
    outflow_volume_m3: float


def ponding_depth(dem: Any, runoff_mm: Any, *, res_m: float | None = None, nodata: float | None = None,
                  backend: str = "auto") -> PondingResult:
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
    inp, z, valid = _prepare_dem(dem, nodata=nodata)
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
