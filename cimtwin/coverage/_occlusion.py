"""Occlusion by the DEM and buildings: the raster side of camera and radio coverage.

The surface is the DEM (or flat ground) plus building heights; the line-of-sight work is the
grid core's ``viewshed`` / ``cumulative_viewshed`` (method r2).
"""

from __future__ import annotations

import math

import numpy as np

from cimtwin.errors import ValidationError

# Above this many cells the default resolution coarsens (memory on a shared machine).
_MAX_DEFAULT_CELLS = 25_000_000


def _surface(model, spec, occluders):
    """Float32 surface heights on ``spec``: DEM sampled bilinearly, plus building heights."""
    grid = model.grid
    window = _grid_window(grid, spec) if grid is not None else None
    if "dem" in occluders:
        values = np.asarray(model.raster("dem").values, dtype="float32")
        if window is not None:
            # a view: the viewshed kernels never write to it, and buildings are added below
            # into a new array (a copy of a 1e8-cell DEM costs about a second)
            surface = values[window]
        else:
            from scipy.ndimage import map_coordinates

            rr, cc = np.meshgrid(np.arange(spec.shape[0]), np.arange(spec.shape[1]), indexing="ij")
            x, y = spec.xy(rr, cc)
            fr, fc = grid.rowcol_float(x, y)
            surface = map_coordinates(np.nan_to_num(values, nan=float(np.nanmin(values))), [fr, fc], order=1,
                                      mode="nearest").astype("float32")
    else:
        surface = np.zeros(spec.shape, dtype="float32")
    if "buildings" in occluders and model.has_layer("buildings"):
        if window is not None:
            # rasterized once on the model grid and shared by every window (cell centres are
            # the same, so a window of it equals rasterizing on the window)
            whole = model.derived(("building-heights", grid), lambda: _building_heights(model, grid))
            heights = None if whole is None else whole[window]
        else:
            heights = _building_heights(model, spec)
        if heights is not None:
            surface = surface + heights
    return surface


def _grid_window(grid, spec):
    """The (rows, cols) slices of ``grid`` that ``spec`` is a window of, else None."""
    r0, c0 = grid.rowcol(*spec.xy(0, 0))
    if (math.isclose(grid.res_m, spec.res_m) and 0 <= r0 and 0 <= c0 and r0 + spec.shape[0] <= grid.shape[0]
            and c0 + spec.shape[1] <= grid.shape[1]
            and np.allclose(grid.xy(r0, c0), spec.xy(0, 0), atol=1e-6 * spec.res_m)):
        return slice(int(r0), int(r0) + spec.shape[0]), slice(int(c0), int(c0) + spec.shape[1])
    return None


def _building_heights(model, spec):
    """Building heights (m, float32) rasterized at the cell centres of ``spec``; None without buildings."""
    from cimtwin.grid.rasterize import burn

    def by_height():  # the tallest building wins a shared cell; sorted once per model
        b = model.layer("buildings").sort_values("height_m", kind="stable")
        return b.geometry.to_numpy(), b["height_m"].to_numpy(dtype="float32")

    geoms, heights = model.derived(("buildings-by-height",), by_height)
    if not len(geoms):
        return None
    return burn(spec, geoms, heights, fill=0.0)


def _window_spec(model, targets, pad_m, res_m, occluders, notes):
    from cimtwin.grid.spec import GridSpec

    xmin, ymin, xmax, ymax = targets.total_bounds
    bounds = (xmin - pad_m, ymin - pad_m, xmax + pad_m, ymax + pad_m)
    if res_m is None:
        small = float(targets.geometry.area.sum()) < 1e6 and (targets.geom_type.str.contains("Polygon").all())
        if "dem" in occluders and not small:
            res_m = model.grid.res_m
        else:
            res_m = 2.0
            cells = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1]) / res_m**2
            if cells > _MAX_DEFAULT_CELLS:
                res_m = math.ceil(math.sqrt(cells / _MAX_DEFAULT_CELLS) * res_m)
        notes.append(f"viewshed raster at {res_m:g} m (default: 2 m for targets under 1 km², else the DEM's).")
    if "dem" in occluders and math.isclose(res_m, model.grid.res_m):
        # on the DEM's own cells: a window of the DEM grid, no resampling
        grid = model.grid
        r0, c0 = grid.rowcol(bounds[0], bounds[3])
        r1, c1 = grid.rowcol(bounds[2], bounds[1])
        r0, c0 = max(0, int(r0)), max(0, int(c0))
        r1, c1 = min(grid.shape[0] - 1, int(r1)), min(grid.shape[1] - 1, int(c1))
        t = grid.transform
        from affine import Affine

        spec = GridSpec(Affine(t.a, 0.0, t.c + c0 * t.a, 0.0, t.e, t.f + r0 * t.e), (r1 - r0 + 1, c1 - c0 + 1),
                        model.crs)
        return spec, res_m
    return GridSpec.from_bounds(bounds, res_m=res_m, crs=model.crs), res_m


def viewshed_mask(model, cameras, targets, *, occluders, res_m, dori, pixels_h, assume_omni, layer, notes):
    """(covered mask, spec, count DataArray, res_m) of cameras occluded by DEM/buildings."""
    from cimtwin.coverage.cameras import camera_parameters
    from cimtwin.grid import cumulative_viewshed

    g = camera_parameters(cameras, dori=dori, pixels_h=pixels_h, assume_omni=assume_omni, layer=layer)
    notes.extend(g.notes)
    spec, res = _window_spec(model, targets, float(np.max(g.range_m)), res_m, occluders, notes)
    surface = _surface(model, spec, occluders)
    rows, cols = spec.rowcol(g.x, g.y)
    ok = spec.contains_rowcol(rows, cols) & (g.range_m > g.near_m)
    if (g.near_m[ok] > 0).any():
        notes.append("blind zones under tilted cameras are not removed on the occlusion raster.")
    count = cumulative_viewshed(surface, rows[ok], cols[ok], observer_height_m=g.height_m[ok],
                                azimuth_deg=np.nan_to_num(g.azimuth_deg[ok]), hfov_deg=g.hfov_deg[ok],
                                max_distance_m=g.range_m[ok], res_m=res, method="r2")
    count = np.asarray(getattr(count, "values", count))
    notes.append(f"occlusion by {' + '.join(occluders)} (viewshed r2 at {res:g} m, {spec.shape[0]}×{spec.shape[1]} cells).")
    da = spec.to_dataarray(count, name="camera_count", attrs={"units": "cameras", "cimtwin_op": "coverage_ratio/viewshed"})
    return count > 0, spec, da, res


def radio_los(model, sites, spec):
    """A ``los_mask(i, rows, cols)`` callable from the DEM viewshed of each site."""
    if not model.has_raster("dem"):
        raise ValidationError("`los='viewshed'` needs a `dem` raster in the model; use los='nlos' without one.")
    from cimtwin.grid import viewshed

    surface = _surface(model, spec, ("dem",) + (("buildings",) if model.has_layer("buildings") else ()))
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    r, c = spec.rowcol(x, y)
    h = sites["height_m"].to_numpy(dtype="float64")
    cache: dict[int, np.ndarray] = {}

    def los_mask(i, rs, cs):
        if not spec.contains_rowcol(r[i], c[i]):
            return False
        if i not in cache:
            vis = viewshed(surface, int(r[i]), int(c[i]), observer_height_m=float(h[i]), res_m=spec.res_m)
            cache.clear()
            cache[i] = np.asarray(getattr(vis, "values", vis)).astype(bool)
        return cache[i][rs, cs]

    return los_mask
