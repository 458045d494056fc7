"""``coverage_ratio``: the one entry point for every coverage ratio of the plans.

A ratio is ``covered / total`` of a *target* layer, measured by its geometry: polygons by area
(m²), lines by length (m), points by count, or, with ``weight="population"``, by the residents
of the population raster inside the targets. What "covered" means is the *definition*:

``radius``    within ``radius_m`` of a sensor (rain gauges: R = √(15 km²/π) ≈ 2.185 km by default)
``presence``  the target polygon holds at least one sensor (counted per target feature)
``thiessen``  the target lies in a Thiessen cell no larger than ``area_km2_per_gauge``
``viewshed``  inside a camera's field of view (sector, DORI range, blind zone), occluded by the
              DEM and buildings when the model has them (the default for cameras)
``rsrp``      best-server 5G RSRP per RE ≥ ``threshold_dbm`` (default for 5G sites)
``mcl``       NB-IoT coupling loss ≤ ``mcl_db`` − ``penetration_db`` (default for NB-IoT sites)
``network``   a sensor within ``max_distance_m`` along the road network

See ``docs/coverage.md`` for each definition, its defaults and their sources.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cimtwin._validate import close_matches, one_of, require_positive
from cimtwin.errors import CRSError, InputTypeError, SchemaError, ValidationError

__all__ = ["coverage_ratio", "CoverageResult", "DEFINITIONS", "DEFAULT_GAUGE_RADIUS_M", "default_definition"]

DEFINITIONS = ("radius", "presence", "thiessen", "viewshed", "rsrp", "mcl", "network")
# The definition used when none is given, by the schema kind of the sensor layer.
_DEFAULT_BY_KIND = {"cameras": "viewshed", "sites_5g": "rsrp", "sites_nbiot": "mcl", "rain_gauges": "radius"}
# WMO-No. 168 urban density of recording rain gauges: 10–20 km² per gauge; R = √(A/π), A = 15 km².
DEFAULT_GAUGE_AREA_KM2 = 15.0
DEFAULT_GAUGE_RADIUS_M = math.sqrt(DEFAULT_GAUGE_AREA_KM2 * 1e6 / math.pi)
_TABLE_COLUMNS = ["zone", "covered", "total", "unit", "ratio", "definition"]


class CoverageResult(pd.DataFrame):
    """The tidy ratio table (a pandas DataFrame) with the geometry of the answer attached.

    The result *is* the table: one row per zone (the ``by`` layer's ``name``, or ``"all"``)
    plus an ``"all"`` row when ``by`` is given, with columns ``zone``, ``covered``,
    ``total``, ``unit`` (``m2``, ``m``, ``features``, ``points`` or ``persons``), ``ratio`` (a
    fraction in [0, 1]) and ``definition``; some definitions add columns (``thiessen``:
    ``largest_cell_km2``, ``km2_per_gauge``). Derived frames (slices, copies) are plain
    DataFrames.

    Attributes
    ----------
    table : DataFrame
        The same table as a plain DataFrame.
    covered, gaps : GeoDataFrame
        The covered and uncovered parts of the targets (``zone``, ``target`` = row label of
        the target layer, geometry), in the model CRS.
    footprints : GeoDataFrame or None
        The sensors' coverage (per-sensor sectors/disks, or the polygonised raster coverage).
    grid : DataArray or None
        The raster behind a raster definition (count of cameras, best-server RSRP, coupling loss).
    notes : list of str
        What was assumed or changed (reprojection, omni cameras, resolution, dropped targets).
    params : dict
        The definition's parameters as used (radius_m, threshold_dbm, res_m …).
    """

    _metadata = ["covered", "gaps", "footprints", "grid", "notes", "params"]

    @property
    def _constructor(self):
        return pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self, copy=True)

    def summary(self) -> str:
        """One line per zone: ``zone: 87.3 % (definition, params)``."""
        p = ", ".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return "\n".join(f"{r.zone}: {100 * r.ratio:.1f} % ({r.definition}{'; ' + p if p else ''})"
                         for r in self.itertuples())


def default_definition(kind: str | None, *, radius_m: float | None = None) -> str:
    """The definition ``coverage_ratio`` uses when none is given."""
    if radius_m is not None:
        return "radius"
    if kind in _DEFAULT_BY_KIND:
        return _DEFAULT_BY_KIND[kind]
    raise ValidationError(
        f"No default coverage definition for a sensor layer of kind {kind!r}; pass `definition=` "
        f"(one of {list(DEFINITIONS)}) or `radius_m=`."
    )


# -- inputs ---------------------------------------------------------------------------------
def _resolve_layer(model, layer, *, arg: str, notes: list[str], empty_ok: bool, purpose: str):
    """(GeoDataFrame in model CRS, layer name, schema kind) for a layer name or a GeoDataFrame."""
    import geopandas as gpd

    if isinstance(layer, str):
        gdf = model.layer(layer) if empty_ok else model.require_layer(layer, purpose=purpose)
        return gdf, layer, model.layer_kind(layer)
    if isinstance(layer, gpd.GeoDataFrame):
        if layer.crs is None:
            raise CRSError(f"`{arg}` has no CRS. Set the CRS its coordinates are in, e.g. `gdf.set_crs(4326)`.")
        gdf = layer.copy()
        if not gdf.crs.equals(model.crs):
            notes.append(f"`{arg}` was reprojected from {gdf.crs.to_string()} to the model CRS "
                         f"{model.crs.to_string()}.")
            gdf = gdf.to_crs(model.crs)
        if len(gdf) == 0 and not empty_ok:
            raise ValidationError(f"`{arg}` is empty, but {purpose} needs at least one feature.")
        gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        return gdf, arg, None
    raise InputTypeError(f"`{arg}` must be a layer name of the model or a GeoDataFrame; got {type(layer).__name__}.")


def _family(gdf, *, arg: str) -> str:
    fams = set()
    for t in gdf.geom_type.unique():
        fams.add({"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
                  "Polygon": "polygon", "MultiPolygon": "polygon"}.get(t, t))
    if len(fams) != 1 or next(iter(fams)) not in ("point", "line", "polygon"):
        raise SchemaError(f"`{arg}` must hold one geometry family (points, lines or polygons); it holds {sorted(fams)}. "
                          "Split it into one layer per family.")
    return next(iter(fams))


def _zones(model, by, notes):
    if by is None:
        return None
    gdf, name, _ = _resolve_layer(model, by, arg="by", notes=notes, empty_ok=False, purpose="a zone breakdown")
    if _family(gdf, arg="by") != "polygon":
        raise SchemaError(f"`by` layer {name!r} must hold polygons (districts, sub-districts, grid cells).")
    if "name" not in gdf.columns:
        raise SchemaError(f"`by` layer {name!r} needs a `name` column (the zone names of the table).")
    return gdf


# -- splitting targets into zone pieces -----------------------------------------------------------
def _pieces(targets, family: str, zones, *, same_layer: bool):
    """GeoDataFrame of target parts, one per (target, zone) pair: columns zone, target, geometry."""
    import geopandas as gpd
    import shapely

    geoms = targets.geometry.to_numpy()
    labels = targets.index.to_numpy()
    if zones is None:
        return gpd.GeoDataFrame({"zone": "all", "target": labels}, geometry=geoms, crs=targets.crs)
    if same_layer:
        return gpd.GeoDataFrame({"zone": zones["name"].astype(str).to_numpy(), "target": labels},
                                geometry=geoms, crs=targets.crs)
    zgeoms = zones.geometry.to_numpy()
    znames = zones["name"].astype(str).to_numpy()
    tree = shapely.STRtree(zgeoms)
    if family == "point":
        ti, zi = tree.query(geoms, predicate="intersects")
        # a point on a shared border counts once, in the first zone
        _, first = np.unique(ti, return_index=True)
        ti, zi = ti[first], zi[first]
        return gpd.GeoDataFrame({"zone": znames[zi], "target": labels[ti]}, geometry=geoms[ti], crs=targets.crs)
    ti, zi = tree.query(geoms, predicate="intersects")
    parts = shapely.intersection(geoms[ti], zgeoms[zi])
    keep = _of_family(parts, family)
    parts = np.array([_family_part(g, family) for g in parts[keep]], dtype=object)
    return gpd.GeoDataFrame({"zone": znames[zi[keep]], "target": labels[ti[keep]]}, geometry=parts,
                            crs=targets.crs)


def _measure(geoms, family: str) -> np.ndarray:
    import shapely

    if family == "polygon":
        return shapely.area(geoms)
    if family == "line":
        return shapely.length(geoms)
    return (~shapely.is_empty(geoms)).astype("float64")


def _of_family(geoms, family):
    import shapely

    m = _measure(geoms, family)
    return ~shapely.is_empty(geoms) & (m > 0)


def _family_part(g, family):
    """The part of a geometry of the wanted dimension (intersections may add slivers)."""
    import shapely

    if g.geom_type != "GeometryCollection":
        return g
    dim = {"polygon": 2, "line": 1, "point": 0}[family]
    parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) == dim]
    return shapely.union_all(parts) if parts else shapely.Polygon()


# -- covering pieces with footprints ----------------------------------------------------------------
def _clip_to_footprints(geoms, footprints, family: str):
    """Covered part of each geometry: ``g ∩ ∪{footprints intersecting g}``."""
    import shapely

    n = len(geoms)
    empty = shapely.Point() if family == "point" else (shapely.LineString() if family == "line" else shapely.Polygon())
    covered = np.full(n, empty, dtype=object)
    footprints = footprints[~shapely.is_empty(footprints)]
    if n == 0 or len(footprints) == 0:
        return covered
    tree = shapely.STRtree(footprints)
    gi, fi = tree.query(geoms, predicate="intersects")
    if len(gi) == 0:
        return covered
    order = np.argsort(gi, kind="stable")
    gi, fi = gi[order], fi[order]
    starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
    ends = np.r_[starts[1:], len(gi)]
    single = (ends - starts) == 1
    # one footprint: a vectorised intersection
    s_idx = starts[single]
    covered[gi[s_idx]] = shapely.intersection(geoms[gi[s_idx]], footprints[fi[s_idx]])
    for a, b in zip(starts[~single], ends[~single]):
        g = geoms[gi[a]]
        covered[gi[a]] = shapely.intersection(g, shapely.union_all(footprints[fi[a:b]]))
    for i in np.flatnonzero(shapely.get_type_id(covered) == 7):  # collections → the family's part
        covered[i] = _family_part(covered[i], family)
    return covered


def _points_within(x, y, footprints):
    """Boolean: each point lies in at least one footprint."""
    import shapely

    pts = shapely.points(x, y)
    tree = shapely.STRtree(footprints[~shapely.is_empty(footprints)])
    pi, _ = tree.query(pts, predicate="intersects")
    hit = np.zeros(len(pts), dtype=bool)
    hit[pi] = True
    return hit


def _mask_polygons(mask, spec):
    """Polygons of the True cells of a raster mask (cell squares, exact to the grid)."""
    import rasterio.features
    import shapely.geometry

    if not mask.any():
        return np.array([], dtype=object)
    shapes = rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=spec.transform, connectivity=4)
    return np.array([shapely.geometry.shape(g) for g, _ in shapes], dtype=object)


def _mask_at(mask, spec, x, y):
    r, c = spec.rowcol(x, y)
    inside = spec.contains_rowcol(r, c)
    out = np.zeros(len(x), dtype=bool)
    out[inside] = mask[r[inside], c[inside]]
    return out


# -- the entry point -------------------------------------------------------------------------------
def coverage_ratio(model, *, sensors, targets, by=None, definition: str | None = None,
                   weight: str | None = None, category=None, radius_m: float | None = None,
                   assume_omni: bool = False, dori: str | None = None, pixels_h: float = 1920.0,
                   res_m: float | None = None, threshold_dbm: float = -105.0, mcl_db: float = 164.0,
                   penetration_db: float | None = None, scenario: str | None = None, los: str = "nlos",
                   area_km2_per_gauge: float = DEFAULT_GAUGE_AREA_KM2, max_distance_m: float | None = None,
                   method: str = "auto", geometries: bool = True) -> CoverageResult:
    """Share of a target layer covered by a sensor layer, overall or per zone.

    Parameters
    ----------
    model : CityModel
    sensors, targets : str or GeoDataFrame
        Layer names of ``model`` (or GeoDataFrames; one in another CRS is reprojected and
        the result's ``notes`` say so). An empty target layer is an error.
    by : str or GeoDataFrame or None
        Zone layer with a ``name`` column (districts, subdistricts, grid_cells); None: one
        row ``"all"``.
    definition : {"radius", "presence", "thiessen", "viewshed", "rsrp", "mcl", "network"} or None
        None: ``"radius"`` when ``radius_m`` is given, else by the sensor layer's kind
        (cameras → viewshed, sites_5g → rsrp, sites_nbiot → mcl, rain_gauges → radius).
    weight : {"population"} or None
        Weight polygon targets by the residents of the model's ``population`` raster.
    category : str or list of str or None
        Keep only targets whose ``category`` is among these (e.g. ``"重要部位"`` of key_areas).
    radius_m : float
        ``radius``: the coverage radius (rain gauges default to √(15 km²/π) ≈ 2185 m).
        ``viewshed``: omitted; the cameras' own ``range_m``.
    assume_omni : bool
        Treat cameras without azimuth or FOV as omnidirectional instead of raising.
    dori : {"monitor", "detection", "observation", "recognition", "identification"} or None
        Cap each camera's range at the distance of this EN 62676-4 pixel density.
    res_m : float or None
        Raster resolution for raster definitions (viewshed with DEM/buildings, rsrp, mcl,
        ``method="grid"``). Default: the DEM's, or 2 m when the targets cover under 1 km²
        (viewshed); the model grid's, else 25 m (radio).
    threshold_dbm : float
        ``rsrp``: covered where best-server RSRP per RE ≥ this (default −105 dBm).
    mcl_db, penetration_db : float
        ``mcl``: covered where coupling loss ≤ ``mcl_db`` (164 dB) with ``penetration_db``
        added to the path loss (default by target kind: 30 dB for pipes, 20 dB for buildings,
        0 dB outdoors). ``rsrp`` subtracts ``penetration_db`` too (default 0).
    scenario : {"uma", "umi"} or None
        TR 38.901 scenario; None: UMi below 15 m antenna height, else UMa.
    los : {"nlos", "viewshed"}
        Radio line of sight: NLOS everywhere (conservative) or from the DEM viewshed.
    area_km2_per_gauge : float
        ``thiessen``: the largest compliant Thiessen cell (WMO urban 10–20 km²; 15 km²).
    max_distance_m : float
        ``network``: the largest road-network distance from a target to a sensor.
    method : {"auto", "vector", "grid"}
        ``radius`` on polygons/lines: exact polygons (vector) or a raster at ``res_m``
        (grid, for 10⁴+ sensors); auto picks vector up to 2 000 sensors.
    geometries : bool
        Build the covered/gaps GeoDataFrames (False saves time on very large inputs).

    Returns
    -------
    CoverageResult
        A DataFrame (zone, covered, total, unit, ratio, definition) with ``covered``,
        ``gaps``, ``footprints``, ``grid``, ``notes`` and ``params`` attributes.

    Examples
    --------
    >>> import cimtwin, geopandas as gpd, shapely
    >>> x0, y0 = 39_500_000, 4_060_000   # CGCS2000 GK zone 39 (EPSG:4527), synthetic
    >>> zones = gpd.GeoDataFrame({"name": ["A", "B"]}, crs="EPSG:4527", geometry=[
    ...     shapely.box(x0, y0, x0 + 1000, y0 + 1000), shapely.box(x0 + 1000, y0, x0 + 2000, y0 + 1000)])
    >>> gauges = gpd.GeoDataFrame(geometry=[shapely.Point(x0 + 500, y0 + 500)], crs="EPSG:4527")
    >>> m = cimtwin.CityModel.from_layers({"subdistricts": zones, "rain_gauges": gauges})
    >>> r = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", definition="presence")
    >>> r[["zone", "covered", "total", "ratio"]].to_dict("records")
    [{'zone': 'all', 'covered': 1.0, 'total': 2.0, 'ratio': 0.5}]
    """
    notes: list[str] = []
    sensor_gdf, sensor_name, sensor_kind = _resolve_layer(model, sensors, arg="sensors", notes=notes,
                                                          empty_ok=True, purpose="coverage")
    target_gdf, target_name, target_kind = _resolve_layer(model, targets, arg="targets", notes=notes,
                                                          empty_ok=False, purpose="a coverage ratio")
    if definition is None:
        definition = default_definition(sensor_kind, radius_m=radius_m)
    if definition not in DEFINITIONS:
        raise ValidationError(f"Unknown coverage definition {definition!r}; valid definitions are "
                              f"{list(DEFINITIONS)}.{close_matches(str(definition), DEFINITIONS)}")
    one_of(method, ("auto", "vector", "grid"), arg="method")
    one_of(los, ("nlos", "viewshed"), arg="los")
    if weight is not None:
        one_of(weight, ("population",), arg="weight")
    if radius_m is not None:
        radius_m = require_positive(radius_m, arg="radius_m")
    if res_m is not None:
        res_m = require_positive(res_m, arg="res_m")
    if not -160.0 <= float(threshold_dbm) <= -30.0:
        raise ValidationError(f"`threshold_dbm` must be an RSRP in [-160, -30] dBm; got {threshold_dbm!r}.")
    if not 100.0 <= float(mcl_db) <= 200.0:
        raise ValidationError(f"`mcl_db` must be a coupling loss in [100, 200] dB; got {mcl_db!r}.")
    if penetration_db is not None and not 0.0 <= float(penetration_db) <= 100.0:
        raise ValidationError(f"`penetration_db` must be in [0, 100] dB; got {penetration_db!r}.")
    area_km2_per_gauge = require_positive(area_km2_per_gauge, arg="area_km2_per_gauge")

    if category is not None:
        if "category" not in target_gdf.columns:
            raise SchemaError(f"`category` filter given, but target layer {target_name!r} has no `category` column.")
        cats = [category] if isinstance(category, str) else list(category)
        present = sorted(set(target_gdf["category"].dropna().astype(str)))
        target_gdf = target_gdf[target_gdf["category"].isin(cats)]
        if len(target_gdf) == 0:
            raise ValidationError(f"Target layer {target_name!r} has no features of category {cats}; "
                                  f"its categories are {present}.")
    family = _family(target_gdf, arg="targets")
    zones = _zones(model, by, notes)
    same_layer = isinstance(by, str) and isinstance(targets, str) and by == targets and category is None
    if weight == "population" and family != "polygon":
        raise ValidationError("`weight='population'` needs polygon targets (the residents inside them).")

    params: dict[str, Any] = {}
    ctx = dict(model=model, sensors=sensor_gdf, sensor_name=sensor_name, sensor_kind=sensor_kind,
               targets=target_gdf, target_name=target_name, target_kind=target_kind, family=family,
               zones=zones, same_layer=same_layer, notes=notes, params=params, geometries=geometries,
               weight=weight)
    if definition == "presence":
        out = _presence(**ctx)
    elif definition == "thiessen":
        out = _thiessen(area_km2_per_gauge=area_km2_per_gauge, **ctx)
    elif definition == "network":
        out = _network(max_distance_m=max_distance_m, **ctx)
    else:
        if len(sensor_gdf) == 0:
            notes.append(f"sensor layer {sensor_name!r} is empty: nothing is covered.")
        footprints, grid, mask_spec = _footprints(
            definition, radius_m=radius_m, assume_omni=assume_omni, dori=dori, pixels_h=pixels_h, res_m=res_m,
            threshold_dbm=threshold_dbm, mcl_db=mcl_db, penetration_db=penetration_db, scenario=scenario, los=los,
            method=method, **ctx)
        out = _measure_pieces(definition, footprints=footprints, grid=grid, mask_spec=mask_spec, **ctx)
    table, covered, gaps, fp, grid_da = out
    result = CoverageResult(table)
    result.covered = covered
    result.gaps = gaps
    result.footprints = fp
    result.grid = grid_da
    result.notes = notes
    result.params = params
    return result


def _finish_table(pieces, covered_measure, total_measure, unit, definition, zones, extra=None):
    """Aggregate per-piece measures into the tidy table (zones in layer order, then 'all')."""
    df = pd.DataFrame({"zone": pieces["zone"].to_numpy(), "covered": covered_measure, "total": total_measure})
    agg = df.groupby("zone", sort=False)[["covered", "total"]].sum()
    if zones is not None:
        order = [z for z in zones["name"].astype(str) if z in agg.index]
        agg = agg.loc[order]
        agg.loc["all"] = [float(np.sum(covered_measure)), float(np.sum(total_measure))]
    table = agg.reset_index().rename(columns={"index": "zone"})
    table = table[table["total"] > 0].reset_index(drop=True)
    table["covered"] = table["covered"].astype("float64")
    table["total"] = table["total"].astype("float64")
    table["unit"] = unit
    table["ratio"] = np.clip(table["covered"] / table["total"], 0.0, 1.0)
    table["definition"] = definition
    if extra is not None:
        table = table.merge(extra, on="zone", how="left")
    return table[_TABLE_COLUMNS + [c for c in table.columns if c not in _TABLE_COLUMNS]]


def _unit(family, weight):
    if weight == "population":
        return "persons"
    return {"polygon": "m2", "line": "m", "point": "points"}[family]


def _gdf(frame, geoms, crs):
    import geopandas as gpd

    return gpd.GeoDataFrame({"zone": frame["zone"].to_numpy(), "target": frame["target"].to_numpy()},
                            geometry=np.asarray(geoms, dtype=object), crs=crs)


def _split_geometries(pieces, covered_geoms, family, crs):
    import shapely

    geoms = pieces.geometry.to_numpy()
    if family == "point":
        hit = ~shapely.is_empty(covered_geoms)
        return _gdf(pieces[hit], geoms[hit], crs), _gdf(pieces[~hit], geoms[~hit], crs)
    gaps = shapely.difference(geoms, covered_geoms)
    keep_c = _of_family(covered_geoms, family)
    keep_g = _of_family(gaps, family)
    return (_gdf(pieces[keep_c], covered_geoms[keep_c], crs), _gdf(pieces[keep_g], gaps[keep_g], crs))


# -- definitions that produce footprints ------------------------------------------------------------
def _footprints(definition, *, model, sensors, sensor_name, sensor_kind, targets, target_kind, family, notes,
                params, radius_m, assume_omni, dori, pixels_h, res_m, threshold_dbm, mcl_db, penetration_db,
                scenario, los, method, **_):
    """(footprint polygons or None, grid DataArray or None, (mask, spec) or None)."""
    import shapely

    if definition == "radius":
        if radius_m is None:
            if sensor_kind == "rain_gauges":
                radius_m = DEFAULT_GAUGE_RADIUS_M
                notes.append(f"radius_m = √({DEFAULT_GAUGE_AREA_KM2:g} km²/π) = {radius_m:.0f} m from WMO-No. 168 "
                             "urban density (10–20 km² per recording gauge).")
            else:
                raise ValidationError("Definition 'radius' needs `radius_m` (metres) for this sensor layer.")
        params["radius_m"] = radius_m
        x = sensors.geometry.x.to_numpy()
        y = sensors.geometry.y.to_numpy()
        use_grid = method == "grid" or (method == "auto" and len(sensors) > 2000 and family != "point")
        if use_grid:
            from cimtwin.grid import coverage_count_points

            spec = _analysis_grid(model, targets, pad_m=0.0, res_m=res_m, default_res_m=max(radius_m / 50.0, 1.0))
            params["method"] = "grid"
            params["res_m"] = spec.res_m
            count = coverage_count_points(spec, x, y, radius_m=radius_m)
            count = np.asarray(getattr(count, "values", count))
            notes.append(f"radius coverage on a {spec.res_m:g} m raster ({spec.shape[0]}×{spec.shape[1]} cells).")
            return None, None, (count > 0, spec)
        params["method"] = "vector"
        if family == "point":
            return ("dwithin", x, y, radius_m), None, None
        return shapely.buffer(shapely.points(x, y), radius_m, quad_segs=64), None, None

    if definition == "viewshed":
        from cimtwin.coverage.cameras import camera_footprints

        if len(sensors) == 0:
            return np.array([], dtype=object), None, None
        if dori is not None:
            params["dori"] = dori
        occluders = [n for n in ("dem", "buildings") if (model.has_raster(n) if n == "dem" else model.has_layer(n))]
        if not occluders:
            fp = camera_footprints(sensors, dori=dori, pixels_h=pixels_h, assume_omni=assume_omni, layer=sensor_name)
            notes.extend(fp.attrs.get("notes", []))
            notes.append("no DEM or buildings in the model: camera footprints are exact sectors (no occlusion).")
            params["occlusion"] = None
            return fp.geometry.to_numpy(), None, None
        from cimtwin.coverage._occlusion import viewshed_mask

        mask, spec, count_da, used_res = viewshed_mask(model, sensors, targets, occluders=occluders, res_m=res_m,
                                                       dori=dori, pixels_h=pixels_h, assume_omni=assume_omni,
                                                       layer=sensor_name, notes=notes)
        params["occlusion"] = "+".join(occluders)
        params["res_m"] = used_res
        return None, count_da, (mask, spec)

    # radio
    from cimtwin.coverage.radio import PENETRATION_DB, best_server

    if penetration_db is None:
        where = {"pipes": "underground", "buildings": "indoor"}.get(target_kind or "", "outdoor")
        penetration_db = PENETRATION_DB[where] if definition == "mcl" else 0.0
        if penetration_db:
            notes.append(f"penetration_db = {penetration_db:g} dB for {where} targets (deep-coverage margin).")
    spec = _analysis_grid(model, targets, pad_m=0.0, res_m=res_m, default_res_m=25.0, prefer_model_grid=True)
    params.update(res_m=spec.res_m, penetration_db=penetration_db, scenario=scenario or "auto (UMi < 15 m)", los=los)
    if len(sensors) == 0:
        field = np.full(spec.shape, np.nan, dtype="float32")
    else:
        los_fn = None
        if los == "viewshed":
            from cimtwin.coverage._occlusion import radio_los

            los_fn = radio_los(model, sensors, spec)
        bs = best_server(sensors, spec, quantity=definition, scenario=scenario, penetration_db=penetration_db,
                         los_mask=los_fn)
        field = bs.value
    if definition == "rsrp":
        params["threshold_dbm"] = float(threshold_dbm)
        mask = np.nan_to_num(field, nan=-np.inf) >= threshold_dbm
        name, units = "rsrp_dbm", "dBm"
    else:
        params["mcl_db"] = float(mcl_db)
        mask = np.nan_to_num(field, nan=np.inf) <= mcl_db
        name, units = "coupling_loss_db", "dB"
    grid_da = spec.to_dataarray(field, name=name, attrs={"units": units, "cimtwin_op": f"coverage_ratio/{definition}"})
    return None, grid_da, (mask, spec)


def _analysis_grid(model, targets, *, pad_m, res_m, default_res_m, prefer_model_grid=False):
    from cimtwin.grid.spec import GridSpec

    grid = model.grid
    if prefer_model_grid and grid is not None and res_m is None:
        return grid
    xmin, ymin, xmax, ymax = targets.total_bounds
    res = res_m or (grid.res_m if (grid is not None and prefer_model_grid) else default_res_m)
    return GridSpec.from_bounds((xmin - pad_m - res, ymin - pad_m - res, xmax + pad_m + res, ymax + pad_m + res),
                                res_m=res, crs=model.crs)


def _population_points(model, pieces):
    """Cell centres of the population raster with residents, assigned to pieces."""
    import shapely

    if not model.has_raster("population"):
        raise ValidationError("`weight='population'` needs a `population` raster in the model "
                              "(`model.with_raster('population', da)`).")
    da = model.raster("population")
    vals = np.asarray(da.values, dtype="float64")
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(da)
    r, c = np.nonzero(np.isfinite(vals) & (vals > 0))
    x, y = spec.xy(r, c)
    tree = shapely.STRtree(pieces.geometry.to_numpy())
    pi, ci = tree.query(shapely.points(x, y), predicate="intersects")
    # a cell centre on a shared edge belongs to one piece
    _, first = np.unique(pi, return_index=True)
    pi, ci = pi[first], ci[first]
    return x[pi], y[pi], vals[r[pi], c[pi]], ci


def _measure_pieces(definition, *, model, targets, family, zones, same_layer, notes, geometries, weight,
                    footprints, grid, mask_spec, **_):
    import shapely

    pieces = _pieces(targets, family, zones, same_layer=same_layer)
    if zones is not None and family == "point" and len(pieces) < len(targets):
        notes.append(f"{len(targets) - len(pieces)} target point(s) lie outside every zone and are not counted.")
    unit = _unit(family, weight)
    geoms = pieces.geometry.to_numpy()
    crs = targets.crs
    empty_cov = None

    if weight == "population":
        x, y, w, piece_of = _population_points(model, pieces)
        hit = _covered_points(x, y, footprints, mask_spec)
        cov = np.bincount(piece_of, weights=w * hit, minlength=len(pieces))
        tot = np.bincount(piece_of, weights=w, minlength=len(pieces))
        covered_geoms = _covered_geoms(geoms, footprints, mask_spec, "polygon") if geometries else None
    elif family == "point":
        hit = _covered_points(shapely.get_x(geoms), shapely.get_y(geoms), footprints, mask_spec)
        cov = hit.astype("float64")
        tot = np.ones(len(pieces))
        covered_geoms = np.where(hit, geoms, shapely.Point())
    elif isinstance(footprints, np.ndarray) or mask_spec is None:
        covered_geoms = _clip_to_footprints(geoms, footprints, family)
        cov = _measure(covered_geoms, family)
        tot = _measure(geoms, family)
    elif family == "polygon" and not geometries:
        cov, tot = _grid_area(pieces, mask_spec)
        covered_geoms = None
    else:
        covered_geoms = _covered_geoms(geoms, footprints, mask_spec, family)
        cov = _measure(covered_geoms, family)
        tot = _measure(geoms, family)
    table = _finish_table(pieces, cov, tot, unit, definition, zones)
    covered = gaps = empty_cov
    if geometries and covered_geoms is not None:
        covered, gaps = _split_geometries(pieces, covered_geoms, family, crs)
    fp = None
    if isinstance(footprints, np.ndarray):
        fp = _footprint_gdf(footprints, crs)
    elif mask_spec is not None and geometries:
        fp = _footprint_gdf(_mask_polygons(*mask_spec), crs)
    return table, covered, gaps, fp, grid


def _footprint_gdf(geoms, crs):
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=np.asarray(geoms, dtype=object), crs=crs)


def _covered_points(x, y, footprints, mask_spec):
    import shapely

    if isinstance(footprints, tuple) and footprints[0] == "dwithin":
        _, sx, sy, r = footprints
        if len(sx) == 0:
            return np.zeros(len(x), dtype=bool)
        from scipy.spatial import cKDTree

        d, _ = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([x, y]), k=1)
        return d <= r
    if mask_spec is not None:
        return _mask_at(mask_spec[0], mask_spec[1], x, y)
    if len(footprints) == 0:
        return np.zeros(len(x), dtype=bool)
    return _points_within(np.asarray(x), np.asarray(y), footprints)


def _covered_geoms(geoms, footprints, mask_spec, family):
    if mask_spec is not None:
        footprints = _mask_polygons(*mask_spec)
    if isinstance(footprints, tuple):  # dwithin on points: only used for point targets
        raise AssertionError("point footprints used for non-point targets")
    return _clip_to_footprints(geoms, footprints, family)


def _grid_area(pieces, mask_spec):
    """Covered and total area per piece from a raster mask (cells whose centre is inside)."""
    import rasterio.features

    mask, spec = mask_spec
    labels = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(pieces.geometry.to_numpy())), out_shape=spec.shape,
        transform=spec.transform, fill=0, dtype="int32")
    from cimtwin.kernels.zonal import label_counts

    cell = spec.res_m ** 2
    # one pass over the label grid: bincount(labels[mask]) would copy most of a 1e8-cell grid twice
    tot, cov = label_counts(labels.ravel(), np.ascontiguousarray(mask).ravel(), len(pieces) + 1)
    return (cov[1:] * cell).astype("float64"), (tot[1:] * cell).astype("float64")


# -- presence, thiessen, network --------------------------------------------------------------------
def _zone_of_targets(targets, zones, same_layer):
    """Zone name of each target (by representative point), for count-type definitions."""
    import shapely

    if zones is None:
        return np.full(len(targets), "all", dtype=object)
    if same_layer:
        return zones["name"].astype(str).to_numpy()
    pts = shapely.point_on_surface(targets.geometry.to_numpy())
    tree = shapely.STRtree(zones.geometry.to_numpy())
    ti, zi = tree.query(pts, predicate="intersects")
    out = np.full(len(targets), None, dtype=object)
    names = zones["name"].astype(str).to_numpy()
    for t, z in zip(ti[::-1], zi[::-1]):
        out[t] = names[z]
    return out


def _presence(*, sensors, targets, family, zones, same_layer, notes, params, geometries, weight, **_):
    import shapely

    if family != "polygon":
        raise ValidationError("Definition 'presence' needs polygon targets (sub-districts, grid cells, key areas).")
    if weight is not None:
        raise ValidationError("Definition 'presence' counts target features; it takes no `weight`.")
    geoms = targets.geometry.to_numpy()
    has = np.zeros(len(targets), dtype=bool)
    if len(sensors):
        tree = shapely.STRtree(geoms)
        _, ti = tree.query(sensors.geometry.to_numpy(), predicate="intersects")
        has[ti] = True
    zone = _zone_of_targets(targets, zones, same_layer)
    keep = zone != None  # noqa: E711 (object array)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} target(s) lie outside every zone and are not counted.")
    pieces = pd.DataFrame({"zone": zone[keep], "target": targets.index.to_numpy()[keep]})
    table = _finish_table(pieces, has[keep].astype("float64"), np.ones(int(keep.sum())), "features", "presence",
                          zones)
    covered = gaps = None
    if geometries:
        covered = _gdf(pieces[has[keep]], geoms[keep][has[keep]], targets.crs)
        gaps = _gdf(pieces[~has[keep]], geoms[keep][~has[keep]], targets.crs)
    return table, covered, gaps, None, None


def _thiessen(*, sensors, targets, family, zones, same_layer, notes, params, geometries, weight,
              area_km2_per_gauge, **_):
    import geopandas as gpd
    import shapely

    if family != "polygon":
        raise ValidationError("Definition 'thiessen' needs polygon targets (the study area or its zones).")
    if weight is not None:
        raise ValidationError("Definition 'thiessen' measures area; it takes no `weight`.")
    params["area_km2_per_gauge"] = area_km2_per_gauge
    aoi = shapely.union_all(targets.geometry.to_numpy())
    pts = sensors.geometry.to_numpy()
    if len(pts):
        # cells from the gauges inside the study area's neighbourhood
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=aoi.envelope.buffer(1.0),
                                                           ordered=True))
        cells = shapely.intersection(cells, aoi)
    else:
        cells = np.array([], dtype=object)
    cell_km2 = shapely.area(cells) / 1e6
    ok = cell_km2 <= area_km2_per_gauge
    footprints = cells[ok & (cell_km2 > 0)]
    pieces = _pieces(targets, "polygon", zones, same_layer=same_layer)
    geoms = pieces.geometry.to_numpy()
    covered_geoms = _clip_to_footprints(geoms, footprints, "polygon")
    cov = shapely.area(covered_geoms)
    tot = shapely.area(geoms)
    # per zone: largest Thiessen cell touching it and area per gauge inside it
    extra_rows = []
    tree = shapely.STRtree(cells) if len(cells) else None
    gauge_tree = shapely.STRtree(pts) if len(pts) else None
    for z, grp in pd.DataFrame({"zone": pieces["zone"].to_numpy(), "i": np.arange(len(pieces))}).groupby(
            "zone", sort=False):
        zg = shapely.union_all(geoms[grp["i"].to_numpy()])
        largest = float(cell_km2[tree.query(zg, predicate="intersects")].max()) if tree is not None and len(
            tree.query(zg, predicate="intersects")) else float("nan")
        n = len(gauge_tree.query(zg, predicate="intersects")) if gauge_tree is not None else 0
        extra_rows.append({"zone": z, "largest_cell_km2": largest,
                           "km2_per_gauge": (zg.area / 1e6 / n) if n else float("inf")})
    if zones is not None:
        n_all = len(pts)
        extra_rows.append({"zone": "all", "largest_cell_km2": float(cell_km2.max()) if len(cells) else float("nan"),
                           "km2_per_gauge": aoi.area / 1e6 / n_all if n_all else float("inf")})
    table = _finish_table(pieces, cov, tot, "m2", "thiessen", zones, extra=pd.DataFrame(extra_rows))
    covered = gaps = None
    if geometries:
        covered, gaps = _split_geometries(pieces, covered_geoms, "polygon", targets.crs)
    fp = gpd.GeoDataFrame({"area_km2": cell_km2, "compliant": ok}, geometry=cells, crs=targets.crs)
    notes.append(f"Thiessen cells clipped to the targets' union; compliant when ≤ {area_km2_per_gauge:g} km² "
                 "(WMO-No. 168 urban 10–20 km² per gauge).")
    return table, covered, gaps, fp, None


def _network(*, model, sensors, targets, family, zones, same_layer, notes, params, geometries, weight,
             max_distance_m, **_):
    import shapely

    if max_distance_m is None:
        raise ValidationError("Definition 'network' needs `max_distance_m` (road-network metres).")
    max_distance_m = require_positive(max_distance_m, arg="max_distance_m")
    if weight is not None:
        raise ValidationError("Definition 'network' counts target features; it takes no `weight`.")
    params["max_distance_m"] = max_distance_m
    from cimtwin.routing import RoadNetwork, snap_points  # lazily: routing is only needed here

    net = RoadNetwork.from_roads(model.require_layer("roads", purpose="the 'network' coverage definition"),
                                 warn_components=False)
    pts = targets.geometry.to_numpy() if family == "point" else shapely.point_on_surface(targets.geometry.to_numpy())
    if family != "point":
        notes.append("network distance measured from each target's representative point.")
    notes.append("network distance along roads in both directions, plus nothing for the snap offsets.")
    if len(sensors):
        node_dist, _ = net.nearest_facility(sensors.geometry, cutoff=max_distance_m)
        snap = snap_points(net, pts)
        u = net.node_index(snap["u"].to_numpy())
        v = net.node_index(snap["v"].to_numpy())
        f = snap["fraction"].to_numpy()
        edge_len = np.asarray(net.edge_attr("length"), dtype="float64")[snap["edge"].to_numpy().astype(int)]
        dist = np.minimum(node_dist[u] + f * edge_len, node_dist[v] + (1.0 - f) * edge_len)
    else:
        dist = np.full(len(pts), np.inf)
    hit = np.nan_to_num(dist, nan=np.inf) <= max_distance_m
    zone = _zone_of_targets(targets, zones, same_layer)
    keep = zone != None  # noqa: E711
    pieces = pd.DataFrame({"zone": zone[keep], "target": targets.index.to_numpy()[keep]})
    table = _finish_table(pieces, hit[keep].astype("float64"), np.ones(int(keep.sum())), "features", "network",
                          zones)
    geoms = targets.geometry.to_numpy()[keep]
    covered = gaps = None
    if geometries:
        covered = _gdf(pieces[hit[keep]], geoms[hit[keep]], targets.crs)
        gaps = _gdf(pieces[~hit[keep]], geoms[~hit[keep]], targets.crs)
    return table, covered, gaps, None, None

