"""Zone accounting shared by every coverage definition: inputs, clip, zones, measures, the table.

A definition only says *what is covered* — a :class:`Cover` (footprint polygons, points within a
distance, or a raster mask) or one True/False per target feature. Everything else is here, once:

- the inputs: layer or GeoDataFrame, reprojected to the model CRS, one geometry family;
- the clip (``clip_to``): ``None``, ``"study_area"`` (the model's ``metadata["study_area"]``) or a
  geometry;
- the zones of ``by``: kept apart by identity (``zone_id``, with the ``parent`` district), never by
  name; a feature or cell may belong to several overlapping zones;
- the measure: area (m²) of polygons, length (m) of lines, count of points or features, or the
  residents of the ``population`` raster;
- the whole-area row ``"all"``: every target cell, metre or feature once, also when targets or
  zones overlap (the union), and whether or not it lies in a zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cimtwin._validate import require_projected
from cimtwin.errors import CRSError, InputTypeError, SchemaError, ValidationError

__all__ = ["Cover", "Zones", "CoverageInputs", "Outcome", "TABLE_COLUMNS", "ALL", "resolve_inputs", "study_area",
           "area_table", "feature_table", "footprint_outcome", "feature_zones", "resolve_clip"]

ALL = "all"
TABLE_COLUMNS = ["zone", "zone_id", "parent", "covered", "total", "unit", "ratio", "definition"]
# Columns that identify a zone, most specific first; the row label is the fallback.
_ID_COLUMNS = ("zone_id", "code", "adcode", "id")
_PARENT_COLUMNS = ("parent", "district")
_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
           "Polygon": "polygon", "MultiPolygon": "polygon"}
_DIM = {"polygon": 2, "line": 1, "point": 0}
# DE-9IM: the interiors share an area (polygons) or a stretch of line (lines).
_INTERIORS_OVERLAP = {"polygon": "2********", "line": "1********"}


# -- inputs -----------------------------------------------------------------------------------------
@dataclass
class Zones:
    """The zones of ``by``: identity (``ids``), display ``names``, ``parents`` and geometries."""

    layer: str
    ids: np.ndarray
    names: np.ndarray
    parents: np.ndarray
    geoms: np.ndarray
    _overlap: bool | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def overlapping(self) -> bool:
        """Whether any two zones share interior area (then no zone sum is a whole-area figure)."""
        if self._overlap is None:
            self._overlap = _any_overlap(self.geoms, "polygon")
        return self._overlap


@dataclass
class CoverageInputs:
    """What a definition works on: checked inputs, in the model CRS, targets clipped."""

    model: Any
    sensors: Any
    sensor_name: str
    sensor_kind: str | None
    targets: Any
    target_name: str
    target_kind: str | None
    family: str
    zones: Zones | None
    same_layer: bool
    weight: str | None
    geometries: bool
    clip: str
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    data: str = ""


def sensor_result(inp: CoverageInputs, key: tuple, build):
    """``(build(), shared)``: built once per model for a sensor layer of the model, else afresh.

    A GeoDataFrame given as sensors (no kind) may differ from call to call, so it is never
    shared. A shared result is the model's own: the caller copies what it hands out.
    """
    if inp.sensor_kind is not None and inp.model.has_layer(inp.sensor_name):
        return inp.model.derived((key[0], inp.sensor_name, *key[1:]), build), True
    return build(), False


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


def family_of(gdf, *, arg: str) -> str:
    """'point', 'line' or 'polygon': the one geometry family of a layer."""
    fams = {_FAMILY.get(t, t) for t in gdf.geom_type.unique()}
    if len(fams) != 1 or next(iter(fams)) not in _DIM:
        raise SchemaError(f"`{arg}` must hold one geometry family (points, lines or polygons); it holds {sorted(fams)}. "
                          "Split it into one layer per family.")
    return next(iter(fams))


def _zones(model, by, notes) -> Zones | None:
    if by is None:
        return None
    gdf, name, _ = _resolve_layer(model, by, arg="by", notes=notes, empty_ok=False, purpose="a zone breakdown")
    if family_of(gdf, arg="by") != "polygon":
        raise SchemaError(f"`by` layer {name!r} must hold polygons (districts, sub-districts, grid cells).")
    if "name" not in gdf.columns:
        raise SchemaError(f"`by` layer {name!r} needs a `name` column (the zone names of the table).")
    ids = None
    for col in _ID_COLUMNS:
        if col in gdf.columns and gdf[col].notna().all() and gdf[col].is_unique:
            ids = gdf[col].astype(str).to_numpy()
            break
    if ids is None:  # the row label: stable as long as the layer is not re-ordered
        ids = np.array([f"{name}:{i}" for i in gdf.index], dtype=object)
    parents = np.full(len(gdf), "", dtype=object)
    for col in _PARENT_COLUMNS:
        if col in gdf.columns:
            parents = gdf[col].fillna("").astype(str).to_numpy()
            break
    return Zones(layer=name, ids=np.asarray(ids, dtype=object), names=gdf["name"].astype(str).to_numpy(),
                 parents=parents, geoms=gdf.geometry.to_numpy())


def study_area(model):
    """The study-area polygon in the model CRS from ``metadata["study_area"]``, or None."""
    import shapely

    spec = model.metadata.get("study_area")
    if spec is None:
        return None
    bounds = spec.get("bounds") if isinstance(spec, Mapping) else None
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata['study_area']['bounds'] must be [xmin, ymin, xmax, ymax]; got {bounds!r}. "
                              "Fix the model's metadata or pass clip_to=None.") from exc
    if not (xmin < xmax and ymin < ymax):
        raise ValidationError(f"metadata['study_area']['bounds'] {bounds!r} is empty (need xmin < xmax, "
                              "ymin < ymax).")
    area = shapely.box(xmin, ymin, xmax, ymax)
    crs = spec.get("crs")
    if crs is not None:
        from cimtwin._validate import as_crs

        src = as_crs(crs, arg="metadata['study_area']['crs']")
        if not src.equals(model.crs):
            from pyproj import Transformer

            to_model = Transformer.from_crs(src, model.crs, always_xy=True)
            area = shapely.box(*to_model.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21))
    return area


def format_bounds(bounds) -> str:
    return "[" + ", ".join(f"{v:,.0f}" for v in bounds) + "]"


def resolve_clip(model, clip_to):
    """(area polygon or None, words for the definition) for a ``clip_to`` value."""
    import shapely

    if clip_to is None:
        return None, "no clip"
    if isinstance(clip_to, str):
        if clip_to != "study_area":
            raise ValidationError(f"`clip_to` must be None, 'study_area' or a geometry; got {clip_to!r}.")
        area = study_area(model)
        if area is None:
            return None, "no clip (the model has no metadata['study_area'])"
        return area, f"clipped to the study area {format_bounds(area.bounds)}"
    if hasattr(clip_to, "geometry") and hasattr(clip_to, "crs"):  # GeoDataFrame / GeoSeries
        if clip_to.crs is None:
            raise CRSError("`clip_to` has no CRS. Set the CRS its coordinates are in, e.g. `gdf.set_crs(4527)`.")
        area = shapely.union_all(clip_to.to_crs(model.crs).geometry.to_numpy() if hasattr(clip_to, "to_crs")
                                 else clip_to.geometry.to_numpy())
    elif isinstance(clip_to, shapely.Geometry):
        area = clip_to  # a bare geometry is taken to be in the model CRS
    else:
        raise InputTypeError(f"`clip_to` must be None, 'study_area', a shapely geometry or a GeoDataFrame; "
                             f"got {type(clip_to).__name__}.")
    if shapely.get_dimensions(area) != 2 or area.is_empty:
        raise ValidationError("`clip_to` must be a non-empty polygon (or polygons).")
    return area, f"clipped to the given area {format_bounds(area.bounds)}"


def clip_targets(targets, family: str, area, *, by_feature: bool, name: str, clip_words: str):
    """Targets cut to ``area``: area/length targets are cut; points and counted features are kept
    when their (representative) point lies inside."""
    import shapely

    geoms = targets.geometry.to_numpy()
    if by_feature or family == "point":
        probe = geoms if family == "point" else shapely.point_on_surface(geoms)
        keep = shapely.intersects(probe, area)
        out = targets[keep]
    else:
        # most features lie well inside the area (a prepared test settles them) and stay as
        # they are; only those reaching its edge are cut
        shapely.prepare(area)
        inside = shapely.contains_properly(area, geoms)
        edge = np.flatnonzero(~inside)
        parts, owner = shapely.get_parts(shapely.intersection(geoms[edge], area), return_index=True)
        keep = (shapely.get_dimensions(parts) == _DIM[family]) & (_measure(parts, family) > 0)
        kept, owner = parts[keep], edge[owner[keep]]  # get_parts lists each feature's parts together, in order
        cut_rows, first, count = np.unique(owner, return_index=True, return_counts=True)
        cut_geoms = kept[first]
        for i in np.flatnonzero(count > 1):  # the few features the clip cut in several pieces
            cut_geoms[i] = shapely.union_all(kept[first[i]:first[i] + count[i]])
        whole = np.flatnonzero(inside)
        whole = whole[_measure(geoms[whole], family) > 0]
        rows = np.concatenate([whole, cut_rows])
        order = np.argsort(rows, kind="stable")
        out = targets.iloc[rows[order]].copy()
        out[targets.geometry.name] = np.concatenate([geoms[whole], cut_geoms])[order]
    if len(out) == 0:
        where = clip_words.replace("clipped to ", "")
        raise ValidationError(f"no {name} inside {where}: nothing to measure. Pass clip_to=None to measure the "
                              "whole layer.")
    return out


def resolve_inputs(model, *, sensors, targets, by, category, weight, geometries, clip_to,
                   by_feature: bool = False) -> CoverageInputs:
    """Check and prepare the inputs every definition shares."""
    notes: list[str] = []
    require_projected(model.crs, arg="model.crs", what="a coverage ratio")
    sensor_gdf, sensor_name, sensor_kind = _resolve_layer(model, sensors, arg="sensors", notes=notes,
                                                          empty_ok=True, purpose="coverage")
    target_gdf, target_name, target_kind = _resolve_layer(model, targets, arg="targets", notes=notes,
                                                          empty_ok=False, purpose="a coverage ratio")
    require_projected(sensor_gdf.crs, arg="sensors", what="a coverage ratio")
    require_projected(target_gdf.crs, arg="targets", what="a coverage ratio")
    n_layer = len(target_gdf)
    data = [f"{sensor_name}: {len(sensor_gdf)} features"]
    tdata = f"{target_name}: {n_layer} features"
    if category is not None:
        if "category" not in target_gdf.columns:
            raise SchemaError(f"`category` filter given, but target layer {target_name!r} has no `category` column.")
        cats = [category] if isinstance(category, str) else list(category)
        present = sorted(set(target_gdf["category"].dropna().astype(str)))
        target_gdf = target_gdf[target_gdf["category"].isin(cats)]
        if len(target_gdf) == 0:
            raise ValidationError(f"Target layer {target_name!r} has no features of category {cats}; "
                                  f"its categories are {present}.")
        tdata += f", {len(target_gdf)} of category {'/'.join(cats)}"
    family = family_of(target_gdf, arg="targets")
    if weight is not None and weight != "population":
        raise ValidationError(f"`weight` must be None or 'population'; got {weight!r}.")
    if weight == "population" and family != "polygon":
        raise ValidationError("`weight='population'` needs polygon targets (the residents inside them).")
    area, clip_words = resolve_clip(model, clip_to)
    if area is not None:
        clip_input = target_gdf

        def clip():
            return clip_targets(clip_input, family, area, by_feature=by_feature, name=target_name,
                                clip_words=clip_words)

        if isinstance(targets, str) and isinstance(clip_to, str):
            # a model layer cut to the model's own area: the same for every target that asks
            cats = None if category is None else tuple([category] if isinstance(category, str) else category)
            target_gdf = model.derived(("clipped targets", targets, cats, clip_to, by_feature), clip)
        else:
            target_gdf = clip()
        tdata += f", {len(target_gdf)} inside the clip"
    data.append(tdata)
    zones = _zones(model, by, notes)
    if zones is not None:
        data.append(f"{zones.layer}: {len(zones)} zones")
    if weight == "population":
        data.append("population raster")
    same_layer = isinstance(by, str) and isinstance(targets, str) and by == targets and category is None
    return CoverageInputs(model=model, sensors=sensor_gdf, sensor_name=sensor_name, sensor_kind=sensor_kind,
                          targets=target_gdf, target_name=target_name, target_kind=target_kind, family=family,
                          zones=zones, same_layer=same_layer, weight=weight, geometries=geometries, clip=clip_words,
                          notes=notes, data="; ".join(data))


# -- what a definition covers -----------------------------------------------------------------------
@dataclass
class Cover:
    """What a footprint definition covers: polygons, points within a distance, or a raster mask."""

    polygons: np.ndarray | None = None
    within: tuple[np.ndarray, np.ndarray, float] | None = None  # sensor x, y and a radius (point targets)
    mask: np.ndarray | None = None
    spec: Any = None
    grid: Any = None  # the DataArray behind a raster definition, returned to the user
    _mask_polys: np.ndarray | None = None

    def points(self, x, y) -> np.ndarray:
        """Boolean: each point is covered."""
        import shapely

        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
        if self.within is not None:
            sx, sy, r = self.within
            if len(sx) == 0 or len(x) == 0:
                return np.zeros(len(x), dtype=bool)
            from scipy.spatial import cKDTree

            d, _ = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([x, y]), k=1)
            return d <= r
        if self.mask is not None:
            r, c = self.spec.rowcol(x, y)
            inside = self.spec.contains_rowcol(r, c)
            out = np.zeros(len(x), dtype=bool)
            out[inside] = self.mask[r[inside], c[inside]]
            return out
        fp = self.polygons[~shapely.is_empty(self.polygons)]
        if len(fp) == 0 or len(x) == 0:
            return np.zeros(len(x), dtype=bool)
        pi, _ = shapely.STRtree(fp).query(shapely.points(x, y), predicate="intersects")
        hit = np.zeros(len(x), dtype=bool)
        hit[pi] = True
        return hit

    def footprint_polygons(self) -> np.ndarray:
        if self.polygons is not None:
            return self.polygons
        if self._mask_polys is None:
            self._mask_polys = _mask_polygons(self.mask, self.spec)
        return self._mask_polys

    def geoms(self, geoms, family: str) -> np.ndarray:
        """The covered part of each geometry."""
        if self.within is not None:
            raise AssertionError("a distance cover is only used for point targets")
        return _clip_to_footprints(geoms, self.footprint_polygons(), family)


def _mask_polygons(mask, spec):
    """Polygons of the True cells of a raster mask (cell squares, exact to the grid)."""
    from cimtwin.grid.rasterize import polygonize

    if not mask.any():
        return np.array([], dtype=object)
    return polygonize(spec, mask.astype("uint8"), mask=mask, connectivity=4)[0]


def _measure(geoms, family: str) -> np.ndarray:
    import shapely

    if family == "polygon":
        return shapely.area(geoms)
    if family == "line":
        return shapely.length(geoms)
    return (~shapely.is_empty(geoms)).astype("float64")


def _family_part(g, family):
    """The part of a geometry of the wanted dimension (intersections may add slivers)."""
    import shapely

    if g.geom_type != "GeometryCollection":
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) == _DIM[family]]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _of_family(geoms, family):
    import shapely

    return ~shapely.is_empty(geoms) & (_measure(geoms, family) > 0)


def _clip_to_footprints(geoms, footprints, family: str):
    """Covered part of each geometry: ``g ∩ ∪{footprints intersecting g}``."""
    import shapely

    from cimtwin._geometry import thread_map, threaded

    n = len(geoms)
    empty = shapely.Point() if family == "point" else (shapely.LineString() if family == "line" else shapely.Polygon())
    covered = np.full(n, empty, dtype=object)
    footprints = footprints[~shapely.is_empty(footprints)] if len(footprints) else footprints
    if n == 0 or len(footprints) == 0:
        return covered
    gi, fi = shapely.STRtree(footprints).query(geoms, predicate="intersects")
    if len(gi) == 0:
        return covered
    order = np.argsort(gi, kind="stable")
    gi, fi = gi[order], fi[order]
    starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
    ends = np.r_[starts[1:], len(gi)]
    single = (ends - starts) == 1
    s_idx = starts[single]  # one footprint: a vectorised intersection
    covered[gi[s_idx]] = threaded(shapely.intersection, geoms[gi[s_idx]], footprints[fi[s_idx]])
    groups = list(zip(starts[~single], ends[~single]))

    def clip(chunk):
        return [shapely.intersection(geoms[gi[a]], shapely.union_all(footprints[fi[a:b]])) for a, b in chunk]

    # a union and an intersection per target, in chunks on threads (GEOS runs without the GIL)
    chunks = [groups[i:i + 256] for i in range(0, len(groups), 256)]
    for chunk, parts in zip(chunks, thread_map(clip, chunks)):
        for (a, _), part in zip(chunk, parts):
            covered[gi[a]] = part
    for i in np.flatnonzero(shapely.get_type_id(covered) == 7):  # collections → the family's part
        covered[i] = _family_part(covered[i], family)
    return covered


# -- overlaps and pieces ----------------------------------------------------------------------------
def _overlap_pairs(geoms, family: str):
    """Index pairs (i < j) of geometries whose interiors overlap."""
    import shapely

    if len(geoms) < 2:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    a, b = shapely.STRtree(geoms).query(geoms)  # bounding boxes only: the exact test follows
    keep = a < b
    a, b = a[keep], b[keep]
    if family in ("polygon", "line") and len(a):
        # Interiors can only overlap where the boxes overlap with positive area (polygons) or
        # length (lines): tiles that merely touch, the usual zoning, and roads that meet or
        # cross at a point, the usual street grid, are settled here without a geometry test.
        box = shapely.bounds(geoms)
        w = np.minimum(box[a, 2], box[b, 2]) - np.maximum(box[a, 0], box[b, 0])
        h = np.minimum(box[a, 3], box[b, 3]) - np.maximum(box[a, 1], box[b, 1])
        keep = (w > 0) & (h > 0) if family == "polygon" else (w > 0) | (h > 0)
        a, b = a[keep], b[keep]
    if family == "line" and len(a):
        # Lines share a length only along collinear segments: an orientation test in numba
        # rules out the usual pair (streets meeting at a junction at an angle); GEOS
        # decides the nearly collinear rest, and every pair with a MultiLineString or a
        # line that crosses itself (GEOS nodes it, and may find slivers where it does).
        from cimtwin._geometry import simple_linestrings, vertex_arrays
        from cimtwin.kernels.lines import polylines_may_overlap

        simple = simple_linestrings(geoms)
        both = simple[a] & simple[b]
        maybe = np.ones(len(a), dtype=bool)
        xy, start = vertex_arrays(np.where(simple, geoms, None))
        maybe[both] = polylines_may_overlap(xy, start, a[both], b[both])
        a, b = a[maybe], b[maybe]
    if len(a) == 0:
        return a, b
    hit = shapely.relate_pattern(geoms[a], geoms[b], _INTERIORS_OVERLAP[family])
    return a[hit], b[hit]


def _any_overlap(geoms, family: str) -> bool:
    return len(_overlap_pairs(geoms, family)[0]) > 0


def dissolve_overlaps(geoms, labels, family: str):
    """Targets with overlapping ones merged, so that each cell or metre appears once.

    Returns (geoms, labels, merged): labels of merged parts join the target labels with '+'.
    """
    import shapely

    if family == "point":
        return geoms, labels, False
    a, b = _overlap_pairs(geoms, family)
    if len(a) == 0:
        return geoms, labels, False
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(geoms)
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    involved = np.zeros(n, dtype=bool)
    involved[a] = involved[b] = True
    out_g, out_l = list(geoms[~involved]), list(np.asarray(labels, dtype=object)[~involved])
    for c in np.unique(comp[involved]):
        members = np.flatnonzero(comp == c)
        out_g.append(_family_part(shapely.union_all(geoms[members]), family))
        out_l.append("+".join(str(labels[m]) for m in members))
    return np.array(out_g, dtype=object), np.array(out_l, dtype=object), True


@dataclass
class _Pieces:
    zone: np.ndarray   # zone position, or -1 for the whole area
    target: np.ndarray  # target label
    geoms: np.ndarray


def _split(geoms, labels, family: str, zones: Zones | None, same_layer: bool) -> _Pieces:
    """One piece per (target, zone) pair that shares area or length; points: one per zone they are in."""
    import shapely

    labels = np.asarray(labels, dtype=object)
    if zones is None:
        return _Pieces(np.full(len(geoms), -1), labels, geoms)
    if same_layer:
        return _Pieces(np.arange(len(geoms)), labels, geoms)
    tree = shapely.STRtree(zones.geoms)
    if family == "point":
        ti, zi = _point_zone_pairs(geoms, tree)
        return _Pieces(zi, labels[ti], geoms[ti])
    ti, zi = tree.query(geoms, predicate="intersects")
    parts = shapely.intersection(geoms[ti], zones.geoms[zi])
    keep = _of_family(parts, family)
    parts = np.array([_family_part(g, family) for g in parts[keep]], dtype=object)
    return _Pieces(zi[keep], labels[ti[keep]], parts)


def _point_zone_pairs(points, tree):
    """(point, zone) pairs: every zone whose interior holds the point; a point only on borders
    goes to the first zone it touches (counted once, not in both neighbours)."""
    import shapely

    ti, zi = tree.query(points, predicate="within")
    border = np.setdiff1d(np.arange(len(points)), ti)
    if len(border):
        bi, bz = tree.query(points[border], predicate="intersects")
        _, first = np.unique(bi, return_index=True)
        ti = np.r_[ti, border[bi[first]]]
        zi = np.r_[zi, bz[first]]
    order = np.lexsort((zi, ti))
    return ti[order], zi[order]


def _zone_of_features(targets, zones: Zones | None, same_layer: bool):
    """(feature position, zone position) pairs, by each feature's representative point."""
    import shapely

    n = len(targets)
    if zones is None:
        return np.arange(n), np.full(n, -1)
    if same_layer:
        return np.arange(n), np.arange(n)
    geoms = targets.geometry.to_numpy()
    probe = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    return _point_zone_pairs(probe, shapely.STRtree(zones.geoms))


