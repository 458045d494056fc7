"""Camera fields of view: FOV from optics, DORI range, blind zone, exact sector footprints.

Geometry:

- horizontal FOV ``2 atan(w_s / 2f)`` from the sensor width ``w_s`` and focal length ``f`` (mm);
- pixel density at distance d, **pinhole** lens (hfov < 180°): ``PPM = N_h / (2 d tan(HFOV/2))``,
  so the farthest distance of a DORI level is ``N_h / (2 tan(HFOV/2) PPM_level)``;
- pixel density of a **panoramic** optic (180° ≤ hfov ≤ 360°: fisheye, 360° dome), which spreads
  its pixels evenly over the angle it sees (equiangular): ``PPM = N_h / (HFOV_rad · d)``, so the
  DORI distance is ``N_h / (HFOV_rad · PPM_level)`` (1920 px over 360° at 25 px/m: 12.2 m);
- EN 62676-4 levels in :data:`DORI_PPM`;
- a camera at height H tilted ``tilt_deg`` below the horizon with vertical FOV ``vfov_deg``
  sees the ground from ``H tan(90° - tilt - vfov/2)`` (the blind zone under it) to
  ``H tan(90° - tilt + vfov/2)`` (infinite when the upper edge is above the horizon);
- the footprint is the sector with apex at the camera, centred on ``azimuth_deg`` (0 = north,
  clockwise), ``hfov_deg`` wide, between the near (blind-zone) and far radii.

PTZ cameras (a ``model`` or ``camera_type`` column starting with "ptz", or a true ``ptz``
column) are modelled at their **preset** when they have an ``azimuth_deg`` and an
``hfov_deg`` below 360°; without a preset they are modelled as able to turn to any bearing
(a full disk) with the pixel density of their **widest view** (``ptz_hfov_deg``, 60° by
default), i.e. the ground they can be pointed at, not what they see at one moment. The
result's notes say which cameras were modelled which way.

Without a DEM or buildings the footprints are exact polygons: the arc is drawn with one vertex
per ``arc_step_deg`` (0.5° by default: area error < 1e-5 of the sector).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cimtwin._validate import format_ids, one_of, require_positive, requires_metres
from cimtwin.errors import SchemaError, ValidationError
from cimtwin.kernels.coverage import sector_rings

__all__ = [
    "DORI_PPM",
    "hfov_from_optics",
    "dori_range_m",
    "ground_footprint_m",
    "sector_polygons",
    "camera_parameters",
    "camera_footprints",
    "CameraGeometry",
    "PTZ_WIDEST_HFOV_DEG",
]

# EN/IEC 62676-4:2015 pixel densities (px/m); "monitor" is DIN EN 62676-4's Überwachen level.
DORI_PPM = {
    "monitor": 12.5,
    "detection": 25.0,
    "observation": 62.5,
    "recognition": 125.0,
    "identification": 250.0,
}

#: Widest horizontal view assumed for a PTZ camera without a preset (a typical 2 MP PTZ at
#: its shortest focal length sees about 55-63°); an assumption, pass ``ptz_hfov_deg`` to change it.
PTZ_WIDEST_HFOV_DEG = 60.0


def hfov_from_optics(focal_length_mm, sensor_width_mm):
    """Full horizontal field of view in degrees, ``2 atan(w_s / 2f)``.

    Examples
    --------
    >>> round(float(hfov_from_optics(4.0, 5.568)), 2)
    69.68
    """
    f = np.asarray(focal_length_mm, dtype="float64")
    w = np.asarray(sensor_width_mm, dtype="float64")
    if np.any(f <= 0) or np.any(w <= 0):
        raise ValidationError("`focal_length_mm` and `sensor_width_mm` must be > 0.")
    return np.degrees(2.0 * np.arctan(w / (2.0 * f)))


def dori_range_m(hfov_deg, *, dori: str = "detection", pixels_h=1920):
    """Farthest distance (m) at which a camera reaches a DORI pixel density.

    A pinhole lens (``hfov_deg`` < 180) spreads ``pixels_h`` over a scene ``2 d tan(hfov/2)``
    wide; a panoramic optic (180 ≤ ``hfov_deg`` ≤ 360: fisheye or 360° dome) spreads them
    evenly over the angle, ``hfov_rad · d`` of arc at distance d (equiangular model).

    Parameters
    ----------
    hfov_deg : float or array_like
        Horizontal field of view in degrees, in (0, 360].
    dori : {"monitor", "detection", "observation", "recognition", "identification"}
        EN 62676-4 level (:data:`DORI_PPM`).
    pixels_h : float or array_like
        Horizontal pixel count of the image.

    Examples
    --------
    A 2 MP camera (1920 px) with a 4 mm lens on a 5.568 mm wide sensor:

    >>> hfov = hfov_from_optics(4.0, 5.568)
    >>> [round(float(dori_range_m(hfov, dori=k)), 1) for k in ("detection", "observation", "recognition")]
    [55.2, 22.1, 11.0]

    The same 1920 pixels at 90° (pinhole) and spread over a full 360° circle:

    >>> round(float(dori_range_m(90.0)), 1), round(float(dori_range_m(360.0)), 1)
    (38.4, 12.2)
    """
    one_of(dori, tuple(DORI_PPM), arg="dori")
    h = np.asarray(hfov_deg, dtype="float64")
    if np.any(~np.isfinite(h) | (h <= 0) | (h > 360)):
        raise ValidationError(f"`hfov_deg` must be in (0, 360] for a DORI range; got {hfov_deg!r}.")
    px = np.asarray(pixels_h, dtype="float64")
    if np.any(~np.isfinite(px) | (px <= 0)):
        raise ValidationError(f"`pixels_h` must be a positive pixel count; got {pixels_h!r}.")
    pinhole = h < 180.0
    # scene width per metre of distance: chord for a lens, arc for a panoramic optic
    width_per_m = np.where(pinhole, 2.0 * np.tan(np.radians(np.where(pinhole, h, 90.0)) / 2.0), np.radians(h))
    return px / (width_per_m * DORI_PPM[dori])


def ground_footprint_m(height_m, tilt_deg, vfov_deg):
    """Near and far ground distances (m) seen by a tilted camera; far is inf above the horizon.

    ``tilt_deg`` is measured downward from the horizontal; NaN tilt or vfov gives (0, inf).

    Examples
    --------
    >>> near, far = ground_footprint_m(6.0, 45.0, 30.0)
    >>> round(float(near), 2), round(float(far), 2)
    (3.46, 10.39)
    """
    h = np.asarray(height_m, dtype="float64")
    tilt = np.asarray(tilt_deg, dtype="float64")
    vfov = np.asarray(vfov_deg, dtype="float64")
    known = np.isfinite(tilt) & np.isfinite(vfov)
    lower = np.radians(90.0 - tilt - vfov / 2.0)  # from nadir
    upper = np.radians(90.0 - tilt + vfov / 2.0)
    near = np.where(known & (lower > 0), h * np.tan(np.clip(lower, 0, math.pi / 2 - 1e-12)), 0.0)
    far = np.where(known & (upper < math.pi / 2), h * np.tan(np.clip(upper, 0, math.pi / 2 - 1e-12)), np.inf)
    return near, far


def sector_polygons(x, y, *, radius_m, azimuth_deg=None, hfov_deg=None, inner_m=None, arc_step_deg: float = 0.5):
    """Sector (or annular-sector) polygons; NaN azimuth or ``hfov_deg >= 360`` gives a disk.

    Parameters
    ----------
    x, y : array_like
        Apex coordinates (projected metres).
    radius_m : array_like
        Outer radius of each sector.
    azimuth_deg, hfov_deg : array_like or None
        Centre direction (0 = north, clockwise) and full opening angle.
    inner_m : array_like or None
        Inner radius (blind zone); 0 or None for a sector with its apex at the camera.
    arc_step_deg : float
        Largest angle between two arc vertices.

    Returns
    -------
    numpy array of shapely Polygons.

    Examples
    --------
    >>> import shapely
    >>> p = sector_polygons([0.0], [0.0], radius_m=[10.0], azimuth_deg=[90.0], hfov_deg=[90.0])[0]
    >>> round(p.area / (math.pi * 100 / 4), 4)
    1.0
    """
    import shapely

    x = np.atleast_1d(np.asarray(x, dtype="float64"))
    y = np.atleast_1d(np.asarray(y, dtype="float64"))
    n = x.shape[0]
    r = np.broadcast_to(np.asarray(radius_m, dtype="float64"), (n,))
    az = np.full(n, np.nan) if azimuth_deg is None else np.broadcast_to(np.asarray(azimuth_deg, "float64"), (n,))
    fov = np.full(n, 360.0) if hfov_deg is None else np.broadcast_to(np.asarray(hfov_deg, "float64"), (n,))
    inner = np.zeros(n) if inner_m is None else np.broadcast_to(np.asarray(inner_m, "float64"), (n,))
    require_positive(arc_step_deg, arg="arc_step_deg")
    if np.any(~np.isfinite(r) | (r <= 0)):
        raise ValidationError("Sector radii must be finite and > 0.")
    full = np.isnan(az) | (fov >= 360.0)
    span = np.where(full, 360.0, fov)
    # Chords cut area off the arc; scale the radius so the polygon has the circle's area
    # (the arc's area error then vanishes to first order).
    nseg = np.maximum(np.ceil(span / arc_step_deg).astype("int64"), 4)
    dtheta = np.radians(span) / nseg
    k = np.sqrt(dtheta / np.sin(dtheta))
    start = np.where(full, 0.0, az - span / 2.0)
    coords, rings, polys = sector_rings(x, y, r * k, inner * k, start, span, nseg, full)
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (rings, polys))


@dataclass(frozen=True)
class CameraGeometry:
    """Resolved per-camera geometry (arrays aligned with the camera layer's rows)."""

    x: np.ndarray
    y: np.ndarray
    height_m: np.ndarray
    azimuth_deg: np.ndarray   # NaN for omnidirectional
    hfov_deg: np.ndarray      # 360 for omnidirectional
    near_m: np.ndarray        # blind-zone radius
    range_m: np.ndarray       # far radius actually used
    notes: tuple[str, ...]


def _is_ptz(cameras) -> np.ndarray:
    """Rows that are PTZ cameras: a ``ptz`` flag, or a ``model``/``camera_type`` starting with "ptz"."""
    n = len(cameras)
    out = np.zeros(n, dtype=bool)
    if "ptz" in cameras.columns:
        out |= cameras["ptz"].fillna(False).astype(bool).to_numpy()
    for name in ("model", "camera_type"):
        if name in cameras.columns:
            out |= cameras[name].astype(str).str.lower().str.startswith("ptz").to_numpy()
    return out


@requires_metres("cameras", what="camera geometry (ranges in metres)")
def camera_parameters(cameras, *, dori: str | None = None, pixels_h: float = 1920.0, assume_omni: bool = False,
                      ptz_hfov_deg: float = PTZ_WIDEST_HFOV_DEG, layer: str = "cameras") -> CameraGeometry:
    """Resolve each camera's FOV, blind zone and range from its columns.

    ``hfov_deg`` comes from the column, else from ``focal_length_mm`` and ``sensor_width_mm``.
    The range is ``range_m`` capped by the DORI distance when ``dori`` is given (pixel count
    from a ``pixels_h`` column, else the ``pixels_h`` argument) and by the far edge of the
    tilted view. DORI applies to every optic: pinhole below 180°, equiangular from 180° to
    360° (a 360° dome reaches a third of a 90° camera's distance). PTZ cameras are taken at
    their preset when they have one, else as turning to any bearing at the pixel density of
    their widest view ``ptz_hfov_deg`` (see the module notes). Cameras with neither azimuth
    nor a 360° FOV raise SchemaError naming them, unless ``assume_omni=True`` (they then
    see all round).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"height_m": [6.0, 6.0], "azimuth_deg": [0.0, float("nan")],
    ...     "hfov_deg": [90.0, 360.0], "range_m": [100.0, 100.0]},
    ...     geometry=[shapely.Point(0, 0), shapely.Point(50, 0)], crs="EPSG:4527")
    >>> camera_parameters(cams, dori="detection").range_m.round(1).tolist()
    [38.4, 12.2]
    """
    notes: list[str] = []
    n = len(cameras)
    cols = cameras.columns
    ids = cameras.index.to_numpy()

    def col(name, default=np.nan):
        return np.array(cameras[name].to_numpy(dtype="float64"), copy=True) if name in cols else np.full(n, default, dtype="float64")

    az = col("azimuth_deg")
    hfov = col("hfov_deg")
    if "focal_length_mm" in cols and "sensor_width_mm" in cols:
        f, w = col("focal_length_mm"), col("sensor_width_mm")
        ok = np.isnan(hfov) & np.isfinite(f) & np.isfinite(w) & (f > 0) & (w > 0)
        if ok.any():
            hfov[ok] = hfov_from_optics(f[ok], w[ok])
            notes.append(f"hfov_deg of {int(ok.sum())} camera(s) computed from focal_length_mm and sensor_width_mm.")
    ptz = _is_ptz(cameras)
    preset = ptz & np.isfinite(az) & np.isfinite(hfov) & (hfov < 360.0)
    roaming = ptz & ~preset
    omni = (np.isfinite(hfov) & (hfov >= 360.0)) | roaming
    missing = ~omni & (np.isnan(az) | np.isnan(hfov))
    if missing.any():
        if not assume_omni:
            raise SchemaError(
                f"Layer {layer!r}: cameras {format_ids(ids[missing])} have no azimuth_deg or no hfov_deg "
                "(and no focal_length_mm + sensor_width_mm), so their field of view is unknown. Fill the "
                "columns, set hfov_deg = 360 for dome cameras, or pass `assume_omni=True` to treat them as "
                "seeing all round."
            )
        notes.append(f"{int(missing.sum())} camera(s) without azimuth/FOV treated as omnidirectional "
                     "(assume_omni=True).")
    full = omni | missing
    az = np.where(full, np.nan, az)
    hfov = np.where(full, 360.0, hfov)
    rng = col("range_m")
    bad = ~np.isfinite(rng) | (rng <= 0)
    if bad.any():
        raise SchemaError(f"Layer {layer!r}: cameras {format_ids(ids[bad])} have no positive range_m.")
    if preset.any():
        notes.append(f"{int(preset.sum())} PTZ camera(s) modelled at their preset (azimuth_deg, hfov_deg).")
    if roaming.any():
        notes.append(f"{int(roaming.sum())} PTZ camera(s) without a preset modelled as turning to any bearing "
                     "(a full disk: the ground they can be pointed at, not what they see at once)"
                     + (f", DORI at their widest view of {ptz_hfov_deg:g}°." if dori is not None else "."))
    if dori is not None:
        one_of(dori, tuple(DORI_PPM), arg="dori")
        ptz_view = float(ptz_hfov_deg)
        if not 0.0 < ptz_view < 180.0:
            raise ValidationError(f"`ptz_hfov_deg` is a lens's widest view, in (0, 180); got {ptz_hfov_deg!r}.")
        px = col("pixels_h", float(pixels_h))
        px = np.where(np.isfinite(px) & (px > 0), px, float(pixels_h))
        # a PTZ without a preset looks through its widest lens view, wherever it points
        optic_hfov = np.where(roaming, ptz_view, hfov)
        rng = np.minimum(rng, dori_range_m(optic_hfov, dori=dori, pixels_h=px))
        n_pan = int((optic_hfov >= 180.0).sum())
        notes.append(f"DORI level {dori!r} ({DORI_PPM[dori]} px/m) applied to every camera: pinhole below 180°, "
                     f"equiangular (pixels / (hfov_rad · r)) for the {n_pan} with 180-360° optics.")
        if "pixels_h" not in cols:
            notes.append(f"{pixels_h:.0f} horizontal pixels for every camera (no pixels_h column).")
    height = col("height_m", 0.0)
    near, far = ground_footprint_m(height, col("tilt_deg"), col("vfov_deg"))
    rng = np.minimum(rng, far)
    empty = near >= rng
    if empty.any():
        notes.append(f"cameras {format_ids(ids[empty])} see no ground within their range (blind zone ≥ range).")
    x = cameras.geometry.x.to_numpy(dtype="float64")
    y = cameras.geometry.y.to_numpy(dtype="float64")
    return CameraGeometry(x, y, height, az, hfov, near, rng, tuple(notes))


@requires_metres("cameras", what="camera footprints (sectors in metres)")
def camera_footprints(cameras, *, dori: str | None = None, pixels_h: float = 1920.0, assume_omni: bool = False,
                      ptz_hfov_deg: float = PTZ_WIDEST_HFOV_DEG, arc_step_deg: float = 0.5, layer: str = "cameras"):
    """Per-camera footprints as exact sector polygons (no occlusion), one row per camera.

    Returns a GeoDataFrame (index of the camera layer) with ``near_m``, ``range_m``,
    ``hfov_deg``, ``azimuth_deg`` and the sector geometry; cameras whose blind zone reaches
    their range get an empty geometry.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"height_m": [6.0], "azimuth_deg": [0.0], "hfov_deg": [90.0],
    ...     "range_m": [50.0]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4527")
    >>> fp = camera_footprints(cams)
    >>> round(float(fp.area.iloc[0]), 1)   # a quarter disk of radius 50 m
    1963.5
    """
    import geopandas as gpd
    import shapely

    g = camera_parameters(cameras, dori=dori, pixels_h=pixels_h, assume_omni=assume_omni, ptz_hfov_deg=ptz_hfov_deg,
                          layer=layer)
    ok = g.range_m > g.near_m
    geoms = np.full(len(cameras), shapely.Polygon(), dtype=object)
    if ok.any():
        geoms[ok] = sector_polygons(g.x[ok], g.y[ok], radius_m=g.range_m[ok], azimuth_deg=g.azimuth_deg[ok],
                                    hfov_deg=g.hfov_deg[ok], inner_m=g.near_m[ok], arc_step_deg=arc_step_deg)
    out = gpd.GeoDataFrame({"azimuth_deg": g.azimuth_deg, "hfov_deg": g.hfov_deg, "near_m": g.near_m,
                            "range_m": g.range_m}, geometry=geoms, index=cameras.index, crs=cameras.crs)
    out.attrs["notes"] = list(g.notes)
    return out
