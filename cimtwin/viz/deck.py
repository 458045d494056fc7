"""Interactive maps: a model or a result drawn with deck.gl, saved as one offline HTML page.

Layers are drawn in WGS84 longitude/latitude (deck.gl's coordinates); the model's projected
layers are reprojected on the way. Geometry travels as deck.gl binary attributes (typed arrays,
base64 in the page) rather than JSON objects, so a page with 10^6 points stays a few tens of
megabytes and loads in seconds. The page carries a layer panel (one checkbox per layer,
Chinese and English names), tooltips with units, buildings extruded by ``height_m`` with a
2D/3D toggle, and no remote script, style, font or tile; a base map only when asked for.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cimtwin._geometry import single_parts
from cimtwin.errors import InputTypeError, LayerNotFoundError, OptionalDependencyError, ValidationError
from cimtwin.viz.style import (
    GAZETTE_ROAD_COLOR,
    RISK_CLASS_COLORS,
    ROAD_CLASS_COLORS,
    ROAD_CLASS_WIDTH_M,
    gazette_mask,
    label,
    style_for,
)

__all__ = ["to_deck", "to_html", "DeckMap", "MapLayer", "LayerGroup", "fov_sectors", "raster_to_png",
           "deck_legend"]

_MAX_RASTER_PX = 1024
# The viewport the initial zoom is fitted to: a laptop browser window.
_VIEW_PX = (1000, 800)
# Attributes shown in tooltips when a layer has them: (label, unit, decimals); strings and
# booleans are shown as they are. At most _MAX_TIP_FIELDS per layer, in this order.
_TIP_FIELDS: dict[str, tuple[str, str, int]] = {
    "name": ("名称 name", "", 0),
    "category": ("类别 category", "", 0),
    "road_class": ("道路等级 class", "", 0),
    "gazette_seq": ("公告序号 gazette no.", "", 0),
    "width_m": ("宽度 width", "m", 1),
    "level": ("级别 level", "", 0),
    "capacity_persons": ("容纳人数 capacity", "persons", 0),
    "area_m2": ("面积 area", "m²", 0),
    "height_m": ("高度 height", "m", 1),
    "floors": ("层数 floors", "", 0),
    "use": ("用途 use", "", 0),
    "fortification_intensity": ("设防烈度 fortification", "", 0),
    "azimuth_deg": ("方位角 azimuth", "°", 0),
    "hfov_deg": ("水平视场角 HFOV", "°", 0),
    "range_m": ("视距 range", "m", 0),
    "connected": ("联网 connected", "", 0),
    "is_smart": ("智能 smart", "", 0),
    "frequency_mhz": ("频率 frequency", "MHz", 0),
    "eirp_dbm": ("等效全向辐射功率 EIRP", "dBm", 1),
    "kind": ("类型 kind", "", 0),
    "depth_m": ("深度 depth", "m", 2),
    "capacity_1e4_m3": ("库容 capacity", "10⁴ m³", 0),
    "class": ("风险等级 risk class", "", 0),
    "zone": ("分区 zone", "", 0),
    "ratio": ("覆盖率 ratio", "", 3),
    "population": ("人口 population", "persons", 0),
    "magnitude": ("震级 magnitude", "", 1),
    "activity": ("活动性 activity", "", 0),
}
_MAX_TIP_FIELDS = 6
# Layers not drawn at load (their box unticked) unless asked for with ``visible=``: results a
# planner turns on when needed, and busy layers that hide the city.
_HIDDEN_AT_LOAD = ("gaps", "risk", "camera_fov", "footprints", "covered", "grid_cells", "land_use", "pipes",
                   "site_class", "iot_devices", "smart_poles", "service_area", "shelter_service_area")


def _pydeck():
    try:
        import pydeck
    except ImportError as exc:
        raise OptionalDependencyError(
            'Interactive maps need pydeck (it ships the deck.gl bundle). Install it with `pip install "cimtwin[viz]"`.'
        ) from exc
    return pydeck


# -- geometry ---------------------------------------------------------------------------------------

def fov_sectors(cameras, *, arc_step_deg: float = 5.0):
    """Each camera's field of view as a polygon, in the layer's CRS: coverage's own footprints.

    The polygons are :func:`cimtwin.coverage.camera_footprints` (the sectors the coverage
    ratios count, blind zone included; no occlusion). A camera without ``azimuth_deg`` or
    with ``hfov_deg`` ≥ 360 sees all round; cameras whose blind zone reaches their range are
    left out.

    Parameters
    ----------
    cameras
        GeoDataFrame of points in a projected CRS with ``range_m`` (and ``azimuth_deg``,
        ``hfov_deg``, ``height_m``, ``tilt_deg``, ``vfov_deg`` when known).
    arc_step_deg
        Largest angle between two arc vertices (a map needs fewer than an area count).

    Returns
    -------
    GeoDataFrame
        One polygon per camera that sees the ground, the camera's index and columns kept.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"azimuth_deg": [90.0], "hfov_deg": [60.0], "range_m": [100.0]},
    ...                         geometry=[shapely.Point(0, 0)], crs="EPSG:4527")
    >>> round(fov_sectors(cams).area.iloc[0])  # pi r^2 / 6
    5236
    """
    import geopandas as gpd

    from cimtwin._validate import require_projected
    from cimtwin.coverage.cameras import camera_footprints

    require_projected(cameras.crs, arg="cameras.crs", what="camera field-of-view sectors")
    if "range_m" not in cameras.columns:
        raise ValidationError(f"Cameras need a `range_m` column for their sectors; the layer has "
                              f"{list(cameras.columns)}. Add the viewing range in metres.")
    fp = camera_footprints(cameras, assume_omni=True, arc_step_deg=arc_step_deg)
    keep = ~fp.geometry.is_empty.to_numpy()
    attrs = cameras.drop(columns=cameras.geometry.name)
    return gpd.GeoDataFrame(attrs[keep], geometry=fp.geometry.to_numpy()[keep], crs=cameras.crs)


def _flatten(parts) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of each part (lon, lat) and the index of each part's first vertex."""
    import shapely

    coords, idx = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(idx, minlength=len(parts))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.uint32)
    return coords, starts


