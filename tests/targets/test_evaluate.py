"""evaluate() on a hand-checked synthetic town: every value worked out by hand."""

import pandas as pd
import pytest

from cimtwin.errors import InputTypeError, LayerNotFoundError, ValidationError
from cimtwin.targets import evaluate, load_catalog
from cimtwin.targets.evaluate import run_targets

# Without buildings, camera footprints are exact polygons (no occlusion raster to compile).
FAST = ["video_channels_connected", "smart_camera_channels", "key_site_video_coverage",
        "key_public_area_networking", "video_resources_aggregated", "rain_gauge_coverage_presence",
        "rain_gauge_coverage_radius", "reservoir_video_coverage", "hydrology_flow_automation", "sites_5g_2023",
        "iot_devices_million", "gazette_roads_named"]


@pytest.fixture(scope="module")
def table(hand_model):
    return evaluate(hand_model.without_layer("buildings"), ids=FAST)


def _all(table):
    return table[table["zone"] == "all"].set_index("target_id")


def test_columns_and_one_city_row_per_target(table):
    for col in ("target_id", "definition", "value", "target", "met", "gap", "year", "zone", "reason"):
        assert col in table.columns
    assert sorted(_all(table).index) == sorted(FAST)
    assert str(table["met"].dtype) == "boolean"


def test_values_by_hand(table):
    t = _all(table)
    assert t.loc["video_channels_connected", "value"] == 3          # cameras 1, 2, 4 connected
    assert t.loc["smart_camera_channels", "value"] == 2             # smart and connected: 1, 4
    assert t.loc["key_site_video_coverage", "value"] == pytest.approx(1.0)   # inside the 300 m disc
    assert t.loc["key_public_area_networking", "value"] == pytest.approx(0.5)  # cameras 2 (yes), 3 (no)
    assert t.loc["video_resources_aggregated", "value"] == pytest.approx(0.75)
    assert t.loc["rain_gauge_coverage_presence", "value"] == pytest.approx(0.5)  # s1, s3 of 4
    assert t.loc["hydrology_flow_automation", "value"] == pytest.approx(0.5)
    assert t.loc["sites_5g_2023", "value"] == 3
    assert t.loc["gazette_roads_named", "value"] == 2  # seq 1 is split in two segments: counted once


def test_met_gap_and_units(table):
    t = _all(table)
    row = t.loc["key_site_video_coverage"]
    assert row["unit"] == "fraction" and row["target"] == 1.0 and bool(row["met"]) and row["gap"] == 0
    row = t.loc["sites_5g_2023"]
    assert row["target"] == 40000 and not row["met"] and row["gap"] == 40000 - 3
    assert t.loc["gazette_roads_named", "comparator"] == "="
    assert not t.loc["gazette_roads_named", "met"]


def test_missing_layers_stay_with_a_reason(table):
    t = _all(table)
    assert pd.isna(t.loc["iot_devices_million", "value"])
    assert pd.isna(t.loc["iot_devices_million", "met"])
    assert t.loc["iot_devices_million", "reason"] == "no iot_devices layer"
    assert t.loc["reservoir_video_coverage", "reason"] == "no reservoirs layer"


def test_zone_breakdown(table):
    zones = table[(table["target_id"] == "video_resources_aggregated") & (table["zone"] != "all")]
    assert dict(zip(zones["zone"], zones["value"])) == pytest.approx({"甲区": 1.0, "乙区": 2 / 3})
    assert (zones["target"] == 1.0).all()
    # A city-wide count has no per-district target.
    counts = table[(table["target_id"] == "sites_5g_2023") & (table["zone"] != "all")]
    assert dict(zip(counts["zone"], counts["value"])) == {"甲区": 1.0, "乙区": 2.0}
    assert counts["target"].isna().all() and counts["met"].isna().all()


def test_building_targets(hand_model):
    t = _all(evaluate(hand_model, ids=["fortification_vii", "fortification_key_uses", "school_broadband_100m",
                                       "fortification_vs_zoning"]))
    assert t.loc["fortification_vii", "value"] == pytest.approx(0.75)       # intensities 6, 7, 8, 7
    assert t.loc["fortification_key_uses", "value"] == pytest.approx(0.5)  # school 8 ok, hospital 7 not
    assert "bandwidth_mbps" in t.loc["school_broadband_100m", "reason"]
    assert t.loc["fortification_vs_zoning", "reason"].startswith("no seismic_zoning layer")


def test_strict_comparator(hand_model):
    cat = load_catalog()
    cat = cat[cat["id"] == "hydrology_flow_automation"].assign(comparator=">", value=0.5)
    t = _all(evaluate(hand_model, catalog=cat))
    assert t.loc["hydrology_flow_automation", "value"] == 0.5 and not t.loc["hydrology_flow_automation", "met"]


def test_year_filter(hand_model):
    t = evaluate(hand_model.without_layer("buildings"), year=2023, zones=False)
    assert set(t["year"]) == {2023} and (t["zone"] == "all").all()
    assert "sites_5g_2023" in set(t["target_id"])
    with pytest.raises(ValidationError, match="2024"):
        evaluate(hand_model, year=2024)


def test_bad_input(hand_model):
    with pytest.raises(InputTypeError):
        evaluate("jinan")
    with pytest.raises(LayerNotFoundError, match="sites_5g_2023"):
        evaluate(hand_model, ids=["sites_5g_2032"])


def test_run_keeps_coverage_results(hand_model):
    run = run_targets(hand_model.without_layer("buildings"), ids=["rain_gauge_coverage_radius"])
    result = run.results["rain_gauge_coverage_radius"]
    assert result.gaps is not None and "ratio" in result.columns
