"""Grid layer: GridSpec and the public raster functions over the numeric kernels."""

from cimtwin.grid._tiles import balanced_chunks
from cimtwin.grid.coverage import coverage_count, coverage_count_points
from cimtwin.grid.distance import distance
from cimtwin.grid.hydrology import (PondingResult, depression_depth, fill_depressions, flow_accumulation,
                                    flow_direction_d8, hand, ponding_depth, resolve_flats)
from cimtwin.grid.interp import idw
from cimtwin.grid.rasterize import rasterize
from cimtwin.grid.spec import GridSpec
from cimtwin.grid.viewshed import cumulative_viewshed, viewshed
from cimtwin.grid.zonal import zonal_stats

__all__ = [
    "GridSpec",
    "coverage_count",
    "coverage_count_points",
    "distance",
    "idw",
    "rasterize",
    "zonal_stats",
    "viewshed",
    "cumulative_viewshed",
    "fill_depressions",
    "resolve_flats",
    "flow_direction_d8",
    "flow_accumulation",
    "depression_depth",
    "hand",
    "ponding_depth",
    "PondingResult",
    "balanced_chunks",
]
