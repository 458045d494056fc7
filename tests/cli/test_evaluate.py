"""``cimtwin evaluate`` on a small synthetic city: the stage table and the same figures as evaluate()."""

import pandas as pd

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
