"""Evaluate the catalogue's targets on a city model: value, target, met, gap, per zone.

Every catalogue row names a computation (``count``, ``attribute_share``, ``coverage_ratio``,
``networking_ratio``, ``fortification_share``) with literal keyword arguments. A target that
cannot be computed on the model — a layer or column it lacks — stays in the table with an
empty value and the reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cimtwin.errors import CimtwinError, InputTypeError, LayerNotFoundError, ValidationError
from cimtwin.targets.catalog import load_catalog, parse_computation

__all__ = ["evaluate", "run_targets", "TargetRun", "RESULT_COLUMNS", "COMPUTATIONS"]

RESULT_COLUMNS = [
    "target_id", "year", "zone", "value", "target", "comparator", "unit", "met", "gap", "definition",
    "reason", "flag", "computation", "source", "lines", "zh", "en", "kind",
]
_ALL = "all"


class _NotComputable(Exception):
    """A target this model cannot measure: the reason goes into the table."""


@dataclass
class _Measure:
    value: float
    zones: dict[str, float] = field(default_factory=dict)
    zone_targets_apply: bool = True  # False for counts: a city-wide count target says nothing per zone
    definition: str | None = None
    result: Any = None


@dataclass
class TargetRun:
    """The evaluation table and, per target, the raw result behind it (coverage gaps, …)."""

    table: pd.DataFrame
    results: dict[str, Any]
    seconds: dict[str, float]


# -- computations -------------------------------------------------------------------------------------

def _layer(model, name: str):
    if not model.has_layer(name):
        raise _NotComputable(f"no {name} layer")
    return model.layer(name)


def _filter(gdf, where: str | None, layer: str):
    if not where:
        return gdf
    try:
        mask = gdf.drop(columns=gdf.geometry.name).eval(where, engine="python")
    except (NameError, KeyError, pd.errors.UndefinedVariableError) as exc:
        raise _NotComputable(f"layer {layer!r} lacks a column used in {where!r} ({_missing_name(exc)})") from exc
    return gdf[np.asarray(mask, dtype=bool)]


def _missing_name(exc: Exception) -> str:
    text = str(exc)
    return text.split("'")[1] if text.count("'") >= 2 else text


def _zone_of(gdf, model, by: str | None) -> pd.Series | None:
    """The zone name of each feature (largest overlap for lines and polygons, containment for points)."""
    if not by or not model.has_layer(by) or len(gdf) == 0:
        return None
    import shapely

    zones = model.layer(by)
    if "name" not in zones.columns or len(zones) == 0:
        return None
    geoms = gdf.geometry.to_numpy()
    points = shapely.get_type_id(geoms) == 0
    probe = np.where(points, geoms, shapely.point_on_surface(geoms))
    tree = shapely.STRtree(zones.geometry.to_numpy())
    src, dst = tree.query(probe, predicate="intersects")
    out = np.full(len(gdf), None, dtype=object)
    names = zones["name"].astype(str).to_numpy()
    out[src[::-1]] = names[dst[::-1]]  # first zone wins
    return pd.Series(out, index=gdf.index)


def _count(model, *, layer: str, where: str | None = None, distinct: str | None = None, by: str | None = None):
    gdf = _filter(_layer(model, layer), where, layer)

    def n(frame) -> float:
        if distinct:
            return float(frame[distinct].nunique())
        return float(len(frame))

    if distinct and distinct not in gdf.columns:
        raise _NotComputable(f"layer {layer!r} has no column {distinct!r}")
    zones = {}
    zone_of = _zone_of(gdf, model, by)
    if zone_of is not None:
        for z, part in gdf.groupby(zone_of.fillna("(outside)"), sort=False):
            zones[str(z)] = n(part)
    what = f"{layer}" + (f" where {where}" if where else "") + (f", distinct {distinct}" if distinct else "")
    return _Measure(n(gdf), zones, zone_targets_apply=False, definition=f"count of {what}")


def _attribute_share(model, *, layer: str, condition: str, where: str | None = None, by: str | None = None):
    gdf = _filter(_layer(model, layer), where, layer)
    if len(gdf) == 0:
        raise _NotComputable(f"layer {layer!r} has no features" + (f" where {where}" if where else ""))
    try:
        ok = np.asarray(gdf.drop(columns=gdf.geometry.name).eval(condition, engine="python"), dtype=bool)
    except (NameError, KeyError, pd.errors.UndefinedVariableError) as exc:
        raise _NotComputable(f"layer {layer!r} has no column {_missing_name(exc)!r}") from exc
    zones = {}
    zone_of = _zone_of(gdf, model, by)
    if zone_of is not None:
        frame = pd.DataFrame({"zone": zone_of.fillna("(outside)").to_numpy(), "ok": ok})
        zones = frame.groupby("zone", sort=False)["ok"].mean().astype(float).to_dict()
    return _Measure(float(ok.mean()), zones, definition=f"share of {layer}" + (f" where {where}" if where else "")
                    + f" with {condition}")


def _coverage(model, *, sensors: str, targets: str, by: str | None = None, study_area=None, **params):
    from cimtwin.coverage import coverage_ratio

    for name in (sensors, targets):
        _layer(model, name)
    if by and not model.has_layer(by):
        by = None
    clipped = False
    if study_area is not None and params.get("definition") not in _COUNT_DEFINITIONS:
        model, clipped = _clip_targets(model, targets, study_area)
    result = coverage_ratio(model, sensors=sensors, targets=targets, by=by, **params)
    table = result.table
    overall = table.loc[table["zone"] == _ALL, "ratio"]
    zones = {str(z): float(r) for z, r in zip(table["zone"], table["ratio"]) if z != _ALL}
    definition = str(table["definition"].iloc[0]) if "definition" in table else params.get("definition")
    used = ", ".join(f"{k}={v}" for k, v in (result.params or {}).items() if v is not None)
    where = f", {targets} within the study area {_format_bounds(study_area.bounds)}" if clipped else ""
    return _Measure(float(overall.iloc[0]), zones,
                    definition=f"{definition}" + (f" ({used})" if used else "") + where, result=result)


# Coverage definitions that count target features rather than measure their area or length.
_COUNT_DEFINITIONS = ("presence",)


def _clip_targets(model, targets: str, area):
    """The model with its ``targets`` layer cut to ``area`` (polygon and line layers only).

    Returns (model, clipped): point targets are counts, not areas or lengths, and stay whole.
    """
    import shapely

    gdf = model.layer(targets)
    geoms = gdf.geometry.to_numpy()
    types = set(shapely.get_type_id(geoms[~shapely.is_empty(geoms)]).tolist())
    if not types or types <= {0, 4}:  # points, multipoints
        return model, False
    dim = 2 if types & {3, 6} else 1  # polygons else lines
    cut = shapely.intersection(geoms, area)
    # a cut can leave slivers of a lower dimension (a line touching the edge): keep the family's parts
    parts, owner = shapely.get_parts(cut, return_index=True)
    keep = shapely.get_dimensions(parts) == dim
    keep &= (shapely.area(parts) > 0) if dim == 2 else (shapely.length(parts) > 0)
    if not keep.any():
        raise _NotComputable(f"no {targets} inside the study area {_format_bounds(area.bounds)}")
    rows = np.unique(owner[keep])
    pieces = [shapely.union_all(parts[keep & (owner == r)]) for r in rows]
    clipped = gdf.iloc[rows].copy()
    clipped[gdf.geometry.name] = pieces
    return model.with_layer(targets, clipped, kind=model.layer_kind(targets)), True


def _format_bounds(bounds) -> str:
    return "[" + ", ".join(f"{v:,.0f}" for v in bounds) + "]"


def _study_area(model, study_area):
    """The study-area polygon in the model CRS from ``metadata["study_area"]``, or None."""
    if not isinstance(study_area, (bool, np.bool_)):
        raise InputTypeError(f"`study_area` must be True or False; got {type(study_area).__name__}.")
    spec = model.metadata.get("study_area") if study_area else None
    if spec is None:
        return None
    import shapely

    bounds = spec.get("bounds") if isinstance(spec, Mapping) else None
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata['study_area']['bounds'] must be [xmin, ymin, xmax, ymax]; got {bounds!r}. "
                              "Fix the model's metadata or pass study_area=False.") from exc
    if not (xmin < xmax and ymin < ymax):
        raise ValidationError(f"metadata['study_area']['bounds'] {bounds!r} is empty (need xmin < xmax, "
                              "ymin < ymax).")
    area = shapely.box(xmin, ymin, xmax, ymax)
    crs = spec.get("crs")
    if crs is not None:
        from cimtwin._validate import as_crs

        src = as_crs(crs)
        if not src.equals(model.crs):
            from pyproj import Transformer

            to_model = Transformer.from_crs(src, model.crs, always_xy=True)
            area = shapely.box(*to_model.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21))
    return area


def _networking(model, *, sensors: str = "cameras", targets: str = "key_areas", category="重点公共区域",
                by: str | None = None):
    from cimtwin.coverage import networking_rate

    _layer(model, sensors)
    _layer(model, targets)
    if by and not model.has_layer(by):
        by = None
    table = networking_rate(model, cameras=sensors, key_areas=targets, category=category, by=by)
    overall = table.loc[table["zone"] == _ALL, "ratio"]
    if overall.empty:
        raise _NotComputable(f"no {sensors} inside {targets} of category {category}")
    zones = {str(z): float(r) for z, r in zip(table["zone"], table["ratio"]) if z != _ALL}
    return _Measure(float(overall.iloc[0]), zones, definition=str(table["definition"].iloc[0]), result=table)


def _fortification(model, *, by: str | None = None, minimum_intensity: int = 7, important_uplift: int = 1,
                   res_m: float = 100.0):
    import warnings

    from cimtwin.grid.spec import GridSpec
    from cimtwin.risk.seismic import buildings_below_fortification, seismic_hazard

    buildings = _layer(model, "buildings")
    _layer(model, "faults")
    if model.grid is None:
        raise _NotComputable("no raster grid (dem) for the seismic scenario")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing site_class layer is said in the definition
        # Zoning intensity varies over kilometres: a grid of res_m (never finer than the model's) suffices.
        grid = model.grid
        res = max(float(res_m), float(abs(grid.transform.a)))
        spec = GridSpec.from_bounds(grid.bounds, res_m=res, crs=model.crs)
        hazard = seismic_hazard(model, spec=spec)
    weak = buildings_below_fortification(buildings, hazard.zoning_intensity, minimum_intensity=minimum_intensity,
                                         important_uplift=important_uplift)
    ok = ~buildings.index.isin(weak.index)
    zones = {}
    zone_of = _zone_of(buildings, model, by)
    if zone_of is not None:
        frame = pd.DataFrame({"zone": zone_of.fillna("(outside)").to_numpy(), "ok": ok})
        zones = frame.groupby("zone", sort=False)["ok"].mean().astype(float).to_dict()
    site = "site_class layer" if model.has_layer("site_class") else "site class II everywhere (no site_class layer)"
    return _Measure(float(ok.mean()), zones, result=weak,
                    definition=f"share of buildings at or above the required intensity: max(GB 18306 zoning "
                               f"intensity, {minimum_intensity}) + {important_uplift} for key uses; Yu et al. 2013 "
                               f"PGA on a {res:g} m grid, {site}")


COMPUTATIONS: dict[str, Callable[..., _Measure]] = {
    "count": _count,
    "attribute_share": _attribute_share,
    "coverage_ratio": _coverage,
    "networking_ratio": _networking,
    "fortification_share": _fortification,
}


# -- comparison ----------------------------------------------------------------------------------------

def _met(value: float, comparator: str, target: float) -> bool | None:
    if value is None or not math.isfinite(value) or target is None or not math.isfinite(target):
        return None
    if comparator == ">=":
        return value >= target - 1e-12
    if comparator == ">":
        return value > target + 1e-12
    return abs(value - target) <= 1e-9 * max(1.0, abs(target))


def _row(cat: Mapping[str, Any], zone: str, value: float | None, target: float | None, *, definition: str,
         reason: str = "") -> dict[str, Any]:
    met = _met(value, cat["comparator"], target) if value is not None else None
    gap = (target - value) if (value is not None and target is not None and math.isfinite(target)) else np.nan
    return {
        "target_id": cat["id"], "year": int(cat["year"]), "zone": zone,
        "value": np.nan if value is None else float(value),
        "target": np.nan if target is None else float(target),
        "comparator": cat["comparator"], "unit": cat["unit"], "met": met, "gap": gap,
        "definition": definition, "reason": reason, "flag": cat.get("flag", ""),
        "computation": cat["computation"], "source": cat["source"], "lines": cat["lines"],
        "zh": cat["zh"], "en": cat["en"], "kind": cat.get("kind", "target"),
    }


def run_targets(model, year: int | Iterable[int] | None = None, *, catalog: pd.DataFrame | str | None = None,
                ids: Iterable[str] | None = None, zones: bool = True, study_area: bool = True) -> TargetRun:
    """Like :func:`evaluate`, also keeping each target's raw result (coverage gaps …) and timing."""
    from cimtwin.model.city import CityModel

    if not isinstance(model, CityModel):
        raise InputTypeError(f"`model` must be a CityModel; got {type(model).__name__}.")
    area = _study_area(model, study_area)
    cat = catalog if isinstance(catalog, pd.DataFrame) else load_catalog(catalog)
    if year is not None:
        years = {int(year)} if isinstance(year, (int, np.integer)) else {int(y) for y in year}
        unknown = years - set(cat["year"])
        if unknown:
            raise ValidationError(f"No target is due in {sorted(unknown)}; the catalogue's years are "
                                  f"{sorted(set(cat['year']))}.")
        cat = cat[cat["year"].isin(years)]
    if ids is not None:
        ids = list(ids)
        missing = [i for i in ids if i not in set(cat["id"])]
        if missing:
            from cimtwin._validate import close_matches

            raise LayerNotFoundError(f"Unknown target ids {missing}.{close_matches(missing[0], cat['id'])}")
        cat = cat[cat["id"].isin(ids)]
    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    from tqdm.auto import tqdm

    from cimtwin.config import config

    for entry in tqdm(cat.to_dict("records"), desc="plan targets", unit="target", disable=not config.progress):
        comp = parse_computation(entry["computation"])
        fn = COMPUTATIONS.get(comp.name)
        t0 = time.perf_counter()
        try:
            if fn is None:
                raise _NotComputable(f"unknown computation {comp.name!r} (known: {sorted(COMPUTATIONS)})")
            kwargs = dict(comp.kwargs)
            if not zones:
                kwargs.pop("by", None)
            if area is not None and fn is _coverage:
                kwargs["study_area"] = area
            measure = fn(model, **kwargs)
        except _NotComputable as exc:
            rows.append(_row(entry, _ALL, None, entry["value"], definition=entry["definition"], reason=str(exc)))
            continue
        except (CimtwinError, ValueError, KeyError, TypeError) as exc:
            rows.append(_row(entry, _ALL, None, entry["value"], definition=entry["definition"],
                             reason=f"cannot compute: {type(exc).__name__}: {exc}"))
            continue
        except ImportError as exc:
            rows.append(_row(entry, _ALL, None, entry["value"], definition=entry["definition"],
                             reason=f"not available: {exc}"))
            continue
        finally:
            seconds[entry["id"]] = time.perf_counter() - t0
        definition = f"{entry['definition']} [{measure.definition}]" if measure.definition else entry["definition"]
        rows.append(_row(entry, _ALL, measure.value, entry["value"], definition=definition))
        for zone, value in measure.zones.items():
            target = entry["value"] if measure.zone_targets_apply else None
            reason = "" if measure.zone_targets_apply else "breakdown only: the target is city-wide"
            rows.append(_row(entry, zone, value, target, definition=definition, reason=reason))
        if measure.result is not None:
            results[entry["id"]] = measure.result
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    table["met"] = table["met"].astype("boolean")
    return TargetRun(table=table, results=results, seconds=seconds)


