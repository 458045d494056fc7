"""The embedded Jinan sample: completeness, the gazette roads, the real districts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cimtwin
from cimtwin.errors import LayerNotFoundError
from cimtwin.model.sample import sample_path
from cimtwin.model.schema import LAYER_SCHEMAS, RASTER_SCHEMAS
from cimtwin.model.validation import validate_layer

NOTICE = Path(__file__).resolve().parents[2] / "sample_data" / "jinan" / "road_notice_2021_62.txt"
JINAN_DISTRICTS = {"历下区", "市中区", "槐荫区", "天桥区", "历城区", "长清区", "章丘区", "济阳区",
                   "莱芜区", "钢城区", "平阴县", "商河县"}

pytestmark = pytest.mark.skipif(not (Path(cimtwin.__file__).resolve().parent.parent / "sample_data"
                                     / "jinan.cimtwin" / "manifest.json").is_file(),
                                reason="the saved sample model is not in this checkout")


@pytest.fixture(scope="module")
def model():
    return cimtwin.load_sample("jinan")


@pytest.fixture(scope="module")
def notice():
    from cimtwin.io.gazette import parse_road_notice, road_junctions

    df = parse_road_notice(NOTICE.read_text(encoding="utf-8"))
    return df, road_junctions(df)


def test_unknown_sample_lists_the_available_ones():
    with pytest.raises(LayerNotFoundError, match="jinan"):
        cimtwin.load_sample("jinam")


def test_every_layer_kind_present_and_schema_valid(model):
    for kind in LAYER_SCHEMAS:
        assert kind in model.layer_names, kind
        gdf = model.layer(kind)
        assert len(gdf) > 0, kind
        validate_layer(kind, gdf, crs=model.crs, kind=kind)  # raises on any schema problem
    assert model.crs.to_epsg() == 4527


def test_rasters_aligned_and_plausible(model):
    for name in RASTER_SCHEMAS:
        assert name in model.raster_names
    dem, pop = model.raster("dem"), model.raster("population")
    assert dem.shape == pop.shape
    assert np.allclose(dem.x, pop.x) and np.allclose(dem.y, pop.y)
    assert float(dem.x[1] - dem.x[0]) <= 30.0
    z = dem.values
    north, south = z[: z.shape[0] // 5], z[-z.shape[0] // 10:]
    assert 15 < np.median(north) < 45          # Yellow River plain
    assert np.percentile(south, 90) > 300      # foothills rising to the south
    total = float(pop.values.sum())
    assert 1e6 < total < 1e7


def test_metadata_marks_synthetic_layers(model):
    meta = model.metadata
    synthetic = set(meta["synthetic"])
    assert set(model.layer_names) - {"districts"} <= synthetic
    assert "districts" not in synthetic
    for name in synthetic & set(model.layer_names):
        assert "SYNTHETIC" in meta["sources"][name].upper()
    storm = meta["design_storm"]
    assert {"A1", "C", "b", "n", "P_years", "duration_min"} <= set(storm) and storm["synthetic"]
    obs = model.table("gauge_observations")
    assert list(obs.columns[:3]) == ["gauge_id", "time", "rain_mm"]
    assert str(obs["time"].dt.tz) == "Asia/Shanghai"


def test_districts_are_the_twelve_real_ones(model):
    d = model.layer("districts")
    assert set(d["name"]) == JINAN_DISTRICTS
    area_km2 = d.area.sum() / 1e6
    assert 9_000 < area_km2 < 11_500  # Jinan: about 10,244 km²


def test_demo_area_extent(model):
    x0, y0, x1, y1 = model.grid.bounds
    assert 38_000 < x1 - x0 < 42_000 and 33_000 < y1 - y0 < 38_000
    for name in ("cameras", "buildings", "shelters", "sites_5g"):
        b = model.layer(name).total_bounds
        assert b[0] >= x0 - 50 and b[2] <= x1 + 50 and b[1] >= y0 - 50 and b[3] <= y1 + 50, name


def _gazette_lines(model):
    import shapely

    roads = model.layer("roads")
    gz = roads[roads["gazette_seq"] >= 0]
    return {int(seq): shapely.line_merge(shapely.union_all(list(g.geometry))) for seq, g in gz.groupby("gazette_seq")}


def test_gazette_roads_lengths_and_orientations(model, notice):
    df, _ = notice
    lines = _gazette_lines(model)
    assert sorted(lines) == list(range(1, 60))
    for r in df.itertuples():
        line = lines[r.seq]
        assert abs(line.length - r.length_m) <= 0.05 * r.length_m, (r.name, line.length, r.length_m)
        # the from-end (东起 / 北起) lies east / north of the to-end
        coords = np.array(line.coords) if line.geom_type == "LineString" else np.vstack(
            [np.array(g.coords) for g in line.geoms])
        dx = np.ptp(coords[:, 0])
        dy = np.ptp(coords[:, 1])
        if isinstance(r.turn_to_road, str) and r.turn_to_road:
            continue  # an L-shaped road spans both directions
        assert (dx > dy) if r.orientation == "EW" else (dy > dx), r.name


def test_declared_junctions_met_within_5m(model, notice):
    import shapely

    df, junctions = notice
    roads = model.layer("roads")
    lines = _gazette_lines(model)
    by_name = {}
    for name, g in roads.dropna(subset=["name"]).groupby("name"):
        by_name[name] = shapely.union_all(list(g.geometry))
    for name, g in roads.dropna(subset=["aka"]).groupby("aka"):
        by_name.setdefault(name, shapely.union_all(list(g.geometry)))
    bad = []
    for j in junctions.itertuples():
        road = lines[int(j.seq)]
        other = by_name.get(j.other_road)
        assert other is not None, f"no road named {j.other_road}"
        gap = road.distance(other)
        if gap > 5.0:
            bad.append((j.road, j.other_road, round(gap, 1)))
    assert not bad, bad


def _aliased(junctions, roads):
    """Junctions with endpoint spellings (凤集路) replaced by the road's name (风集路) via `aka`."""
    aka = roads.dropna(subset=["aka"]).drop_duplicates("aka").set_index("aka")["name"].to_dict()
    return junctions.assign(other_road=junctions["other_road"].replace(aka))


