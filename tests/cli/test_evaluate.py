"""``cimtwin evaluate`` on a small synthetic city: the stage table and the same figures as evaluate()."""

import pandas as pd
import pytest

import cimtwin
from cimtwin.cli.main import main
from cimtwin.model import synthetic_city
from cimtwin.targets import evaluate


def test_evaluate_cli_equals_the_per_target_api(tmp_path, capsys):
    path = synthetic_city(area_km2=4, res_m=20, cameras=200, sites_5g=20, sites_nbiot=10, rain_gauges=9,
                          shelters=8, buildings=2_000, road_nodes=900, iot_devices=100, seed=1,
                          out=tmp_path / "city.cimtwin", progress=False)
    rc = main(["--quiet", "evaluate", str(path), "--out", str(tmp_path / "out"), "--no-report", "--no-risk",
               "--no-shelters"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "peak" in printed
    cli = pd.read_csv(tmp_path / "out" / "targets.csv")
    api = evaluate(cimtwin.read_model(path))
    a = cli[cli["zone"] == "all"].set_index("target_id")["value"]
    b = api[api["zone"] == "all"].set_index("target_id")["value"].astype(float)
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), check_names=False)
    assert a.notna().sum() >= 15
    # the plan-targets stage's profile: one timing per catalogue target, slowest first
    seconds = pd.read_csv(tmp_path / "out" / "target_seconds.csv")
    assert sorted(seconds["target_id"]) == sorted(a.index)
    assert (seconds["seconds"] >= 0).all() and seconds["seconds"].is_monotonic_decreasing


@pytest.mark.slow
def test_evaluate_cli_on_a_1e6_cell_city_equals_the_per_target_api(tmp_path, capsys):
    # 10^6 DEM cells (100 km² at 10 m), the counts of the 10^8-cell city scaled by 1/100
    path = synthetic_city(area_km2=100, res_m=10, cameras=1_500, sites_5g=400, sites_nbiot=200, rain_gauges=15,
                          shelters=20, buildings=20_000, road_nodes=10_000, iot_devices=2_000, seed=0,
                          out=tmp_path / "city.cimtwin", progress=False)
    model = cimtwin.read_model(path)
    assert model.raster("dem").size == 10**6
    rc = main(["--quiet", "evaluate", str(path), "--out", str(tmp_path / "out"), "--no-report", "--no-risk"])
    assert rc == 0
    assert "peak" in capsys.readouterr().out
    cli = pd.read_csv(tmp_path / "out" / "targets.csv")
    api = evaluate(model)
    key = ["target_id", "zone"]
    a = cli.set_index(key)["value"].sort_index()
    b = api.set_index(key)["value"].astype(float).sort_index()
    pd.testing.assert_series_equal(a, b, check_names=False, rtol=1e-12)
    computed = api[(api["zone"] == "all") & api["value"].notna()]
    assert computed["target_id"].nunique() >= 15
    # every building got a shelter-access row
    access = pd.read_csv(tmp_path / "out" / "shelter_access.csv")
    assert len(access) == 20_000


def test_cli_prints_warnings_as_one_line_without_source(tmp_path, capsys):
    # SYNTHETIC city without a population raster: the risk zoning warns that it leaves population out
    path = synthetic_city(area_km2=1, res_m=20, cameras=20, sites_5g=4, sites_nbiot=2, rain_gauges=2,
                          shelters=2, buildings=200, road_nodes=100, iot_devices=10, seed=2,
                          out=tmp_path / "city.cimtwin", progress=False)
    rc = main(["--quiet", "evaluate", str(path), "--out", str(tmp_path / "out"), "--no-report", "--no-shelters"])
    assert rc == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert any(line.startswith("cimtwin evaluate: warning: ") and "population" in line for line in lines), err
    assert not any(".py:" in line for line in lines), err  # no file name, line number or source line