def _parts(geoms, type_ids: tuple[int, ...]):
    """Single parts of the given shapely type ids and, for each, the index of its feature."""
    import shapely

    parts, fid = single_parts(geoms)
    keep = np.isin(shapely.get_type_id(parts), type_ids) & ~shapely.is_empty(parts)
    return parts[keep], fid[keep]


def _triangles(polys):
    """Constrained Delaunay triangles of each polygon; for one GEOS cannot triangulate (a hole
    touching its shell), the Delaunay triangles of its vertices that lie inside it."""
    import shapely
    from shapely.errors import GEOSException

    try:
        return shapely.constrained_delaunay_triangles(polys)
    except GEOSException:
        pass
    out = np.empty(len(polys), dtype=object)
    for i, poly in enumerate(polys):
        try:
            out[i] = shapely.constrained_delaunay_triangles(poly)
        except GEOSException:
            tri = shapely.get_parts(shapely.delaunay_triangles(poly))
            inside = shapely.contains(poly, shapely.point_on_surface(tri))
            out[i] = shapely.GeometryCollection(list(tri[inside]))
    return out


def _fill_parts(polys, fid):
    """Polygons deck.gl can fill without triangulating holes: simple ones as they are, ones
    with holes as their constrained Delaunay triangles. Exteriors counter-clockwise."""
    import shapely

    holed = shapely.get_num_interior_rings(polys) > 0
    out, out_fid = [polys[~holed]], [fid[~holed]]
    if holed.any():
        tparts, tidx = shapely.get_parts(_triangles(polys[holed]), return_index=True)
        out.append(tparts)
        out_fid.append(fid[holed][tidx])
    rings = shapely.get_exterior_ring(shapely.orient_polygons(np.concatenate(out), exterior_cw=False))
    return rings, np.concatenate(out_fid)


# -- the map object ------------------------------------------------------------------------------------

@dataclass
class TipField:
    """One tooltip attribute of a layer: bilingual label, unit, per-feature values."""

    label: str
    unit: str
    values: np.ndarray              # float32 values, or integer codes into ``categories``
    categories: list[str] | None = None
    decimals: int = 0


@dataclass
class LayerGroup:
    """What one checkbox of the layer panel turns on and off (one or more deck.gl layers)."""

    id: str
    label: str
    visible: bool
    legend: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    fields: list[TipField] = field(default_factory=list)
    order: int = 50


@dataclass
class MapLayer:
    """One deck.gl layer: its type, constant props and binary geometry in lon/lat.

    ``coords`` holds the vertices (n, 2) in degrees; ``starts`` the first vertex of each path
    or polygon (None for points); ``fid`` the feature (tooltip row) of each object when it
    differs from the object index; ``attributes`` more per-vertex arrays (``getElevation``).
    """

    id: str
    group: str
    type: str
    props: dict[str, Any]
    coords: np.ndarray | None = None
    starts: np.ndarray | None = None
    fid: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    extrudable: bool = False
    order: int = 50

    @property
    def length(self) -> int:
        """Number of objects (points, paths or polygons)."""
        if self.coords is None:
            return 0
        return len(self.starts) if self.starts is not None else len(self.coords)


