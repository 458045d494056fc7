"""Validation of layers and rasters against their schemas, with errors that say how to fix them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cimtwin._validate import check_dem_sentinels, check_lonlat_ranges, close_matches, format_ids
from cimtwin.errors import (
    CimtwinError,
    CRSError,
    GeographicCRSError,
    GeometryError,
    InputTypeError,
    NodataError,
    SchemaError,
    ValidationError,
)
from cimtwin.model.schema import LAYER_SCHEMAS, Column, LayerSchema

__all__ = ["validate_layer", "validate_raster", "layer_kind", "ValidationReport"]

_FAMILY = {
    "Point": "Point", "MultiPoint": "Point",
    "LineString": "LineString", "MultiLineString": "LineString", "LinearRing": "LineString",
    "Polygon": "Polygon", "MultiPolygon": "Polygon",
}


@dataclass
class ValidationReport:
    """Problems found in a model; ``errors`` hold CimtwinError instances."""

    errors: list[CimtwinError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def layer_kind(name: str, kind: str | None = None) -> str | None:
    """Schema kind of a layer: explicit ``kind``, its name, or a known kind it starts with
    (``cameras_2025`` → ``cameras``). A name one typo away from a kind is an error; other
    names are free layers without a schema (None)."""
    if kind is not None:
        if kind not in LAYER_SCHEMAS:
            raise SchemaError(f"Unknown layer kind {kind!r}.{close_matches(kind, LAYER_SCHEMAS)} "
                              f"Known kinds: {sorted(LAYER_SCHEMAS)}.")
        return kind
    if name in LAYER_SCHEMAS:
        return name
    for known in LAYER_SCHEMAS:
        if name.startswith(known + "_"):
            return known
    hint = close_matches(name, LAYER_SCHEMAS, cutoff=0.8)  # only near-typos, not free names
    if hint:
        raise SchemaError(
            f"Layer name {name!r} is not a known layer kind.{hint} Rename it, or pass "
            f"`kinds={{{name!r}: <kind>}}` to give it a schema."
        )
    return None


def _ids(gdf: pd.DataFrame, mask: np.ndarray) -> str:
    return format_ids(gdf.index[np.asarray(mask, dtype=bool)])


def _check_column(layer: str, gdf: pd.DataFrame, name: str, col: Column) -> pd.Series:
    """Check one column; return it coerced to the schema's kind."""
    s = gdf[name]
    where = f"layer {layer!r}, column {name!r}"
    null = s.isna().to_numpy()
    if null.any() and not col.nullable and col.required and col.kind != "str":
        raise SchemaError(f"{where}: null values in features {_ids(gdf, null)}. Fill them or drop those features.")
    if col.kind in ("float", "int"):
        if pd.api.types.is_bool_dtype(s.dtype) or not (pd.api.types.is_numeric_dtype(s.dtype) or null.all()):
            raise SchemaError(
                f"{where}: expected numbers ({col.kind}); got dtype {s.dtype}. Convert it, e.g. "
                f"`gdf[{name!r}] = pd.to_numeric(gdf[{name!r}])`."
            )
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        if col.kind == "int" and (finite & (values != np.round(values))).any():
            bad = finite & (values != np.round(values))
            raise SchemaError(f"{where}: expected whole numbers; features {_ids(gdf, bad)} are not.")
        bad = np.zeros(len(values), dtype=bool)
        rule = []
        with np.errstate(invalid="ignore"):
            if col.minimum is not None:
                bad |= (values <= col.minimum) if col.min_open else (values < col.minimum)
                rule.append(f"{'>' if col.min_open else '≥'} {col.minimum:g}")
            if col.maximum is not None:
                bad |= (values >= col.maximum) if col.max_open else (values > col.maximum)
                rule.append(f"{'<' if col.max_open else '≤'} {col.maximum:g}")
        bad &= ~np.isnan(values)
        if bad.any():
            first = values[bad][:3]
            raise ValidationError(
                f"{where}: values must be {' and '.join(rule)}; features {_ids(gdf, bad)} have "
                f"{', '.join(f'{v:g}' for v in first)}{'…' if bad.sum() > 3 else ''}. Correct them"
                + (" (azimuths are compass bearings in [0, 360): use value % 360)." if "azimuth" in name
                   or "strike" in name else ".")
            )
        if col.kind == "float" and not pd.api.types.is_float_dtype(s.dtype):
            return s.astype("float64")
        return s
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s
        values = s.dropna()
        if len(values) and pd.api.types.is_numeric_dtype(values.dtype) and values.isin([0, 1]).all() and not null.any():
            return s.astype(bool)
        if col.nullable and all(isinstance(v, (bool, np.bool_)) for v in values):
            return s.astype("boolean")  # True/False with unknowns kept unknown
        raise SchemaError(f"{where}: expected booleans (True/False); got dtype {s.dtype}. "
                          f"Convert it, e.g. `gdf[{name!r}] = gdf[{name!r}].astype(bool)`.")
    if col.kind in ("str", "category"):
        nonnull = s[~null]
        if len(nonnull) and not all(isinstance(v, str) for v in nonnull.astype(object)):
            raise SchemaError(f"{where}: expected text; got dtype {s.dtype}. Convert it with `.astype(str)`.")
        if col.kind == "category" and col.choices is not None:
            bad = ~null & ~s.astype(object).isin(col.choices).to_numpy()
            if bad.any():
                vals = sorted({str(v) for v in s[bad]})[:5]
                hint = close_matches(vals[0], col.choices)
                raise SchemaError(
                    f"{where}: unknown values {vals} in features {_ids(gdf, bad)}. "
                    f"Allowed: {list(col.choices)}.{hint}"
                )
        return s
    raise AssertionError(col.kind)  # schema bug, not user input


