"""The small pieces the routing modules share below RoadNetwork: the route record, a resolved
routing weight, progress bars. Kept apart so that snapping and matrices need not import the
network module that calls them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cimtwin.routing.modes import TravelMode

__all__ = ["Route"]


@dataclass
class Route:
    """A shortest route.

    Attributes
    ----------
    nodes : list
        Node ids along the route (empty when unreachable).
    length_m : float
        Route length in metres (inf when unreachable).
    cost : float
        Cost in the routing weight's unit (metres or seconds).
    travel_time_s : float
        Seconds: the cost for a travel mode, else driving time where speeds are known.
    geometry : shapely LineString or None
    reason : str
        Why the route is missing ("" when found).
    """

    nodes: list
    length_m: float
    cost: float
    travel_time_s: float
    geometry: Any = None
    reason: str = ""
    weight: str = "length"

    @property
    def found(self) -> bool:
        return bool(np.isfinite(self.cost))


@dataclass
class _Weight:
    key: str
    per_edge: np.ndarray  # float64, > 0
    respect_oneway: bool
    unit: str


def _progress(it, show, desc):
    from cimtwin.config import config

    if not (show and config.progress):
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc)


def _weight_label(weight) -> str:
    return weight.name if isinstance(weight, TravelMode) else str(weight)
