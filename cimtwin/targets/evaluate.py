"""Evaluate the catalogue's targets on a city model: value, target, met, gap, per zone.

Every catalogue row names a computation (``count``, ``attribute_share``, ``coverage_ratio``,
``networking_ratio``, ``fortification_share``) with literal keyword arguments. A target that
cannot be computed on the model — a layer or column it lacks, or one that holds only nulls —
stays in the table with an empty value, ``met`` NA and the reason. Missing values never count
as compliance: shares and counts are taken over the rows whose inputs are known, and the share
of unknown rows is reported beside the figure (``unknown_share``).

``coverage_ratio`` targets go through :func:`cimtwin.coverage.coverage_ratio` with the
catalogue's keywords and ``clip_to`` — the one code path that ``cimtwin coverage``,
``cimtwin demo`` and ``cimtwin report`` share.
"""

from __future__ import annotations

import ast
import math
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cimtwin.errors import CimtwinError, InputTypeError, LayerNotFoundError, ValidationError
from cimtwin.targets.catalog import load_catalog, parse_computation

__all__ = ["evaluate", "run_targets", "TargetRun", "RESULT_COLUMNS", "COMPUTATIONS", "DEFAULT_CLIP"]

RESULT_COLUMNS = [
    "target_id", "year", "zone", "zone_id", "parent", "value", "target", "comparator", "unit", "met", "gap",
    "unknown_share", "definition", "parameters", "data", "reason", "flag", "computation", "source", "lines",
    "zh", "en", "kind",
]
_ALL = "all"
DEFAULT_CLIP = "study_area"  # the same default as cimtwin.coverage.coverage_ratio


class _NotComputable(Exception):
    """A target this model cannot measure: the reason goes into the table."""


@dataclass
class _Measure:
    value: float
    # (zone name, zone_id, parent, value) per zone
    zones: list[tuple[str, str, str, float]] = field(default_factory=list)
    zone_targets_apply: bool = True  # False for counts: a city-wide count target says nothing per zone
    definition: str | None = None
    parameters: str = ""
    data: str = ""
    unknown_share: float = 0.0
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


def _names(expr: str | None) -> list[str]:
    """The names an expression reads (its columns), in order of appearance."""
    if not expr:
        return []
    seen: list[str] = []
    for node in ast.walk(ast.parse(expr, mode="eval")):
        if isinstance(node, ast.Name) and node.id not in seen and node.id not in ("True", "False", "None"):
            seen.append(node.id)
    return seen


def _known(gdf, layer: str, *exprs: str | None, extra: Iterable[str] = ()) -> np.ndarray:
    """Rows whose every column read by ``exprs`` is known; absent or all-null columns are n/a."""
    cols = [c for e in exprs for c in _names(e)] + list(extra)
    known = np.ones(len(gdf), dtype=bool)
    for col in dict.fromkeys(cols):
        if col not in gdf.columns:
            from cimtwin._validate import close_matches

            raise _NotComputable(f"layer {layer!r} has no column {col!r}"
                                 f"{close_matches(col, [str(c) for c in gdf.columns])}")
        null = gdf[col].isna().to_numpy()
        if len(gdf) and null.all():
            raise _NotComputable(f"layer {layer!r}: column {col!r} holds only nulls (unknown, not compliant)")
        known &= ~null
    return known


def _eval(gdf, expr: str, layer: str) -> np.ndarray:
    try:
        out = gdf.drop(columns=gdf.geometry.name).eval(expr, engine="python")
    except (NameError, KeyError, pd.errors.UndefinedVariableError) as exc:
        raise _NotComputable(f"layer {layer!r} lacks a column used in {expr!r} ({_missing_name(exc)})") from exc
    return np.asarray(pd.Series(out).fillna(False), dtype=bool) if not np.isscalar(out) else np.full(len(gdf),
                                                                                                     bool(out))


def _missing_name(exc: Exception) -> str:
    text = str(exc)
    return text.split("'")[1] if text.count("'") >= 2 else text


