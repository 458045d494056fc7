"""The on-disk model container: one folder, written atomically.

Layout of a saved model (``city.cimtwin/``)::

    manifest.json           the commit point: layer order, dtypes, CRS, metadata, file names
    layers-<token>.gpkg     every vector layer and table (one GeoPackage)
    <raster>-<token>.tif    one GeoTIFF per raster

A save writes new files under a fresh token, then replaces ``manifest.json`` in one
``os.replace`` (atomic on POSIX and Windows), then removes the files of the previous
token. Interrupted at any point, the folder still holds a manifest naming complete files:
the previous model, or the new one. A manifest is never half-written, and files it does
not name are ignored on read.

GeoPackage loses some pandas dtypes (category, nullable integers, time-zone names, an
index), so the manifest records each column's dtype and the reader restores it.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimtwin.errors import CimtwinError, ValidationError

__all__ = ["write_container", "read_container", "ContainerError", "FORMAT_VERSION"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_INDEX_COL = "__cimtwin_index__"


class ContainerError(CimtwinError, OSError):
    """A saved model cannot be read (missing manifest, missing file, unknown version)."""


# -- dtypes ---------------------------------------------------------------------------------
def _dtype_record(series: pd.Series) -> dict[str, Any]:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return {"dtype": "category", "categories": [_py(c) for c in cats],
                "categories_dtype": str(cats.dtype), "ordered": bool(dtype.ordered)}
    if isinstance(dtype, pd.DatetimeTZDtype):
        return {"dtype": "datetime_tz", "tz": str(dtype.tz), "unit": dtype.unit}
    if pd.api.types.is_datetime64_dtype(dtype):
        return {"dtype": "datetime", "unit": np.datetime_data(dtype)[0]}
    return {"dtype": str(dtype)}


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _restore(series: pd.Series, rec: dict[str, Any]) -> pd.Series:
    kind = rec["dtype"]
    if kind == "category":
        cats = pd.Index(rec["categories"], dtype=rec.get("categories_dtype"))
        values = series.astype(cats.dtype) if len(series) and series.notna().any() else series
        return pd.Series(pd.Categorical(values, categories=cats, ordered=rec["ordered"]),
                         index=series.index, name=series.name)
    if kind == "datetime_tz":
        s = pd.to_datetime(series, utc=True, format="ISO8601")
        return s.dt.tz_convert(rec["tz"]).astype(f"datetime64[{rec['unit']}, {rec['tz']}]")
    if kind == "datetime":
        return pd.to_datetime(series, format="ISO8601").astype(f"datetime64[{rec['unit']}]")
    if str(series.dtype) != kind:
        return series.astype(kind)
    return series


def _prepare_frame(df: pd.DataFrame, geometry: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Columns to write plus the manifest entry that restores them."""
    columns = [c for c in df.columns]
    record: dict[str, Any] = {
        "columns": [str(c) for c in columns],
        "dtypes": {str(c): _dtype_record(df[c]) for c in columns if c != geometry},
        "geometry": geometry,
        "index": None,
    }
    for c in columns:
        if not isinstance(c, str):
            raise ValidationError(f"Column names must be strings to be saved; got {c!r}.")
    out = df.copy()
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        record["index"] = {"name": df.index.name, **_dtype_record(df.index.to_series())}
        out.insert(0, _INDEX_COL, df.index.to_numpy())
        out.index = pd.RangeIndex(len(out))
    for c in columns:
        if c == geometry:
            continue
        rec = record["dtypes"][c]
        if rec["dtype"] == "datetime_tz":
            out[c] = out[c].dt.tz_convert("UTC")  # GeoPackage stores datetimes in UTC
        elif rec["dtype"] == "category":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        elif rec["dtype"] in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                              "boolean", "Float32", "Float64"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out, record


def _restore_frame(df: pd.DataFrame, record: dict[str, Any]) -> pd.DataFrame:
    for c, rec in record["dtypes"].items():
        df[c] = _restore(df[c], rec)
    if record["index"] is not None:
        idx_rec = record["index"]
        idx = _restore(df[_INDEX_COL], idx_rec)
        df = df.drop(columns=_INDEX_COL)
        df.index = pd.Index(idx.to_numpy(), name=idx_rec["name"], dtype=idx.dtype)
    return df[record["columns"]]


