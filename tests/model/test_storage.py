import json
from unittest import mock

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cimtwin
from cimtwin.grid import GridSpec
from cimtwin.io.container import ContainerError
from cimtwin.model import CityModel

SPEC = GridSpec.from_bounds((39_500_000, 4_060_000, 39_500_400, 4_060_300), res_m=10, crs="EPSG:4527")


def rich_model():
    n = 4
    pts = gpd.points_from_xy(39_500_000 + np.arange(n) * 40.0, np.full(n, 4_060_100.0))
    cams = gpd.GeoDataFrame({
        "height_m": [3.0, 6.5, 12.0, 8.0],
        "azimuth_deg": [0.0, 90.0, np.nan, 359.5],
        "hfov_deg": [90.0, 60.0, 360.0, 110.0],
        "range_m": [50.0, 120.0, 30.0, 200.0],
        "connected": [True, False, True, True],
        "is_smart": [False, False, True, False],
        "vendor": pd.Categorical(["海康", "大华", None, "海康"], categories=["大华", "海康", "宇视"]),
        "install_count": pd.array([1, None, 3, 4], dtype="Int64"),
        "note": ["主干路口", None, "学校门口 🚸", ""],
        "installed": pd.to_datetime(["2023-05-01 08:00:00.123", "2024-01-02 00:00:00", "2021-12-31 23:59:59.999",
                                     "2022-06-15 12:30:00"], format="ISO8601").tz_localize("Asia/Shanghai").as_unit("ms"),
        "small": np.array([1, 2, 3, 4], dtype="int16"),
    }, geometry=pts, crs="EPSG:4527")
    districts = gpd.GeoDataFrame({"name": ["历城区"], "code": [370112]},
                                 geometry=[shapely.box(*SPEC.bounds)], crs="EPSG:4527")
    dem = SPEC.to_dataarray(np.random.default_rng(0).random(SPEC.shape).astype("float32") * 100, name="dem",
                            attrs={"units": "m"}, nodata=-9999.0)
    pop = SPEC.to_dataarray(np.arange(SPEC.size, dtype="int32").reshape(SPEC.shape), name="population",
                            attrs={"units": "persons"})
    obs = pd.DataFrame({"gauge_id": ["G1", "G2"], "time": pd.to_datetime(["2024-07-10 10:00", "2024-07-10 11:00"])
                        .tz_localize("Asia/Shanghai").as_unit("ms"), "rain_mm": [12.5, 0.0]})
    return CityModel.from_layers({"districts": districts, "cameras": cams}, rasters={"dem": dem, "population": pop},
                                 tables={"gauge_observations": obs},
                                 metadata={"name": "测试城市", "synthetic": ["cameras"], "plan_year": 2025,
                                           "design_storm": {"A1": 10.5, "C": 0.7, "b": 12.0, "n": 0.7}})


def assert_models_equal(a, b):
    assert a.layer_names == b.layer_names
    assert a.crs.equals(b.crs)
    for name in a.layer_names:
        pd.testing.assert_frame_equal(a.layer(name), b.layer(name), check_exact=True)
        assert a.layer(name).crs.equals(b.layer(name).crs)
    assert a.raster_names == b.raster_names
    for name in a.raster_names:
        ra, rb = a.raster(name), b.raster(name)
        assert ra.dtype == rb.dtype
        np.testing.assert_array_equal(ra.values, rb.values)
        assert GridSpec.from_dataarray(ra) == GridSpec.from_dataarray(rb)
        np.testing.assert_equal(ra.attrs.get("_FillValue"), rb.attrs.get("_FillValue"))  # NaN equals NaN
    for name in a.table_names:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_exact=True)
    assert {k: v for k, v in a.metadata.items()} == {k: v for k, v in b.metadata.items()}


def test_round_trip_is_exact(tmp_path):
    m = rich_model()
    m.save(tmp_path / "city.cimtwin")
    back = cimtwin.read_model(tmp_path / "city.cimtwin")
    assert_models_equal(m, back)
    assert str(back.layer("cameras")["installed"].dtype) == "datetime64[ms, Asia/Shanghai]"
    assert back.raster("dem").rio.crs.to_epsg() == 4527