def validate_layer(name: str, gdf: Any, *, crs: Any = None, kind: str | None = None, repair: bool = False,
                   fill_defaults: bool = True):
    """Check a layer against its schema and return it ready for the model.

    The returned layer is a copy: reprojected to ``crs`` when given, with optional columns
    added at their defaults, numeric columns coerced, and invalid geometries repaired when
    ``repair=True``.
    """
    import geopandas as gpd
    import shapely

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputTypeError(f"Layer {name!r} must be a GeoDataFrame; got {type(gdf).__name__}. "
                             "Build one with `geopandas.GeoDataFrame(df, geometry=..., crs=...)`.")
    if gdf.crs is None:
        raise CRSError(f"Layer {name!r} has no CRS. Set the one its coordinates are in, e.g. "
                       "`gdf.set_crs('EPSG:4326')` for longitude/latitude.")
    kind = layer_kind(name, kind)
    schema: LayerSchema | None = LAYER_SCHEMAS.get(kind) if kind else None
    if gdf.crs.is_geographic and len(gdf):
        present = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if len(present):
            check_lonlat_ranges(*(float(v) for v in present.total_bounds), name=name)
    out = gdf.copy()
    if crs is not None and not out.crs.equals(crs):
        out = out.to_crs(crs)

    geoms = out.geometry.to_numpy()
    missing_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing_geom.any():
        raise GeometryError(f"Layer {name!r}: features {_ids(out, missing_geom)} have no geometry. "
                            "Drop them (`gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]`) or add one.")
    if schema is not None:
        families = np.array([_FAMILY.get(t, t) for t in out.geometry.geom_type.to_numpy()])
        wrong = ~np.isin(families, schema.geometry)
        if wrong.any():
            seen = sorted(set(out.geometry.geom_type[wrong]))
            raise SchemaError(
                f"Layer {name!r} must hold {'/'.join(schema.geometry)} geometries; features "
                f"{_ids(out, wrong)} are {seen}."
                + (" Use centroids (`gdf.geometry = gdf.centroid`) for point layers." if "Point" in schema.geometry
                   else "")
            )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        if not repair:
            reasons = shapely.is_valid_reason(geoms[invalid][:3])
            raise GeometryError(
                f"Layer {name!r}: invalid geometries in features {_ids(out, invalid)} ({'; '.join(reasons)}). "
                "Pass `repair=True` to fix them with shapely.make_valid."
            )
        fixed = shapely.make_valid(geoms[invalid])
        if schema is not None and "Polygon" in schema.geometry:
            # make_valid may return a collection with slivers of lower dimension; keep the areas
            fixed = np.array([_polygonal_part(g) for g in fixed], dtype=object)
        geoms = geoms.copy()
        geoms[invalid] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))

    if schema is None:
        return out
    missing = [c for c in schema.required if c not in out.columns]
    if missing:
        typed = {c: schema.columns[c].kind for c in missing}
        hint = ""
        for c in missing:
            h = close_matches(c, [str(x) for x in out.columns])
            if h:
                hint += f" For {c!r}:{h}"
        raise SchemaError(
            f"Layer {name!r} ({kind}) lacks required column(s) {typed}.{hint} "
            f"Required: {schema.required}; optional (with defaults): {schema.optional}."
        )
    for cname, col in schema.columns.items():
        if cname not in out.columns:
            if fill_defaults and not col.required:
                out[cname] = _default_series(col, len(out), out.index)
            continue
        out[cname] = _check_column(name, out, cname, col)
    return out


