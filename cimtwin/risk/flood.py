"""Waterlogging and flood screening on the DEM: depressions, flow, HAND, ponding, flooded roads.

Chain (:func:`flood_hazard`): storm rainfall (:mod:`~cimtwin.risk.rainfall`) → SCS runoff
(:mod:`~cimtwin.risk.runoff`) → depression depth and volumes (Priority-Flood, Barnes et al.
2014) → D8 flow accumulation → HAND (Rennó et al. 2008) → ponding depth by routing the
runoff volume into depressions with Fill-Spill-Merge (Barnes et al. 2020); volume is
conserved: runoff in = ponded + outflow. Roads whose ponding exceeds 15 cm (GB 51222-2017,
one lane ≤ 15 cm) are flagged and can be handed to routing as closures
(:func:`road_closures`).

DEM holes (NaN or the raster's nodata) are treated as **outlets**: water reaching a hole
leaves the model (it is counted as outflow), like water leaving the grid edge. Cells in
holes get NaN in every output. A DEM that is all holes is an error.

The kernels are the grid core's (:mod:`cimtwin.grid`); this module validates, chains and
wraps them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimtwin._validate import check_dem_sentinels, crs_of, require_positive, requires_metres, to_crs_of
from cimtwin.errors import CimtwinWarning, CRSError, NodataError, ValidationError
from cimtwin.grid._array import is_dask_dataarray
from cimtwin.grid.ponding import DEFAULT_MAX_WINDOW_CELLS
from cimtwin.io.container import RASTERIO_LOCK

__all__ = [
    "PONDING_LIMIT_M",
    "PONDING_LIMIT_SOURCE",
    "FloodHazard",
    "flood_hazard",
    "depressions",
    "flooded_roads",
    "flood_polygons",
    "road_closures",
]

PONDING_LIMIT_M = 0.15
PONDING_LIMIT_SOURCE = "GB 51222-2017 §3.2.3: ponding in one lane of a road ≤ 15 cm"


@dataclass
class FloodHazard:
    """Result of :func:`flood_hazard`: DataArrays on the model grid and the volume budget."""

    rain_mm: Any
    curve_number: Any
    runoff_mm: Any
    depression_depth_m: Any
    flow_accumulation: Any
    hand_m: Any
    ponding_m: Any
    volumes_m3: dict
    notes: dict = field(default_factory=dict)

    def rasters(self) -> dict[str, Any]:
        """The rasters by name (for writing GeoTIFFs)."""
        return {"rain_mm": self.rain_mm, "curve_number": self.curve_number, "runoff_mm": self.runoff_mm,
                "depression_depth_m": self.depression_depth_m, "flow_accumulation": self.flow_accumulation,
                "hand_m": self.hand_m, "ponding_m": self.ponding_m}


def _dem_with_holes(model):
    dem = model.raster("dem")
    values = np.asarray(dem.values, dtype="float32")
    nodata = dem.attrs.get("_FillValue", dem.attrs.get("nodata"))
    check_dem_sentinels(values, nodata=nodata, name="dem")
    holes = ~np.isfinite(values)
    if nodata is not None and np.isfinite(nodata):
        holes |= values == np.float32(nodata)
    if holes.all():
        raise NodataError("Raster 'dem' holds only nodata; flood screening needs elevations.")
    if holes.any():
        values = np.where(holes, np.float32(np.nan), values)
        dem = dem.copy(data=values)
        dem.attrs.pop("_FillValue", None)
    return dem, holes


def flood_hazard(model, *, rain=None, storm=None, rain_source: str = "auto", cn_table=None,
                 default_cn: float | None = None, stream_threshold_cells: int = 1000,
                 ponding_limit_m: float = PONDING_LIMIT_M,
                 max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS) -> FloodHazard:
    """Run the flood chain on ``model`` (needs ``dem`` and ``land_use``; rain from gauges or a storm).

    Parameters
    ----------
    rain
        Rainfall depth raster (mm) to use instead of :func:`~cimtwin.risk.rainfall.rainfall_grid`.
    storm, rain_source
        Passed to :func:`~cimtwin.risk.rainfall.rainfall_grid`.
    cn_table
        Curve-number table (land class → CN for soil groups A–D); TR-55 by default.
    default_cn
        CN for cells outside every land-use polygon; None leaves them without runoff
        (counted in ``notes["cells_without_land_use"]``, with a warning).
    stream_threshold_cells
        Flow accumulation (cells) at which a channel starts, for HAND.
    ponding_limit_m
        The road ponding limit flagged downstream (GB 51222: 0.15 m).
    max_window_cells
        Dask DEM only: the largest in-memory window of one depression plateau (cells);
        see :func:`~cimtwin.grid.ponding_depth`.

    Returns
    -------
    FloodHazard
        ``volumes_m3`` holds ``runoff``, ``ponded`` and ``outflow`` (runoff = ponded + outflow).

    Notes
    -----
    A model whose ``dem`` is dask-backed (``read_model(path, dem_chunks=...)`` or
    ``model.with_raster("dem", dem.chunk(...))``) runs tile by tile and returns lazy
    rasters equal to the in-memory ones: rain, curve numbers and runoff are made per chunk
    (each chunk rasterizes the land-use polygons on its own window of the grid), fill, D8,
    accumulation and HAND are the tiled grid operations, and ponding keeps in memory only
    one depression plateau's window at a time (docs/scale.md, "Flood chain on a dask DEM").

    Examples
    --------
    >>> fh = flood_hazard(model)                      # doctest: +SKIP
    >>> fh.volumes_m3["ponded"] <= fh.volumes_m3["runoff"]   # doctest: +SKIP
    True
    """
    from cimtwin.grid import hydrology as hydro
    from cimtwin.risk.rainfall import rainfall_grid
    from cimtwin.risk.runoff import CN_TABLE_TR55, curve_number_grid, scs_runoff_mm

    require_positive(stream_threshold_cells, arg="stream_threshold_cells")
    require_positive(ponding_limit_m, arg="ponding_limit_m")
    if not model.has_raster("dem"):
        raise ValidationError("Flood screening needs a 'dem' raster in the model.")
    if is_dask_dataarray(model.raster("dem")):
        return _flood_hazard_tiled(model, rain=rain, storm=storm, rain_source=rain_source, cn_table=cn_table,
                                   default_cn=default_cn, stream_threshold_cells=int(stream_threshold_cells),
                                   ponding_limit_m=ponding_limit_m, max_window_cells=max_window_cells)
    dem, holes = _dem_with_holes(model)
    spec = model.grid
    res_m = spec.res_m
    notes: dict[str, Any] = {"dem_holes_cells": int(holes.sum()),
                             "dem_holes_policy": "holes are outlets; outputs are NaN there"}
    if rain is None:
        rain = rainfall_grid(model, source=rain_source, storm=storm)
    land_use = model.require_layer("land_use", purpose="the SCS runoff") if model.has_layer("land_use") else None
    if land_use is None:
        raise ValidationError("Flood screening needs a 'land_use' layer (land_class, soil_group) for curve numbers.")
    cn = curve_number_grid(land_use, spec, cn_table=cn_table or CN_TABLE_TR55, default_cn=default_cn)
    n_missing = int(np.isnan(cn.values).sum())
    notes["cells_without_land_use"] = n_missing
    if n_missing:
        warnings.warn(f"{n_missing} cells lie outside every land-use polygon and produce no runoff; "
                      "pass `default_cn=` to give them one.", CimtwinWarning, stacklevel=2)
    runoff = scs_runoff_mm(rain, cn)
    runoff_in = np.where(holes | ~np.isfinite(runoff.values), 0.0, runoff.values).astype("float32")

    # fill once and D8 once; accumulation and HAND reuse the filled surface and the directions,
    # and HAND reuses the accumulation for its streams
    filled = hydro.fill_depressions(dem)
    depth = filled.values - dem.values  # = hydro.depression_depth(dem), without a second fill
    d8 = hydro.flow_direction_d8(filled, conditioned=True)
    acc = hydro.flow_accumulation(filled, conditioned=True, d8=d8)
    hand_m = hydro.hand(filled, stream_threshold_cells=int(stream_threshold_cells), conditioned=True, d8=d8,
                        accumulation=acc)
    del filled, d8
    pond = hydro.ponding_depth(dem, runoff_in, res_m=res_m)
    ponding_m = _as_da(spec, pond.depth_m, "ponding_m", "m", holes)
    volumes = {"runoff": float(pond.runoff_volume_m3), "ponded": float(pond.ponded_volume_m3),
               "outflow": float(pond.outflow_volume_m3)}
    notes["ponding_limit_m"] = ponding_limit_m
    notes["ponding_limit_source"] = PONDING_LIMIT_SOURCE
    return FloodHazard(
        rain_mm=rain, curve_number=cn, runoff_mm=_as_da(spec, runoff.values, "runoff_mm", "mm", holes),
        depression_depth_m=_as_da(spec, depth, "depression_depth_m", "m", holes),
        flow_accumulation=_as_da(spec, acc, "flow_accumulation", "cells", None),
        hand_m=_as_da(spec, hand_m, "hand_m", "m", holes), ponding_m=ponding_m, volumes_m3=volumes, notes=notes)


# -- tiled (dask) chain ----------------------------------------------------------------

def _dem_with_holes_tiled(model):
    """The dask DEM as float32 with NaN holes, the lazy hole mask and the number of holes."""
    import dask
    import dask.array as da

    dem = model.raster("dem")
    nodata = dem.attrs.get("_FillValue", dem.attrs.get("nodata"))
    values = dem.data.astype("float32")

    def check(block):
        check_dem_sentinels(block, nodata=nodata, name="dem")
        return block

    values = values.map_blocks(check, dtype=values.dtype)
    holes = ~da.isfinite(values)
    if nodata is not None and np.isfinite(nodata):
        holes |= values == np.float32(nodata)
    (n_holes,) = dask.compute(holes.sum())
    if int(n_holes) == dem.size:
        raise NodataError("Raster 'dem' holds only nodata; flood screening needs elevations.")
    data = da.where(holes, np.float32(np.nan), values)
    out = dem.copy(data=data)
    out.attrs.pop("_FillValue", None)
    return out, holes, int(n_holes)


def _sub_spec(spec, r0, c0, h, w):
    from affine import Affine

    from cimtwin.grid.spec import GridSpec

    return GridSpec(spec.transform @ Affine.translation(c0, r0), (h, w), spec.crs)


def _rain_block(block, block_info=None, *, model, spec, storm, rain_source):
    from cimtwin.risk.rainfall import rainfall_grid

    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    sub = _sub_spec(spec, r0, c0, r1 - r0, c1 - c0)
    return np.asarray(rainfall_grid(model, source=rain_source, storm=storm, spec=sub).values, "float32")


def _cn_block(block, block_info=None, *, spec, land_use, cn_table, default_cn):
    from cimtwin.risk.runoff import curve_number_grid

    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    sub = _sub_spec(spec, r0, c0, r1 - r0, c1 - c0)
    with RASTERIO_LOCK:  # rasterio's warning filters are not thread-safe
        cn = curve_number_grid(land_use, sub, cn_table=cn_table, default_cn=default_cn)
    return np.asarray(cn.values, "float32")


def _runoff_block(rain, cn):
    from cimtwin.risk.runoff import scs_runoff_mm

    return np.asarray(scs_runoff_mm(rain, cn), dtype="float32")


def _flood_hazard_tiled(model, *, rain, storm, rain_source, cn_table, default_cn, stream_threshold_cells,
                        ponding_limit_m, max_window_cells) -> FloodHazard:
    import dask
    import dask.array as da

    from cimtwin.grid import hydrology as hydro
    from cimtwin.risk.runoff import CN_TABLE_TR55

    dem, holes, n_holes = _dem_with_holes_tiled(model)
    spec = model.grid
    notes: dict[str, Any] = {"dem_holes_cells": n_holes,
                             "dem_holes_policy": "holes are outlets; outputs are NaN there",
                             "tiled": f"dask chunks {tuple(max(c) for c in dem.chunks)}"}
    if not model.has_layer("land_use"):
        raise ValidationError("Flood screening needs a 'land_use' layer (land_class, soil_group) for curve numbers.")
    land_use = model.require_layer("land_use", purpose="the SCS runoff")
    grid = da.empty(tuple(spec.shape), chunks=dem.chunks, dtype="float32")
    if rain is not None:
        rain_d = da.asarray(getattr(rain, "data", rain))
        if tuple(rain_d.shape) != tuple(spec.shape):
            raise ValidationError(f"`rain` has shape {tuple(rain_d.shape)}, the DEM {tuple(spec.shape)}; give "
                                  "a raster on the model grid.")
        rain_d = rain_d.astype("float32").rechunk(dem.chunks)
    else:
        from cimtwin.risk.rainfall import rainfall_grid

        # check the rainfall inputs once, on a one-cell grid, before the tiles run
        rainfall_grid(model, source=rain_source, storm=storm, spec=_sub_spec(spec, 0, 0, 1, 1))
        rain_d = grid.map_blocks(_rain_block, model=model, spec=spec, storm=storm, rain_source=rain_source,
                                 dtype="float32", meta=np.empty((0, 0), "float32"))
    cn_d = grid.map_blocks(_cn_block, spec=spec, land_use=land_use, cn_table=cn_table or CN_TABLE_TR55,
                           default_cn=default_cn, dtype="float32", meta=np.empty((0, 0), "float32"))
    runoff_d = da.map_blocks(_runoff_block, rain_d, cn_d, dtype="float32", meta=np.empty((0, 0), "float32"))
    (n_missing,) = dask.compute(da.isnan(cn_d).sum())
    n_missing = int(n_missing)
    notes["cells_without_land_use"] = n_missing
    if n_missing:
        warnings.warn(f"{n_missing} cells lie outside every land-use polygon and produce no runoff; "
                      "pass `default_cn=` to give them one.", CimtwinWarning, stacklevel=3)
    runoff_in = da.where(holes | ~da.isfinite(runoff_d), np.float32(0), runoff_d).astype("float32")

    filled = hydro.fill_depressions(dem)
    depth = filled - dem
    d8 = hydro.flow_direction_d8(filled, conditioned=True)
    acc = hydro.flow_accumulation(filled, conditioned=True, d8=d8)
    hand_m = hydro.hand(filled, stream_threshold_cells=stream_threshold_cells, conditioned=True, d8=d8,
                        accumulation=acc)
    pond = hydro.ponding_depth(dem, dem.copy(data=runoff_in), filled=filled, max_window_cells=max_window_cells)
    volumes = {"runoff": float(pond.runoff_volume_m3), "ponded": float(pond.ponded_volume_m3),
               "outflow": float(pond.outflow_volume_m3)}
    notes["ponding_limit_m"] = ponding_limit_m
    notes["ponding_limit_source"] = PONDING_LIMIT_SOURCE
    rain_da = _lazy_da(dem, rain_d, "rain_mm", "mm", None)
    cn_da = _lazy_da(dem, cn_d, "curve_number", "1", None)
    return FloodHazard(
        rain_mm=rain_da, curve_number=cn_da, runoff_mm=_lazy_da(dem, runoff_d, "runoff_mm", "mm", holes),
        depression_depth_m=_lazy_da(dem, depth.data, "depression_depth_m", "m", holes),
        flow_accumulation=_lazy_da(dem, acc.data, "flow_accumulation", "cells", None),
        hand_m=_lazy_da(dem, hand_m.data, "hand_m", "m", holes),
        ponding_m=_lazy_da(dem, pond.depth_m.data, "ponding_m", "m", holes), volumes_m3=volumes, notes=notes)


def _lazy_da(dem, data, name, units, holes):
    import dask.array as da

    if holes is not None:
        data = da.where(holes, np.float32(np.nan), data.astype("float32"))
    out = dem.copy(data=data)
    out.name = name
    out.attrs = {"units": units, "crs": dem.attrs.get("crs"), "res_m": dem.attrs.get("res_m")}
    out.attrs = {k: v for k, v in out.attrs.items() if v is not None}
    return out


def _as_da(spec, values, name, units, holes):
    v = np.asarray(getattr(values, "values", values))
    if holes is not None and holes.any():
        v = np.where(holes, np.nan, v.astype("float32"))
    return spec.to_dataarray(v, name=name, attrs={"units": units})


@requires_metres("depth_m", "spec")
def depressions(depth_m, *, min_depth_m: float = 0.01, spec=None):
    """Depression polygons (connected cells deeper than ``min_depth_m``) with their volumes.

    Columns: ``depression_id``, ``area_m2``, ``max_depth_m``, ``volume_m3`` (sum of depth ×
    cell area), sorted by volume.
    """
    import geopandas as gpd
    import scipy.ndimage
    import shapely

    from cimtwin.grid.rasterize import polygonize
    from cimtwin.grid.spec import GridSpec

    spec = spec or GridSpec.from_dataarray(depth_m)
    d = np.nan_to_num(np.asarray(getattr(depth_m, "values", depth_m), dtype="float64"))
    labels, n = scipy.ndimage.label(d > min_depth_m, structure=np.ones((3, 3)))
    cell_m2 = spec.res_m ** 2
    idx = np.arange(1, n + 1)
    vol = scipy.ndimage.sum_labels(d, labels, idx) * cell_m2 if n else np.zeros(0)
    mx = scipy.ndimage.maximum(d, labels, idx) if n else np.zeros(0)
    cnt = scipy.ndimage.sum_labels(np.ones_like(d), labels, idx) if n else np.zeros(0)
    geoms: dict[int, list] = {}
    for geom, value in zip(*polygonize(spec, labels.astype("int32"), mask=labels > 0, connectivity=8)):
        geoms.setdefault(int(value), []).append(geom)
    polys = [shapely.union_all(geoms[i]) if i in geoms else shapely.Polygon() for i in idx]
    out = gpd.GeoDataFrame({"depression_id": idx, "area_m2": np.asarray(cnt) * cell_m2,
                            "max_depth_m": np.asarray(mx), "volume_m3": np.asarray(vol)},
                           geometry=polys, crs=spec.crs)
    return out.sort_values("volume_m3", ascending=False).reset_index(drop=True)


@requires_metres("ponding_m", "spec")
def flood_polygons(ponding_m, *, limit_m: float = PONDING_LIMIT_M, spec=None):
    """Polygons of cells ponded deeper than ``limit_m`` (one row per connected patch)."""
    import geopandas as gpd

    from cimtwin.grid.rasterize import polygonize
    from cimtwin.grid.spec import GridSpec

    spec = spec or GridSpec.from_dataarray(ponding_m)
    p = np.nan_to_num(np.asarray(getattr(ponding_m, "values", ponding_m), dtype="float64"))
    mask = p > limit_m
    geoms = polygonize(spec, mask.astype("uint8"), mask=mask, connectivity=8)[0]
    return gpd.GeoDataFrame({"limit_m": np.full(len(geoms), limit_m)}, geometry=geoms, crs=spec.crs)


@requires_metres("roads", "ponding_m")
def flooded_roads(roads, ponding_m, *, limit_m: float = PONDING_LIMIT_M):
    """Roads with their deepest ponding and the length ponded beyond ``limit_m``.

    Each road is cut at every cell edge of the ponding raster (exact, no sampling; linear in
    the cells the roads cross, so a city of 10^6 road segments at 10 m runs in seconds and
    in the memory of the roads' coordinates). Roads in another CRS than the ponding raster
    are reprojected to it first (never compared raw); lengths are measured in the raster's
    CRS. Returns the roads (in their own CRS) with ``max_ponding_m`` (deepest cell crossed;
    0 off the raster), ``flooded_m`` (length in cells ponded beyond the limit) and
    ``flooded`` (max above the limit).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from cimtwin.grid import GridSpec
    >>> spec = GridSpec.from_bounds((0, 0, 100, 100), res_m=10, crs="EPSG:4527")
    >>> depth = np.zeros(spec.shape); depth[:, 5] = 0.5          # a 0.5 m deep channel at x = 50-60 m
    >>> road = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 45), (100, 45)])], crs="EPSG:4527")
    >>> out = flooded_roads(road, spec.to_dataarray(depth))
    >>> float(out.max_ponding_m[0]), round(float(out.flooded_m[0]), 6), bool(out.flooded[0])
    (0.5, 10.0, True)
    """
    from cimtwin.grid.rasterize import line_lengths, line_max
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(ponding_m)
    p = np.asarray(ponding_m.values)
    raster_crs = crs_of(ponding_m)
    if raster_crs is None and crs_of(roads) is not None:
        raise CRSError("`ponding_m` has no CRS while `roads` has one: the two cannot be matched. Write the "
                       "raster's CRS (`ponding_m.rio.write_crs(model.crs)`).")
    geoms = to_crs_of(roads, raster_crs, arg="roads", target="ponding_m").geometry.values
    beyond = (p > limit_m).view(np.int8)  # NaN (holes) compare False: never flooded
    flooded_m = line_lengths(spec, geoms, beyond, 2, per_feature=True)[:, 1]
    maxd = np.maximum(np.nan_to_num(line_max(spec, geoms, p), nan=0.0), 0.0)
    out = roads.assign(max_ponding_m=maxd, flooded_m=flooded_m, flooded=maxd > limit_m)
    out.attrs["limit_m"] = limit_m
    out.attrs["limit_source"] = PONDING_LIMIT_SOURCE
    return out


@requires_metres("ponding_m")
def road_closures(model, ponding_m, *, limit_m: float = PONDING_LIMIT_M, destinations: str = "shelters",
                  mode=None, max_snap_m: float = 500.0):
    """Close the roads ponded beyond ``limit_m`` in the routing network and report the access lost.

    The cells ponded beyond the limit become closure polygons; every network edge touching
    one is removed (:func:`cimtwin.routing.close_roads`). Access is measured from every
    network node to its nearest facility of the ``destinations`` layer (shelters by
    default) at ``mode`` (post-disaster walking, 0.8 m/s, by default), before and after,
    with the model's population raster counted at its nearest node
    (:func:`cimtwin.routing.closure_impact`).

    Returns
    -------
    (GeoDataFrame, dict)
        The flooded roads (see :func:`flooded_roads`) and a report: ``closed_edges``,
        ``nodes_lost``, ``population_lost`` (persons cut off from every facility),
        ``facilities_lost`` (names), ``mean_added_time_s`` (population-weighted extra
        travel time of those who still reach one), ``destinations``, ``limit_m``.
    """
    # routing sits below risk in the layering; import it only when closures are asked for
    from cimtwin.routing import RoadNetwork, close_roads, closure_impact
    from cimtwin.routing.modes import WALK_SLOW

    roads = model.require_layer("roads", purpose="flooded-road closures")
    flagged = flooded_roads(roads, ponding_m, limit_m=limit_m)
    areas = flood_polygons(ponding_m, limit_m=limit_m)
    report: dict[str, Any] = {"limit_m": limit_m, "limit_source": PONDING_LIMIT_SOURCE,
                              "flooded_roads": int(flagged["flooded"].sum()), "destinations": destinations}
    net = RoadNetwork.from_model(model)
    if len(areas) == 0:
        report.update(closed_edges=0, nodes_lost=0, population_lost=0.0, facilities_lost=[], mean_added_time_s=0.0)
        return flagged[flagged["flooded"]], report
    closed = close_roads(net, polygons=areas)
    report["closed_edges"] = int(len(closed.affected_edges))
    if not model.has_layer(destinations) or len(model.layer(destinations)) == 0:
        report["note"] = f"no {destinations!r} layer: access not measured"
        return flagged[flagged["flooded"]], report
    from scipy.spatial import cKDTree

    facilities = model.layer(destinations)
    points = facilities.geometry.representative_point()
    # each facility counts at its nearest node of the open network, so a shelter whose own
    # road is flooded is still a destination (cut off, not dropped)
    gap, nearest = cKDTree(net.node_xy).query(np.column_stack([points.x, points.y]))
    keep = gap <= max_snap_m
    report["facilities_off_network"] = int((~keep).sum())
    population = model.raster("population") if model.has_raster("population") else None
    impact = closure_impact(net, closed, net.node_ids[nearest[keep]], weight=mode or WALK_SLOW,
                            population=population, max_snap_m=max_snap_m)
    facilities = facilities[keep]
    names = facilities["name"] if "name" in facilities.columns else facilities.index.to_series()
    report.update(
        nodes_lost=int(len(impact["nodes_lost"])),
        population_lost=float(impact["population_lost"]) if population is not None else None,
        facilities_lost=[str(names.iloc[i]) for i in impact["facilities_lost"]],
        mean_added_time_s=float(impact["mean_added_cost"]),
        mode=str(getattr(mode or WALK_SLOW, "name", mode)),
    )
    return flagged[flagged["flooded"]], report
