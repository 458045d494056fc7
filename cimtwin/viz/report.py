"""The compliance report: where a city stands against its plans, as files for the leadership.

:func:`build_report` writes ``report.html`` (self-contained: images inlined), ``report.md``,
static maps (PNG with legend, scale bar and north arrow: coverage gaps, risk zones, shelter
access), one interactive offline map page ``map.html``, ``report.xlsx`` (Chinese headers)
and, with a ``scenario``, a before/after comparison. Every target figure comes from one
call to :func:`cimtwin.targets.evaluate`; the maps only draw geometry.
"""

from __future__ import annotations

import base64
import html
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cimtwin.errors import CimtwinError, InputTypeError

__all__ = ["build_report", "report_map", "Report", "ZH_HEADERS", "REPORT_STEPS"]

# Chinese headers of the exported tables; the source column reads as in the report.
ZH_HEADERS = {
    "target_id": "指标编号", "year": "目标年份", "zone": "区域", "value": "现状值", "target": "目标值",
    "comparator": "比较", "unit": "单位", "met": "是否达标", "gap": "差距（目标−现状）", "definition": "计算口径",
    "reason": "说明", "flag": "标注", "computation": "计算方法", "source": "出处 source",
    "zh": "规划原文", "en": "英文", "kind": "类型",
    "before": "现状值（基准）", "after": "现状值（情景）", "change": "变化", "met_before": "基准是否达标",
    "met_after": "情景是否达标",
}
REPORT_STEPS = ("evaluate targets", "scenario", "static maps", "interactive map", "Excel", "report pages")
# Coverage targets whose gaps get a static map, in this order.
_GAP_MAPS = ("key_site_video_coverage", "low_lying_video_coverage", "rain_gauge_coverage_radius",
             "coverage_5g_full_area", "nbiot_road_coverage")
_SHELTER_SNAP_M = 200.0
# Coverage definitions computed on a raster, and the pixels across a static map (9 in at 150 dpi):
# gap maps of a grid finer than a pixel are recomputed at about a pixel (see _gap_draw_res_m).
_RASTER_DEFINITIONS = ("viewshed", "rsrp", "mcl")
_GAP_MAP_PIXELS = 1350
# Layers the interactive map shows when the model has them.
MAP_LAYERS = ("districts", "subdistricts", "management_zones", "key_areas", "low_lying_areas", "reservoirs",
              "rivers", "buildings", "roads", "cameras", "sites_5g", "sites_nbiot", "rain_gauges", "shelters")
# Simplification of the map's lines and polygons: a tenth of a pixel at zoom 10, invisible at 15.
_MAP_SIMPLIFY_M = 20.0
# the interactive map draws a model layer up to this many features (to_deck's own limit);
# a larger one (a city's 2·10^6 buildings) is left off with a note, not the whole report
MAP_MAX_FEATURES = 1_000_000


@dataclass
class Report:
    """What :func:`build_report` wrote and found.

    Attributes
    ----------
    files : list of Path
        ``report.html``, ``report.md``, the PNG maps, ``map.html``, ``report.xlsx``.
    table : DataFrame
        The evaluation table (:func:`cimtwin.targets.evaluate`) the report shows.
    comparison : DataFrame or None
        Before/after values with a scenario.
    notes : list of str
        What the report could not draw and why; warnings raised while building it.
    """

    out: Path
    files: list[Path]
    table: pd.DataFrame
    comparison: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def html(self) -> Path:
        return self.out / "report.html"

    @property
    def map(self) -> Path:
        return self.out / "map.html"


def _source_text(source: str, lines: str) -> str:
    """The plan and the place of the quote, written the same in the report and the workbook."""
    return f"{source}（{lines}）" if lines else str(source)


def _noted(notes: list[str], caught) -> None:
    for w in caught:
        text = f"warning: {w.message}"
        if text not in notes:
            notes.append(text)


# -- formatting ---------------------------------------------------------------------------------------

