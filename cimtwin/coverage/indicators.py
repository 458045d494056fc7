"""Count and networking indicators of the plans (T1, T2, T4, 5G site count).

These are attribute ratios after a spatial filter, kept apart from coverage on purpose: the
plan names 联网率 (networking rate) and 覆盖率 (coverage) as two different metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cimtwin.errors import ValidationError

__all__ = ["networking_rate", "count_indicators", "PLAN_COUNT_TARGETS"]

# (indicator id, Chinese name, layer kind, column counted or None for rows, target, year, source)
PLAN_COUNT_TARGETS = (
    ("T1", "接入公共安全视频监控数量（路）", "cameras", "connected", 150_000, 2025, "济南市数字济南规划 T1"),
    ("T2", "智能相机监控设备数量（路）", "cameras", "is_smart", 30_000, 2025, "济南市数字济南规划 T2"),
    ("5G", "5G基站数量（个）", "sites_5g", None, 40_000, 2023, "5G sites target by 2023"),
)


def networking_rate(model, *, cameras: str = "cameras", key_areas: str = "key_areas",
                    category: str | list[str] = "重点公共区域", by=None) -> pd.DataFrame:
    """重点公共区域监控联网率: connected ÷ all cameras inside key areas of ``category``.

    A camera inside several key areas counts once. Returns a table with ``zone``,
    ``connected``, ``total``, ``unit`` ("cameras") and ``ratio`` (NaN-free: zones without
    cameras are left out).

    Examples
    --------
    >>> networking_rate(model)   # doctest: +SKIP
    """
    import shapely

    cams = model.require_layer(cameras, purpose="the networking rate")
    areas = model.require_layer(key_areas, purpose="the networking rate")
    cats = [category] if isinstance(category, str) else list(category)
    areas = areas[areas["category"].isin(cats)]
    if len(areas) == 0:
        raise ValidationError(f"Layer {key_areas!r} has no key areas of category {cats}.")
    tree = shapely.STRtree(areas.geometry.to_numpy())
    ci, _ = tree.query(cams.geometry.to_numpy(), predicate="intersects")
    inside = np.zeros(len(cams), dtype=bool)
    inside[ci] = True
    sel = cams[inside]
    connected = sel["connected"].astype(bool).to_numpy() if "connected" in sel else np.ones(len(sel), bool)
    if by is None:
        zone = np.full(len(sel), "all", dtype=object)
        order = ["all"]
    else:
        zones = model.require_layer(by, purpose="a zone breakdown")
        zt = shapely.STRtree(zones.geometry.to_numpy())
        pi, zi = zt.query(sel.geometry.to_numpy(), predicate="intersects")
        zone = np.full(len(sel), None, dtype=object)
        names = zones["name"].astype(str).to_numpy()
        for p, z in zip(pi[::-1], zi[::-1]):
            zone[p] = names[z]
        order = list(names) + ["all"]
    df = pd.DataFrame({"zone": zone, "connected": connected.astype(float), "total": 1.0})
    agg = df.groupby("zone", sort=False)[["connected", "total"]].sum()
    if by is not None:
        agg.loc["all"] = [float(connected.sum()), float(len(sel))]
    agg = agg.reindex([z for z in order if z in agg.index])
    out = agg.reset_index().rename(columns={"index": "zone"})
    out = out[out["total"] > 0].reset_index(drop=True)
    out["unit"] = "cameras"
    out["ratio"] = out["connected"] / out["total"]
    out["definition"] = f"networking: connected ÷ cameras inside key_areas of category {cats}"
    return out


def count_indicators(model) -> pd.DataFrame:
    """Counts against the plans' numeric targets (connected and smart cameras, 5G sites).

    Returns ``indicator``, ``name``, ``value``, ``target``, ``year``, ``ratio_to_target``
    (value ÷ target, may exceed 1) and ``source``; layers the model lacks are left out.

    Examples
    --------
    >>> count_indicators(model)   # doctest: +SKIP
    """
    rows = []
    for ind, name, kind, column, target, year, source in PLAN_COUNT_TARGETS:
        layers = model.layers_of_kind(kind)
        if not layers:
            continue
        value = 0
        for layer in layers:
            gdf = model.layer(layer)
            if column is None:
                value += len(gdf)
            else:
                value += int(gdf[column].astype(bool).sum()) if column in gdf else 0
        rows.append({"indicator": ind, "name": name, "value": value, "target": target, "year": year,
                     "ratio_to_target": value / target, "source": source})
    return pd.DataFrame(rows, columns=["indicator", "name", "value", "target", "year", "ratio_to_target", "source"])
