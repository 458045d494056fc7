"""Capacitated shelter allocation: residents to the nearest shelter with room."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import format_ids, requires_metres
from cimtwin.errors import SchemaError, ValidationError

__all__ = ["shelter_capacity", "allocate_shelters", "PERSON_AREA_M2"]

# GB 21734-2008 §5.4: more than 1.5 m² of living area per sheltered person.
PERSON_AREA_M2 = 1.5


@requires_metres("shelters", what="shelter capacity from areas in m²")
def shelter_capacity(shelters, *, person_area_m2: float = PERSON_AREA_M2) -> np.ndarray:
    """Persons each shelter holds: ``capacity_persons``, else ``area_m2`` (or the polygon's
    area) / ``person_area_m2``, rounded down."""
    n = len(shelters)
    cap = np.full(n, np.nan)
    if "capacity_persons" in shelters.columns:
        cap = shelters["capacity_persons"].to_numpy(dtype=float)
    need = np.isnan(cap)
    if need.any():
        if "area_m2" in shelters.columns:
            area = shelters["area_m2"].to_numpy(dtype=float)
        else:
            area = np.full(n, np.nan)
        geom_area = shelters.geometry.area.to_numpy() if shelters.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any() else np.zeros(n)
        area = np.where(np.isnan(area) & (geom_area > 0), geom_area, area)
        cap = np.where(need, np.floor(area / person_area_m2), cap)
    bad = ~(cap >= 0)
    if bad.any():
        raise SchemaError(f"Shelters {format_ids(shelters.index[bad])} have no capacity: give `capacity_persons` "
                          "or `area_m2` (or polygon geometry).")
    return cap


@requires_metres("net", "residents", "shelters")
def allocate_shelters(net, residents, shelters, weight=None, *, persons: str = "population",
                      max_cost: float | None = None, max_snap_m: float = 200.0):
    """Assign residents to the nearest shelter that still has room; never over capacity.

    Greedy by cost: all (resident, shelter) pairs in increasing network cost, each taking
    as many persons as both the group and the shelter allow, so every resident goes to
    the nearest shelter with room at its turn.

    Parameters
    ----------
    net : RoadNetwork
    residents : GeoDataFrame of points/polygons with a ``persons`` column, or a DataArray
        of persons per cell (cell centres become residents)
    shelters : GeoDataFrame with ``capacity_persons`` or ``area_m2`` (GB 21734: 1.5 m²/person)
    weight : default walking distance in metres with one-way ignored
    max_cost : optional limit (e.g. 500 m for emergency shelters)

    Returns
    -------
    dict with ``assignments`` (resident, shelter, persons, cost), ``shelters`` (capacity,
    assigned, utilisation) and ``unserved`` (resident, persons, reason).
    """
    import geopandas as gpd
    import pandas as pd

    from cimtwin.routing.service_areas import WALK_DISTANCE
    from cimtwin.routing.snapping import snap_points

    weight = WALK_DISTANCE if weight is None else weight
    wt = net._weight(weight)
    if not isinstance(residents, gpd.GeoDataFrame):
        arr = np.asarray(residents.values, dtype=float)
        X, Y = np.meshgrid(np.asarray(residents["x"].values), np.asarray(residents["y"].values))
        ok = np.isfinite(arr) & (arr > 0)
        residents = gpd.GeoDataFrame({persons: arr[ok]}, geometry=gpd.points_from_xy(X[ok], Y[ok]), crs=net.crs)
    if persons not in residents.columns:
        raise SchemaError(f"`residents` needs a {persons!r} column of persons (or pass persons=...).")
    demand = residents[persons].to_numpy(dtype=float)
    if (demand < 0).any() or np.isnan(demand).any():
        raise ValidationError(f"Residents {format_ids(residents.index[~(demand >= 0)])} have a negative or missing {persons!r}.")
    cap = shelter_capacity(shelters)
    rs = snap_points(net, residents, max_snap_m=max_snap_m)
    ss = snap_points(net, shelters, max_snap_m=max_snap_m)
    # cost of each resident to each shelter: the shared point-set matrix (CH when contracted)
    from cimtwin.routing.matrix import snapped_matrix

    cut = np.inf if max_cost is None else float(max_cost)
    cost = snapped_matrix(net, rs, ss, wt, progress=False)
    cost = np.where(cost <= cut, cost, np.inf)
    r_idx, s_idx = np.nonzero(np.isfinite(cost))
    order = np.lexsort((s_idx, r_idx, cost[r_idx, s_idx]))
    left = demand.copy()
    room = cap.copy()
    assign = []
    for k in order:
        r, s = r_idx[k], s_idx[k]
        if left[r] <= 0 or room[s] <= 0:
            continue
        take = min(left[r], room[s])
        left[r] -= take
        room[s] -= take
        assign.append((residents.index[r], shelters.index[s], take, cost[r, s]))
    assignments = pd.DataFrame(assign, columns=["resident", "shelter", "persons", "cost"])
    assigned = cap - room
    summary = pd.DataFrame({"capacity": cap, "assigned": assigned,
                            "utilisation": np.where(cap > 0, assigned / np.where(cap > 0, cap, 1), np.nan)},
                           index=shelters.index)
    reachable = np.isfinite(cost).any(axis=1)
    un = np.flatnonzero(left > 0)
    unserved = pd.DataFrame({
        "resident": residents.index[un], "persons": left[un],
        "reason": np.where(reachable[un], "every reachable shelter is full",
                           "no shelter within reach" + ("" if max_cost is None else f" (max_cost={max_cost:g})")),
    })
    return {"assignments": assignments, "shelters": summary, "unserved": unserved, "cost": cost}