def _zone_pairs(model, layer: str, gdf, by: str | None):
    """(feature position, zone name, zone_id, parent) of each feature of ``layer`` (``gdf``), or None without zones.

    Shared through the model's cache: a dozen targets count the same buildings by district.
    """
    if not by or not model.has_layer(by) or len(gdf) == 0:
        return None
    from cimtwin.coverage.accounting import feature_zones

    return model.derived(("feature zones", layer, by), lambda: feature_zones(model, by, gdf))


def _per_zone(pairs, values: np.ndarray, agg: str) -> list[tuple[str, str, str, float]]:
    if pairs is None:
        return []
    pos, names, ids, parents = pairs
    frame = pd.DataFrame({"zid": ids, "zone": names, "parent": parents, "v": values[pos]})
    grouped = frame.groupby("zid", sort=False).agg(zone=("zone", "first"), parent=("parent", "first"),
                                                   v=("v", agg))
    return [(str(r.zone), str(zid), str(r.parent), float(r.v)) for zid, r in grouped.iterrows()]


def _unknown_words(known: np.ndarray, what: str) -> tuple[float, str]:
    n = len(known)
    unknown = int((~known).sum())
    share = unknown / n if n else 0.0
    return share, (f"; {unknown} of {n} {what} unknown ({100 * share:.1f} %), left out" if unknown else "")


def _count(model, *, layer: str, where: str | None = None, distinct: str | None = None, by: str | None = None):
    gdf = _layer(model, layer)
    known = _known(gdf, layer, where, extra=[distinct] if distinct else [])
    ok = known & (_eval(gdf, where, layer) if where else True)
    share, words = _unknown_words(known, f"{layer} rows")
    sel = gdf[ok]

    def n(frame) -> float:
        return float(frame[distinct].nunique()) if distinct else float(len(frame))

    zones = []
    pairs = _zone_pairs(model, layer, gdf, by)
    if pairs is not None:
        pos, names, ids, parents = pairs
        keep = ok[pos]
        sub = gdf.iloc[pos[keep]]
        frame = pd.DataFrame({"zid": ids[keep], "zone": names[keep], "parent": parents[keep]})
        if distinct:
            frame["d"] = sub[distinct].to_numpy()
        for zid, part in frame.groupby("zid", sort=False):
            v = float(part["d"].nunique()) if distinct else float(len(part))
            zones.append((str(part["zone"].iloc[0]), str(zid), str(part["parent"].iloc[0]), v))
    what = f"{layer}" + (f" where {where}" if where else "") + (f", distinct {distinct}" if distinct else "")
    return _Measure(n(sel), zones, zone_targets_apply=False, definition=f"count of {what}" + words,
                    parameters=_params(where=where, distinct=distinct, by=by),
                    data=f"{layer}: {len(gdf)} features", unknown_share=share)


def _params(**kw) -> str:
    return "; ".join(f"{k}={v}" for k, v in kw.items() if v is not None)


def _attribute_share(model, *, layer: str, condition: str, where: str | None = None, by: str | None = None):
    gdf = _layer(model, layer)
    known = _known(gdf, layer, where, condition)
    inside = _eval(gdf, where, layer) if where else np.ones(len(gdf), dtype=bool)
    # a row whose `where` is unknown may or may not belong: unknown too
    scope = inside | ~known
    if not (inside & known).any():
        if not inside.any():
            raise _NotComputable(f"layer {layer!r} has no features" + (f" where {where}" if where else ""))
        raise _NotComputable(f"layer {layer!r}: no feature" + (f" where {where}" if where else "")
                             + f" has a known value for {condition!r}")
    ok = _eval(gdf, condition, layer) & known
    share, words = _unknown_words(known[scope], f"{layer} rows")
    use = inside & known
    pairs = _zone_pairs(model, layer, gdf, by)
    zones = []
    if pairs is not None:
        pos, names, ids, parents = pairs
        keep = use[pos]
        zones = _per_zone((pos[keep], names[keep], ids[keep], parents[keep]), ok.astype(float), "mean")
    return _Measure(float(ok[use].mean()), zones,
                    definition=f"share of {layer}" + (f" where {where}" if where else "") + f" with {condition}"
                    + words, parameters=_params(condition=condition, where=where, by=by),
                    data=f"{layer}: {len(gdf)} features, {int(use.sum())} with known values", unknown_share=share)


