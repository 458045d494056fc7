"""Coverage analytics: camera, 5G/NB-IoT and rain-gauge coverage ratios, gaps and placement.

One entry point, :func:`coverage_ratio`, computes every ratio of the plans under an explicit
definition (see ``docs/coverage.md``); the modules below hold the physics and geometry.

Examples
--------
>>> from cimtwin.coverage import coverage_ratio   # doctest: +SKIP
>>> coverage_ratio(model, sensors="rain_gauges", targets="subdistricts", by="districts")  # doctest: +SKIP
"""

from cimtwin.coverage.cameras import (DORI_PPM, camera_footprints, camera_parameters, dori_range_m,
                                      ground_footprint_m, hfov_from_optics, sector_polygons)
from cimtwin.coverage.gauges import gauge_coverage, thiessen_cells
from cimtwin.coverage.indicators import PLAN_COUNT_TARGETS, count_indicators, networking_rate
from cimtwin.coverage.placement import SitePlacement
from cimtwin.coverage.radio import (ANTENNA_GAIN_DBI, PENETRATION_DB, RADIO_DEFAULTS, best_server, coupling_loss_db,
                                    element_attenuation_db,
                                    los_probability_38901, path_loss_38901, resource_blocks, rsrp_per_re_dbm)
from cimtwin.coverage.ratio import DEFAULT_GAUGE_RADIUS_M, DEFINITIONS, CoverageResult, coverage_ratio

__all__ = [
    "coverage_ratio", "CoverageResult", "DEFINITIONS", "DEFAULT_GAUGE_RADIUS_M",
    "DORI_PPM", "hfov_from_optics", "dori_range_m", "ground_footprint_m", "sector_polygons",
    "camera_parameters", "camera_footprints",
    "RADIO_DEFAULTS", "ANTENNA_GAIN_DBI", "PENETRATION_DB", "coupling_loss_db", "path_loss_38901", "los_probability_38901", "element_attenuation_db",
    "resource_blocks", "rsrp_per_re_dbm", "best_server",
    "gauge_coverage", "thiessen_cells",
    "networking_rate", "count_indicators", "PLAN_COUNT_TARGETS",
    "SitePlacement",
]
