"""The model folder: concurrent saves, crashes, foreign files, corruption, refused columns."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cimtwin
from cimtwin.errors import ContainerError, SchemaError
from cimtwin.io.container import LOCK_FILE, MANIFEST, check_storable, file_digest
from cimtwin.model import CityModel
from tests.model.test_storage import assert_models_equal, rich_model


def _files(folder):
    return sorted(f.name for f in folder.iterdir())


def _manifest(folder):
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def _assert_checksums_hold(folder):
    manifest = _manifest(folder)
    assert manifest["files"], "a saved model records its files"
    for name, rec in manifest["files"].items():
        assert file_digest(folder / name) == rec["sha256"]
        assert (folder / name).stat().st_size == rec["bytes"]


@pytest.fixture(scope="module")
def model():
    return rich_model()


@pytest.fixture
def saved(tmp_path, model):
    path = tmp_path / "city.cimtwin"
    model.save(path)
    return path


# -- checksums, layout ---------------------------------------------------------------------------
def test_manifest_records_a_checksum_of_every_file(saved):
    manifest = _manifest(saved)
    assert set(manifest["files"]) == {manifest["vector_file"], *(r["file"] for r in manifest["rasters"])}
    _assert_checksums_hold(saved)
    # the folder holds the model's files, the manifest and the lock: nothing else
    assert set(_files(saved)) == {MANIFEST, LOCK_FILE, *manifest["files"]}


def test_manifest_mode_follows_the_umask(tmp_path, model):
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "c")
    finally:
        os.umask(old)
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "c").iterdir() if f.name != LOCK_FILE}
    assert modes[MANIFEST] == 0o644
    assert set(modes.values()) == {0o644}, modes


def test_old_manifests_without_checksums_still_load(saved, model):
    manifest = _manifest(saved)
    del manifest["files"]
    manifest["format_version"] = 1
    (saved / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert_models_equal(model, cimtwin.read_model(saved))


# -- foreign files ---------------------------------------------------------------------------------
def test_a_save_never_deletes_files_it_did_not_write(saved, model):
    (saved / "my_notes.gpkg").write_bytes(b"a user's own GeoPackage")
    (saved / "photo.tif").write_bytes(b"a user's own GeoTIFF")
    (saved / "layers-00000000.gpkg").write_bytes(b"named like ours, but not ours")
    model.with_metadata(plan_year=2030).save(saved)
    model.save(saved)
    assert (saved / "my_notes.gpkg").read_bytes() == b"a user's own GeoPackage"
    assert (saved / "photo.tif").read_bytes() == b"a user's own GeoTIFF"
    assert (saved / "layers-00000000.gpkg").exists()
    assert_models_equal(model, cimtwin.read_model(saved))


def test_a_save_into_a_foreign_folder_is_refused(tmp_path, model):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "report.docx").write_bytes(b"x")
    with pytest.raises(ContainerError, match="not a saved cimtwin model") as err:
        model.save(folder)
    assert "report.docx" in str(err.value)
    assert _files(folder) == ["report.docx"]


def test_a_save_never_replaces_a_foreign_manifest(tmp_path, model):
    folder = tmp_path / "webapp"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"name": "my web app"}')
    with pytest.raises(ContainerError, match="manifest"):
        model.save(folder)
    assert (folder / MANIFEST).read_text() == '{"name": "my web app"}'


def test_a_save_into_an_empty_folder_works(tmp_path, model):
    (tmp_path / "empty").mkdir()
    model.save(tmp_path / "empty")
    assert_models_equal(model, cimtwin.read_model(tmp_path / "empty"))


# -- corruption -----------------------------------------------------------------------------------
def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_bit(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
@pytest.mark.parametrize("which", ["vector_file", "raster"])
@pytest.mark.parametrize("verify", [True, False])
def test_a_damaged_file_is_a_container_error_naming_it(saved, damage, which, verify):
    manifest = _manifest(saved)
    name = manifest["vector_file"] if which == "vector_file" else manifest["rasters"][1]["file"]
    (_truncate if damage == "truncate" else _flip_a_bit)(saved / name)
    if verify:
        with pytest.raises(ContainerError, match="damaged") as err:
            cimtwin.read_model(saved)
        assert name in str(err.value) and "backup" in str(err.value)
    else:
        # without the checksums a flipped bit inside the data may go unseen; a truncation never does
        try:
            cimtwin.read_model(saved, verify=False)
        except ContainerError as exc:
            assert name in str(exc)
        else:
            assert damage == "flip"


@pytest.mark.parametrize("text", ["", "{", '{"format": "cimtwin-model"', "[1, 2]", '{"format": "cimtwin-model"}',
                                  "\udcff"])
def test_a_damaged_manifest_is_a_container_error(saved, text):
    (saved / MANIFEST).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ContainerError, match=MANIFEST):
        cimtwin.read_model(saved)


def test_a_manifest_with_bad_records_is_a_container_error(saved):
    manifest = _manifest(saved)
    del manifest["layers"][0]["gpkg_layer"]
    manifest["files"] = {}
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ContainerError, match="save the model again"):
        cimtwin.read_model(saved)


def test_a_missing_file_is_a_container_error(saved):
    name = _manifest(saved)["rasters"][0]["file"]
    (saved / name).unlink()
    with pytest.raises(ContainerError, match=f"{name}, which is missing"):
        cimtwin.read_model(saved)


@pytest.mark.parametrize("kind", ["missing", "file", "no_manifest"])
def test_a_path_that_is_not_a_model(tmp_path, kind):
    path = tmp_path / "m"
    if kind == "file":
        path.write_text("x")
    elif kind == "no_manifest":
        path.mkdir()
    expected = {"missing": "does not exist", "file": "is a file", "no_manifest": "no manifest.json"}[kind]
    with pytest.raises(ContainerError, match=expected):
        cimtwin.read_model(path)


# -- concurrency and crashes -------------------------------------------------------------------------
_SAVER = """
import sys, cimtwin
src, dst, writer, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = cimtwin.read_model(src)
print("ready", flush=True)
for i in range(n):
    base.with_metadata(writer=writer, save=i).save(dst)