def _coverage(model, *, sensors: str, targets: str, by: str | None = None, clip_to=DEFAULT_CLIP, **params):
    from cimtwin.coverage import coverage_ratio

    for name in (sensors, targets):
        _layer(model, name)
    if by and not model.has_layer(by):
        by = None
    result = coverage_ratio(model, sensors=sensors, targets=targets, by=by, clip_to=clip_to, **params)
    table = result.table
    overall = table.loc[table["zone"] == _ALL, "ratio"]
    if overall.empty:
        raise _NotComputable(f"no {targets} to measure")
    zones = [(str(r.zone), str(r.zone_id), str(r.parent), float(r.ratio)) for r in table.itertuples()
             if r.zone_id != _ALL]
    return _Measure(float(overall.iloc[0]), zones, definition=str(table["definition"].iloc[0]),
                    parameters=result.parameters(), data=result.data, result=result)


def _networking(model, *, sensors: str = "cameras", targets: str = "key_areas", category="重点公共区域",
                by: str | None = None):
    from cimtwin.coverage import networking_rate

    cams = _layer(model, sensors)
    _layer(model, targets)
    _known(cams, sensors, "connected")
    if by and not model.has_layer(by):
        by = None
    table = networking_rate(model, cameras=sensors, key_areas=targets, category=category, by=by)
    overall = table.loc[table["zone_id"] == _ALL]
    if overall.empty or not overall["total"].iloc[0] > 0:
        raise _NotComputable(f"no {sensors} with a known `connected` inside {targets} of category {category}")
    row = overall.iloc[0]
    n = row["total"] + row["unknown"]
    share = float(row["unknown"] / n) if n else 0.0
    words = (f"; {int(row['unknown'])} of {int(n)} cameras with unknown `connected`, left out" if row["unknown"]
             else "")
    zones = [(str(r.zone), str(r.zone_id), str(r.parent), float(r.ratio)) for r in table.itertuples()
             if r.zone_id != _ALL and r.total > 0]
    return _Measure(float(row["ratio"]), zones, definition=str(table["definition"].iloc[0]) + words,
                    parameters=_params(category=category, by=by),
                    data=f"{sensors}: {len(cams)} features; {targets}: {len(model.layer(targets))} features",
                    unknown_share=share, result=table)


