"""networking_rate and count_indicators: catalogue ids, nulls never counted as connected (synthetic)."""

import pandas as pd
import pytest

from cimtwin.coverage import count_indicators, networking_rate
from cimtwin.errors import SchemaError


def test_count_indicators_use_the_catalogue_ids_and_conditions(city):
    t = count_indicators(city).set_index("target_id")
    assert list(t.index) == ["video_channels_connected", "smart_camera_channels", "sites_5g_2023"]
    # cameras: (connected, smart) = (True, True), (False, False)
    assert t.loc["video_channels_connected", "value"] == 1 and t.loc["smart_camera_channels", "value"] == 1
    cams = city.layer("cameras").assign(connected=pd.array([None, True], dtype="boolean"))
    t = count_indicators(city.with_layer("cameras", cams)).set_index("target_id")
    # the smart camera's status is unknown: not counted, reported
    assert t.loc["smart_camera_channels", "value"] == 0 and t.loc["smart_camera_channels", "unknown"] == 1


def test_networking_rate_leaves_unknown_status_out(city):
    r = networking_rate(city, by="subdistricts").set_index("zone_id")
    # the camera in 重点公共区域 (sub-district B) is not connected
    assert r.loc["all", ["connected", "total", "unknown"]].tolist() == [0.0, 1.0, 0.0]
    assert r.loc["subdistricts:1", "zone"] == "B"
    cams = city.layer("cameras").assign(connected=pd.array([True, None], dtype="boolean"))
    r = networking_rate(city.with_layer("cameras", cams)).set_index("zone_id")
    assert r.loc["all", ["connected", "total", "unknown"]].tolist() == [0.0, 0.0, 1.0]
    assert pd.isna(r.loc["all", "ratio"])  # no known status: no ratio, never 100 %


def test_networking_rate_needs_the_status_column(city):
    import cimtwin

    cams = city.layer("cameras").drop(columns="connected")
    m = cimtwin.model.CityModel(crs=city.crs, layers={"cameras": cams, "key_areas": city.layer("key_areas")},
                                rasters={}, tables={}, metadata={}, kinds={"cameras": "cameras",
                                                                           "key_areas": "key_areas"})
    with pytest.raises(SchemaError, match="connected"):
        networking_rate(m)
