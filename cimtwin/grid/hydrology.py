"""Hydrology on a DEM: depression filling, flats, D8 directions, accumulation, HAND, ponding.

Every function accepts a 2-D numpy array or an xarray DataArray and returns the same kind.
Nodata: NaN cells, and cells equal to ``nodata`` when given, are holes. Like the grid edge they
drain (water reaching them leaves the grid); they are NaN (float outputs), 255 (D8) or 0
(counts) in the results. Inputs are never modified.

D8 encoding (ESRI): 1 = E, 2 = SE, 4 = S, 8 = SW, 16 = W, 32 = NW, 64 = N, 128 = NE; 0 = the
cell drains off the grid (an edge or nodata outlet) or is a pit of an unconditioned DEM;
255 = nodata.

The operations live one per module (``fill``, ``flowdir``, ``accumulation``, ``drainage``,
``ponding``), each validating its input once and holding its in-memory and tiled (dask)
paths; this module gathers them.
"""

from cimtwin.grid._dem import D8_CODES, D8_NODATA, D8_OUTLET
from cimtwin.grid.accumulation import flow_accumulation
from cimtwin.grid.drainage import hand
from cimtwin.grid.fill import depression_depth, fill_depressions
from cimtwin.grid.flowdir import flow_direction_d8, resolve_flats
from cimtwin.grid.ponding import PondingResult, ponding_depth

__all__ = [
    "fill_depressions",
    "resolve_flats",
    "flow_direction_d8",
    "flow_accumulation",
    "depression_depth",
    "hand",
    "ponding_depth",
    "PondingResult",
    "D8_CODES",
    "D8_OUTLET",
    "D8_NODATA",
]
