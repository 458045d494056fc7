"""``cimtwin coverage [PATH] --out DIR``: the plans' coverage targets, their gaps, as tables and layers.

Prints each plan target's ratio as a percentage with the definition used, then writes
``coverage_ratios.csv``, ``coverage_ratios.xlsx`` (Chinese headers) and ``coverage_gaps.gpkg``
(one layer of uncovered parts per target) into DIR.
"""

from __future__ import annotations

from pathlib import Path

from cimtwin.cli._common import add_model_argument, open_model
from cimtwin.errors import CimtwinError

# (target id, indicator name, sensor kind, target layer(s) with an optional key_areas category,
#  coverage_ratio keywords, plan value, comparator)
PLAN_TARGETS = (
    ("T3", "全市重要部位的视频感知设备覆盖率", "cameras", (("key_areas", "重要部位"),), {}, 1.00, "≥"),
    ("T6", "重点水库视频监控覆盖率", "cameras", (("reservoirs", None), ("key_areas", "重点水库")), {}, 0.95, ">"),
    ("T6", "河道视频监控覆盖率", "cameras", (("rivers", None), ("key_areas", "河道")), {}, 0.95, ">"),
    ("T6", "城区低洼地区视频监控覆盖率", "cameras", (("low_lying_areas", None), ("key_areas", "城区低洼地区")), {},
     0.95, ">"),
    ("T5", "全市雨量监测站点覆盖率（镇街有站）", "rain_gauges", (("subdistricts", None),),
     {"definition": "presence"}, 1.00, "≥"),
    ("T5", "全市雨量监测站点覆盖率（半径 R）", "rain_gauges", (("subdistricts", None),),
     {"definition": "radius"}, 1.00, "≥"),
    ("T7", "5G 网络全域覆盖（面积）", "sites_5g", (("districts", None),), {"definition": "rsrp"}, 1.00, "≥"),
    ("T14", "NB-IoT 交通路网覆盖（长度）", "sites_nbiot", (("roads", None),), {"definition": "mcl"}, 1.00, "≥"),
    ("T14", "NB-IoT 地下管网深度覆盖（长度）", "sites_nbiot", (("pipes", None),), {"definition": "mcl"}, 1.00, "≥"),
)

_ZH_HEADERS = {
    "target_id": "指标编号", "indicator": "指标名称", "zone": "区域", "covered": "已覆盖量", "total": "总量",
    "unit": "单位", "ratio": "覆盖率", "definition": "计算口径", "plan_value": "规划目标值", "comparator": "比较",
    "params": "参数", "notes": "说明",
}


def add_parser(sub):
    p = sub.add_parser("coverage", help="coverage ratios of the plans' targets, with gap layers")
    add_model_argument(p)
    p.add_argument("--out", required=True, help="output folder for the CSV, Excel and GeoPackage files")
    p.add_argument("--by", default=None, help="zone layer for the breakdown (default: districts when present)")
    return p


def _target_layer(model, choices):
    for layer, category in choices:
        if not model.has_layer(layer) or len(model.layer(layer)) == 0:
            continue
        if category is not None:
            gdf = model.layer(layer)
            if "category" not in gdf or not (gdf["category"] == category).any():
                continue
        return layer, category
    return None, None


def compute_targets(model, *, by=None):
    """Run every plan target the model has layers for: (rows, gap layers, messages, failures)."""
    import pandas as pd

    from cimtwin.coverage import coverage_ratio

    if by is None and model.has_layer("districts"):
        by = "districts"
    rows, gaps, messages, failures = [], {}, [], 0
    for tid, name, sensor_kind, choices, kwargs, value, comparator in PLAN_TARGETS:
        sensors = model.layers_of_kind(sensor_kind)
        layer, category = _target_layer(model, choices)
        if not sensors or layer is None:
            messages.append(f"{tid} {name}: skipped (the model lacks a {sensor_kind} layer or its targets)")
            continue
        try:
            r = coverage_ratio(model, sensors=sensors[0], targets=layer, by=by if layer != by else None,
                               category=category, **kwargs)
        except (CimtwinError, ImportError) as exc:
            failures += 1
            messages.append(f"{tid} {name}: not computed: {exc}")
            continue
        table = r.table
        overall = table.set_index("zone").loc["all"]
        params = "; ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items())
        met = overall["ratio"] >= value if comparator == "≥" else overall["ratio"] > value
        messages.append(f"{tid} {name}: {100 * overall['ratio']:.1f}% (plan {comparator} {100 * value:.0f}%, "
                        f"{'met' if met else 'not met'}; definition {overall['definition']}"
                        f"{', ' + params if params else ''}; targets {layer}"
                        f"{' / ' + category if category else ''})")
        table.insert(0, "indicator", name)
        table.insert(0, "target_id", tid)
        table["plan_value"] = value
        table["comparator"] = comparator
        table["params"] = params
        table["notes"] = " | ".join(r.notes)
        rows.append(table)
        if r.gaps is not None and len(r.gaps):
            gaps[f"{tid}_{len(gaps) + 1}_{layer}_gaps"] = r.gaps
    ratios = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(_ZH_HEADERS))
    return ratios, gaps, messages, failures


def _counts(model):
    import pandas as pd

    from cimtwin.coverage import count_indicators, networking_rate

    counts = count_indicators(model)
    net = None
    if model.has_layer("cameras") and model.has_layer("key_areas"):
        try:
            net = networking_rate(model)
        except CimtwinError:
            net = None
    return counts, (net if net is not None else pd.DataFrame())


def run(args) -> int:
    import pandas as pd

    model = open_model(args.path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ratios, gaps, messages, failures = compute_targets(model, by=args.by)
    counts, net = _counts(model)
    print(f"Coverage of the plan targets — model {model.name}")
    for line in messages:
        print("  " + line)
    if len(net):
        overall = net.set_index("zone").loc["all"]
        print(f"  T4 重点公共区域监控联网率: {100 * overall['ratio']:.1f}% (plan 100%; connected ÷ cameras inside "
              "重点公共区域 key areas)")
    for r in counts.itertuples():
        print(f"  {r.indicator} {r.name}: {r.value:,} of {r.target:,} by {r.year} ({100 * r.ratio_to_target:.1f}%)")

    ratios.to_csv(out / "coverage_ratios.csv", index=False, encoding="utf-8-sig")
    with pd.ExcelWriter(out / "coverage_ratios.xlsx", engine="openpyxl") as xl:
        ratios.rename(columns=_ZH_HEADERS).to_excel(xl, sheet_name="覆盖率", index=False)
        counts.rename(columns={"indicator": "指标编号", "name": "指标名称", "value": "现状值", "target": "目标值",
                               "year": "目标年份", "ratio_to_target": "完成比例", "source": "来源"}).to_excel(
            xl, sheet_name="数量指标", index=False)
        if len(net):
            net.rename(columns={"zone": "区域", "connected": "联网数", "total": "摄像机数", "unit": "单位",
                                "ratio": "联网率", "definition": "计算口径"}).to_excel(xl, sheet_name="联网率",
                                                                                    index=False)
    gpkg = out / "coverage_gaps.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for layer, gdf in gaps.items():
        gdf.to_file(gpkg, layer=layer, driver="GPKG")
    print(f"Wrote {out / 'coverage_ratios.csv'}, {out / 'coverage_ratios.xlsx'}"
          + (f", {gpkg} ({len(gaps)} gap layers)" if gaps else ""))
    return 1 if failures else 0
