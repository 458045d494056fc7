"""Snap points (residents, buildings, shelters) onto the nearest edge by projection."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cimtwin._geometry import segment_arrays
from cimtwin._validate import format_ids, one_of, require_positive, requires_metres
from cimtwin.errors import CRSError, GeometryError, InputTypeError, ValidationError
from cimtwin.kernels.snap import nearest_segments, segment_grid


class EdgeAccess(NamedTuple):
    """Costs between points part-way along edges and the two end nodes of their edge.

    ``u``/``v`` are node positions (into ``net.node_ids``); ``cost_u``/``cost_v`` are in
    the weight's unit, ``inf`` where the move would run against a one-way street.
    """

    u: np.ndarray
    cost_u: np.ndarray
    v: np.ndarray
    cost_v: np.ndarray


def _resolve(net, weight):
    from cimtwin.routing._base import _Weight

    return weight if isinstance(weight, _Weight) else net._weight(weight)


def edge_access(net, edge, fraction, weight="length", *, towards_point: bool = False) -> EdgeAccess:
    """Cost of leaving (or reaching) points part-way along edges through the edges' ends.

    The one place where cimtwin prices a point on an edge: snapping, nearest facilities,
    matrices, allocation and service areas all call it. A point at ``fraction`` of edge
    ``u -> v`` (cost ``w``) reaches ``v`` for ``(1 - fraction) * w`` along the edge's
    direction and ``u`` for ``fraction * w`` against it, which a one-way street forbids
    when the weight respects one-way; ``towards_point=True`` gives the costs from the
    nodes to the point (``u`` along the edge, ``v`` against it).

    Parameters
    ----------
    net : RoadNetwork
    edge : array of int
        Edge positions (the ``edge`` column of :func:`snap_points`).
    fraction : array of float
        Position along each edge from ``u`` (0..1, the ``fraction`` column).
    weight : str or TravelMode
        As for every query; closures' slow factors are included.
    towards_point : bool
        False: point -> node costs; True: node -> point costs.

    Returns
    -------
    EdgeAccess
        ``(u, cost_u, v, cost_v)`` arrays.

    Examples
    --------
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100], [0, 0], [0], [1], [100.0], oneway=True, crs="EPSG:32650")
    >>> acc = edge_access(net, [0], [0.25])
    >>> acc.cost_u.tolist(), acc.cost_v.tolist()   # against the one-way street: no way to u
    ([inf], [75.0])
    """
    wt = _resolve(net, weight)
    edge = np.asarray(edge, dtype=np.int64)
    f = np.asarray(fraction, dtype=np.float64)
    w = wt.per_edge[edge]
    back_ok = net._both[edge] if wt.respect_oneway else np.ones(edge.size, dtype=bool)
    if towards_point:  # u -> point along u->v; v -> point along v->u
        cost_u = f * w
        cost_v = np.where(back_ok, (1.0 - f) * w, np.inf)
    else:  # point -> u along v->u; point -> v along u->v
        cost_u = np.where(back_ok, f * w, np.inf)
        cost_v = (1.0 - f) * w
    return EdgeAccess(net._u[edge], cost_u, net._v[edge], cost_v)


def along_edge_cost(net, edge, f_from, f_to, weight="length") -> np.ndarray:
    """Cost of moving along one edge from fraction ``f_from`` to ``f_to`` (inf against a one-way).

    Examples
    --------
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100], [0, 0], [0], [1], [100.0], oneway=True, crs="EPSG:32650")
    >>> along_edge_cost(net, [0, 0], [0.2, 0.6], [0.6, 0.2]).tolist()
    [40.0, inf]
    """
    wt = _resolve(net, weight)
    edge = np.asarray(edge, dtype=np.int64)
    a = np.asarray(f_from, dtype=np.float64)
    b = np.asarray(f_to, dtype=np.float64)
    back_ok = net._both[edge] if wt.respect_oneway else np.ones(edge.size, dtype=bool)
    return np.where((b >= a) | back_ok, np.abs(b - a) * wt.per_edge[edge], np.inf)

__all__ = ["snap_points", "is_points", "edge_access", "along_edge_cost", "EdgeAccess"]


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
def snap_points(net, points, *, max_snap_m: float = 100.0, on_far: str = "raise"):
    """Project points onto their nearest edge.

    Parameters
    ----------
    net : RoadNetwork
    points : GeoSeries, GeoDataFrame or sequence of shapely geometries (polygons snap
        from a point on their surface), in ``net.crs``.
    max_snap_m : float
        Points farther than this from every edge raise a ValidationError listing them
        (``on_far="raise"``), or are flagged (``on_far="flag"``).
    on_far : {"raise", "flag"}
        With "flag", a far point keeps its row with ``snapped`` False, ``edge`` -1,
        NaN position and ``distance_m`` its distance to the nearest road.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``edge``, ``u``/``v`` (node ids), ``offset_m`` (along the edge
        geometry from ``u``), ``fraction`` (offset / edge geometry length), ``distance_m``,
        ``x``/``y`` of the projected point and ``snapped``; indexed like the points.

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
    one_of(on_far, ("raise", "flag"), arg="on_far")
    geoms, labels = _as_point_array(net, points)
    grid = _segment_grid(net)
    pxy = shapely.get_coordinates(geoms)
    seg, t, dist = nearest_segments(pxy[:, 0], pxy[:, 1], *grid.segments, grid.indptr, grid.items, grid.xmin,
                                    grid.ymin, grid.cell, grid.ncols, grid.nrows, float(max_snap_m))
    ok = seg >= 0
    if not ok.all() and on_far == "raise":
        far = labels[~ok]
        raise ValidationError(
            f"Points {format_ids(far)} lie more than max_snap_m={max_snap_m:g} m from every road "
            f"({int((~ok).sum())} of {len(geoms)}). Raise `max_snap_m`, or drop or fix those points.")
    edge = np.full(len(geoms), -1, dtype=np.int64)
    edge[ok] = grid.edge[seg[ok]]
    offset = np.full(len(geoms), np.nan)
    offset[ok] = grid.start[seg[ok]] + t[ok] * grid.length[seg[ok]]
    xy = np.full((len(geoms), 2), np.nan)
    s_ok = seg[ok]
    x0, y0, x1, y1 = grid.segments
    xy[ok, 0] = x0[s_ok] + t[ok] * (x1[s_ok] - x0[s_ok])
    xy[ok, 1] = y0[s_ok] + t[ok] * (y1[s_ok] - y0[s_ok])
    glen = grid.edge_length[edge[ok]]
    frac = np.full(len(geoms), np.nan)
    frac[ok] = np.where(glen > 0, np.minimum(offset[ok] / np.where(glen > 0, glen, 1), 1.0), 0.0)
    if not ok.all():  # how far the flagged points are (to say why)
        dist[~ok] = _far_distances(net, geoms[~ok])
    u = pd.Series(net.node_ids[net._u[np.maximum(edge, 0)]])
    v = pd.Series(net.node_ids[net._v[np.maximum(edge, 0)]])
    if not ok.all():  # no node for a point that did not snap
        u, v = u.where(ok), v.where(ok)
    out = pd.DataFrame({
        "edge": edge,
        "u": u.to_numpy(),
        "v": v.to_numpy(),
        "offset_m": offset,
        "fraction": frac,
        "distance_m": dist,
        "x": xy[:, 0],
        "y": xy[:, 1],
        "snapped": ok,
    }, index=pd.Index(labels))
    return out


