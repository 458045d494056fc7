"""Burn points, lines and polygons onto a GridSpec, and trace cells back into polygons.

Polygons (the common case: buildings, zones) burn in a numba scanline kernel with GDAL's
cell-centre rule; lines, points and ``all_touched`` go through ``rasterio.features``.
Handing 10^5 shapely polygons to rasterio costs ~50 µs each just to convert them to GeoJSON
mappings, ten times the burning itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from cimtwin._geometry import single_parts
from cimtwin.errors import CRSError, GeometryError, ValidationError
from cimtwin.grid.spec import GridSpec

__all__ = ["rasterize", "burn", "line_lengths", "line_max", "polygon_areas", "polygonize"]


def rasterize(spec: GridSpec, gdf_or_geoms: Any, *, values: Any = None, all_touched: bool = False, fill: Any = 0,
              dtype: Any = None):
    """Rasterize geometries onto ``spec``; returns a DataArray on the grid.

    A polygon burns the cells whose centre lies inside it (or every cell it touches with
    ``all_touched=True``); lines and points burn the cells they pass through. Where features
    overlap, the later one wins.

    Parameters
    ----------
    spec : GridSpec
    gdf_or_geoms : GeoDataFrame, GeoSeries or sequence of shapely geometries
        A GeoDataFrame/GeoSeries with a CRS is reprojected to ``spec.crs``; one without a CRS
        is an error when the grid has one. Plain geometries are taken to be in the grid CRS.
    values : None, column name, scalar or array-like
        Value burned per feature (default 1).
    all_touched : bool
    fill : scalar
        Value of cells no feature reaches.
    dtype : numpy dtype, optional
        Default: uint8 when ``values`` is None, else the values' dtype (float64 → float32,
        int → int32 unless they need int64).

    Returns
    -------
    xarray.DataArray on ``spec`` (attrs ``units="1"`` for a presence mask).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from cimtwin.grid import GridSpec, rasterize
    >>> spec = GridSpec.from_bounds((0, 0, 40, 40), res_m=10, crs="EPSG:4527")
    >>> int(rasterize(spec, [box(0, 0, 20, 20)]).sum())
    4
    """
    from rasterio import features

    if not isinstance(spec, GridSpec):
        raise ValidationError(f"`spec` must be a GridSpec; got {type(spec).__name__}.")
    geoms, gvalues = _geometries(spec, gdf_or_geoms, values)
    if values is None:
        out_dtype = np.dtype(dtype or "uint8")
    else:
        vdt = gvalues.dtype
        if dtype is not None:
            out_dtype = np.dtype(dtype)
        elif vdt.kind == "f":
            out_dtype = np.dtype("float32")
        elif vdt.kind in "iub":
            big = gvalues.size and (gvalues.max() > np.iinfo(np.int32).max or gvalues.min() < np.iinfo(np.int32).min)
            out_dtype = np.dtype("int64" if big else "int32")
        else:
            raise ValidationError(f"`values` must be numeric; got dtype {vdt}.")
    keep = np.array([g is not None for g in geoms], dtype=bool)
    garr = np.asarray(geoms, dtype=object)[keep] if len(geoms) else np.empty(0, dtype=object)
    polygonal = bool(len(garr)) and bool(np.isin(shapely.get_type_id(garr), (3, 6)).all())  # (Multi)Polygon
    if polygonal and not all_touched:
        burned = burn(spec, garr, gvalues[keep].astype(out_dtype), fill=fill, dtype=out_dtype)
        attrs = {"units": "1"} if values is None else {}
        return spec.to_dataarray(burned, name="rasterized", attrs=attrs)
    shapes = [(g, v) for g, v in zip(geoms, gvalues.astype(out_dtype).tolist()) if g is not None and not g.is_empty]
    if shapes:
        burned = features.rasterize(shapes, out_shape=spec.shape, transform=spec.transform, fill=fill,
                                    all_touched=all_touched, dtype=out_dtype)
    else:
        burned = np.full(spec.shape, fill, dtype=out_dtype)
    attrs = {"units": "1"} if values is None else {}
    return spec.to_dataarray(burned, name="rasterized", attrs=attrs)


def burn(spec: GridSpec, polygons: np.ndarray, values: np.ndarray, *, fill: Any = 0, dtype: Any = None) -> np.ndarray:
    """An array on ``spec``: each (Multi)Polygon burns its value on the cells whose centre it
    contains, later ones over earlier ones (the cells ``rasterio.features.rasterize`` burns).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> spec = GridSpec.from_bounds((0, 0, 40, 40), res_m=10, crs="EPSG:4527")
    >>> int(burn(spec, np.array([box(0, 0, 20, 20)]), np.array([1], "uint8")).sum())
    4
    """
    from cimtwin.kernels.rasterize import burn_polygons

    values = np.asarray(values)
    out = np.full(spec.shape, fill, dtype=np.dtype(dtype or values.dtype))
    polygons = np.asarray(polygons, dtype=object)
    px, py, ring_offsets, poly_ring_offsets, owner = _pixel_rings(
        spec, polygons, "burn", " Use `rasterize` for lines and points.", centres=True)
    if not len(ring_offsets) > 1:
        return out
    return burn_polygons(out, px, py, ring_offsets, poly_ring_offsets, values[owner].astype(out.dtype))


def polygon_areas(spec: GridSpec, polygons: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact area of each (Multi)Polygon inside the grid, and inside the True cells of ``mask``.

    A cell cut by the polygon's edge counts its exact share (no cell-centre rule), so the
    covered area equals the polygon's overlay with the True cells' squares; computed edge
    by edge over each polygon's bounding box, without building those squares.

    Returns
    -------
    (covered_m2, inside_m2) : float64 arrays, one value per polygon.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> spec = GridSpec.from_bounds((0, 0, 40, 40), res_m=10, crs="EPSG:4527")
    >>> mask = np.zeros(spec.shape, bool); mask[:, :2] = True        # the west half
    >>> covered, inside = polygon_areas(spec, np.array([box(5, 5, 35, 25)]), mask)
    >>> covered.round(6).tolist(), inside.round(6).tolist()
    ([300.0], [600.0])
    """
    from cimtwin.kernels.rasterize import polygon_mask_areas

    polygons = np.asarray(polygons, dtype=object)
    mask = np.asarray(mask)
    if mask.shape != spec.shape:
        raise ValidationError(f"`mask` must have the grid's shape {spec.shape}; got {mask.shape}.")
    px, py, ring_offsets, poly_ring_offsets, owner = _pixel_rings(spec, polygons, "polygon_areas")
    covered, inside = np.zeros(len(polygons)), np.zeros(len(polygons))
    if len(ring_offsets) > 1:
        c, i = polygon_mask_areas(px, py, ring_offsets, poly_ring_offsets, spec.shape[0], spec.shape[1],
                                  np.ascontiguousarray(mask, dtype=bool))
        cell = abs(spec.transform.a * spec.transform.e)
        np.add.at(covered, owner, c * cell)  # the parts of a MultiPolygon add up
        np.add.at(inside, owner, i * cell)
    return covered, inside


