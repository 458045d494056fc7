"""``network``: a sensor within ``max_distance_m`` along the road network (counted per target)."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import require_positive
from cimtwin.coverage.accounting import CoverageInputs, Outcome, definition_words, feature_table
from cimtwin.errors import ValidationError

__all__ = ["compute"]


def compute(inp: CoverageInputs, *, max_distance_m: float | None = None) -> Outcome:
    """Share of target features with a sensor within ``max_distance_m`` along the roads.

    Parameters
    ----------
    max_distance_m : float
        The largest road-network distance (m) from a target's representative point to a sensor.

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="shelters", targets="buildings", definition="network",
    ...                max_distance_m=500.0)  # doctest: +SKIP
    """
    import shapely

    if max_distance_m is None:
        raise ValidationError("Definition 'network' needs `max_distance_m` (road-network metres).")
    max_distance_m = require_positive(max_distance_m, arg="max_distance_m")
    if inp.weight is not None:
        raise ValidationError("Definition 'network' counts target features; it takes no `weight`.")
    inp.params["max_distance_m"] = max_distance_m
    from cimtwin.routing import RoadNetwork, snap_points  # lazily: routing is only needed here

    net = RoadNetwork.from_roads(inp.model.require_layer("roads", purpose="the 'network' coverage definition"),
                                 warn_components=False)
    geoms = inp.targets.geometry.to_numpy()
    pts = geoms if inp.family == "point" else shapely.point_on_surface(geoms)
    if inp.family != "point":
        inp.notes.append("network distance measured from each target's representative point.")
    inp.notes.append("network distance along roads in both directions, plus nothing for the snap offsets.")
    if len(inp.sensors):
        node_dist, _ = net.nearest_facility(inp.sensors.geometry, cutoff=max_distance_m)
        snap = snap_points(net, pts)
        u = net.node_index(snap["u"].to_numpy())
        v = net.node_index(snap["v"].to_numpy())
        f = snap["fraction"].to_numpy()
        edge_len = np.asarray(net.edge_attr("length"), dtype="float64")[snap["edge"].to_numpy().astype(int)]
        # the target sits on an edge: reach it from either end node
        dist = np.minimum(node_dist[u] + f * edge_len, node_dist[v] + (1.0 - f) * edge_len)
    else:
        dist = np.full(len(pts), np.inf)
    hit = np.nan_to_num(dist, nan=np.inf) <= max_distance_m
    table, covered, gaps = feature_table(inp, hit, definition_words(inp, "network"))
    return Outcome(table, covered, gaps)
