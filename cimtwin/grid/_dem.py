"""DEM checks shared by the hydrology operations (validated once, in memory or on dask)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import GridAlignmentError, NodataError, ValidationError
from cimtwin.grid._array import GridInput, as_grid
from cimtwin.kernels._dispatch import add_provider

add_provider("cpu", "cimtwin.kernels.hydro")
add_provider("cpu", "cimtwin.kernels.ponding")

D8_CODES = {"E": 1, "SE": 2, "S": 4, "SW": 8, "W": 16, "NW": 32, "N": 64, "NE": 128}
D8_OUTLET = 0
D8_NODATA = 255


def dem_float(z: Any, *, arg: str = "dem"):
    """Elevations as float32/float64 (numpy or dask); other real dtypes become float64."""
    if not np.issubdtype(z.dtype, np.number) or np.issubdtype(z.dtype, np.complexfloating):
        raise ValidationError(f"`{arg}` must hold real numbers; got dtype {z.dtype}.")
    if z.dtype not in (np.float32, np.float64):
        z = z.astype(np.float64)
    return z


def holes_to_nan(z: np.ndarray, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(elevations with NaN at every hole, valid mask): a hole is NaN, inf or ``nodata``."""
    valid = np.isfinite(z)
    if nodata is not None:
        valid &= z != nodata
    if not valid.all():
        z = np.where(valid, z, np.nan).astype(z.dtype, copy=False)
    return z, valid


def prepare_dem(dem: Any, *, arg: str = "dem", nodata: float | None = None) -> tuple[GridInput, np.ndarray, np.ndarray]:
    """(input, float elevations with NaN holes, valid mask); the caller's array is untouched."""
    inp = as_grid(dem, arg=arg)
    z, valid = holes_to_nan(dem_float(inp.values, arg=arg), nodata)
    if not valid.any():
        raise NodataError(f"`{arg}` has no valid cells (all NaN or equal to nodata={nodata!r}).")
    return inp, np.ascontiguousarray(z), valid


def check_d8(d8, shape):
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


def dask_like(obj, z, *, arg: str):
    """A raster given with a dask DEM, as a dask array chunked like the DEM."""
    import dask.array as da

    data = obj.data if hasattr(obj, "dims") else obj
    if tuple(data.shape) != tuple(z.shape):
        raise GridAlignmentError(f"`{arg}` has shape {tuple(data.shape)} but the DEM has {tuple(z.shape)}.")
    return da.asarray(data).rechunk(z.chunks)
