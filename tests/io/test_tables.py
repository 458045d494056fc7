"""read_points_table: CSV/Excel/DataFrame points, Chinese web-map coordinates, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.errors import InputTypeError, LayerNotFoundError, SchemaError, ValidationError
from cimtwin.io.chinese_coords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02
from cimtwin.io.tables import read_points_table, write_csv

# Synthetic points around Jinan.
POINTS = pd.DataFrame(
    {
        "name": ["泉城广场", "趵突泉", "大明湖"],
        "lon": [117.0253, 117.0161, 117.0238],
        "lat": [36.6640, 36.6617, 36.6744],
        "height_m": [6.0, 8.5, 12.0],
    }
)


def test_dataframe_wgs84_keeps_columns():
    gdf = read_points_table(POINTS)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["name", "lon", "lat", "height_m", "geometry"]
    np.testing.assert_array_equal(gdf.geometry.x, POINTS["lon"])
    np.testing.assert_array_equal(gdf.geometry.y, POINTS["lat"])
    assert gdf["name"].tolist() == POINTS["name"].tolist()
    assert gdf.attrs["source_crs"] == "wgs84"
    assert POINTS.columns.tolist() == ["name", "lon", "lat", "height_m"]  # input untouched


@pytest.mark.parametrize(("source_crs", "inverse"), [("gcj02", gcj02_to_wgs84), ("BD-09", bd09_to_wgs84)])
def test_web_map_coordinates_converted(source_crs, inverse):
    gdf = read_points_table(POINTS, source_crs=source_crs)
    exp_lon, exp_lat = inverse(POINTS["lon"].to_numpy(), POINTS["lat"].to_numpy())
    np.testing.assert_allclose(gdf.geometry.x, exp_lon, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gdf.geometry.y, exp_lat, rtol=0, atol=1e-12)
    assert gdf["lon"].tolist() == POINTS["lon"].tolist()  # columns keep the printed values
    # the conversion moves points by hundreds of metres westward at Jinan
    assert (gdf.geometry.x < POINTS["lon"]).all()


def test_gcj02_round_trip_from_wgs84():
    wgs_lon, wgs_lat = POINTS["lon"].to_numpy(), POINTS["lat"].to_numpy()
    gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    gdf = read_points_table(pd.DataFrame({"x": gcj_lon, "y": gcj_lat}), lon="x", lat="y", source_crs="gcj02")
    np.testing.assert_allclose(gdf.geometry.x, wgs_lon, atol=1e-9)
    np.testing.assert_allclose(gdf.geometry.y, wgs_lat, atol=1e-9)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_with_chinese_text(tmp_path, encoding):
    path = tmp_path / "points.csv"
    POINTS.rename(columns={"lon": "经度", "lat": "纬度"}).to_csv(path, index=False, encoding=encoding)
    gdf = read_points_table(path, lon="经度", lat="纬度")
    assert gdf["name"].tolist() == ["泉城广场", "趵突泉", "大明湖"]
    np.testing.assert_array_equal(gdf.geometry.y, POINTS["lat"])


def test_excel_sheets(tmp_path):
    path = tmp_path / "points.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        POINTS.iloc[:1].to_excel(writer, sheet_name="first", index=False)
        POINTS.to_excel(writer, sheet_name="摄像头", index=False)
    assert len(read_points_table(path)) == 1
    assert len(read_points_table(path, sheet="摄像头")) == 3
    assert len(read_points_table(path, sheet=1)) == 3
    with pytest.raises(LayerNotFoundError, match="摄像头"):
        read_points_table(path, sheet="摄像")
    with pytest.raises(LayerNotFoundError, match="index 5"):
        read_points_table(path, sheet=5)


def test_missing_column_is_named(tmp_path):
    table = POINTS.rename(columns={"lon": "lng"})
    with pytest.raises(SchemaError, match=r"no `lon` column 'lon'.*lon='lng'"):
        read_points_table(table)
    with pytest.raises(SchemaError, match="'纬度'"):
        read_points_table(POINTS, lat="纬度")


def test_bad_rows_listed_by_file_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,lon,lat\na,117.0,36.6\nb,,36.7\nc,117.1,north\nd,117.2,36.8\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"2 rows \[3, 4\].*'north'"):
        read_points_table(path)


def test_out_of_range_and_swapped():
    swapped = POINTS.rename(columns={"lon": "lat", "lat": "lon"})
    with pytest.raises(ValidationError, match="look swapped"):
        read_points_table(swapped)
    far = POINTS.assign(lon=[117.0, 181.0, 117.0])
    with pytest.raises(ValidationError, match=r"index labels \[1\]"):
        read_points_table(far)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="source_crs"):
        read_points_table(POINTS, source_crs="utm50")
    with pytest.raises(InputTypeError):
        read_points_table([(117.0, 36.6)])
    with pytest.raises(ValidationError, match=".xlsx"):
        read_points_table(tmp_path / "old.xls")
    with pytest.raises(FileNotFoundError):
        read_points_table(tmp_path / "nothing.csv")
    path = tmp_path / "p.csv"
    POINTS.to_csv(path, index=False)
    with pytest.raises(ValidationError, match="sheet"):
        read_points_table(path, sheet="a")


# -- write_csv: byte for byte what pandas writes ------------------------------------------------

_csv_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                        st.floats(min_value=-1e6, max_value=1e6),  # the usual metres and seconds
                        st.integers(-10**17, 10**17).map(float))    # whole numbers, around 1e16 too
_csv_text = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n\r济南;\'')), max_size=6))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_csv_floats, st.integers(-2**63, 2**63 - 1), st.booleans(), _csv_text),
                min_size=1, max_size=40),
       st.sampled_from(["utf-8", "utf-8-sig"]))
def test_write_csv_equals_pandas_bytes(tmp_path_factory, rows, encoding):
    frame = pd.DataFrame(rows, columns=["d_m", "id", "ok", "名称, note"])
    d = tmp_path_factory.mktemp("csv")
    write_csv(frame, d / "ours.csv", encoding=encoding)
    frame.to_csv(d / "pandas.csv", index=False, encoding=encoding)
    assert (d / "ours.csv").read_bytes() == (d / "pandas.csv").read_bytes()


_label = st.one_of(st.none(), st.integers(-2**63, 2**64 - 1), st.integers(-5, 5))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_label, st.one_of(st.none(), st.booleans()),
                          st.one_of(st.none(), st.integers(-3, 3), st.floats(-3, 3), st.integers(2**64, 2**66))),
                min_size=1, max_size=30))
def test_write_csv_object_labels_equal_pandas_bytes(tmp_path_factory, rows):
    # object columns of integers or booleans with gaps (a facility id where none was found):
    # Arrow writes them; a column mixing integers and floats, or past 64 bits, goes through pandas
    frame = pd.DataFrame({"facility": pd.Series([r[0] for r in rows], dtype=object),
                          "met": pd.Series([r[1] for r in rows], dtype=object),
                          "mixed": pd.Series([r[2] for r in rows], dtype=object)})
    d = tmp_path_factory.mktemp("csv")
    write_csv(frame, d / "ours.csv")
    frame.to_csv(d / "pandas.csv", index=False)
    assert (d / "ours.csv").read_bytes() == (d / "pandas.csv").read_bytes()


def test_write_csv_integer_labels_with_gaps_take_arrow():
    from cimtwin.io.tables import _csv_strings

    assert _csv_strings(pd.Series([815, None, 3], dtype=object)).to_pylist() == ["815", "", "3"]
    assert _csv_strings(pd.Series([True, None], dtype=object)).to_pylist() == ["True", ""]
    assert _csv_strings(pd.Series([1, 2.5], dtype=object)) is None  # pandas writes "1", Arrow "1.0"


def test_write_csv_arrow_backed_strings(tmp_path):
    import pyarrow as pa

    chunked = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([["ok", None], ["a,b", "济南"]])))
    frame = pd.DataFrame({"status": chunked, "s": pd.Series(["x", None, "y", "z"], dtype="string"), "v": [1.5] * 4})
    write_csv(frame, tmp_path / "t.csv")
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()


@pytest.mark.parametrize("values", [["", "a", None], ["x", "\r", 'say "hi"']])
def test_write_csv_one_column(tmp_path, values):
    frame = pd.DataFrame({"": values})  # an empty name, and one field per row: "" marks it empty
    write_csv(frame, tmp_path / "t.csv")
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()


def test_write_csv_other_types_through_pandas_and_nothing_half_written(tmp_path):
    frame = pd.DataFrame({"f32": np.array([0.1, 2.5], "float32"), "when": pd.to_datetime(["2025-01-01", "2025-06-30"]),
                          "mixed": [1, "a"], "met": pd.array([True, None], dtype="boolean"),
                          "n": pd.array([None, 3], dtype="Int64")})
    write_csv(frame, tmp_path / "t.csv")
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    # names that are missing or not strings, written as pandas writes them
    named = pd.DataFrame([[1.0, 2, "x"]], columns=[None, 7, 1.5])
    write_csv(named, tmp_path / "t.csv")
    named.to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    # two header rows for two column levels, as pandas writes them
    wide = pd.DataFrame([[1.5, 2]], columns=pd.MultiIndex.from_tuples([("flood", "m"), ("flood", "n")]))
    write_csv(wide, tmp_path / "t.csv")
    wide.to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    # a failed write leaves the earlier file as it was, and no scratch file beside it
    (tmp_path / "keep.csv").write_text("earlier\n")
    with pytest.raises(LookupError):
        write_csv(frame, tmp_path / "keep.csv", encoding="no-such-codec")
    assert (tmp_path / "keep.csv").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "p.csv", "t.csv"]
