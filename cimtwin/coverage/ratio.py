"""``coverage_ratio``: the one entry point for every coverage ratio of the plans.

A ratio is ``covered / total`` of a *target* layer, measured by its geometry: polygons by area
(m²), lines by length (m), points by count, or, with ``weight="population"``, by the residents
of the population raster inside the targets. What "covered" means is the *definition*, one
module each under :mod:`cimtwin.coverage.definitions`, with its own keyword-only options:

``radius``    within ``radius_m`` of a sensor (rain gauges: R = √(15 km²/π) ≈ 2.185 km by default)
``presence``  the target polygon holds at least one sensor (counted per target feature)
``thiessen``  the target lies in a Thiessen cell no larger than ``area_km2_per_gauge``
``viewshed``  inside a camera's field of view (sector, DORI range, blind zone), occluded by the
              DEM and buildings when the model has them (the default for cameras)
``rsrp``      best-server 5G RSRP per RE ≥ ``threshold_dbm`` (default for 5G sites)
``mcl``       NB-IoT coupling loss ≤ ``mcl_db`` − ``penetration_db`` (default for NB-IoT sites)
``network``   a sensor within ``max_distance_m`` along the road network

Zones, clipping and the whole-area row are accounted for once, in :mod:`cimtwin.coverage.accounting`.
See ``docs/coverage.md`` for each definition, its defaults and their sources.
"""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from cimtwin._validate import close_matches
from cimtwin.coverage.accounting import resolve_inputs
from cimtwin.coverage.definitions import FEATURE_DEFINITIONS, REGISTRY
from cimtwin.coverage.definitions.radius import DEFAULT_GAUGE_AREA_KM2, DEFAULT_GAUGE_RADIUS_M
from cimtwin.errors import ValidationError

__all__ = ["coverage_ratio", "CoverageResult", "DEFINITIONS", "DEFAULT_GAUGE_RADIUS_M", "DEFAULT_GAUGE_AREA_KM2",
           "DEFAULT_CLIP", "default_definition", "definition_options"]

DEFINITIONS = tuple(REGISTRY)
# The definition used when none is given, by the schema kind of the sensor layer.
_DEFAULT_BY_KIND = {"cameras": "viewshed", "sites_5g": "rsrp", "sites_nbiot": "mcl", "rain_gauges": "radius"}
# Clip to the model's metadata["study_area"] when it has one (where its sensors were surveyed).
DEFAULT_CLIP = "study_area"
_COMMON = ("sensors", "targets", "by", "definition", "clip_to", "weight", "category", "geometries")


class CoverageResult(pd.DataFrame):
    """The tidy ratio table (a pandas DataFrame) with the geometry of the answer attached.

    The result *is* the table: one row per zone of ``by`` (kept apart by ``zone_id``, with
    its ``parent`` district) and a final whole-area row (``zone`` = ``zone_id`` = ``"all"``),
    with columns ``zone``, ``zone_id``, ``parent``, ``covered``, ``total``, ``unit`` (``m2``,
    ``m``, ``features``, ``points`` or ``persons``), ``ratio`` (a fraction in [0, 1]) and
    ``definition`` (the definition and the clip used); ``thiessen`` adds
    ``largest_cell_km2`` and ``km2_per_gauge``. Derived frames (slices, copies) are plain
    DataFrames.

    Attributes
    ----------
    table : DataFrame
        The same table as a plain DataFrame.
    covered, gaps : GeoDataFrame
        The covered and uncovered parts of the targets (``zone``, ``zone_id``, ``target`` =
        row label of the target layer, geometry), in the model CRS.
    footprints : GeoDataFrame or None
        The sensors' coverage (per-sensor sectors/disks, or the polygonised raster coverage).
    grid : DataArray or None
        The raster behind a raster definition (count of cameras, best-server RSRP, coupling loss).
    notes : list of str
        What was assumed or changed (reprojection, omni cameras, resolution, merged overlaps).
    params : dict
        The definition's parameters as used (radius_m, threshold_dbm, res_m, clip_to …).
    data : str
        The layers it was computed from, with their feature counts.
    """

    _metadata = ["covered", "gaps", "footprints", "grid", "notes", "params", "data"]

    @property
    def _constructor(self):
        return pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self, copy=True)

    def summary(self) -> str:
        """One line per zone: ``zone: 87.3 % (definition; params; data)``."""
        p = self.parameters()
        return "\n".join(f"{r.zone}: {_percent(r.ratio)} ({r.definition}{'; ' + p if p else ''}; data {self.data})"
                         for r in self.itertuples())

    def parameters(self) -> str:
        """The parameters as one ``key=value; …`` string."""
        return "; ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items()
                         if v is not None)


def _percent(ratio: float) -> str:
    # A zone with nothing to cover has no ratio: say so instead of printing "nan %".
    return "n/a (nothing to cover)" if ratio != ratio else f"{100 * ratio:.1f} %"


def default_definition(kind: str | None, *, radius_m: float | None = None) -> str:
    """The definition ``coverage_ratio`` uses when none is given."""
    if radius_m is not None:
        return "radius"
    if kind in _DEFAULT_BY_KIND:
        return _DEFAULT_BY_KIND[kind]
    raise ValidationError(
        f"No default coverage definition for a sensor layer of kind {kind!r}; pass `definition=` "
        f"(one of {list(DEFINITIONS)}) or `radius_m=`."
    )


def definition_options(definition: str) -> tuple[str, ...]:
    """The keyword-only options of one definition (besides the common arguments)."""
    sig = inspect.signature(REGISTRY[definition])
    return tuple(p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY)