class DeckMap:
    """An interactive map made by :func:`to_deck`: deck.gl layers, a layer panel, a view.

    Save it with :meth:`to_html` (one offline file); in Jupyter it shows itself inline as
    the same offline page (an ``<iframe srcdoc>``: no network, no widget extension).

    Attributes
    ----------
    layers : list of MapLayer
        In draw order (base first).
    groups : list of LayerGroup
        The layer panel's rows, each with its checkbox state at load.
    initial_view_state : dict
        ``longitude``, ``latitude``, ``zoom``, ``pitch``, ``bearing``.
    basemap : str or None
        A raster tile URL template (``…/{z}/{x}/{y}.png``) when the user gave one.
    """

    def __init__(self, layers: list[MapLayer], groups: list[LayerGroup], initial_view_state: dict[str, float],
                 *, basemap: str | None = None, title: str = "cimtwin 地图 map", height_px: int = 600):
        self.layers = layers
        self.groups = groups
        self.initial_view_state = initial_view_state
        self.basemap = basemap
        self.title = title
        self.height_px = height_px

    def __repr__(self) -> str:
        shown = [g.id for g in self.groups if g.visible]
        return (f"<DeckMap {len(self.layers)} deck.gl layers in {len(self.groups)} groups; shown at load: {shown}; "
                f"view {self.initial_view_state}>")

    @property
    def legend(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(label, RGBA, "box" | "line" | "dot") for every visible-able layer, in panel order."""
        return [entry for g in self.groups for entry in g.legend]

    def layer(self, layer_id: str) -> MapLayer:
        """The deck.gl layer with this id."""
        for lyr in self.layers:
            if lyr.id == layer_id:
                return lyr
        raise LayerNotFoundError(f"No deck.gl layer {layer_id!r}; the map has {[l.id for l in self.layers]}.")

    def to_html(self, path: str | os.PathLike | None = None, *, title: str | None = None) -> Path | str:
        """The offline page; written to ``path`` (returns the Path) or returned as text."""
        text = _page(self, title=self.title if title is None else title)
        if path is None:
            return text
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        page = _page(self, title=self.title)
        return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; height: {self.height_px}px; '
                'border: 0" sandbox="allow-scripts"></iframe>')
# -- rasters -----------------------------------------------------------------------------------------

def raster_to_png(da, *, cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
                  categories: Mapping[int, Sequence[int]] | None = None, alpha: int = 170,
                  max_px: int = _MAX_RASTER_PX) -> tuple[str, tuple[float, float, float, float]]:
    """A raster as a PNG data URL (nodata transparent) and its bounds in the raster's CRS.

    Parameters
    ----------
    da
        A 2-D DataArray (north-up) with a CRS, or a numpy array (then bounds are cell indices).
    cmap, vmin, vmax
        Matplotlib colour map and value range (default: the 2nd–98th percentile).
    categories
        ``{value: (r, g, b, a)}`` for a class raster (risk classes 1–5); other values transparent.
    alpha
        Opacity 0–255 of a continuous raster.
    max_px
        Rasters larger than this on either side are subsampled (a map, not an analysis).

    Returns
    -------
    (str, tuple)
        ``"data:image/png;base64,…"`` and (xmin, ymin, xmax, ymax).
    """
    from PIL import Image

    values = np.asarray(getattr(da, "values", da), dtype=float)
    if values.ndim != 2:
        raise ValidationError(f"A raster map needs a 2-D array; got shape {values.shape}.")
    step = max(1, math.ceil(max(values.shape) / max_px))
    sub = values[::step, ::step]
    nodata = getattr(da, "attrs", {}).get("_FillValue", getattr(da, "attrs", {}).get("nodata"))
    valid = np.isfinite(sub)
    if nodata is not None and np.isfinite(nodata):
        valid &= sub != nodata
    rgba = np.zeros(sub.shape + (4,), dtype=np.uint8)
    if categories is not None:
        for value, color in categories.items():
            hit = valid & (sub == value)
            rgba[hit] = np.asarray(color, dtype=np.uint8)
    elif valid.any():
        import matplotlib

        lo = np.nanpercentile(sub[valid], 2) if vmin is None else vmin
        hi = np.nanpercentile(sub[valid], 98) if vmax is None else vmax
        scaled = np.clip((sub - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
        colored = matplotlib.colormaps[cmap](np.where(valid, scaled, 0.0), bytes=True)
        rgba[...] = colored
        rgba[..., 3] = np.where(valid, alpha, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    if hasattr(da, "dims"):
        from cimtwin.grid.spec import GridSpec

        bounds = tuple(float(b) for b in GridSpec.from_dataarray(da).bounds)
    else:
        bounds = (0.0, 0.0, float(values.shape[1]), float(values.shape[0]))
    return url, bounds


def _raster_layer(name: str, da, crs) -> tuple[MapLayer, tuple[float, float, float, float]]:
    import pyproj

    cats = RISK_CLASS_COLORS if _is_class_raster(name, da) else None
    cmap = "RdYlGn" if "coverage" in name or "rsrp" in name else ("Blues" if "depth" in name or "flood" in name
                                                                 else "magma_r")
    url, (x0, y0, x1, y1) = raster_to_png(da, cmap=cmap, categories=cats)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    # Four corners: the grid is a Gauss–Krüger rectangle, slightly rotated in lon/lat.
    lon, lat = to_ll.transform([x0, x0, x1, x1], [y0, y1, y1, y0])
    corners = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat)]
    layer = MapLayer(id=f"raster_{name}", group=f"raster:{name}", type="BitmapLayer",
                     props={"image": url, "bounds": corners, "opacity": 0.85, "pickable": False},
                     order=style_for("raster").order)
    return layer, (min(lon), min(lat), max(lon), max(lat))


def _is_class_raster(name: str, da) -> bool:
    if "class" in name or "zone" in name:
        values = np.asarray(da.values)
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values.ravel()
        return finite.size > 0 and np.all(np.isin(np.unique(finite), list(RISK_CLASS_COLORS)))
    return False


# -- sources ------------------------------------------------------------------------------------------

def _sources(obj) -> tuple[dict[str, tuple[Any, str | None]], Any]:
    """``{name: (GeoDataFrame or DataArray, kind)}`` and a CRS for rasters without one."""
    import geopandas as gpd

    try:
        import xarray as xr
        dataarray = xr.DataArray
    except ImportError:  # pragma: no cover
        dataarray = ()
    from cimtwin.model.city import CityModel

    if isinstance(obj, CityModel):
        srcs = {n: (obj.layer(n), obj.layer_kind(n)) for n in obj.layer_names}
        srcs.update({f"raster:{n}": (obj.raster(n), None) for n in obj.raster_names})
        return srcs, obj.crs
    if isinstance(obj, gpd.GeoDataFrame):
        return {"layer": (obj, None)}, obj.crs
    if dataarray and isinstance(obj, dataarray):
        return {f"raster:{obj.name or 'raster'}": (obj, None)}, None
    if isinstance(obj, Mapping):
        items = obj.items()
    elif hasattr(obj, "__dict__") or hasattr(obj, "__dataclass_fields__"):
        # A result object: draw every GeoDataFrame and DataArray it carries (gaps, zones, rasters).
        items = ((k, v) for k, v in vars(obj).items() if not k.startswith("_"))
    else:
        raise InputTypeError(
            "to_deck takes a CityModel, a GeoDataFrame, a DataArray, a dict of them, or a result object "
            f"holding them; got {type(obj).__name__}."
        )
    srcs: dict[str, tuple[Any, str | None]] = {}
    crs = None
    for k, v in items:
        if isinstance(v, gpd.GeoDataFrame):
            srcs[k] = (v, None)
            crs = crs or v.crs
        elif dataarray and isinstance(v, dataarray) and v.ndim == 2:
            srcs[f"raster:{k}"] = (v, None)
    if not srcs:
        raise ValidationError(f"Nothing to draw: {type(obj).__name__} holds no GeoDataFrame or 2-D DataArray.")
    return srcs, crs


def _select(srcs: dict, layers: Sequence[str] | None, default_rasters: bool) -> list[str]:
    if layers is None:
        return [n for n in srcs if default_rasters or not n.startswith("raster:")]
    if isinstance(layers, str):
        layers = [layers]
    chosen = []
    for want in layers:
        key = want if want in srcs else f"raster:{want}"
        if key not in srcs:
            from cimtwin._validate import close_matches

            names = [n.removeprefix("raster:") for n in srcs]
            raise LayerNotFoundError(
                f"Nothing named {want!r} to draw.{close_matches(want, names)} Available: {names}."
            )
        chosen.append(key)
    return chosen


def _view(bounds_ll: tuple[float, float, float, float], width_px: int = _VIEW_PX[0],
          height_px: int = _VIEW_PX[1]) -> dict[str, float]:
    """The centre and zoom that fit lon/lat bounds into a viewport (web Mercator, 512-px world)."""
    west, south, east, north = bounds_ll
    lon = (west + east) / 2.0
    lat = (south + north) / 2.0

    def merc_y(phi):
        return math.log(math.tan(math.pi / 4 + math.radians(phi) / 2))

    dx = max(east - west, 1e-6) / 360.0
    dy = max(merc_y(north) - merc_y(south), 1e-8) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512.0 / dx), math.log2(height_px / 512.0 / dy)) - 0.1
    return {"longitude": round(lon, 6), "latitude": round(lat, 6), "zoom": round(max(0.0, min(zoom, 20.0)), 3),
            "pitch": 0, "bearing": 0}


def _extent_ll(extent, crs) -> tuple[float, float, float, float]:
    import pyproj

    try:
        xmin, ymin, xmax, ymax = (float(v) for v in extent)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"`extent` must be (xmin, ymin, xmax, ymax) in the layers' CRS; got {extent!r}.") from exc
    if not (xmin < xmax and ymin < ymax):
        raise ValidationError(f"`extent` {extent!r} is empty: need xmin < xmax and ymin < ymax.")
    if crs is None:
        raise ValidationError("`extent` needs layers with a CRS to place it.")
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return tuple(float(v) for v in to_ll.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21))


def _study_area_extent(model) -> tuple[float, float, float, float] | None:
    """The model's study area (``metadata["study_area"]``) in the model CRS, or None."""
    spec = model.metadata.get("study_area")
    if not isinstance(spec, Mapping) or spec.get("bounds") is None:
        return None
    bounds = tuple(float(v) for v in spec["bounds"])
    crs = spec.get("crs")
    if crs is not None:
        import pyproj

        src = pyproj.CRS.from_user_input(crs)
        if not src.equals(model.crs):
            bounds = pyproj.Transformer.from_crs(src, model.crs, always_xy=True).transform_bounds(*bounds)
    return bounds


def _shown_at_load(group_id: str, kind: str | None) -> bool:
    for key in (kind, group_id.removeprefix("raster:")):
        if key and any(key == p or key.startswith(p + "_") or key.endswith("_" + p) for p in _HIDDEN_AT_LOAD):
            return False
    return not (group_id.startswith("raster:") and ("class" in group_id or "zone" in group_id))


# -- public --------------------------------------------------------------------------------------------

def to_deck(model_or_result, layers: Sequence[str] | None = None, *, tooltip: bool = True,
            rasters: bool | None = None, max_features: int = 1_000_000, simplify_m: float | None = None,
            visible: Sequence[str] | None = None, extent: Sequence[float] | None = None,
            basemap: str | None = None, title: str = "cimtwin 地图 map") -> DeckMap:
    """Draw a model, a result or GeoDataFrames as an interactive deck.gl map (WGS84).

    Parameters
    ----------
    model_or_result
        A :class:`~cimtwin.model.CityModel`, a GeoDataFrame, a DataArray, a dict ``{name: ...}``
        of them, or a result object carrying GeoDataFrames / DataArrays (its public attributes).
    layers
        Names to draw (vector layers and rasters); all vector layers by default (and every
        raster of a result or dict). Draw order follows the style: districts at the bottom,
        points on top.
    tooltip
        Bilingual (Chinese / English) tooltips with units on hover.
    rasters
        Draw rasters when ``layers`` is None; default: not for a model (its DEM would hide the
        base), yes otherwise.
    max_features
        A layer with more features than this raises (export to a file format instead).
    simplify_m
        Simplify lines and polygons to this tolerance in metres before drawing; None draws
        them as they are.
    visible
        The layers whose checkbox is ticked at load (every other one starts unticked). By
        default all but coverage gaps, risk classes, cameras' fields of view (``<name>_fov``),
        service areas and busy layers (pipes, land use, grid cells, IoT devices, smart poles);
        when that would leave nothing, everything.
    extent
        (xmin, ymin, xmax, ymax) in the layers' CRS for the initial view. Default: the model's
        study area (``metadata["study_area"]``) when it has one, else all the data.
    basemap
        A raster tile URL template (``https://…/{z}/{x}/{y}.png``) drawn under the layers. Off
        by default: the page then loads nothing from the network.
    title
        The page title.

    Returns
    -------
    DeckMap
        Save it with :meth:`DeckMap.to_html` or :func:`to_html`; Jupyter shows it inline.

    Examples
    --------
    >>> import cimtwin
    >>> from cimtwin.viz import to_deck
    >>> deck = to_deck(cimtwin.load_sample("jinan"), layers=["districts", "roads", "buildings", "cameras"])
    >>> [g.id for g in deck.groups if g.visible]
    ['districts', 'buildings', 'roads', 'cameras']
    >>> deck.to_html("map.html")  # doctest: +SKIP
    """
    from cimtwin.model.city import CityModel

    _pydeck()
    if visible is not None and isinstance(visible, str):
        visible = [visible]
    if basemap is not None and not (isinstance(basemap, str) and "{z}" in basemap and "{x}" in basemap
                                    and "{y}" in basemap):
        raise ValidationError(f"`basemap` must be a tile URL template with {{z}}, {{x}} and {{y}}; got {basemap!r}.")
    srcs, fallback_crs = _sources(model_or_result)
    if rasters is None:
        rasters = not isinstance(model_or_result, CityModel)
    chosen = _select(srcs, layers, default_rasters=rasters)
    ctx = _Build(tooltip=tooltip)
    boxes: list[tuple[float, float, float, float]] = []
    for i, key in enumerate(chosen):
        obj, kind = srcs[key]
        if key.startswith("raster:"):
            name = key.removeprefix("raster:")
            crs = obj.rio.crs if hasattr(obj, "rio") and obj.rio.crs is not None else fallback_crs
            if crs is None:
                raise ValidationError(f"Raster {name!r} has no CRS; set one with `da.rio.write_crs(...)`.")
            layer, box = _raster_layer(name, obj, crs)
            styled = style_for(name)
            title = label(name) if styled.en != name else f"栅格 raster: {name}"
            group = ctx.group(key, title, None, layer.order)
            if _is_class_raster(name, obj):
                group.legend.extend((f"风险等级 risk class {c}", col, "box") for c, col in RISK_CLASS_COLORS.items())
            else:
                group.legend.append((title, (160, 160, 160, 255), "box"))
            ctx.layers.append(layer)
            boxes.append(box)
            continue
        if len(obj) > max_features:
            raise ValidationError(
                f"Layer {key!r} has {len(obj):,} features, more than max_features={max_features:,} for an "
                "interactive map. Draw a subset, raise max_features, or export the layer to a GeoPackage."
            )
        if obj.crs is None:
            raise ValidationError(f"Layer {key!r} has no CRS; set one with `gdf.set_crs(...)`.")
        if simplify_m and len(obj) and not obj.crs.is_geographic:
            kinds = set(obj.geom_type)
            if not kinds <= {"Point", "MultiPoint"}:  # nothing to simplify in points
                # Plain Douglas-Peucker: many times faster than the topology-preserving one on a
                # city's gap or service-area polygons; a ring it could cross is under
                # `simplify_m` wide, a hair at map scale, and one it collapses is dropped.
                obj = obj.set_geometry(obj.geometry.simplify(float(simplify_m), preserve_topology=False))
                obj = obj[~(obj.geometry.is_empty | obj.geometry.isna())]
        if len(obj) == 0:
            continue
        ll = obj.to_crs("EPSG:4326")
        boxes.append(tuple(float(v) for v in ll.total_bounds))
        _vector_layers(ctx, key, obj, ll, kind)
    if not ctx.layers:
        raise ValidationError("Nothing to draw: every chosen layer is empty.")
    if extent is None and isinstance(model_or_result, CityModel):
        extent = _study_area_extent(model_or_result)
    if extent is not None:
        bounds_ll = _extent_ll(extent, fallback_crs)
    else:
        bounds_ll = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                     max(b[3] for b in boxes))
    groups = sorted(ctx.groups.values(), key=lambda g: g.order)
    if visible is not None:
        known = {g.id for g in groups}
        unknown = [v for v in visible if v not in known and f"raster:{v}" not in known]
        if unknown:
            from cimtwin._validate import close_matches

            raise LayerNotFoundError(f"`visible` names {unknown}, not on this map.{close_matches(unknown[0], known)} "
                                     f"The map's layers: {sorted(known)}.")
        wanted = set(visible) | {f"raster:{v}" for v in visible}
        for g in groups:
            g.visible = g.id in wanted
    elif not any(g.visible for g in groups):
        for g in groups:
            g.visible = True
    rank = {g.id: k for k, g in enumerate(groups)}
    ordered = sorted(ctx.layers, key=lambda lyr: (lyr.order, rank[lyr.group]))
    return DeckMap(ordered, groups, _view(bounds_ll), basemap=basemap, title=title)


