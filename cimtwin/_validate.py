"""Checks shared by every layer of the package; each raises a CimtwinError with a fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from cimtwin.errors import CRSError, GeographicCRSError, ValidationError

__all__ = ["one_of", "require_projected", "as_crs", "close_matches", "require_positive", "format_ids",
           "crs_of", "require_metric_input", "requires_metres", "to_crs_of", "NODATA_SENTINELS",
           "check_dem_sentinels", "check_lonlat_ranges"]


def one_of(value: Any, allowed: Sequence[Any], *, arg: str) -> Any:
    """Return ``value`` if it is among ``allowed``, else raise a ValidationError listing them."""
    if value not in allowed:
        hint = close_matches(str(value), [str(a) for a in allowed])
        raise ValidationError(
            f"`{arg}` must be one of {list(allowed)}; got {value!r}.{hint}"
        )
    return value


def close_matches(name: str, candidates: Iterable[str], *, n: int = 3, cutoff: float = 0.5) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    candidates = [str(c) for c in candidates]
    matches = difflib.get_close_matches(name, candidates, n=n, cutoff=cutoff)
    if not matches:  # case alone differs (NAME for name): compare folded, report as spelt
        folded: dict[str, str] = {}
        for c in candidates:
            folded.setdefault(c.casefold(), c)
        hits = difflib.get_close_matches(name.casefold(), list(folded), n=n, cutoff=cutoff)
        matches = [folded[h] for h in hits]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def format_ids(ids: Iterable[Any], *, limit: int = 10) -> str:
    """Render feature ids for a message: the first ``limit`` and a count of the rest."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"[{shown}{more}]"


def as_crs(crs: Any, *, arg: str = "crs"):
    """Coerce anything pyproj understands into a ``pyproj.CRS``."""
    import pyproj

    if crs is None:
        raise CRSError(f"`{arg}` is missing. Set it, e.g. `gdf.set_crs('EPSG:4326')` for lon/lat data.")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"`{arg}` is not a CRS pyproj understands: {crs!r} ({exc}).") from exc


def require_projected(crs: Any, *, arg: str = "crs", what: str = "this computation"):
    """Return the CRS if it is projected (metres); a geographic CRS is an error."""
    crs = as_crs(crs, arg=arg)
    if crs.is_geographic:
        raise GeographicCRSError(
            f"`{arg}` must be a projected CRS in metres for {what}; got {crs.to_string()} "
            "(longitude/latitude in degrees). Reproject first, e.g. to the CGCS2000 "
            "Gauss-Kruger zone of the area (`cimtwin.model.default_crs(bounds)`)."
        )
    return crs