def test_save_twice_keeps_one_generation(tmp_path):
    m = rich_model()
    m.save(tmp_path / "c")
    m.with_metadata(plan_year=2023).save(tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.gpkg"))) == 1
    assert cimtwin.read_model(tmp_path / "c").metadata["plan_year"] == 2023


@pytest.mark.parametrize("fail_at", ["pyogrio.write_dataframe", "cimtwin.io.container._write_raster",
                                     "cimtwin.io.container._write_text_atomic", "os.fsync"])
def test_interrupted_save_leaves_previous_model(tmp_path, fail_at):
    m = rich_model()
    m.save(tmp_path / "c")
    newer = m.with_metadata(plan_year=2030)
    calls = {"n": 0}

    def boom(*args, **kwargs):
        calls["n"] += 1
        raise KeyboardInterrupt("power cut")

    with mock.patch(fail_at, side_effect=boom), pytest.raises(KeyboardInterrupt):
        newer.save(tmp_path / "c")
    assert calls["n"] >= 1
    assert_models_equal(m, cimtwin.read_model(tmp_path / "c"))


def test_half_written_folder_does_not_load(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "layers-abc.gpkg").write_bytes(b"partial")
    with pytest.raises(ContainerError, match="manifest"):
        cimtwin.read_model(tmp_path / "c")


def test_manifest_naming_missing_file(tmp_path):
    rich_model().save(tmp_path / "c")
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    (tmp_path / "c" / manifest["vector_file"]).unlink()
    with pytest.raises(ContainerError, match="missing"):
        cimtwin.read_model(tmp_path / "c")


def test_save_over_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("mine")
    with pytest.raises(ValueError, match="file"):
        rich_model().save(tmp_path / "f")
    assert (tmp_path / "f").read_text() == "mine"


text = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("济南历下区路街abc 0-_/\"'")), max_size=8))
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64), st.just(np.nan))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(text, floats, st.booleans(), st.integers(-2**31, 2**31 - 1),
                               st.one_of(st.none(), st.integers(-1000, 1000)),
                               st.sampled_from(["A", "B", "C"])), min_size=1, max_size=6))
def test_round_trip_hypothesis(tmp_path, rows):
    names, vals, flags, ints, nullable, cats = zip(*rows)
    n = len(rows)
    gdf = gpd.GeoDataFrame({
        "name": list(names), "value": np.array(vals, dtype="float64"), "flag": np.array(flags, dtype=bool),
        "count": np.array(ints, dtype="int64"), "maybe": pd.array(list(nullable), dtype="Int64"),
        "group": pd.Categorical(list(cats), categories=["A", "B", "C"]),
    }, geometry=gpd.points_from_xy(np.arange(n) * 1.5 + 39_500_000, np.full(n, 4_060_000.0)), crs="EPSG:4527")
    m = CityModel.from_layers({"my_points": gdf}, crs="EPSG:4527")
    m.save(tmp_path / "h")
    assert_models_equal(m, cimtwin.read_model(tmp_path / "h"))


@pytest.mark.parametrize("chunks", [7, (3, 40), (30, 1)])
def test_dem_chunks_opens_the_dem_lazily(tmp_path, chunks):
    m = rich_model()
    m.save(tmp_path / "city.cimtwin")
    back = cimtwin.read_model(tmp_path / "city.cimtwin", dem_chunks=chunks)
    dem = back.raster("dem")
    assert type(dem.data).__module__.startswith("dask")  # model.raster keeps it lazy
    want = (chunks, chunks) if isinstance(chunks, int) else chunks
    assert dem.data.chunksize == tuple(min(c, s) for c, s in zip(want, dem.shape))
    assert_models_equal(m, back)  # the same values, grid and nodata once computed
    assert type(back.raster("population").data).__module__ == "numpy"  # only the DEM is lazy
    back.validate()
    # a lazy raster is checked chunk by chunk when it enters a model
    bad = dem.copy(data=dem.data.map_blocks(lambda b: np.where(b > 90.0, -32768.0, b).astype(b.dtype)))
    with pytest.raises(cimtwin.errors.NodataError, match="-32768"):
        back.with_raster("dem", bad)


@pytest.mark.parametrize("chunks", [0, -5, 2.5, "big", (1, 2, 3), True])
def test_dem_chunks_must_be_positive_cells(tmp_path, chunks):
    m = rich_model()
    m.save(tmp_path / "city.cimtwin")
    with pytest.raises(cimtwin.errors.ValidationError, match="dem_chunks"):
        cimtwin.read_model(tmp_path / "city.cimtwin", dem_chunks=chunks)


def test_dem_chunks_refused_for_postgresql():
    with pytest.raises(cimtwin.errors.ValidationError, match="model folder"):
        cimtwin.read_model("postgresql://u@h:5432/db?schema=x", dem_chunks=64)
