"""``cimtwin report [PATH] --out DIR``: where the city stands against its plans, for the leadership.

Writes ``report.html`` (self-contained: images inlined), ``report.md``, static maps (PNG with
legend, scale bar and north arrow: coverage gaps, risk zones, shelter access), one interactive
``map.html`` (offline), ``report.xlsx`` (Chinese headers) and, with ``--scenario``, a
before/after comparison.
"""

from __future__ import annotations

import base64
import html
import math
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from cimtwin.cli._common import add_model_argument, open_model

# Chinese headers of the exported tables.
ZH_HEADERS = {
    "target_id": "指标编号", "year": "目标年份", "zone": "区域", "value": "现状值", "target": "目标值",
    "comparator": "比较", "unit": "单位", "met": "是否达标", "gap": "差距（目标−现状）", "definition": "计算口径",
    "reason": "说明", "flag": "标注", "computation": "计算方法", "source": "来源文件", "lines": "出处（文件:行）",
    "zh": "规划原文", "en": "英文", "kind": "类型",
    "before": "现状值（基准）", "after": "现状值（情景）", "change": "变化", "met_before": "基准是否达标",
    "met_after": "情景是否达标",
}
# Coverage targets whose gaps get a static map, in this order.
_GAP_MAPS = ("key_site_video_coverage", "low_lying_video_coverage", "rain_gauge_coverage_radius",
             "coverage_5g_full_area", "nbiot_road_coverage")
_SHELTER_SNAP_M = 200.0
# Layers the interactive map shows when the model has them (buildings are left out: too many).
_MAP_LAYERS = ("districts", "subdistricts", "management_zones", "key_areas", "low_lying_areas", "reservoirs",
               "rivers", "roads", "cameras", "sites_5g", "sites_nbiot", "rain_gauges", "shelters")


def add_parser(sub):
    p = sub.add_parser("report", help="compliance report against the plans' targets: HTML, Markdown, maps, Excel")
    add_model_argument(p)
    p.add_argument("--out", default="report_out", help="output folder (default: report_out)")
    p.add_argument("--scenario", default=None, metavar="PATH2",
                   help="a second saved model (e.g. with planned cameras) to compare before/after")
    p.add_argument("--year", type=int, default=None, help="only the targets due in this year (2021/2022/2023/2025)")
    p.add_argument("--no-risk", action="store_true", help="skip the risk zoning (faster)")
    return p


def run(args) -> int:
    from cimtwin.config import config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = ["load the model", "evaluate targets", "scenario", "static maps", "interactive map", "write"]
    with tqdm(total=len(steps), desc="cimtwin report", disable=not config.progress) as bar:
        bar.set_postfix_str(steps[0])
        model = open_model(args.path)
        bar.update()
        written = build_report(model, out, scenario=open_model(args.scenario) if args.scenario else None,
                               year=args.year, risk=not args.no_risk, progress=bar)
    for path in written:
        print(path)
    return 0


# -- formatting -----------------------------------------------------------------------------------------

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
            "出处 source": f"{r.source} {r.lines}", "口径/说明 definition / reason": note,
        })
    return rows


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


# -- pieces -----------------------------------------------------------------------------------------------

def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def _study_area(model):
    """Where the analysis layers are (the roads), so a small study area in a large city fills the map."""
    for name in ("roads", "cameras", "sites_5g"):
        if model.has_layer(name) and len(model.layer(name)):
            return tuple(model.layer(name).total_bounds)
    return None


def _base_layers(model) -> dict[str, Any]:
    return {n: model.layer(n) for n in ("districts", "roads") if model.has_layer(n)}


