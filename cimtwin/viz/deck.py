"""Interactive maps: a model or a result as a ``pydeck.Deck``, saved as one offline HTML file.

Layers are drawn in WGS84 longitude/latitude (deck.gl's coordinates); the model's projected
layers are reprojected on the way. There is no remote base map: the districts are the base.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cimtwin.errors import InputTypeError, LayerNotFoundError, OptionalDependencyError, ValidationError
from cimtwin.viz.style import (
    GAZETTE_ROAD_COLOR,
    RISK_CLASS_COLORS,
    ROAD_CLASS_COLORS,
    ROAD_CLASS_WIDTH_M,
    label,
    style_for,
)

__all__ = ["to_deck", "to_html", "fov_sectors", "raster_to_png", "deck_legend"]

# Coordinates are rounded to 1e-6° (about 0.1 m): enough for a city map, a third of the JSON.
_DECIMALS = 6
_MAX_RASTER_PX = 1024
# Columns shown in tooltips, with their bilingual labels, when a layer has them.
_TIP_FIELDS = {
    "name": "名称 name",
    "category": "类别 category",
    "road_class": "道路等级 class",
    "gazette_seq": "公告序号 gazette no.",
    "width_m": "宽度 width (m)",
    "level": "级别 level",
    "capacity_persons": "容纳人数 capacity",
    "area_m2": "面积 area (m²)",
    "height_m": "高度 height (m)",
    "azimuth_deg": "方位角 azimuth (°)",
    "hfov_deg": "水平视场角 HFOV (°)",
    "range_m": "视距 range (m)",
    "connected": "联网 connected",
    "is_smart": "智能 smart",
    "frequency_mhz": "频率 frequency (MHz)",
    "kind": "类型 kind",
    "use": "用途 use",
    "fortification_intensity": "设防烈度 fortification",
    "class": "风险等级 risk class",
    "zone": "分区 zone",
    "ratio": "覆盖率 ratio",
    "magnitude": "震级 magnitude",
}
_MAX_TIP_FIELDS = 6
_LEGENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pydeck():
    try:
        import pydeck
    except ImportError as exc:
        raise OptionalDependencyError(
            'Interactive maps need pydeck. Install it with `pip install "cimtwin[viz]"`.'
        ) from exc
    return pydeck


# -- geometry helpers ------------------------------------------------------------------------------

def fov_sectors(cameras, *, arc_points: int = 24):
    """Each camera's field of view as a sector polygon (apex at the camera), in the layer's CRS.

    ``azimuth_deg`` 0 = grid north, clockwise; ``hfov_deg`` is the full angle; ``range_m`` the
    radius. A camera with ``azimuth_deg`` NaN or ``hfov_deg`` ≥ 360 gets a full disc. No
    occlusion: for footprints clipped by buildings and terrain use :mod:`cimtwin.coverage`.

    Parameters
    ----------
    cameras
        GeoDataFrame of points in a projected CRS with ``azimuth_deg``, ``hfov_deg``, ``range_m``.
    arc_points
        Vertices along the arc.

    Returns
    -------
    GeoDataFrame
        One polygon per camera, same index and CRS, the camera's columns kept.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"azimuth_deg": [90.0], "hfov_deg": [60.0], "range_m": [100.0]},
    ...                         geometry=[shapely.Point(0, 0)], crs="EPSG:4527")
    >>> round(fov_sectors(cams).area.iloc[0])  # pi r^2 / 6, a little less along the chords
    5228
    """
    import geopandas as gpd
    import shapely

    from cimtwin._validate import require_projected

    require_projected(cameras.crs, arg="cameras.crs", what="camera field-of-view sectors")
    missing = [c for c in ("range_m",) if c not in cameras.columns]
    if missing:
        raise ValidationError(f"Cameras need a `range_m` column for their sectors; the layer has {list(cameras.columns)}.")
    x = cameras.geometry.x.to_numpy()
    y = cameras.geometry.y.to_numpy()
    r = cameras["range_m"].to_numpy(dtype=float)
    az = cameras["azimuth_deg"].to_numpy(dtype=float) if "azimuth_deg" in cameras else np.full(len(x), np.nan)
    fov = cameras["hfov_deg"].to_numpy(dtype=float) if "hfov_deg" in cameras else np.full(len(x), 360.0)
    omni = ~np.isfinite(az) | ~np.isfinite(fov) | (fov >= 360.0)
    az = np.where(omni, 0.0, az)
    fov = np.where(omni, 360.0, fov)
    # Bearings along the arc, one row per camera; compass bearings: dx = r sin b, dy = r cos b.
    t = np.linspace(-0.5, 0.5, arc_points + 1)
    bearing = np.deg2rad(az[:, None] + fov[:, None] * t[None, :])
    arc = np.stack([x[:, None] + r[:, None] * np.sin(bearing), y[:, None] + r[:, None] * np.cos(bearing)], axis=-1)
    apex = np.stack([x, y], axis=-1)[:, None, :]
    # A disc has no apex: its ring is the arc alone (closed by shapely).
    ring_sector = np.concatenate([apex, arc, apex], axis=1)
    ring_disc = np.concatenate([arc[:, :-1], arc[:, :1], arc[:, :1], arc[:, :1]], axis=1)
    rings = np.where(omni[:, None, None], ring_disc, ring_sector)
    polys = shapely.make_valid(shapely.polygons(rings))
    return gpd.GeoDataFrame(cameras.drop(columns="geometry"), geometry=polys, crs=cameras.crs)


def _round(coords) -> list:
    return np.round(np.asarray(coords, dtype=float)[:, :2], _DECIMALS).tolist()


def _tip(title: str, row: Mapping[str, Any]) -> str:
    parts = [f"<b>{html.escape(title)}</b>"]
    shown = 0
    for col, lab in _TIP_FIELDS.items():
        if col not in row or shown >= _MAX_TIP_FIELDS:
            continue
        v = row[col]
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if col == "gazette_seq" and not v > 0:  # -1 / null: not a road named by the gazette
            continue
        if isinstance(v, (float, np.floating)):
            v = f"{v:.3g}" if col == "ratio" else f"{v:,.1f}".rstrip("0").rstrip(".")
        elif isinstance(v, (bool, np.bool_)):
            v = "是 yes" if v else "否 no"
        parts.append(f"{html.escape(lab)}: {html.escape(str(v))}")
        shown += 1
    return "<br>".join(parts)


def _records(gdf, title: str) -> dict[str, list[dict]]:
    """Flat records by geometry family: polygons (rings), paths, points; each with its tooltip."""
    out: dict[str, list[dict]] = {"polygon": [], "path": [], "point": []}
    if len(gdf) == 0:
        return out
    attrs = gdf.drop(columns=gdf.geometry.name)
    keep = [c for c in _TIP_FIELDS if c in attrs.columns]
    extra_cols = [c for c in ("road_class", "gazette_seq", "class") if c in attrs.columns]
    rows = attrs[list(dict.fromkeys(keep + extra_cols))].to_dict("records") if keep or extra_cols else [{}] * len(gdf)
    for geom, row in zip(gdf.geometry.to_numpy(), rows):
        if geom is None or geom.is_empty:
            continue
        tip = _tip(title, row)
        parts = getattr(geom, "geoms", [geom])
        for part in parts:
            rec = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
                   if k in extra_cols}
            rec = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()}
            rec["tip"] = tip
            gt = part.geom_type
            if gt == "Polygon":
                rec["polygon"] = [_round(part.exterior.coords)] + [_round(r.coords) for r in part.interiors]
                out["polygon"].append(rec)
            elif gt == "LineString":
                rec["path"] = _round(part.coords)
                out["path"].append(rec)
            elif gt == "Point":
                rec["position"] = [round(part.x, _DECIMALS), round(part.y, _DECIMALS)]
                out["point"].append(rec)
    return out


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


def _raster_layer(pdk, name: str, da, crs):
    import pyproj

    cats = RISK_CLASS_COLORS if _is_class_raster(name, da) else None
    cmap = "RdYlGn" if "coverage" in name or "rsrp" in name else ("Blues" if "depth" in name or "flood" in name
                                                                 else "magma_r")
    url, (x0, y0, x1, y1) = raster_to_png(da, cmap=cmap, categories=cats)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    # Four corners: the grid is a Gauss–Krüger rectangle, slightly rotated in lon/lat.
    lon, lat = to_ll.transform([x0, x0, x1, x1], [y0, y1, y1, y0])
    corners = [[round(a, _DECIMALS), round(b, _DECIMALS)] for a, b in zip(lon, lat)]
    return pdk.Layer("BitmapLayer", id=f"raster_{name}", image=pdk.types.String(url), bounds=corners, opacity=0.85,
                     pickable=False)


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


def _view(bounds_ll: tuple[float, float, float, float], width_px: int = 1000, height_px: int = 600) -> dict:
    west, south, east, north = bounds_ll
    lon = (west + east) / 2.0
    lat = (south + north) / 2.0

    def merc_y(phi):
        return math.log(math.tan(math.pi / 4 + math.radians(phi) / 2))

    dx = max(east - west, 1e-6) / 360.0
    dy = max(merc_y(north) - merc_y(south), 1e-8) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512.0 / dx), math.log2(height_px / 512.0 / dy)) - 0.1
    return {"longitude": lon, "latitude": lat, "zoom": max(0.0, min(zoom, 20.0)), "pitch": 0, "bearing": 0}


# -- public --------------------------------------------------------------------------------------------

def to_deck(model_or_result, layers: Sequence[str] | None = None, *, tooltip: bool = True,
            rasters: bool | None = None, max_features: int = 50_000, simplify_m: float | None = None):
    """Draw a model, a result or GeoDataFrames as a ``pydeck.Deck`` (WGS84, no base map).

    Parameters
    ----------
    model_or_result
        A :class:`~cimtwin.model.CityModel`, a GeoDataFrame, a DataArray, a dict ``{name: ...}``
        of them, or a result object carrying GeoDataFrames / DataArrays (its public attributes).
    layers
        Names to draw (vector layers and rasters), in any order; all vector layers by default
        (and every raster of a result or dict). Draw order follows the style's order: districts
        at the bottom, points on top.
    tooltip
        Bilingual (Chinese / English) tooltips on hover.
    rasters
        Draw rasters when ``layers`` is None; default: not for a model (its DEM would hide the
        base), yes otherwise.
    max_features
        A layer with more features than this raises (export to a file format instead).
    simplify_m
        Simplify lines and polygons to this tolerance in metres before drawing (keeps the
        HTML small for zone polygons traced from rasters); None draws them as they are.

    Returns
    -------
    pydeck.Deck
        Save it for offline use with :func:`cimtwin.viz.to_html`.

    Layers drawn
    ------------
    Polygons (districts as the base, zones, key areas, gaps, risk zones), lines (roads by
    class with the gazette roads — ``gazette_seq`` > 0 — in magenta), points (sites,
    gauges, shelters), cameras with their field-of-view sectors, rasters as bitmap layers.

    Examples
    --------
    >>> import cimtwin
    >>> from cimtwin.viz import to_deck, to_html
    >>> deck = to_deck(cimtwin.load_sample("jinan"), layers=["districts", "roads", "cameras"])  # doctest: +SKIP
    >>> to_html(deck, "map.html")  # doctest: +SKIP
    """
    pdk = _pydeck()
    from cimtwin.model.city import CityModel

    srcs, fallback_crs = _sources(model_or_result)
    if rasters is None:
        rasters = not isinstance(model_or_result, CityModel)
    chosen = _select(srcs, layers, default_rasters=rasters)
    deck_layers: list[tuple[int, int, Any]] = []
    legend: list[tuple[str, tuple[int, ...], str]] = []
    boxes = []
    for i, key in enumerate(chosen):
        obj, kind = srcs[key]
        if key.startswith("raster:"):
            name = key.removeprefix("raster:")
            crs = obj.rio.crs if hasattr(obj, "rio") and obj.rio.crs is not None else fallback_crs
            if crs is None:
                raise ValidationError(f"Raster {name!r} has no CRS; set one with `da.rio.write_crs(...)`.")
            layer = _raster_layer(pdk, name, obj, crs)
            deck_layers.append((style_for("raster").order, i, layer))
            legend.append((f"栅格 raster: {name}", (160, 160, 160, 255), "box"))
            boxes.append(_bounds_ll(layer.bounds))
            continue
        if simplify_m and len(obj) and obj.crs is not None and not obj.crs.is_geographic:
            obj = obj.set_geometry(obj.geometry.simplify(float(simplify_m)))
            obj = obj[~obj.geometry.is_empty]
        deck_layers.extend((o, i, lyr) for o, lyr in _vector_layers(pdk, key, obj, kind, legend, max_features))
        if len(obj) and obj.crs is not None:
            boxes.append(tuple(obj.to_crs("EPSG:4326").total_bounds))
    if not deck_layers:
        raise ValidationError("Nothing to draw: every chosen layer is empty.")
    deck_layers.sort(key=lambda t: (t[0], t[1]))
    west = min(b[0] for b in boxes) if boxes else 0.0
    south = min(b[1] for b in boxes) if boxes else 0.0
    east = max(b[2] for b in boxes) if boxes else 1.0
    north = max(b[3] for b in boxes) if boxes else 1.0
    tip = {"html": "{tip}", "style": {"backgroundColor": "rgba(30,30,30,0.9)", "color": "white",
                                      "fontSize": "12px"}} if tooltip else False
    deck = pdk.Deck(layers=[lyr for _, _, lyr in deck_layers], initial_view_state=pdk.ViewState(**_view(
        (west, south, east, north))), map_provider=None, map_style=None, tooltip=tip)
    _LEGENDS[deck] = legend
    return deck


def _bounds_ll(corners) -> tuple[float, float, float, float]:
    lons = [c[0] for c in corners]
    lats = [c[1] for c in corners]
    return (min(lons), min(lats), max(lons), max(lats))


def _vector_layers(pdk, name: str, gdf, kind: str | None, legend: list, max_features: int):
    if len(gdf) > max_features:
        raise ValidationError(
            f"Layer {name!r} has {len(gdf):,} features, more than max_features={max_features:,} for an "
            "interactive map. Draw a subset, raise max_features, or export the layer to a GeoPackage."
        )
    if gdf.crs is None:
        raise ValidationError(f"Layer {name!r} has no CRS; set one with `gdf.set_crs(...)`.")
    style = style_for(name, kind)
    title = label(name, kind)
    ll = gdf.to_crs("EPSG:4326")
    base_kind = kind or name
    if base_kind == "cameras" and len(gdf) and not gdf.crs.is_geographic and "range_m" in gdf:
        fov = fov_sectors(gdf, arc_points=12).to_crs("EPSG:4326")
        recs = _records(fov, label("camera_fov"))["polygon"]
        fs = style_for("camera_fov")
        yield fs.order, pdk.Layer("PolygonLayer", id=f"{name}_fov", data=recs, get_polygon="polygon",
                                  get_fill_color=list(fs.fill), get_line_color=list(fs.line),
                                  line_width_min_pixels=0.5, stroked=True, filled=True, pickable=False)
        legend.append((label("camera_fov"), fs.fill, "box"))
    recs = _records(ll, title)
    if recs["polygon"]:
        polys = recs["polygon"]
        if "class" in gdf.columns and (base_kind.startswith("risk") or "zone" in base_kind):
            for r in polys:
                r["fill"] = list(RISK_CLASS_COLORS.get(int(r.get("class") or 0), style.fill))
            fill = "fill"
            for c, col in RISK_CLASS_COLORS.items():
                legend.append((f"风险等级 risk class {c}", col, "box"))
        else:
            fill = list(style.fill)
            legend.append((title, style.fill if style.fill[3] else style.line, "box"))
        yield style.order, pdk.Layer("PolygonLayer", id=f"{name}_polygons", data=polys, get_polygon="polygon",
                                     get_fill_color=fill, get_line_color=list(style.line),
                                     get_line_width=style.line_width_m, line_width_min_pixels=1,
                                     stroked=True, filled=True, pickable=True, auto_highlight=True)
    if recs["path"]:
        paths = recs["path"]
        if base_kind == "roads" and "road_class" in gdf.columns:
            for r in paths:
                cls = r.get("road_class")
                r["color"] = list(ROAD_CLASS_COLORS.get(cls, style.fill))
                r["width"] = ROAD_CLASS_WIDTH_M.get(cls, 10.0)
            color, width = "color", "width"
            legend.append((title, ROAD_CLASS_COLORS["arterial"], "line"))
        else:
            color, width = list(style.fill), style.line_width_m
            legend.append((title, style.fill, "line"))
        gazette = [r for r in paths if r.get("gazette_seq") is not None and r["gazette_seq"] > 0]
        yield style.order, pdk.Layer("PathLayer", id=f"{name}_paths", data=paths, get_path="path",
                                     get_color=color, get_width=width, width_min_pixels=1, width_units=pdk.types.String("meters"),
                                     cap_rounded=True, pickable=True, auto_highlight=True)
        if gazette:
            yield style.order + 1, pdk.Layer("PathLayer", id=f"{name}_gazette", data=gazette, get_path="path",
                                             get_color=list(GAZETTE_ROAD_COLOR), get_width=60,
                                             width_min_pixels=4, width_units=pdk.types.String("meters"), cap_rounded=True,
                                             pickable=True, auto_highlight=True)
            legend.append(("2021年公告命名道路 roads named by the 2021 gazette", GAZETTE_ROAD_COLOR, "line"))
    if recs["point"]:
        yield style.order, pdk.Layer("ScatterplotLayer", id=f"{name}_points", data=recs["point"],
                                     get_position="position", get_fill_color=list(style.fill),
                                     get_line_color=[255, 255, 255, 255], get_radius=style.radius_m,
                                     radius_min_pixels=2, radius_max_pixels=14, line_width_min_pixels=0.5,
                                     stroked=True, pickable=True, auto_highlight=True)
        legend.append((title, style.fill, "dot"))


def deck_legend(deck) -> list[tuple[str, tuple[int, ...], str]]:
    """The legend entries of a deck made by :func:`to_deck`: (label, RGBA, "box"|"line"|"dot")."""
    return list(_LEGENDS.get(deck, []))


_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; overflow: hidden; background: #f4f2ec;
  font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; }}
#deck-container {{ width: 100vw; height: 100vh; position: relative; }}
#deck-container canvas {{ z-index: 1; }}
#cimtwin-legend {{ position: absolute; z-index: 10; right: 12px; bottom: 12px; background: rgba(255,255,255,0.92);
  padding: 8px 10px; border-radius: 4px; font-size: 12px; line-height: 18px; max-height: 45vh; overflow: auto;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); }}
#cimtwin-legend .sw {{ display: inline-block; width: 14px; height: 10px; margin-right: 6px; vertical-align: middle; }}
#cimtwin-legend .line {{ height: 4px; }}
#cimtwin-legend .dot {{ width: 10px; border-radius: 5px; }}
#cimtwin-title {{ position: absolute; z-index: 10; left: 12px; top: 10px; background: rgba(255,255,255,0.92);
  padding: 6px 10px; border-radius: 4px; font-size: 14px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); }}
.error_text {{ color: red; position: absolute; z-index: 100; }}
</style>
<script type="text/javascript">
{bundle}
</script>
</head>
<body>
<div id="deck-container"></div>
<div id="cimtwin-title">{title}</div>
<div id="cimtwin-legend">{legend}</div>
<script type="text/javascript">
const container = document.getElementById('deck-container');
const jsonInput = {json_input};
const tooltip = {tooltip};
window.cimtwinDeck = createDeck({{container, jsonInput, tooltip, customLibraries: null, configuration: null,
                                  showError: true}});
</script>
</body>
</html>
"""


