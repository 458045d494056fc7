"""evaluate() with a study area in the metadata: area/length targets cut to it (synthetic town)."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.targets import evaluate

from . import _town

IDS = ["rain_gauge_coverage_radius", "rain_gauge_coverage_presence", "river_video_coverage", "sites_5g_2023"]
# The town (x 0-4000 m, y 0-2000 m) plus a third district 10 km east that has no sensor at all.
STUDY = [_town.X0, _town.Y0, _town.X0 + 4000.0, _town.Y0 + 2000.0]


@pytest.fixture(scope="module")
def model(hand_model):
    districts = _town.gdf({"name": ["甲区", "乙区", "丙区"]},
                          [_town.box(0, 0, 2000, 2000), _town.box(2000, 0, 4000, 2000),
                           _town.box(10_000, 0, 12_000, 2000)])
    # a river running from inside the town to 7.9 km east; one dome watches x 500-1500 m of it
    rivers = _town.gdf({"name": ["某河"]}, [shapely.LineString([(100, 1000), (7900, 1000)])])
    cameras = _town.gdf({"height_m": [8.0], "azimuth_deg": [np.nan], "hfov_deg": [360.0], "range_m": [500.0],
                         "connected": [True], "is_smart": [False]}, [shapely.Point(1000, 1000)])
    m = (hand_model.without_layer("buildings").with_layer("districts", districts)
         .with_layer("rivers", rivers).with_layer("cameras", cameras))
    return m.with_metadata(study_area={"bounds": STUDY, "crs": _town.CRS, "note": "synthetic test town"})


def _rows(table, target_id):
    return table[table["target_id"] == target_id].set_index("zone")


def test_area_and_length_targets_are_cut_to_the_study_area(model):
    t = evaluate(model, ids=IDS)
    radius = _rows(t, "rain_gauge_coverage_radius")
    # both town districts lie within 2,185 m of a gauge; 丙区 is outside the study area and drops out
    assert radius.loc["all", "value"] == pytest.approx(1.0)
    assert set(radius.index) == {"all", "甲区", "乙区"}
    assert "clipped to the study area" in radius.loc["all", "definition"]
    river = _rows(t, "river_video_coverage")
    assert river.loc["all", "value"] == pytest.approx(1000.0 / 3900.0, rel=1e-3)  # river x 100-4000 m inside
    assert "clipped to the study area" in river.loc["all", "definition"]


def test_counts_are_not_cut_and_presence_counts_the_features_inside(model):
    t = evaluate(model, ids=IDS)
    presence = _rows(t, "rain_gauge_coverage_presence")
    # the four sub-districts all lie inside the study area: s1 and s3 hold a gauge
    assert presence.loc["all", "value"] == pytest.approx(0.5)
    assert "clipped to the study area" in presence.loc["all", "definition"]
    count = _rows(t, "sites_5g_2023").loc["all"]
    assert count["value"] == 3 and "study area" not in count["definition"]


def test_without_the_study_area(model, hand_model):
    for t in (evaluate(model, ids=IDS, clip_to=None),
              evaluate(model.with_metadata(study_area=None), ids=IDS)):
        radius = _rows(t, "rain_gauge_coverage_radius")
        assert radius.loc["all", "value"] == pytest.approx(2.0 / 3.0)  # 丙区 (a third of the area) uncovered
        assert radius.loc["丙区", "value"] == pytest.approx(0.0)
        assert "no clip" in radius.loc["all", "definition"]
        assert _rows(t, "river_video_coverage").loc["all", "value"] == pytest.approx(1000.0 / 7800.0, rel=1e-3)


def test_study_area_flag_is_a_deprecated_alias(model):
    with pytest.warns(DeprecationWarning, match="clip_to"):
        old = evaluate(model, ids=["rain_gauge_coverage_radius"], study_area=False)
    new = evaluate(model, ids=["rain_gauge_coverage_radius"], clip_to=None)
    assert old["value"].tolist() == new["value"].tolist()


def test_clip_to_a_geometry(model):
    # the western district only: gauge s1 at (500, 1000) covers it all
    t = evaluate(model, ids=["rain_gauge_coverage_radius"], clip_to=shapely.box(_town.X0, _town.Y0, _town.X0 + 2000, _town.Y0 + 2000))
    radius = _rows(t, "rain_gauge_coverage_radius")
    assert set(radius.index) == {"all", "甲区"} and radius.loc["all", "value"] == pytest.approx(1.0)
    assert "clipped to the given area" in radius.loc["all", "definition"]


def test_study_area_given_in_another_crs(model):
    lonlat = gpd.GeoSeries([shapely.box(*STUDY)], crs=_town.CRS).to_crs(4326).total_bounds
    m = model.with_metadata(study_area={"bounds": [float(v) for v in lonlat], "crs": "EPSG:4326"})
    radius = _rows(evaluate(m, ids=["rain_gauge_coverage_radius"]), "rain_gauge_coverage_radius")
    assert radius.loc["all", "value"] == pytest.approx(1.0)
    assert "丙区" not in radius.index


def test_targets_wholly_outside_the_study_area(model):
    far = [_town.X0 + 50_000, _town.Y0 + 50_000, _town.X0 + 51_000, _town.Y0 + 51_000]
    t = evaluate(model.with_metadata(study_area={"bounds": far}), ids=["river_video_coverage"])
    row = _rows(t, "river_video_coverage").loc["all"]
    assert np.isnan(row["value"]) and "no rivers inside the study area" in row["reason"]


def test_bad_study_area(model):
    with pytest.raises(ValidationError, match="study_area"):
        evaluate(model.with_metadata(study_area={"bounds": [1, 2, 3]}), ids=IDS)
    with pytest.raises(ValidationError, match="empty"):
        evaluate(model.with_metadata(study_area={"bounds": [5, 0, 1, 1]}), ids=IDS)
    with pytest.raises(InputTypeError, match="study_area"):
        evaluate(model, ids=IDS, study_area="yes")
