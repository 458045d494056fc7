"""Missing data is never compliance: absent or all-null inputs are n/a, partly missing ones are
computed on the known rows with the unknown share reported (hand-checked synthetic town)."""

import pandas as pd
import pytest

import cimtwin
from cimtwin.targets import evaluate

CAMERA_IDS = ["video_channels_connected", "smart_camera_channels", "video_resources_aggregated",
              "key_public_area_networking"]


def _all(table):
    return table[table["zone"] == "all"].set_index("target_id")


def _with_connected(model, values):
    cams = model.layer("cameras").copy()
    cams["connected"] = pd.array(values, dtype="boolean")
    return model.without_layer("buildings").with_layer("cameras", cams)


def test_all_null_connected_is_not_applicable(hand_model):
    m = _with_connected(hand_model, [None] * 4)
    t = _all(evaluate(m, year=2021))
    row = t.loc["video_resources_aggregated"]
    assert pd.isna(row["value"]) and pd.isna(row["met"]) and row["met"] is not True
    assert "only nulls" in row["reason"]
    t = _all(evaluate(m, ids=CAMERA_IDS))
    assert t["value"].isna().all() and t["met"].isna().all()


def test_absent_connected_column_is_not_applicable(hand_model):
    # a saved model read back (read_model adds no defaults) whose cameras have no `connected`
    cams = hand_model.layer("cameras").drop(columns="connected")
    layers = {n: hand_model.layer(n) for n in ("districts", "key_areas")}
    m = cimtwin.model.CityModel(crs=hand_model.crs, layers={**layers, "cameras": cams}, rasters={}, tables={},
                                metadata={}, kinds={"cameras": "cameras", "districts": "districts",
                                                    "key_areas": "key_areas"})
    t = _all(evaluate(m, ids=CAMERA_IDS))
    for tid in CAMERA_IDS:
        assert pd.isna(t.loc[tid, "value"]) and pd.isna(t.loc[tid, "met"]), tid
        assert "connected" in t.loc[tid, "reason"], tid


def test_partly_missing_values_use_the_known_rows(hand_model):
    # cameras 1 and 4 connected, 2 unknown, 3 not connected
    m = _with_connected(hand_model, [True, None, False, True])
    t = evaluate(m, ids=CAMERA_IDS)
    city = _all(t)
    share = city.loc["video_resources_aggregated"]
    assert share["value"] == pytest.approx(2 / 3) and share["unknown_share"] == pytest.approx(0.25)
    assert "1 of 4" in share["definition"] and not share["met"]
    # counts: the unknown camera is not counted as connected
    assert city.loc["video_channels_connected", "value"] == 2
    assert city.loc["video_channels_connected", "unknown_share"] == pytest.approx(0.25)
    # networking in 公共区B: camera 2 unknown, camera 3 not connected -> 0 of 1 known
    net = city.loc["key_public_area_networking"]
    assert net["value"] == 0.0 and net["unknown_share"] == pytest.approx(0.5)
    # zone rows: 甲区 holds camera 1 (True), 乙区 cameras 2 (unknown), 3 (False), 4 (True)
    zones = t[(t["target_id"] == "video_resources_aggregated") & (t["zone"] != "all")].set_index("zone")
    assert zones["value"].to_dict() == pytest.approx({"甲区": 1.0, "乙区": 0.5})


def test_every_row_carries_definition_parameters_and_data(hand_model):
    t = _all(evaluate(hand_model.without_layer("buildings"), ids=["rain_gauge_coverage_radius",
                                                                  "video_channels_connected"]))
    radius = t.loc["rain_gauge_coverage_radius"]
    assert "radius; no clip" in radius["definition"]
    assert "radius_m=2185" in radius["parameters"] and "districts: 2 features" in radius["data"]
    assert t.loc["video_channels_connected", "data"] == "cameras: 4 features"


def test_cameras_added_without_connected_stay_unknown(hand_model):
    # the public path: a planner's cameras layer without `connected`, added with with_layer;
    # the schema fills the absent flag with unknowns, never with True
    cams = hand_model.layer("cameras").drop(columns=["connected", "is_smart"])
    m = hand_model.without_layer("buildings").with_layer("cameras", cams)
    assert m.layer("cameras")["connected"].isna().all()
    row = _all(evaluate(m, year=2021)).loc["video_resources_aggregated"]
    assert pd.isna(row["value"]) and pd.isna(row["met"]) and row["met"] is not True
