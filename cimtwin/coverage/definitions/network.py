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
    from cimtwin.routing.snapping import edge_access

    inp.model.require_layer("roads", purpose="the 'network' coverage definition")
    net = RoadNetwork.from_model(inp.model, warn_components=False)
    geoms = inp.targets.geometry.to_numpy()
    pts = geoms if inp.family == "point" else shapely.point_on_surface(geoms)
    if inp.family != "point":
        inp.notes.append("network distance measured from each target's representative point.")
    inp.notes.append("network distance along roads (one-way streets respected at the target's edge), plus nothing "
                      "for the snap offsets.")
    if len(inp.sensors):
        node_dist, _ = net.nearest_facility(inp.sensors.geometry, cutoff=max_distance_m)
        snap = snap_points(net, pts)
        # the target sits part-way along an edge: reach it from either end node, priced by the
        # one point-on-edge helper (a one-way street is entered only along its direction)
        acc = edge_access(net, snap["edge"].to_numpy().astype(np.int64), snap["fraction"].to_numpy(),
                          towards_point=True)
        dist = np.minimum(node_dist[acc.u] + acc.cost_u, node_dist[acc.v] + acc.cost_v)
    else:
        dist = np.full(len(pts), np.inf)
    hit = np.nan_to_num(dist, nan=np.inf) <= max_distance_m
    table, covered, gaps = feature_table(inp, hit, definition_words(inp, "network"))
    return Outcome(table, covered, gaps)
