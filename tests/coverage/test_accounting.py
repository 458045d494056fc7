"""Zone accounting: zones by identity, the whole-area row as a union, clip, options (synthetic)."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import cimtwin
from cimtwin.coverage import coverage_ratio
from tests.coverage._coverage_synth import CRS, P, X0, Y0, gdf


def row(table, zone_id):
    return table.set_index("zone_id").loc[zone_id]


@pytest.fixture
def twin_names():
    """Two sub-districts both named 新城街道, in two districts; one gauge in the first."""
    subs = gdf({"name": ["新城街道", "新城街道", "老城街道"], "district": ["甲区", "乙区", "乙区"]},
               [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000), shapely.box(2000, 0, 3000, 1000)])
    gauges = gdf({}, [P(500, 500)])
    return cimtwin.CityModel.from_layers({"subdistricts": subs, "rain_gauges": gauges})


def test_duplicate_zone_names_stay_apart(twin_names):
    r = coverage_ratio(twin_names, sensors="rain_gauges", targets="subdistricts", by="subdistricts",
                       definition="presence")
    rows = r[r["zone"] == "新城街道"]
    assert len(rows) == 2 and rows["zone_id"].is_unique
    assert sorted(rows["parent"]) == ["乙区", "甲区"]
    assert rows.set_index("parent")["ratio"].to_dict() == {"甲区": 1.0, "乙区": 0.0}
    assert row(r, "all")[["covered", "total"]].tolist() == [1.0, 3.0]
    # area shares too: the first 新城街道 is wholly within 2,185 m of the gauge, the second partly
    r = coverage_ratio(twin_names, sensors="rain_gauges", targets="subdistricts", by="subdistricts")
    assert len(r[r["zone"] == "新城街道"]) == 2


def test_zone_id_from_a_code_column_else_the_row_label(twin_names):
    r = coverage_ratio(twin_names, sensors="rain_gauges", targets="subdistricts", by="subdistricts",
                       definition="presence")
    assert list(r["zone_id"]) == ["subdistricts:0", "subdistricts:1", "subdistricts:2", "all"]
    subs = twin_names.layer("subdistricts").assign(code=["370102001", "370103001", "370103002"])
    m = twin_names.with_layer("subdistricts", subs)
    r = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", by="subdistricts", definition="presence")
    assert list(r["zone_id"]) == ["370102001", "370103001", "370103002", "all"]


@pytest.fixture
def overlapping():
    """A 2 km × 1 km target; zones A (x 0–1200) and B (x 800–2000) overlap by 400 m; a gauge at
    x = 1000 in the overlap."""
    target = gdf({"name": ["t"]}, [shapely.box(0, 0, 2000, 1000)])
    zones = gdf({"name": ["A", "B"]}, [shapely.box(0, 0, 1200, 1000), shapely.box(800, 0, 2000, 1000)])
    gauges = gdf({}, [P(1000, 500)])
    return cimtwin.CityModel.from_layers({"districts": target, "management_zones": zones, "rain_gauges": gauges},
                                         kinds={"management_zones": None})


def test_overlapping_zones_count_once_in_all(overlapping):
    r = coverage_ratio(overlapping, sensors="rain_gauges", targets="districts", by="management_zones",
                       radius_m=150.0)
    disk = math.pi * 150**2
    a, b, whole = row(r, "management_zones:0"), row(r, "management_zones:1"), row(r, "all")
    assert a["covered"] == pytest.approx(disk, rel=1e-3) and b["covered"] == pytest.approx(disk, rel=1e-3)
    assert a["total"] == pytest.approx(1.2e6) and b["total"] == pytest.approx(1.2e6)
    # the union: the disk and the 2 km² target once each (the zone sum would say 2·disk / 2.4 km²)
    assert whole["covered"] == pytest.approx(disk, rel=1e-3) and whole["total"] == pytest.approx(2e6)
    plain = coverage_ratio(overlapping, sensors="rain_gauges", targets="districts", radius_m=150.0)
    assert plain["ratio"].iloc[0] == pytest.approx(whole["ratio"], rel=1e-12)


def test_overlapping_zones_on_the_grid_path(overlapping):
    kw = dict(sensors="rain_gauges", targets="districts", radius_m=300.0, method="grid", res_m=10.0,
              geometries=False)
    zoned = coverage_ratio(overlapping, by="management_zones", **kw)
    plain = coverage_ratio(overlapping, **kw)
    assert row(zoned, "all")["ratio"] == pytest.approx(plain["ratio"].iloc[0], rel=1e-12)
    assert row(zoned, "all")["total"] == pytest.approx(2e6, rel=1e-3)


def test_overlapping_targets_count_once(overlapping):
    two = gdf({"name": ["x", "y"]}, [shapely.box(0, 0, 1200, 1000), shapely.box(800, 0, 2000, 1000)])
    r = coverage_ratio(overlapping, sensors="rain_gauges", targets=two, radius_m=300.0)
    assert r["total"].iloc[0] == pytest.approx(2e6) and r["covered"].iloc[0] == pytest.approx(math.pi * 9e4, rel=1e-3)
    assert any("overlapping" in n for n in r.notes)


def test_points_in_overlapping_zones(overlapping):
    pts = gdf({}, [P(1000, 500), P(100, 100), P(1900, 900), P(5000, 5000)])
    r = coverage_ratio(overlapping, sensors="rain_gauges", targets=pts, by="management_zones", radius_m=300.0)
    assert row(r, "management_zones:0")[["covered", "total"]].tolist() == [1.0, 2.0]
    assert row(r, "management_zones:1")[["covered", "total"]].tolist() == [1.0, 2.0]
    # every point once, the one outside both zones included
    assert row(r, "all")[["covered", "total"]].tolist() == [1.0, 4.0]
    assert any("outside every zone" in n for n in r.notes)


def test_population_in_overlapping_zones(overlapping):
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_bounds((X0, Y0, X0 + 2000, Y0 + 1000), res_m=100, crs=CRS)
    pop = np.zeros(spec.shape)
    pop[5, 10] = 100.0  # centre (1050, 450): in both zones, within 300 m
    pop[5, 0] = 50.0    # centre (50, 450): zone A only, not covered
    m = overlapping.with_raster("population", spec.to_dataarray(pop, name="population", attrs={"units": "persons"}))
    r = coverage_ratio(m, sensors="rain_gauges", targets="districts", by="management_zones", radius_m=300.0,
                       weight="population")
    assert row(r, "management_zones:0")[["covered", "total"]].tolist() == [100.0, 150.0]
    assert row(r, "management_zones:1")[["covered", "total"]].tolist() == [100.0, 100.0]
    assert row(r, "all")[["covered", "total"]].tolist() == [100.0, 150.0]


@settings(max_examples=25, deadline=None)
@given(cut=st.floats(200, 1800), width=st.floats(0, 600), gx=st.floats(0, 2000), r=st.floats(50, 900))
def test_all_row_does_not_depend_on_the_zones(cut, width, gx, r):
    """Property: whatever zones (overlapping or not), the whole-area row equals the one without zones."""
    target = gdf({"name": ["t"]}, [shapely.box(0, 0, 2000, 1000)])
    zones = gdf({"name": ["A", "B"]}, [shapely.box(0, 0, cut + width, 1000), shapely.box(cut, 0, 2000, 1000)])
    m = cimtwin.CityModel.from_layers({"districts": target, "z": zones, "rain_gauges": gdf({}, [P(gx, 500)])},
                                      kinds={"z": None})
    plain = coverage_ratio(m, sensors="rain_gauges", targets="districts", radius_m=r)
    zoned = coverage_ratio(m, sensors="rain_gauges", targets="districts", by="z", radius_m=r)
    assert row(zoned, "all")["ratio"] == pytest.approx(plain["ratio"].iloc[0], rel=1e-9, abs=1e-12)
    # the brute-force union: the disk clipped to the target
    expect = shapely.box(0, 0, 2000, 1000).intersection(shapely.Point(gx, 500).buffer(r, 64)).area / 2e6
    assert plain["ratio"].iloc[0] == pytest.approx(expect, rel=1e-9, abs=1e-12)


def test_clip_to(twin_names):
    study = {"bounds": [X0, Y0, X0 + 1500, Y0 + 1000], "crs": CRS}
    m = twin_names.with_metadata(study_area=study)
    kw = dict(sensors="rain_gauges", targets="subdistricts", radius_m=300.0)
    whole = coverage_ratio(m, clip_to=None, **kw)
    clipped = coverage_ratio(m, **kw)  # default: the study area
    assert whole["total"].iloc[0] == pytest.approx(3e6) and clipped["total"].iloc[0] == pytest.approx(1.5e6)
    assert "no clip" in whole["definition"].iloc[0]
    assert "clipped to the study area" in clipped["definition"].iloc[0]
    geom = coverage_ratio(m, clip_to=shapely.box(X0, Y0, X0 + 1000, Y0 + 1000), **kw)
    assert geom["ratio"].iloc[0] == pytest.approx(math.pi * 9e4 / 1e6, rel=1e-3)
    assert "given area" in geom["definition"].iloc[0] and geom.params["clip_to"] == "geometry"
    # presence counts the features whose representative point lies inside: two of three
    pres = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", definition="presence")
    assert pres[["covered", "total"]].iloc[0].tolist() == [1.0, 2.0]
    # a model without a study area: the default clips nothing, and says so
    r = coverage_ratio(twin_names, **kw)
    assert "no clip (the model has no metadata['study_area'])" in r["definition"].iloc[0]
    with pytest.raises(cimtwin.errors.ValidationError, match="clip_to"):
        coverage_ratio(m, clip_to="studyarea", **kw)
    with pytest.raises(cimtwin.errors.ValidationError, match="no subdistricts inside"):
        coverage_ratio(m, clip_to=shapely.box(X0 + 9000, Y0, X0 + 9100, Y0 + 100), **kw)


def test_unknown_option_is_a_type_error_naming_the_valid_ones(twin_names):
    kw = dict(sensors="rain_gauges", targets="subdistricts")
    with pytest.raises(TypeError, match=r"radius_mm.*Did you mean 'radius_m'.*Valid options of 'radius'"):
        coverage_ratio(twin_names, radius_m=300.0, radius_mm=3.0, **kw)
    with pytest.raises(TypeError, match=r"'threshold_dbm' belongs to definition\(s\) \['rsrp'\]"):
        coverage_ratio(twin_names, definition="presence", threshold_dbm=-100.0, **kw)
    with pytest.raises(TypeError, match="max_distance_m"):
        coverage_ratio(twin_names, definition="thiessen", max_distance_m=5.0, **kw)


def test_data_and_parameters_are_reported(twin_names):
    r = coverage_ratio(twin_names, sensors="rain_gauges", targets="subdistricts", by="subdistricts", radius_m=300.0)
    assert r.data == "rain_gauges: 1 features; subdistricts: 3 features; subdistricts: 3 zones"
    assert r.parameters() == "radius_m=300; method=vector; clip_to=study_area"


@pytest.mark.parametrize("family", ["line", "polygon"])
def test_clip_targets_equals_per_feature_intersection(family):
    """Features the clip cuts in several pieces keep all their pieces (and only theirs)."""
    import geopandas as gpd

    from cimtwin.coverage.accounting import clip_targets

    rng = np.random.default_rng(3)
    # a comb-shaped area: every long feature crossing it is cut into several pieces
    area = shapely.union_all([shapely.box(x, 0, x + 40, 1000) for x in range(0, 1000, 100)])
    xs, ys = rng.uniform(0, 1000, 60), rng.uniform(0, 1000, 60)
    if family == "line":
        geoms = [shapely.LineString([(x - 300, y), (x + 300, y + 20)]) for x, y in zip(xs, ys)]
    else:
        geoms = [shapely.box(x - 150, y, x + 150, y + 30) for x, y in zip(xs, ys)]
    # every third feature lies inside one tooth: kept whole, in its place among the cut ones
    for k, (x, y) in enumerate(zip(rng.integers(0, 10, 20) * 100, rng.uniform(10, 900, 20))):
        geoms.insert(3 * k, shapely.LineString([(x + 5, y), (x + 30, y + 40)]) if family == "line"
                     else shapely.box(x + 5, y, x + 30, y + 40))
    n = len(geoms)
    geoms.append(shapely.box(5000, 5000, 5001, 5001) if family == "polygon"
                 else shapely.LineString([(5000, 5000), (5001, 5001)]))  # outside: dropped
    gdf = gpd.GeoDataFrame({"fid": np.arange(len(geoms))}, geometry=geoms, crs="EPSG:4527")
    out = clip_targets(gdf, family, area, by_feature=False, name="t", clip_words="clipped to the given area")
    assert out["fid"].tolist() == list(range(n))
    measure = shapely.length if family == "line" else shapely.area
    expect = measure(shapely.intersection(np.asarray(geoms[:n], dtype=object), area))
    np.testing.assert_allclose(measure(out.geometry.to_numpy()), expect, rtol=1e-12)
    assert all(out.geometry.iloc[3 * k].equals(geoms[3 * k]) for k in range(20))
    assert sum(len(shapely.get_parts(g)) for g in out.geometry) > 60  # several pieces were merged back


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=4), min_size=2,
                max_size=6),
       st.sampled_from([0.0, 1e-10, 1e-7, 1e-3]), st.sampled_from([0.0, 3.5e6]), st.integers(0, 10**6))
def test_line_overlap_pairs_equal_geos_relate_on_every_pair(lines, shift, offset, seed):
    """The numba pre-test of the line overlaps never changes GEOS's answer, near-collinear and self-crossing lines too."""
    from cimtwin.coverage.accounting import _overlap_pairs

    rng = np.random.default_rng(seed)
    geoms = []
    for pts in lines:
        xy = np.asarray(pts, dtype="float64") * 1000.0 + offset
        xy += (rng.random(xy.shape) < 0.4) * shift * rng.choice([-1.0, 1.0], xy.shape)
        geoms.append(shapely.LineString(xy))
    geoms.append(shapely.MultiLineString([geoms[0], geoms[-1]]))
    geoms = np.asarray(geoms, dtype=object)
    a, b = _overlap_pairs(geoms, "line")
    i, j = np.triu_indices(len(geoms), 1)
    hit = shapely.relate_pattern(geoms[i], geoms[j], "1********")
    assert set(zip(a.tolist(), b.tolist())) == set(zip(i[hit].tolist(), j[hit].tolist()))
