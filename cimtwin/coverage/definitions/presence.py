"""``presence`` (a target polygon holds a sensor) and ``thiessen`` (it lies in a small Thiessen cell).

Both read rain-gauge coverage (T5, 全市雨量监测站点覆盖率) without a radius; no standard defines
the rate, see ``docs/coverage.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cimtwin._validate import require_positive
from cimtwin.coverage.accounting import (ALL, Cover, CoverageInputs, Outcome, area_table, definition_words,
                                         feature_table)
from cimtwin.coverage.definitions.radius import DEFAULT_GAUGE_AREA_KM2
from cimtwin.errors import ValidationError

__all__ = ["presence", "thiessen"]


def _polygons_only(inp: CoverageInputs, name: str, what: str) -> None:
    if inp.family != "polygon":
        raise ValidationError(f"Definition {name!r} needs polygon targets ({what}).")
    if inp.weight is not None:
        raise ValidationError(f"Definition {name!r} counts target features or area; it takes no `weight`.")


def presence(inp: CoverageInputs) -> Outcome:
    """Share of target polygons holding at least one sensor (counted per target feature).

    Takes no options.

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="rain_gauges", targets="subdistricts", definition="presence")  # doctest: +SKIP
    """
    import shapely

    _polygons_only(inp, "presence", "sub-districts, grid cells, key areas")
    geoms = inp.targets.geometry.to_numpy()
    has = np.zeros(len(geoms), dtype=bool)
    if len(inp.sensors):
        _, ti = shapely.STRtree(geoms).query(inp.sensors.geometry.to_numpy(), predicate="intersects")
        has[ti] = True
    table, covered, gaps = feature_table(inp, has, definition_words(inp, "presence"))
    return Outcome(table, covered, gaps)


def thiessen(inp: CoverageInputs, *, area_km2_per_gauge: float = DEFAULT_GAUGE_AREA_KM2) -> Outcome:
    """Share of the target area lying in Thiessen cells of at most ``area_km2_per_gauge`` km².

    Parameters
    ----------
    area_km2_per_gauge : float
        The largest compliant Thiessen cell (WMO-No. 168 urban 10–20 km²; default 15 km²).

    The table adds each zone's ``largest_cell_km2`` and ``km2_per_gauge``.

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="rain_gauges", targets="subdistricts", definition="thiessen")  # doctest: +SKIP
    """
    import geopandas as gpd
    import shapely

    _polygons_only(inp, "thiessen", "the study area or its zones")
    area_km2_per_gauge = require_positive(area_km2_per_gauge, arg="area_km2_per_gauge")
    inp.params["area_km2_per_gauge"] = area_km2_per_gauge
    aoi = shapely.union_all(inp.targets.geometry.to_numpy())
    pts = inp.sensors.geometry.to_numpy()
    if len(pts):
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=aoi.envelope.buffer(1.0),
                                                           ordered=True))
        cells = shapely.intersection(cells, aoi)
    else:
        cells = np.array([], dtype=object)
    cell_km2 = shapely.area(cells) / 1e6
    ok = cell_km2 <= area_km2_per_gauge
    table, covered, gaps = area_table(inp, Cover(polygons=cells[ok & (cell_km2 > 0)]),
                                      definition_words(inp, "thiessen"))
    table = table.merge(_cell_stats(inp, aoi, cells, cell_km2, pts), on="zone_id", how="left")
    fp = gpd.GeoDataFrame({"area_km2": cell_km2, "compliant": ok}, geometry=cells, crs=inp.targets.crs)
    inp.notes.append(f"Thiessen cells clipped to the targets' union; compliant when ≤ {area_km2_per_gauge:g} km² "
                     "(WMO-No. 168 urban 10–20 km² per gauge).")
    return Outcome(table, covered, gaps, fp)


def _cell_stats(inp: CoverageInputs, aoi, cells, cell_km2, pts) -> pd.DataFrame:
    """Per zone (and 'all'): the largest Thiessen cell touching it and its km² per gauge."""
    import shapely

    cell_tree = shapely.STRtree(cells) if len(cells) else None
    gauge_tree = shapely.STRtree(pts) if len(pts) else None

    def stats(geom):
        hit = cell_tree.query(geom, predicate="intersects") if cell_tree is not None else []
        largest = float(cell_km2[hit].max()) if len(hit) else float("nan")
        n = len(gauge_tree.query(geom, predicate="intersects")) if gauge_tree is not None else 0
        return largest, (geom.area / 1e6 / n) if n else float("inf")

    rows = []
    zones = inp.zones
    if zones is not None:
        geoms = inp.targets.geometry.to_numpy() if inp.same_layer else shapely.intersection(zones.geoms, aoi)
        for zid, g in zip(zones.ids, geoms):
            if not shapely.is_empty(g):
                rows.append((zid, *stats(g)))
    largest_all = float(cell_km2.max()) if len(cells) else float("nan")
    rows.append((ALL, largest_all, aoi.area / 1e6 / len(pts) if len(pts) else float("inf")))
    return pd.DataFrame(rows, columns=["zone_id", "largest_cell_km2", "km2_per_gauge"])
