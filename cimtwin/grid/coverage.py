"""How many sources (disks or camera/antenna sectors) cover each cell, in memory or on dask.

Dask adapter (``chunks=``, or a dask-backed DataArray template): there is no input raster,
so no halo. The sources are validated once on the client; each chunk's task keeps the
sources whose disk (radius R) reaches its window, shifts them to the chunk's origin and
counts them with the same kernel (and the same stamp/sweep choice rule) as in memory, so the
grid is never materialized whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray, wrap_like
from cimtwin.grid.chunked import _lazy_dataarray, _map_windows, _normalize_chunks, _template_of
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.coverage")

__all__ = ["coverage_count", "coverage_count_points"]


def _as_vector(value: Any, n: int, *, arg: str) -> np.ndarray:
    arr = np.asarray(value, dtype="float64")
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValidationError(f"`{arg}` must be a scalar or have one value per source ({n}); got shape {arr.shape}.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValidationError(f"`{arg}` has non-finite values at sources {bad[:10].tolist()}; drop or fix them.")
    return arr


def _shape(shape: Any) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"`shape` must be (rows, cols); got {shape!r}.") from exc
    if rows < 1 or cols < 1:
        raise ValidationError(f"`shape` must be positive; got {shape!r}.")
    return rows, cols


def coverage_count(shape: Any, rows: Any, cols: Any, radius_cells: Any, *, azimuth_deg: Any = None,
                   hfov_deg: Any = None, backend: str = "auto", method: str = "auto", chunks: Any = None):
    """Number of sources within ``radius_cells`` of each cell (optionally within a sector).

    A cell (i, j) counts source s when ``(i - rows[s])**2 + (j - cols[s])**2 <= radius[s]**2``
    (cell centres at integer positions; fractional source positions allowed). With
    ``azimuth_deg`` and ``hfov_deg`` it must also lie within ``hfov_deg / 2`` of the azimuth
    (0 = north = decreasing row, 90 = east, clockwise); the sector boundary is inclusive and
    the apex cell always counts; ``hfov_deg >= 360`` is a full disk. Sources outside the
    grid still count for the cells their disk reaches.

    Parameters
    ----------
    shape : (rows, cols), GridSpec or DataArray
        The grid. With a GridSpec or DataArray template the result is a DataArray on that
        grid (``units="count"``, ``backend`` in attrs); with a plain shape, a numpy array.
        A dask-backed DataArray template gives a lazy result on its chunks.
    rows, cols : array-like of float or int
        Source positions in cell units.
    radius_cells : float or array-like
        Range in cells, > 0; a scalar or one per source.
    azimuth_deg, hfov_deg : array-like or float, optional
        Both or neither: sector direction and full field-of-view angle, per source.
    backend : {"auto", "cpu", "cuda"}
    method : {"auto", "stamp", "sweep"}
        ``"stamp"`` adds 1 along every covered scanline (cost ~ N π R²); ``"sweep"`` marks
        the ends of each scanline and prefix-sums the rows (cost ~ N R + cells; disks only).
        ``"auto"`` picks the cheaper by a cost model (per chunk when chunked).
    chunks : int or tuple, optional
        Compute lazily with dask, one task per chunk (dask's chunk spec, e.g. ``4096`` or
        ``(2048, 4096)``): the result is a dask array (plain shape) or a dask-backed
        DataArray (GridSpec or DataArray template), equal cell for cell to the in-memory one.

    Returns
    -------
    int32 numpy array of ``shape`` (or DataArray, see ``shape``; lazy with ``chunks``).
    Counts are exact up to 2**31 - 1.

    Examples
    --------
    >>> from cimtwin.grid import coverage_count
    >>> coverage_count((5, 5), [2, 2], [1, 3], 1).tolist()[2]
    [1, 1, 2, 1, 1]
    >>> lazy = coverage_count((100, 100), [10, 50], [10, 50], 5, chunks=40)
    >>> int(lazy.sum().compute())
    162
    """
    spec = inp = None
    if isinstance(shape, GridSpec):
        spec = shape
        shape = spec.shape
    elif hasattr(shape, "dims"):
        if is_dask_dataarray(shape):
            data, inp = _template_of(shape, "shape")
            chunks = data.chunks if chunks is None else chunks
        else:
            inp = as_grid(shape, arg="shape")
        if inp.spec is None:
            raise ValidationError("A DataArray `shape` template needs `x`/`y` coordinates.")
        spec = inp.spec
        shape = spec.shape
    nrows, ncols = _shape(shape)
    r = np.asarray(rows, dtype="float64").ravel()
    c = np.asarray(cols, dtype="float64").ravel()
    if r.shape != c.shape:
        raise ValidationError(f"`rows` and `cols` must have the same length; got {r.shape[0]} and {c.shape[0]}.")
    n = r.shape[0]
    r = _as_vector(r, n, arg="rows")
    c = _as_vector(c, n, arg="cols")
    radius = _as_vector(radius_cells, n, arg="radius_cells")
    bad = np.flatnonzero(radius <= 0)
    if bad.size:
        raise ValidationError(f"`radius_cells` must be > 0; sources {bad[:10].tolist()} have {radius[bad[:3]].tolist()}.")
    if (azimuth_deg is None) != (hfov_deg is None):
        raise ValidationError("Give both `azimuth_deg` and `hfov_deg` for sectors, or neither for disks.")
    az = hf = None
    if azimuth_deg is not None:
        az = _as_vector(azimuth_deg, n, arg="azimuth_deg") % 360.0
        hf = _as_vector(hfov_deg, n, arg="hfov_deg")
        bad = np.flatnonzero(hf <= 0)
        if bad.size:
            raise ValidationError(f"`hfov_deg` must be > 0 (full angle in degrees); sources {bad[:10].tolist()}.")
    if method not in ("auto", "stamp", "sweep"):
        raise ValidationError(f"`method` must be 'auto', 'stamp' or 'sweep'; got {method!r}.")
    kernel, used = select("coverage_count", backend)
    if chunks is not None:
        counts = _coverage_count_dask((nrows, ncols), r, c, radius, az, hf, kernel=kernel, method=method,
                                      chunks=chunks)
    else:
        counts = _count(kernel, (nrows, ncols), r, c, radius, az, hf, method)
    if spec is None:
        return counts
    attrs = {"units": "count", "backend": used}
    if chunks is not None:
        return _lazy_dataarray(counts, spec=spec, template=None if inp is None else inp.template,
                               name="coverage_count", attrs=attrs)
    if inp is None:
        return spec.to_dataarray(counts, name="coverage_count", attrs=attrs)
    return wrap_like(inp, counts, name="coverage_count", units="count", attrs={"backend": used})


def _count(kernel, shape, r, c, radius, az, hf, method: str) -> np.ndarray:
    """Counts of validated sources on a grid of ``shape`` (the whole grid or one chunk)."""
    from cimtwin.kernels.coverage import choose_strategy

    strategy = method
    if method == "auto":
        mean_r = float(radius.mean()) if r.size else 0.0
        strategy = choose_strategy(shape[0] * shape[1], r.size, mean_r, az is not None)
    return kernel(shape, r, c, radius, az, hf, strategy)


def _coverage_count_dask(shape, r, c, radius, az, hf, *, kernel, method: str, chunks):
    """Lazy counts (a dask array): each chunk counts the sources whose disk reaches it."""

    def window(r0, r1, c0, c1):
        near = (r + radius >= r0) & (r - radius <= r1 - 1) & (c + radius >= c0) & (c - radius <= c1 - 1)
        sel = np.flatnonzero(near)
        return _count(kernel, (r1 - r0, c1 - c0), r[sel] - r0, c[sel] - c0, radius[sel],
                      None if az is None else az[sel], None if hf is None else hf[sel], method)

    return _map_windows(window, _normalize_chunks(chunks, shape), np.int32)


@requires_metres("spec")
def coverage_count_points(spec: GridSpec, x: Any, y: Any, *, radius_m: Any, azimuth_deg: Any = None,
                          hfov_deg: Any = None, backend: str = "auto", chunks: Any = None):
    """:func:`coverage_count` for points in the grid's CRS; returns a DataArray on ``spec``.

    ``radius_m`` (scalar or per point) is converted with the cell size; a geographic CRS is
    an error. The result has ``units="count"``. With ``chunks`` (dask's chunk spec) it is a
    lazy dask-backed DataArray, computed chunk by chunk (see :func:`coverage_count`).

    Examples
    --------
    >>> from cimtwin.grid import GridSpec, coverage_count_points
    >>> spec = GridSpec.from_bounds((0, 0, 100, 100), res_m=10, crs="EPSG:4527")
    >>> int(coverage_count_points(spec, [50], [50], radius_m=20).sum())
    12
    >>> big = GridSpec.from_bounds((0, 0, 1000, 1000), res_m=10, crs="EPSG:4527")
    >>> int(coverage_count_points(big, [500], [500], radius_m=50, chunks=32).sum())
    80
    """
    if not isinstance(spec, GridSpec):
        raise ValidationError(f"`spec` must be a GridSpec; got {type(spec).__name__}.")
    res = spec.res_m
    r, c = spec.rowcol_float(np.asarray(x, dtype="float64").ravel(), np.asarray(y, dtype="float64").ravel())
    radius = np.asarray(radius_m, dtype="float64") / res
    return coverage_count(spec, r, c, radius, azimuth_deg=azimuth_deg, hfov_deg=hfov_deg, backend=backend,
                          chunks=chunks)
