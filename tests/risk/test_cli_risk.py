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
    assert main(["--quiet", "risk", str(folder), "--out", str(out), "--weights",
                 "ponding=0.5,seismic=0.5", "--method", "quantiles"]) == 0
    # the CLI prints the warning as one line on stderr
    err = capsys.readouterr().err
    assert any(line.startswith("cimtwin risk: warning: ") and "left out" in line for line in err.splitlines()), err
    assert (out / "risk_zones.gpkg").exists()


def test_cimtwin_risk_chunks_writes_the_same_outputs(city, tmp_path, capsys):
    import json

    import numpy as np
    import rasterio

    folder = city.save(tmp_path / "synthetic.cimtwin")
    outs = {}
    for label, extra in (("memory", []), ("chunked", ["--chunks", "7"])):
        outs[label] = tmp_path / label
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CimtwinWarning)
            assert main(["--quiet", "risk", str(folder), "--out", str(outs[label]), "--no-closures", *extra]) == 0
    names = sorted(p.name for p in outs["memory"].iterdir())
    assert names == sorted(p.name for p in outs["chunked"].iterdir())
    for name in names:
        a, b = outs["memory"] / name, outs["chunked"] / name
        if name.endswith(".tif"):
            with rasterio.open(a) as ra, rasterio.open(b) as rb:
                np.testing.assert_array_equal(ra.read(1), rb.read(1), err_msg=name)
                assert ra.transform == rb.transform and ra.crs == rb.crs
        elif name.endswith(".gpkg"):
            pd.testing.assert_frame_equal(gpd.read_file(a), gpd.read_file(b))
        elif name.endswith(".csv"):
            pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))
        else:
            ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
            va, vb = ja["notes"]["flood"].pop("volumes_m3"), jb["notes"]["flood"].pop("volumes_m3")
            assert jb["notes"]["flood"].pop("tiled") == "dask chunks (7, 7)"
            assert ja == jb
            for key in va:
                assert vb[key] == pytest.approx(va[key], rel=1e-10)


def test_cimtwin_risk_chunks_refuses_a_bad_value(city, tmp_path, capsys):
    folder = city.save(tmp_path / "synthetic.cimtwin")
    assert main(["risk", str(folder), "--out", str(tmp_path / "o"), "--chunks", "0"]) == 2
    err = capsys.readouterr().err
    assert "dem_chunks" in err and "Traceback" not in err
