"""Risk: waterlogging and flood, seismic hazard and composite risk zoning.

Submodules: :mod:`~cimtwin.risk.rainfall` (gauge IDW, design storm), :mod:`~cimtwin.risk.runoff`
(SCS curve number), :mod:`~cimtwin.risk.flood` (depressions, accumulation, HAND, ponding,
flooded roads), :mod:`~cimtwin.risk.seismic` (GB 18306 zoning PGA, site amplification and
intensity, GB/T 17742, fortification check; Yu et al. 2013 fault scenarios apart) and
:mod:`~cimtwin.risk.zoning` (weighted overlay, AHP, classes, polygons, summaries).
Names load on first use, so ``import cimtwin.risk`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DesignStorm": "rainfall", "design_storm_intensity": "rainfall", "rainfall_grid": "rainfall",
    "rainfall_from_gauges": "rainfall", "gauge_totals": "rainfall",
    "scs_runoff_mm": "runoff", "curve_number": "runoff", "curve_number_grid": "runoff", "CN_TABLE_TR55": "runoff",
    "flood_hazard": "flood", "flooded_roads": "flood", "depressions": "flood", "FloodHazard": "flood",
    "PONDING_LIMIT_M": "flood", "road_closures": "flood",
    "yu2013_pga_g": "seismic", "site_amplification_factor": "seismic", "zoning_intensity": "seismic",
    "instrumental_intensity": "seismic", "fault_pga": "seismic", "seismic_hazard": "seismic",
    "buildings_below_fortification": "seismic", "FA_TABLE_GB18306": "seismic",
    "YU2013_EASTERN_PGA": "seismic", "seismic_scenario": "seismic", "zoning_pga": "seismic",
    "active_faults": "seismic", "SeismicHazard": "seismic", "ACTIVE_FAULT_RULE": "seismic",
    "normalize_factor": "zoning", "ahp_weights": "zoning", "weighted_overlay": "zoning",
    "classify_zones": "zoning", "zone_polygons": "zoning", "summarize_zones": "zoning",
    "risk_zoning": "pipeline", "RiskResult": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"cimtwin.risk.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'cimtwin.risk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