# -- the table --------------------------------------------------------------------------------------
def _table(zone_pos, cov, tot, all_cov: float, all_tot: float, *, zones: Zones | None, unit: str,
           definition: str) -> pd.DataFrame:
    """Zone rows in layer order (zones holding no target left out), then the whole-area row."""
    cols = {"zone": [], "zone_id": [], "parent": [], "covered": [], "total": []}
    if zones is not None:
        n = len(zones)
        zc = np.bincount(zone_pos, weights=cov, minlength=n)
        zt = np.bincount(zone_pos, weights=tot, minlength=n)
        keep = np.flatnonzero(zt > 0)
        for key, values in zip(cols, (zones.names, zones.ids, zones.parents, zc, zt)):
            cols[key] = list(values[keep])
    if all_tot > 0:
        for key, value in zip(cols, (ALL, ALL, "", all_cov, all_tot)):
            cols[key].append(value)
    table = pd.DataFrame(cols)
    table["covered"] = table["covered"].astype("float64")
    table["total"] = table["total"].astype("float64")
    table["unit"] = unit
    table["ratio"] = np.clip(table["covered"] / table["total"], 0.0, 1.0)
    table["definition"] = definition
    return table[TABLE_COLUMNS]


def _gdf(zones: Zones | None, zone_pos, target, geoms, crs):
    import geopandas as gpd

    if zones is None:
        names = np.full(len(geoms), ALL, dtype=object)
        ids = names
    else:
        names, ids = zones.names[zone_pos], zones.ids[zone_pos]
    return gpd.GeoDataFrame({"zone": names, "zone_id": ids, "target": np.asarray(target, dtype=object)},
                            geometry=np.asarray(geoms, dtype=object), crs=crs)


