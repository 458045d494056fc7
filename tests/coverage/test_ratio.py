"""coverage_ratio: every definition against hand computations on a synthetic city."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cimtwin
from tests.coverage._coverage_synth import CRS, P, X0, Y0, gdf
from cimtwin.coverage import DEFAULT_GAUGE_RADIUS_M, CoverageResult, coverage_ratio
from cimtwin.errors import LayerNotFoundError, SchemaError, ValidationError

COLUMNS = ["zone", "zone_id", "parent", "covered", "total", "unit", "ratio", "definition"]


def row(table, zone):
    return table.set_index("zone").loc[zone]


def test_result_is_a_dataframe_with_geometries(city):
    r = coverage_ratio(city, sensors="cameras", targets="key_areas", by="subdistricts", category="重要部位")
    assert isinstance(r, pd.DataFrame) and isinstance(r, CoverageResult)
    assert list(r.columns[:8]) == COLUMNS and list(r.table.columns[:8]) == COLUMNS
    assert type(r.table) is pd.DataFrame and type(r[["zone"]]) is pd.DataFrame
    assert r["ratio"].between(0, 1).all()
    # quarter disk of 100 m inside the 200 x 300 m key area
    a = row(r, "A")
    assert a["covered"] == pytest.approx(math.pi * 100**2 / 4, rel=1e-9)
    assert a["total"] == pytest.approx(60_000) and a["unit"] == "m2"
    assert row(r, "all")["ratio"] == pytest.approx(a["ratio"])
    assert isinstance(r.covered, gpd.GeoDataFrame) and isinstance(r.gaps, gpd.GeoDataFrame)
    assert r.covered.area.sum() + r.gaps.area.sum() == pytest.approx(60_000, rel=1e-9)
    assert any("exact sectors" in n for n in r.notes)


def test_lines_by_length_and_points_by_count(city):
    r = coverage_ratio(city, sensors="cameras", targets="roads", by="subdistricts")
    assert row(r, "B")["covered"] == pytest.approx(100.0, rel=1e-4)  # the 50 m dome camera
    assert row(r, "B")["unit"] == "m" and row(r, "all")["total"] == pytest.approx(2000.0)
    pts = gdf({}, [P(500, 550), P(500, 450), P(1500, 530), P(1900, 900)])
    r = coverage_ratio(city, sensors="cameras", targets=pts, by="subdistricts")
    assert row(r, "A")[["covered", "total"]].tolist() == [1.0, 2.0]
    assert row(r, "B")[["covered", "total"]].tolist() == [1.0, 2.0]
    assert row(r, "all")["unit"] == "points"


def test_radius_points_exact_and_polygons(city):
    pts = gdf({}, [P(500, 800), P(500, 801)])
    r = coverage_ratio(city, sensors="rain_gauges", targets=pts, radius_m=300.0)
    assert r["covered"].iloc[0] == 1.0 and r["definition"].iloc[0].startswith("radius;")
    r = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", by="subdistricts", radius_m=300.0)
    assert row(r, "A")["covered"] == pytest.approx(math.pi * 300**2, rel=1e-3)
    assert row(r, "B")["covered"] == 0.0


def test_gauge_default_radius_is_wmo(city):
    assert DEFAULT_GAUGE_RADIUS_M == pytest.approx(2185.1, abs=0.1)
    r = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts")
    assert r.params["radius_m"] == pytest.approx(DEFAULT_GAUGE_RADIUS_M)
    assert r["ratio"].iloc[0] == pytest.approx(1.0)


def test_presence_and_thiessen(city):
    r = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", by="districts", definition="presence")
    assert row(r, "D")[["covered", "total"]].tolist() == [1.0, 2.0] and row(r, "D")["unit"] == "features"
    r = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", by="subdistricts",
                       definition="thiessen", area_km2_per_gauge=1.5)
    # one gauge: its Thiessen cell is the whole 2 km² area, larger than 1.5 km² -> nothing compliant
    assert r["covered"].sum() == 0.0
    assert row(r, "A")["largest_cell_km2"] == pytest.approx(2.0)
    assert row(r, "A")["km2_per_gauge"] == pytest.approx(1.0)


def test_thiessen_two_gauges():
    zones = gdf({"name": ["A", "B"]}, [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 3000, 1000)])
    gauges = gdf({}, [P(500, 500), P(2000, 500)])
    m = cimtwin.CityModel.from_layers({"subdistricts": zones, "rain_gauges": gauges})
    # cells split at x = 1250: 1.25 km² and 1.75 km²; only the first is <= 1.5 km²
    r = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", by="subdistricts", definition="thiessen",
                       area_km2_per_gauge=1.5)
    assert row(r, "A")["ratio"] == pytest.approx(1.0)
    assert row(r, "B")["covered"] == pytest.approx(250 * 1000)
    assert row(r, "all")["largest_cell_km2"] == pytest.approx(1.75)


def test_rsrp_disk_matches_the_link_budget(city):
    r = coverage_ratio(city, sensors="sites_5g", targets="subdistricts", res_m=10.0)
    # NLOS UMa 3.5 GHz, 60 dBm/100 MHz: RSRP = -105 dBm where PL = 129.847 dB
    d = np.linspace(300, 700, 40001)
    pl = cimtwin.coverage.path_loss_38901(d, frequency_ghz=3.5, h_bs_m=25.0)
    radius = d[np.argmin(np.abs(pl - (60 - 10 * np.log10(12 * 273) + 105)))]
    assert r["covered"].iloc[0] == pytest.approx(math.pi * radius**2, rel=0.02)
    assert r.grid.name == "rsrp_dbm" and r.grid.attrs["units"] == "dBm"


def test_mcl_on_pipes_uses_deep_coverage_margin():
    pipes = gdf({"kind": ["water"], "depth_m": [2.0]}, [shapely.LineString([(0, 0), (6000, 0)])])
    sites = gdf({"height_m": [30.0], "frequency_mhz": [800.0], "eirp_dbm": [46.0], "bandwidth_mhz": [0.2]}, [P(0, 0)])
    m = cimtwin.CityModel.from_layers({"pipes": pipes, "sites_nbiot": sites})
    deep = coverage_ratio(m, sensors="sites_nbiot", targets="pipes", res_m=20.0)
    shallow = coverage_ratio(m, sensors="sites_nbiot", targets="pipes", res_m=20.0, penetration_db=0.0)
    assert deep.params["penetration_db"] == 30.0 and deep["definition"].iloc[0].startswith("mcl;")
    assert 0 < deep["ratio"].iloc[0] < shallow["ratio"].iloc[0] <= 1


def test_population_weight(city):
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_bounds((X0, Y0, X0 + 2000, Y0 + 1000), res_m=100, crs=CRS)
    pop = np.zeros(spec.shape)
    pop[5, 5] = 100.0   # centre (550, 450): within 300 m of the gauge
    pop[5, 15] = 50.0   # centre (1550, 450): not
    m = city.with_raster("population", spec.to_dataarray(pop, name="population", attrs={"units": "persons"}))
    r = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", radius_m=300.0, weight="population")
    assert r[["covered", "total"]].iloc[0].tolist() == [100.0, 150.0] and r["unit"].iloc[0] == "persons"


def test_reprojected_targets_are_noted(city):
    pts = gdf({}, [P(500, 550)]).to_crs(4326)
    r = coverage_ratio(city, sensors="cameras", targets=pts)
    assert r["covered"].iloc[0] == 1.0
    assert any("reprojected" in n for n in r.notes)


def test_bad_inputs(city):
    with pytest.raises(ValidationError, match=r"radius.*presence.*network"):
        coverage_ratio(city, sensors="cameras", targets="key_areas", definition="visibility")
    with pytest.raises(ValidationError, match="radius_m"):
        coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", radius_m=0)
    with pytest.raises(ValidationError, match="radius_m"):
        coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", radius_m=-5)
    with pytest.raises(ValidationError, match="threshold_dbm"):
        coverage_ratio(city, sensors="sites_5g", targets="subdistricts", threshold_dbm=5)
    with pytest.raises(ValidationError, match="empty"):
        coverage_ratio(city, sensors="cameras", targets=gdf({}, []))
    with pytest.raises(LayerNotFoundError):
        coverage_ratio(city, sensors="cameras", targets="reservoirs")
    with pytest.raises(ValidationError, match="category"):
        coverage_ratio(city, sensors="cameras", targets="key_areas", category="重点水库")
    with pytest.raises(ValidationError, match="definition"):
        coverage_ratio(city, sensors="roads", targets="key_areas")
    with pytest.raises(ValidationError, match="polygon"):
        coverage_ratio(city, sensors="rain_gauges", targets="roads", definition="presence")


def test_cameras_without_fov_error_or_assume_omni(city):
    cams = city.layer("cameras")
    cams.loc[0, "azimuth_deg"] = np.nan
    m = city.with_layer("cameras", cams)
    with pytest.raises(SchemaError, match=r"\[0\].*assume_omni"):
        coverage_ratio(m, sensors="cameras", targets="key_areas")
    r = coverage_ratio(m, sensors="cameras", targets="key_areas", category="重要部位", assume_omni=True)
    # the 100 m disk around (500, 500) inside the 200 x 300 box (400..600, 400..700): a full
    # 200 m wide strip from y=400 to 600 clipped by the circle
    expect = shapely.box(400, 400, 600, 700).intersection(shapely.Point(500, 500).buffer(100, 256)).area
    assert r["covered"].iloc[0] == pytest.approx(expect, rel=1e-4)
    assert any("omnidirectional" in n for n in r.notes)


def test_grid_method_agrees_with_vector(city):
    from cimtwin import grid
    v = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", radius_m=300.0, method="vector")
    g = coverage_ratio(city, sensors="rain_gauges", targets="subdistricts", radius_m=300.0, method="grid", res_m=5.0)
    assert g["ratio"].iloc[0] == pytest.approx(v["ratio"].iloc[0], rel=0.01)


def test_network_definition():
    roads = gdf({"name": ["a", "b"], "road_class": ["arterial", "arterial"], "width_m": [20.0, 20.0]},
                [shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(1000, 0), (1000, 1000)])])
    sensors = gdf({}, [P(0, 0)])
    targets = gdf({}, [P(900, 0), P(1000, 300), P(1000, 900)])
    m = cimtwin.CityModel.from_layers({"roads": roads, "smart_poles": sensors, "targets_pts": targets},
                                      kinds={"targets_pts": None})
    r = coverage_ratio(m, sensors="smart_poles", targets="targets_pts", definition="network", max_distance_m=1500.0)
    # network distances 900, 1300, 1900 m
    assert r[["covered", "total"]].iloc[0].tolist() == [2.0, 3.0] and r["definition"].iloc[0].startswith("network;")


def test_viewshed_occluded_by_a_building():
    """A wall of buildings between a camera and half its sector hides that half (grid core viewshed)."""
    cams = gdf({"height_m": [3.0], "azimuth_deg": [90.0], "hfov_deg": [90.0], "range_m": [80.0]}, [P(0, 50)])
    wall = gdf({"height_m": [20.0], "use": ["office"], "fortification_intensity": [7]},
               [shapely.box(20, 50, 30, 120)])
    area = gdf({"name": ["k"], "category": ["重要部位"]}, [shapely.box(0, 0, 100, 100)])
    m = cimtwin.CityModel.from_layers({"cameras": cams, "buildings": wall, "key_areas": area})
    free = coverage_ratio(m.without_layer("buildings"), sensors="cameras", targets="key_areas")
    hidden = coverage_ratio(m, sensors="cameras", targets="key_areas", res_m=1.0)
    assert hidden.params["occlusion"] == "buildings" and hidden.grid.name == "camera_count"
    assert 0 < hidden["covered"].iloc[0] < 0.75 * free["covered"].iloc[0]


def test_viewshed_with_a_dem_ridge():
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_bounds((X0, Y0, X0 + 200, Y0 + 100), res_m=2.0, crs=CRS)
    dem = np.zeros(spec.shape, dtype="float32")
    dem[:, 50:52] = 30.0  # a ridge at x = 100..104 m
    cams = gdf({"height_m": [5.0], "azimuth_deg": [90.0], "hfov_deg": [60.0], "range_m": [150.0]}, [P(40, 50)])
    area = gdf({"name": ["k"], "category": ["重要部位"]}, [shapely.box(110, 0, 200, 100)])
    m = cimtwin.CityModel.from_layers({"cameras": cams, "key_areas": area},
                                      rasters={"dem": spec.to_dataarray(dem, name="dem", attrs={"units": "m"})})
    r = coverage_ratio(m, sensors="cameras", targets="key_areas", res_m=2.0)
    assert r.params["occlusion"] == "dem"
    assert r["covered"].iloc[0] == 0.0  # everything behind the ridge is hidden
    r2 = coverage_ratio(m, sensors="cameras", targets=gdf({}, [P(80, 50), P(150, 50)]), res_m=2.0)
    assert r2[["covered", "total"]].iloc[0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("sensors, targets, definition", [
    ("sites_nbiot", "pipes", "mcl"), ("sites_nbiot", "roads", "mcl"), ("sites_5g", "districts", "rsrp"),
    ("cameras", "key_areas", "viewshed")])
def test_shared_fields_give_the_fresh_figures(sensors, targets, definition):
    """Fields shared between targets of one model equal a computation on a model of its own."""
    sample = cimtwin.load_sample("jinan")
    others = {"mcl": [("sites_nbiot", "roads"), ("sites_nbiot", "pipes")], "rsrp": [("sites_5g", "subdistricts")],
              "viewshed": [("cameras", "key_areas")]}[definition]
    for s, t in others:  # fill the model's shared results first
        coverage_ratio(sample, sensors=s, targets=t, definition=definition)
    shared = coverage_ratio(sample, sensors=sensors, targets=targets, definition=definition)
    fresh = coverage_ratio(cimtwin.load_sample("jinan"), sensors=sensors, targets=targets, definition=definition)
    pd.testing.assert_frame_equal(shared.table, fresh.table)
    np.testing.assert_array_equal(shared.grid.values, fresh.grid.values)
    shared.grid.values[:] = 0  # a caller's edit never reaches the shared field
    again = coverage_ratio(sample, sensors=sensors, targets=targets, definition=definition)
    pd.testing.assert_frame_equal(again.table, fresh.table)


@pytest.mark.parametrize("sensors, targets, definition", [("sites_nbiot", "pipes", "mcl"),
                                                          ("cameras", "rivers", "viewshed"),
                                                          ("cameras", "key_areas", "viewshed"),
                                                          ("sites_5g", "districts", "rsrp")])
def test_raster_covers_give_one_figure_with_or_without_geometries(sensors, targets, definition):
    """Measured on the grid (no geometries) equals clipping by the mask's polygons, lines and polygons."""
    sample = cimtwin.load_sample("jinan")
    grid = coverage_ratio(sample, sensors=sensors, targets=targets, definition=definition, geometries=False)
    overlay = coverage_ratio(sample, sensors=sensors, targets=targets, definition=definition, geometries=True)
    assert grid.gaps is None and overlay.gaps is not None
    for col in ("covered", "total"):
        np.testing.assert_allclose(grid[col].to_numpy(), overlay[col].to_numpy(), rtol=1e-9)
