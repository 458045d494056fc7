"""Count and networking indicators of the plans (connected and smart cameras, networking rate, 5G sites).

These are attribute ratios after a spatial filter, kept apart from coverage on purpose: the
plan names 联网率 (networking rate) and 覆盖率 (coverage) as two different metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cimtwin.errors import SchemaError, ValidationError

__all__ = ["networking_rate", "count_indicators", "PLAN_COUNT_TARGETS"]

# (catalogue target_id, Chinese name, layer kind, columns that must all be True (none: every row),
#  target, year, source); the same conditions as the catalogue (cimtwin/targets/catalog.toml)
PLAN_COUNT_TARGETS = (
    ("video_channels_connected", "接入公共安全视频监控数量（路）", "cameras", ("connected",), 150_000, 2025,
     "济南市“十四五”数字泉城规划 000:212"),
    ("smart_camera_channels", "智能相机监控设备数量（路）", "cameras", ("is_smart", "connected"), 30_000, 2025,
     "济南市“十四五”数字泉城规划 000:212"),
    ("sites_5g_2023", "5G基站数量（个）", "sites_5g", (), 40_000, 2023, "济政字〔2021〕65号 002:274"),
)


def networking_rate(model, *, cameras: str = "cameras", key_areas: str = "key_areas",
                    category: str | list[str] = "重点公共区域", by=None) -> pd.DataFrame:
    """重点公共区域监控联网率: connected ÷ cameras inside key areas of ``category``.

    A camera inside several key areas counts once. A camera whose ``connected`` is null is
    unknown: it is left out of the ratio and counted in ``unknown`` (never as connected).
    Returns a table with ``zone``, ``zone_id``, ``parent``, ``connected``, ``total`` (cameras
    with a known status), ``unknown``, ``unit`` ("cameras"), ``ratio`` (NaN where no camera
    status is known) and ``definition``; the last row is the whole area (``zone`` ``"all"``).

    Raises
    ------
    SchemaError
        When the cameras have no ``connected`` column: a missing status is not a connected one.

    Examples
    --------
    >>> networking_rate(model, by="districts")   # doctest: +SKIP
    """
    import shapely

    from cimtwin.coverage.accounting import ALL, feature_zones

    cams = model.require_layer(cameras, purpose="the networking rate")
    areas = model.require_layer(key_areas, purpose="the networking rate")
    if "connected" not in cams.columns:
        raise SchemaError(f"Layer {cameras!r} has no `connected` column: the networking rate needs each camera's "
                          "status (True/False; null where unknown).")
    cats = [category] if isinstance(category, str) else list(category)
    areas = areas[areas["category"].isin(cats)]
    if len(areas) == 0:
        raise ValidationError(f"Layer {key_areas!r} has no key areas of category {cats}.")
    ci, _ = shapely.STRtree(areas.geometry.to_numpy()).query(cams.geometry.to_numpy(), predicate="intersects")
    sel = cams.iloc[np.unique(ci)]
    status = sel["connected"]
    known = status.notna().to_numpy()
    connected = status.fillna(False).astype(bool).to_numpy() & known
    rows = []
    if by is not None:
        pos, names, ids, parents = feature_zones(model, by, sel)
        frame = pd.DataFrame({"zone": names, "zone_id": ids, "parent": parents, "connected": connected[pos],
                              "total": known[pos], "unknown": ~known[pos]})
        agg = frame.groupby("zone_id", sort=False).agg(zone=("zone", "first"), parent=("parent", "first"),
                                                       connected=("connected", "sum"), total=("total", "sum"),
                                                       unknown=("unknown", "sum"))
        rows += [(r.zone, zid, r.parent, r.connected, r.total, r.unknown) for zid, r in agg.iterrows()]
    rows.append((ALL, ALL, "", connected.sum(), known.sum(), (~known).sum()))
    out = pd.DataFrame(rows, columns=["zone", "zone_id", "parent", "connected", "total", "unknown"])
    out = out[(out["total"] + out["unknown"]) > 0].reset_index(drop=True)
    for col in ("connected", "total", "unknown"):
        out[col] = out[col].astype("float64")
    out["unit"] = "cameras"
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ratio"] = np.where(out["total"] > 0, out["connected"] / out["total"].where(out["total"] > 0), np.nan)
    out["definition"] = f"networking: connected ÷ cameras with a known status inside key_areas of category {cats}"
    return out


def count_indicators(model) -> pd.DataFrame:
    """Counts against the plans' numeric targets (connected and smart cameras, 5G sites).

    Labelled with the catalogue's ``target_id`` and counted as the catalogue counts them
    (:func:`cimtwin.targets.evaluate` is the reference). A row whose column is null is not
    counted (and reported in ``unknown``); a layer lacking the column gives ``value`` NaN.
    Returns ``target_id``, ``name``, ``value``, ``unknown``, ``target``, ``year``,
    ``ratio_to_target`` (value ÷ target, may exceed 1) and ``source``; layers the model lacks
    are left out.

    Examples
    --------
    >>> count_indicators(model)   # doctest: +SKIP
    """
    rows = []
    for tid, name, kind, columns, target, year, source in PLAN_COUNT_TARGETS:
        layers = model.layers_of_kind(kind)
        if not layers:
            continue
        value, unknown = 0.0, 0
        for layer in layers:
            gdf = model.layer(layer)
            if any(c not in gdf.columns for c in columns):
                value = float("nan")
                continue
            ok = np.ones(len(gdf), dtype=bool)
            known = np.ones(len(gdf), dtype=bool)
            for c in columns:
                known &= gdf[c].notna().to_numpy()
                ok &= gdf[c].fillna(False).astype(bool).to_numpy()
            value += float((ok & known).sum())
            unknown += int((~known).sum())
        rows.append({"target_id": tid, "name": name, "value": value, "unknown": unknown, "target": target,
                     "year": year, "ratio_to_target": value / target, "source": source})
    return pd.DataFrame(rows, columns=["target_id", "name", "value", "unknown", "target", "year", "ratio_to_target",
                                       "source"])
