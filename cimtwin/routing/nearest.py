"""The nearest facility by road for any points: buildings to shelters, blocks to clinics.

One multi-source search on the reversed graph gives every node its cost to the nearest
facility (facilities enter at both ends of the edge they snap to); each point then adds
the cost of leaving its own edge through either end, or walks straight along the edge
when a facility sits on it. Both end costs come from the one point-on-edge helper
(:func:`cimtwin.routing.snapping.edge_access`), so one-way streets count in the right
direction at both ends.
"""

from __future__ import annotations

import warnings

import numpy as np

from cimtwin._validate import format_ids, require_positive, requires_metres
from cimtwin.errors import CimtwinWarning, InputTypeError

__all__ = ["nearest_facility", "DEFAULT_MAX_SNAP_M", "STATUSES"]

# A point farther than this from every road gets status "unsnappable": 500 m is the
# GB 50413-2007 service radius of an emergency shelter, so a longer walk just to reach a
# road already breaks the standard. The sample's shelters lie up to ~680 m from a road.
DEFAULT_MAX_SNAP_M = 500.0

STATUSES = ("ok", "unsnappable", "unreachable", "no_facility")


@requires_metres("points", "facilities", "network")
def nearest_facility(points, facilities, *, network, weight="length", max_snap_m: float = DEFAULT_MAX_SNAP_M,
                     cutoff: float | None = None):
    """For each point, the facility reached at least cost over the road network, and the cost.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Origins (buildings, blocks, residents) in ``network.crs``; polygons start from a
        point on their surface.
    facilities : GeoDataFrame or GeoSeries
        Destinations (shelters, clinics) in ``network.crs``; identified by their index.
    network : RoadNetwork
    weight : str or TravelMode
        "length" (metres, one-way respected), a numeric edge attribute, or a travel mode
        such as ``walking()`` (seconds; walking ignores one-way).
    max_snap_m : float
        Points (and facilities) farther than this from every road are not snapped: such a
        point gets status "unsnappable"; such a facility is left out with a warning.
        Default 500 m (:data:`DEFAULT_MAX_SNAP_M`).
    cutoff : float, optional
        Costs above this count as unreachable (in the weight's unit).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point, in input order and index: ``facility`` (the facility's index
        label, missing when none), ``cost`` (weight's unit; also as ``distance_m`` for
        length or ``time_s`` for a travel mode), ``origin_snap_m`` and ``facility_snap_m``
        (straight distances from the point / the facility to its road), ``status``
        ("ok", "unsnappable", "unreachable" or "no_facility") and the points' geometry.
        ``attrs`` holds ``weight``, ``unit``, ``max_snap_m`` and ``crs``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
    ...                               crs="EPSG:32650")
    >>> homes = gpd.GeoSeries([shapely.Point(20, 5), shapely.Point(20, 900)], crs="EPSG:32650")
    >>> shelters = gpd.GeoSeries([shapely.Point(180, -3)], index=["S1"], crs="EPSG:32650")
    >>> out = nearest_facility(homes, shelters, network=net)
    >>> out.status.tolist(), out.facility.iloc[0], out.distance_m.iloc[0]
    (['ok', 'unsnappable'], 'S1', 160.0)
    """
    import geopandas as gpd
    import pandas as pd

    from cimtwin.routing.network import RoadNetwork, _in_public_order, _nearest_source, _weight_label
    from cimtwin.routing.snapping import _seeds_from_snap, along_edge_cost, edge_access, snap_points

    if not isinstance(network, RoadNetwork):
        raise InputTypeError(f"`network` must be a RoadNetwork; got {type(network).__name__}.")
    for name, obj in (("points", points), ("facilities", facilities)):
        if not isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
            raise InputTypeError(f"`{name}` must be a GeoDataFrame or GeoSeries; got {type(obj).__name__}.")
    max_snap_m = require_positive(max_snap_m, arg="max_snap_m")
    cut = np.inf if cutoff is None else require_positive(cutoff, arg="cutoff", allow_zero=True)
    net = network
    wt = net._weight(weight)
    ps = snap_points(net, points, max_snap_m=max_snap_m, on_far="flag")
    fs = snap_points(net, facilities, max_snap_m=max_snap_m, on_far="flag")
    f_ok = fs["snapped"].to_numpy()
    if not f_ok.all():
        warnings.warn(f"Facilities {format_ids(facilities.index[~f_ok])} lie more than max_snap_m={max_snap_m:g} m "
                      "from every road and are left out; raise `max_snap_m` to keep them.", CimtwinWarning,
                      stacklevel=2)
    f_pos = np.flatnonzero(f_ok)
    n = len(ps)
    cost = np.full(n, np.inf)
    which = np.full(n, -1, dtype=np.int64)
    p_ok = ps["snapped"].to_numpy()
    if f_pos.size and p_ok.any():
        # node -> nearest facility, searched from the facilities on the reversed graph
        fsnap = fs.iloc[f_pos]
        nodes, d0, group = _seeds_from_snap(net, fsnap, wt, outbound=False)
        indptr, indices, w, _ = net._icsr(wt, reverse=True)
        _, rank = net._spatial_order()
        dist, label = _in_public_order(*_nearest_source(indptr, indices, w, rank[nodes], d0, cut), group, rank)
        sel = np.flatnonzero(p_ok)
        acc = edge_access(net, ps["edge"].to_numpy()[sel], ps["fraction"].to_numpy()[sel], wt)
        via_u = acc.cost_u + dist[acc.u]
        via_v = acc.cost_v + dist[acc.v]
        use_u = via_u <= via_v
        c = np.where(use_u, via_u, via_v)
        lab = np.where(use_u, label[acc.u], label[acc.v])
        # a facility on the point's own edge: straight along it
        o = pd.DataFrame({"edge": ps["edge"].to_numpy()[sel], "fo": ps["fraction"].to_numpy()[sel],
                          "i": np.arange(sel.size)})
        d = pd.DataFrame({"edge": fsnap["edge"].to_numpy(), "fd": fsnap["fraction"].to_numpy(),
                          "j": np.arange(len(fsnap))})
        pairs = o.merge(d, on="edge")
        if not pairs.empty:
            direct = along_edge_cost(net, pairs.edge.to_numpy(), pairs.fo.to_numpy(), pairs.fd.to_numpy(), wt)
            pairs["c"] = direct
            best = pairs.sort_values(["i", "c", "j"]).drop_duplicates("i")
            i = best.i.to_numpy()
            better = best.c.to_numpy() < c[i]
            c[i[better]] = best.c.to_numpy()[better]
            lab[i[better]] = best.j.to_numpy()[better]
        c = np.where(c <= cut, c, np.inf)
        lab = np.where(np.isfinite(c), lab, -1)
        cost[sel] = c
        which[sel] = np.where(lab >= 0, f_pos[np.maximum(lab, 0)], -1)
    status = np.where(~p_ok, "unsnappable",
                      np.where(f_pos.size == 0, "no_facility", np.where(np.isfinite(cost), "ok", "unreachable")))
    found = which >= 0
    fac_labels = np.asarray(facilities.index, dtype=object)
    facility = np.full(n, None, dtype=object)
    facility[found] = fac_labels[which[found]]
    f_snap = np.full(n, np.nan)
    f_snap[found] = fs["distance_m"].to_numpy()[which[found]]
    cost_col = np.where(np.isfinite(cost), cost, np.nan)
    data = {"facility": facility, "cost": cost_col}
    if wt.unit == "m":
        data["distance_m"] = cost_col
    elif wt.unit == "s":
        data["time_s"] = cost_col
    data.update({"origin_snap_m": ps["distance_m"].to_numpy(), "facility_snap_m": f_snap, "status": status})
    geom = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    out = gpd.GeoDataFrame(data, geometry=geom.values, index=points.index, crs=net.crs)
    out.attrs.update({"weight": _weight_label(weight), "unit": wt.unit, "max_snap_m": max_snap_m,
                      "crs": net.crs.to_string()})
    return out