class _Build:
    """Layers and panel groups collected while drawing."""

    def __init__(self, *, tooltip: bool):
        self.tooltip = tooltip
        self.layers: list[MapLayer] = []
        self.groups: dict[str, LayerGroup] = {}

    def group(self, gid: str, title: str, kind: str | None, order: int) -> LayerGroup:
        if gid not in self.groups:
            self.groups[gid] = LayerGroup(gid, title, _shown_at_load(gid, kind), order=order)
        return self.groups[gid]


def _tip_fields(gdf) -> list[TipField]:
    import pandas as pd

    out: list[TipField] = []
    for col, (lab, unit, decimals) in _TIP_FIELDS.items():
        if col not in gdf.columns or len(out) >= _MAX_TIP_FIELDS:
            continue
        s = gdf[col]
        if col == "gazette_seq":  # -1 / null: not a road named by the gazette
            s = pd.to_numeric(s, errors="coerce").where(lambda v: v > 0)
        if pd.api.types.is_bool_dtype(s.dtype) or (s.dtype == object and s.dropna().map(type).eq(bool).all()
                                                    and s.notna().any()):
            codes = np.where(s.isna(), 2, s.fillna(False).astype(bool).astype(np.uint8))
            out.append(TipField(lab, unit, codes.astype(np.uint8), ["否 no", "是 yes"]))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out.append(TipField(lab, unit, _compact(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)),
                                decimals=decimals))
        else:
            cat = pd.Categorical(s.astype("string"))
            codes = np.asarray(cat.codes, dtype=np.int64)
            n = len(cat.categories)
            codes = np.where(codes < 0, n, codes)  # code n: no value
            dtype = np.uint8 if n < 255 else (np.uint16 if n < 65535 else np.uint32)
            out.append(TipField(lab, unit, codes.astype(dtype), [str(c) for c in cat.categories]))
    return out