def test_declared_junctions_are_noded(model, notice):
    """Each declared junction is a vertex the two roads share (routing needs no snapping)."""
    _, junctions = notice
    roads = model.layer("roads")
    verts = {}
    for name, g in roads.dropna(subset=["name"]).groupby("name"):
        verts[name] = {tuple(np.round(c, 3)) for geom in g.geometry for c in geom.coords}
    missing = [(j.road, j.other_road) for j in _aliased(junctions, roads).itertuples()
               if not verts[j.road] & verts[j.other_road]]
    assert not missing, missing


def test_routing_topology_and_routes(model, notice):
    from cimtwin.routing import RoadNetwork, check_declared_junctions

    _, junctions = notice
    roads = model.layer("roads")
    report = check_declared_junctions(roads, _aliased(junctions, roads))
    assert report["connected"].all(), report.loc[~report["connected"], ["road", "other_road", "reason"]]
    net = RoadNetwork.from_roads(roads, warn_components=False)
    near = net.route_between_roads("祈福街", "明成街")          # two clusters in 陡沟街道
    far = net.route_between_roads("祈福街", "港源十路")         # across the demo area
    assert near.found and far.found, (near.reason, far.reason)
    assert 0 < near.length_m < far.length_m


def test_gazette_roads_in_their_subdistrict(model, notice):
    df, _ = notice
    subs = model.layer("subdistricts").set_index("name")
    lines = _gazette_lines(model)
    for r in df.itertuples():
        region = subs.loc[[s for s in r.subdistrict.split(";")]].union_all().buffer(10.0)
        inside = lines[r.seq].intersection(region).length / lines[r.seq].length
        assert inside > 0.95, (r.name, inside)


def test_sample_path_is_found():
    assert (sample_path("jinan") / "manifest.json").is_file()


def test_closed_depressions_are_the_low_lying_areas(model):
    """The DEM's closed depressions (> 0.3 m) lie in the plain, mostly under `low_lying_areas`."""
    from rasterio import features
    from scipy import ndimage

    from cimtwin.grid import depression_depth

    dem = model.raster("dem")
    depth = np.asarray(depression_depth(dem))
    ponds = depth > 0.3
    assert 1_000 < ponds.sum() < 0.02 * ponds.size      # a few depressions, not pits everywhere
    assert float(np.median(dem.values[ponds])) < 60.0   # in the plain and the low city
    low = model.layer("low_lying_areas")
    inside = features.rasterize([(g, 1) for g in low.geometry], out_shape=depth.shape,
                                transform=model.grid.transform, dtype="uint8") == 1
    assert (ponds & inside).sum() / ponds.sum() > 0.7
    labels, n = ndimage.label(ponds)
    sizes = ndimage.sum(ponds, labels, range(1, n + 1))
    covered = ndimage.maximum(inside, labels, range(1, n + 1))
    assert covered[sizes >= 10].all()                    # every sizeable depression is a mapped area
