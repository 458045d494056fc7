"""Ponding of runoff in depressions (Fill-Spill-Merge); in memory only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import GridAlignmentError, ValidationError
from cimtwin.grid._array import as_grid, resolve_res_m, wrap_like
from cimtwin.grid._dem import prepare_dem
from cimtwin.kernels._dispatch import select

__all__ = ["ponding_depth", "PondingResult"]


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
