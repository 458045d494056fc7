import base64
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.errors import GeographicCRSError, InputTypeError, LayerNotFoundError, ValidationError
from cimtwin.viz import DeckMap, deck_legend, fov_sectors, raster_to_png, to_deck, to_html
from cimtwin.viz.deck import _spec, _view

pytest.importorskip("pydeck")

REMOTE_REF = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_REMOTE = re.compile(r"""(?:url\(\s*["']?\s*https?://|@import\s+["']?https?://)""", re.I)
VIEW = re.compile(r'"initialViewState"\s*:\s*(\{[^{}]*\})')
CHECKBOX = re.compile(r'<input type="checkbox"( checked)?[^>]*data-layer="([^"]+)"')


def _ids(deck):
    return [layer.id for layer in deck.layers]


def test_layers_groups_and_order(tiny_model):
    deck = to_deck(tiny_model)
    assert isinstance(deck, DeckMap)
    assert _ids(deck) == ["districts_polygons", "districts_outline", "roads_arterial", "roads_branch", "roads_local",
                          "roads_gazette", "cameras_fov", "cameras_points"]
    assert [g.id for g in deck.groups] == ["districts", "roads", "cameras_fov", "cameras"]
    # Cameras' fields of view start hidden; the rest is shown.
    assert {g.id: g.visible for g in deck.groups} == {"districts": True, "roads": True, "cameras_fov": False,
                                                       "cameras": True}
    assert deck.basemap is None


def test_coordinates_are_wgs84_lonlat(tiny_model):
    deck = to_deck(tiny_model, layers=["districts", "cameras"])
    ring = deck.layer("districts_polygons").coords
    # The districts were given in lon/lat; the model holds them in Gauss–Krüger metres.
    assert ring[:, 0].min() == pytest.approx(117.00, abs=1e-6)
    assert ring[:, 1].max() == pytest.approx(36.65, abs=1e-6)
    assert deck.layer("cameras_points").coords[0] == pytest.approx([117.02, 36.63], abs=1e-6)
    view = deck.initial_view_state
    assert 117.0 < view["longitude"] < 117.1 and 36.6 < view["latitude"] < 36.65


def test_binary_attributes_decode_to_the_coordinates(tiny_model):
    deck = to_deck(tiny_model, layers=["roads"])
    spec = _spec(deck)
    layer = next(lyr for lyr in spec["layers"] if lyr["id"] == "roads_arterial")
    att = layer["attributes"]["getPath"]
    offsets = np.frombuffer(base64.b64decode(att["b64"]), dtype=att["dtype"]).reshape(-1, 2)
    lonlat = offsets + np.asarray(spec["origin"][:2])
    # 经十路: a straight arterial along 36.625° N from 117.0 to 117.1 (float32 offsets: < 1 cm).
    assert lonlat[:, 1] == pytest.approx([36.625, 36.625], abs=1e-7)
    assert lonlat[:, 0] == pytest.approx([117.0, 117.1], abs=1e-7)
    starts = np.frombuffer(base64.b64decode(layer["startIndices"]["b64"]), dtype=layer["startIndices"]["dtype"])
    assert starts.tolist() == [0, 2]


def test_gazette_roads_highlighted(tiny_model):
    deck = to_deck(tiny_model, layers=["roads"])
    gazette = deck.layer("roads_gazette")
    assert gazette.length == 1 and gazette.props["getColor"] == [230, 0, 126, 255]
    names = deck.groups[0].fields[0]
    assert names.categories[names.values[gazette.fid[0]]] == "祈福街"


def test_tooltip_fields_carry_units(tiny_model):
    deck = to_deck(tiny_model, layers=["cameras"])
    cams = next(g for g in deck.groups if g.id == "cameras")
    fields = {f.label: f for f in cams.fields}
    assert fields["视距 range"].unit == "m" and fields["视距 range"].values.tolist() == [300, 150]
    assert fields["联网 connected"].categories == ["否 no", "是 yes"]
    assert fields["联网 connected"].values.tolist() == [1, 0]
    assert json.loads(json.dumps(_spec(deck), ensure_ascii=False))  # serialisable