def _gap_maps(model, results: dict[str, Any], out: Path, maps: list) -> dict[str, Any]:
    from cimtwin.viz.static_maps import _text, static_map

    gap_layers = {}
    for tid in _GAP_MAPS:
        res = results.get(tid)
        gaps = getattr(res, "gaps", None)
        if gaps is None or len(gaps) == 0:
            continue
        sensors = {"key_site_video_coverage": "cameras", "low_lying_video_coverage": "cameras",
                   "rain_gauge_coverage_radius": "rain_gauges", "coverage_5g_full_area": "sites_5g",
                   "nbiot_road_coverage": "sites_nbiot"}[tid]
        layers = _base_layers(model)
        layers["gaps"] = gaps
        if model.has_layer(sensors):
            layers[sensors] = model.layer(sensors)
        ratio = float(res.table.loc[res.table["zone"] == "all", "ratio"].iloc[0])
        title = _text(f"覆盖缺口：{tid}（覆盖率 {100 * ratio:.1f}%）", f"coverage gaps: {tid} ({100 * ratio:.1f}% covered)")
        path = _save(static_map(layers, title=title, extent=_study_area(model)), out / f"gaps_{tid}.png")
        maps.append((path, title))
        gap_layers[tid] = gaps
    return gap_layers


def _risk_map(model, out: Path, maps: list, notes: list[str]):
    from cimtwin.viz.static_maps import _text, static_map

    try:
        from cimtwin.risk import risk_zoning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = risk_zoning(model)
    except Exception as exc:  # the report goes on without the risk map, and says why
        notes.append(f"risk zones not mapped: {type(exc).__name__}: {exc}")
        return None
    layers = _base_layers(model)
    layers["risk_zones"] = result.zones[result.zones["class"] > 0] if "class" in result.zones else result.zones
    title = _text("综合风险分区（5 = 最高）", "composite risk zones (5 = highest)")
    path = _save(static_map(layers, names=["districts", "risk_zones", "roads"], title=title,
                            extent=_study_area(model)), out / "risk_zones.png")
    maps.append((path, title))
    return result


def _shelter_map(model, out: Path, maps: list, notes: list[str]):
    from cimtwin.viz.static_maps import _text, static_map

    if not (model.has_layer("shelters") and model.has_layer("roads")):
        notes.append("shelter access not mapped: the model lacks a shelters or roads layer")
        return None
    try:
        from cimtwin.routing import RoadNetwork, shelter_service_areas

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = RoadNetwork.from_roads(model.layer("roads"))
            shelters = model.layer("shelters")
            points = shelters.geometry.representative_point()
            # A shelter far from every road cannot be walked to along the network: left out, and said.
            roads = model.layer("roads")
            import shapely

            tree = shapely.STRtree(roads.geometry.to_numpy())
            _, dist = tree.query_nearest(points.to_numpy(), return_distance=True, all_matches=False)
            near = dist <= _SHELTER_SNAP_M
            if not near.all():
                notes.append(f"{int((~near).sum())} of {len(near)} shelters lie more than {_SHELTER_SNAP_M:g} m "
                             "from every road and are left out of the shelter service areas")
            pop = model.raster("population") if model.has_raster("population") else None
            areas = shelter_service_areas(net, points[near], kind="emergency", per_facility=False, population=pop,
                                          max_snap_m=_SHELTER_SNAP_M)
    except Exception as exc:
        notes.append(f"shelter access not mapped: {type(exc).__name__}: {exc}")
        return None
    layers = _base_layers(model)
    layers["service_area"] = areas
    layers["shelters"] = shelters
    zh, en = "应急避难场所步行500米服务范围", "shelters: 500 m walk service area"
    if pop is not None and float(pop.sum()) > 0:
        share = 100 * float(areas["population"].sum()) / float(pop.sum())
        zh, en = f"{zh}（覆盖 {share:.1f}% 居民）", f"{en} ({share:.1f}% of residents)"
    title = _text(zh, en)
    path = _save(static_map(layers, names=["districts", "service_area", "roads", "shelters"], title=title,
                            extent=_study_area(model)), out / "shelter_access.png")
    maps.append((path, title))
    return areas


