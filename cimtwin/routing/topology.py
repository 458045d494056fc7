"""Check the junctions a road-naming notice declares against the drawn geometry."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import require_positive, requires_metres
from cimtwin.errors import SchemaError

__all__ = ["check_declared_junctions"]


@requires_metres("roads")
def check_declared_junctions(roads, junctions, *, tolerance_m: float = 5.0):
    """Whether each declared junction (``road`` meets ``other_road``) exists in the geometry.

    Parameters
    ----------
    roads : GeoDataFrame with ``name`` and line geometry (projected CRS); an optional ``aka``
        column gives another spelling of a road's name (a notice that prints 风集路 in one
        entry and 凤集路 in others), under which the road is found too
    junctions : DataFrame with ``road`` and ``other_road`` (e.g. ``cimtwin.io.road_junctions``)
    tolerance_m : float
        Two roads meet when their lines come within this distance.

    Returns
    -------
    DataFrame
        The junction rows with ``gap_m`` (closest distance between the two roads, NaN
        when a name is missing), ``connected`` and ``reason``; filter
        ``report[~report.connected]`` for the junctions the geometry does not make.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> roads = gpd.GeoDataFrame({"name": ["甲路", "乙路"]}, geometry=[shapely.LineString([(0, 0), (100, 0)]),
    ...     shapely.LineString([(100, 30), (100, 100)])], crs="EPSG:32650")
    >>> j = pd.DataFrame({"road": ["甲路"], "other_road": ["乙路"]})
    >>> check_declared_junctions(roads, j)[["gap_m", "connected"]].values.tolist()
    [[30.0, False]]
    """
    import shapely

    from cimtwin._validate import require_projected

    tol = require_positive(tolerance_m, arg="tolerance_m", allow_zero=True)
    require_projected(roads.crs, arg="roads.crs", what="a junction check in metres")
    for col, df in (("name", roads), ("road", junctions), ("other_road", junctions)):
        if col not in df.columns:
            raise SchemaError(f"Column {col!r} is missing (roads need `name`; junctions `road`, `other_road`).")
    by_name = {}
    for name, grp in roads.groupby("name"):
        by_name[name] = shapely.union_all(np.asarray(grp.geometry.values, dtype=object))
    if "aka" in roads.columns:
        for name, grp in roads.dropna(subset=["aka"]).groupby("aka"):
            by_name.setdefault(name, shapely.union_all(np.asarray(grp.geometry.values, dtype=object)))
    gaps, ok, reasons = [], [], []
    for a, b in zip(junctions["road"], junctions["other_road"]):
        missing = [n for n in (a, b) if n not in by_name]
        if missing:
            gaps.append(np.nan)
            ok.append(False)
            reasons.append(f"no road named {' or '.join(map(str, missing))} in the layer")
            continue
        gap = float(shapely.distance(by_name[a], by_name[b]))
        gaps.append(gap)
        ok.append(gap <= tol)
        reasons.append("" if gap <= tol else f"{a} and {b} come no closer than {gap:.1f} m (tolerance {tol:g} m)")
    out = junctions.copy()
    out["gap_m"] = gaps
    out["connected"] = ok
    out["reason"] = reasons
    return out
