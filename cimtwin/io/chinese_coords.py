"""Coordinates of Chinese web maps: GCJ-02 (Amap, Tencent, Google China) and BD-09 (Baidu).

GCJ-02 is WGS84 plus a deliberate, smoothly varying offset of a few hundred metres
(500 to 550 m across Jinan, 523 m at 117.0 E, 36.65 N; BD-09 is about
1.3 km from WGS84 there); BD-09 adds a second, small rotation-and-shift on
top of GCJ-02. Every function takes longitudes and latitudes in degrees as scalars or
numpy arrays (any broadcastable shapes) and returns a ``(lon, lat)`` pair of float64
arrays (0-d arrays become numpy scalars). NaN passes through as NaN.

Outside China the GCJ-02 offset is not applied, so points outside the rectangle
72.004 <= lon <= 137.8347, 0.8293 <= lat <= 55.8271 (the rectangle in common use,
also in prcoords; it is a rectangle, so it also covers parts of neighbouring
countries) are returned unchanged by *every* conversion here, BD-09 included.

The forward directions (to GCJ-02, to BD-09) are closed formulas. The inverse directions
have no closed form; they are solved by fixed-point iteration
``x <- x + (target - forward(x))`` from the target itself, stopping when the largest
residual ``|forward(x) - target|`` is below 1e-10 degree (about 0.01 mm, so the result
is well under 1 cm from the exact inverse) or after 30 iterations. Convergence is fast
because the offset changes by less than 1e-4 m per metre: 3 to 4 iterations in practice.
If the cap is ever reached a :class:`~cimtwin.errors.SolverError` is raised rather than
returning an imprecise answer.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(117.0, 36.65)
>>> back_lon, back_lat = gcj02_to_wgs84(lon, lat)
>>> bool(abs(back_lon - 117.0) < 1e-9 and abs(back_lat - 36.65) < 1e-9)
True
"""

from __future__ import annotations

import numpy as np

from cimtwin.errors import InputTypeError, SolverError, ValidationError

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "in_china",
    "CHINA_BBOX",
]

#: (min_lon, min_lat, max_lon, max_lat) of the "inside China" rectangle.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

# Krasovsky 1940 ellipsoid, the datum the GCJ-02 offset formulas are written on.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_E2 = 0.00669342162296594323

# BD-09 constants: the shift (degrees) and the angular frequency factor (pi * 3000 / 180).
_BD_DLON = 0.0065
_BD_DLAT = 0.0060
_BD_FREQ = np.pi * 3000.0 / 180.0

_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30


def _as_lonlat(lon, lat):
    try:
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(
            "`lon` and `lat` must be numbers or numeric arrays in degrees; "
            f"got {type(lon).__name__} and {type(lat).__name__} ({exc})."
        ) from exc
    try:
        lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    except ValueError as exc:
        raise ValidationError(
            f"`lon` (shape {lon_a.shape}) and `lat` (shape {lat_a.shape}) cannot be broadcast "
            "together; pass arrays of the same length."
        ) from exc
    bad_lat = np.abs(lat_a) > 90
    bad_lon = np.abs(lon_a) > 180
    if bad_lat.any() or bad_lon.any():
        where = np.flatnonzero((bad_lat | bad_lon).ravel())[:10].tolist()
        hint = " (are `lon` and `lat` swapped?)" if bad_lat.any() and not bad_lon.any() else ""
        raise ValidationError(
            "longitudes must lie in [-180, 180] and latitudes in [-90, 90] degrees; "
            f"points at flat positions {where} do not{hint}."
        )
    return lon_a, lat_a


def _out(arr: np.ndarray):
    return arr[()] if arr.ndim == 0 else arr


def in_china(lon, lat) -> np.ndarray:
    """True where a point lies inside :data:`CHINA_BBOX` (where the GCJ-02 offset applies).

    Examples
    --------
    >>> bool(in_china(117.0, 36.65)), bool(in_china(2.35, 48.85))
    (True, False)
    """
    lon_a, lat_a = _as_lonlat(lon, lat)
    return _out(_inside(lon_a, lat_a))


def _gcj_offset_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    # Common periodic term of both components (x only).
    periodic_x = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))

    north_m = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    north_m = north_m + periodic_x
    north_m = north_m + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    north_m = north_m + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0

    east_m = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    east_m = east_m + periodic_x
    east_m = east_m + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    east_m = east_m + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0

    # Metres on the Krasovsky ellipsoid -> degrees: meridian and prime-vertical radii.
    phi = lat / 180.0 * pi
    w2 = 1.0 - _KRASOVSKY_E2 * np.sin(phi) ** 2
    w = np.sqrt(w2)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_E2) / (w2 * w)
    normal_radius = _KRASOVSKY_A / w
    dlat = north_m * 180.0 / (meridian_radius * pi)
    dlon = east_m * 180.0 / (normal_radius * np.cos(phi) * pi)
    return dlon, dlat


