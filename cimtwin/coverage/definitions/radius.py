"""``radius``: covered within ``radius_m`` of a sensor (rain gauges: R = √(15 km²/π) ≈ 2 185 m)."""

from __future__ import annotations

import math

import numpy as np

from cimtwin._validate import one_of, require_positive
from cimtwin.coverage.accounting import Cover, CoverageInputs, Outcome, analysis_grid, footprint_outcome
from cimtwin.errors import ValidationError

__all__ = ["compute", "DEFAULT_GAUGE_AREA_KM2", "DEFAULT_GAUGE_RADIUS_M"]

# WMO-No. 168 urban density of recording rain gauges: 10–20 km² per gauge; R = √(A/π), A = 15 km².
DEFAULT_GAUGE_AREA_KM2 = 15.0
DEFAULT_GAUGE_RADIUS_M = math.sqrt(DEFAULT_GAUGE_AREA_KM2 * 1e6 / math.pi)
# Above this many sensors, polygon and line targets are measured on a raster (method="auto").
_VECTOR_MAX_SENSORS = 2000


def compute(inp: CoverageInputs, *, radius_m: float | None = None, method: str = "auto",
            res_m: float | None = None) -> Outcome:
    """Covered within ``radius_m`` of a sensor.

    Parameters
    ----------
    radius_m : float or None
        The coverage radius in metres; None for rain gauges: √(15 km²/π) ≈ 2 185 m.
    method : {"auto", "vector", "grid"}
        Exact disks (vector) or a raster of ``res_m`` (grid, for 10⁴+ sensors); auto picks
        vector up to 2 000 sensors.
    res_m : float or None
        The raster resolution of ``method="grid"``; default radius_m / 50 (at least 1 m).

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="rain_gauges", targets="districts", radius_m=2185.0)  # doctest: +SKIP
    """
    import shapely

    one_of(method, ("auto", "vector", "grid"), arg="method")
    if res_m is not None:
        res_m = require_positive(res_m, arg="res_m")
    if radius_m is None:
        if inp.sensor_kind != "rain_gauges":
            raise ValidationError("Definition 'radius' needs `radius_m` (metres) for this sensor layer.")
        radius_m = DEFAULT_GAUGE_RADIUS_M
        inp.notes.append(f"radius_m = √({DEFAULT_GAUGE_AREA_KM2:g} km²/π) = {radius_m:.0f} m from WMO-No. 168 "
                         "urban density (10–20 km² per recording gauge).")
    radius_m = require_positive(radius_m, arg="radius_m")
    inp.params["radius_m"] = radius_m
    x = inp.sensors.geometry.x.to_numpy()
    y = inp.sensors.geometry.y.to_numpy()
    family = inp.family if inp.weight is None else "polygon"
    use_grid = method == "grid" or (method == "auto" and len(x) > _VECTOR_MAX_SENSORS and family != "point")
    if use_grid:
        from cimtwin.grid import coverage_count_points

        spec = analysis_grid(inp.model, inp.targets, pad_m=0.0, res_m=res_m,
                             default_res_m=max(radius_m / 50.0, 1.0))
        inp.params.update(method="grid", res_m=spec.res_m)
        count = coverage_count_points(spec, x, y, radius_m=radius_m)
        count = np.asarray(getattr(count, "values", count))
        inp.notes.append(f"radius coverage on a {spec.res_m:g} m raster ({spec.shape[0]}×{spec.shape[1]} cells).")
        return footprint_outcome(inp, Cover(mask=count > 0, spec=spec), "radius")
    inp.params["method"] = "vector"
    if inp.family == "point" and inp.weight is None:
        return footprint_outcome(inp, Cover(within=(x, y, radius_m)), "radius")
    return footprint_outcome(inp, Cover(polygons=shapely.buffer(shapely.points(x, y), radius_m, quad_segs=64)),
                             "radius")
