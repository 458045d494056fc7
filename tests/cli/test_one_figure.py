"""One catalogue, one code path, one number: every catalogue coverage target gives the same figures
through ``cimtwin.targets.evaluate`` (``cimtwin demo``'s targets.csv), through the ``cimtwin coverage``
CSV and through ``coverage_ratio`` itself, on the embedded Jinan sample."""

import numpy as np
import pandas as pd
import pytest

from cimtwin.cli.coverage import coverage_targets
from cimtwin.cli.main import main


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    demo, cov = tmp_path_factory.mktemp("demo"), tmp_path_factory.mktemp("coverage")
    assert main(["--quiet", "demo", "--out", str(demo)]) == 0
    assert main(["--quiet", "coverage", "--out", str(cov)]) == 0
    return pd.read_csv(demo / "targets.csv"), pd.read_csv(cov / "coverage_ratios.csv")


@pytest.mark.slow
def test_every_coverage_target_has_one_figure(outputs):
    targets, ratios = outputs
    ids = list(coverage_targets()[0]["id"])
    assert len(ids) >= 10 and set(ratios["target_id"]) == set(ids)
    city_t = targets[targets["zone_id"] == "all"].set_index("target_id")
    city_r = ratios[ratios["zone_id"] == "all"].set_index("target_id")
    computed = [t for t in ids if np.isfinite(city_t.loc[t, "value"])]
    assert len(computed) >= 10
    for tid in ids:
        a, b = city_t.loc[tid, "value"], city_r.loc[tid, "ratio"]
        assert (np.isnan(a) and np.isnan(b)) or a == b, (tid, a, b)  # identical, not merely close
        # both state the same definition (with the clip), parameters and data
        assert city_r.loc[tid, "definition"] in city_t.loc[tid, "definition"], tid
        if np.isfinite(a):
            assert city_t.loc[tid, "parameters"] == city_r.loc[tid, "parameters"], tid
            assert city_t.loc[tid, "data"] == city_r.loc[tid, "data"], tid
    # the zone rows agree too, zone by zone_id
    zt = targets[(targets["zone_id"] != "all") & targets["target_id"].isin(ids)]
    zr = ratios[ratios["zone_id"] != "all"]
    merged = zt.merge(zr, on=["target_id", "zone_id"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["value"] == merged["ratio"]).all()


@pytest.mark.slow
def test_coverage_ratio_gives_the_same_figure(outputs):
    import cimtwin
    from cimtwin.coverage import coverage_ratio

    _, ratios = outputs
    model = cimtwin.load_sample("jinan")
    r = coverage_ratio(model, sensors="rain_gauges", targets="districts", definition="radius", radius_m=2185.0,
                       by="districts", clip_to="study_area")
    city = ratios[(ratios["zone_id"] == "all")].set_index("target_id")
    assert r.set_index("zone_id").loc["all", "ratio"] == city.loc["rain_gauge_coverage_radius", "ratio"]
    assert r.data == city.loc["rain_gauge_coverage_radius", "data"]