def _default_series(col: Column, n: int, index) -> pd.Series:
    if col.kind == "bool" and col.default is None:
        # an absent flag is unknown (nullable NA), so a figure never counts it as True
        return pd.Series(pd.NA, index=index, dtype="boolean")
    dtype = {"float": "float64", "int": "int64", "bool": "bool", "str": object, "category": object}[col.kind]
    return pd.Series([col.default] * n, index=index, dtype=dtype)


def _polygonal_part(geom):
    import shapely

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def validate_raster(name: str, da: Any):
    """Check a raster's type, CRS and data; return it unchanged."""
    from cimtwin.grid.spec import GridSpec

    if not (hasattr(da, "dims") and hasattr(da, "coords")):
        raise InputTypeError(f"Raster {name!r} must be an xarray DataArray; got {type(da).__name__}. "
                             "Read a GeoTIFF with `cimtwin.io.read_raster(path)`.")
    if da.ndim != 2 or set(da.dims) != {"y", "x"}:
        raise SchemaError(f"Raster {name!r} must be 2-D with dims ('y', 'x'); got {da.dims}.")
    spec = GridSpec.from_dataarray(da)
    if spec.crs is None:
        raise CRSError(f"Raster {name!r} has no CRS. Write one, e.g. `da.rio.write_crs('EPSG:4527')`.")
    if spec.crs.is_geographic:
        raise GeographicCRSError(f"Raster {name!r} is in a geographic CRS ({spec.crs.to_string()}); rasters must "
                                 "share the model's projected grid. Reproject with `da.rio.reproject(model.crs)`.")
    nodata = da.attrs.get("_FillValue", da.attrs.get("nodata"))
    if _is_dask(da):  # a lazy raster: the same checks, tile by tile, without loading it
        _check_raster_data_tiled(name, da, nodata)
        return da, spec
    _check_raster_data(name, np.asarray(da.values), nodata)
    return da, spec


def _is_dask(da) -> bool:
    return type(getattr(da, "data", None)).__module__.startswith("dask")


def _check_raster_data_tiled(name: str, da, nodata) -> None:
    """:func:`_check_raster_data` on each chunk of a dask-backed raster (only counts come back)."""
    import dask

    def block_valid(block):
        block = np.asarray(block)
        _check_raster_data(name, block, nodata, allow_empty=True)
        return int(_valid_mask(block, nodata).sum())

    counts = dask.compute(*[dask.delayed(block_valid)(b) for b in da.data.to_delayed().ravel()])
    if not sum(counts):
        raise NodataError(f"Raster {name!r} holds only nodata ({da.size} cells). Check its nodata value "
                          f"({nodata!r}) and that the file was read correctly.")


def _valid_mask(values, nodata):
    valid = np.ones(values.shape, dtype=bool)
    if np.issubdtype(values.dtype, np.floating):
        valid &= ~np.isnan(values)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        valid &= values != nodata
    return valid


def _check_raster_data(name: str, values, nodata, *, allow_empty: bool = False) -> None:
    """The data checks of :func:`validate_raster` (for a dask raster: on one chunk, whose
    counts and positions are then the chunk's)."""
    valid = np.ones(values.shape, dtype=bool)
    if np.issubdtype(values.dtype, np.floating):
        valid &= ~np.isnan(values)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        valid &= values != nodata
    if not valid.any() and not allow_empty:
        raise NodataError(f"Raster {name!r} holds only nodata ({values.size} cells). Check its nodata value "
                          f"({nodata!r}) and that the file was read correctly.")
    if name == "dem":
        check_dem_sentinels(values, nodata=nodata, name=name)
        if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values[valid]).all():
            raise NodataError("Raster 'dem' has infinite values; set them to nodata (NaN).")
    if name == "population" and np.issubdtype(values.dtype, np.number):
        negative = valid & (values < 0)
        if negative.any():
            rows, cols = np.nonzero(negative)
            raise ValidationError(
                f"Raster 'population' has {int(negative.sum())} cell(s) with negative residents (first at row "
                f"{int(rows[0])}, col {int(cols[0])}: {float(values[rows[0], cols[0]]):g}). A count of persons is "
                "≥ 0: fix the source, or declare the fill value as nodata if these cells mean 'no data'."
            )