def _bundle() -> str:
    """deck.gl and pydeck's JSON converter as shipped inside the pydeck package (no network)."""
    pdk = _pydeck()
    path = Path(pdk.__file__).parent / "nbextension" / "static" / "index.js"
    if not path.exists():  # pragma: no cover - depends on the pydeck build
        raise OptionalDependencyError(
            f"pydeck's bundled deck.gl ({path}) is missing; reinstall it: `pip install \"cimtwin[viz]\"`."
        )
    js = path.read_text(encoding="utf-8")
    # Without the map file the browser would try to fetch it when devtools open.
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    # Never let inline code close the <script> element early.
    return js.replace("</script", "<\\/script")


def _legend_html(entries) -> str:
    seen = set()
    rows = []
    for text, rgba, shape in entries:
        if text in seen:
            continue
        seen.add(text)
        r, g, b, a = (list(rgba) + [255])[:4]
        rows.append(f'<div><span class="sw {shape}" style="background: rgba({r},{g},{b},{max(a, 90) / 255:.2f})">'
                    f"</span>{html.escape(text)}</div>")
    return "\n".join(rows)


def to_html(deck, path: str | os.PathLike, *, title: str = "cimtwin 地图 map") -> Path:
    """Write a deck as one self-contained HTML file that works offline.

    deck.gl is inlined from the pydeck package, there is no base map, no remote script,
    stylesheet, font or tile; rasters are inlined PNG data URLs. A bilingual legend is drawn
    for decks made by :func:`to_deck`.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    # Compact JSON: pydeck's indented form is three times larger.
    json_input = json.dumps(json.loads(deck.to_json()), ensure_ascii=False, separators=(",", ":"))
    tooltip = getattr(deck, "_tooltip", True)
    text = _TEMPLATE.format(
        title=html.escape(title),
        bundle=_bundle(),
        legend=_legend_html(deck_legend(deck)),
        json_input=json_input.replace("</", "<\\/"),
        tooltip=json.dumps(tooltip, ensure_ascii=False),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