def test_buildings_are_extrudable_by_height(tiny_model):
    square = shapely.box(117.02, 36.62, 117.021, 36.621)
    holed = shapely.Polygon(square.buffer(0.002).exterior, [square.exterior.coords])
    b = gpd.GeoDataFrame({"height_m": [30.0, 12.0]}, geometry=[square, holed], crs="EPSG:4326").to_crs(tiny_model.crs)
    deck = to_deck({"buildings": b})
    layer = deck.layer("buildings_polygons")
    assert layer.extrudable and layer.type == "SolidPolygonLayer"
    # The courtyard building is drawn as triangles that leave the courtyard open.
    tri = layer.fid == 1
    starts = np.append(layer.starts, len(layer.coords))
    area = 0.0
    for k in np.flatnonzero(tri):
        area += shapely.Polygon(layer.coords[starts[k]:starts[k + 1]]).area
    assert area == pytest.approx(b.to_crs("EPSG:4326").geometry.iloc[1].area, rel=1e-6)
    # Each vertex carries its building's height.
    elev = layer.attributes["getElevation"]
    assert set(elev[starts[0]:starts[1]]) == {30.0} and set(elev[~np.repeat(~tri, np.diff(starts))]) == {12.0}


def test_view_fits_the_study_area():
    # The sample's study area, 40 km × 35 km near Jinan, at 1000 × 800 px.
    view = _view((116.845, 36.535, 117.292, 36.850))
    assert view["zoom"] >= 9.5
    # Brute force: at that zoom the box fits, at one level more it does not.
    world = 512 * 2 ** view["zoom"]
    assert (117.292 - 116.845) / 360 * world <= 1000


def test_sample_map_frames_its_study_area():
    import cimtwin

    model = cimtwin.load_sample("jinan")
    deck = to_deck(model, layers=["districts", "roads"])
    x0, y0, x1, y1 = model.metadata["study_area"]["bounds"]
    view = deck.initial_view_state
    assert view["zoom"] >= 9.5
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(model.crs, "EPSG:4326", always_xy=True).transform((x0 + x1) / 2,
                                                                                           (y0 + y1) / 2)
    assert view["longitude"] == pytest.approx(lon, abs=0.01) and view["latitude"] == pytest.approx(lat, abs=0.01)


def test_fov_sectors_are_coverage_footprints():
    from cimtwin.coverage import camera_footprints

    cams = gpd.GeoDataFrame({"azimuth_deg": [90.0, np.nan], "hfov_deg": [60.0, 120.0], "range_m": [100.0, 50.0]},
                            geometry=[shapely.Point(0, 0), shapely.Point(1000, 1000)], crs="EPSG:4527")
    sectors = fov_sectors(cams, arc_step_deg=0.5)
    # Sector: pi r² · 60/360; the omni camera (azimuth NaN) a disc of radius 50.
    assert sectors.area.iloc[0] == pytest.approx(np.pi * 100**2 / 6, rel=1e-4)
    assert sectors.area.iloc[1] == pytest.approx(np.pi * 50**2, rel=1e-4)
    assert sectors.geometry.iloc[0].contains(shapely.Point(50, 0))
    assert not sectors.geometry.iloc[0].contains(shapely.Point(0, 50))
    same = camera_footprints(cams, assume_omni=True, arc_step_deg=0.5)
    assert shapely.equals_exact(sectors.geometry.to_numpy(), same.geometry.to_numpy(), tolerance=1e-9).all()