def _inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


# The raw transforms apply the offset everywhere; the public functions decide, from the
# *input* point, whether it is inside China. Deciding on the input keeps the inverse
# iteration smooth near the edge of the box.
def _wgs_to_gcj_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_offset_deg(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_FREQ)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_FREQ)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def _wgs_to_bd_raw(lon, lat):
    return _gcj_to_bd_raw(*_wgs_to_gcj_raw(lon, lat))


def _convert(raw, lon, lat, *, inverse: bool, what: str):
    lon_a, lat_a = _as_lonlat(lon, lat)
    inside = _inside(lon_a, lat_a)
    if inverse:
        c_lon, c_lat = _invert(raw, lon_a, lat_a, what)
    else:
        c_lon, c_lat = raw(lon_a, lat_a)
    return _out(np.where(inside, c_lon, lon_a)), _out(np.where(inside, c_lat, lat_a))


def _invert(forward, lon: np.ndarray, lat: np.ndarray, what: str):
    """Solve forward(x) = (lon, lat) by fixed-point iteration (see the module docstring)."""
    x_lon = lon.copy()
    x_lat = lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = forward(x_lon, x_lat)
        r_lon = lon - f_lon
        r_lat = lat - f_lat
        # NaN residuals (NaN input) count as converged: NaN stays NaN.
        residual = np.fmax(np.abs(r_lon), np.abs(r_lat))
        if not np.any(residual >= _INVERSE_TOL_DEG):
            return x_lon, x_lat
        x_lon = x_lon + r_lon
        x_lat = x_lat + r_lat
    raise SolverError(
        f"{what}: the inverse did not converge to {_INVERSE_TOL_DEG:g} degree in "
        f"{_INVERSE_MAX_ITER} iterations (largest residual {np.nanmax(residual):.3g} degree). "
        "Check that the inputs are really in that coordinate system."
    )


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 longitude/latitude (degrees) to GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 coordinates in degrees; any broadcastable shapes.

    Returns
    -------
    (lon, lat) : tuple of float64 arrays (numpy scalars for scalar input)
        GCJ-02 coordinates; points outside :data:`CHINA_BBOX` unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([117.0, 2.35], [36.65, 48.85])
    >>> bool(lon[1] == 2.35)
    True
    """
    return _convert(_wgs_to_gcj_raw, lon, lat, inverse=False, what="wgs84_to_gcj02")


def gcj02_to_wgs84(lon, lat):
    """Convert GCJ-02 longitude/latitude (degrees) to WGS84, iterated to under 1 cm.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(117.0, 36.65)
    >>> round(float(lon), 4), round(float(lat), 4)
    (116.9942, 36.6498)
    """
    return _convert(_wgs_to_gcj_raw, lon, lat, inverse=True, what="gcj02_to_wgs84")


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 longitude/latitude (degrees) to Baidu BD-09.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(117.0, 36.65)
    >>> round(float(lon), 4), round(float(lat), 4)
    (117.0064, 36.6564)
    """
    return _convert(_gcj_to_bd_raw, lon, lat, inverse=False, what="gcj02_to_bd09")


def bd09_to_gcj02(lon, lat):
    """Convert Baidu BD-09 longitude/latitude (degrees) to GCJ-02, iterated to under 1 cm.

    The usual one-step closed-form inverse is off by up to a few centimetres; this one
    iterates it to the criterion in the module docstring.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(117.0, 36.65))
    >>> abs(float(lon) - 117.0) < 1e-9
    True
    """
    return _convert(_gcj_to_bd_raw, lon, lat, inverse=True, what="bd09_to_gcj02")


def wgs84_to_bd09(lon, lat):
    """Convert WGS84 longitude/latitude (degrees) to Baidu BD-09 (via GCJ-02).

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(117.0, 36.65)
    >>> bool(lon > 117.0)
    True
    """
    return _convert(_wgs_to_bd_raw, lon, lat, inverse=False, what="wgs84_to_bd09")


def bd09_to_wgs84(lon, lat):
    """Convert Baidu BD-09 longitude/latitude (degrees) to WGS84, iterated to under 1 cm.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(117.0, 36.65))
    >>> abs(float(lat) - 36.65) < 1e-9
    True
    """
    return _convert(_wgs_to_bd_raw, lon, lat, inverse=True, what="bd09_to_wgs84")
