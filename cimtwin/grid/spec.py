"""GridSpec: the affine transform, shape and CRS of a north-up raster.

Conventions: row 0 is the northern edge and rows increase southward; a cell is referred to
by its centre; DataArrays carry ``y`` (descending) and ``x`` cell-centre coordinates and a
rioxarray-style ``spatial_ref`` coordinate, so ``.rio`` works on every raster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine

from cimtwin._validate import as_crs, require_positive, require_projected
from cimtwin.errors import GridAlignmentError, InputTypeError, ValidationError

__all__ = ["GridSpec"]


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid: ``transform`` (affine), ``shape`` (rows, cols) and ``crs``.

    Examples
    --------
    >>> from cimtwin.grid import GridSpec
    >>> spec = GridSpec.from_bounds((0, 0, 100, 50), res_m=10, crs="EPSG:4527")
    >>> spec.shape
    (5, 10)
    >>> spec.xy(0, 0)   # centre of the north-west cell
    (5.0, 45.0)
    """

    transform: Affine
    shape: tuple[int, int]
    crs: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.transform, Affine):
            raise InputTypeError(f"`transform` must be an affine.Affine; got {type(self.transform).__name__}.")
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValidationError(
                f"GridSpec needs a north-up transform (no rotation, a > 0, e < 0); got {tuple(t)[:6]}."
            )
        rows, cols = (int(v) for v in self.shape)
        if rows < 1 or cols < 1:
            raise ValidationError(f"GridSpec shape must be positive; got {self.shape}.")
        object.__setattr__(self, "shape", (rows, cols))
        if self.crs is not None:
            object.__setattr__(self, "crs", as_crs(self.crs))

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_bounds(cls, bounds: tuple[float, float, float, float], *, res_m: float, crs: Any = None) -> GridSpec:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax) with square cells of ``res_m``.

        The north-west corner is at (xmin, ymax); the grid extends east and south to cover
        the bounds fully.
        """
        res = require_positive(res_m, arg="res_m")
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        if not (xmax > xmin and ymax > ymin):
            raise ValidationError(f"`bounds` must be (xmin, ymin, xmax, ymax) with max > min; got {bounds}.")
        if crs is not None:
            require_projected(crs, arg="crs", what="a grid in metres")
        cols = max(1, math.ceil((xmax - xmin) / res - 1e-9))
        rows = max(1, math.ceil((ymax - ymin) / res - 1e-9))
        return cls(Affine(res, 0.0, xmin, 0.0, -res, ymax), (rows, cols), crs)

    @classmethod
    def from_dataarray(cls, da) -> GridSpec:
        """The grid of a DataArray with ``y``/``x`` cell-centre coordinates."""
        if "x" not in da.coords or "y" not in da.coords:
            raise ValidationError("The DataArray needs `x` and `y` coordinates (cell centres).")
        x = np.asarray(da["x"].values, dtype="float64")
        y = np.asarray(da["y"].values, dtype="float64")
        if x.size < 1 or y.size < 1:
            raise ValidationError("The DataArray has no cells.")
        resx = float(x[1] - x[0]) if x.size > 1 else float(da.attrs.get("res_m", 1.0))
        resy = float(y[0] - y[1]) if y.size > 1 else resx
        if resx <= 0 or resy <= 0:
            raise ValidationError("Raster coordinates must have x increasing and y decreasing (north-up).")
        crs = None
        if "spatial_ref" in da.coords:
            wkt = da["spatial_ref"].attrs.get("crs_wkt") or da["spatial_ref"].attrs.get("spatial_ref")
            crs = wkt
        crs = crs or da.attrs.get("crs")
        t = Affine(resx, 0.0, x[0] - resx / 2, 0.0, -resy, y[0] + resy / 2)
        return cls(t, (y.size, x.size), crs)

    # -- properties -----------------------------------------------------------------------
    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units, both positive."""
        return (self.transform.a, -self.transform.e)

    @property
    def res_m(self) -> float:
        """Cell size in metres (square cells); an error for a geographic CRS or non-square cells."""
        if self.crs is not None:
            require_projected(self.crs, arg="grid crs", what="a cell size in metres")
        rx, ry = self.res
        if not math.isclose(rx, ry, rel_tol=1e-9):
            raise ValidationError(f"Cells are not square ({rx} × {ry}); metric kernels need square cells.")
        return rx

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the outer cell edges."""
        t = self.transform
        rows, cols = self.shape
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates, west to east."""
        return self.transform.c + (np.arange(self.shape[1]) + 0.5) * self.transform.a

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates, north to south (descending)."""
        return self.transform.f + (np.arange(self.shape[0]) + 0.5) * self.transform.e

    # -- coordinates ----------------------------------------------------------------------
    def xy(self, row, col):
        """Cell-centre coordinates of (row, col); scalars or arrays."""
        t = self.transform
        x = t.c + (np.asarray(col, dtype="float64") + 0.5) * t.a
        y = t.f + (np.asarray(row, dtype="float64") + 0.5) * t.e
        if np.ndim(x) == 0:
            return float(x), float(y)
        return x, y

    def rowcol_float(self, x, y):
        """Fractional (row, col) of points in cell units, cell centres at integers."""
        t = self.transform
        col = (np.asarray(x, dtype="float64") - t.c) / t.a - 0.5
        row = (np.asarray(y, dtype="float64") - t.f) / t.e - 0.5
        return row, col

    def rowcol(self, x, y):
        """(row, col) of the cells holding points (int64); may fall outside the grid."""
        row, col = self.rowcol_float(x, y)
        return np.floor(row + 0.5).astype("int64"), np.floor(col + 0.5).astype("int64")

    def contains_rowcol(self, row, col) -> np.ndarray:
        row = np.asarray(row)
        col = np.asarray(col)
        return (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])

    # -- alignment ------------------------------------------------------------------------
    def is_aligned(self, other: GridSpec, *, tol: float = 1e-6) -> bool:
        """True when ``other`` has the same shape, transform (within ``tol`` of a cell) and CRS."""
        if self.shape != other.shape:
            return False
        a, b = self.transform, other.transform
        cell = max(abs(a.a), abs(a.e))
        if any(abs(p - q) > tol * cell for p, q in zip(tuple(a)[:6], tuple(b)[:6])):
            return False
        if self.crs is not None and other.crs is not None and not self.crs.equals(other.crs):
            return False
        return True

    def require_aligned(self, other: GridSpec, *, what: str = "raster") -> None:
        """Raise GridAlignmentError naming the differences when ``other`` is not aligned."""
        if self.is_aligned(other):
            return
        raise GridAlignmentError(
            f"The {what} is not aligned to the model grid: shape {other.shape} vs {self.shape}, "
            f"transform {tuple(other.transform)[:6]} vs {tuple(self.transform)[:6]}, "
            f"crs {getattr(other.crs, 'srs', other.crs)} vs {getattr(self.crs, 'srs', self.crs)}. "
            "Resample it onto the model grid first, e.g. `da.rio.reproject_match(model.raster('dem'))`."
        )

    # -- DataArray ------------------------------------------------------------------------
    def to_dataarray(self, values: np.ndarray, *, name: str | None = None, attrs: dict | None = None,
                     nodata: Any = None):
        """Wrap a (rows, cols) array as a DataArray on this grid (coords, CRS, attrs)."""
        import rioxarray  # noqa: F401  (registers the .rio accessor on every raster we return)
        import xarray as xr

        values = np.asarray(values)
        if values.shape != self.shape:
            raise GridAlignmentError(f"Array shape {values.shape} does not match the grid {self.shape}.")
        coords: dict[str, Any] = {"y": self.y, "x": self.x}
        da = xr.DataArray(values, dims=("y", "x"), coords=coords, name=name, attrs=dict(attrs or {}))
        if self.crs is not None:
            da = da.assign_coords(spatial_ref=xr.DataArray(0, attrs=_spatial_ref_attrs(self)))
            da.attrs.setdefault("crs", self.crs.to_string())
        if nodata is not None:
            da.attrs["_FillValue"] = nodata
        da.attrs.setdefault("res_m", float(self.transform.a))
        return da


def _spatial_ref_attrs(spec: GridSpec) -> dict:
    """The attributes rioxarray writes on its ``spatial_ref`` coordinate."""
    attrs = spec.crs.to_cf()
    attrs["crs_wkt"] = spec.crs.to_wkt()
    attrs["spatial_ref"] = attrs["crs_wkt"]
    attrs["GeoTransform"] = " ".join(str(v) for v in spec.transform.to_gdal())
    return attrs