def _compact(values: np.ndarray) -> np.ndarray:
    """Whole numbers as the smallest unsigned integer type (its largest value = no value), else float32."""
    finite = np.isfinite(values)
    v = values[finite]
    if v.size and np.all(v == np.round(v)) and v.min() >= 0:
        for dtype in (np.uint8, np.uint16, np.uint32):
            top = np.iinfo(dtype).max
            if v.max() < top:
                return np.where(finite, values, top).astype(dtype)
    return values.astype(np.float32)


def _points_layer(lid, group, parts, fid, style, order) -> MapLayer:
    import shapely

    coords = shapely.get_coordinates(parts)
    return MapLayer(lid, group, "ScatterplotLayer", {
        "getFillColor": list(style.fill), "getLineColor": [255, 255, 255, 255], "getRadius": style.radius_m,
        "radiusUnits": "meters", "radiusMinPixels": 2, "radiusMaxPixels": 14, "lineWidthMinPixels": 0.5,
        "stroked": True, "pickable": True, "autoHighlight": True,
    }, coords=coords, fid=None if np.array_equal(fid, np.arange(len(fid))) else fid, order=order)


def _path_layer(lid, group, parts, fid, color, width, *, units="meters", min_px=1.0, order=50,
                pickable=True) -> MapLayer:
    coords, starts = _flatten(parts)
    return MapLayer(lid, group, "PathLayer", {
        "getColor": list(color), "getWidth": width, "widthUnits": units, "widthMinPixels": min_px,
        "capRounded": True, "jointRounded": True, "_pathType": "open", "pickable": pickable, "autoHighlight": pickable,
    }, coords=coords, starts=starts, fid=fid, order=order)


def _fill_layer(lid, group, polys, fid, color, *, order=50, elevation=None, pickable=True) -> MapLayer:
    rings, rfid = _fill_parts(polys, fid)
    coords, starts = _flatten(rings)
    props = {"getFillColor": list(color), "filled": True, "_normalize": False, "_windingOrder": "CCW",
             "pickable": pickable, "autoHighlight": pickable}
    attrs = {}
    if elevation is not None:
        # Per-vertex in binary mode: each vertex carries its building's height.
        counts = np.diff(np.append(starts, len(coords)))
        attrs["getElevation"] = np.repeat(np.asarray(elevation, dtype=np.float32)[rfid], counts)
        props.update({"extruded": False, "wireframe": False, "material": {"ambient": 0.45, "diffuse": 0.6,
                                                                         "shininess": 16}})
    return MapLayer(lid, group, "SolidPolygonLayer", props, coords=coords, starts=starts, fid=rfid,
                    attributes=attrs, extrudable=elevation is not None, order=order)


