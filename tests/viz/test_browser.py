"""The exported map in a real browser: headless Chromium (playwright), every remote request
refused and recorded, pixels checked.

Skipped with the reason when no Chromium is installed (Debian: ``apt-get install chromium``).
"""

import shutil

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.viz import to_deck, to_html
from cimtwin.viz.style import DISTRICT_FILL, GAZETTE_ROAD_COLOR

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1000, 800
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run",
         # WebGL without a GPU: SwiftShader through ANGLE.
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    path = _chromium()
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS)
        yield b
        b.close()


class MapPage:
    """One map page opened offline: screenshots as RGB arrays, remote requests recorded."""

    def __init__(self, browser, html_path):
        self.remote: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        # Generous limits: SwiftShader on a busy machine (no timing is asserted).
        self.page.set_default_timeout(300_000)
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(html_path.resolve().as_uri())
        self.page.wait_for_function("window.cimtwinFrames >= 2")

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            self.remote.append(url)
            route.abort()

    def settle(self) -> None:
        """Wait until deck.gl has drawn the last change (two more frames)."""
        frames = self.page.evaluate("window.cimtwinFrames")
        self.page.evaluate("window.cimtwinMap.deck.redraw('test')")
        self.page.wait_for_function(f"window.cimtwinFrames >= {frames + 1}")
        self.page.wait_for_timeout(300)

    def pixels(self) -> np.ndarray:
        import io

        from PIL import Image

        self.settle()
        # The map alone: the panel and the title are HTML over it, hidden for the shot.
        hide = "v => document.querySelectorAll('.cimtwin-box').forEach(e => { e.style.visibility = v; })"
        self.page.evaluate(hide, "hidden")
        png = self.page.locator("#deck-container").screenshot()
        self.page.evaluate(hide, "visible")
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def near(pixels: np.ndarray, rgb, tol: int = 14) -> np.ndarray:
    return (np.abs(pixels - np.asarray(rgb[:3])[None, None, :]) <= tol).all(axis=-1)


@pytest.fixture(scope="module")
def sample_map(tmp_path_factory):
    """The report's map page of the Jinan sample (model layers; results are tested elsewhere)."""
    import cimtwin
    from cimtwin.viz.report import report_map

    model = cimtwin.load_sample("jinan")
    path = report_map(model).to_html(tmp_path_factory.mktemp("sample") / "map.html")
    return model, path


def test_sample_map_toggles_layers_offline(browser, sample_map):
    model, path = sample_map
    assert path.stat().st_size <= 6_000_000
    page = MapPage(browser, path)
    before = page.pixels()
    district = near(before, DISTRICT_FILL).sum()
    assert district > 0.05 * before.shape[0] * before.shape[1]
    assert near(before, GAZETTE_ROAD_COLOR, tol=30).sum() > 300
    # Untick the districts: their sand fill leaves the map; tick again: it is back.
    page.page.uncheck('input[data-layer="districts"]')
    off = page.pixels()
    assert near(off, DISTRICT_FILL).sum() < 0.1 * district
    assert np.abs(off - before).sum(axis=-1).astype(bool).mean() > 0.05
    page.page.check('input[data-layer="districts"]')
    again = page.pixels()
    assert near(again, DISTRICT_FILL).sum() == pytest.approx(district, rel=0.02)
    assert page.remote == [] and page.errors == []


def test_sample_map_frames_the_study_area(browser, sample_map):
    import pyproj

    model, path = sample_map
    page = MapPage(browser, path)
    west, south, east, north = page.page.evaluate(
        "window.cimtwinMap.deck.getViewports()[0].getBounds()")
    x0, y0, x1, y1 = model.metadata["study_area"]["bounds"]
    lon, lat = pyproj.Transformer.from_crs(model.crs, "EPSG:4326", always_xy=True).transform(
        [x0, x1, x0, x1], [y0, y0, y1, y1])
    # The whole study area is in view ...
    assert west <= min(lon) and east >= max(lon) and south <= min(lat) and north >= max(lat)
    # ... and fills it: the view is not the whole municipality.
    share = (max(lon) - min(lon)) * (max(lat) - min(lat)) / ((east - west) * (north - south))
    assert share > 0.5
    assert page.page.evaluate("window.cimtwinMap.deck.getViewports()[0].zoom") >= 9.5