class _SegmentGrid(NamedTuple):
    """The network's edge geometries cut into straight segments and filed in a bucket grid."""

    segments: tuple  # x0, y0, x1, y1 float64 arrays
    edge: np.ndarray  # edge position of each segment
    start: np.ndarray  # distance along the edge geometry where each segment starts
    length: np.ndarray  # segment lengths
    edge_length: np.ndarray  # length of each edge geometry
    indptr: np.ndarray
    items: np.ndarray
    xmin: float
    ymin: float
    cell: float
    ncols: int
    nrows: int


def _segment_grid(net) -> _SegmentGrid:
    """Segments and bucket grid of the network's edges, built once and cached on it."""
    import shapely

    key = ("segment-grid",)
    if key in net._cache:
        return net._cache[key]
    lines = net.edge_geometry()
    *segs, edge = segment_arrays(*shapely.get_coordinates(lines, return_index=True))
    segs = tuple(segs)
    seg_len = np.hypot(segs[2] - segs[0], segs[3] - segs[1])
    # distance along its edge where each segment starts: cumulative lengths restarted per edge
    cum = np.cumsum(seg_len) - seg_len
    first = np.r_[0, np.flatnonzero(np.diff(edge)) + 1] if edge.size else np.zeros(0, np.int64)
    base = np.repeat(cum[first], np.diff(np.r_[first, edge.size]))
    start = cum - base
    edge_length = np.bincount(edge, weights=seg_len, minlength=net.n_edges)
    indptr, items, xmin, ymin, cell, ncols, nrows = segment_grid(*segs)
    grid = _SegmentGrid(segs, edge, start, seg_len, edge_length, indptr, items, xmin, ymin, cell, ncols, nrows)
    net._cache[key] = grid
    return grid