def _vector_layers(ctx: _Build, name: str, gdf, ll, kind: str | None) -> None:
    style = style_for(name, kind)
    title = label(name, kind)
    base_kind = kind or name
    fields = _tip_fields(gdf) if ctx.tooltip else []
    geoms = ll.geometry.to_numpy()
    group = ctx.group(name, title, kind, style.order)
    group.fields = fields
    if base_kind == "cameras" and not gdf.crs.is_geographic and "range_m" in gdf.columns:
        import shapely

        fov = fov_sectors(gdf, arc_step_deg=30.0)
        if len(fov):
            fs = style_for("camera_fov")
            fgroup = ctx.group(f"{name}_fov", f"{label('camera_fov')} ({title})", "camera_fov", fs.order)
            fgroup.fields = fields
            fgroup.legend.append((label("camera_fov"), fs.fill, "box"))
            fid = gdf.index.get_indexer(fov.index)
            polys, pfid = _parts(fov.to_crs("EPSG:4326").geometry.to_numpy(), (3,))
            # A dome camera's blind zone is a few metres across: the map fills it rather than
            # triangulating a disc with a hole for every camera.
            polys = shapely.polygons(shapely.get_exterior_ring(polys))
            ctx.layers.append(_fill_layer(f"{name}_fov", fgroup.id, polys, fid[pfid], fs.fill, order=fs.order))
    polys, pfid = _parts(geoms, (3,))
    if len(polys):
        n_before = len(ctx.layers)
        if "class" in gdf.columns and (base_kind.startswith("risk") or "zone" in base_kind):
            cls = gdf["class"].to_numpy()
            for c, col in RISK_CLASS_COLORS.items():
                hit = cls[pfid] == c
                if hit.any():
                    ctx.layers.append(_fill_layer(f"{name}_class{c}", name, polys[hit], pfid[hit], col,
                                                  order=style.order))
                    group.legend.append((f"风险等级 risk class {c}", col, "box"))
        else:
            elevation = None
            if base_kind == "buildings" and "height_m" in gdf.columns:
                elevation = np.nan_to_num(gdf["height_m"].to_numpy(dtype=float), nan=0.0)
            if style.fill[3] or elevation is not None:
                ctx.layers.append(_fill_layer(f"{name}_polygons", name, polys, pfid, style.fill, order=style.order,
                                              elevation=elevation))
            group.legend.append((title, style.fill if style.fill[3] else style.line, "box"))
        import shapely

        if base_kind != "buildings":  # an extruded city needs no outlines
            rings, ridx = shapely.get_rings(polys, return_index=True)
            width_px = 2.0 if base_kind == "districts" else 1.0
            ctx.layers.append(_path_layer(f"{name}_outline", name, rings, pfid[ridx], style.line, width_px,
                                          units="pixels", min_px=0.5, order=style.order,
                                          pickable=len(ctx.layers) == n_before))
    lines, lfid = _parts(geoms, (1, 2))
    if len(lines):
        if base_kind == "roads" and "road_class" in gdf.columns:
            rc = gdf["road_class"].astype("string").fillna("").to_numpy()[lfid]
            for cls in list(ROAD_CLASS_COLORS) + sorted(set(rc) - set(ROAD_CLASS_COLORS)):
                hit = rc == cls
                if hit.any():
                    ctx.layers.append(_path_layer(f"{name}_{cls or 'unclassified'}", name, lines[hit], lfid[hit],
                                                  ROAD_CLASS_COLORS.get(cls, style.fill),
                                                  ROAD_CLASS_WIDTH_M.get(cls, 10.0), order=style.order))
            group.legend.append((title, ROAD_CLASS_COLORS["arterial"], "line"))
            named = gazette_mask(gdf)[lfid]
            if named.any():
                ctx.layers.append(_path_layer(f"{name}_gazette", name, lines[named], lfid[named], GAZETTE_ROAD_COLOR,
                                              60.0, min_px=4.0, order=style.order + 1))
                group.legend.append(("2021年公告命名道路 roads named by the 2021 gazette", GAZETTE_ROAD_COLOR, "line"))
        else:
            ctx.layers.append(_path_layer(f"{name}_paths", name, lines, lfid, style.fill, style.line_width_m,
                                          order=style.order))
            group.legend.append((title, style.fill, "line"))
    pts, ptfid = _parts(geoms, (0,))
    if len(pts):
        ctx.layers.append(_points_layer(f"{name}_points", name, pts, ptfid, style, style.order))
        group.legend.append((title, style.fill, "dot"))


def deck_legend(deck: DeckMap) -> list[tuple[str, tuple[int, ...], str]]:
    """The legend entries of a map made by :func:`to_deck`: (label, RGBA, "box"|"line"|"dot").

    Examples
    --------
    >>> import cimtwin
    >>> deck_legend(to_deck(cimtwin.load_sample("jinan"), layers=["districts"]))[0][0]
    '区县 districts'
    """
    return deck.legend