def evaluate(model, year: int | Iterable[int] | None = None, *, catalog: pd.DataFrame | str | None = None,
             ids: Iterable[str] | None = None, zones: bool = True, study_area: bool = True) -> pd.DataFrame:
    """Where the model stands against each target of the plans.

    Parameters
    ----------
    model : CityModel
    year
        Only the targets due in this year (or these years): 2021, 2022, 2023, 2025. All by default.
    catalog
        A catalogue DataFrame (:func:`~cimtwin.targets.load_catalog`) or the path of your own
        TOML catalogue; Jinan's plans by default.
    ids
        Only these target ids.
    zones
        Add one row per zone where the computation has a breakdown (``by="districts"``).
    study_area
        When the model's metadata has a ``study_area`` (``{"bounds": [xmin, ymin, xmax, ymax],
        "crs": ...}``: where its sensors were surveyed), cut the polygon and line targets of
        area- and length-based coverage ratios to it, and say so in ``definition``. Counts,
        shares of features and ``presence`` coverage are not cut; zones outside the area drop
        out of those coverage rows. False: measure over the whole target layers.

    Returns
    -------
    DataFrame
        One row per target (``zone`` = ``"all"``) plus zone rows, with ``target_id``,
        ``year``, ``zone``, ``value`` and ``target`` in the same unit (``unit``: "fraction"
        for ratios, "count"), ``comparator``, ``met`` (nullable boolean; NA when the value
        is unknown), ``gap`` = target − value (positive: short of the target), ``definition``
        (the catalogue's words and what cimtwin used), ``reason`` (why a value is missing),
        ``flag`` (text/table mismatches and interpretations) and the source columns.

    Examples
    --------
    >>> import cimtwin
    >>> from cimtwin.targets import evaluate
    >>> table = evaluate(cimtwin.load_sample("jinan"), year=2023)      # doctest: +SKIP
    >>> table.loc[table.zone == "all", ["target_id", "value", "target", "met"]]  # doctest: +SKIP
    """
    return run_targets(model, year, catalog=catalog, ids=ids, zones=zones, study_area=study_area).table