def _far_distances(net, geoms) -> np.ndarray:
    """Distance from each point to the nearest edge, however far (rare: points that did not snap)."""
    import shapely

    key = ("strtree",)
    if key not in net._cache:
        edges = net.edge_geometry()
        net._cache[key] = shapely.STRtree(edges)
    _, d = net._cache[key].query_nearest(geoms, return_distance=True, all_matches=False)
    return d


def snap_seeds(net, points, wt, *, max_snap_m, outbound: bool):
    """Seeds for a search from (``outbound``) or towards snapped points.

    Returns ``(nodes, initial cost, group)``: each point gives up to two seeds, the end
    nodes of its edge at the partial edge cost (``group`` is the point's position).
    """
    snap = snap_points(net, points, max_snap_m=max_snap_m)
    return _seeds_from_snap(net, snap, wt, outbound=outbound)


def arrival_costs(net, dist, snap, wt):
    """Cost to reach each snapped point given node costs ``dist`` (searches outbound)."""
    acc = edge_access(net, snap["edge"].to_numpy(), snap["fraction"].to_numpy(), wt, towards_point=True)
    return np.minimum(dist[acc.u] + acc.cost_u, dist[acc.v] + acc.cost_v)


def route_between_points(net, origin, target, wt, weight, *, max_snap_m):
    """Route from a point/node to a point/node via partial edges at both ends."""
    import shapely

    from cimtwin.kernels.graph import dijkstra
    from cimtwin.routing._base import Route, _weight_label

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
        acc = edge_access(net, [e], [float(t["fraction"].iloc[0])], wt, towards_point=True)
        cu = dist[net._u[e]] + acc.cost_u[0]
        cv = dist[net._v[e]] + acc.cost_v[0]
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
        direct = float(along_edge_cost(net, [e], [fo], [ft], wt)[0])
        if direct <= cost:
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
    """Search seeds of snapped points: ``(nodes, initial cost, point position)``.

    ``outbound``: the search leaves the points (point -> node costs); otherwise it runs
    on the reverse graph towards them (node -> point costs). Ends a one-way street
    forbids are left out.
    """
    acc = edge_access(net, snap["edge"].to_numpy(), snap["fraction"].to_numpy(), wt, towards_point=not outbound)
    k = np.arange(len(snap))
    nodes = np.concatenate([acc.u, acc.v]).astype(np.int32)
    cost = np.concatenate([acc.cost_u, acc.cost_v])
    group = np.concatenate([k, k]).astype(np.int64)
    keep = np.isfinite(cost)
    order = np.argsort(group[keep], kind="stable")
    return nodes[keep][order], cost[keep][order], group[keep][order]
