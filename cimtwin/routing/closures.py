"""Road closures (flooding, a fault zone, works): remove or slow edges, and report the cost."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import format_ids, require_positive, requires_metres
from cimtwin.errors import InputTypeError, ValidationError

__all__ = ["close_roads", "closure_impact"]


@requires_metres("net", "polygons")
def close_roads(net, *, edges=None, polygons=None, slow_factor: float | None = None):
    """A network with edges closed (removed) or slowed.

    Parameters
    ----------
    net : RoadNetwork
    edges : array of edge positions, optional
    polygons : GeoSeries/GeoDataFrame/shapely geometry, optional
        Every edge that intersects one is affected (a flooded low-lying area, a fault zone).
    slow_factor : float, optional
        Multiply the cost of affected edges by this (> 1 slows); default removes them.

    Returns
    -------
    RoadNetwork
        Same nodes (so per-node results line up), fewer or costlier edges; the affected
        edge positions (in ``net``) are in ``closed.affected_edges``.

    Examples
    --------
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], crs="EPSG:32650")
    >>> close_roads(net, edges=[1]).distances([0]).tolist()
    [[0.0, 100.0, inf]]
    """
    import shapely

    hit = np.zeros(net.n_edges, dtype=bool)
    if edges is not None:
        idx = np.asarray(edges, dtype=np.int64).ravel()
        bad = idx[(idx < 0) | (idx >= net.n_edges)]
        if bad.size:
            raise ValidationError(f"Edges {format_ids(bad)} are not in the network (0..{net.n_edges - 1}).")
        hit[idx] = True
    if polygons is not None:
        geoms = _geoms(polygons, net)
        area = shapely.union_all(geoms)
        hit |= shapely.intersects(net.edge_geometry(), area)
    if edges is None and polygons is None:
        raise ValidationError("Give `edges` or `polygons` to close.")
    if slow_factor is None:
        out = net.subset_edges(~hit)
    else:
        factor = require_positive(slow_factor, arg="slow_factor")
        scale = np.where(hit, factor, 1.0)
        prev = net._attrs.get("_cost_scale")
        out = net.subset_edges(np.ones(net.n_edges, dtype=bool), scale=scale if prev is None else prev * scale)
    out.affected_edges = np.flatnonzero(hit)
    return out


def _geoms(polygons, net):
    import geopandas as gpd
    import shapely

    if isinstance(polygons, gpd.GeoDataFrame):
        polygons = polygons.geometry
    if isinstance(polygons, gpd.GeoSeries):
        if polygons.crs is not None and not polygons.crs.equals(net.crs):
            polygons = polygons.to_crs(net.crs)
        return np.asarray(polygons.values, dtype=object)
    if isinstance(polygons, shapely.Geometry):
        return np.array([polygons], dtype=object)
    raise InputTypeError(f"`polygons` must be a GeoSeries, GeoDataFrame or shapely geometry; got {type(polygons).__name__}.")


@requires_metres("net", "facilities", "population")
def closure_impact(net, closed, facilities, *, weight="length", population=None, max_snap_m: float = 100.0):
    """What a closure costs: nodes, population and facilities that lose access, added time.

    Costs run from every node to its nearest facility (one-way aware) before and after.

    Parameters
    ----------
    net, closed : RoadNetwork
        The network before and after :func:`close_roads` (same nodes).
    facilities : node ids or points (shelters, hospitals)
    population : DataArray of persons per cell, or GeoDataFrame of points with a
        ``population`` column, optional. Each cell centre / point counts at its nearest node.

    Returns
    -------
    dict
        ``nodes_lost`` (node ids reachable before, not after), ``population_lost``,
        ``facilities_lost`` (positions of facilities that no node other than the ones on
        their own site can reach any more), ``added_cost`` (per node, after - before,
        finite where both are), ``mean_added_cost`` (population-weighted where population
        is given), and ``before``/``after`` per-node costs.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    if closed.n_nodes != net.n_nodes:
        raise ValidationError("`closed` must come from `close_roads(net, ...)` (same nodes).")
    before, _ = net.nearest_facility_to(facilities, weight, max_snap_m=max_snap_m)
    after, _ = closed.nearest_facility_to(facilities, weight, max_snap_m=max_snap_m)
    lost = np.isfinite(before) & ~np.isfinite(after)
    both = np.isfinite(before) & np.isfinite(after)
    added = np.full(before.shape, np.nan)
    added[both] = after[both] - before[both]  # only where both are finite: inf - inf is no cost
    pop = node_population(net, population) if population is not None else None

    # a facility loses access when no node outside its own zero-cost seed set reaches it
    wt = closed._weight(weight)
    indptr, indices, w, _ = closed._csr(wt, reverse=True)
    A = csr_matrix((w, indices, indptr), shape=(closed.n_nodes, closed.n_nodes))
    indptr0, indices0, w0, _ = net._csr(net._weight(weight), reverse=True)
    A0 = csr_matrix((w0, indices0, indptr0), shape=(net.n_nodes, net.n_nodes))
    from cimtwin.routing.snapping import is_points, snap_points

    if is_points(facilities):
        snap = snap_points(net, facilities, max_snap_m=max_snap_m)
        ends = [(net._u[e], net._v[e]) for e in snap["edge"]]
    else:
        ends = [(p,) for p in net.node_index(facilities)]
    facilities_lost = []
    for i, seeds in enumerate(ends):
        reach_after = set()
        reach_before = set()
        for s in seeds:
            reach_after.update(breadth_first_order(A, int(s), directed=True, return_predecessors=False).tolist())
            reach_before.update(breadth_first_order(A0, int(s), directed=True, return_predecessors=False).tolist())
        if len(reach_before - set(seeds)) > 0 and len(reach_after - set(seeds)) == 0:
            facilities_lost.append(i)
    out = {
        "nodes_lost": net.node_ids[lost],
        "facilities_lost": np.array(facilities_lost, dtype=int),
        "added_cost": added,
        "before": before,
        "after": after,
    }
    if pop is not None:
        out["population_lost"] = float(pop[lost].sum())
        wsum = pop[both].sum()
        out["mean_added_cost"] = float(np.nansum(added[both] * pop[both]) / wsum) if wsum > 0 else np.nan
    else:
        out["population_lost"] = np.nan
        out["mean_added_cost"] = float(np.nanmean(added)) if both.any() else np.nan
    return out


def node_population(net, population) -> np.ndarray:
    """Persons per node: raster cells (DataArray, cell centres) or points with ``population``,
    each counted at its nearest node."""
    import geopandas as gpd
    from scipy.spatial import cKDTree

    tree = cKDTree(net.node_xy)
    if isinstance(population, gpd.GeoDataFrame):
        if "population" not in population.columns:
            from cimtwin.errors import SchemaError

            raise SchemaError("Population points need a `population` column.")
        pts = population.geometry.representative_point()
        xy = np.column_stack([pts.x, pts.y])
        val = population["population"].to_numpy(dtype=float)
    else:
        arr = np.asarray(population.values, dtype=float)
        xs = np.asarray(population["x"].values)
        ys = np.asarray(population["y"].values)
        X, Y = np.meshgrid(xs, ys)
        ok = np.isfinite(arr) & (arr > 0)
        xy = np.column_stack([X[ok], Y[ok]])
        val = arr[ok]
    out = np.zeros(net.n_nodes)
    if len(val):
        _, idx = tree.query(xy)
        np.add.at(out, idx, val)
    return out