def test_fov_sectors_need_metres():
    cams = gpd.GeoDataFrame({"azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [10.0]},
                            geometry=[shapely.Point(117, 36)], crs="EPSG:4326")
    with pytest.raises(GeographicCRSError):
        fov_sectors(cams)


def test_raster_bitmap_inlined(tiny_model, class_raster):
    deck = to_deck({"districts": tiny_model.layer("districts"), "risk_class": class_raster})
    bitmap = deck.layer("raster_risk_class")
    assert bitmap.props["image"].startswith("data:image/png;base64,")
    corners = np.array(bitmap.props["bounds"])
    assert corners.shape == (4, 2) and 117.0 < corners[:, 0].mean() < 117.1
    assert not next(g for g in deck.groups if g.id == "raster:risk_class").visible  # a class raster: off at load
    url, bounds = raster_to_png(class_raster, categories={4: (0, 0, 255, 255), 5: (255, 0, 0, 255)})
    assert bounds[2] - bounds[0] == pytest.approx(2000.0)


def test_result_object_and_errors(tiny_model):
    class Result:  # a coverage-like result: gaps as a GeoDataFrame
        def __init__(self, gaps):
            self.gaps = gaps
            self.ratio = 0.5

    gaps = tiny_model.layer("districts").iloc[:1]
    deck = to_deck(Result(gaps))
    assert _ids(deck) == ["gaps_polygons", "gaps_outline"]
    assert deck.groups[0].visible  # gaps alone: shown, or the map would be empty
    with pytest.raises(LayerNotFoundError, match="Did you mean 'roads'"):
        to_deck(tiny_model, layers=["raods"])
    with pytest.raises(LayerNotFoundError, match="visible"):
        to_deck(tiny_model, visible=["nope"])
    with pytest.raises(InputTypeError):
        to_deck(42)
    with pytest.raises(ValidationError, match="max_features"):
        to_deck(tiny_model, layers=["roads"], max_features=2)
    with pytest.raises(ValidationError, match="basemap"):
        to_deck(tiny_model, basemap="tiles.png")
    with pytest.raises(TypeError):
        to_deck(tiny_model, colour="red")


def _page_parts(text):
    view = json.loads(VIEW.search(text).group(1))
    boxes = {m.group(2): bool(m.group(1)) for m in CHECKBOX.finditer(text)}
    return view, boxes


def test_html_is_offline_with_a_panel_and_a_flat_view(tiny_model, tmp_path):
    deck = to_deck(tiny_model)
    path = to_html(deck, tmp_path / "map.html", title="测试 test")
    text = path.read_text(encoding="utf-8")
    assert "createDeck" in text and "deck-container" in text
    assert not REMOTE_REF.search(text), REMOTE_REF.search(text)
    assert not CSS_REMOTE.search(text)
    assert "https://" not in text.split("<script type=\"text/javascript\">")[0]  # head: no remote anything
    assert "sourceMappingURL" not in text
    view, boxes = _page_parts(text)
    # The one flat initialViewState in the page is the map's (the bundle's default was rewritten).
    assert len(VIEW.findall(text)) == 1
    assert view == deck.initial_view_state
    assert boxes == {"districts": True, "roads": True, "cameras_fov": False, "cameras": True}
    assert "2021年公告命名道路" in text and "区县 districts" in text
    assert [e[0] for e in deck_legend(deck)][0] == "区县 districts"


def test_visible_and_basemap_are_the_users_choice(tiny_model, tmp_path):
    deck = to_deck(tiny_model, visible=["roads"], basemap="https://tiles.example/{z}/{x}/{y}.png")
    text = deck.to_html()
    _, boxes = _page_parts(text)
    assert boxes == {"districts": False, "roads": True, "cameras_fov": False, "cameras": False}
    assert "tiles.example" in text


def test_jupyter_shows_the_offline_page_inline(tiny_model):
    snippet = to_deck(tiny_model)._repr_html_()
    assert snippet.startswith("<iframe srcdoc=") and "createDeck" in snippet
    assert not REMOTE_REF.search(snippet.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">"))


def test_million_points_stay_binary(tmp_path):
    rng = np.random.default_rng(0)
    n = 1_000_000
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(117.0 + 0.1 * rng.random(n), 36.6 + 0.1 * rng.random(n)),
                           crs="EPSG:4326")
    deck = to_deck({"iot_devices": pts}, tooltip=False)
    spec = _spec(deck)
    att = spec["layers"][0]["attributes"]["getPosition"]
    # 8 bytes per point (two float32 offsets), base64: 4/3 of that, and nothing per point in JSON.
    assert len(att["b64"]) == pytest.approx(n * 8 * 4 / 3, rel=1e-3)


def test_pydeck_missing_names_the_extra(tiny_model, monkeypatch):
    import sys

    from cimtwin.errors import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "pydeck", None)  # import pydeck now raises ImportError
    with pytest.raises(OptionalDependencyError, match=r'pip install "cimtwin\[viz\]"'):
        to_deck(tiny_model)


def test_import_viz_is_light():
    import subprocess
    import sys

    code = "import sys, cimtwin.viz, cimtwin.targets; print('pydeck' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=__import__("pathlib").Path(__file__).parents[2]).stdout.split()
    assert out == ["False", "False"]


def test_coverage_result_is_drawn(tiny_model):
    from cimtwin.coverage import coverage_ratio

    result = coverage_ratio(tiny_model, sensors="cameras", targets="districts", radius_m=300.0)
    ids = _ids(to_deck(result))
    assert "gaps_polygons" in ids and "covered_polygons" in ids
