"""``cimtwin coverage [PATH] --out DIR``: the catalogue's coverage targets, their gaps, as tables and layers.

Runs every catalogue target computed by ``coverage_ratio`` (plus the networking rate and the
camera and 5G counts) through :func:`cimtwin.targets.run_targets` — the same function and
parameters as ``cimtwin.targets.evaluate``, ``cimtwin demo`` and ``cimtwin report`` — prints each
with its target_id, definition (with the clip), parameters and data, then writes
``coverage_ratios.csv``, ``coverage_ratios.xlsx`` (Chinese headers) and ``coverage_gaps.gpkg``
(one layer of uncovered parts per target) into DIR.
"""

from __future__ import annotations

import math
from pathlib import Path

from cimtwin.cli._common import add_model_argument, open_model

COLUMNS = ["target_id", "indicator", "zone", "zone_id", "parent", "covered", "total", "unit", "ratio", "definition",
           "parameters", "data", "plan_value", "comparator", "met", "reason", "notes"]
_ZH_HEADERS = {
    "target_id": "指标编号", "indicator": "指标名称", "zone": "区域", "zone_id": "区域编码", "parent": "上级区域",
    "covered": "已覆盖量", "total": "总量", "unit": "单位", "ratio": "覆盖率", "definition": "计算口径",
    "parameters": "参数", "data": "数据", "plan_value": "规划目标值", "comparator": "比较", "met": "是否达标",
    "reason": "说明", "notes": "备注",
}
# The other camera and network indicators shown beside the ratios (sheets 数量指标 and 联网率).
_EXTRA = ("networking_ratio", "count")
_EXTRA_LAYERS = ("cameras", "sites_5g")


def add_parser(sub):
    p = sub.add_parser("coverage", help="coverage ratios of the plans' targets, with gap layers")
    add_model_argument(p)
    p.add_argument("--out", required=True, help="output folder for the CSV, Excel and GeoPackage files")
    p.add_argument("--by", default=None,
                   help="zone layer for every target's breakdown (default: the catalogue's, districts or none)")
    p.add_argument("--clip-to", default="study_area", choices=("study_area", "none"),
                   help="clip the targets to the model's study area (default, when it has one) or not")
    return p


def coverage_targets(catalog=None):
    """The catalogue rows computed by ``coverage_ratio``, and those shown beside them."""
    from cimtwin.targets import load_catalog, parse_computation

    cat = load_catalog(catalog) if not hasattr(catalog, "columns") else catalog
    name = cat["computation"].map(lambda c: parse_computation(c).name)
    layer = cat["computation"].map(lambda c: parse_computation(c).kwargs.get("layer"))
    extra = name.isin(_EXTRA) & ((name != "count") | layer.isin(_EXTRA_LAYERS))
    return cat[name == "coverage_ratio"], cat[extra]


def compute_targets(model, *, by=None, clip_to="study_area"):
    """Every coverage target of the catalogue: (ratios table, other indicators, gap layers, messages,
    failures)."""
    import pandas as pd

    from cimtwin.targets import run_targets

    ratios_cat, extra_cat = coverage_targets()
    run = run_targets(model, ids=list(ratios_cat["id"]) + list(extra_cat["id"]), clip_to=clip_to, by=by)
    city = run.table[run.table["zone_id"] == "all"].set_index("target_id")
    rows, gaps, messages, failures = [], {}, [], 0
    for entry in ratios_cat.itertuples():
        tid, row = entry.id, city.loc[entry.id]
        met = "n/a" if pd.isna(row["met"]) else ("met" if bool(row["met"]) else "not met")
        result = run.results.get(tid)
        if result is None:
            failures += row["reason"].startswith("cannot compute")
            messages.append(f"{tid} {entry.zh}: n/a — {row['reason']}")
            rows.append(pd.DataFrame([{"target_id": tid, "indicator": entry.zh, "zone": "all", "zone_id": "all",
                                       "parent": "", "ratio": math.nan, "definition": row["definition"],
                                       "plan_value": entry.value, "comparator": entry.comparator, "met": met,
                                       "reason": row["reason"]}]))
            continue
        messages.append(f"{tid} {entry.zh}: {100 * row['value']:.1f}% (plan {entry.comparator} "
                        f"{100 * entry.value:.0f}%, {met}); definition {result['definition'].iloc[0]}; "
                        f"parameters {result.parameters()}; data {result.data}")
        table = result.table
        table.insert(0, "indicator", entry.zh)
        table.insert(0, "target_id", tid)
        table["parameters"] = result.parameters()
        table["data"] = result.data
        table["plan_value"] = entry.value
        table["comparator"] = entry.comparator
        table["met"] = [met if z == "all" else "" for z in table["zone_id"]]
        table["reason"] = ""
        table["notes"] = " | ".join(result.notes)
        rows.append(table)
        if result.gaps is not None and len(result.gaps):
            gaps[f"{tid}_gaps"] = result.gaps
    ratios = pd.concat(rows, ignore_index=True).reindex(columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS)
    extra = run.table[run.table["target_id"].isin(extra_cat["id"])]
    return ratios, extra, gaps, messages, failures


def _format_extra(extra) -> list[str]:
    lines = []
    for r in extra[extra["zone_id"] == "all"].itertuples():
        if r.value != r.value:
            lines.append(f"{r.target_id}: n/a — {r.reason}")
            continue
        value = f"{100 * r.value:.1f}%" if r.unit == "fraction" else f"{r.value:,.0f}"
        target = f"{100 * r.target:.0f}%" if r.unit == "fraction" else f"{r.target:,.0f}"
        met = "n/a" if r.met is None or r.met != r.met else ("met" if bool(r.met) else "not met")
        lines.append(f"{r.target_id}: {value} (plan {r.comparator} {target} by {r.year}, {met}); definition "
                     f"{r.definition}; parameters {r.parameters}; data {r.data}")
    return lines


def run(args) -> int:
    import pandas as pd

    from cimtwin.io.tables import write_csv
    from cimtwin.io.vector import write_layer

    model = open_model(args.path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clip_to = None if args.clip_to == "none" else args.clip_to
    ratios, extra, gaps, messages, failures = compute_targets(model, by=args.by, clip_to=clip_to)
    print(f"Coverage of the plan targets — model {model.name}")
    for line in messages + _format_extra(extra):
        print("  " + line)

    write_csv(ratios, out / "coverage_ratios.csv", encoding="utf-8-sig")
    with pd.ExcelWriter(out / "coverage_ratios.xlsx", engine="openpyxl") as xl:
        ratios.rename(columns=_ZH_HEADERS).to_excel(xl, sheet_name="覆盖率", index=False)
        heads = {"target_id": "指标编号", "zone": "区域", "zone_id": "区域编码", "value": "现状值", "target": "目标值",
                 "year": "目标年份", "unknown_share": "未知比例", "definition": "计算口径", "parameters": "参数",
                 "data": "数据", "reason": "说明"}
        cols = list(heads)
        counts = extra[(extra["unit"] == "count")][cols].rename(columns=heads)
        counts.to_excel(xl, sheet_name="数量指标", index=False)
        net = extra[(extra["unit"] == "fraction")][cols].rename(columns=heads)
        net.to_excel(xl, sheet_name="联网率", index=False)
    gpkg = out / "coverage_gaps.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for layer, gdf in gaps.items():
        write_layer(gdf, gpkg, layer=layer)
    print(f"Wrote {out / 'coverage_ratios.csv'}, {out / 'coverage_ratios.xlsx'}"
          + (f", {gpkg} ({len(gaps)} gap layers)" if gaps else ""))
    return 1 if failures else 0
