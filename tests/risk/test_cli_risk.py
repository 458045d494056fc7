import warnings

import geopandas as gpd
import pandas as pd
import pytest

from cimtwin.cli.main import main
from cimtwin.errors import CimtwinWarning


def test_cimtwin_risk_writes_zones_and_summary(city, tmp_path, capsys):
    folder = city.save(tmp_path / "synthetic.cimtwin")
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimtwinWarning)
        assert main(["--quiet", "risk", str(folder), "--out", str(out), "--method", "quantiles"]) == 0
    zones = gpd.read_file(out / "risk_zones.gpkg")
    assert zones["class"].between(1, 5).all() and zones["class"].dtype.kind == "i"
    table = pd.read_csv(out / "summary_by_district.csv")
    assert list(table.columns) == ["district", "class", "area_km2", "population", "buildings", "road_km"]
    assert set(table["class"]) == {1, 2, 3, 4, 5}
    for name in ("flood_ponding_m.tif", "flood_hand_m.tif", "seismic_pga_g.tif", "flooded_roads.gpkg",
                 "risk_report.json"):
        assert (out / name).exists(), name
    assert "risk zones of" in capsys.readouterr().out


def test_cimtwin_risk_bad_weights(city, tmp_path, capsys):
    folder = city.save(tmp_path / "synthetic.cimtwin")
    assert main(["risk", str(folder), "--out", str(tmp_path / "o"), "--weights", "ponding"]) == 2
    assert "name=value" in capsys.readouterr().err


def test_cimtwin_risk_unknown_weight_is_refused_before_any_work(city, tmp_path, capsys):
    folder = city.save(tmp_path / "synthetic.cimtwin")
    out = tmp_path / "o"
    assert main(["risk", str(folder), "--out", str(out), "--weights", "a=0.5,b=0.5"]) == 2
    err = capsys.readouterr().err
    assert "Unknown risk factor 'a'" in err and "ponding, low_terrain, seismic, population" in err
    assert not out.exists()  # nothing written
    assert main(["risk", str(folder), "--out", str(out), "--weights", "ponding=0.5,seismc=0.5"]) == 2
    assert "Did you mean 'seismic'?" in capsys.readouterr().err
    assert not out.exists()
    # refused before the model is even read: a missing model folder is not what is reported
    assert main(["risk", str(tmp_path / "absent.cimtwin"), "--out", str(out), "--weights", "pondng=1"]) == 2
    assert "Did you mean 'ponding'?" in capsys.readouterr().err


def test_cimtwin_risk_known_factor_without_input_warns_and_drops(city, tmp_path, capsys):
    folder = city.without_layer("seismic_zoning").save(tmp_path / "synthetic.cimtwin")
    out = tmp_path / "o"
    with pytest.warns(CimtwinWarning, match="left out"):
        assert main(["--quiet", "risk", str(folder), "--out", str(out), "--weights",
                     "ponding=0.5,seismic=0.5", "--method", "quantiles"]) == 0
    assert (out / "risk_zones.gpkg").exists()
