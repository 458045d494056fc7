"""``cimtwin report``: every file written, self-contained, offline, with Chinese Excel headers."""

import importlib.util
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cimtwin.cli.main import main

pytest.importorskip("pydeck")

_spec = importlib.util.spec_from_file_location("cimtwin_test_town", Path(__file__).parents[1] / "targets" / "_town.py")
_town = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_town)

REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The synthetic town (no buildings: no occlusion raster to compile) and a scenario with one more camera."""
    root = tmp_path_factory.mktemp("models")
    model = _town.build_town().without_layer("buildings")
    cams = model.layer("cameras")
    extra = gpd.GeoDataFrame({"height_m": [6.0], "azimuth_deg": [float("nan")], "hfov_deg": [360.0],
                              "range_m": [200.0], "connected": [True], "is_smart": [True]},
                             geometry=[shapely.Point(cams.geometry.x.iloc[2], cams.geometry.y.iloc[2])], crs=model.crs)
    after = model.with_layer("cameras", pd.concat([cams, extra], ignore_index=True))
    return model.save(root / "town.cimtwin"), after.save(root / "town_after.cimtwin")


@pytest.fixture(scope="module")
def report_dir(saved, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    # --quiet after the subcommand, as users type it.
    assert main(["report", str(saved[0]), "--out", str(out), "--scenario", str(saved[1]), "--quiet"]) == 0
    return out


def test_files_written(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert {"report.html", "report.md", "map.html", "report.xlsx", "scenario_comparison.png"} <= names
    assert [n for n in names if n.endswith(".html") and n != "report.html"] == ["map.html"]
    assert any(n.startswith("gaps_") and n.endswith(".png") for n in names)


def test_html_is_self_contained(report_dir):
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in text
    assert not REMOTE.search(text)
    assert "key_public_area_networking" in text and "重点公共区域监控联网率" in text
    assert "✘" in text  # 50 % networked: not met
    assert not REMOTE.search((report_dir / "map.html").read_text(encoding="utf-8"))


def test_markdown_links_images_beside_it(report_dir):
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (report_dir / link).exists()
    assert "Synthetic layers" in md


def test_excel_has_chinese_headers_and_the_scenario(report_dir):
    book = pd.read_excel(report_dir / "report.xlsx", sheet_name=None)
    assert {"指标评估", "分区明细", "情景对比"} <= set(book)
    table = book["指标评估"]
    assert {"指标编号", "目标值", "现状值", "是否达标", "规划原文"} <= set(table.columns)
    comp = book["情景对比"].set_index("指标编号")
    # One more connected camera: 3 → 4 channels.
    assert comp.loc["video_channels_connected", "现状值（基准）"] == 3
    assert comp.loc["video_channels_connected", "现状值（情景）"] == 4


def test_source_reads_the_same_in_the_report_and_the_workbook(report_dir):
    book = pd.read_excel(report_dir / "report.xlsx", sheet_name="指标评估")
    assert "出处 source" in book.columns and "出处（文件:行）" not in book.columns
    text = (report_dir / "report.html").read_text(encoding="utf-8")
    for source in book["出处 source"].unique():
        assert __import__("html").escape(source) in text


def test_the_map_page_has_a_layer_panel_and_a_flat_view(report_dir):
    import json

    text = (report_dir / "map.html").read_text(encoding="utf-8")
    view = json.loads(re.search(r'"initialViewState"\s*:\s*(\{[^{}]*\})', text).group(1))
    assert {"longitude", "latitude", "zoom"} <= set(view)
    boxes = re.findall(r'<input type="checkbox"( checked)?[^>]*data-layer="([^"]+)"', text)
    assert ("", "cameras_fov") in boxes and (" checked", "cameras") in boxes


def test_progress_bar_reaches_the_end(saved, tmp_path, capsys):
    from cimtwin.model.city import read_model
    from cimtwin.viz.report import REPORT_STEPS, build_report

    report = build_report(read_model(saved[0]), tmp_path, risk=False, progress=True)
    err = capsys.readouterr().err
    n = len(REPORT_STEPS)
    assert f"{n}/{n}" in err and report.html.exists() and report.map.exists()
    assert report.table["target_id"].nunique() == len(report.table[report.table["zone"] == "all"])


def test_default_path_is_the_sample(monkeypatch, tmp_path):
    from cimtwin.cli import report

    seen = {}

    def fake_open(path):
        seen["path"] = path
        raise SystemExit(0)

    monkeypatch.setattr(report, "open_model", fake_open)
    with pytest.raises(SystemExit):
        main(["--quiet", "report", "--out", str(tmp_path)])
    assert seen["path"] is None  # open_model(None) is the Jinan sample


@pytest.mark.slow
def test_report_on_the_jinan_sample(tmp_path):
    """The acceptance command on the embedded sample (risk zoning skipped here: it has its own tests)."""
    import cimtwin

    try:
        cimtwin.load_sample("jinan")
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"the Jinan sample is not available: {exc}")
    assert main(["--quiet", "report", "--out", str(tmp_path), "--no-risk"]) == 0
    assert (tmp_path / "report.html").exists() and (tmp_path / "map.html").exists()
    assert (tmp_path / "shelter_access.png").exists()
    assert not REMOTE.search((tmp_path / "map.html").read_text(encoding="utf-8"))
    table = pd.read_excel(tmp_path / "report.xlsx", sheet_name="指标评估").set_index("指标编号")
    assert table["现状值"].notna().sum() >= 15  # the sample carries the layers most targets need
    assert table.loc["gazette_roads_named", "现状值"] == 59
    assert table.loc["gazette_roads_named", "是否达标"] == "是"


def test_a_layer_over_the_map_limit_is_left_off_with_a_note(saved, tmp_path, monkeypatch):
    import cimtwin.viz.report as report_module
    from cimtwin.model.city import read_model

    model = read_model(saved[0])
    n = len(model.layer("cameras"))
    monkeypatch.setattr(report_module, "MAP_MAX_FEATURES", n - 1)  # the cameras are one too many
    report = report_module.build_report(model, tmp_path, risk=False)
    assert any("'cameras'" in note and "left off the interactive map" in note for note in report.notes)
    text = report.map.read_text(encoding="utf-8")
    boxes = {layer for _, layer in re.findall(r'<input type="checkbox"( checked)?[^>]*data-layer="([^"]+)"', text)}
    assert "cameras" not in boxes and boxes  # the other layers are still drawn


def test_gap_maps_of_a_grid_finer_than_a_pixel_are_drawn_at_about_a_pixel(saved, tmp_path, monkeypatch):
    """A city-wide fine grid: the gaps are recomputed at about one map pixel, said in a note; figures unchanged."""
    import cimtwin.viz.report as report_module
    from cimtwin.model.city import read_model

    import numpy as np

    from cimtwin.grid.spec import GridSpec

    model = read_model(saved[0])
    grid = GridSpec.from_bounds(tuple(model.bounds), res_m=5.0, crs=model.crs)
    model = model.with_raster("dem", grid.to_dataarray(np.full(grid.shape, 30.0, np.float32), name="dem",
                                                         attrs={"units": "m"}))
    side = max(grid.bounds[2] - grid.bounds[0], grid.bounds[3] - grid.bounds[1])
    pixels = max(1, int(side / (3.5 * grid.res_m)))  # a pixel of about 3.5 cells: drawn at 4 cells
    monkeypatch.setattr(report_module, "_GAP_MAP_PIXELS", pixels)
    draw = report_module._gap_draw_res_m(model)
    assert draw is not None and draw > grid.res_m and draw % grid.res_m == 0
    report = report_module.build_report(model, tmp_path, risk=False)
    notes = [n for n in report.notes if "gap maps of" in n]
    assert notes and f"{draw:g} m" in notes[0]
    monkeypatch.setattr(report_module, "_GAP_MAP_PIXELS", 10**9)  # finer than the grid: nothing coarsened
    assert report_module._gap_draw_res_m(model) is None
    plain = report_module.build_report(model, tmp_path / "plain", risk=False)
    assert not any("gap maps of" in n for n in plain.notes)
    pd.testing.assert_frame_equal(report.table, plain.table)


def test_a_target_covered_in_full_gets_no_gap_map(saved, report_dir, tmp_path):
    """Nothing to draw and nothing recomputed: a note says so (the plain report draws its gaps)."""
    import cimtwin.viz.report as report_module
    from cimtwin.model.city import read_model
    from cimtwin.targets import evaluate

    model = read_model(saved[0])
    table = evaluate(model)
    city = table[table["zone"] == "all"].set_index("target_id")["value"]
    drawn = [t for t in report_module._GAP_MAPS if t in city and 0 < city[t] < 1]
    assert drawn and (report_dir / f"gaps_{drawn[0]}.png").exists()
    full = table.copy()
    full.loc[(full["target_id"] == drawn[0]) & (full["zone"] == "all"), "value"] = 1.0
    report = report_module.build_report(model, tmp_path, risk=False, targets=full)
    assert f"{drawn[0]}: covered in full, no gap map" in report.notes
    assert not (tmp_path / f"gaps_{drawn[0]}.png").exists()