def test_layer_unticked_in_the_page_is_not_drawn_at_load(browser, tiny_model, tmp_path):
    """The boxes rule at load too: a page whose districts box is unticked draws no district."""
    path = to_html(to_deck(tiny_model, layers=["districts", "roads"]), tmp_path / "map.html")
    shown = MapPage(browser, path).pixels()
    text = path.read_text(encoding="utf-8")
    box = '<input type="checkbox" checked data-layer="districts">'
    assert box in text
    path.write_text(text.replace(box, box.replace(" checked", "")), encoding="utf-8")
    hidden = MapPage(browser, path).pixels()
    assert near(shown, DISTRICT_FILL).sum() > 0.3 * shown.shape[0] * shown.shape[1]
    # (anti-aliased road edges may blend into a few sand-like pixels)
    assert near(hidden, DISTRICT_FILL).sum() < 0.001 * hidden.shape[0] * hidden.shape[1]
    assert near(hidden, GAZETTE_ROAD_COLOR, tol=30).sum() > 500  # the roads are still drawn


def test_3d_view_extrudes_buildings(browser, tiny_model, tmp_path):
    """A 300 m tower on a 100 m footprint: flat and square in 2D, tall in 3D."""
    x0, y0, x1, y1 = tiny_model.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    tower = gpd.GeoDataFrame({"height_m": [300.0]}, geometry=[shapely.box(cx - 50, cy - 50, cx + 50, cy + 50)],
                             crs=tiny_model.crs)
    area = gpd.GeoDataFrame(geometry=[shapely.box(cx - 600, cy - 600, cx + 600, cy + 600)], crs=tiny_model.crs)
    deck = to_deck({"buildings": tower, "study": area}, visible=["buildings"],
                   extent=(cx - 600, cy - 600, cx + 600, cy + 600))
    page = MapPage(browser, to_html(deck, tmp_path / "map.html"))
    background = page.pixels()[5, -5]

    def silhouette():
        px = page.pixels()
        mask = np.abs(px - background).sum(axis=-1) > 30
        rows, cols = np.nonzero(mask)
        return mask.sum(), rows.max() - rows.min() + 1, cols.max() - cols.min() + 1

    flat_area, flat_h, flat_w = silhouette()
    assert flat_h == pytest.approx(flat_w, rel=0.15)  # a square seen from above
    page.page.click("#cimtwin-3d")
    assert page.page.evaluate("window.cimtwinMap.viewState().pitch") > 45
    tall_area, tall_h, tall_w = silhouette()
    # Seen from the side the tower is three times taller than wide, and its walls add area.
    assert tall_h > 1.8 * tall_w
    assert tall_area > 1.5 * flat_area
    page.page.click("#cimtwin-3d")
    assert page.page.evaluate("window.cimtwinMap.viewState().pitch") == 0


def test_million_points_draw(browser, tmp_path):
    rng = np.random.default_rng(1)
    n = 1_000_000
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(117.0 + 0.05 * rng.random(n), 36.6 + 0.05 * rng.random(n)),
                           crs="EPSG:4326")
    deck = to_deck({"iot_devices": pts}, tooltip=False, visible=["iot_devices"])
    page = MapPage(browser, to_html(deck, tmp_path / "points.html"))
    px = page.pixels()
    from cimtwin.viz.style import LAYER_STYLES

    drawn = near(px, LAYER_STYLES["iot_devices"].fill, tol=40).mean()
    assert drawn > 0.2, drawn
    assert page.errors == []
    page.page.close()


def test_blank_page_has_no_layer_colours(browser, tmp_path):
    """The pixel checks mean something: an empty page has neither colour."""
    from PIL import Image
    import io

    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.set_default_timeout(300_000)
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body style='background:#fff'></body></html>", encoding="utf-8")
    page.goto(blank.as_uri())
    pixels = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    assert near(pixels, DISTRICT_FILL).sum() == 0
    assert near(pixels, GAZETTE_ROAD_COLOR, tol=30).sum() == 0


def test_tooltip_shows_attributes_with_units(browser, tiny_model, tmp_path):
    path = to_html(to_deck(tiny_model, layers=["districts", "cameras"]), tmp_path / "map.html")
    page = MapPage(browser, path)
    page.settle()
    x, y = page.page.evaluate("window.cimtwinMap.deck.getViewports()[0].project([117.02, 36.63])")
    page.page.mouse.move(x, y)
    page.page.wait_for_function("document.querySelector('.deck-tooltip') && "
                                "document.querySelector('.deck-tooltip').innerText.includes('视距')")
    text = page.page.inner_text(".deck-tooltip")
    assert "摄像机 cameras" in text and "视距 range: 300 m" in text and "联网 connected: 是 yes" in text
    page.page.close()