def to_html(deck: DeckMap, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write a map as one self-contained HTML page that works offline.

    deck.gl is inlined from the pydeck package; geometry is inlined as base64 typed arrays,
    rasters as PNG data URLs. Nothing remote is loaded unless the map was made with a
    ``basemap`` tile URL.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import cimtwin
    >>> to_html(to_deck(cimtwin.load_sample("jinan")), "map.html")  # doctest: +SKIP
    """
    if not isinstance(deck, DeckMap):
        raise InputTypeError(f"to_html takes a map made by cimtwin.viz.to_deck; got {type(deck).__name__}.")
    return deck.to_html(path, title=title)


# -- the page ------------------------------------------------------------------------------------------

def _b64(values: np.ndarray, dtype) -> dict[str, str]:
    arr = np.ascontiguousarray(values, dtype=dtype)
    return {"b64": base64.b64encode(arr.tobytes()).decode("ascii"), "dtype": np.dtype(dtype).name}


def _index_dtype(largest: int):
    return np.uint16 if largest < 65535 else np.uint32


_POSITION_ACCESSOR = {"ScatterplotLayer": "getPosition", "PathLayer": "getPath", "SolidPolygonLayer": "getPolygon"}


def _spec(deck: DeckMap) -> dict[str, Any]:
    view = deck.initial_view_state
    # Positions are float32 offsets from one origin near the data: millimetre precision.
    origin = [round(view["longitude"], 3), round(view["latitude"], 3), 0]
    layers = []
    for lyr in deck.layers:
        entry: dict[str, Any] = {"id": lyr.id, "group": lyr.group, "type": lyr.type, "props": lyr.props}
        if lyr.coords is not None:
            offsets = np.asarray(lyr.coords, dtype=np.float64)[:, :2] - np.asarray(origin[:2])
            entry["length"] = lyr.length
            entry["attributes"] = {_POSITION_ACCESSOR[lyr.type]: {**_b64(offsets, np.float32), "size": 2}}
            for key, values in lyr.attributes.items():
                entry["attributes"][key] = {**_b64(values, np.float32), "size": 1}
            if lyr.starts is not None:
                entry["startIndices"] = _b64(np.append(lyr.starts, len(lyr.coords)), _index_dtype(len(lyr.coords)))
            if lyr.fid is not None and not np.array_equal(lyr.fid, np.arange(lyr.length)):
                entry["fid"] = _b64(lyr.fid, _index_dtype(int(lyr.fid.max(initial=0))))
        if lyr.extrudable:
            entry["extrudable"] = True
        layers.append(entry)
    groups = []
    for g in deck.groups:
        fields = []
        for f in g.fields:
            item: dict[str, Any] = {"label": f.label, "unit": f.unit, "decimals": f.decimals}
            if f.categories is not None:
                item["categories"] = f.categories
                item["values"] = _b64(f.values, f.values.dtype)
            elif f.values.dtype.kind == "u":
                item["values"] = _b64(f.values, f.values.dtype)
                item["missing"] = int(np.iinfo(f.values.dtype).max)
            else:
                item["values"] = _b64(f.values, np.float32)
            fields.append(item)
        groups.append({"id": g.id, "title": g.label, "fields": fields})
    out = {"origin": origin, "layers": layers, "groups": groups}
    if deck.basemap:
        out["basemap"] = deck.basemap
    return out


def _bundle() -> str:
    """deck.gl and pydeck's JSON converter as shipped inside the pydeck package (no network)."""
    pdk = _pydeck()
    path = Path(pdk.__file__).parent / "nbextension" / "static" / "index.js"
    if not path.exists():  # pragma: no cover - depends on the pydeck build
        raise OptionalDependencyError(
            f"pydeck's bundled deck.gl ({path.name}) is missing; reinstall it: `pip install \"cimtwin[viz]\"`."
        )
    js = path.read_text(encoding="utf-8")
    # Without the map file the browser would try to fetch it when devtools open.
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    # The bundle's own default view is an object literal; written as a call, the page's only
    # `initialViewState` object is the map's (readers look for it as flat JSON).
    js = js.replace("initialViewState:{longitude:0,latitude:0,zoom:1}",
                    "initialViewState:Object.assign({},{longitude:0,latitude:0,zoom:1})")
    # Never let inline code close the <script> element early.
    return js.replace("</script", "<\\/script")


def _swatch(rgba, shape: str) -> str:
    r, g, b, a = (list(rgba) + [255])[:4]
    return (f'<span class="sw {shape}" style="background: rgba({r},{g},{b},{max(a, 90) / 255:.2f})"></span>')


def _panel_html(deck: DeckMap) -> str:
    rows = []
    for g in deck.groups:
        checked = " checked" if g.visible else ""
        gid = html.escape(g.id, quote=True)
        swatches = "".join(_swatch(rgba, shape) for text, rgba, shape in g.legend[:1])
        rows.append(f'<label class="row"><input type="checkbox"{checked} data-layer="{gid}"> '
                    f"{swatches}{html.escape(g.label)}</label>")
        for text, rgba, shape in g.legend[1:]:
            rows.append(f'<div class="sub">{_swatch(rgba, shape)}{html.escape(text)}</div>')
    return "\n".join(rows)


def _page(deck: DeckMap, *, title: str) -> str:
    view = json.dumps({"initialViewState": deck.initial_view_state}, separators=(",", ":"))
    spec = json.dumps(_spec(deck), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return _TEMPLATE.format(title=html.escape(title), view=view, spec=spec, bundle=_bundle(),
                            panel=_panel_html(deck), script=_SCRIPT)


_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script type="application/json" id="cimtwin-view">{view}</script>
<style>
html, body {{ margin: 0; padding: 0; overflow: hidden; background: #f4f2ec;
  font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; }}
#deck-container {{ width: 100vw; height: 100vh; position: relative; }}
#deck-container canvas {{ z-index: 1; }}
.cimtwin-box {{ position: absolute; z-index: 10; background: rgba(255,255,255,0.92); border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12px; }}
#cimtwin-title {{ left: 12px; top: 10px; padding: 6px 10px; font-size: 14px; }}
#cimtwin-panel {{ left: 12px; top: 48px; padding: 6px 10px; line-height: 20px; max-height: calc(100vh - 80px);
  overflow: auto; }}
