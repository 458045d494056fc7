import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.errors import GeographicCRSError, InputTypeError, LayerNotFoundError, ValidationError
from cimtwin.viz import deck_legend, fov_sectors, raster_to_png, to_deck, to_html
from cimtwin.viz.style import GAZETTE_ROAD_COLOR

pytest.importorskip("pydeck")

REMOTE_REF = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_REMOTE = re.compile(r"""(?:url\(\s*["']?\s*https?://|@import\s+["']?https?://)""", re.I)


def _layers(deck):
    return {layer.id: layer for layer in deck.layers}


def test_layers_and_order(tiny_model):
    deck = to_deck(tiny_model)
    ids = [layer.id for layer in deck.layers]
    assert ids == ["districts_polygons", "roads_paths", "roads_gazette", "cameras_fov", "cameras_points"]
    assert deck.map_provider is None


def test_coordinates_are_wgs84_lonlat(tiny_model):
    deck = to_deck(tiny_model, layers=["districts", "cameras"])
    layers = _layers(deck)
    ring = np.array(layers["districts_polygons"].data[0]["polygon"][0])
    # The districts were given in lon/lat; the model holds them in Gauss–Krüger metres.
    assert ring[:, 0].min() == pytest.approx(117.00, abs=1e-6)
    assert ring[:, 1].max() == pytest.approx(36.65, abs=1e-6)
    pos = layers["cameras_points"].data[0]["position"]
    assert pos == pytest.approx([117.02, 36.63], abs=1e-6)
    view = deck.initial_view_state
    assert 117.0 < view.longitude < 117.1 and 36.6 < view.latitude < 36.65


def test_gazette_roads_highlighted(tiny_model):
    layers = _layers(to_deck(tiny_model, layers=["roads"]))
    gazette = layers["roads_gazette"]
    assert [r["tip"].count("祈福街") for r in gazette.data] == [1]
    assert list(gazette.get_color) == list(GAZETTE_ROAD_COLOR)
    assert len(layers["roads_paths"].data) == 3


def test_tooltips_are_bilingual(tiny_model):
    deck = to_deck(tiny_model, layers=["cameras"])
    tip = _layers(deck)["cameras_points"].data[0]["tip"]
    assert "摄像机 cameras" in tip and "视距 range (m): 300" in tip
    assert json.loads(deck.to_json())  # serialisable


def test_fov_sector_matches_brute_force():
    cams = gpd.GeoDataFrame({"azimuth_deg": [90.0, np.nan], "hfov_deg": [60.0, 120.0], "range_m": [100.0, 50.0]},
                            geometry=[shapely.Point(0, 0), shapely.Point(1000, 1000)], crs="EPSG:4527")
    sectors = fov_sectors(cams, arc_points=180)
    # Sector: pi r² · 60/360; the omni camera (azimuth NaN) a disc of radius 50.
    assert sectors.area.iloc[0] == pytest.approx(np.pi * 100**2 / 6, rel=1e-3)
    assert sectors.area.iloc[1] == pytest.approx(np.pi * 50**2, rel=1e-3)
    # Azimuth 90 = east: a point 50 m east is inside, 50 m north is not.
    assert sectors.geometry.iloc[0].contains(shapely.Point(50, 0))
    assert not sectors.geometry.iloc[0].contains(shapely.Point(0, 50))
    # Brute force: grid points inside iff distance <= r and bearing within ±30° of 90°.
    xs, ys = np.meshgrid(np.linspace(-120, 120, 61), np.linspace(-120, 120, 61))
    bearing = np.degrees(np.arctan2(xs, ys)) % 360
    expected = (np.hypot(xs, ys) <= 97) & (np.abs(bearing - 90) <= 28)
    got = shapely.contains_xy(sectors.geometry.iloc[0], xs, ys)
    assert not (expected & ~got).any()


def test_fov_sectors_need_metres():
    cams = gpd.GeoDataFrame({"azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [10.0]},
                            geometry=[shapely.Point(117, 36)], crs="EPSG:4326")
    with pytest.raises(GeographicCRSError):
        fov_sectors(cams)


def test_raster_bitmap_inlined(tiny_model, class_raster, tmp_path):
    deck = to_deck({"districts": tiny_model.layer("districts").set_crs(tiny_model.crs, allow_override=True),
                    "risk_class": class_raster})
    bitmap = _layers(deck)["raster_risk_class"]
    assert str(bitmap.image).startswith("data:image/png;base64,")
    corners = np.array(bitmap.bounds)
    assert corners.shape == (4, 2) and 117.0 < corners[:, 0].mean() < 117.1
    url, bounds = raster_to_png(class_raster, categories={4: (0, 0, 255, 255), 5: (255, 0, 0, 255)})
    assert bounds[2] - bounds[0] == pytest.approx(2000.0)


def test_result_object_and_errors(tiny_model):
    class Result:  # a coverage-like result: gaps as a GeoDataFrame
        def __init__(self, gaps):
            self.gaps = gaps
            self.ratio = 0.5

    gaps = tiny_model.layer("districts").iloc[:1]
    deck = to_deck(Result(gaps))
    assert [layer.id for layer in deck.layers] == ["gaps_polygons"]
    with pytest.raises(LayerNotFoundError, match="Did you mean 'roads'"):
        to_deck(tiny_model, layers=["raods"])
    with pytest.raises(InputTypeError):
        to_deck(42)
    with pytest.raises(ValidationError, match="max_features"):
        to_deck(tiny_model, layers=["roads"], max_features=2)


def test_html_is_offline(tiny_model, class_raster, tmp_path):
    deck = to_deck(tiny_model)
    path = to_html(deck, tmp_path / "map.html", title="测试 test")
    text = path.read_text(encoding="utf-8")
    assert "createDeck" in text and "deck-container" in text
    assert not REMOTE_REF.search(text), REMOTE_REF.search(text)
    assert not CSS_REMOTE.search(text)
    assert "sourceMappingURL" not in text
    spec = json.loads(deck.to_json())
    assert "mapStyle" not in spec and "mapProvider" not in spec  # no base map at all
    assert "2021年公告命名道路" in text  # the legend
    assert [e[0] for e in deck_legend(deck)][0] == "区县 districts"


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
    ids = [layer.id for layer in to_deck(result).layers]
    assert "gaps_polygons" in ids and "covered_polygons" in ids