# -- write ----------------------------------------------------------------------------------
def write_container(path: str | os.PathLike, *, layers: dict[str, Any], rasters: dict[str, Any],
                    tables: dict[str, pd.DataFrame], metadata: dict[str, Any]) -> Path:
    """Write layers (GeoDataFrames), rasters (DataArrays), tables and metadata atomically."""
    import pyogrio

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValidationError(f"Cannot save a model to {path.name!r}: a file of that name exists. "
                              "Choose a folder name, e.g. 'city.cimtwin'.")
    path.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    gpkg_name = f"layers-{token}.gpkg"
    manifest: dict[str, Any] = {
        "format": "cimtwin-model", "format_version": FORMAT_VERSION, "token": token,
        "layers": [], "tables": [], "rasters": [], "metadata": _jsonable(metadata),
        "vector_file": gpkg_name if (layers or tables) else None,
    }
    written: list[Path] = []
    try:
        gpkg = path / gpkg_name
        for i, (name, gdf) in enumerate(layers.items()):
            geom = gdf.geometry.name
            frame, rec = _prepare_frame(gdf, geom)
            gpkg_layer = f"l{i:03d}"
            pyogrio.write_dataframe(frame, gpkg, layer=gpkg_layer, append=gpkg.exists(),
                                    promote_to_multi=False, geometry_type=_ogr_geometry_type(gdf))
            written.append(gpkg)
            manifest["layers"].append({"name": name, "gpkg_layer": gpkg_layer,
                                       "crs": gdf.crs.to_wkt() if gdf.crs is not None else None, **rec})
        for i, (name, table) in enumerate(tables.items()):
            frame, rec = _prepare_frame(table, None)
            gpkg_layer = f"t{i:03d}"
            pyogrio.write_dataframe(frame, gpkg, layer=gpkg_layer, append=gpkg.exists())
            written.append(gpkg)
            manifest["tables"].append({"name": name, "gpkg_layer": gpkg_layer, **rec})
        for name, da in rasters.items():
            fname = f"raster{len(manifest['rasters']):03d}-{token}.tif"
            manifest["rasters"].append(_write_raster(path / fname, name, da))
            written.append(path / fname)
        _atomic_write_text(path / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    except BaseException:
        for f in set(written):
            f.unlink(missing_ok=True)
        raise
    _remove_stale(path, keep=token)
    return path


def _ogr_geometry_type(gdf) -> str | None:
    types = set(gdf.geometry.dropna().geom_type.unique())
    if len(types) == 1:
        return types.pop()
    return "Unknown"


def _write_raster(file: Path, name: str, da) -> dict[str, Any]:
    import rasterio

    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(da)
    values = np.asarray(da.values)
    nodata = da.attrs.get("_FillValue", da.attrs.get("nodata"))
    if nodata is None and "rio" in dir(da):  # pragma: no cover - rioxarray-only attrs
        nodata = None
    with rasterio.open(file, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=spec.crs.to_wkt() if spec.crs is not None else None,
                       transform=spec.transform, nodata=nodata, compress="deflate",
                       tiled=values.shape[0] >= 256 and values.shape[1] >= 256) as dst:
        dst.write(values, 1)
    attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue",)}
    return {"name": name, "file": file.name, "da_name": da.name, "attrs": _jsonable(attrs),
            "nodata": _py(nodata) if nodata is not None else None}


def _atomic_write_text(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale(path: Path, *, keep: str) -> None:
    for f in path.iterdir():
        stale_data = f.suffix in (".gpkg", ".tif") and not f.stem.endswith(keep)
        stale_tmp = f.name.startswith(".manifest-")
        if stale_data or stale_tmp:
            f.unlink(missing_ok=True)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


# -- read -----------------------------------------------------------------------------------
def read_container(path: str | os.PathLike) -> dict[str, Any]:
    """Read a saved model folder into ``{"layers", "rasters", "tables", "metadata"}``."""
    import geopandas as gpd
    import pyogrio

    path = Path(path)
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise ContainerError(f"{path.name!r} is not a saved cimtwin model: no {MANIFEST}. "
                             "Save one with `model.save(path)`.")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if manifest.get("format") != "cimtwin-model" or manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ContainerError(f"{path.name!r} holds an unknown model format {manifest.get('format_version')}; "
                             "upgrade cimtwin to read it.")
    gpkg = path / manifest["vector_file"] if manifest["vector_file"] else None
    if gpkg is not None and not gpkg.is_file():
        raise ContainerError(f"{path.name!r}: the manifest names {gpkg.name}, which is missing.")
    layers = {}
    for rec in manifest["layers"]:
        df = pyogrio.read_dataframe(gpkg, layer=rec["gpkg_layer"], datetime_as_string=True)
        if df.geometry.name != rec["geometry"]:
            df = df.rename_geometry(rec["geometry"])
        df = df.set_crs(rec["crs"], allow_override=True) if rec["crs"] else df
        df = _restore_frame(df, rec)
        layers[rec["name"]] = gpd.GeoDataFrame(df, geometry=rec["geometry"], crs=df.crs)
    tables = {}
    for rec in manifest["tables"]:
        df = pyogrio.read_dataframe(gpkg, layer=rec["gpkg_layer"], read_geometry=False, datetime_as_string=True)
        tables[rec["name"]] = _restore_frame(pd.DataFrame(df), rec)
    rasters = {rec["name"]: _read_raster(path / rec["file"], rec) for rec in manifest["rasters"]}
    return {"layers": layers, "rasters": rasters, "tables": tables, "metadata": manifest["metadata"]}


def _read_raster(file: Path, rec: dict[str, Any]):
    import rasterio

    from cimtwin.grid.spec import GridSpec

    if not file.is_file():
        raise ContainerError(f"The manifest names raster file {file.name}, which is missing.")
    with rasterio.open(file) as src:
        values = src.read(1)
        spec = GridSpec(src.transform, values.shape, src.crs.to_wkt() if src.crs else None)
        nodata = src.nodata
    da = spec.to_dataarray(values, name=rec["da_name"], attrs=rec["attrs"], nodata=nodata)
    return da


def read_raster(path: str | os.PathLike, *, name: str | None = None):
    """Read band 1 of a GeoTIFF (or any raster rasterio opens) as a DataArray on its grid."""
    return _read_raster(Path(path), {"da_name": name or Path(path).stem, "attrs": {}})
