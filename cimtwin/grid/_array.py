"""Array in, same kind out: unwrap numpy or DataArray inputs and wrap results to match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.grid.spec import GridSpec


@dataclass(frozen=True)
class GridInput:
    """A 2-D input made C-contiguous once, with what is needed to wrap the result."""

    values: np.ndarray
    spec: GridSpec | None  # None for plain numpy input
    template: Any  # the DataArray given, or None

    @property
    def is_dataarray(self) -> bool:
        return self.template is not None


def is_dask_dataarray(obj: Any) -> bool:
    data = getattr(obj, "data", None)
    return type(data).__module__.startswith("dask") if data is not None else False


def as_grid(obj: Any, *, arg: str, dtype: Any = None, copy: bool = False) -> GridInput:
    """Unwrap a 2-D numpy array or DataArray (dims y, x) into a contiguous array."""
    template = None
    spec = None
    if hasattr(obj, "dims") and hasattr(obj, "values"):
        if is_dask_dataarray(obj):
            # never materialize a chunked array behind the caller's back (docs/scale.md)
            raise InputTypeError(
                f"`{arg}` is a dask-backed DataArray, but this function needs the whole array in memory "
                f"(it is global, or has no chunked version). Load it with `{arg}.compute()` first; "
                "distance (with max_distance_m), idw, viewshed/cumulative_viewshed (with max_distance_m), "
                "zonal_stats, coverage_count/coverage_count_points (with chunks=) and the tiled hydrology "
                "(fill_depressions, flow_direction_d8, flow_accumulation, hand, depression_depth) run "
                "chunk by chunk (docs/scale.md).")
        if obj.ndim != 2:
            raise ValidationError(f"`{arg}` must be 2-D (y, x); got dims {obj.dims}.")
        template = obj
        if "x" in obj.coords and "y" in obj.coords:
            spec = GridSpec.from_dataarray(obj)
        values = obj.values
    elif isinstance(obj, np.ndarray):
        values = obj
    else:
        raise InputTypeError(f"`{arg}` must be a numpy array or xarray DataArray; got {type(obj).__name__}.")
    if values.ndim != 2:
        raise ValidationError(f"`{arg}` must be 2-D (rows, cols); got shape {values.shape}.")
    out = np.ascontiguousarray(values, dtype=dtype)
    if copy and out is values:
        out = out.copy()
    return GridInput(out, spec, template)


def wrap_like(inp: GridInput | None, values: np.ndarray, *, name: str, units: str | None = None,
              attrs: dict | None = None, spec: GridSpec | None = None):
    """Return ``values`` as the input's kind: numpy stays numpy, a DataArray gets coords and CRS."""
    if inp is None or not inp.is_dataarray:
        if spec is None:
            return values
        return spec.to_dataarray(values, name=name, attrs=_attrs(units, attrs))
    t = inp.template
    import xarray as xr

    out = xr.DataArray(values, dims=t.dims, coords=t.coords, name=name, attrs=_attrs(units, attrs))
    if "crs" in t.attrs:
        out.attrs.setdefault("crs", t.attrs["crs"])
    if "res_m" in t.attrs:
        out.attrs.setdefault("res_m", t.attrs["res_m"])
    return out


def _attrs(units: str | None, attrs: dict | None) -> dict:
    a = dict(attrs or {})
    if units is not None:
        a["units"] = units
    return a


def resolve_res_m(inp: GridInput, res_m: float | None) -> float:
    """Cell size in metres: explicit ``res_m`` or the DataArray's grid (which must be projected)."""
    from cimtwin._validate import require_positive

    if res_m is not None:
        if inp.spec is not None and inp.spec.crs is not None:
            inp.spec.res_m  # raises for a geographic CRS
        return require_positive(res_m, arg="res_m")
    if inp.spec is not None:
        return inp.spec.res_m
    raise ValidationError("`res_m` is required for numpy input (the cell size in metres).")
