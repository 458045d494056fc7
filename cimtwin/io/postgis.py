"""A shared model in PostgreSQL + PostGIS: every save one transaction, one new version.

``model.save("postgresql://user@host:port/db?schema=jinan")`` writes, in the URL's schema:

``cimtwin_versions``
    one row per save: ``version`` (1, 2, … in save order), ``saved_at``, ``saved_by``, ``name`` and
    the ``manifest`` (JSON: layer order, dtypes, CRS, tables' and rasters' records, metadata).
``cimtwin_layers``
    the catalogue for SQL users: per version, each layer, table and raster with its table name,
    SRID, geometry type and row count.
``v<N>_<layer>``
    one table per vector layer and version: ``fid`` (the row order) then the layer's columns in
    order, the geometry column typed ``geometry(<type>, <SRID>)`` with a GiST index.
``v<N>_r_<raster>``
    one table per raster and version: 256 × 256 PostGIS raster tiles (``tile_row``, ``tile_col``,
    ``rast``), or, where PostGIS raster is not installed or the dtype has no PostGIS pixel type
    (64-bit integers beyond 32 bits), the tiles' raw little-endian bytes in a ``bytea`` column.

A save takes a transaction-scoped advisory lock on the schema, so concurrent saves run one after
the other; nothing of a save is visible until it commits, so a reader always sees whole versions.
Versions are never changed afterwards. Credentials come from the URL, the ``PG*`` environment
variables or ``~/.pgpass`` (libpq's rules) and are never printed.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from cimtwin.errors import ContainerError, OptionalDependencyError
from cimtwin.io.container import (
    FORMAT_VERSION,
    check_storable,
    jsonable,
    prepare_frame,
    raster_record,
    restore_frame,
)

__all__ = ["write_postgis", "read_postgis", "list_versions", "parse_url", "is_model_url"]

DEFAULT_SCHEMA = "cimtwin"
TILE = 256
_CHUNK_ROWS = 50_000
_PG_TYPES = {
    "bool": "boolean", "boolean": "boolean",
    "int8": "smallint", "int16": "smallint", "uint8": "smallint", "Int8": "smallint", "Int16": "smallint",
    "UInt8": "smallint",
    "int32": "integer", "uint16": "integer", "Int32": "integer", "UInt16": "integer",
    "int64": "bigint", "uint32": "bigint", "uint64": "bigint", "Int64": "bigint", "UInt32": "bigint",
    "UInt64": "bigint",
    "float16": "real", "float32": "real", "Float32": "real",
    "float64": "double precision", "Float64": "double precision",
    "object": "text", "string": "text", "str": "text",
    "datetime": "timestamp", "datetime_tz": "timestamptz",
}
# numpy dtype -> PostGIS raster pixel type (code, numpy dtype of the stored pixels)
_PIXTYPES = {
    "bool": (4, "u1"), "uint8": (4, "u1"), "int8": (3, "i1"), "int16": (5, "<i2"), "uint16": (6, "<u2"),
    "int32": (7, "<i4"), "uint32": (8, "<u4"), "float16": (10, "<f4"), "float32": (10, "<f4"),
    "float64": (11, "<f8"),
}
_PIXTYPE_DTYPE = {3: "i1", 4: "u1", 5: "i2", 6: "u2", 7: "i4", 8: "u4", 10: "f4", 11: "f8"}


# -- URLs and connections ----------------------------------------------------------------------
def is_model_url(path: Any) -> bool:
    """True for a PostgreSQL model URL (``postgresql://…`` or ``postgres://…``), False for a folder path.

    Examples
    --------
    >>> is_model_url("postgresql://planner@db/cim?schema=jinan"), is_model_url("jinan.cimtwin")
    (True, False)
    """
    return isinstance(path, str) and "://" in path and path.split("://", 1)[0].lower() in ("postgresql", "postgres")


def parse_url(url: str) -> dict[str, Any]:
    """Split a model URL into libpq's connection string, the schema, a version and a printable form.

    ``postgresql://user:password@host:port/db?schema=NAME&version=N``: ``schema`` defaults to
    ``cimtwin``; ``version`` (optional) selects a saved version when reading; other query
    parameters go to libpq (e.g. ``sslmode=require``). The printable form has no password.

    Examples
    --------
    >>> p = parse_url("postgresql://planner:secret@db.example:5432/cim?schema=jinan")
    >>> p["schema"], p["display"]
    ('jinan', 'postgresql://planner@db.example:5432/cim?schema=jinan')
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise ContainerError(f"{url.split('://')[0]!r} URLs are not a model store; use "
                             "postgresql://user@host:port/db?schema=NAME or a folder path.")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema, version, rest = DEFAULT_SCHEMA, None, []
    for key, value in query:
        if key == "schema":
            schema = value
        elif key == "version":
            try:
                version = int(value)
            except ValueError:
                raise ContainerError(f"version={value!r} in the URL is not a whole number.") from None
        else:
            rest.append((key, value))
    if not schema or len(schema.encode()) > 63:
        raise ContainerError(f"schema={schema!r}: a PostgreSQL schema name has 1 to 63 bytes.")
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + (f"[{host}]" if ":" in host else host) + (
        f":{parts.port}" if parts.port else "")
    shown = schema if re.fullmatch(r"[^&=#%+\s]+", schema) else urlencode([("schema", schema)])[7:]
    display = urlunsplit((parts.scheme, netloc, parts.path, f"schema={shown}", ""))
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
    return {"conninfo": conninfo, "schema": schema, "version": version, "display": display,
            "password": parts.password}


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is in the dev extras
        raise OptionalDependencyError("Saving to PostgreSQL needs psycopg 3: `pip install 'psycopg[binary]'`.") \
            from None
    return psycopg


def _clean(text: str, password: str | None) -> str:
    text = " ".join(str(text).split())
    return text.replace(password, "***") if password else text


@contextmanager
def _connect(p: dict[str, Any]) -> Iterator[Any]:
    psycopg = _psycopg()
    try:
        conn = psycopg.connect(p["conninfo"], connect_timeout=15, application_name="cimtwin")
    except psycopg.Error as exc:
        raise ContainerError(f"Cannot connect to PostgreSQL at {p['display']}: {_clean(exc, p['password'])}. Check "
                             "the URL and that the server runs; credentials come from the URL, the PG* variables "
                             "or ~/.pgpass.") from None
    try:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET extra_float_digits = 3")
        # PostGIS may live in a schema of its own: put it on the path for ST_* and the geometry type
        conn.execute("SELECT set_config('search_path', current_setting('search_path') || ', ' || "
                     "quote_ident(extnamespace::regnamespace::text), false) FROM pg_extension "
                     "WHERE extname = 'postgis'")
        conn.commit()
        yield conn
    except psycopg.Error as exc:
        raise ContainerError(f"PostgreSQL at {p['display']}: {_clean(exc, p['password'])}") from None
    finally:
        conn.close()


def _ident(*names: str):
    from psycopg import sql

    return sql.Identifier(*names)


def _sql(text: str, **parts: Any):
    from psycopg import sql

    return sql.SQL(text).format(**parts)


def _ensure_extensions(conn, display: str) -> bool:
    """Create PostGIS (required) and PostGIS raster (optional) when missing; True when rasters can be tiles."""
    psycopg = _psycopg()
    have = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    if "postgis" not in have:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('cimtwin:extensions', 0))")
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise ContainerError(f"PostGIS is not installed in the database of {display} and cannot be installed "
                                 f"by this user ({' '.join(str(exc).split())}). Ask its administrator to run "
                                 "`CREATE EXTENSION postgis; CREATE EXTENSION postgis_raster;` there.") from None
    if "postgis_raster" not in have:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('cimtwin:extensions', 0))")
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis_raster")
        except psycopg.Error:
            return False  # rasters go to bytea tiles; the manifest records the choice
    schema = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'"
                          ).fetchone()[0]
    conn.execute("SELECT set_config('search_path', %s, true)", [f"{schema}, pg_catalog"])
    return True