def require_positive(value: float, *, arg: str, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is finite and > 0 (or >= 0)."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"`{arg}` must be a number; got {value!r}.") from exc
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rule = "≥ 0" if allow_zero else "> 0"
        raise ValidationError(f"`{arg}` must be finite and {rule}; got {value!r}.")
    return v


# ---------------------------------------------------------------------------------------
# Metres in, metres out: one mechanism for every public function that measures
# ---------------------------------------------------------------------------------------
def crs_of(obj: Any):
    """The ``pyproj.CRS`` an object carries, or None when it carries none.

    Understands GeoDataFrame/GeoSeries (``.crs``), DataArray (``spatial_ref`` coordinate,
    ``attrs["crs"]`` or rioxarray), CityModel, GridSpec and RoadNetwork (``.crs``).
    """
    import pyproj

    crs = None
    if hasattr(obj, "dims") and hasattr(obj, "coords"):  # xarray
        if "spatial_ref" in obj.coords:
            attrs = obj["spatial_ref"].attrs
            crs = attrs.get("crs_wkt") or attrs.get("spatial_ref")
        crs = crs or obj.attrs.get("crs")
        if crs is None:
            try:
                crs = obj.rio.crs
            except Exception:  # rioxarray absent or no CRS written
                crs = None
    else:
        try:
            crs = getattr(obj, "crs", None)
        except Exception:  # a property that raises carries no usable CRS
            crs = None
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except Exception:
        return None


def _carriers(value: Any, depth: int = 0):
    """The objects inside ``value`` that may carry a CRS (itself, or items of a dict/list)."""
    if value is None or isinstance(value, (str, bytes, int, float)):
        return
    if depth == 0 and isinstance(value, dict):
        for v in value.values():
            yield from _carriers(v, 1)
        return
    if depth == 0 and isinstance(value, (list, tuple)):
        for v in value:
            yield from _carriers(v, 1)
        return
    yield value


def require_metric_input(value: Any, *, arg: str, what: str = "this computation") -> None:
    """Raise GeographicCRSError if ``value`` (or an item of a dict/list of them) is in lon/lat.

    Objects without a CRS pass: their coordinates are taken as metres.
    """
    for obj in _carriers(value):
        crs = crs_of(obj)
        if crs is not None and crs.is_geographic:
            raise GeographicCRSError(
                f"`{arg}` is in {crs.name or crs.to_string()} (longitude/latitude in degrees), but {what} "
                "measures in metres. Reproject it first, e.g. `gdf.to_crs(model.crs)` or to the CGCS2000 "
                "Gauss-Kruger zone of the area (`cimtwin.model.default_crs(lon, lat)`)."
            )


def requires_metres(*params: str, what: str | None = None):
    """Decorator: the named parameters must not be in a geographic (lon/lat) CRS.

    Every public function that measures in metres wears it, naming the parameters that
    carry geometry or rasters (GeoDataFrame, GeoSeries, DataArray, CityModel, GridSpec,
    RoadNetwork, or a dict/list of them). A lon/lat argument raises
    :class:`~cimtwin.errors.GeographicCRSError` before the function body runs. The
    decorated function lists the parameters in ``__cimtwin_metric__``, which the test of
    the public API reads.

    Examples
    --------
    >>> @requires_metres("points")
    ... def spread_m(points):
    ...     return float(points.total_bounds[2] - points.total_bounds[0])
    >>> spread_m.__cimtwin_metric__
    ('points',)
    """
    import functools
    import inspect

    if not params or not all(isinstance(p, str) for p in params):
        raise TypeError("requires_metres needs the names of the parameters to check, e.g. @requires_metres('roads').")

    def decorate(fn):
        sig = inspect.signature(fn)
        unknown = [p for p in params if p not in sig.parameters]
        if unknown:
            raise TypeError(f"requires_metres: {fn.__qualname__} has no parameter(s) {unknown}.")
        label = what or f"{fn.__qualname__}()"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = sig.bind_partial(*args, **kwargs)
            except TypeError:
                return fn(*args, **kwargs)  # let the function report its own signature error
            for p in params:
                if p in bound.arguments:
                    require_metric_input(bound.arguments[p], arg=p, what=label)
            return fn(*args, **kwargs)

        wrapper.__cimtwin_metric__ = tuple(params)
        return wrapper

    return decorate


def to_crs_of(gdf: Any, crs: Any, *, arg: str, target: str):
    """``gdf`` in ``crs``: reprojected when its CRS differs; an error when it has none.

    Inputs in different CRSs are never compared raw.
    """
    if crs is None:
        return gdf
    target_crs = as_crs(crs, arg=target)
    own = crs_of(gdf)
    if own is None:
        raise CRSError(f"`{arg}` has no CRS while `{target}` is in {target_crs.name}; set the CRS its "
                       f"coordinates are in (`{arg}.set_crs(...)`) so it can be reprojected.")
    if own.equals(target_crs):
        return gdf
    return gdf.to_crs(target_crs)


# ---------------------------------------------------------------------------------------
# Values that would be read silently wrong
# ---------------------------------------------------------------------------------------
#: Fill values GIS software writes for "no data"; read as elevations they ruin a DEM.
NODATA_SENTINELS = (-9999.0, -32768.0, -3.4e38, 3.4e38)


def check_dem_sentinels(values: Any, *, nodata: Any = None, name: str = "dem") -> None:
    """Raise NodataError if a DEM holds a no-data sentinel that no nodata tag declares.

    Sentinels: -9999, -32768 and ±3.4e38 (float32 extremes, anything beyond ±3.0e38).
    A value equal to the declared ``nodata`` is fine.

    Examples
    --------
    >>> import numpy as np
    >>> check_dem_sentinels(np.array([[10.0, -9999.0]]), nodata=-9999.0)   # declared: fine
    >>> check_dem_sentinels(np.array([[10.0, -9999.0]]))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimtwin.errors.NodataError: Raster 'dem' holds 1 cell(s) of -9999 ...
    """
    import numpy as np

    from cimtwin.errors import NodataError

    v = np.asarray(getattr(values, "values", values))
    if not np.issubdtype(v.dtype, np.number) or v.size == 0:
        return
    declared = None
    if nodata is not None:
        try:
            declared = float(nodata)
        except (TypeError, ValueError):
            declared = None
    with np.errstate(invalid="ignore"):
        checks = [(-9999.0, v == -9999), (-32768.0, v == -32768), (-3.4e38, v <= -3.0e38), (3.4e38, v >= 3.0e38)]
    for sentinel, hit in checks:
        if declared is not None and (declared == sentinel or (abs(sentinel) > 1e38 and abs(declared) > 3.0e38
                                                              and np.sign(declared) == np.sign(sentinel))):
            continue
        n = int(np.count_nonzero(hit))
        if n:
            rows, cols = np.nonzero(hit) if v.ndim == 2 else (np.nonzero(hit)[0], None)
            where = f" (first at row {int(rows[0])}, col {int(cols[0])})" if cols is not None else ""
            shown = f"{sentinel:g}" if abs(sentinel) < 1e38 else f"{sentinel:.1e}"
            raise NodataError(
                f"Raster {name!r} holds {n} cell(s) of {shown}{where}, a no-data fill value, but has no "
                f"nodata tag for it (nodata={nodata!r}), so they would be read as elevations. Declare it "
                f"(`da.rio.write_nodata({shown})` or `da.attrs['nodata'] = {shown}`) or mask the cells "
                f"(`da.where(da != {shown})`)."
            )


def check_lonlat_ranges(x_min: float, y_min: float, x_max: float, y_max: float, *, name: str) -> None:
    """Raise CRSError when coordinates declared lon/lat lie outside [-180, 180] × [-90, 90].

    When the x values would be valid latitudes and the y values valid longitudes (Chinese
    data often lists 纬度 before 经度), the message says the axes look swapped.

    Examples
    --------
    >>> check_lonlat_ranges(117.0, 36.6, 117.2, 36.7, name="districts")   # lon/lat: fine
    >>> check_lonlat_ranges(36.6, 117.0, 36.7, 117.2, name="districts")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimtwin.errors.CRSError: Layer 'districts': lon/lat look swapped ...
    """
    lon_ok = -180.0 <= x_min and x_max <= 180.0
    lat_ok = -90.0 <= y_min and y_max <= 90.0
    if lon_ok and lat_ok:
        return
    if -90.0 <= x_min and x_max <= 90.0 and -180.0 <= y_min and y_max <= 180.0:
        raise CRSError(
            f"Layer {name!r}: lon/lat look swapped: x runs {x_min:g}…{x_max:g} and y {y_min:g}…{y_max:g}, "
            "but latitude cannot exceed 90°. The coordinates were probably given as (lat, lon). Swap them, "
            "e.g. `gdf.geometry = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])`, "
            "or build the points with `points_from_xy(lon, lat)`."
        )
    raise CRSError(
        f"Layer {name!r} is declared longitude/latitude but its coordinates run x {x_min:g}…{x_max:g}, "
        f"y {y_min:g}…{y_max:g}, outside [-180, 180] × [-90, 90]. They are probably projected metres: set "
        "the CRS they are really in (`gdf.set_crs(..., allow_override=True)`)."
    )
