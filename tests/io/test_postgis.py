"""The shared model in a real PostgreSQL + PostGIS: exact round trip, versions, concurrent writers, readers."""

import os
import subprocess
import sys
import threading

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimtwin
from cimtwin.errors import ContainerError
from cimtwin.grid import GridSpec
from cimtwin.io.postgis import list_versions, parse_url
from cimtwin.model import CityModel
from tests.io.test_container import edge_model
from tests.model.test_storage import assert_models_equal, rich_model


def _sql(url, query, *params):
    import psycopg

    p = parse_url(url)
    with psycopg.connect(p["conninfo"]) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", [f'"{p["schema"]}", public'])
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def model():
    return rich_model()


def test_round_trip_is_exact(pg_url, model):
    saved = model.save(pg_url)
    assert saved.endswith("&version=1")
    back = cimtwin.read_model(pg_url)
    assert_models_equal(model, back)
    assert back.name == "测试城市"
    assert str(back.layer("cameras")["installed"].dtype) == "datetime64[ms, Asia/Shanghai]"
    assert back.layer("cameras")["note"].tolist()[2] == "学校门口 🚸"


def test_tables_are_postgis_tables_with_srid_index_and_column_order(pg_url, model):
    model.save(pg_url)
    table = _sql(pg_url, "SELECT table_name FROM cimtwin_layers WHERE version = 1 AND name = 'cameras'")[0][0]
    columns = [r[0] for r in _sql(pg_url, "SELECT column_name FROM information_schema.columns WHERE "
                                          "table_schema = current_schema() AND table_name = %s ORDER BY "
                                          "ordinal_position", table)]
    assert columns == ["fid", *model.layer("cameras").columns]
    srid, gtype = _sql(pg_url, "SELECT srid, type FROM geometry_columns WHERE f_table_schema = current_schema() "
                               "AND f_table_name = %s", table)[0]
    assert (srid, gtype) == (4527, "POINT")
    indexes = [r[0] for r in _sql(pg_url, "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                          "AND tablename = %s", table)]
    assert any("gist" in d for d in indexes)
    # SQL sees the same features as pandas
    xs = [r[0] for r in _sql(pg_url, f'SELECT ST_X(geometry) FROM "{table}" ORDER BY fid')]
    assert xs == model.layer("cameras").geometry.x.tolist()


def test_rasters_are_readable_by_sql(pg_url, model):
    model.save(pg_url)
    table = _sql(pg_url, "SELECT table_name FROM cimtwin_layers WHERE version = 1 AND name = 'population'")[0][0]
    total, srid = _sql(pg_url, f'SELECT sum((ST_SummaryStats(rast)).sum), max(ST_SRID(rast)) FROM "{table}"')[0]
    assert total == float(model.raster("population").sum()) and srid == 4527
    dem = model.raster("dem")
    spec = GridSpec.from_dataarray(dem)
    t = spec.transform
    x, y = t.c + 5.5 * t.a, t.f + 7.5 * t.e  # centre of row 7, column 5
    table = _sql(pg_url, "SELECT table_name FROM cimtwin_layers WHERE version = 1 AND name = 'dem'")[0][0]
    value = _sql(pg_url, f'SELECT ST_Value(rast, ST_SetSRID(ST_MakePoint(%s, %s), 4527)) FROM "{table}"', x, y)
    assert value[0][0] == float(dem.values[7, 5])


def test_large_raster_in_tiles_and_64_bit_values(pg_url):
    spec = GridSpec.from_bounds((39_500_000, 4_060_000, 39_503_000, 4_062_000), res_m=10, crs="EPSG:4527")
    rng = np.random.default_rng(1)
    rasters = {"dem": spec.to_dataarray(rng.normal(50, 20, spec.shape), name="dem", attrs={"units": "m"},
                                        nodata=np.nan),
               "ids": spec.to_dataarray(rng.integers(-2**40, 2**40, spec.shape), name="ids",
                                        attrs={"units": "1"}),
               "mask": spec.to_dataarray(rng.random(spec.shape) > 0.5, name="mask")}
    districts = gpd.GeoDataFrame({"name": ["历下区"]}, geometry=[shapely.box(*spec.bounds)], crs="EPSG:4527")
    m = CityModel.from_layers({"districts": districts}, rasters=rasters)
    m.save(pg_url)
    assert_models_equal(m, cimtwin.read_model(pg_url))
    storage = dict(_sql(pg_url, "SELECT name, geometry_type FROM cimtwin_layers WHERE kind = 'raster'"))
    assert storage == {"dem": "postgis_raster", "ids": "bytea", "mask": "postgis_raster"}


def test_versions_count_from_one_and_old_ones_stay_readable(pg_url, model):
    for year in (2023, 2024, 2025):
        model.with_metadata(plan_year=year).save(pg_url)
    assert list_versions(pg_url)["version"].tolist() == [1, 2, 3]
    assert cimtwin.read_model(pg_url).metadata["plan_year"] == 2025
    assert cimtwin.read_model(pg_url, version=1).metadata["plan_year"] == 2023
    assert cimtwin.read_model(pg_url + "&version=2").metadata["plan_year"] == 2024
    with pytest.raises(ContainerError, match=r"no version 9; its versions are \[1, 2, 3\]"):
        cimtwin.read_model(pg_url, version=9)


def test_layers_of_a_later_version_change_without_touching_the_earlier(pg_url, model):
    model.save(pg_url)
    cams = model.layer("cameras").iloc[:2]
    smaller = model.with_layer("cameras", cams).without_layer("districts")
    smaller.save(pg_url)
    assert_models_equal(smaller, cimtwin.read_model(pg_url))
    assert_models_equal(model, cimtwin.read_model(pg_url, version=1))


_WRITER = """
import sys, cimtwin
src, url, writer, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = cimtwin.read_model(src)
print("ready", flush=True)
for i in range(n):
    base.with_metadata(writer=writer, save=i).save(url)
"""


def test_two_concurrent_writers_are_serialised(tmp_path, pg_url, model):
    src = tmp_path / "m.cimtwin"
    model.save(src)
    env = dict(os.environ, CIMTWIN_PROGRESS="0")
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(src), pg_url, str(w), "3"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    while any(p.poll() is None for p in procs):
        if _has_model(pg_url):  # a reader meanwhile gets whole versions
            assert cimtwin.read_model(pg_url).layer_names == model.layer_names
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    versions = list_versions(pg_url)
    assert versions["version"].tolist() == [1, 2, 3, 4, 5, 6]
    seen = []
    for v in versions["version"]:
        back = cimtwin.read_model(pg_url, version=int(v))
        assert_models_equal(model.with_metadata(writer=back.metadata["writer"], save=back.metadata["save"]), back)
        seen.append((back.metadata["writer"], back.metadata["save"]))
    for w in (0, 1):  # each writer's saves are whole and in its own order
        assert [s for ww, s in seen if ww == w] == [0, 1, 2]


def _has_model(url):
    try:
        list_versions(url)
    except ContainerError:
        return False
    return True


def test_a_reader_during_a_write_sees_the_previous_version(pg_url, model, monkeypatch):
    import cimtwin.io.postgis as postgis

    model.save(pg_url)
    inside, release = threading.Event(), threading.Event()
    real = postgis._write_raster

    def slow_raster(*args, **kwargs):
        inside.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(postgis, "_write_raster", slow_raster)
    newer = model.with_metadata(plan_year=2099)
    errors = []
    writer = threading.Thread(target=lambda: _catch(errors, newer.save, pg_url))
    writer.start()
    try:
        assert inside.wait(60)
        # the writer is mid-transaction with its layer tables written: a reader sees version 1, whole
        during = cimtwin.read_model(pg_url)
        assert_models_equal(model, during)
        assert list_versions(pg_url)["version"].tolist() == [1]
    finally:
        release.set()
        writer.join(60)
    assert not errors
    assert cimtwin.read_model(pg_url).metadata["plan_year"] == 2099


def _catch(errors, fn, *args):
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_a_failed_save_leaves_no_version_and_no_table(pg_url, model, monkeypatch):
    import cimtwin.io.postgis as postgis

    model.save(pg_url)
    tables_before = _sql(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")

    def power_cut(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(postgis, "_write_raster", power_cut)
    with pytest.raises(KeyboardInterrupt):
        model.with_metadata(plan_year=2099).save(pg_url)
    assert list_versions(pg_url)["version"].tolist() == [1]
    assert _sql(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") == tables_before


def test_credentials_are_never_printed():
    bad = "postgresql://nobody:s3cret-pw@127.0.0.1:1/db?schema=x"  # nothing listens on port 1
    with pytest.raises(ContainerError) as err:
        cimtwin.read_model(bad)
    assert "s3cret-pw" not in str(err.value) and "Cannot connect" in str(err.value)
    assert parse_url("postgresql://u:pw@h:5/db?schema=s")["display"] == "postgresql://u@h:5/db?schema=s"


def test_a_missing_model_is_a_clear_error(pg_url):
    with pytest.raises(ContainerError, match="no saved cimtwin model"):
        cimtwin.read_model(pg_url)


def test_edge_values_round_trip_exactly(pg_url):
    m = edge_model()
    m.save(pg_url)
    back = cimtwin.read_model(pg_url)
    assert_models_equal(m, back)
    assert back.layer("edge").geometry.has_z.tolist() == [False, False, True, False]
