"""The on-disk model container: one folder that never loses data.

Layout of a saved model (``city.cimtwin/``)::

    manifest.json             the commit point: layer order, dtypes, CRS, metadata, files and their sha256
    layers-<token>.gpkg       every vector layer and table (one GeoPackage)
    raster000-<token>.tif     one GeoTIFF per raster
    .cimtwin.lock             the lock that serialises saves (kept)

A save, holding an exclusive OS lock on ``.cimtwin.lock`` (``fcntl.flock``):

1. records in ``.cimtwin-pending-<token>`` the names it is about to write and those of the model it
   replaces (so whatever a crashed save leaves can later be recognised as cimtwin's and removed, and
   nothing else ever is);
2. writes the new files under a fresh random token and ``fsync``\\ s them;
3. replaces ``manifest.json`` in one ``os.replace`` (atomic on POSIX) and ``fsync``\\ s the folder;
4. removes exactly the files the previous manifest named, then its pending note.

Killed at any point, the folder holds one manifest naming complete files: the previous model or
the new one. Readers take no lock: they read the manifest, then its files; when a file vanishes
under them because a save finished meanwhile, they start again on the new manifest.

GeoPackage loses some pandas dtypes (category, nullable integers, time-zone names, an index), so
the manifest records each column's dtype and the reader restores it. What GeoPackage cannot hold
at all (mixed-type, list or bytes columns, MultiIndex columns, ``fid``, names differing only in
case, sub-millisecond times) is refused by :func:`check_storable` when a layer is added.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimtwin.errors import ContainerError, SchemaError, ValidationError

__all__ = ["write_container", "read_container", "read_raster", "check_storable", "ContainerError",
           "FORMAT_VERSION"]

FORMAT_VERSION = 2  # 2: checksums of every file ("files"); version 1 manifests are still read
MANIFEST = "manifest.json"
LOCK_FILE = ".cimtwin.lock"
_PENDING = ".cimtwin-pending-"
_INDEX_COL = "__cimtwin_index__"
_SIDECARS = ("-journal", "-wal", "-shm", ".aux.xml")  # what GDAL may leave beside a file it writes
_READ_ATTEMPTS = 8
_INT64_MAX = np.iinfo(np.int64).max


# -- what a store can hold -------------------------------------------------------------------
def check_storable(df: pd.DataFrame, *, what: str, geometry: str | None = None) -> None:
    """Refuse columns a saved model could not give back exactly.

    Both stores (the folder's GeoPackage and PostGIS) hold strings, booleans, integers that fit
    64 bits, floats, categories, nullable pandas dtypes and datetimes to the millisecond. Any
    other column is refused here, when the layer is added, with its name and the fix: nothing
    is silently converted.

    Parameters
    ----------
    df
        The layer or table.
    what
        How to name it in the message, e.g. ``"layer 'cameras'"``.
    geometry
        The active geometry column (a GeoDataFrame's), exempt from the checks.

    Raises
    ------
    SchemaError
        On MultiIndex columns or index, non-string or reserved names (``fid``), names equal but
        for case, and columns of a type the stores cannot hold.

    Examples
    --------
    >>> import pandas as pd
    >>> check_storable(pd.DataFrame({"name": ["历下区"], "n": [3]}), what="table 't'")
    >>> check_storable(pd.DataFrame({"Name": ["a"], "name": ["b"]}), what="table 't'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimtwin.errors.SchemaError: table 't': columns 'Name' and 'name' differ only in case; ...
    """
    if isinstance(df.columns, pd.MultiIndex):
        raise SchemaError(f"{what} has MultiIndex (multi-level) columns, which a saved model cannot hold. "
                          "Flatten them first, e.g. `df.columns = ['_'.join(map(str, c)) for c in df.columns]`.")
    if isinstance(df.index, pd.MultiIndex):
        raise SchemaError(f"{what} has a MultiIndex (multi-level) index, which a saved model cannot hold. "
                          "Turn its levels into columns with `df.reset_index()`.")
    seen: dict[str, str] = {}
    for c in df.columns:
        if not isinstance(c, str) or not c:
            raise SchemaError(f"{what}: column name {c!r} is not a non-empty string; a saved model needs text "
                              f"names. Rename it, e.g. `df.rename(columns={{{c!r}: 'col_{c}'}})`.")
        low = c.lower()
        if low == "fid":
            raise SchemaError(f"{what}: column {c!r} is reserved (GeoPackage keeps its feature ids in 'fid'). "
                              f"Rename it, e.g. `df.rename(columns={{{c!r}: 'feature_id'}})`.")
        if c == _INDEX_COL:
            raise SchemaError(f"{what}: column {c!r} is reserved for the saved index; rename it.")
        if low in seen:
            raise SchemaError(f"{what}: columns {seen[low]!r} and {c!r} differ only in case; GeoPackage and "
                              "PostgreSQL column names ignore case. Rename one of them.")
        seen[low] = c
    for c in df.columns:
        if c == geometry:
            continue
        _check_series(df[c], where=f"{what}, column {c!r}")
    if not _is_default_index(df.index):
        _check_series(df.index.to_series(), where=f"{what}, index")


def _check_series(s: pd.Series, *, where: str) -> None:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        _check_series(pd.Series(dtype.categories), where=f"{where} (categories)")
        return
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        ns = s.dropna().to_numpy(dtype="datetime64[ns]").view("int64") if len(s) else np.empty(0, "int64")
        if (ns % 1_000_000).any():
            raise SchemaError(f"{where}: datetimes finer than a millisecond; a saved model keeps milliseconds. "
                              "Round them first, e.g. `df[col] = df[col].dt.floor('ms')`.")
        return
    if dtype.kind == "m":
        raise SchemaError(f"{where}: time spans (timedelta) cannot be saved. Store a number with its unit in the "
                          "name, e.g. `df['duration_s'] = df[col].dt.total_seconds()`.")
    if dtype.kind == "c":
        raise SchemaError(f"{where}: complex numbers cannot be saved. Split them into two float columns "
                          "(`.real`, `.imag`).")
    if str(dtype) in ("uint64", "UInt64") and len(s) and s.max() > _INT64_MAX:
        raise SchemaError(f"{where}: unsigned values above 2**63 - 1 cannot be saved (the stores hold signed "
                          "64-bit integers). Store them as text, e.g. `df[col].astype(str)`.")
    if dtype.kind in "biuf" or isinstance(dtype, pd.StringDtype) or str(dtype) in _NULLABLE:
        return
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
            values = s[s.notna()]
            kinds = {type(v).__name__ for v in values}
            fix = ("Convert it with `df[col].astype(str)` (keeping None: `df[col].map(lambda v: v if v is None "
                   "else str(v))`), or split lists into their own rows or columns")
            if kinds <= {"bool"}:
                fix = "Use the nullable boolean dtype: `df[col] = df[col].astype('boolean')`"
            elif kinds <= {"int", "float"}:
                fix = "Use a numeric dtype: `df[col] = pd.to_numeric(df[col])`, or 'Int64' to keep missing values"
            raise SchemaError(f"{where} holds {', '.join(sorted(kinds))} values, which a saved model cannot give "
                              f"back exactly (only text is kept in a column of Python objects). {fix}.")
        return
    raise SchemaError(f"{where}: dtype {dtype} cannot be saved. Convert it to text, numbers or datetimes first.")


_NULLABLE = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "boolean",
             "Float32", "Float64"}


def _is_default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None


# -- dtypes ----------------------------------------------------------------------------------
def dtype_record(series: pd.Series) -> dict[str, Any]:
    """The manifest entry that restores ``series.dtype`` after a store flattened it."""
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


def restore_series(series: pd.Series, rec: dict[str, Any]) -> pd.Series:
    """Give ``series`` back the dtype its manifest entry ``rec`` records."""
    kind = rec["dtype"]
    if kind == "category":
        cats = pd.Index(rec["categories"], dtype=rec.get("categories_dtype"))
        known = series.notna()
        values = series
        if not series[known].isin(cats).all():  # e.g. integer categories that came back as text
            values = series.astype(object).where(known, None)
            values[known] = series[known].astype(cats.dtype).astype(object)
        result = pd.Categorical(values, categories=cats, ordered=rec["ordered"])
        return pd.Series(result, index=series.index, name=series.name)
    if kind == "datetime_tz":
        s = series if isinstance(series.dtype, pd.DatetimeTZDtype) else pd.to_datetime(
            series, utc=True, format="ISO8601")
        return s.dt.tz_convert(rec["tz"]).astype(f"datetime64[{rec['unit']}, {rec['tz']}]")
    if kind == "datetime":
        s = series if pd.api.types.is_datetime64_dtype(series.dtype) else pd.to_datetime(series, format="ISO8601")
        return s.astype(f"datetime64[{rec['unit']}]")
    if kind == "object":
        return series.astype(object).where(series.notna(), None)
    if str(series.dtype) != kind:
        return series.astype(kind)
    return series


def prepare_frame(df: pd.DataFrame, geometry: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Columns to write (index as a column, dtypes a store holds) plus the manifest entry."""
    columns = list(df.columns)
    record: dict[str, Any] = {
        "columns": [str(c) for c in columns],
        "dtypes": {str(c): dtype_record(df[c]) for c in columns if c != geometry},
        "geometry": geometry,
        "index": None,
        "rows": int(len(df)),
    }
    out = df.copy()
    if not _is_default_index(df.index):
        record["index"] = {"name": df.index.name, **dtype_record(df.index.to_series())}
        out.insert(0, _INDEX_COL, df.index.to_numpy())
        out.index = pd.RangeIndex(len(out))
    for c in [_INDEX_COL] * (record["index"] is not None) + columns:
        if c == geometry:
            continue
        rec = record["index"] if c == _INDEX_COL else record["dtypes"][c]
        if rec["dtype"] == "datetime_tz":
            out[c] = out[c].dt.tz_convert("UTC")  # both stores keep UTC; the zone is in the manifest
        elif rec["dtype"] == "category" or (rec["dtype"] in _NULLABLE and rec["dtype"] != "boolean"):
            # as Python objects: GeoPackage keeps them as text, exact even beyond 2**53
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out, record


def restore_frame(df: pd.DataFrame, record: dict[str, Any]) -> pd.DataFrame:
    """Undo :func:`prepare_frame`: dtypes, index and column order."""
    for c, rec in record["dtypes"].items():
        df[c] = restore_series(df[c], rec)
    if record["index"] is not None:
        idx_rec = record["index"]
        idx = restore_series(df[_INDEX_COL], idx_rec)
        df = df.drop(columns=_INDEX_COL)
        df.index = pd.Index(idx.to_numpy(), name=idx_rec["name"], dtype=idx.dtype)
    return df[record["columns"]]


# -- locking and file hygiene ----------------------------------------------------------------
@contextlib.contextmanager
def save_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's exclusive save lock (waits for another save to finish)."""
    import fcntl

    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file and one rename (mode follows the umask)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(target.parent)


def file_digest(path: Path) -> str:
    """sha256 of a file (hex), read in 1 MiB blocks.

    Examples
    --------
    >>> file_digest(Path("city.cimtwin") / "layers-0f4ae52a.gpkg")   # doctest: +SKIP
    '9c1e…'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _with_sidecars(names: list[str]) -> list[str]:
    return [n + s for n in names for s in ("",) + _SIDECARS]


def _pending_notes(folder: Path) -> dict[Path, list[str]]:
    """Each pending note and the files it names: those its save writes and those it replaces."""
    notes = {}
    for f in folder.glob(_PENDING + "*"):
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
            notes[f] = [str(n) for n in rec["writes"] + rec["replaces"]]
        except (OSError, ValueError, TypeError, KeyError):
            notes[f] = []  # a note is written atomically, so this is not one of ours: it names nothing
    return notes


def _clean_pending(folder: Path, *, keep: set[str]) -> None:
    """Remove what crashed saves left: the files their notes name that the manifest does not."""
    for note, names in _pending_notes(folder).items():
        for name in _with_sidecars(names):
            if name not in keep and "/" not in name:
                (folder / name).unlink(missing_ok=True)
        note.unlink(missing_ok=True)


def _require_ours(folder: Path) -> None:
    """A folder without a manifest may only hold what cimtwin left there (lock, crashed save)."""
    ours = {LOCK_FILE}
    for note, names in _pending_notes(folder).items():
        ours |= {note.name, *_with_sidecars(names)}
    foreign = sorted(f.name for f in folder.iterdir() if f.name not in ours and not _is_our_tmp(f.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise ContainerError(f"Cannot save a model into {str(folder)!r}: it holds other files ({shown}) and is not a "
                             "saved cimtwin model. Choose a new or empty folder, e.g. 'city.cimtwin'.")


def _is_our_tmp(name: str) -> bool:
    """The temporary file of an interrupted :func:`_write_text_atomic` (manifest or pending note)."""
    return name.startswith((f".{MANIFEST}.", f".{_PENDING}")) and name.endswith(".tmp")


# -- write -----------------------------------------------------------------------------------
def write_container(path: str | os.PathLike, *, layers: dict[str, Any], rasters: dict[str, Any],
                    tables: dict[str, pd.DataFrame], metadata: dict[str, Any]) -> Path:
    """Write layers (GeoDataFrames), rasters (DataArrays), tables and metadata as one model folder.

    Saves to one folder are serialised by an OS lock; readers see the previous model until the
    new manifest is in place. See the module docstring for the steps and guarantees.

    Examples
    --------
    >>> write_container("town.cimtwin", layers={"districts": gdf}, rasters={}, tables={},
    ...                 metadata={"name": "town"})   # doctest: +SKIP
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValidationError(f"Cannot save a model to {str(path)!r}: a file of that name exists. "
                              "Choose a folder name, e.g. 'city.cimtwin'.")
    for name, gdf in layers.items():
        check_storable(gdf, what=f"layer {name!r}", geometry=gdf.geometry.name)
    for name, table in tables.items():
        check_storable(table, what=f"table {name!r}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ContainerError(f"Cannot create the model folder {str(path)!r}: {exc.strerror}. "
                             "Choose a folder you can write to.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ContainerError(f"Cannot save a model into {str(path)!r}: permission denied. "
                             "Choose a folder you can write to.")
    if _current_manifest(path) is None:  # refuse a foreign folder before leaving a lock file in it
        _require_ours(path)
    with save_lock(path):
        old = _current_manifest(path)
        if old is None:
            _require_ours(path)
        old_names = set(_manifest_files(old)) if old else set()
        _clean_pending(path, keep=old_names)
        for f in path.iterdir():
            if _is_our_tmp(f.name):
                f.unlink(missing_ok=True)
        token = secrets.token_hex(8)
        gpkg_name = f"layers-{token}.gpkg" if (layers or tables) else None
        raster_names = [f"raster{i:03d}-{token}.tif" for i in range(len(rasters))]
        planned = ([gpkg_name] if gpkg_name else []) + raster_names
        note = path / f"{_PENDING}{token}"
        _write_text_atomic(note, json.dumps({"writes": planned, "replaces": sorted(old_names)}))
        try:
            manifest = _write_generation(path, token, gpkg_name, raster_names, layers=layers, rasters=rasters,
                                         tables=tables, metadata=metadata,
                                         generation=int(old.get("generation", 0)) + 1 if old else 1)
            _write_text_atomic(path / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        except BaseException:
            if _manifest_token(path) != token:  # the new manifest did not land: remove what this save wrote
                for name in _with_sidecars(planned):
                    (path / name).unlink(missing_ok=True)
                note.unlink(missing_ok=True)
            raise
        for name in _with_sidecars(sorted(old_names - set(planned))):
            (path / name).unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        _fsync_path(path)
    return path


def _write_generation(path: Path, token: str, gpkg_name: str | None, raster_names: list[str], *, layers, rasters,
                      tables, metadata, generation: int) -> dict[str, Any]:
    import pyogrio

    bar = _progress("save", layers, tables, rasters)
    manifest: dict[str, Any] = {
        "format": "cimtwin-model", "format_version": FORMAT_VERSION, "token": token, "generation": generation,
        "layers": [], "tables": [], "rasters": [], "metadata": jsonable(metadata),
        "vector_file": gpkg_name, "files": {},
    }
    if gpkg_name:
        gpkg = path / gpkg_name
        for i, (name, gdf) in enumerate(layers.items()):
            geom = gdf.geometry.name
            frame, rec = prepare_frame(gdf, geom)
            gpkg_layer = f"l{i:03d}"
            pyogrio.write_dataframe(frame, gpkg, layer=gpkg_layer, append=gpkg.exists(),
                                    promote_to_multi=False, geometry_type=_ogr_geometry_type(gdf))
            manifest["layers"].append({"name": name, "gpkg_layer": gpkg_layer,
                                       "crs": gdf.crs.to_wkt() if gdf.crs is not None else None, **rec})
            bar.update()
        for i, (name, table) in enumerate(tables.items()):
            frame, rec = prepare_frame(table, None)
            gpkg_layer = f"t{i:03d}"
            pyogrio.write_dataframe(frame, gpkg, layer=gpkg_layer, append=gpkg.exists())
            manifest["tables"].append({"name": name, "gpkg_layer": gpkg_layer, **rec})
            bar.update()
    for fname, (name, da) in zip(raster_names, rasters.items()):
        manifest["rasters"].append(_write_raster(path / fname, name, da))
        bar.update()
    bar.close()
    for fname in ([gpkg_name] if gpkg_name else []) + raster_names:
        _fsync_path(path / fname)
        manifest["files"][fname] = {"sha256": file_digest(path / fname), "bytes": (path / fname).stat().st_size}
    return manifest


def _progress(verb: str, layers, tables, rasters):
    """A bar over layers, tables and rasters, shown for models of 100,000 rows or cells and more."""
    from tqdm.auto import tqdm

    from cimtwin.config import config

    size = sum(len(v) for v in layers.values()) + sum(len(v) for v in tables.values()) + \
        sum(int(np.prod(v.shape)) for v in rasters.values())
    return tqdm(total=len(layers) + len(tables) + len(rasters), desc=f"{verb} model", unit="part",
                disable=not config.progress or size < 100_000)


def _ogr_geometry_type(gdf) -> str | None:
    types = set(gdf.geometry.dropna().geom_type.unique())
    if len(types) == 1:
        return types.pop()
    return "Unknown"


def raster_record(name: str, da) -> tuple[np.ndarray, dict[str, Any]]:
    """Values and the manifest entry (grid, nodata, attrs) of a raster."""
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(da)
    values = np.asarray(da.values)
    nodata = da.attrs.get("_FillValue", da.attrs.get("nodata"))
    attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue",)}
    rec = {"name": name, "da_name": da.name, "attrs": jsonable(attrs), "dtype": str(values.dtype),
           "shape": list(values.shape), "transform": list(spec.transform)[:6],
           "crs": spec.crs.to_wkt() if spec.crs is not None else None,
           "nodata": _py(nodata) if nodata is not None else None}
    return values, rec


def _write_raster(file: Path, name: str, da) -> dict[str, Any]:
    import rasterio

    from cimtwin.grid.spec import GridSpec

    values, rec = raster_record(name, da)
    spec = GridSpec.from_dataarray(da)
    with rasterio.open(file, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=rec["crs"], transform=spec.transform, nodata=rec["nodata"],
                       compress="deflate", tiled=values.shape[0] >= 256 and values.shape[1] >= 256) as dst:
        dst.write(values, 1)
    rec["file"] = file.name
    return rec


def jsonable(obj: Any) -> Any:
    """Metadata as plain JSON types (numpy scalars and arrays unwrapped, other objects as text)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


# -- read ------------------------------------------------------------------------------------
def _manifest_files(manifest: dict[str, Any]) -> list[str]:
    names = [manifest["vector_file"]] if manifest.get("vector_file") else []
    return names + [r["file"] for r in manifest.get("rasters", [])]


def _load_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest, or a ContainerError saying what is wrong with the folder."""
    if not path.exists():
        raise ContainerError(f"The model {str(path)!r} does not exist. Check the path, or save one there with "
                             "`model.save(path)`.")
    if not path.is_dir():
        raise ContainerError(f"{str(path)!r} is a file, not a saved model (a folder such as 'city.cimtwin').")
    file = path / MANIFEST
    if not file.is_file():
        raise ContainerError(f"{str(path)!r} is not a saved cimtwin model: it has no {MANIFEST}. "
                             "Save one with `model.save(path)`.")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContainerError(f"{str(file)!r} is damaged ({exc}). Restore the folder from a backup, or save the "
                             "model again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "cimtwin-model":
        raise ContainerError(f"{str(file)!r} is not a cimtwin manifest. Restore the folder from a backup, or "
                             "save the model again.")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ContainerError(f"{str(path)!r} holds model format {manifest.get('format_version')}, newer than this "
                             f"cimtwin reads ({FORMAT_VERSION}); upgrade cimtwin to read it.")
    for key, kind in (("layers", list), ("tables", list), ("rasters", list), ("metadata", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ContainerError(f"{str(file)!r} is damaged: its {key!r} entry is missing or malformed. Restore "
                                 "the folder from a backup, or save the model again.")
    return manifest


def _current_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest a save replaces (None for a new folder); refuses a foreign manifest.json."""
    if not (path / MANIFEST).exists():
        return None
    try:
        return _load_manifest(path)
    except ContainerError as exc:
        raise ContainerError(f"Cannot save over {str(path)!r}: {exc} (A save never replaces a manifest.json "
                             "it cannot read, which may be another program's.)") from None


def read_container(path: str | os.PathLike, *, verify: bool = True, dem_chunks: Any = None) -> dict[str, Any]:
    """Read a saved model folder into ``{"layers", "rasters", "tables", "metadata"}``.

    Parameters
    ----------
    path
        The model folder.
    verify
        Check every file against the sha256 the manifest records (``False`` skips the hashing).
    dem_chunks
        Open the ``dem`` raster lazily as a dask array of these chunks (an int or a
        (rows, cols) pair); each chunk is read from its GeoTIFF when computed.

    Raises
    ------
    ContainerError
        The folder does not exist, is not a model, or a file is missing or damaged; the message
        names the file and the fix.

    Examples
    --------
    >>> parts = read_container("sample_data/jinan.cimtwin")   # doctest: +SKIP
    >>> sorted(parts)                                         # doctest: +SKIP
    ['layers', 'metadata', 'rasters', 'tables']
    """
    path = Path(path)
    for _ in range(_READ_ATTEMPTS):
        manifest = _load_manifest(path)
        try:
            return _read_generation(path, manifest, verify=verify, dem_chunks=dem_chunks)
        except ContainerError:
            if _manifest_token(path) == manifest.get("token"):
                raise
        except Exception as exc:  # a store's own error: a damaged file, or one removed by a save meanwhile
            if _manifest_token(path) == manifest.get("token"):
                raise _damaged(path, manifest, exc) from None
    raise ContainerError(f"{str(path)!r} changed {_READ_ATTEMPTS} times while it was being read; read it again "
                         "when the saves to it have finished.")


def _manifest_token(path: Path) -> Any:
    try:
        return _load_manifest(path).get("token")
    except ContainerError:
        return None


def _damaged(path: Path, manifest: dict[str, Any], exc: Exception) -> ContainerError:
    names = [n for n in _manifest_files(manifest) if n in str(exc)] or _manifest_files(manifest)
    which = names[0] if len(names) == 1 else " or ".join(names)
    return ContainerError(f"{str(path)!r}: {which} cannot be read ({type(exc).__name__}: {exc}). The file is "
                          "damaged; restore the folder from a backup, or save the model again.")


def _read_generation(path: Path, manifest: dict[str, Any], *, verify: bool, dem_chunks: Any = None) -> dict[str, Any]:
    import geopandas as gpd
    import pyogrio

    files = manifest.get("files") or {}
    for name in _manifest_files(manifest):
        file = path / name
        if not file.is_file():
            raise ContainerError(f"{str(path)!r}: the manifest names {name}, which is missing. Restore the folder "
                                 "from a backup, or save the model again.")
        expected = files.get(name)
        if verify and expected is not None:
            size = file.stat().st_size
            if size != expected.get("bytes", size) or file_digest(file) != expected["sha256"]:
                raise ContainerError(f"{str(path)!r}: {name} is damaged (its sha256 checksum differs from the "
                                     "manifest's: truncated or altered). Restore the folder from a backup, or save "
                                     "the model again.")
    from tqdm.auto import tqdm

    from cimtwin.config import config

    size = sum(int(r.get("rows", 0)) for r in manifest["layers"] + manifest["tables"]) + \
        sum(int(np.prod(r.get("shape", [0]))) for r in manifest["rasters"])
    bar = tqdm(total=len(manifest["layers"]) + len(manifest["tables"]) + len(manifest["rasters"]),
               desc="read model", unit="part", disable=not config.progress or size < 100_000)
    gpkg = path / manifest["vector_file"] if manifest.get("vector_file") else None
    layers = {}
    # through Arrow: 2.5x faster for a city's 2*10^6 buildings and 10^6 roads (10 s against 25 s
    # for the 10^8-cell synthetic city), the same frames
    for rec in manifest["layers"]:
        df = pyogrio.read_dataframe(gpkg, layer=rec["gpkg_layer"], datetime_as_string=True, use_arrow=True)
        if df.geometry.name != rec["geometry"]:
            df = df.rename_geometry(rec["geometry"])
        df = df.set_crs(rec["crs"], allow_override=True) if rec["crs"] else df
        df = restore_frame(df, rec)
        layers[rec["name"]] = gpd.GeoDataFrame(df, geometry=rec["geometry"], crs=df.crs)
        bar.update()
    tables = {}
    for rec in manifest["tables"]:
        df = pyogrio.read_dataframe(gpkg, layer=rec["gpkg_layer"], read_geometry=False, datetime_as_string=True,
                                    use_arrow=True)
        tables[rec["name"]] = restore_frame(pd.DataFrame(df), rec)
        bar.update()
    rasters = {}
    for rec in manifest["rasters"]:
        rasters[rec["name"]] = _read_raster(path / rec["file"], rec, dem_chunks if rec["name"] == "dem" else None)
        bar.update()
    bar.close()
    return {"layers": layers, "rasters": rasters, "tables": tables, "metadata": manifest["metadata"]}


# rasterio silences warnings of its datasets with warnings.catch_warnings, which is not
# thread-safe: dask threads opening or rasterizing at once leak those warnings. Tasks that
# call rasterio take this lock.
RASTERIO_LOCK = threading.RLock()


def _read_raster(file: Path, rec: dict[str, Any], chunks: Any = None):
    import rasterio

    from cimtwin.grid.spec import GridSpec

    if not file.is_file():
        raise ContainerError(f"The raster file {str(file)!r} is missing.")
    with rasterio.open(file) as src:
        shape = (src.height, src.width)
        spec = GridSpec(src.transform, shape, src.crs.to_wkt() if src.crs else None)
        nodata = src.nodata
        dtype = np.dtype(src.dtypes[0])
        values = src.read(1) if chunks is None else None
    if values is not None:
        return spec.to_dataarray(values, name=rec["da_name"], attrs=rec["attrs"], nodata=nodata)
    # lazy: each chunk is read from the file when computed (a windowed read)
    import dask.array as da

    def read_block(block, block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        with RASTERIO_LOCK, rasterio.open(file) as src:
            return src.read(1, window=rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0))

    lazy = da.empty(shape, chunks=chunks, dtype=dtype).map_blocks(read_block, dtype=dtype)
    template = spec.to_dataarray(np.broadcast_to(np.zeros((), dtype), shape), name=rec["da_name"],
                                 attrs=rec["attrs"], nodata=nodata)
    return template.copy(data=lazy)


def read_raster(path: str | os.PathLike, *, name: str | None = None, chunks=None):
    """Read band 1 of a GeoTIFF (or any raster rasterio opens) as a DataArray on its grid.

    ``chunks`` (as for ``dask.array``, e.g. ``(4096, 4096)``) reads it lazily instead: a
    dask-backed DataArray whose chunks are windowed reads of the file when computed.

    Examples
    --------
    >>> dem = read_raster("dem.tif", name="dem")   # doctest: +SKIP
    >>> big = read_raster("dem.tif", chunks=(4096, 4096))   # doctest: +SKIP
    """
    return _read_raster(Path(path), {"da_name": name or Path(path).stem, "attrs": {}}, chunks=chunks)