# pixels of slack when a polygon's box is checked for a cell centre (rounding of the scanline)
_CENTRE_SLACK = 1e-6


def _pixel_rings(spec: GridSpec, polygons: np.ndarray, caller: str, hint: str = "", *, centres: bool = False):
    """Rings of each polygon part in pixel units: (px, py, ring offsets, part ring offsets, owner).

    Checked once here for every caller: (Multi)Polygons only (missing ones are skipped), a
    north-up grid. ``centres=True`` (the cell-centre rule of :func:`burn`) also leaves out
    the polygons whose box holds no cell centre: they burn nothing."""
    kind = shapely.get_type_id(polygons)
    bad = np.flatnonzero(~np.isin(kind, (3, 6)) & ~shapely.is_missing(polygons))
    if bad.size:
        raise GeometryError(f"`{caller}` takes polygons; feature {int(bad[0])} is a "
                            f"{polygons[bad[0]].geom_type}.{hint}")
    t = spec.transform
    if t.b != 0 or t.d != 0:
        raise ValidationError("`spec` must be north-up (no rotation) to burn or measure polygons.")
    # only polygons whose box meets the grid can touch a cell: a small window over a city's
    # 2*10^6 buildings then converts a few hundred of them, not all (same cells: order kept)
    rows, cols = spec.shape
    xs, ys = (t.c, t.c + t.a * cols), (t.f, t.f + t.e * rows)
    b = shapely.bounds(polygons)
    with np.errstate(invalid="ignore"):
        meets = (b[:, 0] <= max(xs)) & (b[:, 2] >= min(xs)) & (b[:, 1] <= max(ys)) & (b[:, 3] >= min(ys))
        if centres:
            # the box in pixels must span a centre (c + 0.5) inside the grid; the slack keeps
            # every polygon whose edge passes within rounding of one (a coarse grid under a
            # city's buildings keeps one in twenty or so)
            for lo, hi, scale, origin, n in ((b[:, 0], b[:, 2], t.a, t.c, cols), (b[:, 1], b[:, 3], t.e, t.f, rows)):
                p0, p1 = (lo - origin) / scale, (hi - origin) / scale
                first = np.maximum(np.ceil(np.minimum(p0, p1) - 0.5 - _CENTRE_SLACK), 0)
                last = np.minimum(np.floor(np.maximum(p0, p1) - 0.5 + _CENTRE_SLACK), n - 1)
                meets &= first <= last
    kept = None if meets.all() else np.flatnonzero(meets)
    parts, owner = single_parts(polygons if kept is None else polygons[kept])
    if kept is not None:
        owner = kept[owner]
    rings, ring_owner = shapely.get_rings(parts, return_index=True)
    xy = shapely.get_coordinates(rings)
    ring_offsets = np.concatenate(([0], np.cumsum(shapely.get_num_coordinates(rings)))).astype(np.int64)
    poly_ring_offsets = np.concatenate(([0], np.cumsum(np.bincount(ring_owner, minlength=len(parts))))).astype(np.int64)
    return (xy[:, 0] - t.c) / t.a, (xy[:, 1] - t.f) / t.e, ring_offsets, poly_ring_offsets, owner


