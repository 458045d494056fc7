import json

import geopandas as gpd
import pytest
import shapely

import cimtwin
from cimtwin.cli.main import main


@pytest.fixture(scope="module")
def saved_small(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "town.cimtwin"
    districts = gpd.GeoDataFrame({"name": ["历下区"]}, geometry=[shapely.box(117.0, 36.6, 117.1, 36.7)],
                                 crs="EPSG:4326")
    cimtwin.CityModel.from_layers({"districts": districts}, metadata={"name": "town"}).save(path)
    return path


def test_info_lists_layers_crs_and_extent(saved_small, capsys):
    assert main(["info", str(saved_small)]) == 0
    out = capsys.readouterr().out
    assert "EPSG:4527" in out and "districts" in out and "km" in out


def test_validate_ok_then_broken(saved_small, tmp_path, capsys):
    assert main(["validate", str(saved_small)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    # a model saved by other software, bypassing validation: a `name` column of numbers
    broken = tmp_path / "broken.cimtwin"
    model = cimtwin.read_model(saved_small)
    layer = model.layer("districts")
    layer["name"] = [12.5]
    bad = cimtwin.model.CityModel(crs=model.crs, layers={"districts": layer}, rasters={}, tables={},
                                  metadata={}, kinds={"districts": "districts"})
    bad.save(broken)
    assert main(["validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "SchemaError" in out and "'name'" in out


def test_unreadable_path_is_a_clean_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.cimtwin")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_demo_without_targets_saves_the_sample(tmp_path, capsys):
    assert main(["--quiet", "demo", "--no-targets", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "jinan.cimtwin" / "manifest.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in manifest["layers"]][0] == "districts"
    assert "saved to" in capsys.readouterr().out
