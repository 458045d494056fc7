"""Road networks and routing: shortest paths, nearest facilities, matrices, isochrones, closures, allocation.

See docs/routing.md for every query, its cost and when the contraction hierarchy is used.

Examples
--------
>>> from cimtwin.routing import RoadNetwork
>>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], crs="EPSG:32650")
>>> net.shortest_path(0, 2).length_m
200.0
"""

from cimtwin.routing.modes import DRIVE, ROAD_CLASS_SPEED_KMH, WALK, WALK_SLOW, TravelMode, driving, walking
from cimtwin.routing.network import CSR, Hierarchy, RoadNetwork, Route
from cimtwin.routing.snapping import EdgeAccess, along_edge_cost, edge_access, snap_points

__all__ = [
    "RoadNetwork", "Route", "TravelMode", "walking", "driving", "WALK", "WALK_SLOW", "DRIVE",
    "ROAD_CLASS_SPEED_KMH", "snap_points", "edge_access", "along_edge_cost", "EdgeAccess", "CSR", "Hierarchy",
    "nearest_facility", "od_matrix", "od_matrix_blocks",
    "close_roads", "closure_impact", "isochrones", "shelter_service_areas", "life_circle",
    "allocate_shelters", "shelter_capacity", "check_declared_junctions", "from_osm",
]

_LAZY = {
    "close_roads": "cimtwin.routing.closures",
    "closure_impact": "cimtwin.routing.closures",
    "isochrones": "cimtwin.routing.service_areas",
    "shelter_service_areas": "cimtwin.routing.service_areas",
    "life_circle": "cimtwin.routing.service_areas",
    "allocate_shelters": "cimtwin.routing.allocation",
    "shelter_capacity": "cimtwin.routing.allocation",
    "check_declared_junctions": "cimtwin.routing.topology",
    "from_osm": "cimtwin.routing.osm",
    "nearest_facility": "cimtwin.routing.nearest",
    "od_matrix": "cimtwin.routing.matrix",
    "od_matrix_blocks": "cimtwin.routing.matrix",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cimtwin.routing' has no attribute {name!r}")