def line_lengths(spec: GridSpec, lines: np.ndarray, key: np.ndarray, nkeys: int, *,
                 per_feature: bool = False) -> np.ndarray:
    """Length of (Multi)LineStrings in the cells of each key, cut exactly at every cell edge.

    Each piece of a line between two cell edges counts for the key of the cell holding it
    (a piece running along an edge: the cell below/right of it); pieces outside the grid or
    on a negative key count nowhere. Exact for zones that are unions of cells, with no
    polygon overlay: linear in segments plus cells crossed.

    Parameters
    ----------
    spec : GridSpec
        North-up grid; the lines in its CRS.
    lines : array of shapely (Multi)LineStrings
    key : 2-D integer array on ``spec``
        Key of each cell in ``0..nkeys-1`` (a boolean mask viewed as int8 needs no copy).
    nkeys : int
    per_feature : bool
        Return one row per line instead of the sums over all lines.

    Returns
    -------
    float64 array (nkeys,), or (len(lines), nkeys) with ``per_feature=True``; metres.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> spec = GridSpec.from_bounds((0, 0, 40, 40), res_m=10, crs="EPSG:4527")
    >>> key = np.zeros(spec.shape, "int8"); key[:, 2:] = 1     # the east half is key 1
    >>> line_lengths(spec, np.array([LineString([(5, 15), (35, 15)])]), key, 2).round(6).tolist()
    [15.0, 15.0]
    """
    lengths, _ = _traverse(spec, lines, key, nkeys, None, per_feature=per_feature)
    return lengths if per_feature else lengths[0]


def line_max(spec: GridSpec, lines: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Largest of ``values`` over the cells each (Multi)LineString crosses (NaN where none).

    The cells are those :func:`line_lengths` cuts the line into (a piece of positive length
    in the cell); NaN cells are skipped.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> spec = GridSpec.from_bounds((0, 0, 40, 40), res_m=10, crs="EPSG:4527")
    >>> depth = np.zeros(spec.shape, "float32"); depth[1, 2] = 0.4
    >>> line_max(spec, np.array([LineString([(5, 25), (35, 25)]), LineString([(5, 5), (35, 5)])]), depth).tolist()
    [0.4000000059604645, 0.0]
    """
    key = np.zeros((1, 1), np.int8)  # shape-only: the lengths are not wanted
    values = np.asarray(values)
    if values.shape != spec.shape:
        raise ValidationError(f"`values` must have the grid's shape {spec.shape}; got {values.shape}.")
    _, vmax = _traverse(spec, lines, np.broadcast_to(key, spec.shape), 1, values, per_feature=True)
    return np.where(np.isneginf(vmax), np.nan, vmax)


def _traverse(spec, lines, key, nkeys, values, *, per_feature):
    """Cut the lines' segments at every cell edge of ``spec`` (one numba pass): sums and maxima."""
    from cimtwin.kernels.lines import segment_lengths_by_group_key

    t = spec.transform
    if t.b != 0 or t.d != 0:
        raise ValidationError("`spec` must be north-up (no rotation) to measure lines on it.")
    lines = np.asarray(lines, dtype=object)
    parts, owner = single_parts(lines)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]  # consecutive vertices of one part make a segment
    a, b = xy[:-1][same], xy[1:][same]
    group = owner[idx[:-1][same]].astype(np.int64) if per_feature else np.zeros(len(a), np.int64)
    values = np.zeros((0, 0), np.float32) if values is None else values
    return segment_lengths_by_group_key((a[:, 0] - t.c) / t.a, (a[:, 1] - t.f) / t.e, (b[:, 0] - t.c) / t.a,
                                        (b[:, 1] - t.f) / t.e, np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]),
                                        group, len(lines) if per_feature else 1, key, int(nkeys), values)


