"""Chains of grid kernels that keep their arrays on the GPU: one copy in, one copy out.

Each chain uploads the zone raster once (pinned, overlapped; see
:mod:`cimtwin.kernels.cuda.transfer`), computes the intermediate grid on the device, reduces
it per zone on the device, and brings back the per-zone table (a few kilobytes) and, when
asked, the intermediate grid. Pass device arrays (e.g. from :func:`upload`) to skip the copy
in entirely, for chains run repeatedly over the same zones.

Zones follow the ``zonal`` kernel's contract: flat or 2-D integer bins ``0 .. nbins-1``, -1
for cells outside every zone.

Examples
--------
>>> import numpy as np
>>> from cimtwin.kernels.cuda.pipeline import coverage_zonal              # doctest: +SKIP
>>> zones = np.repeat(np.arange(4), 25).reshape(10, 10)
>>> res = coverage_zonal((10, 10), [2.0, 7.0], [3.0, 6.0], [2.5, 2.5], zones, 4)  # doctest: +SKIP
>>> res.stats[1]      # per-zone sum of the coverage count             # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimtwin.kernels.cuda._device import is_device
from cimtwin.kernels.cuda.coverage import coverage_count_device, sector_terms
from cimtwin.kernels.cuda.interp import idw_device
from cimtwin.kernels.cuda.transfer import download, upload
from cimtwin.kernels.cuda.zonal import zonal_device


@dataclass(frozen=True)
class ChainResult:
    """``grid``: the intermediate grid on the host (None unless asked for); ``stats``: the
    ``zonal`` kernel's (count, sum, min, max, n_above, n_cells), float64 min/max."""

    grid: np.ndarray | None
    stats: tuple


def _zonal_out(d_grid, zones, nbins, nodata, threshold, return_grid):
    d_zones = upload(zones)
    n = d_grid.size
    cnt, tot, lo, hi, above, cells = (a.copy_to_host() for a in zonal_device(
        d_grid.reshape(n), d_zones.reshape(n), nbins, nodata, threshold))
    grid = download(d_grid) if return_grid else None
    return ChainResult(grid, (cnt, tot, lo.astype(np.float64), hi.astype(np.float64), above, cells))


def coverage_zonal(shape, rows, cols, radius, zones, nbins, *, azimuth_deg=None, hfov_deg=None,
                   threshold=None, return_grid=True) -> ChainResult:
    """Coverage count (disks, or sectors with ``azimuth_deg``/``hfov_deg``) reduced per zone."""
    terms = (None, None, None) if azimuth_deg is None else sector_terms(
        np.asarray(azimuth_deg, np.float64), np.asarray(hfov_deg, np.float64))
    rows, cols, radius = (a if is_device(a) else np.asarray(a, np.float64) for a in (rows, cols, radius))
    d_count = coverage_count_device(shape, rows, cols, radius, *terms)
    return _zonal_out(d_count, zones, nbins, None, threshold, return_grid)


def idw_zonal(shape, gauge_rows, gauge_cols, values, zones, nbins, *, power=2.0, threshold=None,
              return_grid=True) -> ChainResult:
    """IDW of all gauges (no radius) reduced per zone."""
    d_grid = idw_device(shape, gauge_rows, gauge_cols, values, power, np.inf, 0, np.nan)
    return _zonal_out(d_grid, zones, nbins, None, threshold, return_grid)
