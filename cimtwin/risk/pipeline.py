"""The whole risk zoning of a model: flood + seismic factors → weighted zones → summaries and files.

:func:`risk_zoning` runs :func:`~cimtwin.risk.flood.flood_hazard` and
:func:`~cimtwin.risk.seismic.seismic_hazard`, normalizes their factors, combines them with
weights (:func:`~cimtwin.risk.zoning.weighted_overlay`), classifies 5 zones (5 = highest),
draws zone polygons, sums area, population, buildings and road length by district (and
sub-district), flags flooded roads and, when routing is available, closes them and reports
the access lost. :meth:`RiskResult.write` saves everything a planner maps.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cimtwin._validate import close_matches
from cimtwin.errors import CimtwinError, CimtwinWarning, ValidationError

__all__ = ["DEFAULT_WEIGHTS", "FACTOR_RANGES", "RiskResult", "check_weights", "risk_zoning"]

# Default weights of the composite: a presentation choice for screening, not from a standard.
DEFAULT_WEIGHTS = {"ponding": 0.30, "low_terrain": 0.10, "seismic": 0.30, "population": 0.30}
# Fixed normalization ranges so classes mean the same thing across cities and scenarios.
FACTOR_RANGES = {
    "ponding": (0.0, 0.5, "ponding depth, m; 0.5 m and deeper scores 1 (depth classes of the domain notes)"),
    "low_terrain": (0.0, 10.0, "HAND, m, inverted: on a channel scores 1, 10 m above it or more scores 0"),
    "seismic": (0.04, 0.40, "GB 18306 zoning site PGA, g: below VI (0.04 g) scores 0, 0.40 g (IX) and above "
                            "scores 1"),
}


def check_weights(weights) -> dict[str, float]:
    """The weights as a dict, or a ValidationError for an unknown factor or a bad value.

    Known factors are those of :data:`DEFAULT_WEIGHTS`; a misspelt one is refused with the
    closest names (a known factor whose input the model lacks is dropped later, with a
    warning). Weights must be finite and ≥ 0 with a positive sum.

    Examples
    --------
    >>> check_weights({"ponding": 0.5, "seismic": 0.5})
    {'ponding': 0.5, 'seismic': 0.5}
    >>> check_weights({"ponds": 1.0})   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimtwin.errors.ValidationError: Unknown risk factor 'ponds' in the weights. Did you mean 'ponding'? ...
    """
    import math

    try:
        items = dict(weights).items()
    except (TypeError, ValueError):
        raise ValidationError(f"`weights` must map factor names to numbers; got {weights!r}.") from None
    for name, value in items:
        if name not in DEFAULT_WEIGHTS:
            raise ValidationError(
                f"Unknown risk factor {name!r} in the weights.{close_matches(str(name), DEFAULT_WEIGHTS)} "
                f"Known factors: {', '.join(DEFAULT_WEIGHTS)}."
            )
        try:
            ok = math.isfinite(float(value)) and float(value) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValidationError(f"The weight of {name!r} must be a finite number ≥ 0; got {value!r}.")
    out = {str(k): float(v) for k, v in items}
    if out and sum(out.values()) <= 0:
        raise ValidationError(f"The weights {out} sum to 0; give at least one factor a positive weight.")
    return out


@dataclass
class RiskResult:
    """Everything :func:`risk_zoning` computed; :meth:`write` saves it."""

    score: Any
    classes: Any
    zones: Any
    summaries: dict
    factors: dict
    flood: Any = None
    seismic: Any = None
    flooded_roads: Any = None
    closure_report: Any = None
    buildings_below_fortification: Any = None
    notes: dict = field(default_factory=dict)

    @property
    def summary_by_district(self):
        return self.summaries.get("district")

    def write(self, out_dir) -> list[Path]:
        """Write zones (GeoPackage), summaries (CSV), rasters (GeoTIFF), roads and notes to ``out_dir``.

        Dask-backed rasters (the flood chain on a lazy DEM) are computed and written one chunk
        at a time.
        """
        from cimtwin.io.tables import write_csv
        from cimtwin.io.vector import write_layer

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        if self.zones is not None:
            path = out / "risk_zones.gpkg"
            write_layer(self.zones, path, layer="risk_zones")
            written.append(path)
        for unit, table in self.summaries.items():
            path = out / f"summary_by_{unit}.csv"
            write_csv(table, path)
            written.append(path)
        rasters = {"risk_score": self.score, "risk_class": self.classes}
        if self.flood is not None:
            rasters.update(_flood_rasters(self.flood))
        if self.seismic is not None:
            rasters.update(_seismic_rasters(self.seismic))
        for name, da in rasters.items():
            path = out / f"{name}.tif"
            if not _on_file(da, path):  # risk_zoning(write_to=out) wrote it already
                _write_geotiff(path, da)
            written.append(path)
        if self.flooded_roads is not None:
            path = out / "flooded_roads.gpkg"
            write_layer(self.flooded_roads, path, layer="flooded_roads")
            written.append(path)
        if self.buildings_below_fortification is not None and len(self.buildings_below_fortification):
            path = out / "buildings_below_fortification.gpkg"
            write_layer(self.buildings_below_fortification, path, layer="buildings")
            written.append(path)
        path = out / "risk_report.json"
        path.write_text(json.dumps(_jsonable({"notes": self.notes, "access_lost": self.closure_report}),
                                   ensure_ascii=False, indent=2), encoding="utf-8")
        written.append(path)
        return written


# the seismic grids written (``seismic_<field>.tif``)
_SEISMIC_RASTERS = ("pga_g", "pga_ii_g", "fa", "zoning_intensity", "instrumental_intensity")


def _flood_rasters(flood) -> dict[str, Any]:
    return {f"flood_{k}": v for k, v in flood.rasters().items()}


def _seismic_rasters(seismic) -> dict[str, Any]:
    return {f"seismic_{k}": getattr(seismic, k) for k in _SEISMIC_RASTERS}


def _spill_fields(folder: Path | None, result, prefix: str, fields: tuple[str, ...]):
    """``result`` (a dataclass) with its raster ``fields`` spilled to ``folder/<prefix><field>.tif``."""
    if folder is None:
        return result
    spilled = _spill(folder, {prefix + f: getattr(result, f) for f in fields})
    return replace(result, **{f: spilled[prefix + f] for f in fields})


def _on_file(da, path: Path) -> bool:
    """True when ``da`` is read from the file ``path`` (see :func:`_spill`)."""
    source = getattr(da, "encoding", {}).get("source")
    return source is not None and Path(source).resolve() == path.resolve()


# chunks of a spilled raster when read back: a few dozen windows of a city grid
_SPILL_CHUNKS = (4096, 4096)


def _spill(folder: Path | None, rasters: dict[str, Any]) -> dict[str, Any]:
    """Write each raster to ``folder`` now; return the rasters read lazily from their files.

    The values leave memory (a spilled raster is a dask array reading one window of its
    GeoTIFF per chunk when computed); ``folder`` None keeps them in memory as they are.
    """
    if folder is None:
        return rasters
    from cimtwin.io.container import read_raster

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, da in rasters.items():
        path = folder / f"{name}.tif"
        _write_geotiff(path, da)
        lazy = read_raster(path, chunks=_SPILL_CHUNKS).data
        spilled = da.copy(data=lazy.astype(da.dtype) if lazy.dtype != da.dtype else lazy)
        spilled.encoding["source"] = str(path)
        out[name] = spilled
    return out


def _write_geotiff(path: Path, da) -> None:
    import rasterio

    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(da)
    dtype = np.dtype("uint8") if da.dtype == bool else da.dtype
    nodata = np.nan if np.issubdtype(dtype, np.floating) else None
    lazy = type(getattr(da, "data", None)).__module__.startswith("dask")
    rows, cols = spec.shape
    with rasterio.open(path, "w", driver="GTiff", height=rows, width=cols, count=1,
                       dtype=dtype, crs=spec.crs.to_wkt() if spec.crs else None,
                       transform=spec.transform, nodata=nodata, compress="deflate",
                       # fast deflate on every core: a city's dozen 10^8-cell grids in seconds,
                       # not a minute, for files a few per cent larger
                       zlevel=1, num_threads="all_cpus",
                       **({"tiled": True, "blockxsize": 256, "blockysize": 256} if min(rows, cols) >= 256
                          else {})) as dst:
        if lazy:  # a dask raster: computed and written one chunk at a time
            r0 = 0
            for i, h in enumerate(da.data.chunks[0]):
                c0 = 0
                for j, w in enumerate(da.data.chunks[1]):
                    block = np.asarray(da.data.blocks[i, j].compute()).astype(dtype, copy=False)
                    dst.write(block, 1, window=rasterio.windows.Window(c0, r0, w, h))
                    c0 += w
                r0 += h
        else:
            dst.write(np.asarray(da.values).astype(dtype, copy=False), 1)
        dst.update_tags(units=str(da.attrs.get("units", "")), source=str(da.attrs.get("source", "")))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        try:
            return _jsonable(obj.to_dict(orient="records"))
        except TypeError:
            return _jsonable(obj.to_dict())
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "__dict__"):
        return _jsonable({k: v for k, v in vars(obj).items() if not k.startswith("_")})
    return str(obj)


def risk_zoning(model, *, weights: dict[str, float] | None = None, method: str = "natural_breaks",
                bins=None, storm=None, rain_source: str = "auto", stream_threshold_cells: int = 1000,
                close_roads: bool = True, zone_polygons: bool = True, write_to=None) -> RiskResult:
    """Composite risk zones of ``model`` (5 classes, 5 = highest) with summaries and closures.

    ``zone_polygons=False`` keeps the zones as the class raster only (``zones`` is None and
    no ``risk_zones.gpkg`` is written): the summaries are computed on the raster either
    way, while one polygon per connected region of a class is millions of polygons, and
    gigabytes, on a 10^8-cell city (``cimtwin evaluate`` leaves them out).

    ``write_to`` (a folder) writes each raster there as soon as it is final, under the
    names of :meth:`RiskResult.write`, and the result reads it back from its file when
    asked (a dask-backed DataArray, one window per chunk): the stage then holds a few grids
    at a time instead of some twenty, which is what bounds a whole city's run (``cimtwin
    evaluate``). ``result.write`` into the same folder adds the tables and vectors and does
    not write those rasters again.

    Factors (each normalized to [0, 1], see :data:`FACTOR_RANGES`): ``ponding`` (flood
    ponding depth), ``low_terrain`` (inverted HAND), ``seismic`` (GB 18306 zoning PGA after
    site amplification, :func:`~cimtwin.risk.seismic.seismic_hazard`; never a fault
    scenario) and ``population`` (residents per cell, min–max). An unknown factor name in
    ``weights`` is an error before anything is computed (:func:`check_weights`); factors
    whose inputs are missing (no ``seismic_zoning`` layer, no population raster) are dropped
    with a warning and the remaining weights renormalized.

    Examples
    --------
    >>> result = risk_zoning(cimtwin.load_sample("jinan"))     # doctest: +SKIP
    >>> result.write("out/")                                     # doctest: +SKIP
    """
    from cimtwin.risk.flood import flood_hazard, flooded_roads
    from cimtwin.risk.seismic import buildings_below_fortification, seismic_hazard
    from cimtwin.risk.zoning import classify_zones, normalize_factor, summarize_zones, weighted_overlay

    notes: dict[str, Any] = {}
    weights = check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    folder = None if write_to is None else Path(write_to)
    flood = flood_hazard(model, storm=storm, rain_source=rain_source, stream_threshold_cells=stream_threshold_cells)
    notes["flood"] = {"volumes_m3": flood.volumes_m3, **flood.notes}
    factors: dict[str, Any] = {}
    lo, hi, _ = FACTOR_RANGES["ponding"]
    factors["ponding"] = normalize_factor(flood.ponding_m, lower=lo, upper=hi)
    lo, hi, _ = FACTOR_RANGES["low_terrain"]
    # no channel downstream within the grid: treat as high ground
    factors["low_terrain"] = normalize_factor(flood.hand_m.fillna(hi), lower=lo, upper=hi, invert=True)
    roads = closure = None
    if model.has_layer("roads") and len(model.layer("roads")):
        roads = flooded_roads(model.layer("roads"), flood.ponding_m)
        notes["flooded_roads"] = int(roads["flooded"].sum())
        if close_roads and roads["flooded"].any():
            closure = _close_flooded(model, flood.ponding_m, notes)
    # the flood rasters are final: to their files (with write_to) before the seismic grids are made
    flood = _spill_fields(folder, flood, "flood_", tuple(flood.rasters()))
    seismic = weak = None
    if model.has_layer("seismic_zoning") and len(model.layer("seismic_zoning")):
        seismic = seismic_hazard(model)
        lo, hi, _ = FACTOR_RANGES["seismic"]
        factors["seismic"] = normalize_factor(seismic.pga_g, lower=lo, upper=hi)
        notes["seismic"] = seismic.notes
        if model.has_layer("buildings") and len(model.layer("buildings")):
            weak = buildings_below_fortification(model.layer("buildings"), seismic.zoning_intensity)
            notes["buildings_below_fortification"] = len(weak)
        seismic = _spill_fields(folder, seismic, "seismic_", _SEISMIC_RASTERS)
    if model.has_raster("population"):
        factors["population"] = normalize_factor(model.raster("population").fillna(0.0))
    dropped = [n for n in weights if n not in factors]
    if dropped:
        warnings.warn(f"Factors {dropped} have no input in this model and are left out of the zoning.",
                      CimtwinWarning, stacklevel=2)
        weights = {n: w for n, w in weights.items() if n in factors}
    factors = {n: factors[n] for n in weights}
    # holes in the DEM stay NaN in the score and class 0 in the zones
    with warnings.catch_warnings():
        if dropped:
            warnings.simplefilter("ignore", CimtwinWarning)
        score = weighted_overlay(factors, weights)
    notes["weights"] = score.attrs["weights"]
    notes["factor_ranges"] = {k: v for k, v in FACTOR_RANGES.items() if k in factors}
    classes = classify_zones(score, method=method, bins=bins)
    notes["class_bins"] = classes.attrs["bins"]
    zones = _zone_polygons(model, classes, flood, seismic, score) if zone_polygons else None
    summaries = {}
    kw = dict(population=model.raster("population") if model.has_raster("population") else None,
              buildings=model.layer("buildings") if model.has_layer("buildings") else None,
              roads=model.layer("roads") if model.has_layer("roads") else None, classes=classes)
    for layer, unit in (("districts", "district"), ("subdistricts", "subdistrict")):
        if model.has_layer(layer) and len(model.layer(layer)):
            summaries[unit] = summarize_zones(zones, units=model.layer(layer), unit_name=unit, **kw)
    spilled = _spill(folder, {"risk_score": score, "risk_class": classes})
    score, classes = spilled["risk_score"], spilled["risk_class"]
    return RiskResult(score=score, classes=classes, zones=zones, summaries=summaries, factors=factors,
                      flood=flood, seismic=seismic, flooded_roads=roads, closure_report=closure,
                      buildings_below_fortification=weak, notes=notes)


def _zone_polygons(model, classes, flood, seismic, score):
    """One polygon per connected region of a class, with the mean of each raw factor."""
    from cimtwin.risk.zoning import zone_polygons

    raw = {"ponding_m": flood.ponding_m, "hand_m": flood.hand_m, "risk_score": score}
    if seismic is not None:
        raw.update({"pga_g": seismic.pga_g, "zoning_intensity": seismic.zoning_intensity.astype("float32")})
    if model.has_raster("population"):
        raw["population"] = model.raster("population")
    return zone_polygons(classes, factors=raw)


def _close_flooded(model, ponding_m, notes):
    from cimtwin.risk.flood import road_closures

    try:
        _, report = road_closures(model, ponding_m)
    except ImportError as exc:  # routing not installed in this build
        notes["closures"] = f"routing unavailable: {exc}"
        return None
    except CimtwinError as exc:
        notes["closures"] = f"closures not computed: {exc}"
        warnings.warn(f"Flooded-road closures were not computed: {exc}", CimtwinWarning, stacklevel=3)
        return None
    return report