def _srid(conn, crs) -> int:
    """The SRID of ``crs`` in spatial_ref_sys (0 when it has no EPSG code there; the WKT is in the manifest)."""
    if crs is None:
        return 0
    code = crs.to_epsg()
    if code is None:
        return 0
    found = conn.execute("SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = %s",
                         [code]).fetchone()
    return int(found[0]) if found else 0


# -- write ---------------------------------------------------------------------------------------
def write_postgis(url: str, *, layers: dict[str, Any], rasters: dict[str, Any], tables: dict[str, pd.DataFrame],
                  metadata: dict[str, Any], progress: bool | None = None) -> str:
    """Save a model as a new version in the URL's schema, in one transaction.

    Returns the printable URL (no password) with ``&version=N`` of the version written.

    Examples
    --------
    >>> write_postgis("postgresql://planner@db/cim?schema=jinan", layers={"districts": gdf},
    ...               rasters={}, tables={}, metadata={"name": "town"})   # doctest: +SKIP
    'postgresql://planner@db/cim?schema=jinan&version=1'
    """
    from cimtwin.config import config

    show = config.progress if progress is None else progress
    p = parse_url(url)
    for name, gdf in layers.items():
        check_storable(gdf, what=f"layer {name!r}", geometry=gdf.geometry.name)
        _check_names(gdf.columns, what=f"layer {name!r}")
    for name, table in tables.items():
        check_storable(table, what=f"table {name!r}")
        _check_names(table.columns, what=f"table {name!r}")
    with _connect(p) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"cimtwin:{p['schema']}"])
            tiles = _ensure_extensions(conn, p["display"])
            _create_catalog(conn, p["schema"])
            s = p["schema"]
            version = conn.execute(_sql("SELECT coalesce(max(version), 0) + 1 FROM {t}",
                                        t=_ident(s, "cimtwin_versions"))).fetchone()[0]
            manifest: dict[str, Any] = {"format": "cimtwin-model", "format_version": FORMAT_VERSION,
                                        "store": "postgis", "version": version, "layers": [], "tables": [],
                                        "rasters": [], "metadata": jsonable(metadata)}
            catalog = []
            for i, (name, gdf) in enumerate(layers.items()):
                table = _table_name(version, name, f"l{i:03d}")
                rec = _write_frame(conn, s, table, gdf, gdf.geometry.name, what=f"layer {name!r}", show=show)
                manifest["layers"].append({"name": name, "table": table, **rec})
                catalog.append((version, len(catalog), name, "layer", table, rec["srid"], rec["geometry_type"],
                                rec["rows"]))
            for i, (name, df) in enumerate(tables.items()):
                table = _table_name(version, name, f"t{i:03d}")
                rec = _write_frame(conn, s, table, df, None, what=f"table {name!r}", show=show)
                manifest["tables"].append({"name": name, "table": table, **rec})
                catalog.append((version, len(catalog), name, "table", table, None, None, rec["rows"]))
            for i, (name, da) in enumerate(rasters.items()):
                table = _table_name(version, "r_" + name, f"r{i:03d}")
                rec = _write_raster(conn, s, table, name, da, tiles=tiles)
                manifest["rasters"].append(rec)
                catalog.append((version, len(catalog), name, "raster", table, rec["srid"], rec["storage"],
                                rec["tiles"]))
            conn.execute(_sql("INSERT INTO {t} (version, name, format_version, manifest) VALUES (%s, %s, %s, %s)",
                              t=_ident(s, "cimtwin_versions")),
                         [version, str(metadata.get("name", "")), FORMAT_VERSION,
                          json.dumps(_tag_floats(manifest), ensure_ascii=False, allow_nan=False)])
            with conn.cursor() as cur:
                cur.executemany(_sql("INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                     t=_ident(s, "cimtwin_layers")), catalog)
    return f"{p['display']}&version={version}"


def _tag_floats(obj: Any) -> Any:
    """JSON has no NaN or infinity: write them as ``{"$float": "nan"}`` (undone by :func:`_untag_floats`)."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"$float": repr(obj)}
    if isinstance(obj, dict):
        return {k: _tag_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tag_floats(v) for v in obj]
    return obj


def _untag_floats(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1 and "$float" in obj:
            return float(obj["$float"])
        return {k: _untag_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_untag_floats(v) for v in obj]
    return obj


def _check_names(columns, *, what: str) -> None:
    for c in columns:
        if len(str(c).encode()) > 63:
            raise ContainerError(f"{what}: column name {c!r} is longer than PostgreSQL's 63 bytes. Rename it "
                                 "before saving to PostgreSQL.")


def _table_name(version: int, name: str, fallback: str) -> str:
    base = name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else fallback
    table = f"v{version}_{base}"
    return table if len(table) <= 63 else f"v{version}_{fallback}"


def _create_catalog(conn, schema: str) -> None:
    conn.execute(_sql("CREATE SCHEMA IF NOT EXISTS {s}", s=_ident(schema)))
    conn.execute(_sql("""CREATE TABLE IF NOT EXISTS {t} (
        version integer PRIMARY KEY CHECK (version > 0),
        saved_at timestamptz NOT NULL DEFAULT now(),
        saved_by text NOT NULL DEFAULT current_user,
        name text,
        format_version integer NOT NULL,
        manifest json NOT NULL)""", t=_ident(schema, "cimtwin_versions")))
    conn.execute(_sql("""CREATE TABLE IF NOT EXISTS {t} (
        version integer NOT NULL,
        position integer NOT NULL,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('layer', 'table', 'raster')),
        table_name text NOT NULL,
        srid integer,
        geometry_type text,
        rows bigint,
        PRIMARY KEY (version, position))""", t=_ident(schema, "cimtwin_layers")))


def _column_type(rec: dict[str, Any]) -> str:
    kind = rec["dtype"]
    if kind == "category":
        cats = rec.get("categories_dtype", "object")
        return _PG_TYPES.get(cats, "text")
    return _PG_TYPES.get(kind, "text")


def _geometry_type(geoms) -> str:
    import shapely

    valid = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    has_z = bool(shapely.has_z(valid).any()) if len(valid) else False
    if has_z and not shapely.has_z(valid).all():
        return ""  # mixed 2D and 3D: an unconstrained geometry column
    types = set(shapely.get_type_id(valid).tolist())
    names = {0: "Point", 1: "LineString", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
             6: "MultiPolygon", 7: "GeometryCollection"}
    base = names[types.pop()] if len(types) == 1 and 2 not in types else "Geometry"
    return base + ("Z" if has_z else "")


def _write_frame(conn, schema: str, table: str, df, geometry: str | None, *, what: str, show: bool
                 ) -> dict[str, Any]:
    import shapely
    from tqdm.auto import tqdm

    frame, rec = prepare_frame(df, geometry)
    cols = list(frame.columns)
    defs = [_sql("fid bigint PRIMARY KEY")]
    srid, gtype = 0, None
    if geometry is not None:
        srid = _srid(conn, df.crs)
        geoms = np.asarray(df.geometry.array, dtype=object)
        gtype = _geometry_type(geoms)
    for c in cols:
        if c == geometry:
            typ = f"geometry({gtype}, {srid})" if gtype else "geometry"
        else:
            typ = _column_type(rec["index"] if c == "__cimtwin_index__" else rec["dtypes"][c])
        defs.append(_sql("{c} " + typ, c=_ident(c)))
    from psycopg import sql

    conn.execute(_sql("CREATE TABLE {t} ({defs})", t=_ident(schema, table), defs=sql.SQL(", ").join(defs)))
    n = len(frame)
    values = []
    for c in cols:
        if c == geometry:
            g = shapely.set_srid(geoms, srid) if srid else geoms
            values.append(shapely.to_wkb(g, hex=True, include_srid=bool(srid)).tolist())
        else:
            values.append(_column_values(frame[c], rec["index"] if c == "__cimtwin_index__" else rec["dtypes"][c]))
    copy_sql = _sql("COPY {t} ({cols}) FROM STDIN", t=_ident(schema, table),
                    cols=sql.SQL(", ").join([_ident("fid")] + [_ident(c) for c in cols]))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy, \
            tqdm(total=n, desc=f"save {what}", unit="row", disable=not show or n < _CHUNK_ROWS) as bar:
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(n, start + _CHUNK_ROWS)
            for row in zip(range(start, stop), *(v[start:stop] for v in values)):
                copy.write_row(row)
            bar.update(stop - start)
    if geometry is not None:
        conn.execute(_sql("CREATE INDEX {i} ON {t} USING gist ({g})", i=_ident(f"{table}_gix"[:63]),
                          t=_ident(schema, table), g=_ident(geometry)))
    rec.update(srid=srid, geometry_type=gtype, crs=df.crs.to_wkt() if geometry is not None and df.crs else None)
    return rec


def _column_values(s: pd.Series, rec: dict[str, Any]) -> list:
    """Python values for COPY: floats keep NaN, missing values become None (NULL)."""
    kind = rec["dtype"]
    if kind in ("datetime", "datetime_tz"):
        unit = rec["unit"] if rec["unit"] in ("s", "ms", "us") else "us"
        arr = s.to_numpy(dtype="datetime64[ns]") if kind == "datetime" else \
            s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        text = np.datetime_as_string(arr.astype(f"datetime64[{unit}]"), unit=unit).astype(object)
        text[np.isnat(arr)] = None
        if kind == "datetime_tz":
            text[~np.isnat(arr)] += "+00"
        return text.tolist()
    arr = s.to_numpy()
    if arr.dtype.kind in "biuf":
        return arr.tolist()  # NaN stays NaN (stored as 'NaN'), never NULL
    return s.astype(object).where(s.notna(), None).tolist()


# -- rasters -------------------------------------------------------------------------------------
def _raster_wkb(tile: np.ndarray, pixtype: int, nodata, geo: tuple[float, ...], srid: int) -> bytes:
    """One band of PostGIS raster WKB (little-endian); ``geo`` = (scaleX, scaleY, ipX, ipY, skewX, skewY)."""
    h, w = tile.shape
    stored = _PIXTYPE_DTYPE[pixtype]
    flags = pixtype | (0x40 if nodata is not None else 0)
    nd = np.array([nodata if nodata is not None else 0], dtype="<" + stored if len(stored) > 2 else stored)
    head = struct.pack("<BHH6diHH", 1, 0, 1, *geo, srid, w, h)
    return head + struct.pack("<B", flags) + nd.tobytes() + np.ascontiguousarray(tile).astype(
        "<" + stored if stored[-1] != "1" else stored).tobytes()


def _parse_raster_wkb(data: bytes) -> np.ndarray:
    end = "<" if data[0] == 1 else ">"
    w, h = struct.unpack_from(end + "HH", data, 1 + 2 + 2 + 48 + 4)
    pos = 1 + 2 + 2 + 48 + 4 + 4
    pixtype = data[pos] & 0x0F
    stored = np.dtype(_PIXTYPE_DTYPE[pixtype]).newbyteorder(end)
    pos += 1 + stored.itemsize
    return np.frombuffer(data, dtype=stored, count=w * h, offset=pos).reshape(h, w)


def _write_raster(conn, schema: str, table: str, name: str, da, *, tiles: bool) -> dict[str, Any]:
    import pyproj

    values, rec = raster_record(name, da)

    srid = _srid(conn, pyproj.CRS.from_wkt(rec["crs"])) if rec["crs"] else 0
    pix = _PIXTYPES.get(str(values.dtype))
    if pix is None and values.dtype.kind in "iu" and values.size and \
            np.iinfo(np.int32).min <= values.min() and values.max() <= np.iinfo(np.int32).max:
        pix = (7, "<i4")  # 64-bit integers that fit 32 bits: PostGIS' widest integer pixel
    storage = "postgis_raster" if tiles and pix is not None else "bytea"
    a, b, c, d, e, f = rec["transform"]
    nodata = rec["nodata"]
    if storage == "postgis_raster":
        conn.execute(_sql("CREATE TABLE {t} (tile_row integer, tile_col integer, rast raster, "
                          "PRIMARY KEY (tile_row, tile_col))", t=_ident(schema, table)))
    else:
        conn.execute(_sql("CREATE TABLE {t} (tile_row integer, tile_col integer, height integer, width integer, "
                          "data bytea, PRIMARY KEY (tile_row, tile_col))", t=_ident(schema, table)))
    rows, cols = values.shape
    n = 0
    with conn.cursor() as cur, cur.copy(_sql("COPY {t} FROM STDIN", t=_ident(schema, table))) as copy:
        for r0 in range(0, rows, TILE):
            for c0 in range(0, cols, TILE):
                tile = values[r0:r0 + TILE, c0:c0 + TILE]
                if storage == "postgis_raster":
                    geo = (a, e, c + a * c0 + b * r0, f + d * c0 + e * r0, b, d)
                    wkb = _raster_wkb(tile.astype(pix[1]) if tile.dtype == bool else tile, pix[0],
                                      nodata if nodata is None or values.dtype != bool else int(nodata), geo, srid)
                    copy.write_row((r0 // TILE, c0 // TILE, wkb.hex()))
                else:
                    copy.write_row((r0 // TILE, c0 // TILE, tile.shape[0], tile.shape[1],
                                    np.ascontiguousarray(tile).astype(tile.dtype.newbyteorder("<")).tobytes()))
                n += 1
    if storage == "postgis_raster":
        conn.execute(_sql("CREATE INDEX {i} ON {t} USING gist (ST_ConvexHull(rast))", i=_ident(f"{table}_gix"[:63]),
                          t=_ident(schema, table)))
    rec.update(table=table, storage=storage, srid=srid, tile=TILE, tiles=n)
    return rec


def _read_raster(conn, schema: str, rec: dict[str, Any]):
    from cimtwin.grid.spec import GridSpec

    dtype = np.dtype(rec["dtype"])
    out = np.empty(rec["shape"], dtype=dtype)
    tile = rec["tile"]
    if rec["storage"] == "postgis_raster":
        query = _sql("SELECT tile_row, tile_col, ST_AsBinary(rast) FROM {t}", t=_ident(schema, rec["table"]))
    else:
        query = _sql("SELECT tile_row, tile_col, data, height, width FROM {t}", t=_ident(schema, rec["table"]))
    seen = 0
    with conn.cursor(binary=True) as cur:
        for row in cur.execute(query):
            r0, c0 = row[0] * tile, row[1] * tile
            if rec["storage"] == "postgis_raster":
                block = _parse_raster_wkb(bytes(row[2]))
            else:
                block = np.frombuffer(bytes(row[2]), dtype=dtype.newbyteorder("<")).reshape(row[3], row[4])
            out[r0:r0 + block.shape[0], c0:c0 + block.shape[1]] = block.astype(dtype)
            seen += block.size
    if seen != out.size:
        raise ContainerError(f"Raster {rec['name']!r} in table {rec['table']!r} has {seen} of {out.size} cells; "
                             "the table was altered outside cimtwin. Read another version, or save the model again.")
    a, b, c, d, e, f = rec["transform"]
    import affine

    spec = GridSpec(affine.Affine(a, b, c, d, e, f), out.shape, rec["crs"])
    return spec.to_dataarray(out, name=rec["da_name"], attrs=rec["attrs"], nodata=rec["nodata"])


# -- read ----------------------------------------------------------------------------------------
def list_versions(url: str) -> pd.DataFrame:
    """The saved versions in the URL's schema: version, saved_at, saved_by, name.

    Examples
    --------
    >>> list_versions("postgresql://planner@db/cim?schema=jinan")   # doctest: +SKIP
       version                  saved_at saved_by   name
    0        1 2026-12-04 17:00:00+00:00  planner  Jinan
    """
    p = parse_url(url)
    with _connect(p) as conn:
        _require_catalog(conn, p)
        rows = conn.execute(_sql("SELECT version, saved_at, saved_by, name FROM {t} ORDER BY version",
                                 t=_ident(p["schema"], "cimtwin_versions"))).fetchall()
    return pd.DataFrame(rows, columns=["version", "saved_at", "saved_by", "name"])


def _require_catalog(conn, p: dict[str, Any]) -> None:
    found = conn.execute("SELECT to_regclass(format('%%I.%%I', %s::text, 'cimtwin_versions'))",
                         [p["schema"]]).fetchone()[0]
    if found is None:
        raise ContainerError(f"There is no saved cimtwin model at {p['display']}: schema {p['schema']!r} has no "
                             "cimtwin_versions table. Check the schema name, or save one with `model.save(url)`.")


def read_postgis(url: str, *, version: int | None = None, progress: bool | None = None) -> dict[str, Any]:
    """Read one version (the newest by default) into ``{"layers", "rasters", "tables", "metadata"}``.

    Layers are read in chunks of 50 000 rows from a server-side cursor, so memory beyond the
    result stays bounded, with a progress bar for large layers.

    Examples
    --------
    >>> parts = read_postgis("postgresql://planner@db/cim?schema=jinan", version=1)   # doctest: +SKIP
    """
    import geopandas as gpd
    import psycopg

    from cimtwin.config import config

    show = config.progress if progress is None else progress
    p = parse_url(url)
    version = version if version is not None else p["version"]
    with _connect(p) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            _require_catalog(conn, p)
            t = _ident(p["schema"], "cimtwin_versions")
            if version is None:
                row = conn.execute(_sql("SELECT version, manifest FROM {t} ORDER BY version DESC LIMIT 1", t=t)
                                   ).fetchone()
                if row is None:
                    raise ContainerError(f"{p['display']} holds no saved version yet; save one with "
                                         "`model.save(url)`.")
            else:
                row = conn.execute(_sql("SELECT version, manifest FROM {t} WHERE version = %s", t=t),
                                   [int(version)]).fetchone()
                if row is None:
                    have = [r[0] for r in conn.execute(_sql("SELECT version FROM {t} ORDER BY version", t=t))]
                    raise ContainerError(f"{p['display']} has no version {version}; its versions are {have}.")
            number, manifest = row
            manifest = _untag_floats(json.loads(manifest) if isinstance(manifest, str) else manifest)
            if manifest.get("format_version", 0) > FORMAT_VERSION:
                raise ContainerError(f"Version {number} at {p['display']} was saved by a newer cimtwin (format "
                                     f"{manifest.get('format_version')}); upgrade cimtwin to read it.")
            layers = {}
            for rec in manifest["layers"]:
                df = _read_frame(conn, p["schema"], rec, show=show, what=f"layer {rec['name']!r}")
                layers[rec["name"]] = gpd.GeoDataFrame(df, geometry=rec["geometry"], crs=rec["crs"])
            tables = {rec["name"]: _read_frame(conn, p["schema"], rec, show=show, what=f"table {rec['name']!r}")
                      for rec in manifest["tables"]}
            rasters = {rec["name"]: _read_raster(conn, p["schema"], rec) for rec in manifest["rasters"]}
    return {"layers": layers, "rasters": rasters, "tables": tables, "metadata": manifest["metadata"],
            "version": number, "where": p["display"]}


def _read_frame(conn, schema: str, rec: dict[str, Any], *, show: bool, what: str) -> pd.DataFrame:
    import shapely
    from psycopg import sql
    from tqdm.auto import tqdm

    geometry = rec["geometry"]
    cols = (["__cimtwin_index__"] if rec["index"] is not None else []) + rec["columns"]
    select = [sql.SQL("ST_AsBinary({})").format(_ident(c)) if c == geometry else _ident(c) for c in cols]
    query = _sql("SELECT {cols} FROM {t} ORDER BY fid", cols=sql.SQL(", ").join(select),
                 t=_ident(schema, rec["table"]))
    kinds = [None if c == geometry else (rec["index"] if c == "__cimtwin_index__" else rec["dtypes"][c])
             for c in cols]
    total = int(rec["rows"])
    # the result's arrays, filled chunk by chunk: beyond them only one chunk of rows is ever held
    data = {c: np.empty(total, dtype=object if kind is None else _numpy_dtype(kind)) for c, kind in zip(cols, kinds)}
    n = 0
    with conn.cursor(name=f"cimtwin_{rec['table']}"[:63], binary=True) as cur, \
            tqdm(total=total, desc=f"read {what}", unit="row", disable=not show or total < _CHUNK_ROWS) as bar:
        cur.itersize = _CHUNK_ROWS
        cur.execute(query)
        while True:
            rows = cur.fetchmany(_CHUNK_ROWS)
            if not rows:
                break
            if n + len(rows) > total:
                n += len(rows)
                break
            for c, kind, col in zip(cols, kinds, zip(*rows)):
                data[c][n:n + len(rows)] = _chunk_array(col, kind, shapely)
            n += len(rows)
            del rows
            bar.update(n - bar.n)
    if n != total:
        raise ContainerError(f"{what}: table {rec['table']!r} has {'more than ' if n > total else ''}{n} rows, the "
                             f"version records {total}; it was altered outside cimtwin. Read another version, or "
                             "save the model again.")
    df = pd.DataFrame({c: (_as_series(data[c], kind) if kind is not None else None) for c, kind in zip(cols, kinds)
                       if kind is not None}, index=pd.RangeIndex(n))
    if geometry is not None:
        import geopandas as gpd

        df[geometry] = gpd.GeoSeries(data[geometry], index=df.index, crs=rec.get("crs"))
    return restore_frame(df, rec)


def _numpy_dtype(kind: dict[str, Any]):
    """The array a column is read into: its numpy dtype, or object (text, nullable, category, datetime)."""
    d = kind["dtype"]
    if d in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
             "float64"):
        return np.dtype(d)
    return object


def _chunk_array(col: tuple, kind: dict[str, Any] | None, shapely) -> np.ndarray:
    if kind is None:  # geometry as WKB bytes
        return shapely.from_wkb(np.array(col, dtype=object))
    target = _numpy_dtype(kind)
    if target is not object:
        return np.fromiter(col, dtype=np.float64 if target.kind == "f" else target, count=len(col)).astype(target)
    return np.array(col, dtype=object)


def _as_series(arr: np.ndarray, kind: dict[str, Any]) -> pd.Series:
    d = kind["dtype"]
    if d == "datetime":
        return pd.Series(pd.to_datetime(arr))
    if d == "datetime_tz":
        return pd.Series(pd.to_datetime(arr, utc=True))
    return pd.Series(arr)