def _unit(family, weight):
    if weight == "population":
        return "persons"
    return {"polygon": "m2", "line": "m", "point": "points"}[family]


def _population_cells(model):
    from cimtwin.grid.spec import GridSpec

    if not model.has_raster("population"):
        raise ValidationError("`weight='population'` needs a `population` raster in the model "
                              "(`model.with_raster('population', da)`).")
    da = model.raster("population")
    vals = np.asarray(da.values, dtype="float64")
    spec = GridSpec.from_dataarray(da)
    r, c = np.nonzero(np.isfinite(vals) & (vals > 0))
    x, y = spec.xy(r, c)
    return np.asarray(x), np.asarray(y), vals[r, c]


def _cells_in(x, y, geoms, group):
    """(cell, group) pairs of cell centres in geometries, each cell once per group."""
    import shapely

    ci, gi = shapely.STRtree(geoms).query(shapely.points(x, y), predicate="intersects")
    key = np.unique(np.column_stack([ci, group[gi]]), axis=0) if len(ci) else np.empty((0, 2), dtype=int)
    return key[:, 0], key[:, 1]


def area_table(inp: CoverageInputs, cover: Cover, definition: str):
    """Covered share of the targets' area, length or count (or residents) under a footprint cover.

    Returns (table, covered, gaps, footprint polygons or None).
    """
    import shapely

    targets, family, zones, weight = inp.targets, inp.family, inp.zones, inp.weight
    geoms, labels = targets.geometry.to_numpy(), targets.index.to_numpy()
    crs, unit = targets.crs, _unit(family, weight)
    covered = gaps = None

    if family == "point" and weight is None:
        # each point once in "all"; in every zone whose interior holds it
        hit = cover.points(shapely.get_x(geoms), shapely.get_y(geoms))
        fi, zi = _split_features(targets, zones, inp.same_layer, points=True)
        _note_outside(inp, fi, len(targets), "target point(s)")
        table = _table(zi, hit[fi].astype(float), np.ones(len(fi)), float(hit.sum()), float(len(hit)),
                       zones=zones, unit=unit, definition=definition)
        if inp.geometries:
            zpos = zi if zones is not None else np.full(len(fi), -1)
            covered = _gdf(zones, zpos[hit[fi]], labels[fi][hit[fi]], geoms[fi][hit[fi]], crs)
            gaps = _gdf(zones, zpos[~hit[fi]], labels[fi][~hit[fi]], geoms[fi][~hit[fi]], crs)
        return table, covered, gaps

    units, unit_labels, merged = dissolve_overlaps(geoms, labels, family)
    if inp.same_layer:
        zones._overlap = merged  # the zones are the targets: one overlap test for both
    if merged:
        inp.notes.append(f"overlapping {inp.target_name} merged: the overlap counts once.")
    # zone pieces from the de-overlapped targets, so a zone counts its own overlap once too
    pieces = _split(geoms if inp.same_layer else units, labels if inp.same_layer else unit_labels, family, zones,
                    inp.same_layer)

    if weight == "population":
        x, y, w = _population_cells(inp.model)
        hit = cover.points(x, y)
        if zones is None:
            zc = zt = np.zeros(0)
            zpos = np.zeros(0, dtype=int)
        else:
            ci, zpos = _cells_in(x, y, pieces.geoms, pieces.zone)
            zc, zt = w[ci] * hit[ci], w[ci]
        ai, _ = _cells_in(x, y, units, np.zeros(len(units), dtype=int))
        table = _table(zpos, zc, zt, float((w[ai] * hit[ai]).sum()), float(w[ai].sum()), zones=zones, unit=unit,
                       definition=definition)
        if inp.geometries:
            covered, gaps = _split_geometries(zones, pieces, cover.geoms(pieces.geoms, "polygon"), "polygon", crs)
        return table, covered, gaps

    # zone sums give the whole-area row only when zones neither overlap nor double a target
    partition = zones is None or (not merged if inp.same_layer else not zones.overlapping)
    # a raster cover measures areas and lengths exactly on its grid (the same figure as the
    # overlay with its cells' squares); polygonizing a city-wide mask (10^8 cells, 10^5
    # viewsheds) to overlay it costs minutes and gigabytes, so it is done only for geometries
    use_grid = cover.mask is not None and family in ("polygon", "line") and (zones is None or not zones.overlapping)
    if use_grid:
        cov, tot = _grid_measure(pieces.geoms, cover.mask, cover.spec, family), _measure(pieces.geoms, family)
        cov_geoms = cover.geoms(pieces.geoms, family) if inp.geometries else None
    else:
        cov_geoms = cover.geoms(pieces.geoms, family)
        cov, tot = _measure(cov_geoms, family), _measure(pieces.geoms, family)
    if zones is not None and partition:
        # the zone pieces sum to the whole area only when they hold all of it
        whole = float(_measure(units, family).sum())
        partition = abs(float(_measure(pieces.geoms, family).sum()) - whole) <= 1e-9 * max(whole, 1.0)
    if partition:
        all_cov, all_tot = float(cov.sum()), float(tot.sum())
    elif use_grid:
        all_cov = float(_grid_measure(units, cover.mask, cover.spec, family).sum())
        all_tot = float(_measure(units, family).sum())
    else:
        all_cov = float(_measure(cover.geoms(units, family), family).sum())
        all_tot = float(_measure(units, family).sum())
    zpos = pieces.zone if zones is not None else np.zeros(0, dtype=int)
    table = _table(zpos, cov if zones is not None else np.zeros(0), tot if zones is not None else np.zeros(0),
                   all_cov, all_tot, zones=zones, unit=unit, definition=definition)
    if inp.geometries and cov_geoms is not None:
        covered, gaps = _split_geometries(zones, pieces, cov_geoms, family, crs)
    return table, covered, gaps


