"""Inverse-distance weighting of point values (e.g. rain gauges) onto a grid, in memory or on dask.

Dask adapter (a dask-backed DataArray template, or ``chunks=``): there is no input raster,
so no halo. The gauges are validated once on the client; each chunk's task keeps the gauges
within the search radius of its window (all of them without a radius; with ``k`` the k
nearest among those are the same as in memory), shifts them to the chunk's origin and runs
the in-memory kernel on the chunk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import ValidationError
from cimtwin.grid._array import GridInput, as_grid, is_dask_dataarray, wrap_like
from cimtwin.grid.chunked import _lazy_dataarray, _map_windows, _normalize_chunks, _template_of
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.interp")

__all__ = ["idw"]


@requires_metres("shape_or_spec")
def idw(shape_or_spec: Any, x: Any, y: Any, values: Any, *, power: float = 2.0, radius_m: float | None = None,
        k: int | None = None, res_m: float | None = None, nodata: float = math.nan, backend: str = "auto",
        chunks: Any = None):
    """Inverse-distance-weighted surface of point ``values`` at every cell centre.

    ``z(cell) = sum(w_i v_i) / sum(w_i)`` with ``w_i = d_i ** -power`` over the gauges within
    ``radius_m`` (all when None), or the ``k`` nearest of those. A cell centre within 1e-6
    cells of a gauge takes that gauge's value (the mean when several coincide); a cell with
    no gauge in range gets ``nodata``.

    Parameters
    ----------
    shape_or_spec : GridSpec, DataArray or (rows, cols)
        The target grid. With a GridSpec or DataArray, ``x``/``y`` are map coordinates in its
        (projected) CRS; with a plain shape they are column/row positions in cells
        (``x`` = column, ``y`` = row, cell centres at integers) and ``res_m`` scales the radius.
        A dask-backed DataArray gives a lazy result on its chunks.
    x, y, values : array-like, one per gauge
        Finite values; NaN positions or values are an error.
    power : float, > 0
    radius_m : float, optional
        Search radius in metres.
    k : int, optional
        Use only the k nearest gauges (after the radius cut).
    res_m : float, optional
        Cell size in metres for a plain shape (needed only with ``radius_m``).
    nodata : float
        Value for cells with no gauge in range (default NaN).
    backend : {"auto", "cpu", "cuda"}
    chunks : int or tuple, optional
        Compute lazily with dask on these chunks (dask's chunk spec, e.g. ``4096``); the
        result is a dask array (plain shape) or a dask-backed DataArray.

    Returns
    -------
    float32 numpy array (plain shape) or DataArray (GridSpec/DataArray; ``units`` copied from
    a DataArray template's ``units`` attr, else absent); lazy on dask when chunked.

    Examples
    --------
    >>> from cimtwin.grid import idw
    >>> z = idw((3, 3), [0, 2], [0, 0], [10.0, 20.0])
    >>> float(z[0, 0]), float(z[0, 1])
    (10.0, 15.0)
    """
    inp: GridInput | None = None
    spec: GridSpec | None = None
    if isinstance(shape_or_spec, GridSpec):
        spec = shape_or_spec
    elif hasattr(shape_or_spec, "dims"):
        if is_dask_dataarray(shape_or_spec):  # lazy, on the template's chunks
            data, inp = _template_of(shape_or_spec, "shape_or_spec")
            chunks = data.chunks if chunks is None else chunks
        else:
            inp = as_grid(shape_or_spec, arg="shape_or_spec")
        if inp.spec is None:
            raise ValidationError("The DataArray template needs `x`/`y` coordinates to place the gauges.")
        spec = inp.spec
    if spec is not None:
        res = spec.res_m  # raises for a geographic CRS
        shape = spec.shape
    else:
        try:
            shape = tuple(int(v) for v in shape_or_spec)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"`shape_or_spec` must be a GridSpec, DataArray or (rows, cols); got {shape_or_spec!r}.") from exc
        if len(shape) != 2 or min(shape) < 1:
            raise ValidationError(f"`shape_or_spec` must be a positive (rows, cols); got {shape_or_spec!r}.")
        res = None if res_m is None else float(res_m)
    gx = np.asarray(x, dtype="float64").ravel()
    gy = np.asarray(y, dtype="float64").ravel()
    gv = np.asarray(values, dtype="float64").ravel()
    if not (gx.shape == gy.shape == gv.shape):
        raise ValidationError(f"`x`, `y` and `values` need one entry per gauge; got {gx.size}, {gy.size}, {gv.size}.")
    if gx.size == 0:
        raise ValidationError("No gauges given: `x`, `y` and `values` are empty.")
    for name, arr in (("x", gx), ("y", gy), ("values", gv)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValidationError(f"`{name}` has NaN/inf at gauges {bad[:10].tolist()}; drop those gauges first.")
    if not (math.isfinite(power) and power > 0):
        raise ValidationError(f"`power` must be finite and > 0; got {power!r}.")
    radius_cells = math.inf
    if radius_m is not None:
        if not (math.isfinite(radius_m) and radius_m > 0):
            raise ValidationError(f"`radius_m` must be finite and > 0; got {radius_m!r}.")
        if res is None:
            raise ValidationError("`radius_m` with a plain (rows, cols) shape needs `res_m` (cell size in metres).")
        radius_cells = radius_m / res
    kk = 0
    if k is not None:
        if int(k) != k or k < 1:
            raise ValidationError(f"`k` must be a positive integer; got {k!r}.")
        kk = int(k)
    if spec is not None:
        rows, cols = spec.rowcol_float(gx, gy)
    else:
        rows, cols = gy, gx
    kernel, used = select("idw", backend)
    args = (np.ascontiguousarray(rows), np.ascontiguousarray(cols), gv, float(power), radius_cells, kk, float(nodata))
    if chunks is not None:
        grid = _idw_dask(kernel, shape, *args, chunks=chunks)
    else:
        grid = kernel(shape, *args)
    if spec is None:
        return grid
    units = None
    if inp is not None:
        units = inp.template.attrs.get("units")
    attrs = {"backend": used, "long_name": "inverse-distance-weighted surface", "idw_power": float(power)}
    if chunks is not None:
        if units is not None:
            attrs["units"] = units
        return _lazy_dataarray(grid, spec=spec, template=None if inp is None else inp.template, name="idw",
                               attrs=attrs)
    if inp is not None:
        return wrap_like(inp, grid, name="idw", units=units, attrs=attrs)
    return spec.to_dataarray(grid, name="idw", attrs=attrs)


def _idw_dask(kernel, shape, rows, cols, values, power, radius_cells, k, nodata, *, chunks):
    """Lazy IDW surface (a dask array): each chunk gets the gauges within range of its window."""

    def window(r0, r1, c0, c1):
        if math.isinf(radius_cells):
            sel = slice(None)
        else:
            dy = np.maximum(np.maximum(r0 - rows, rows - (r1 - 1)), 0.0)
            dx = np.maximum(np.maximum(c0 - cols, cols - (c1 - 1)), 0.0)
            sel = np.flatnonzero(dx * dx + dy * dy <= radius_cells * radius_cells * (1 + 1e-12))
            if sel.size == 0:
                return np.full((r1 - r0, c1 - c0), nodata, np.float32)
        return kernel((r1 - r0, c1 - c0), rows[sel] - r0, cols[sel] - c0, values[sel], power, radius_cells, k,
                      nodata)

    return _map_windows(window, _normalize_chunks(chunks, shape), np.float32)