#cimtwin-panel .row {{ display: block; cursor: pointer; white-space: nowrap; }}
#cimtwin-panel .sub {{ padding-left: 22px; white-space: nowrap; }}
#cimtwin-panel .sw {{ display: inline-block; width: 14px; height: 10px; margin: 0 6px 0 2px; vertical-align: middle; }}
#cimtwin-panel .line {{ height: 4px; }}
#cimtwin-panel .dot {{ width: 10px; border-radius: 5px; }}
#cimtwin-panel .controls {{ margin-top: 6px; border-top: 1px solid #ddd; padding-top: 6px; }}
#cimtwin-panel button {{ font-size: 12px; margin-right: 4px; }}
.error_text {{ color: red; position: absolute; z-index: 100; }}
</style>
<script type="application/json" id="cimtwin-spec">{spec}</script>
<script type="text/javascript">
{bundle}
</script>
</head>
<body>
<div id="deck-container"></div>
<div id="cimtwin-title" class="cimtwin-box">{title}</div>
<div id="cimtwin-panel" class="cimtwin-box">
<div><b>图层 Layers</b></div>
{panel}
<div class="controls">
<button type="button" id="cimtwin-3d" title="二维/三维 2D/3D view">3D</button>
<button type="button" id="cimtwin-rotate-left" title="向左旋转 rotate left">⟲</button>
<button type="button" id="cimtwin-rotate-right" title="向右旋转 rotate right">⟳</button>
<button type="button" id="cimtwin-pitch-up" title="增大俯仰 tilt more">⤒</button>
<button type="button" id="cimtwin-pitch-down" title="减小俯仰 tilt less">⤓</button>
</div>
</div>
<script type="text/javascript">
{script}
</script>
</body>
</html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("cimtwin-spec").textContent);
  var view0 = JSON.parse(document.getElementById("cimtwin-view").textContent).initialViewState;
  var container = document.getElementById("deck-container");
  var TYPED = {float32: Float32Array, float64: Float64Array, uint8: Uint8Array, uint16: Uint16Array,
               uint32: Uint32Array};
  function decode(a) {
    var s = atob(a.b64), bytes = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return new TYPED[a.dtype](bytes.buffer);
  }
  // deck.gl's layer classes come out of pydeck's JSON converter: one hidden layer per type.
  var types = [];
  spec.layers.forEach(function (l) { if (types.indexOf(l.type) < 0) types.push(l.type); });
  if (spec.basemap) ["TileLayer", "BitmapLayer"].forEach(function (t) { if (types.indexOf(t) < 0) types.push(t); });
  var jsonInput = {
    controller: {dragRotate: true, touchRotate: true, keyboard: true},
    layers: types.map(function (t) { return {"@@type": t, id: "__class__" + t, data: t === "TileLayer" ? null : [],
                                             visible: false}; })
  };
  jsonInput["initial" + "ViewState"] = view0;
  var deckgl = createDeck({container: container, jsonInput: jsonInput, tooltip: false, customLibraries: null,
                           configuration: null, showError: true});
  var ctors = {};
  deckgl.props.layers.forEach(function (l) { ctors[l.id.slice(9)] = l.constructor; });
  var data = {}, fids = {}, byId = {}, groups = {};
  spec.groups.forEach(function (g) { groups[g.id] = g; });
  spec.layers.forEach(function (l) {
    byId[l.id] = l;
    if (!l.attributes) return;
    var d = {length: l.length, attributes: {}};
    if (l.startIndices) d.startIndices = decode(l.startIndices);
    Object.keys(l.attributes).forEach(function (k) {
      var a = l.attributes[k];
      d.attributes[k] = {value: decode(a), size: a.size};
    });
    data[l.id] = d;
    if (l.fid) fids[l.id] = decode(l.fid);
  });
  var boxes = {};
  Array.prototype.forEach.call(document.querySelectorAll("#cimtwin-panel input[type=checkbox][data-layer]"),
    function (b) { boxes[b.getAttribute("data-layer")] = b; b.addEventListener("change", render); });
  var mode3d = false, basemapLayer = null;
  function render() {
    var layers = [];
    if (spec.basemap) {
      basemapLayer = basemapLayer || new ctors.TileLayer({id: "basemap", data: spec.basemap, minZoom: 0,
        maxZoom: 19, tileSize: 256, renderSubLayers: function (p) {
          var b = p.tile.bbox;
          return new ctors.BitmapLayer(p, {data: null, image: p.data, bounds: [b.west, b.south, b.east, b.north]});
        }});
      layers.push(basemapLayer);
    }
    spec.layers.forEach(function (l) {
      var box = boxes[l.group];
      var props = Object.assign({}, l.props, {id: l.id, visible: !!(box && box.checked)});
      if (data[l.id]) {
        props.data = data[l.id];
        props.coordinateSystem = "lnglat-offsets";
        props.coordinateOrigin = spec.origin;
      }
      if (l.extrudable) props.extruded = mode3d;
      layers.push(new ctors[l.type](props));
    });
    deckgl.setProps({layers: layers});
  }
  var fieldCache = {};
  function fields(g) {
    if (!fieldCache[g.id]) fieldCache[g.id] = g.fields.map(function (f) {
      return Object.assign({}, f, {arr: decode(f.values)}); });
    return fieldCache[g.id];
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
  }
  function fmt(f, v) {
    if (f.categories) return v < f.categories.length ? f.categories[v] : null;
    if (!isFinite(v) || (f.missing !== undefined && v === f.missing)) return null;
    var s = v.toLocaleString("en-US", {maximumFractionDigits: f.decimals});
    return f.unit ? s + " " + f.unit : s;
  }
  var viewState = Object.assign({}, view0);
  deckgl.setProps({
    getTooltip: function (info) {
      if (!info.picked || !info.layer || info.index < 0) return null;
      var l = byId[info.layer.id];
      var g = l && groups[l.group];
      if (!g) return null;
      var i = fids[l.id] ? fids[l.id][info.index] : info.index;
      var text = "<b>" + esc(g.title) + "</b>";
      fields(g).forEach(function (f) {
        var s = fmt(f, f.arr[i]);
        if (s !== null && s !== "") text += "<br>" + esc(f.label) + ": " + esc(s);
      });
      return {html: text, style: {backgroundColor: "rgba(30,30,30,0.9)", color: "white", fontSize: "12px"}};
    },
    onViewStateChange: function (p) { viewState = p.viewState; },
    onAfterRender: function () { window.cimtwinFrames = (window.cimtwinFrames || 0) + 1; }
  });
  function setView(changes) {
    viewState = Object.assign({}, viewState, changes);
    deckgl.setProps({initialViewState: viewState});
  }
  var button3d = document.getElementById("cimtwin-3d");
  function set3d(on) {
    mode3d = !!on;
    button3d.textContent = mode3d ? "2D" : "3D";
    setView(mode3d ? {pitch: 55, bearing: viewState.bearing || -20} : {pitch: 0, bearing: 0});
    render();
  }
  button3d.addEventListener("click", function () { set3d(!mode3d); });
  document.getElementById("cimtwin-rotate-left").addEventListener("click",
    function () { setView({bearing: (viewState.bearing || 0) - 30}); });
  document.getElementById("cimtwin-rotate-right").addEventListener("click",
    function () { setView({bearing: (viewState.bearing || 0) + 30}); });
  document.getElementById("cimtwin-pitch-up").addEventListener("click",
    function () { setView({pitch: Math.min(60, (viewState.pitch || 0) + 15)}); });
  document.getElementById("cimtwin-pitch-down").addEventListener("click",
    function () { setView({pitch: Math.max(0, (viewState.pitch || 0) - 15)}); });
  render();
  window.cimtwinMap = {deck: deckgl, spec: spec, render: render, set3d: set3d,
                       viewState: function () { return viewState; }};
})();
"""
