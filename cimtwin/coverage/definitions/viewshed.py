"""``viewshed``: inside a camera's field of view — sector, DORI range, blind zone — and not occluded
by the DEM or buildings when the model has them (the default for cameras)."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import one_of, require_positive
from cimtwin.coverage.accounting import Cover, CoverageInputs, Outcome, footprint_outcome, sensor_result

__all__ = ["compute", "DORI_LEVELS"]

DORI_LEVELS = ("monitor", "detection", "observation", "recognition", "identification")


def compute(inp: CoverageInputs, *, dori: str | None = None, pixels_h: float = 1920.0, assume_omni: bool = False,
            res_m: float | None = None) -> Outcome:
    """Covered inside at least one camera's footprint.

    Parameters
    ----------
    dori : {"monitor", "detection", "observation", "recognition", "identification"} or None
        Cap each camera's range at the distance of this EN 62676-4 pixel density.
    pixels_h : float
        Horizontal pixels of cameras without a ``pixels_h`` column (default 1920).
    assume_omni : bool
        Treat cameras without azimuth or FOV as omnidirectional instead of raising.
    res_m : float or None
        The occlusion raster's resolution (with a DEM or buildings): default the DEM's, or
        2 m when the targets cover under 1 km².

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="cameras", targets="key_areas", category="重要部位")  # doctest: +SKIP
    """
    from cimtwin.coverage.cameras import camera_footprints

    if dori is not None:
        one_of(dori, DORI_LEVELS, arg="dori")
        inp.params["dori"] = dori
    pixels_h = require_positive(pixels_h, arg="pixels_h")
    if res_m is not None:
        res_m = require_positive(res_m, arg="res_m")
    model, sensors = inp.model, inp.sensors
    if len(sensors) == 0:
        inp.notes.append(f"sensor layer {inp.sensor_name!r} is empty: nothing is covered.")
        return footprint_outcome(inp, Cover(polygons=np.array([], dtype=object)), "viewshed")
    occluders = [n for n in ("dem", "buildings") if (model.has_raster(n) if n == "dem" else model.has_layer(n))]
    if not occluders:
        fp = camera_footprints(sensors, dori=dori, pixels_h=pixels_h, assume_omni=assume_omni, layer=inp.sensor_name)
        inp.notes.extend(fp.attrs.get("notes", []))
        inp.notes.append("no DEM or buildings in the model: camera footprints are exact sectors (no occlusion).")
        inp.params["occlusion"] = None
        return footprint_outcome(inp, Cover(polygons=fp.geometry.to_numpy()), "viewshed")
    from cimtwin.coverage._occlusion import viewshed_mask

    def build():
        notes: list[str] = []
        out = viewshed_mask(model, sensors, inp.targets, occluders=occluders, res_m=res_m, dori=dori,
                            pixels_h=pixels_h, assume_omni=assume_omni, layer=inp.sensor_name, notes=notes)
        return out, tuple(notes)

    # targets measured against the same camera layer on the same window share one viewshed
    key = ("camera-viewshed", tuple(occluders), res_m, dori, pixels_h, assume_omni,
           tuple(inp.targets.total_bounds), float(inp.targets.geometry.area.sum()),
           tuple(sorted(inp.targets.geom_type.unique())))
    ((mask, spec, count_da, used_res), notes), shared = sensor_result(inp, key, build)
    inp.notes.extend(notes)
    if shared:
        mask, count_da = mask.copy(), count_da.copy()
    inp.params["occlusion"] = "+".join(occluders)
    inp.params["res_m"] = used_res
    return footprint_outcome(inp, Cover(mask=mask, spec=spec, grid=count_da), "viewshed")
