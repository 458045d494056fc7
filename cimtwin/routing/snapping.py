"""Snap points (residents, buildings, shelters) onto the nearest edge by projection."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import format_ids, require_positive, requires_metres
from cimtwin.errors import CRSError, GeometryError, InputTypeError, ValidationError

__all__ = ["snap_points", "is_points"]


def is_points(obj) -> bool:
    """True for shapely points, arrays of them, GeoSeries and GeoDataFrames."""
    import shapely

    try:
        import geopandas as gpd

        if isinstance(obj, (gpd.GeoSeries, gpd.GeoDataFrame)):
            return True
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, shapely.Geometry):
        return True
    if isinstance(obj, (list, tuple, np.ndarray)) and len(obj) and isinstance(obj[0], shapely.Geometry):
        return True
    return False


def _as_point_array(net, points):
    import geopandas as gpd
    import shapely

    labels = None
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is not None and not points.crs.equals(net.crs):
            raise CRSError(f"Points are in {points.crs.to_string()} but the network in {net.crs.to_string()}; "
                           "reproject them with `.to_crs(net.crs)`.")
        labels = points.index.to_numpy()
        geoms = np.asarray(points.values, dtype=object)
    elif isinstance(points, shapely.Geometry):
        geoms = np.array([points], dtype=object)
    else:
        geoms = np.asarray(list(points), dtype=object)
    if labels is None:
        labels = np.arange(len(geoms))
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise GeometryError(f"Points {format_ids(labels[empty])} have no geometry.")
    # polygons (buildings) snap from a point inside them
    not_pt = shapely.get_type_id(geoms) != 0
    if not_pt.any():
        geoms = geoms.copy()
        geoms[not_pt] = shapely.point_on_surface(geoms[not_pt])
    return geoms, labels


@requires_metres("net", "points")
def snap_points(net, points, *, max_snap_m: float = 100.0):
    """Project points onto their nearest edge.

    Parameters
    ----------
    net : RoadNetwork
    points : GeoSeries, GeoDataFrame or sequence of shapely geometries (polygons snap
        from a point on their surface), in ``net.crs``.
    max_snap_m : float
        Points farther than this from every edge raise a ValidationError listing them.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``edge``, ``u``/``v`` (node ids), ``offset_m`` (along the edge
        geometry from ``u``), ``fraction`` (offset / edge geometry length), ``distance_m``,
        ``x``/``y`` of the projected point; indexed like the points.

    Examples
    --------
    >>> import shapely
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100], [0, 0], [0], [1], [100.0], crs="EPSG:32650")
    >>> snap_points(net, [shapely.Point(30, 5)])[["edge", "offset_m", "distance_m"]].values.tolist()
    [[0.0, 30.0, 5.0]]
    """
    import pandas as pd
    import shapely

    max_snap_m = require_positive(max_snap_m, arg="max_snap_m")
    geoms, labels = _as_point_array(net, points)
    key = ("strtree",)
    if key not in net._cache:
        edges = net.edge_geometry()
        net._cache[key] = (shapely.STRtree(edges), edges)
    tree, edges = net._cache[key]
    pi, ei = tree.query_nearest(geoms, max_distance=max_snap_m, return_distance=False, all_matches=False)
    found = np.zeros(len(geoms), dtype=bool)
    found[pi] = True
    if not found.all():
        far = labels[~found]
        raise ValidationError(
            f"Points {format_ids(far)} lie more than max_snap_m={max_snap_m:g} m from every road "
            f"({int((~found).sum())} of {len(geoms)}). Raise `max_snap_m`, or drop or fix those points.")
    edge = np.empty(len(geoms), dtype=np.int64)
    edge[pi] = ei
    lines = edges[edge]
    offset = shapely.line_locate_point(lines, geoms)
    proj = shapely.line_interpolate_point(lines, offset)
    glen = shapely.length(lines)
    xy = shapely.get_coordinates(proj)
    return pd.DataFrame({
        "edge": edge,
        "u": net.node_ids[net._u[edge]],
        "v": net.node_ids[net._v[edge]],
        "offset_m": offset,
        "fraction": np.where(glen > 0, offset / np.where(glen > 0, glen, 1), 0.0),
        "distance_m": shapely.distance(geoms, proj),
        "x": xy[:, 0],
        "y": xy[:, 1],
    }, index=pd.Index(labels))


def _directions(net, wt, edge):
    """(forward allowed u->v, backward allowed v->u) per snapped edge under a weight."""
    fwd = np.ones(edge.size, dtype=bool)
    back = np.ones(edge.size, dtype=bool) if not wt.respect_oneway else net._both[edge]
    return fwd, back


def snap_seeds(net, points, wt, *, max_snap_m, outbound: bool):
    """Seeds for a search from (``outbound``) or towards snapped points.

    Returns ``(nodes, initial cost, group)``: each point gives up to two seeds, the end
    nodes of its edge at the partial edge cost (``group`` is the point's position).
    """
    snap = snap_points(net, points, max_snap_m=max_snap_m)
    return _seeds_from_snap(net, snap, wt, outbound=outbound)


def arrival_costs(net, dist, snap, wt):
    """Cost to reach each snapped point given node costs ``dist`` (searches outbound)."""
    edge = snap["edge"].to_numpy()
    f = snap["fraction"].to_numpy()
    w = wt.per_edge[edge]
    fwd, back = _directions(net, wt, edge)
    via_u = np.where(fwd, dist[net._u[edge]] + f * w, np.inf)
    via_v = np.where(back, dist[net._v[edge]] + (1 - f) * w, np.inf)
    return np.minimum(via_u, via_v)


def route_between_points(net, origin, target, wt, weight, *, max_snap_m):
    """Route from a point/node to a point/node via partial edges at both ends."""
    import shapely

    from cimtwin.kernels.graph import dijkstra
    from cimtwin.routing.network import Route, _weight_label

    def as_end(obj):
        if is_points(obj):
            return snap_points(net, [obj] if isinstance(obj, shapely.Geometry) else obj, max_snap_m=max_snap_m)
        pos = int(net.node_index([obj])[0])
        return pos

    o = as_end(origin)
    t = as_end(target)
    for end, name in ((o, "origin"), (t, "target")):
        if not isinstance(end, int) and len(end) != 1:
            raise InputTypeError(f"`{name}` must be one point or node id; got {len(end)} points.")
    indptr, indices, w, _ = net._csr(wt)
    if isinstance(o, int):
        nodes, d0 = np.array([o], np.int32), np.zeros(1)
    else:
        nodes, d0, _ = _seeds_from_snap(net, o, wt)
    dist, pred, label = dijkstra(indptr, indices, w, nodes, d0, np.inf)
    if isinstance(t, int):
        best_node, cost, tail = t, dist[t], None
    else:
        e = int(t["edge"].iloc[0])
        f = float(t["fraction"].iloc[0])
        fwd, back = _directions(net, wt, np.array([e]))
        cu = dist[net._u[e]] + f * wt.per_edge[e] if fwd[0] else np.inf
        cv = dist[net._v[e]] + (1 - f) * wt.per_edge[e] if back[0] else np.inf
        best_node = net._u[e] if cu <= cv else net._v[e]
        cost = min(cu, cv)
        line = net.edge_geometry([e])[0]
        off = float(t["offset_m"].iloc[0])
        part = shapely.ops.substring(line, 0, off) if best_node == net._u[e] else shapely.ops.substring(line, off, line.length).reverse()
        tail = (off if best_node == net._u[e] else line.length - off, shapely.get_coordinates(part))
    head = None
    # same edge, direct along it
    if not isinstance(o, int) and not isinstance(t, int) and int(o["edge"].iloc[0]) == int(t["edge"].iloc[0]):
        e = int(o["edge"].iloc[0])
        fo, ft = float(o["fraction"].iloc[0]), float(t["fraction"].iloc[0])
        fwd, back = _directions(net, wt, np.array([e]))
        ok = fwd[0] if ft >= fo else back[0]
        direct = abs(ft - fo) * wt.per_edge[e]
        if ok and direct <= cost:
            line = net.edge_geometry([e])[0]
            a, b = float(o["offset_m"].iloc[0]), float(t["offset_m"].iloc[0])
            part = shapely.ops.substring(line, min(a, b), max(a, b))
            if b < a:
                part = part.reverse()
            return Route([], abs(b - a), float(direct), float(direct) if wt.unit == "s" else np.nan, part, "",
                         _weight_label(weight))
    if not np.isfinite(cost):
        reason = "the target cannot be reached from the origin: no road links them (or only against one-way streets)."
        return Route([], np.inf, np.inf, np.inf, None, reason, _weight_label(weight))
    path = [best_node]
    while pred[path[-1]] >= 0:
        path.append(pred[path[-1]])
    path = np.array(path[::-1], dtype=np.int32)
    if not isinstance(o, int):
        e = int(o["edge"].iloc[0])
        line = net.edge_geometry([e])[0]
        off = float(o["offset_m"].iloc[0])
        if path[0] == net._v[e]:
            part = shapely.ops.substring(line, off, line.length)
            head = (line.length - off, shapely.get_coordinates(part))
        else:
            part = shapely.ops.substring(line, 0, off).reverse()
            head = (off, shapely.get_coordinates(part))
    return net._route_from_path(path, cost, wt, weight, head=head, tail=tail)


def _seeds_from_snap(net, snap, wt, *, outbound: bool = True):
    edge = snap["edge"].to_numpy()
    f = snap["fraction"].to_numpy()
    w = wt.per_edge[edge]
    fwd, back = _directions(net, wt, edge)
    u, v = net._u[edge], net._v[edge]
    if outbound:  # point -> v along u->v; point -> u along v->u
        parts = [(fwd, v, (1 - f) * w), (back, u, f * w)]
    else:  # u -> point along u->v; v -> point along v->u (searched on the reverse graph)
        parts = [(fwd, u, f * w), (back, v, (1 - f) * w)]
    nodes = np.concatenate([p[1][p[0]] for p in parts]).astype(np.int32)
    cost = np.concatenate([p[2][p[0]] for p in parts]).astype(float)
    group = np.concatenate([np.flatnonzero(p[0]) for p in parts]).astype(np.int64)
    return nodes, cost, group
