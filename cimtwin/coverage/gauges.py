"""Rain-gauge coverage (plan target T5, 全市雨量监测站点覆盖率): presence, radius and Thiessen.

No standard defines the rate, so all three readings are offered side by side:

- ``presence``: share of sub-districts (or grid cells) holding at least one gauge;
- ``radius``: share of the area within R of a gauge, R = √(A/π) with A = 15 km² per gauge
  (WMO-No. 168, urban areas 10–20 km² per recording gauge) ≈ 2.185 km;
- ``thiessen``: share of the area in Thiessen cells of at most A km², with the largest cell and
  the area per gauge of each zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cimtwin._validate import requires_metres
from cimtwin.coverage.ratio import DEFAULT_CLIP, DEFAULT_GAUGE_AREA_KM2, DEFAULT_GAUGE_RADIUS_M, coverage_ratio

__all__ = ["gauge_coverage", "thiessen_cells", "DEFAULT_GAUGE_RADIUS_M", "DEFAULT_GAUGE_AREA_KM2"]


def gauge_coverage(model, *, gauges="rain_gauges", zones="subdistricts", by=None,
                   definitions=("presence", "radius", "thiessen"), radius_m: float | None = None,
                   area_km2_per_gauge: float = DEFAULT_GAUGE_AREA_KM2, method: str = "auto",
                   clip_to=DEFAULT_CLIP) -> pd.DataFrame:
    """Rain-gauge coverage of ``zones`` under each definition, stacked in one tidy table.

    ``clip_to`` as in :func:`~cimtwin.coverage.coverage_ratio` (the same default).

    Examples
    --------
    >>> gauge_coverage(model, by="districts")   # doctest: +SKIP
    """
    frames = []
    for d in definitions:
        kw = {}
        if d == "radius":
            kw = {"radius_m": radius_m or DEFAULT_GAUGE_RADIUS_M, "method": method}
        if d == "thiessen":
            kw = {"area_km2_per_gauge": area_km2_per_gauge}
        frames.append(coverage_ratio(model, sensors=gauges, targets=zones, by=by, definition=d,
                                     clip_to=clip_to, geometries=False, **kw).table)
    return pd.concat(frames, ignore_index=True)


@requires_metres("gauges", "area", what="Thiessen cells in km²")
def thiessen_cells(gauges, area):
    """Thiessen (Voronoi) cells of gauge points clipped to ``area`` (a polygon), with their km².

    Returns a GeoDataFrame aligned with ``gauges`` (index kept) with ``area_km2``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(250, 500), shapely.Point(750, 500)], crs="EPSG:4527")
    >>> thiessen_cells(g, shapely.box(0, 0, 1000, 1000))["area_km2"].round(2).tolist()
    [0.5, 0.5]
    """
    import geopandas as gpd
    import shapely

    pts = gauges.geometry.to_numpy()
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts),
                                                       extend_to=area.envelope.buffer(1.0), ordered=True))
    # duplicate gauge positions share one cell: match cells to gauges by containment
    tree = shapely.STRtree(cells)
    gi, ci = tree.query(pts, predicate="intersects")
    _, first = np.unique(gi, return_index=True)
    geoms = np.full(len(pts), shapely.Polygon(), dtype=object)
    geoms[gi[first]] = shapely.intersection(cells[ci[first]], area)
    return gpd.GeoDataFrame({"area_km2": shapely.area(geoms) / 1e6}, geometry=geoms, index=gauges.index,
                            crs=gauges.crs)
