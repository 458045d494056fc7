"""The model's CRS: CGCS2000 3-degree Gauss–Krüger by default.

A leaf module (errors and validation only), so io (``read_osm``) and the model share the rule;
the public names are exported by :mod:`cimtwin.model`.
"""

from __future__ import annotations

import math
from typing import Any

from cimtwin._validate import as_crs, require_projected
from cimtwin.errors import ValidationError

__all__ = ["default_crs", "gauss_kruger_zone", "model_crs"]

# EPSG:4513 … 4533 are "CGCS2000 / 3-degree Gauss-Kruger zone 25 … 45" (false easting
# carries the zone number: x_0 = zone·1e6 + 500 km).
_FIRST_ZONE, _LAST_ZONE, _FIRST_EPSG = 25, 45, 4513


def gauss_kruger_zone(lon_deg: float) -> int:
    """3-degree zone whose central meridian (3·zone °E) is nearest ``lon_deg``.

    >>> gauss_kruger_zone(117.0)   # Jinan
    39
    """
    if not math.isfinite(lon_deg) or not -180 <= lon_deg <= 180:
        raise ValidationError(f"Longitude must be in [-180, 180]; got {lon_deg!r}.")
    zone = int(math.floor(lon_deg / 3.0 + 0.5))
    return zone if zone > 0 else zone + 120


def default_crs(lon_deg: float, lat_deg: float):
    """CGCS2000 3-degree Gauss–Krüger CRS for a place (zone-number false easting).

    Inside China's zones 25–45 this is the EPSG code (Jinan → EPSG:4527); elsewhere the
    same construction with the zone's own central meridian.

    >>> default_crs(117.0, 36.65).to_epsg()
    4527
    """
    import pyproj

    zone = gauss_kruger_zone(lon_deg)
    if _FIRST_ZONE <= zone <= _LAST_ZONE:
        return pyproj.CRS.from_epsg(_FIRST_EPSG + zone - _FIRST_ZONE)
    cm = 3.0 * zone if zone <= 60 else 3.0 * zone - 360.0
    return pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={cm:g} +k=1 +x_0={zone * 1_000_000 + 500_000} +y_0=0 "
        "+ellps=GRS80 +units=m +no_defs +type=crs"
    )


def model_crs(crs: Any, lonlat_bounds: tuple[float, float, float, float] | None):
    """The CRS for a model: the user's projected CRS, or the default zone for the extent."""
    if crs is not None:
        return require_projected(as_crs(crs, arg="crs"), arg="crs", what="a city model")
    if lonlat_bounds is None:
        raise ValidationError("Cannot choose a CRS for an empty model: add a layer or pass `crs=`.")
    west, south, east, north = lonlat_bounds
    return default_crs((west + east) / 2.0, (south + north) / 2.0)
