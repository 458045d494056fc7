"""Statistics of a value raster per zone (label raster or polygons), in memory or on dask.

Dask adapter (a dask-backed value raster): no halo, each chunk reads only its own cells. The
zone ids are collected first (one pass over the labels), then every chunk adds its partial
count, sum, min, max and count-above per zone, and the partials are combined in chunk
order. Counts, min and max are exact; sums agree with the in-memory result to float64
rounding. The result is a small DataFrame, so it is computed, not lazy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import GridAlignmentError, InputTypeError, ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray
from cimtwin.grid.chunked import _template_of
from cimtwin.grid.spec import GridSpec
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.zonal")

__all__ = ["zonal_stats"]

STATS = ("count", "sum", "mean", "min", "max", "share_above")
_DENSE_LIMIT = 1 << 24  # zone ids up to this map straight to bins; larger/negative ids go through np.unique


def zonal_stats(values: Any, zones: Any, *, stats=("count", "sum", "mean", "min", "max"), threshold: float | None = None,
                nodata: float | None = None, zones_nodata: int | None = None, spec: GridSpec | None = None,
                id_column: str | None = None, backend: str = "auto"):
    """Count, sum, mean, min, max (and share above a threshold) of ``values`` per zone.

    Parameters
    ----------
    values : (rows, cols) array or DataArray
        NaN cells and cells equal to ``nodata`` are left out of every statistic.
    zones : integer (rows, cols) array/DataArray, or a GeoDataFrame of polygons
        Label raster of zone ids (same shape as ``values``), or polygons rasterized onto the
        grid of ``values`` (or ``spec``) by cell centre, labelled by ``id_column`` (default:
        the index, which must be integer).
    stats : sequence of {"count", "sum", "mean", "min", "max", "share_above"}
    threshold : float, optional
        Adds ``share_above``: the fraction in [0, 1] of a zone's valid cells with value > threshold.
    nodata : float, optional
        Value marking missing cells in ``values``.
    zones_nodata : int, optional
        Zone id marking cells outside every zone (skipped).
    spec : GridSpec, optional
        Grid for rasterizing polygon zones when ``values`` is a numpy array.
    backend : {"auto", "cpu", "cuda"}

    Returns
    -------
    pandas.DataFrame indexed by zone id (``zone``), one column per statistic, one row per
    zone present in the raster. ``count`` is the number of valid cells; a zone with none has
    ``count`` 0, ``sum`` 0 and NaN for ``mean``/``min``/``max``/``share_above``.

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import zonal_stats
    >>> df = zonal_stats(np.array([[1.0, 2.0], [3.0, np.nan]]), np.array([[1, 1], [2, 2]]))
    >>> df["mean"].tolist()
    [1.5, 3.0]
    """
    stats = tuple(stats)
    for s in stats:
        if s not in STATS:
            raise ValidationError(f"Unknown statistic {s!r}; choose from {list(STATS)}.")
    if threshold is not None and "share_above" not in stats:
        stats = stats + ("share_above",)
    if "share_above" in stats and threshold is None:
        raise ValidationError("`share_above` needs `threshold=`.")
    lazy = is_dask_dataarray(values)
    if lazy:  # per-chunk partials, combined (docs/scale.md)
        vals, vin = _template_of(values, "values")
    else:
        vin = as_grid(values, arg="values")
        vals = vin.values
    if vals.dtype.kind not in "fiub":
        raise InputTypeError(f"`values` must be numeric; got dtype {vals.dtype}.")
    if vals.dtype.kind != "f":
        vals = vals.astype("float64")

    if hasattr(zones, "geometry") and hasattr(zones, "crs"):
        from cimtwin.grid.rasterize import rasterize

        grid = spec or vin.spec
        if grid is None:
            raise ValidationError("Polygon zones need a grid: pass `values` as a DataArray or give `spec=`.")
        if grid.shape != vals.shape:
            raise GridAlignmentError(f"`spec` shape {grid.shape} does not match `values` {vals.shape}.")
        ids = zones[id_column] if id_column is not None else zones.index
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise InputTypeError("Polygon zone ids must be integers; set `id_column=` to an integer column.")
        fill = int(ids.min()) - 1
        zarr = rasterize(grid, zones, values=ids.astype("int64"), fill=fill, dtype="int64").values
        zones_nodata = fill
    else:
        if lazy and is_dask_dataarray(zones):
            zarr, zin = _template_of(zones, "zones")
        else:
            zin = as_grid(zones, arg="zones")
            zarr = zin.values
        if zarr.dtype.kind == "b":
            zarr = zarr.astype("int64")
        if zarr.dtype.kind not in "iu":
            raise InputTypeError(f"`zones` must be an integer label raster; got dtype {zarr.dtype}. "
                                 "Cast it (e.g. `zones.astype('int32')`) after marking no-zone cells.")
        if zarr.shape != vals.shape:
            raise GridAlignmentError(f"`zones` shape {zarr.shape} does not match `values` shape {vals.shape}.")
        if vin.spec is not None and zin.spec is not None:
            vin.spec.require_aligned(zin.spec, what="zone raster")
    units = vin.template.attrs.get("units") if vin.is_dataarray else None
    if lazy:
        return _zonal_stats_dask(vals, zarr, stats=stats, threshold=threshold, nodata=nodata,
                                 zones_nodata=zones_nodata, units=units, backend=backend)

    from cimtwin.kernels.zonal import id_range

    flat_z = zarr.ravel()
    kernel, used = select("zonal", backend)
    lo_id, hi_id = id_range(flat_z) if flat_z.size else (0, -1)
    if lo_id >= 0 and hi_id < _DENSE_LIMIT:
        # ids are their own bins; a no-zone id is moved out of range by masking
        nbins = hi_id + 1
        bins = flat_z if flat_z.dtype in (np.int32, np.int64) else flat_z.astype(np.int64)
        if zones_nodata is not None and 0 <= zones_nodata < nbins:
            bins = np.where(flat_z == zones_nodata, -1, bins)
        ids = np.arange(nbins)
    else:
        ids, inverse = np.unique(flat_z, return_inverse=True)
        bins = inverse.astype(np.int64).ravel()
        nbins = ids.size
        if zones_nodata is not None:
            hit = np.flatnonzero(ids == zones_nodata)
            if hit.size:
                bins = np.where(bins == hit[0], -1, bins)
    # the CPU kernel skips the min/max updates when neither is asked for
    opts = {"minmax": bool({"min", "max"} & set(stats))} if used == "cpu" else {}
    cnt, tot, lo, hi, above, cells = kernel(vals.ravel(), bins, nbins, nodata, threshold, **opts)
    sel = cells > 0  # zones present in the raster (valid values or not)
    ids = ids[sel]
    cnt, tot, lo, hi, above = cnt[sel], tot[sel], lo[sel], hi[sel], above[sel]
    return zonal_table(ids, cnt, tot, lo, hi, above, stats=stats, backend=used, units=units)


def _zonal_stats_dask(vals, zarr, *, stats, threshold, nodata, zones_nodata, units, backend: str):
    """Zonal table of a validated dask value raster and label raster (numpy or dask), by chunk partials."""
    import dask
    import dask.array as da

    zarr = da.asarray(zarr).rechunk(vals.chunks)
    ids = np.asarray(da.unique(zarr).compute())
    if zones_nodata is not None:
        ids = ids[ids != zones_nodata]
    kernel, used = select("zonal", backend)
    nbins = ids.size

    def partial(v, z):
        v = np.ascontiguousarray(v).ravel()
        z = np.asarray(z).ravel()
        pos = np.searchsorted(ids, z)
        ok = (pos < nbins) & (ids[np.minimum(pos, nbins - 1)] == z) if nbins else np.zeros(z.shape, bool)
        bins = np.where(ok, pos, -1).astype(np.int64)
        return kernel(v, bins, nbins, nodata, threshold)

    parts = [dask.delayed(partial)(v, z) for v, z in zip(vals.to_delayed().ravel(), zarr.to_delayed().ravel())]
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
    return zonal_table(ids, cnt, tot, lo, hi, above, stats=stats, backend=used, units=units)


def zonal_table(ids, cnt, tot, lo, hi, above, *, stats, backend: str, units: str | None = None):
    """The zonal result table from per-zone accumulators (in memory and on dask)."""
    import pandas as pd

    empty = cnt == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        table = {
            "count": cnt,
            "sum": tot,
            "mean": np.where(empty, np.nan, tot / np.maximum(cnt, 1)),
            "min": np.where(empty, np.nan, lo),
            "max": np.where(empty, np.nan, hi),
            "share_above": np.where(empty, np.nan, above / np.maximum(cnt, 1)),
        }
    df = pd.DataFrame({s: table[s] for s in stats}, index=pd.Index(ids, name="zone"))
    df.attrs["backend"] = backend
    if units is not None:
        df.attrs["units"] = units
    return df