"""


def _spawn(*args):
    env = dict(os.environ, CIMTWIN_PROGRESS="0")
    return subprocess.Popen([sys.executable, "-c", _SAVER, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_concurrent_saves_from_several_processes(tmp_path, saved, model):
    dst = tmp_path / "shared.cimtwin"
    model.save(dst)
    procs = [_spawn(saved, dst, w, 3) for w in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    seen = set()
    while any(p.poll() is None for p in procs):
        # a reader during the saves always gets one complete model, checksums verified
        back = cimtwin.read_model(dst)
        seen.add((back.metadata.get("writer"), back.metadata.get("save")))
        assert back.layer_names == model.layer_names
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    back = cimtwin.read_model(dst)
    assert back.metadata["save"] == 2 and back.metadata["writer"] in (0, 1, 2)
    assert_models_equal(model.with_metadata(writer=back.metadata["writer"], save=2), back)
    _assert_checksums_hold(dst)
    manifest = _manifest(dst)
    assert set(_files(dst)) == {MANIFEST, LOCK_FILE, *manifest["files"]}, "no file of an older save is left"
    assert manifest["generation"] == 10


def test_a_killed_save_leaves_one_complete_model(tmp_path, saved, model):
    dst = tmp_path / "crash.cimtwin"
    model.save(dst)
    for delay in (0.0, 0.05, 0.15, 0.3, 0.6):
        p = _spawn(saved, dst, 7, 50)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        back = cimtwin.read_model(dst)  # the previous model or a new one, complete and verified
        assert back.layer_names == model.layer_names
        _assert_checksums_hold(dst)
    model.save(dst)  # the next save removes what the killed ones left, and only that
    assert set(_files(dst)) == {MANIFEST, LOCK_FILE, *_manifest(dst)["files"]}
    assert_models_equal(model, cimtwin.read_model(dst))


def test_a_crashed_first_save_does_not_block_the_next(tmp_path, model, monkeypatch):
    import cimtwin.io.container as container

    dst = tmp_path / "new.cimtwin"

    def power_cut(*args, **kwargs):
        raise SystemExit("power cut")

    # leave the pending note and a half-written GeoPackage behind, as a killed process would
    monkeypatch.setattr(container, "_write_raster", power_cut)
    monkeypatch.setattr(container.Path, "unlink", lambda self, missing_ok=False: None)
    with pytest.raises(SystemExit):
        model.save(dst)
    monkeypatch.undo()
    assert any(n.startswith(".cimtwin-pending-") for n in _files(dst))
    with pytest.raises(ContainerError, match="no manifest.json"):
        cimtwin.read_model(dst)
    model.save(dst)
    assert set(_files(dst)) == {MANIFEST, LOCK_FILE, *_manifest(dst)["files"]}
    assert_models_equal(model, cimtwin.read_model(dst))


# -- what a saved model cannot hold ------------------------------------------------------------------
def _points(n=3, **columns):
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(39_500_000 + np.arange(n) * 10.0,
                                                                 np.full(n, 4_060_000.0)), crs="EPSG:4527")


@pytest.mark.parametrize("values, match", [
    (["a", 1, 2.5], "float, int, str"),
    ([[1, 2], [3], []], "list"),
    ([b"\x00", b"a", b"b"], "bytes"),
    ([{"a": 1}, None, None], "dict"),
    ([True, None, False], "boolean"),
    (pd.to_timedelta([1, 2, 3], unit="s"), "timedelta"),
    (np.array([1 + 2j, 0, 1]), "complex"),
    (pd.to_datetime(["2024-01-01 00:00:00.000001", "2024-01-01 00:00:00", "2024-01-02 00:00:00"],
                    format="ISO8601"), "millisecond"),
    (np.array([2**64 - 1, 0, 1], dtype="uint64"), "2\\*\\*63"),
    (pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]), "cannot be saved"),
])
def test_unstorable_columns_are_refused_when_the_layer_is_added(values, match):
    gdf = _points(vendor=values)
    with pytest.raises(SchemaError, match=match) as err:
        CityModel.from_layers({"my_points": gdf}, crs="EPSG:4527")
    assert "'vendor'" in str(err.value) and "my_points" in str(err.value)
    base = CityModel.from_layers({"base": _points(name=["a", "b", "c"])}, crs="EPSG:4527")
    with pytest.raises(SchemaError, match=match):
        base.with_layer("my_points", gdf)
    with pytest.raises(SchemaError, match=match):
        base.with_table("t", pd.DataFrame({"vendor": values}))


@pytest.mark.parametrize("columns, match", [
    ({"fid": [1, 2, 3]}, "reserved"),
    ({"FID": [1, 2, 3]}, "reserved"),
    ({"Name": ["a", "b", "c"], "name": ["d", "e", "f"]}, "differ only in case"),
    ({"__cimtwin_index__": [1, 2, 3]}, "reserved"),
])
def test_reserved_and_case_duplicate_names_are_refused(tmp_path, columns, match):
    with pytest.raises(SchemaError, match=match):
        CityModel.from_layers({"my_points": _points(**columns)}, crs="EPSG:4527")
    assert not list(tmp_path.iterdir()), "nothing was written"


def test_multiindex_columns_and_index_are_refused():
    df = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(SchemaError, match="MultiIndex"):
        check_storable(df, what="table 't'")
    df = pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]))
    base = CityModel.from_layers({"base": _points(name=["a", "b", "c"])}, crs="EPSG:4527")
    with pytest.raises(SchemaError, match="reset_index"):
        base.with_table("t", df)


def test_a_model_built_around_the_checks_is_refused_at_save(tmp_path):
    m = CityModel.from_layers({"base": _points(name=["a", "b", "c"])}, crs="EPSG:4527")
    layer = m.layer("base")
    layer["tags"] = [["x"], [], ["y", "z"]]
    bad = CityModel(crs=m.crs, layers={"base": layer}, rasters={}, tables={}, metadata={}, kinds={"base": None})
    with pytest.raises(SchemaError, match="list"):
        bad.save(tmp_path / "bad")
    assert not (tmp_path / "bad").exists(), "no stray file or folder"


def edge_model():
    """Values at the edges of what both stores hold: text with tabs and emoji, int64 extremes, NaN and
    infinities, nullable booleans, integer categories with a gap, 3D and mixed geometries, an index."""
    gdf = gpd.GeoDataFrame({
        "text": pd.array(["济南", None, "", "a\tb\nc\\d 🚸"], dtype="string"),
        "obj": ["x", None, "", "'\""],
        "big": np.array([2**63 - 1, 0, -(2**63), 5], dtype="int64"),
        "big_na": pd.array([2**62 + 1, None, -(2**62) - 1, 0], dtype="Int64"),
        "u8": np.array([0, 255, 7, 1], dtype="uint8"),
        "f32": np.array([0.1, np.nan, -1e-30, np.inf], dtype="float32"),
        "f64": [0.1 + 0.2, np.nan, -np.inf, 5e-324],
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "when": pd.to_datetime(["2024-07-10 10:00:00.123", None, "1970-01-01 00:00:00", "1900-01-01 00:00:00"],
                               format="ISO8601"),
        "cat_int": pd.Categorical([3, 1, None, 3], categories=[1, 2, 3], ordered=True),
    }, geometry=[shapely.Point(39_500_000, 4_060_000), shapely.box(39_500_000, 4_060_000, 39_500_010, 4_060_010),
                 shapely.Point(39_500_010, 4_060_010, 5.0),
                 shapely.LineString([(39_500_000, 4_060_000), (39_500_100, 4_060_050)])], crs="EPSG:4527")
    gdf.index = pd.Index([10, 20, 30, 40], name="code", dtype="int32")
    return CityModel.from_layers({"edge": gdf, "empty": gdf.iloc[:0]}, crs="EPSG:4527",
                                 tables={"notes": pd.DataFrame({"名称": ["一", "二"], "值": [1.5, 2.5]})})


def test_edge_values_round_trip_exactly(tmp_path):
    m = edge_model()
    m.save(tmp_path / "e")
    assert_models_equal(m, cimtwin.read_model(tmp_path / "e"))


def test_shapely_geometry_in_a_second_column_is_refused():
    gdf = _points(name=["a", "b", "c"])
    gdf["other"] = [shapely.Point(0, 0)] * 3
    with pytest.raises(SchemaError, match="'other'"):
        CityModel.from_layers({"my_points": gdf}, crs="EPSG:4527")


def test_interrupted_just_after_the_manifest_landed_keeps_the_new_model(saved, model, monkeypatch):
    import cimtwin.io.container as container

    real_replace = os.replace

    def replace_then_power_cut(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(MANIFEST):
            raise KeyboardInterrupt("power cut right after the rename")

    monkeypatch.setattr(container.os, "replace", replace_then_power_cut)
    newer = model.with_metadata(plan_year=2031)
    with pytest.raises(KeyboardInterrupt):
        newer.save(saved)
    monkeypatch.undo()
    assert_models_equal(newer, cimtwin.read_model(saved))
    _assert_checksums_hold(saved)
    newer.save(saved)  # and the next save tidies the previous generation away
    assert set(_files(saved)) == {MANIFEST, LOCK_FILE, *_manifest(saved)["files"]}