def _geometries(spec: GridSpec, obj: Any, values: Any):
    crs = getattr(obj, "crs", None)
    if hasattr(obj, "geometry"):
        if crs is None and spec.crs is not None:
            raise CRSError("The geometries have no CRS but the grid has one; set it first, e.g. `gdf.set_crs(...)`.")
        if crs is not None and spec.crs is not None and not spec.crs.equals(crs):
            obj = obj.to_crs(spec.crs)
        geoms = list(obj.geometry) if hasattr(obj, "columns") else list(obj)
    else:
        geoms = list(obj) if not hasattr(obj, "geom_type") else [obj]
    for i, g in enumerate(geoms):
        if g is not None and not hasattr(g, "geom_type"):
            raise GeometryError(f"Feature {i} is not a shapely geometry ({type(g).__name__}).")
    n = len(geoms)
    if values is None:
        vals = np.ones(n, dtype="uint8")
    elif isinstance(values, str):
        if not hasattr(obj, "columns") or values not in obj.columns:
            raise ValidationError(f"`values` names column {values!r}, which the input does not have.")
        vals = np.asarray(obj[values])
    else:
        vals = np.asarray(values)
        if vals.ndim == 0:
            vals = np.full(n, vals)
        if vals.shape != (n,):
            raise ValidationError(f"`values` needs one value per feature ({n}); got shape {vals.shape}.")
    if vals.dtype.kind == "f" and np.isnan(vals).any():
        raise ValidationError("`values` contains NaN; fill or drop those features (NaN cannot be burned reliably).")
    return geoms, vals


def polygonize(spec: GridSpec, values: np.ndarray, *, mask: np.ndarray, connectivity: int = 4):
    """Polygons of the connected regions of equal ``values`` where ``mask`` is True (cell squares,
    exact to the grid), traced by ``rasterio.features.shapes``.

    The rings come back as coordinate lists and are made into shapely polygons in one call:
    converting each GeoJSON mapping with ``shapely.geometry.shape`` costs ~40 µs a polygon,
    seconds for the 10^5 patches of a city's coverage mask.

    Parameters
    ----------
    spec : GridSpec
    values : 2-D int32, int16, uint8 or float32 array
    mask : 2-D bool array
    connectivity : {4, 8}

    Returns
    -------
    polygons : object array of shapely Polygons
    values : array of the region values (float64, as rasterio gives them)

    Examples
    --------
    >>> spec = GridSpec.from_bounds((0, 0, 30, 30), res_m=10, crs="EPSG:4547")
    >>> m = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 1]], dtype=bool)
    >>> polys, vals = polygonize(spec, m.astype("uint8"), mask=m)
    >>> sorted(p.area for p in polys), vals.tolist()
    ([100.0, 200.0], [1.0, 1.0])
    """
    import itertools

    import rasterio.features

    rings, n_rings, out_values = [], [], []
    for geom, value in rasterio.features.shapes(values, mask=mask, connectivity=connectivity,
                                                transform=spec.transform):
        coords = geom["coordinates"]
        rings.extend(coords)
        n_rings.append(len(coords))
        out_values.append(value)
    if not rings:
        return np.empty(0, dtype=object), np.empty(0, dtype="float64")
    ring_offsets = np.zeros(len(rings) + 1, dtype=np.int64)
    ring_offsets[1:] = np.cumsum([len(r) for r in rings])
    poly_offsets = np.zeros(len(n_rings) + 1, dtype=np.int64)
    poly_offsets[1:] = np.cumsum(n_rings)
    xy = np.array(list(itertools.chain.from_iterable(rings)), dtype="float64").reshape(-1, 2)
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (ring_offsets, poly_offsets))
    return np.asarray(polys, dtype=object), np.asarray(out_values, dtype="float64")