def _note_outside(inp: CoverageInputs, fi, n: int, what: str) -> None:
    if inp.zones is None:
        return
    outside = n - len(np.unique(fi))
    if outside:
        inp.notes.append(f"{outside} {what} lie outside every zone: counted in 'all' only.")


def _split_features(targets, zones, same_layer, *, points: bool):
    if points and zones is not None and not same_layer:
        import shapely

        return _point_zone_pairs(targets.geometry.to_numpy(), shapely.STRtree(zones.geoms))
    return _zone_of_features(targets, zones, same_layer)


def _split_geometries(zones, pieces: _Pieces, covered_geoms, family, crs):
    import shapely

    from cimtwin._geometry import threaded

    gaps = threaded(shapely.difference, pieces.geoms, covered_geoms)
    keep_c, keep_g = _of_family(covered_geoms, family), _of_family(gaps, family)
    return (_gdf(zones, pieces.zone[keep_c], pieces.target[keep_c], covered_geoms[keep_c], crs),
            _gdf(zones, pieces.zone[keep_g], pieces.target[keep_g], gaps[keep_g], crs))


def _grid_measure(geoms, mask, spec, family: str) -> np.ndarray:
    """Covered area (polygons) or length (lines) of each geometry under a raster mask, exactly.

    Equal to the overlay with the True cells' squares: a polygon's cells cut by its edge count
    their exact share; a line is cut at every cell edge (a piece lying along an edge counts
    for one side only, where the overlay counts it).
    """
    from cimtwin.grid.rasterize import line_lengths, polygon_areas

    geoms = np.asarray(geoms, dtype=object)
    if family == "line":
        return line_lengths(spec, geoms, np.ascontiguousarray(mask, dtype=bool).view(np.int8), 2,
                            per_feature=True)[:, 1]
    return polygon_areas(spec, geoms, mask)[0]


