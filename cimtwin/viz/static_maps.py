"""Print-quality static maps (matplotlib): layers in the model CRS, legend, scale bar, north arrow.

Maps are drawn in the model's projected CRS (metres), so the scale bar is exact along the
grid; the north arrow points to grid north (the Gauss–Krüger meridian convergence near
Jinan is under 1°). Labels are bilingual when a CJK font is installed, English otherwise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cimtwin._geometry import single_parts
from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.viz.style import (
    GAZETTE_ROAD_COLOR,
    RISK_CLASS_COLORS,
    gazette_mask,
    ROAD_CLASS_COLORS,
    mpl_color,
    style_for,
)

__all__ = ["static_map", "add_scale_bar", "add_north_arrow", "cjk_font", "bilingual"]


# Families with Simplified Chinese glyphs, best first; the first is the one cimtwin ships (as a
# dependency: the noto-cjk-sans-otc package, Noto Sans CJK under the SIL Open Font License).
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                 "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")


def _register_packaged_font() -> None:
    """Add the Noto Sans CJK collection of the ``noto-cjk-sans-otc`` package to matplotlib."""
    from matplotlib import font_manager

    try:
        import noto_cjk_sans_otc
    except ImportError:  # an install without it falls back to the system's fonts
        return
    path = str(noto_cjk_sans_otc.FONT_PATH)
    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The matplotlib family name of a font with Chinese glyphs, or None.

    cimtwin depends on ``noto-cjk-sans-otc`` (Noto Sans CJK, SIL Open Font License 1.1), so
    this is "Noto Sans CJK SC" wherever cimtwin is installed; a system CJK font is used
    only when that package is missing.

    Examples
    --------
    >>> cjk_font()
    'Noto Sans CJK SC'
    """
    from matplotlib import font_manager

    _register_packaged_font()
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_FAMILIES:
        if name in names:
            return name
    return None


def bilingual(zh: str, en: str) -> str:
    """"中文 English" when a CJK font is available (always, with cimtwin's font), else English.

    Examples
    --------
    >>> bilingual("区县", "districts")
    '区县 districts'
    """
    return f"{zh} {en}" if cjk_font() and zh and zh != en else en


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width: 1, 2 or 5 × 10^k metres."""
    raw = max(span_m / 5.0, 1e-9)
    base = 10 ** math.floor(math.log10(raw))
    for m in (5, 2, 1):
        if m * base <= raw:
            return m * base
    return base


def add_scale_bar(ax, *, length_m: float | None = None, segments: int = 4, loc: str = "lower left") -> float:
    """Draw an alternating black/white scale bar in map units (metres); returns its length."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    length = length_m or _nice_length(w)
    bar_h = 0.012 * h
    left = x0 + 0.05 * w if "left" in loc else x1 - 0.05 * w - length
    bottom = y0 + 0.06 * h
    seg = length / segments
    for i in range(segments):
        ax.add_patch(Rectangle((left + i * seg, bottom), seg, bar_h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.8, zorder=50))
    unit, scale = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for frac in (0.0, 0.5, 1.0):
        value = length * frac / scale
        label = f"{value:g}" + (f" {unit}" if frac == 1.0 else "")
        ax.text(left + frac * length, bottom + 1.8 * bar_h, label, ha="center", va="bottom", fontsize=8, zorder=50)
    return length


def add_north_arrow(ax, *, loc: tuple[float, float] = (0.94, 0.86), size: float = 0.08) -> None:
    """An arrow to grid north with an N, in axes coordinates."""
    x, y = loc
    ax.annotate("", xy=(x, y + size), xytext=(x, y), xycoords="axes fraction",
                arrowprops=dict(facecolor="black", edgecolor="black", width=4, headwidth=12, headlength=12),
                zorder=50)
    ax.text(x, y + size + 0.015, "N", transform=ax.transAxes, ha="center", va="bottom", fontsize=13,
            zorder=50)


def _draw_lines(ax, geoms, *, color, linewidth: float, zorder: float) -> None:
    """Lines (an array of geometries) as one path, a move to each line's start: a city's 10^6
    roads draw in about a second, where plotting them geometry by geometry takes minutes."""
    import shapely
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    parts = single_parts(geoms)[0]
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    codes = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
    codes[np.r_[0, np.flatnonzero(np.diff(owner)) + 1]] = Path.MOVETO
    # add_artist, not add_patch: add_patch walks every segment as a Bezier curve for the limits
    ax.add_artist(PathPatch(Path(xy, codes), facecolor="none", edgecolor=color, linewidth=linewidth, zorder=zorder,
                            capstyle="round", joinstyle="round"))
    ax.update_datalim(xy)
    ax.autoscale_view()


# shapely type ids of each family, multi-part included
_POINTS, _LINES, _POLYGONS = (0, 4), (1, 5), (3, 6)


