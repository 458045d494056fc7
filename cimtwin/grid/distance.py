"""Euclidean distance to the nearest source cell, with the nearest source's index."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimtwin._validate import requires_metres
from cimtwin.errors import ValidationError
from cimtwin.grid._array import as_grid, is_dask_dataarray, resolve_res_m, wrap_like
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
        Cells farther than this get ``inf`` (and index -1).
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
    if is_dask_dataarray(mask):  # chunked run with a halo of max_distance_m (docs/scale.md)
        from cimtwin.grid import chunked

        return chunked.distance(mask, res_m=res_m, return_index=return_index, max_distance_m=max_distance_m,
                                backend=backend)
    inp = as_grid(mask, arg="mask")
    values = inp.values
    if values.dtype != np.bool_:
        if values.dtype.kind == "f" and np.isnan(values).any():
            raise ValidationError("`mask` contains NaN; give a boolean mask of source cells (True = source).")
        values = values != 0
    res = resolve_res_m(inp, res_m)
    if max_distance_m is None:
        max_d = math.inf
    else:
        max_d = float(max_distance_m)
        if not max_d > 0:
            raise ValidationError(f"`max_distance_m` must be > 0; got {max_distance_m!r}.")
    if not values.any():
        raise ValidationError(
            "`mask` has no True cell, so there is no source to measure distance from. "
            "Check the mask (e.g. that the sources fall inside the grid)."
        )
    kernel, used = select("distance", backend)
    dist, index = kernel(np.ascontiguousarray(values), res, max_d, bool(return_index))
    attrs = {"backend": used, "long_name": "distance to nearest source"}
    d_out = wrap_like(inp, dist, name="distance", units="m", attrs=attrs)
    if not return_index:
        return d_out
    i_out = wrap_like(inp, index, name="nearest_index", units="1",
                      attrs={"backend": used, "long_name": "flat index of nearest source (-1 = none)"})
    return d_out, i_out