def _dissolved_zones(zones, model):
    """One (multi)polygon per risk class, simplified to half a cell: a map needs no more."""
    zones = zones[zones["class"] > 0][["class", zones.geometry.name]]
    merged = zones.dissolve(by="class").reset_index()
    res = abs(model.grid.transform.a) if model.grid is not None else 10.0
    merged = merged.set_geometry(merged.geometry.simplify(res / 2))
    return merged.explode(index_parts=False).reset_index(drop=True)


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
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    from cimtwin.viz.static_maps import _text, cjk_font

    rows = comp[(comp["unit"] == "fraction") & comp["before"].notna() & comp["after"].notna()]
    if rows.empty:
        return
    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"]} if font else {}):
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
        y = np.arange(len(rows))
        ax.barh(y - 0.2, 100 * rows["before"], height=0.4, label=_text("基准", "before"), color="#9e9e9e")
        ax.barh(y + 0.2, 100 * rows["after"], height=0.4, label=_text("情景", "after"), color="#1e88e5")
        ax.scatter(100 * rows["target"], y, marker="|", s=300, color="#e6007e", label=_text("目标", "target"), zorder=5)
        ax.set_yticks(y, rows["target_id"])
        ax.set_xlabel("%")
        ax.set_xlim(0, 105)
        ax.invert_yaxis()
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(_text("情景前后对比", "before / after the scenario"))
        fig.tight_layout()
    title = _text("情景前后对比", "before / after the scenario")
    maps.append((_save(fig, out / "scenario_comparison.png"), title))


def _excel(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame = frame.copy()
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


_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f1efe8; } tr.met td:nth-child(6) { color: #1b7f3b; } tr.unmet td:nth-child(6) { color: #c62828; }
figure { margin: 16px 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #666; font-size: 12px; }
"""


def build_report(model, out: Path, *, scenario=None, year: int | None = None, risk: bool = True,
                 progress=None) -> list[Path]:
    """Write the report files for ``model`` (and a before/after ``scenario``) into ``out``."""
    from cimtwin.targets import run_targets
    from cimtwin.viz import to_deck, to_html

    def step(name: str) -> None:
        if progress is not None:
            progress.update()
            progress.set_postfix_str(name)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_targets(model, year)
    table = run.table
    step("scenario")
    comparison = None
    if scenario is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comparison = _comparison(table, run_targets(scenario, year).table)
    step("static maps")
    maps: list[tuple[Path, str]] = []
    notes: list[str] = []
    gap_layers = _gap_maps(model, run.results, out, maps)
    risk_result = _risk_map(model, out, maps, notes) if risk else None
    shelter_areas = _shelter_map(model, out, maps, notes)
    if comparison is not None:
        _comparison_chart(comparison, out, maps)
    step("interactive map")
    layers = {n: model.layer(n) for n in _MAP_LAYERS if model.has_layer(n) and len(model.layer(n))}
    if risk_result is not None:
        layers["risk_zones"] = _dissolved_zones(risk_result.zones, model)
    for tid, gaps in list(gap_layers.items())[:2]:
        layers[f"gaps_{tid}"] = gaps
    if shelter_areas is not None:
        layers["shelter_service_area"] = shelter_areas
    map_path = to_html(to_deck(layers, simplify_m=5.0), out / "map.html", title=f"{model.name} — cimtwin 地图 map")
    step("write")
    written = [p for p, _ in maps] + [map_path]
    sheets = {"指标评估": table[table["zone"] == "all"], "分区明细": table[table["zone"] != "all"]}
    if comparison is not None:
        sheets["情景对比"] = comparison
    if risk_result is not None and risk_result.summary_by_district is not None:
        sheets["风险分区汇总"] = risk_result.summary_by_district
    written.append(_excel(out / "report.xlsx", sheets))
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
    md.append(f"\n_Generated by cimtwin in {time.perf_counter() - t0:.0f} s. Ratios follow the definitions in "
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
    return [html_path, md_path] + written
