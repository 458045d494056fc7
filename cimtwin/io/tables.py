"""Point tables (CSV or Excel with longitude/latitude columns) read into GeoDataFrames, and
result tables written to CSV (``write_csv``: pandas' bytes, fast and never half-written).

Planners' point lists often come from Chinese web maps, whose coordinates are GCJ-02
(Amap, Tencent) or BD-09 (Baidu) rather than WGS84; ``source_crs`` converts them on read
(the difference is about half a kilometre at Jinan).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimtwin._geometry import thread_map
from cimtwin._validate import close_matches, format_ids
from cimtwin.errors import InputTypeError, LayerNotFoundError, OptionalDependencyError, SchemaError, ValidationError
from cimtwin.io.chinese_coords import bd09_to_wgs84, gcj02_to_wgs84

__all__ = ["read_points_table", "write_csv", "SOURCE_CRS"]

#: Coordinate systems ``read_points_table`` converts from.
SOURCE_CRS = ("wgs84", "gcj02", "bd09")

_CSV_SUFFIXES = {".csv": ",", ".txt": None, ".tsv": "\t"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
# Column names people use for coordinates, offered when `lon`/`lat` are not found.
_LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "LON", "LNG", "Longitude", "X")
_LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "LAT", "Latitude", "Y")


def _normalize_source_crs(source_crs: Any) -> str:
    key = str(source_crs).lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"wgs84": "wgs84", "epsg:4326": "wgs84", "gcj02": "gcj02", "gcj": "gcj02", "bd09": "bd09", "bd09ll": "bd09"}
    if key not in aliases:
        raise ValidationError(
            f"`source_crs` must be one of {list(SOURCE_CRS)}; got {source_crs!r}. Use 'gcj02' for Amap or "
            "Tencent coordinates, 'bd09' for Baidu, 'wgs84' for GPS."
        )
    return aliases[key]


def _read_csv(path: Path, sep: str | None) -> pd.DataFrame:
    # Chinese spreadsheets are exported as UTF-8 (often with a BOM) or GBK.
    last_error: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, sep=sep, encoding=encoding, engine="python" if sep is None else "c")
        except UnicodeDecodeError as exc:
            last_error = exc
    raise ValidationError(f"{path.name}: cannot decode the file as UTF-8 or GBK ({last_error}); save it as UTF-8.")


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise OptionalDependencyError("reading Excel files needs openpyxl: `pip install openpyxl`.") from exc
    with pd.ExcelFile(path, engine="openpyxl") as book:
        sheets = list(book.sheet_names)
        if sheet is None:
            sheet = sheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(sheets):
                raise LayerNotFoundError(f"{path.name} has {len(sheets)} sheets {sheets}; sheet index {sheet} does not exist.")
            sheet = sheets[sheet]
        elif sheet not in sheets:
            raise LayerNotFoundError(
                f"{path.name} has no sheet {sheet!r}; its sheets are {sheets}.{close_matches(str(sheet), sheets)}"
            )
        return pd.read_excel(book, sheet_name=sheet)


def _read_any(source: Any, sheet: str | int | None) -> tuple[pd.DataFrame, str, int]:
    """The table, a label for messages and the offset from index position to the row users see."""
    if isinstance(source, pd.DataFrame):
        if sheet is not None:
            raise ValidationError("`sheet` only applies to Excel files; a DataFrame was given.")
        return source.copy(), "the table", 0
    if not isinstance(source, (str, os.PathLike)):
        raise InputTypeError(
            f"`path_or_df` must be a path to a CSV/Excel file or a pandas DataFrame; got {type(source).__name__}."
        )
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in _CSV_SUFFIXES and suffix not in _EXCEL_SUFFIXES:
        hint = " Open it in Excel and save as .xlsx." if suffix == ".xls" else ""
        raise ValidationError(
            f"{path.name}: unsupported file type {suffix!r}; use .csv, .tsv, .txt, .xlsx or .xlsm.{hint}"
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    if suffix in _CSV_SUFFIXES:
        if sheet is not None:
            raise ValidationError(f"{path.name}: `sheet` only applies to Excel files, not {suffix}.")
        frame = _read_csv(path, _CSV_SUFFIXES[suffix])
    else:
        frame = _read_excel(path, sheet)
    # Row 1 of the file is the header, so data row i (from 0) is row i + 2.
    return frame, path.name, 2


def _coordinate_column(frame: pd.DataFrame, column: str, arg: str, usual: tuple[str, ...], where: str) -> None:
    if column in frame.columns:
        return
    present = [str(c) for c in frame.columns]
    candidates = [c for c in usual if c in present]
    hint = f" It has {candidates}: pass `{arg}={candidates[0]!r}`." if candidates else close_matches(column, present)
    raise SchemaError(f"{where} has no `{arg}` column {column!r}; its columns are {present}.{hint}")


def read_points_table(
    path_or_df: str | os.PathLike | pd.DataFrame,
    *,
    lon: str = "lon",
    lat: str = "lat",
    source_crs: str = "wgs84",
    sheet: str | int | None = None,
):
    """Read points with longitude/latitude columns into a WGS84 GeoDataFrame.

    Parameters
    ----------
    path_or_df : path or pandas.DataFrame
        A CSV (``.csv``, ``.tsv``, ``.txt``; UTF-8 or GBK) or Excel (``.xlsx``,
        ``.xlsm``) file with a header row, or a DataFrame.
    lon, lat : str
        Names of the longitude and latitude columns (degrees).
    source_crs : {"wgs84", "gcj02", "bd09"}
        The coordinate system of those columns. GCJ-02 (Amap, Tencent) and BD-09 (Baidu)
        are converted to WGS84 with :mod:`cimtwin.io.chinese_coords` (to under 1 cm).
    sheet : str or int, optional
        Excel sheet name or 0-based position; the first sheet by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Every column as read (``lon``/``lat`` keep their values in ``source_crs``) plus a
        point ``geometry`` in EPSG:4326. ``attrs["source_crs"]`` records the conversion.

    Raises
    ------
    SchemaError
        The ``lon`` or ``lat`` column is missing (the message lists the columns).
    ValidationError
        Rows whose coordinates are empty, not numbers or outside [-180, 180] / [-90, 90]
        (the message gives their row numbers as a spreadsheet shows them), an unknown
        ``source_crs``, an unsupported file type.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"name": ["泉城广场"], "lng": [117.0253], "lat": [36.6640]})
    >>> gdf = read_points_table(table, lon="lng", source_crs="gcj02")
    >>> gdf.crs.to_epsg(), round(float(gdf.geometry.x.iloc[0]), 4)
    (4326, 117.0194)
    """
    import geopandas as gpd

    crs_key = _normalize_source_crs(source_crs)
    frame, where, row_offset = _read_any(path_or_df, sheet)
    _coordinate_column(frame, lon, "lon", _LON_NAMES, where)
    _coordinate_column(frame, lat, "lat", _LAT_NAMES, where)

    lon_values = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=np.float64)
    lat_values = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=np.float64)
    row_label = "rows" if row_offset else "index labels"
    labels = (np.arange(len(frame)) + row_offset) if row_offset else frame.index.to_numpy()

    missing = ~np.isfinite(lon_values) | ~np.isfinite(lat_values)
    if missing.any():
        shown = [
            f"{label} ({frame[lon].iloc[i]!r}, {frame[lat].iloc[i]!r})"
            for i, label in zip(np.flatnonzero(missing)[:5], labels[missing][:5])
        ]
        raise ValidationError(
            f"{where}: {int(missing.sum())} {row_label} {format_ids(labels[missing])} have an empty or "
            f"non-numeric `{lon}`/`{lat}`, e.g. {', '.join(shown)}. Fix or drop them; coordinates must be "
            "decimal degrees."
        )
    outside = (np.abs(lon_values) > 180) | (np.abs(lat_values) > 90)
    if outside.any():
        swapped = (np.abs(lat_values) > 90).any() and (np.abs(lon_values) <= 90).all()
        hint = f" `{lon}` and `{lat}` look swapped: pass lon={lat!r}, lat={lon!r}." if swapped else ""
        raise ValidationError(
            f"{where}: {int(outside.sum())} {row_label} {format_ids(labels[outside])} lie outside "
            f"longitude [-180, 180] / latitude [-90, 90].{hint}"
        )

    if crs_key == "gcj02":
        lon_values, lat_values = gcj02_to_wgs84(lon_values, lat_values)
    elif crs_key == "bd09":
        lon_values, lat_values = bd09_to_wgs84(lon_values, lat_values)

    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon_values, lat_values), crs="EPSG:4326")
    gdf.attrs["source_crs"] = crs_key
    return gdf


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, *, encoding: str = "utf-8") -> Path:
    """Write ``frame`` as ``frame.to_csv(path, index=False, encoding=encoding)`` does, byte for byte,
    several times faster.

    pandas formats every float through Python (~1 µs a value: 13 s for a city's 2*10^6
    buildings' shelter access); here Arrow formats the columns and joins the lines in C++.
    Float64, integer, boolean and string columns, and object columns of integers or booleans
    with gaps, are written so (UTF-8, with or without a BOM, one header row); any other
    column type, header or encoding goes through pandas. The file appears whole or not at
    all (written beside it, then renamed).

    Examples
    --------
    >>> import tempfile
    >>> p = write_csv(pd.DataFrame({"id": [1, 2], "d_m": [12.5, float("nan")], "note": ["ok", "a, b"]}),
    ...               Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()
    ['id,d_m,note', '1,12.5,ok', '2,,"a, b"']
    """
    path = Path(path)
    # a scratch name of this writer's own: two writers of one file never share it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fast = encoding in ("utf-8", "utf-8-sig") and frame.columns.nlevels == 1  # one header row
    cols = thread_map(lambda i: _csv_strings(frame.iloc[:, i]), range(frame.shape[1])) if fast else []
    try:
        if not cols or any(c is None for c in cols):
            frame.to_csv(tmp, index=False, encoding=encoding)
        else:
            names = ["" if pd.api.types.is_scalar(c) and pd.isna(c) else str(c) for c in frame.columns]
            header = _csv_strings(pd.Series(names, dtype=object))  # a missing name is written empty
            with open(tmp, "wb") as f:
                f.write(("\ufeff" if encoding == "utf-8-sig" else "").encode("utf-8"))
                f.write(_csv_lines([header.slice(i, 1) for i in range(len(header))]))
                for i in range(0, len(frame), _CSV_ROWS):
                    f.write(_csv_lines([c.slice(i, _CSV_ROWS) for c in cols]))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


_CSV_ROWS = 1 << 18  # rows joined at a time (the text of one block stays well inside Arrow's 2 GiB)
# Python's repr (so pandas) writes a float in plain digits when 1e-4 <= |x| < 1e16. Arrow
# writes the same shortest digits; where it lays them out plainly too, the two agree but for
# the ".0" Python adds to a whole number
_PLAIN_LO, _PLAIN_HI = 1e-4, 1e16


def _csv_lines(cols) -> memoryview:
    """The UTF-8 text of rows whose fields are ``cols`` (Arrow string arrays): comma-joined, each
    line ended by a newline."""
    import pyarrow.compute as pc

    import pyarrow as pa

    # a row of one empty field is written "" (an empty line would read as no row)
    lines = (pc.binary_join_element_wise(*cols, ",") if len(cols) > 1
             else pc.if_else(pc.equal(cols[0], ""), pa.scalar('""'), cols[0]))
    lines = pc.binary_join_element_wise(lines, "", "\n")  # "line" + "\n" + ""
    offsets = np.frombuffer(lines.buffers()[1], np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]]


def _csv_strings(col: pd.Series):
    """A column as pandas writes it into a CSV, as an Arrow string array; None for a column type
    left to pandas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # numpy's number and boolean types only (pandas' nullable ones write <NA> as pandas does)
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) or isinstance(col.dtype, pd.StringDtype) else "?"
    values = col.to_numpy() if kind in "iubf" else None
    if kind in "iu":
        return pc.cast(pa.array(values), pa.string())
    if kind == "b":
        return pa.array(np.where(values, "True", "False"))
    if kind == "f" and col.dtype == np.float64:
        a = np.abs(values)
        s = pc.cast(pa.array(values), pa.string())
        plain = (((a >= _PLAIN_LO) & (a < _PLAIN_HI)) | (a == 0)) & ~pc.match_substring(s, "e").to_numpy(False)
        whole = plain & (values == np.trunc(values))
        s = pc.if_else(pa.array(whole), pc.binary_join_element_wise(s, ".0", ""), s)
        rest = ~plain  # NaN (written empty), inf, exponents: as Python writes them
        if rest.any():
            fixed = ["" if v != v else repr(v) for v in values[rest].tolist()]
            s = pc.replace_with_mask(s, pa.array(rest), pa.array(fixed, pa.string()))
        return s
    if kind == "O" or isinstance(col.dtype, pd.StringDtype):
        try:
            s = pa.array(col, from_pandas=True)  # None and NaN become nulls, written empty
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return None  # mixed types, or integers past 64 bits
        if isinstance(s, pa.ChunkedArray):  # an Arrow-backed column
            s = s.combine_chunks()
        # labels with gaps (integers or booleans and None, e.g. a facility id where none was
        # found) are written as pandas writes each value: str(v), empty where missing.
        # Arrow infers these types only when every value is of that kind (mixed floats are left to pandas)
        if pa.types.is_integer(s.type):
            return pc.fill_null(pc.cast(s, pa.string()), "")
        if pa.types.is_boolean(s.type):
            return pc.fill_null(pc.if_else(s, "True", "False"), "")
        if not (pa.types.is_string(s.type) or pa.types.is_large_string(s.type) or pa.types.is_null(s.type)):
            return None
        s = pc.fill_null(s.cast(pa.string()), "")
        # quoted as pandas' csv writer does: when holding a comma, a quote or a newline
        special = pc.match_substring_regex(s, '[,"\n]')
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(s, '"', '""'), '"', "")
        return pc.if_else(special, quoted, s)
    return None
