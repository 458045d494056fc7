"""The exported map in a real browser: headless Chromium, name resolution blocked, pixels checked.

Skipped with the reason when no Chromium is installed (CI installs the Debian package).
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from cimtwin.viz import to_deck, to_html
from cimtwin.viz.style import DISTRICT_FILL, GAZETTE_ROAD_COLOR

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1000, 700


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html_path, png_path, *, timeout_s: float = 120.0) -> np.ndarray:
    """Open ``html_path`` in headless Chromium with every remote name unresolvable; RGB pixels."""
    from PIL import Image

    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    args = [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu-sandbox",
        # WebGL without a GPU: SwiftShader through ANGLE.
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
        # Nothing remote can load: every host name fails to resolve, background traffic is off.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
        "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=20000",
        f"--user-data-dir={png_path.parent / 'chromium-profile'}",
        f"--screenshot={png_path}", html_path.resolve().as_uri(),
    ]
    env = dict(os.environ, HOME=str(png_path.parent))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, env=env)
    if not png_path.exists():
        pytest.fail(f"Chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return np.asarray(Image.open(png_path).convert("RGB")).astype(int)


def near(pixels: np.ndarray, rgb, tol: int = 14) -> np.ndarray:
    return (np.abs(pixels - np.asarray(rgb[:3])[None, None, :]) <= tol).all(axis=-1)


def test_map_draws_offline(tiny_model, class_raster, tmp_path):
    model = tiny_model.with_raster("risk_class", class_raster)
    deck = to_deck(model, layers=["districts", "roads", "cameras", "risk_class"])
    html_path = to_html(deck, tmp_path / "map.html")
    # Headless Chromium lays the page out ~90 px shorter than the screenshot and stretches the
    # canvas when it captures; a fixed-size map keeps the screenshot faithful.
    text = html_path.read_text(encoding="utf-8")
    fixed = f"<style>#deck-container {{ width: {WIDTH}px; height: {HEIGHT - 120}px; }}</style></head>"
    html_path.write_text(text.replace("</head>", fixed, 1), encoding="utf-8")
    pixels = screenshot(html_path, tmp_path / "shot.png")
    total = pixels.shape[0] * pixels.shape[1]

    district = near(pixels, DISTRICT_FILL).sum()
    gazette = near(pixels, GAZETTE_ROAD_COLOR, tol=30).sum()
    # The districts are the base map: they fill most of the view.
    assert district > 0.3 * total, f"district fill on {district} of {total} pixels"
    # The highlighted gazette road is a thick magenta line across both districts.
    assert gazette > 1500, f"gazette-road colour on {gazette} pixels"
    # The class raster (classes 4 orange and 5 red, blended over the base) was drawn as a bitmap.
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 120) & (pixels[..., 2] < 120)
    orange = (pixels[..., 0] > 230) & (pixels[..., 1] > 170) & (pixels[..., 1] < 215) & (pixels[..., 2] < 150)
    assert red.sum() > 500 and orange.sum() > 500, (red.sum(), orange.sum())
    # Cameras: the blue field-of-view sector over the sand base.
    blueish = (pixels[..., 2] > pixels[..., 0] + 10) & (pixels[..., 2] > 150)
    assert blueish.sum() > 200


def test_blank_page_has_no_layer_colours(tmp_path):
    """The pixel checks mean something: an empty page has neither colour."""
    page = tmp_path / "blank.html"
    page.write_text("<html><body style='background:#fff'></body></html>", encoding="utf-8")
    pixels = screenshot(page, tmp_path / "blank.png")
    assert near(pixels, DISTRICT_FILL).sum() == 0
    assert near(pixels, GAZETTE_ROAD_COLOR, tol=30).sum() == 0