def _draw_layer(ax, name: str, gdf, handles: list) -> None:
    import shapely
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if gdf is None or len(gdf) == 0:
        return
    style = style_for(name)
    # geometry types and selections as arrays: a city's roads layer is drawn in several maps,
    # and sub-frames of 10^6 rows (or type names as strings) cost seconds each time
    geoms = gdf.geometry.to_numpy()
    kind = shapely.get_type_id(geoms)
    label = bilingual(style.zh, style.en)
    z = style.order
    is_poly = np.isin(kind, _POLYGONS)
    if is_poly.any():
        polys = gdf[is_poly]
        if "class" in polys.columns and (name.startswith("risk") or "zone" in name):
            for cls, color in RISK_CLASS_COLORS.items():
                part = polys[polys["class"] == cls]
                if len(part):
                    part.plot(ax=ax, color=mpl_color(color[:3] + (220,)), linewidth=0, zorder=z)
                handles.append(Patch(facecolor=mpl_color(color), label=bilingual(f"风险等级 {cls}", f"risk class {cls}")))
        else:
            fill = mpl_color(style.fill) if style.fill[3] else "none"
            polys.plot(ax=ax, facecolor=fill, edgecolor=mpl_color(style.line), linewidth=0.6, zorder=z)
            handles.append(Patch(facecolor=fill, edgecolor=mpl_color(style.line), label=label))
    is_line = np.isin(kind, _LINES)
    if is_line.any():
        lines = geoms[is_line]
        if name == "roads" and "road_class" in gdf.columns:
            road_class = gdf["road_class"].to_numpy()[is_line]
            for cls, color in ROAD_CLASS_COLORS.items():
                part = lines[road_class == cls]
                if len(part):
                    _draw_lines(ax, part, color=mpl_color(color),
                                linewidth=1.6 if cls in ("expressway", "arterial") else 0.7, zorder=z)
            handles.append(Line2D([], [], color=mpl_color(ROAD_CLASS_COLORS["arterial"]), label=label))
            named = gazette_mask(gdf)[is_line]
            if named.any():
                _draw_lines(ax, lines[named], color=mpl_color(GAZETTE_ROAD_COLOR), linewidth=2.2, zorder=z + 1)
                handles.append(Line2D([], [], color=mpl_color(GAZETTE_ROAD_COLOR), linewidth=2.2,
                                      label=bilingual("2021年公告命名道路", "roads named by the 2021 gazette")))
        else:
            _draw_lines(ax, lines, color=mpl_color(style.fill), linewidth=1.2, zorder=z)
            handles.append(Line2D([], [], color=mpl_color(style.fill), label=label))
    is_point = np.isin(kind, _POINTS)
    if is_point.any():
        xy = shapely.get_coordinates(geoms[is_point])
        ax.scatter(xy[:, 0], xy[:, 1], s=9 if len(xy) < 500 else 3, color=mpl_color(style.fill), zorder=z,
                   edgecolors="white", linewidths=0.3)
        handles.append(Line2D([], [], marker="o", linestyle="", color=mpl_color(style.fill), label=label))


def static_map(layers: Mapping[str, Any] | Any, *, names: Sequence[str] | None = None, raster=None,
               raster_label: str = "", cmap: str = "viridis", title: str = "", crs=None, extent=None,
               figsize=(9, 7.5), dpi: int = 150):
    """A print-quality map of GeoDataFrames (and one raster) with legend, scale bar and north arrow.

    Parameters
    ----------
    layers
        ``{name: GeoDataFrame}`` or a CityModel; names pick the style (``districts``,
        ``roads`` with gazette roads highlighted, ``gaps``, ``risk_zones`` by ``class`` …).
    names
        The layers to draw (default: all given), drawn in style order (base first).
    raster
        An optional DataArray drawn under the vector layers with a colour bar.
    title
        The map title.
    crs
        The CRS to draw in (projected); by default the model's / the first layer's.
    extent
        (xmin, ymin, xmax, ymax) in that CRS to zoom to (e.g. a study area inside a large
        city); everything by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = static_map({"districts": model.layer("districts")}, title="Districts")  # doctest: +SKIP
    >>> fig.savefig("districts.png")                                                  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from cimtwin._validate import require_projected
    from cimtwin.model.city import CityModel

    if isinstance(layers, CityModel):
        crs = crs or layers.crs
        layers = {n: layers.layer(n) for n in (names or layers.layer_names)}
    if not isinstance(layers, Mapping):
        raise InputTypeError(f"static_map takes a dict of GeoDataFrames or a CityModel; got {type(layers).__name__}.")
    chosen = list(names or layers)
    gdfs = {n: layers[n] for n in chosen if layers.get(n) is not None}
    if not gdfs and raster is None:
        raise ValidationError("Nothing to draw: no layer and no raster.")
    crs = crs or next((g.crs for g in gdfs.values() if g.crs is not None), None)
    if crs is None and raster is not None and hasattr(raster, "rio"):
        crs = raster.rio.crs
    require_projected(crs, arg="crs", what="a map with a scale bar")
    gdfs = {n: g.to_crs(crs) for n, g in gdfs.items()}
    font = cjk_font()
    rc = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
        handles: list = []
        if raster is not None:
            from cimtwin.grid.spec import GridSpec

            spec = GridSpec.from_dataarray(raster)
            xmin, ymin, xmax, ymax = spec.bounds
            img = ax.imshow(np.asarray(raster.values, dtype=float), extent=(xmin, xmax, ymin, ymax), origin="upper",
                            cmap=cmap, alpha=0.85, zorder=4, interpolation="nearest")
            fig.colorbar(img, ax=ax, shrink=0.6, label=raster_label or str(raster.name or ""))
        for name in sorted(gdfs, key=lambda n: style_for(n).order):
            _draw_layer(ax, name, gdfs[name], handles)
        ax.set_aspect("equal")
        if extent is not None:
            x0, y0, x1, y1 = (float(v) for v in extent)
            pad = 0.03 * max(x1 - x0, y1 - y0)
            ax.set_xlim(x0 - pad, x1 + pad)
            ax.set_ylim(y0 - pad, y1 + pad)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        if title:
            ax.set_title(title, fontsize=13)
        add_scale_bar(ax)
        add_north_arrow(ax)
        if handles:
            seen: dict[str, Any] = {}
            for h in handles:
                seen.setdefault(h.get_label(), h)
            ax.legend(handles=list(seen.values()), loc="upper center", bbox_to_anchor=(0.5, -0.01),
                      ncol=min(3, len(seen)), fontsize=8, frameon=False)
        fig.tight_layout()
    return fig