def _check_options(definition: str, options: dict[str, Any]) -> None:
    valid = definition_options(definition)
    unknown = [k for k in options if k not in valid]
    if not unknown:
        return
    owners = {k: [d for d in DEFINITIONS if k in definition_options(d)] for k in unknown}
    why = "; ".join(f"{k!r} belongs to definition(s) {v}" if v else
                    f"{k!r} is no option of any definition.{close_matches(k, valid + _COMMON)}"
                    for k, v in owners.items())
    raise TypeError(f"coverage_ratio(definition={definition!r}) got unknown option(s) {unknown}: {why}. "
                    f"Valid options of {definition!r}: {list(valid)}; common to every definition: {list(_COMMON)}.")


def _clip_name(clip_to) -> str:
    """``clip_to`` as a parameter value (its bounds are in the ``definition``)."""
    return "none" if clip_to is None else (clip_to if isinstance(clip_to, str) else "geometry")


def coverage_ratio(model, *, sensors, targets, by=None, definition: str | None = None, clip_to=DEFAULT_CLIP,
                   weight: str | None = None, category=None, geometries: bool = True, **options) -> CoverageResult:
    """Share of a target layer covered by a sensor layer, overall and per zone.

    Parameters
    ----------
    model : CityModel
    sensors, targets : str or GeoDataFrame
        Layer names of ``model`` (or GeoDataFrames; one in another CRS is reprojected and
        the result's ``notes`` say so). An empty target layer is an error.
    by : str or GeoDataFrame or None
        Zone layer with a ``name`` column (districts, subdistricts, grid_cells). Zones are
        kept apart by ``zone_id`` (a ``zone_id``, ``code``, ``adcode`` or ``id`` column, else
        the row label); a ``parent`` or ``district`` column gives ``parent``. The ``"all"`` row
        is the same with or without ``by``.
    definition : {"radius", "presence", "thiessen", "viewshed", "rsrp", "mcl", "network"} or None
        None: ``"radius"`` when ``radius_m`` is given, else by the sensor layer's kind
        (cameras → viewshed, sites_5g → rsrp, sites_nbiot → mcl, rain_gauges → radius).
    clip_to : None, "study_area" or a polygon
        Where the targets are measured. ``"study_area"`` (the default): the model's
        ``metadata["study_area"]`` when it has one, else no clip; None: the whole layer; a
        shapely polygon (model CRS) or a GeoDataFrame. Area and length targets are cut;
        points and counted features (presence, network) are kept when their
        (representative) point lies inside. ``definition`` states the clip used.
    weight : {"population"} or None
        Weight polygon targets by the residents of the model's ``population`` raster.
    category : str or list of str or None
        Keep only targets whose ``category`` is among these (e.g. ``"重要部位"`` of key_areas).
    geometries : bool
        Build the covered/gaps GeoDataFrames (False saves time on very large inputs; the
        figures are the same either way).
    **options
        The definition's own keyword-only options (a misspelt or foreign one is a TypeError
        naming the valid ones):

        - radius: ``radius_m``, ``method`` ("auto", "vector", "grid"), ``res_m``;
        - presence: none; thiessen: ``area_km2_per_gauge`` (15);
        - viewshed: ``dori``, ``pixels_h`` (1920), ``assume_omni``, ``res_m``;
        - rsrp: ``threshold_dbm`` (−105), ``penetration_db``, ``scenario``, ``los``, ``res_m``;
        - mcl: ``mcl_db`` (164), ``penetration_db``, ``scenario``, ``los``, ``res_m``;
        - network: ``max_distance_m``.

    Returns
    -------
    CoverageResult
        A DataFrame (zone, zone_id, parent, covered, total, unit, ratio, definition) with
        ``covered``, ``gaps``, ``footprints``, ``grid``, ``notes``, ``params`` and ``data``.

    Examples
    --------
    >>> import cimtwin, geopandas as gpd, shapely
    >>> x0, y0 = 39_500_000, 4_060_000   # CGCS2000 GK zone 39 (EPSG:4527), synthetic
    >>> zones = gpd.GeoDataFrame({"name": ["A", "B"]}, crs="EPSG:4527", geometry=[
    ...     shapely.box(x0, y0, x0 + 1000, y0 + 1000), shapely.box(x0 + 1000, y0, x0 + 2000, y0 + 1000)])
    >>> gauges = gpd.GeoDataFrame(geometry=[shapely.Point(x0 + 500, y0 + 500)], crs="EPSG:4527")
    >>> m = cimtwin.CityModel.from_layers({"subdistricts": zones, "rain_gauges": gauges})
    >>> r = coverage_ratio(m, sensors="rain_gauges", targets="subdistricts", definition="presence")
    >>> r[["zone", "covered", "total", "ratio"]].to_dict("records")
    [{'zone': 'all', 'covered': 1.0, 'total': 2.0, 'ratio': 0.5}]
    """
    if definition is None:
        kind = model.layer_kind(sensors) if isinstance(sensors, str) and model.has_layer(sensors) else None
        definition = default_definition(kind, radius_m=options.get("radius_m"))
    if definition not in REGISTRY:
        raise ValidationError(f"Unknown coverage definition {definition!r}; valid definitions are "
                              f"{list(DEFINITIONS)}.{close_matches(str(definition), DEFINITIONS)}")
    _check_options(definition, options)
    inp = resolve_inputs(model, sensors=sensors, targets=targets, by=by, category=category, weight=weight,
                         geometries=geometries, clip_to=clip_to, by_feature=definition in FEATURE_DEFINITIONS)
    out = REGISTRY[definition](inp, **options)
    result = CoverageResult(out.table)
    result.covered = out.covered
    result.gaps = out.gaps
    result.footprints = out.footprints
    result.grid = out.grid
    result.notes = inp.notes
    result.params = {**inp.params, "clip_to": _clip_name(clip_to)}
    result.data = inp.data
    return result



