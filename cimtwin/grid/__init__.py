"""Grid layer: GridSpec and the public raster functions over the numeric kernels."""

from cimtwin.grid.coverage import coverage_count, coverage_count_points
from cimtwin.grid.distance import distance
from cimtwin.grid.interp import idw
from cimtwin.grid.rasterize import rasterize
from cimtwin.grid.spec import GridSpec
from cimtwin.grid.zonal import zonal_stats

__all__ = [
    "GridSpec",
    "coverage_count",
    "coverage_count_points",
    "distance",
    "idw",
    "rasterize",
    "zonal_stats",
]
