"""Grid layer: GridSpec and the public raster functions over the numeric kernels."""

from cimtwin.grid.spec import GridSpec

__all__ = ["GridSpec"]