def feature_table(inp: CoverageInputs, hit: np.ndarray, definition: str):
    """Share of target features covered (one True/False per feature): presence, network.

    Returns (table, covered, gaps)."""
    targets, zones = inp.targets, inp.zones
    fi, zi = _zone_of_features(targets, zones, inp.same_layer)
    _note_outside(inp, fi, len(targets), "target(s)")
    hit = np.asarray(hit, dtype=bool)
    table = _table(zi if zones is not None else np.zeros(0, dtype=int),
                   hit[fi].astype(float) if zones is not None else np.zeros(0),
                   np.ones(len(fi)) if zones is not None else np.zeros(0),
                   float(hit.sum()), float(len(hit)), zones=zones, unit="features", definition=definition)
    covered = gaps = None
    if inp.geometries:
        geoms, labels = targets.geometry.to_numpy(), targets.index.to_numpy()
        zpos = zi if zones is not None else np.full(len(fi), -1)
        h = hit[fi]
        covered = _gdf(zones, zpos[h], labels[fi][h], geoms[fi][h], targets.crs)
        gaps = _gdf(zones, zpos[~h], labels[fi][~h], geoms[fi][~h], targets.crs)
    return table, covered, gaps


@dataclass
class Outcome:
    """What a definition hands back to :func:`~cimtwin.coverage.coverage_ratio`."""

    table: pd.DataFrame
    covered: Any = None
    gaps: Any = None
    footprints: Any = None
    grid: Any = None