def _fortification(model, *, by: str | None = None, minimum_intensity: int = 7, important_uplift: int = 1,
                   res_m: float = 100.0):
    from cimtwin.grid.spec import GridSpec
    from cimtwin.risk.seismic import buildings_below_fortification, seismic_hazard

    buildings = _layer(model, "buildings")
    if not model.has_layer("seismic_zoning"):
        raise _NotComputable("no seismic_zoning layer (GB 18306 zoning PGA); the fault scenario never stands in")
    if model.grid is None:
        raise _NotComputable("no raster grid (dem) to sample the zoning on")
    known = _known(buildings, "buildings", "fortification_intensity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing site_class layer is said in the definition
        # Zoning intensity varies over kilometres: a grid of res_m (never finer than the model's) suffices.
        grid = model.grid
        res = max(float(res_m), float(abs(grid.transform.a)))
        spec = GridSpec.from_bounds(grid.bounds, res_m=res, crs=model.crs)
        # one hazard grid for every fortification target at this resolution
        hazard = model.derived(("seismic hazard", spec), lambda: seismic_hazard(model, spec=spec))
    sel = buildings[known]
    weak = buildings_below_fortification(sel, hazard.zoning_intensity, minimum_intensity=minimum_intensity,
                                         important_uplift=important_uplift)
    # buildings without a zoning value (outside every zone or the grid) are not judged either way
    judged = known & ~buildings.index.isin(weak.attrs.get("unknown", []))
    ok = ~buildings.index.isin(weak.index)
    share, words = _unknown_words(judged, "buildings' fortification_intensity or zoning value")
    if not judged.any():
        raise _NotComputable("no building has both a fortification_intensity and a zoning value")
    pairs = _zone_pairs(model, "buildings", buildings, by)
    zones = []
    if pairs is not None:
        pos, names, ids, parents = pairs
        keep = judged[pos]
        zones = _per_zone((pos[keep], names[keep], ids[keep], parents[keep]), ok.astype(float), "mean")
    site = "site_class layer" if model.has_layer("site_class") else "site class II everywhere (no site_class layer)"
    return _Measure(float(ok[judged].mean()), zones, result=weak, unknown_share=share,
                    parameters=_params(minimum_intensity=minimum_intensity, important_uplift=important_uplift,
                                       res_m=res, by=by),
                    data=f"buildings: {len(buildings)} features; seismic_zoning: "
                         f"{len(model.layer('seismic_zoning'))} features",
                    definition=f"share of buildings at or above the required intensity: max(GB 18306 zoning "
                               f"intensity, {minimum_intensity}) + {important_uplift} for key uses; zoning PGA "
                               f"(seismic_zoning layer) with site adjustment on a {res:g} m grid, {site}" + words)


COMPUTATIONS: dict[str, Callable[..., _Measure]] = {
    "count": _count,
    "attribute_share": _attribute_share,
    "coverage_ratio": _coverage,
    "networking_ratio": _networking,
    "fortification_share": _fortification,
}


# -- comparison ----------------------------------------------------------------------------------------

def _met(value: float | None, comparator: str, target: float | None) -> bool | None:
    if value is None or not math.isfinite(value) or target is None or not math.isfinite(target):
        return None
    if comparator == ">=":
        return value >= target - 1e-12
    if comparator == ">":
        return value > target + 1e-12
    return abs(value - target) <= 1e-9 * max(1.0, abs(target))


def _row(cat, zone: tuple[str, str, str], value: float | None, target: float | None, *, definition: str,
         reason: str = "", measure: _Measure | None = None) -> dict[str, Any]:
    met = _met(value, cat["comparator"], target) if value is not None else None
    gap = (target - value) if (value is not None and target is not None and math.isfinite(target)) else np.nan
    return {
        "target_id": cat["id"], "year": int(cat["year"]), "zone": zone[0], "zone_id": zone[1], "parent": zone[2],
        "value": np.nan if value is None else float(value),
        "target": np.nan if target is None else float(target),
        "comparator": cat["comparator"], "unit": cat["unit"], "met": met, "gap": gap,
        "unknown_share": np.nan if measure is None else measure.unknown_share,
        "definition": definition, "parameters": "" if measure is None else measure.parameters,
        "data": "" if measure is None else measure.data, "reason": reason, "flag": cat.get("flag", ""),
        "computation": cat["computation"], "source": cat["source"], "lines": cat["lines"],
        "zh": cat["zh"], "en": cat["en"], "kind": cat.get("kind", "target"),
    }


def _clip_argument(clip_to, study_area):
    """``clip_to``, with the deprecated ``study_area=True/False`` mapped onto it."""
    if study_area is None:
        return clip_to
    if not isinstance(study_area, (bool, np.bool_)):
        raise InputTypeError(f"`study_area` must be True or False; got {type(study_area).__name__}. "
                             "Use `clip_to=` instead.")
    warnings.warn("`study_area=` is deprecated; use `clip_to='study_area'` (the default) or `clip_to=None`.",
                  DeprecationWarning, stacklevel=3)
    return "study_area" if study_area else None


_WHOLE = (_ALL, _ALL, "")


def run_targets(model, year: int | Iterable[int] | None = None, *, catalog: pd.DataFrame | str | None = None,
                ids: Iterable[str] | None = None, zones: bool = True, clip_to=DEFAULT_CLIP, by: str | None = None,
                study_area: bool | None = None, geometries: bool = True) -> TargetRun:
    """Like :func:`evaluate`, also keeping each target's raw result (coverage gaps …) and timing.

    ``geometries=False`` keeps the coverage results without their covered and gap
    geometries (the figures are the same; a city-scale run skips polygonizing its masks).

    Examples
    --------
    >>> run = run_targets(model, ids=["rain_gauge_coverage_radius"])   # doctest: +SKIP
    >>> run.results["rain_gauge_coverage_radius"].gaps                 # doctest: +SKIP
    """
    from cimtwin.coverage.accounting import resolve_clip
    from cimtwin.model.city import CityModel

    if not isinstance(model, CityModel):
        raise InputTypeError(f"`model` must be a CityModel; got {type(model).__name__}.")
    clip_to = _clip_argument(clip_to, study_area)
    resolve_clip(model, clip_to)  # a bad clip or study area fails here, not once per target
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
            elif by is not None:
                kwargs["by"] = by
            if fn is _coverage:
                kwargs["clip_to"] = clip_to
                kwargs["geometries"] = geometries
            measure = fn(model, **kwargs)
        except _NotComputable as exc:
            rows.append(_row(entry, _WHOLE, None, entry["value"], definition=entry["definition"], reason=str(exc)))
            continue
        except (CimtwinError, ValueError, KeyError, TypeError) as exc:
            rows.append(_row(entry, _WHOLE, None, entry["value"], definition=entry["definition"],
                             reason=f"cannot compute: {type(exc).__name__}: {exc}"))
            continue
        except ImportError as exc:
            rows.append(_row(entry, _WHOLE, None, entry["value"], definition=entry["definition"],
                             reason=f"not available: {exc}"))
            continue
        finally:
            seconds[entry["id"]] = time.perf_counter() - t0
        definition = f"{entry['definition']} [{measure.definition}]" if measure.definition else entry["definition"]
        rows.append(_row(entry, _WHOLE, measure.value, entry["value"], definition=definition, measure=measure))
        for zone in measure.zones:
            target = entry["value"] if measure.zone_targets_apply else None
            reason = "" if measure.zone_targets_apply else "breakdown only: the target is city-wide"
            rows.append(_row(entry, zone[:3], zone[3], target, definition=definition, reason=reason,
                             measure=measure))
        if measure.result is not None:
            results[entry["id"]] = measure.result
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    table["met"] = table["met"].astype("boolean")
    return TargetRun(table=table, results=results, seconds=seconds)


def evaluate(model, year: int | Iterable[int] | None = None, *, catalog: pd.DataFrame | str | None = None,
             ids: Iterable[str] | None = None, zones: bool = True, clip_to=DEFAULT_CLIP, by: str | None = None,
             study_area: bool | None = None) -> pd.DataFrame:
    """Where the model stands against each target of the plans.

    Parameters
    ----------
    model : CityModel
    year
        Only the targets due in this year (or these years): 2020 (baseline facts), 2021, 2022,
        2023, 2025. All by default.
    catalog
        A catalogue DataFrame (:func:`~cimtwin.targets.load_catalog`) or the path of your own
        TOML catalogue; Jinan's plans by default.
    ids
        Only these target ids.
    zones
        Add one row per zone where the computation has a breakdown (``by="districts"``).
    clip_to : None, "study_area" or a polygon
        Passed to :func:`~cimtwin.coverage.coverage_ratio` for every coverage target, with the
        same default (``"study_area"``: the model's ``metadata["study_area"]`` when it has one).
        Counts and attribute shares are not clipped.
    by
        A zone layer for every target's breakdown, instead of the catalogue's (``"districts"`` or none).
    study_area
        Deprecated alias: True is ``clip_to="study_area"``, False is ``clip_to=None``.

    Returns
    -------
    DataFrame
        One row per target (``zone`` = ``zone_id`` = ``"all"``) plus zone rows (``zone_id``,
        ``parent``), with ``target_id``, ``year``, ``value`` and ``target`` in the same unit
        (``unit``: "fraction" for ratios, "count"), ``comparator``, ``met`` (nullable boolean;
        NA when the value is unknown), ``gap`` = target − value (positive: short of the
        target), ``unknown_share`` (share of rows whose inputs are null, left out),
        ``definition`` (the catalogue's words and what cimtwin used, with the clip),
        ``parameters``, ``data`` (layers and feature counts), ``reason`` (why a value is
        missing), ``flag`` (text/table mismatches and interpretations) and the source columns.

    Examples
    --------
    >>> import cimtwin
    >>> from cimtwin.targets import evaluate
    >>> table = evaluate(cimtwin.load_sample("jinan"), year=2023)      # doctest: +SKIP
    >>> table.loc[table.zone == "all", ["target_id", "value", "target", "met"]]  # doctest: +SKIP
    """
    clip_to = _clip_argument(clip_to, study_area)
    return run_targets(model, year, catalog=catalog, ids=ids, zones=zones, clip_to=clip_to, by=by).table