def _fmt(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if unit == "fraction":
        return f"{100 * float(value):.1f}%"
    return f"{float(value):,.0f}"


def _met(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return "✔ 是 yes" if bool(value) else "✘ 否 no"


def _op(comparator: str) -> str:
    return {">=": "≥", ">": ">", "=": "="}[comparator]


def _md_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_(none)_\n"
    cols = list(rows[0])
    esc = [{c: str(r[c]).replace("|", "\\|").replace("\n", " ") for c in cols} for r in rows]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in esc]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<p><em>(none)</em></p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cls = ' class="met"' if str(r.get("达标 met", "")).startswith("✔") else (
            ' class="unmet"' if str(r.get("达标 met", "")).startswith("✘") else "")
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def _comparison(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    keys = ["target_id", "zone"]
    b = before[before["zone"] == "all"][keys + ["year", "unit", "target", "comparator", "value", "met"]]
    a = after[after["zone"] == "all"][keys + ["value", "met"]]
    comp = b.merge(a, on=keys, suffixes=("_before", "_after"), how="outer")
    comp = comp.rename(columns={"value_before": "before", "value_after": "after"})
    comp["change"] = comp["after"] - comp["before"]
    return comp[["target_id", "year", "unit", "comparator", "target", "before", "after", "change",
                 "met_before", "met_after"]]


def _comparison_chart(comp: pd.DataFrame, out: Path, maps: list) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    from cimtwin.viz.static_maps import bilingual, cjk_font

    rows = comp[(comp["unit"] == "fraction") & comp["before"].notna() & comp["after"].notna()]
    if rows.empty:
        return
    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"]} if font else {}):
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
        y = np.arange(len(rows))
        ax.barh(y - 0.2, 100 * rows["before"], height=0.4, label=bilingual("基准", "before"), color="#9e9e9e")
        ax.barh(y + 0.2, 100 * rows["after"], height=0.4, label=bilingual("情景", "after"), color="#1e88e5")
        ax.scatter(100 * rows["target"], y, marker="|", s=300, color="#e6007e", label=bilingual("目标", "target"), zorder=5)
        ax.set_yticks(y, rows["target_id"])
        ax.set_xlabel("%")
        ax.set_xlim(0, 105)
        ax.invert_yaxis()
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(bilingual("情景前后对比", "before / after the scenario"))
        fig.tight_layout()
    title = bilingual("情景前后对比", "before / after the scenario")
    maps.append((_save(fig, out / "scenario_comparison.png"), title))


_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f1efe8; } tr.met td:nth-child(6) { color: #1b7f3b; } tr.unmet td:nth-child(6) { color: #c62828; }
figure { margin: 16px 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #666; font-size: 12px; }
"""



def _compliance_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for r in table[table["zone"] == "all"].itertuples():
        note = r.reason or r.definition
        if r.flag:
            note += f" ⚑ {r.flag}"
        rows.append({
            "指标 target": r.target_id, "年份 year": str(r.year), "原文 plan text": r.zh,
            "目标 target": f"{_op(r.comparator)} {_fmt(r.target, r.unit)}", "现状 value": _fmt(r.value, r.unit),
            "达标 met": _met(r.met), "差距 gap": _fmt(r.gap, r.unit) if r.reason == "" else "—",
            "出处 source": _source_text(r.source, r.lines), "口径/说明 definition / reason": note,
        })
    return rows


def _study_extent(model):
    """The study area (metadata) or, without one, where the analysis layers are."""
    from cimtwin.viz.deck import _study_area_extent

    extent = _study_area_extent(model)
    if extent is not None:
        return extent
    for name in ("roads", "cameras", "sites_5g"):
        if model.has_layer(name) and len(model.layer(name)):
            return tuple(model.layer(name).total_bounds)
    return None


def _base_layers(model) -> dict[str, Any]:
    return {n: model.layer(n) for n in ("districts", "roads") if model.has_layer(n)}


def _ratio(table: pd.DataFrame, tid: str) -> float | None:
    row = table[(table["target_id"] == tid) & (table["zone"] == "all")]
    if row.empty or pd.isna(row["value"].iloc[0]):
        return None
    return float(row["value"].iloc[0])


def _gap_layers(model, table: pd.DataFrame, notes: list[str]) -> dict[str, Any]:
    """The uncovered parts behind the coverage targets: geometry for the maps (the figures are the table's)."""
    from cimtwin.coverage import coverage_ratio
    from cimtwin.targets import parse_computation

    gaps = {}
    draw_res_m = _gap_draw_res_m(model)
    coarser = []
    for tid in _GAP_MAPS:
        row = table[(table["target_id"] == tid) & (table["zone"] == "all")]
        if row.empty or pd.isna(row["value"].iloc[0]):
            continue
        if row["value"].iloc[0] >= 1.0:  # covered in full: no gap to draw, nothing to recompute
            notes.append(f"{tid}: covered in full, no gap map")
            continue
        kwargs = dict(parse_computation(str(row["computation"].iloc[0])).kwargs)
        kwargs.pop("by", None)
        if draw_res_m is not None and kwargs.get("definition") in _RASTER_DEFINITIONS and "res_m" not in kwargs:
            kwargs["res_m"] = draw_res_m
            coarser.append(tid)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = coverage_ratio(model, **kwargs)
        except CimtwinError as exc:
            notes.append(f"gaps of {tid} not mapped: {type(exc).__name__}: {exc}")
            continue
        _noted(notes, caught)
        if result.gaps is not None and len(result.gaps):
            gaps[tid] = result.gaps
    if coarser:
        notes.append(f"the gap maps of {', '.join(coarser)} are drawn at {draw_res_m:g} m, about one map pixel "
                     f"(the model's grid is {model.grid.res_m:g} m); their figures are the table's.")
    return gaps


def _gap_draw_res_m(model) -> float | None:
    """A cell about one pixel of the static maps, when that is coarser than the model's grid, else None.

    A gap map is a picture: a 100 km city on a 10 m grid has some 50 cells under each pixel, so its gaps
    are recomputed on a grid of about a pixel (a multiple of the model's cell) rather than
    polygonized at 10^8 cells. The figures stay those of the targets table.
    """
    grid = model.grid
    extent = _study_extent(model)
    if grid is None or extent is None:
        return None
    side_m = max(extent[2] - extent[0], extent[3] - extent[1])
    res = math.ceil(side_m / _GAP_MAP_PIXELS / grid.res_m) * grid.res_m
    return float(res) if res > grid.res_m else None


def _gap_maps(model, table, gap_layers: dict[str, Any], out: Path, maps: list) -> None:
    from cimtwin.viz.static_maps import bilingual, static_map

    sensors_of = {"key_site_video_coverage": "cameras", "low_lying_video_coverage": "cameras",
                  "rain_gauge_coverage_radius": "rain_gauges", "coverage_5g_full_area": "sites_5g",
                  "nbiot_road_coverage": "sites_nbiot"}
    for tid, gaps in gap_layers.items():
        layers = _base_layers(model)
        layers["gaps"] = gaps
        if model.has_layer(sensors_of[tid]):
            layers[sensors_of[tid]] = model.layer(sensors_of[tid])
        share = _fmt(_ratio(table, tid), "fraction")
        title = bilingual(f"覆盖缺口：{tid}（覆盖率 {share}）", f"coverage gaps: {tid} ({share} covered)")
        path = _save(static_map(layers, title=title, extent=_study_extent(model)), out / f"gaps_{tid}.png")
        maps.append((path, title))


def _risk_map(model, out: Path, maps: list, notes: list[str]):
    from cimtwin.risk import risk_zoning
    from cimtwin.viz.static_maps import bilingual, static_map

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = risk_zoning(model)
    except CimtwinError as exc:  # the report goes on without the risk map, and says why
        notes.append(f"risk zones not mapped: {type(exc).__name__}: {exc}")
        return None
    _noted(notes, caught)
    layers = _base_layers(model)
    layers["risk_zones"] = result.zones[result.zones["class"] > 0] if "class" in result.zones else result.zones
    title = bilingual("综合风险分区（5 = 最高）", "composite risk zones (5 = highest)")
    path = _save(static_map(layers, names=["districts", "risk_zones", "roads"], title=title,
                            extent=_study_extent(model)), out / "risk_zones.png")
    maps.append((path, title))
    return result


def _shelter_areas(model, notes: list[str]):
    import shapely

    from cimtwin.routing import RoadNetwork, shelter_service_areas

    if not (model.has_layer("shelters") and model.has_layer("roads")):
        notes.append("shelter access not mapped: the model lacks a shelters or roads layer")
        return None
    roads = model.layer("roads")
    points = model.layer("shelters").geometry.representative_point()
    # A shelter far from every road cannot be walked to along the network: left out, and said.
    tree = shapely.STRtree(roads.geometry.to_numpy())
    _, dist = tree.query_nearest(points.to_numpy(), return_distance=True, all_matches=False)
    near = dist <= _SHELTER_SNAP_M
    if not near.all():
        notes.append(f"{int((~near).sum())} of {len(near)} shelters lie more than {_SHELTER_SNAP_M:g} m "
                     "from every road and are left out of the shelter service areas")
    pop = model.raster("population") if model.has_raster("population") else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net = RoadNetwork.from_model(model)
            areas = shelter_service_areas(net, points[near], kind="emergency", per_facility=False, population=pop,
                                          max_snap_m=_SHELTER_SNAP_M)
    except CimtwinError as exc:
        notes.append(f"shelter access not mapped: {type(exc).__name__}: {exc}")
        return None
    _noted(notes, caught)
    return areas


def _shelter_map(model, areas, out: Path, maps: list) -> None:
    from cimtwin.viz.static_maps import bilingual, static_map

    layers = _base_layers(model)
    layers["service_area"] = areas
    layers["shelters"] = model.layer("shelters")
    zh, en = "应急避难场所步行500米服务范围", "shelters: 500 m walk service area"
    pop = model.raster("population") if model.has_raster("population") else None
    if pop is not None and float(pop.sum()) > 0 and "population" in areas:
        share = 100 * float(areas["population"].sum()) / float(pop.sum())
        zh, en = f"{zh}（覆盖 {share:.1f}% 居民）", f"{en} ({share:.1f}% of residents)"
    title = bilingual(zh, en)
    path = _save(static_map(layers, names=["districts", "service_area", "roads", "shelters"], title=title,
                            extent=_study_extent(model)), out / "shelter_access.png")
    maps.append((path, title))


def report_map(model, *, risk_classes=None, gaps: dict[str, Any] | None = None, service_areas=None,
               layers: tuple[str, ...] = MAP_LAYERS):
    """The report's interactive map: the model's layers and the report's results, offline.

    Parameters
    ----------
    model : CityModel
    risk_classes
        The risk-class raster (1–5; 0 or NaN: none), drawn as an image (off at load): traced
        zone polygons of a city would be megabytes.
    gaps
        ``{target_id: GeoDataFrame}`` of coverage gaps (off at load).
    service_areas
        Shelter service areas (off at load).
    layers
        The model's layers to draw when it has them (base first).

    Returns
    -------
    DeckMap
        Framed on the study area (``metadata["study_area"]``) when the model has one.

    Examples
    --------
    >>> import cimtwin
    >>> page = report_map(cimtwin.load_sample("jinan")).to_html("map.html")  # doctest: +SKIP
    """
    from cimtwin.model.city import CityModel
    from cimtwin.viz.deck import to_deck

    if not isinstance(model, CityModel):
        raise InputTypeError(f"`model` must be a CityModel; got {type(model).__name__}.")
    drawn = {n: model.layer(n) for n in layers if model.has_layer(n) and len(model.layer(n))}
    if risk_classes is not None:
        drawn["risk_zones"] = risk_classes.where(risk_classes > 0)
    for tid, g in (gaps or {}).items():
        drawn[f"gaps_{tid}"] = g
    if service_areas is not None and len(service_areas):
        drawn["shelter_service_area"] = service_areas
    return to_deck(drawn, simplify_m=_MAP_SIMPLIFY_M, extent=_study_extent(model),
                   title=f"{model.name} — cimtwin 地图 map")


def _excel(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame = frame.copy()
            if "source" in frame.columns and "lines" in frame.columns:
                frame["source"] = [_source_text(s, ln) for s, ln in zip(frame["source"], frame["lines"])]
                frame = frame.drop(columns="lines")
            for col in [c for c in frame.columns if c.startswith("met")]:
                frame[col] = frame[col].map(lambda v: "" if v is pd.NA or v is None or
                                            (isinstance(v, float) and math.isnan(v)) else ("是" if v else "否"))
            frame.rename(columns={c: ZH_HEADERS.get(c, c) for c in frame.columns}).to_excel(
                xl, sheet_name=name[:31], index=False)
            ws = xl.sheets[name[:31]]
            for col in ws.columns:
                width = min(60, max(8, *(len(str(c.value or "")) for c in col[:50])))
                ws.column_dimensions[col[0].column_letter].width = width + 2
    return path


def build_report(model, out, *, scenario=None, year: int | None = None, risk: bool = True,
                 progress: bool | None = None, targets=None) -> Report:
    """Write the report files for ``model`` (and a before/after ``scenario``) into ``out``.

    Parameters
    ----------
    model : CityModel
    out : path
        Output folder (created).
    scenario : CityModel, optional
        A second model (e.g. with planned cameras) compared target by target.
    year
        Only the targets due in this year.
    risk
        Map the composite risk zones (the slowest part).
    progress
        Show a progress bar (default: ``cimtwin.config.progress``).
    targets : pandas.DataFrame, optional
        The table :func:`cimtwin.targets.evaluate` already returned for ``model`` and ``year``
        (e.g. by :func:`cimtwin.targets.compliance.compliance_run`); reused instead of
        evaluating every target again.

    Returns
    -------
    Report
        The files written, the evaluation table and the notes.

    Examples
    --------
    >>> import cimtwin
    >>> from cimtwin.viz.report import build_report
    >>> report = build_report(cimtwin.load_sample("jinan"), "report_out")  # doctest: +SKIP
    >>> report.html  # doctest: +SKIP
    PosixPath('report_out/report.html')
    """
    from tqdm.auto import tqdm

    from cimtwin.config import config
    from cimtwin.model.city import CityModel
    from cimtwin.targets import evaluate

    if not isinstance(model, CityModel):
        raise InputTypeError(f"`model` must be a CityModel; got {type(model).__name__}.")
    if scenario is not None and not isinstance(scenario, CityModel):
        raise InputTypeError(f"`scenario` must be a CityModel or None; got {type(scenario).__name__}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    notes: list[str] = []
    show = config.progress if progress is None else bool(progress)
    with tqdm(total=len(REPORT_STEPS), desc="cimtwin report", disable=not show) as bar:
        def step(done: str) -> None:
            bar.update()
            i = min(bar.n, len(REPORT_STEPS) - 1)
            bar.set_postfix_str(REPORT_STEPS[i] if bar.n < len(REPORT_STEPS) else "done")

        bar.set_postfix_str(REPORT_STEPS[0])
        table = evaluate(model, year) if targets is None else targets
        step("evaluate targets")
        comparison = _comparison(table, evaluate(scenario, year)) if scenario is not None else None
        step("scenario")
        maps: list[tuple[Path, str]] = []
        gap_layers = _gap_layers(model, table, notes)
        _gap_maps(model, table, gap_layers, out, maps)
        risk_result = _risk_map(model, out, maps, notes) if risk else None
        areas = _shelter_areas(model, notes)
        if areas is not None:
            _shelter_map(model, areas, out, maps)
        if comparison is not None:
            _comparison_chart(comparison, out, maps)
        step("static maps")
        classes = risk_result.classes if risk_result is not None else None
        too_big = [n for n in MAP_LAYERS if model.has_layer(n) and len(model.layer(n)) > MAP_MAX_FEATURES]
        for n in too_big:
            notes.append(f"layer {n!r} ({len(model.layer(n)):,} features) is left off the interactive map "
                         f"(over {MAP_MAX_FEATURES:,}); the static maps and the model's own files hold it.")
        map_path = report_map(model, risk_classes=classes, gaps=dict(list(gap_layers.items())[:2]),
                              service_areas=areas, layers=tuple(n for n in MAP_LAYERS if n not in too_big)
                              ).to_html(out / "map.html")
        step("interactive map")
        sheets = {"指标评估": table[table["zone"] == "all"], "分区明细": table[table["zone"] != "all"]}
        if comparison is not None:
            sheets["情景对比"] = comparison
        if risk_result is not None and risk_result.summary_by_district is not None:
            sheets["风险分区汇总"] = risk_result.summary_by_district
        xlsx = _excel(out / "report.xlsx", sheets)
        step("Excel")
        html_path, md_path = _pages(model, table, comparison, maps, notes, out, time.perf_counter() - t0)
        step("report pages")
    files = [html_path, md_path] + [p for p, _ in maps] + [map_path, xlsx]
    return Report(out=out, files=files, table=table, comparison=comparison, notes=notes)


def _pages(model, table, comparison, maps, notes, out: Path, seconds: float) -> tuple[Path, Path]:
    rows = _compliance_rows(table)
    city = table[table["zone"] == "all"]
    n_met = int(city["met"].fillna(False).sum())
    n_known = int(city["value"].notna().sum())
    synthetic = model.metadata.get("synthetic")
    header = (f"{model.name}: {n_met} of {n_known} computable targets met ({len(city)} in the catalogue; "
              f"{len(city) - n_known} cannot be computed on this model — see the reasons).")
    syn_note = ("Synthetic layers (not real data): " + ", ".join(map(str, synthetic))) if synthetic else ""
    comp_rows = []
    if comparison is not None:
        for r in comparison.itertuples():
            comp_rows.append({"指标 target": r.target_id, "目标 target": f"{_op(r.comparator)} {_fmt(r.target, r.unit)}",
                              "基准 before": _fmt(r.before, r.unit), "情景 after": _fmt(r.after, r.unit),
                              "变化 change": _fmt(r.change, r.unit), "基准达标 met before": _met(r.met_before),
                              "情景达标 met after": _met(r.met_after)})
    # Markdown: images as files beside it.
    md = [f"# 规划指标达标评估报告 Plan-target compliance report — {model.name}\n", header + "\n"]
    if syn_note:
        md.append(f"> {syn_note}\n")
    md += ["## 指标达标情况 Compliance\n", _md_table(rows)]
    if comp_rows:
        md += ["## 情景对比 Before / after\n", _md_table(comp_rows)]
    md.append("## 地图 Maps\n")
    md += [f"![{title}]({path.name})\n" for path, title in maps]
    md.append("Interactive map (works offline): [map.html](map.html)\n")
    if notes:
        md += ["## 说明 Notes\n"] + [f"- {n}\n" for n in notes]
    md.append(f"\n_Generated by cimtwin in {seconds:.0f} s. Ratios follow the definitions in "
              "docs/coverage.md and docs/targets.md; the plans do not define them._\n")
    md_path = out / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    # HTML: self-contained, images inlined.
    figs = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}"><figcaption>{html.escape(title)}</figcaption></figure>'
        for path, title in maps)
    body = [f"<h1>规划指标达标评估报告 Plan-target compliance report — {html.escape(model.name)}</h1>",
            f"<p>{html.escape(header)}</p>"]
    if syn_note:
        body.append(f'<p class="note">{html.escape(syn_note)}</p>')
    body += ["<h2>指标达标情况 Compliance</h2>", _html_table(rows)]
    if comp_rows:
        body += ["<h2>情景对比 Before / after</h2>", _html_table(comp_rows)]
    body += ["<h2>地图 Maps</h2>", figs,
             '<p>交互地图 Interactive map (offline): <a href="map.html">map.html</a></p>']
    if notes:
        body += ["<h2>说明 Notes</h2><ul>"] + [f"<li>{html.escape(n)}</li>" for n in notes] + ["</ul>"]
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>cimtwin report — '
            f'{html.escape(model.name)}</title><style>{_CSS}</style></head><body>{"".join(body)}</body></html>')
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return html_path, md_path