def footprint_gdf(geoms, crs):
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=np.asarray(geoms, dtype=object), crs=crs)


def footprint_outcome(inp: CoverageInputs, cover: Cover, name: str) -> Outcome:
    """The outcome of a footprint definition: the table, covered and gap parts, the footprints."""
    table, covered, gaps = area_table(inp, cover, definition_words(inp, name))
    fp = None
    if cover.polygons is not None:
        fp = footprint_gdf(cover.polygons, inp.targets.crs)
    elif cover.mask is not None and inp.geometries:
        fp = footprint_gdf(cover.footprint_polygons(), inp.targets.crs)
    return Outcome(table, covered, gaps, fp, cover.grid)


def definition_words(inp: CoverageInputs, name: str) -> str:
    """The ``definition`` column: the definition's name and the clip used."""
    return f"{name}; {inp.clip}"


def analysis_grid(model, targets, *, pad_m, res_m, default_res_m, prefer_model_grid=False):
    """The raster a raster definition works on: the model grid, or one over the targets."""
    from cimtwin.grid.spec import GridSpec

    grid = model.grid
    if prefer_model_grid and grid is not None and res_m is None:
        return grid
    xmin, ymin, xmax, ymax = targets.total_bounds
    res = res_m or (grid.res_m if (grid is not None and prefer_model_grid) else default_res_m)
    return GridSpec.from_bounds((xmin - pad_m - res, ymin - pad_m - res, xmax + pad_m + res, ymax + pad_m + res),
                                res_m=res, crs=model.crs)


def feature_zones(model, by, gdf, *, same_layer: bool = False):
    """(feature position, zone name, zone_id, parent) pairs of a layer's features in the zones of
    ``by`` — by identity, a feature in every zone holding its representative point.

    Examples
    --------
    >>> pos, names, ids, parents = feature_zones(model, "districts", model.layer("cameras"))  # doctest: +SKIP
    """
    zones = _zones(model, by, [])
    fi, zi = _zone_of_features(gdf, zones, same_layer)
    return fi, zones.names[zi], zones.ids[zi], zones.parents[zi]
