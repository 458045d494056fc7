"""Travel modes: what an edge costs (metres, or seconds at a speed) and whether one-way applies."""

from __future__ import annotations

from dataclasses import dataclass

from cimtwin._validate import require_positive

__all__ = ["TravelMode", "walking", "driving", "WALK", "WALK_SLOW", "DRIVE", "ROAD_CLASS_SPEED_KMH"]

# Default driving speeds by road class when `speed_kmh` is missing (km/h).
ROAD_CLASS_SPEED_KMH = {"expressway": 80.0, "arterial": 60.0, "secondary": 40.0, "branch": 30.0, "local": 20.0}


@dataclass(frozen=True)
class TravelMode:
    """How to cost an edge.

    Parameters
    ----------
    name : str
        Label used in results.
    speed_mps : float or None
        A fixed speed (walking). ``None`` drives at each edge's ``speed_kmh`` (from the
        layer, or the road-class default).
    respect_oneway : bool
        Pedestrians walk one-way streets both ways; vehicles do not.

    The cost of a mode is in seconds.

    Examples
    --------
    >>> walking(0.8).speed_mps
    0.8
    """

    name: str
    speed_mps: float | None = None
    respect_oneway: bool = True

    @property
    def unit(self) -> str:
        return "s"


def walking(speed_mps: float = 1.0, *, name: str | None = None) -> TravelMode:
    """Walking at ``speed_mps`` (1.0 m/s adults; 0.8 m/s elderly or post-disaster), one-way ignored."""
    speed_mps = require_positive(speed_mps, arg="speed_mps")
    return TravelMode(name or f"walk_{speed_mps:g}mps", speed_mps, respect_oneway=False)


def driving(*, name: str = "drive") -> TravelMode:
    """Driving at each edge's speed (``speed_kmh`` or the road-class table), one-way respected."""
    return TravelMode(name, None, respect_oneway=True)


WALK = TravelMode("walk", 1.0, respect_oneway=False)
WALK_SLOW = TravelMode("walk_slow", 0.8, respect_oneway=False)
DRIVE = TravelMode("drive", None, respect_oneway=True)
