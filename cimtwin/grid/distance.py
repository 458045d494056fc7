"""Euclidean distance to the nearest source cell, with the nearest source's index.

Dask adapter (a dask-backed mask, ``max_distance_m`` required): each chunk is computed on
the mask extended by a halo of ``ceil(max_distance_m / res_m)`` cells (``map_overlap``), so
every source within range of a chunk cell is seen, and keeps its own cells; nearest-source
indices are turned into global flat indices. Without a maximum the nearest source can be
anywhere, so a dask mask is refused with a request to ``.compute()`` it first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray, resolve_res_m, wrap_like
from cimtwin.grid.chunked import _lazy_dataarray, _map_overlap_core, _template_of
from cimtwin.kernels._dispatch import add_provider, select

add_provider("cpu", "cimtwin.kernels.distance")

__all__ = ["distance"]


@requires_metres("mask")
def distance(mask: Any, *, res_m: float | None = None, return_index: bool = False,
             max_distance_m: float | None = None, backend: str = "auto"):
    """Distance in metres from every cell to the nearest True cell of ``mask``.

    Exact Euclidean distance between cell centres (separable Felzenszwalb–Huttenlocher
    transform, parallel), equal to ``scipy.ndimage.distance_transform_edt(~mask) * res_m``
    to float32 precision.

    Parameters
    ----------
    mask : (rows, cols) bool array or DataArray
        Source cells (True). Numeric masks are read as ``mask != 0``; NaN is an error.
        A mask with no True cell is an error: there is nothing to measure from.
    res_m : float, optional
        Cell size in metres; required for numpy input, taken from a DataArray's grid.
    return_index : bool
        Also return the flat index (``row * cols + col``, int64) of the nearest source, so a
        nearest-gauge or Thiessen map is ``values.ravel()[index]``. Ties between equally near
        sources may resolve differently from scipy.
    max_distance_m : float, optional
        Cells farther than this get ``inf`` (and index -1). Required for a dask-backed mask,
        which is then computed chunk by chunk with a halo of this width (lazy result).
    backend : {"auto", "cpu", "cuda"}

    Returns
    -------
    distance : float32 array or DataArray (``units="m"``)
    index : int64 array or DataArray, only when ``return_index``

    Examples
    --------
    >>> import numpy as np
    >>> from cimtwin.grid import distance
    >>> m = np.zeros((3, 4), bool); m[0, 0] = True
    >>> distance(m, res_m=10.0)[2, 3].round(3)
    np.float32(36.056)
    """
    lazy = is_dask_dataarray(mask)
    if lazy:
        if max_distance_m is None:
            raise InputTypeError(
                "distance() without `max_distance_m` is a global computation (the nearest source can be "
                "anywhere), so it does not run chunk by chunk on a dask-backed mask. Give "
                "`max_distance_m=` (each chunk then needs only a halo of that width) or load the mask "
                "with `mask.compute()` first.")
        values, inp = _template_of(mask, "mask")
    else:
        inp = as_grid(mask, arg="mask")
        values = inp.values
    if values.dtype != np.bool_:  # numpy or dask alike; a dask check reads the mask once
        if values.dtype.kind == "f" and bool(np.isnan(values).any()):
            raise ValidationError("`mask` contains NaN; give a boolean mask of source cells (True = source).")
        values = values != 0
    res = resolve_res_m(inp, res_m)
    if max_distance_m is None:
        max_d = math.inf
    else:
        max_d = float(max_distance_m)
        if not max_d > 0:
            raise ValidationError(f"`max_distance_m` must be > 0; got {max_distance_m!r}.")
    if not bool(values.any()):
        raise ValidationError(
            "`mask` has no True cell, so there is no source to measure distance from. "
            "Check the mask (e.g. that the sources fall inside the grid)."
        )
    kernel, used = select("distance", backend)
    attrs = {"backend": used, "long_name": "distance to nearest source"}
    i_attrs = {"backend": used, "long_name": "flat index of nearest source (-1 = none)"}
    if lazy:
        dist, index = _distance_dask(kernel, values, res, max_d, bool(return_index))
        d_out = _lazy_dataarray(dist, spec=inp.spec, template=inp.template, name="distance",
                                attrs={**attrs, "units": "m"})
        if not return_index:
            return d_out
        return d_out, _lazy_dataarray(index, spec=inp.spec, template=inp.template, name="nearest_index",
                                      attrs={**i_attrs, "units": "1"})
    dist, index = kernel(np.ascontiguousarray(values), res, max_d, bool(return_index))
    d_out = wrap_like(inp, dist, name="distance", units="m", attrs=attrs)
    if not return_index:
        return d_out
    i_out = wrap_like(inp, index, name="nearest_index", units="1", attrs=i_attrs)
    return d_out, i_out


def _distance_dask(kernel, mask, res: float, max_d: float, return_index: bool):
    """Lazy (distance, index or None) of a validated boolean dask mask, with a halo of the range."""
    depth = int(math.ceil(max_d / res))
    ncols = mask.shape[1]

    def run(ext, r0, c0, er0, ec0, h, w, want_index):
        lr, lc = r0 - er0, c0 - ec0
        if not ext.any():
            return np.full((h, w), -1, np.int64) if want_index else np.full((h, w), np.inf, np.float32)
        dist, idx = kernel(np.ascontiguousarray(ext), res, max_d, want_index)
        if not want_index:
            return dist[lr:lr + h, lc:lc + w]
        idx = idx[lr:lr + h, lc:lc + w]
        ecols = ext.shape[1]
        return np.where(idx >= 0, (idx // ecols + er0) * ncols + (idx % ecols + ec0), -1)

    dist = _map_overlap_core(lambda *a: run(*a, False), mask, depth, np.float32)
    index = _map_overlap_core(lambda *a: run(*a, True), mask, depth, np.int64) if return_index else None
    return dist, index
