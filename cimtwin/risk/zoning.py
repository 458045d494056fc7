"""Composite risk zoning: normalized factors, weights (AHP helper), 5 classes, polygons, summaries.

Weights that do not sum to 1 are **normalized** (divided by their sum) with a
:class:`~cimtwin.errors.CimtwinWarning`; the weights used are in the result's
``attrs["weights"]``. Negative, non-finite or all-zero weights are an error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cimtwin._validate import close_matches, one_of, requires_metres
from cimtwin.errors import CimtwinWarning, GridAlignmentError, ValidationError
from cimtwin.kernels.classify import fisher_jenks_breaks

__all__ = [
    "normalize_factor",
    "ahp_weights",
    "RANDOM_INDEX_SAATY",
    "weighted_overlay",
    "classify_zones",
    "zone_polygons",
    "summarize_zones",
]

# Saaty's random consistency index RI by matrix order n (1..10).
RANDOM_INDEX_SAATY = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
# cells per block of the grid-wide arithmetic below: float64 where it matters, without
# float64 copies of a whole city grid (800 MB each at 10^8 cells)
_BLOCK = 1 << 22


def normalize_factor(da, *, invert: bool = False, lower: float | None = None, upper: float | None = None):
    """Min–max scale a factor raster to [0, 1] (1 = most hazardous).

    ``lower``/``upper`` fix the range (values outside are clipped), e.g. intensity VI–IX;
    otherwise the factor's own finite min and max are used. ``invert`` flips it (for
    factors where larger is safer, such as HAND). A constant factor becomes 0. NaN stays NaN.
    """
    v = np.asarray(getattr(da, "values", da))
    if v.dtype.kind not in "fiu":
        v = v.astype("float64")
    finite = np.isfinite(v)
    if not finite.any():
        raise ValidationError(f"Factor {getattr(da, 'name', '')!r} has no finite value to normalize.")
    lo = float(np.min(v, where=finite, initial=np.inf)) if lower is None else float(lower)
    hi = float(np.max(v, where=finite, initial=-np.inf)) if upper is None else float(upper)
    if hi < lo:
        raise ValidationError(f"`upper` ({hi}) must be ≥ `lower` ({lo}).")
    span = hi - lo
    out = np.empty(v.shape, dtype="float32")
    flat_v, flat_out, flat_ok = v.reshape(-1), out.reshape(-1), finite.reshape(-1)
    for i in range(0, flat_v.size, _BLOCK):
        b = flat_v[i:i + _BLOCK].astype("float64")
        b = np.zeros_like(b) if span == 0 else np.clip((b - lo) / span, 0.0, 1.0)
        if invert:
            b = 1.0 - b
        flat_out[i:i + _BLOCK] = np.where(flat_ok[i:i + _BLOCK], b, np.nan)
    if hasattr(da, "dims"):
        res = da.copy(data=out)
        res.attrs.update({"units": "1", "normalized_from": [lo, hi], "inverted": bool(invert)})
        return res
    return out


def ahp_weights(matrix) -> tuple[np.ndarray, float]:
    """Weights and consistency ratio (CR) of an AHP pairwise-comparison matrix.

    Weights are the normalized principal eigenvector; ``CR = CI / RI`` with
    ``CI = (λmax − n)/(n − 1)`` and Saaty's RI. CR < 0.1 is the usual acceptance rule
    (for n ≤ 2 the CR is 0).

    Examples
    --------
    >>> w, cr = ahp_weights([[1, 3], [1/3, 1]])
    >>> [round(float(x), 2) for x in w], cr
    ([0.75, 0.25], 0.0)
    """
    a = np.asarray(matrix, dtype="float64")
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValidationError(f"The AHP matrix must be square; got shape {a.shape}.")
    n = a.shape[0]
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValidationError("AHP judgements must be finite and > 0.")
    if not np.allclose(a * a.T, 1.0, rtol=1e-3):
        raise ValidationError("The AHP matrix must be reciprocal: a[j, i] = 1 / a[i, j].")
    if n > len(RANDOM_INDEX_SAATY):
        raise ValidationError(f"AHP supports up to {len(RANDOM_INDEX_SAATY)} criteria; got {n}.")
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    lam = float(vals[k].real)
    ri = RANDOM_INDEX_SAATY[n - 1]
    cr = 0.0 if n <= 2 or ri == 0 else max(0.0, (lam - n) / (n - 1)) / ri
    return w, float(cr)


def weighted_overlay(factors: Mapping[str, Any], weights: Mapping[str, float] | Sequence[float]):
    """Weighted linear combination of normalized factor rasters.

    Parameters
    ----------
    factors
        ``{name: DataArray}`` on one grid, each in [0, 1] (see :func:`normalize_factor`).
    weights
        ``{name: weight}`` (or a sequence in the order of ``factors``). Weights that do not
        sum to 1 are divided by their sum, with a warning.

    Returns
    -------
    xarray.DataArray
        The score in [0, 1]; NaN where any factor is NaN. ``attrs["weights"]`` holds
        the weights used and ``attrs["weights_normalized"]`` whether they were rescaled.
    """
    if not factors:
        raise ValidationError("`factors` is empty; give at least one factor raster.")
    names = list(factors)
    if not isinstance(weights, Mapping):
        weights = list(weights)
        if len(weights) != len(names):
            raise ValidationError(f"{len(weights)} weights for {len(names)} factors {names}.")
        weights = dict(zip(names, weights))
    missing = [n for n in names if n not in weights]
    extra = [n for n in weights if n not in factors]
    if missing or extra:
        hint = close_matches(extra[0], names) if extra else ""
        raise ValidationError(f"Weights and factors differ: no weight for {missing}, no factor for {extra}.{hint}")
    w = np.array([float(weights[n]) for n in names])
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValidationError(f"Weights must be finite, ≥ 0 and not all 0; got {dict(zip(names, w))}.")
    normalized = not math.isclose(w.sum(), 1.0, rel_tol=0, abs_tol=1e-6)
    if normalized:
        warnings.warn(f"Weights sum to {w.sum():.6g}, not 1; they were divided by their sum.",
                      CimtwinWarning, stacklevel=2)
        w = w / w.sum()
    first = factors[names[0]]
    shape = np.shape(getattr(first, "values", first))
    arrays = []
    for name in names:
        v = np.asarray(getattr(factors[name], "values", factors[name]))
        if v.shape != shape:
            raise GridAlignmentError(f"Factor {name!r} has shape {v.shape}, the first factor {shape}.")
        lo, hi = np.nanmin(v, initial=np.inf), np.nanmax(v, initial=-np.inf)
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValidationError(f"Factor {name!r} is not normalized to [0, 1] (range {lo}..{hi}); "
                                  "use `normalize_factor` first.")
        arrays.append(v.reshape(-1))
    score = np.empty(shape, dtype="float32")
    flat = score.reshape(-1)
    # summed in float64 a block at a time: a city grid's score without float64 copies of it
    for i in range(0, flat.size, _BLOCK):
        acc = np.zeros(min(_BLOCK, flat.size - i))
        for v, wi in zip(arrays, w):
            acc += wi * v[i:i + _BLOCK].astype("float64")
        flat[i:i + _BLOCK] = acc
    attrs = {"units": "1", "weights": {n: float(x) for n, x in zip(names, w)}, "weights_normalized": normalized}
    if hasattr(first, "dims"):
        out = first.copy(data=score)
        out.name = "risk_score"
        out.attrs = {**{k: v for k, v in first.attrs.items() if k in ("crs", "res_m")}, **attrs}
        return out
    return score


def classify_zones(score, *, method: str = "natural_breaks", k: int = 5, bins: Sequence[float] | None = None,
                   sample_size: int = 20000, seed: int = 0):
    """Classes 1..k (k = highest) of a score raster; 0 where the score is NaN.

    Parameters
    ----------
    method
        ``"natural_breaks"`` (exact Fisher–Jenks, :func:`cimtwin.kernels.classify.fisher_jenks_breaks`,
        on a fixed-seed sample of at most ``sample_size`` cells), ``"quantiles"`` (linear
        percentiles of that sample, repeats merged) or ``"fixed"`` (``bins``: k − 1
        increasing upper bounds of classes 1..k−1).

    Returns
    -------
    DataArray or ndarray
        uint8 classes; ``attrs["bins"]`` holds the upper bounds used.
    """
    one_of(method, ("natural_breaks", "quantiles", "fixed"), arg="method")
    if not (2 <= int(k) <= 20):
        raise ValidationError(f"`k` must be in [2, 20]; got {k!r}.")
    v = np.asarray(getattr(score, "values", score))
    flat = v.reshape(-1)
    n_finite = sum(int(np.isfinite(flat[i:i + _BLOCK]).sum()) for i in range(0, flat.size, _BLOCK))
    if n_finite == 0:
        raise ValidationError("The score has no finite value to classify.")
    if method == "fixed":
        if bins is None or len(bins) != k - 1 or np.any(np.diff(bins) <= 0):
            raise ValidationError(f"`method='fixed'` needs `bins`: {k - 1} increasing upper bounds; got {bins!r}.")
        upper = np.asarray(bins, dtype="float64")
    else:
        pick = (np.random.default_rng(seed).choice(n_finite, sample_size, replace=False)
                if n_finite > sample_size else np.arange(n_finite))
        finite = _finite_values_at(flat, pick)
        n_unique = np.unique(finite).size
        if n_unique < k:
            warnings.warn(f"The score has only {n_unique} distinct values; fewer than {k} classes are used.",
                          CimtwinWarning, stacklevel=2)
        if n_unique < 2:
            upper = np.full(k - 1, np.inf)
        else:
            kk = min(int(k), n_unique)
            if method == "quantiles":
                upper = np.unique(np.percentile(finite, np.linspace(0.0, 100.0, kk + 1)[1:]))[:-1]
            else:
                upper = fisher_jenks_breaks(finite, kk)[:-1]
            upper = np.concatenate([upper, np.full(k - 1 - upper.size, np.inf)])
    classes = np.empty(v.shape, dtype="uint8")
    out_flat = classes.reshape(-1)
    for i in range(0, flat.size, _BLOCK):
        b = flat[i:i + _BLOCK].astype("float64")
        ok = np.isfinite(b)
        c = np.searchsorted(upper, np.where(ok, b, 0.0), side="left") + 1
        out_flat[i:i + _BLOCK] = np.where(ok, np.minimum(c, k), 0)
    if hasattr(score, "dims"):
        out = score.copy(data=classes)
        out.name = "risk_class"
        out.attrs = {k_: v_ for k_, v_ in score.attrs.items() if k_ in ("crs", "res_m")}
        out.attrs.update({"units": "class", "method": method, "bins": upper.tolist(), "nodata": 0})
        return out
    return classes


def _finite_values_at(flat, pick) -> np.ndarray:
    """float64 values of the ``pick``-th finite cells of ``flat`` (in ``pick``'s order), a block at a time."""
    order = np.argsort(pick, kind="stable")
    wanted = pick[order]
    out = np.empty(pick.size)
    seen = 0  # finite cells before this block
    for i in range(0, flat.size, _BLOCK):
        pos = np.flatnonzero(np.isfinite(flat[i:i + _BLOCK]))
        a, b = np.searchsorted(wanted, [seen, seen + pos.size])
        out[order[a:b]] = flat[i:i + _BLOCK][pos[wanted[a:b] - seen]]
        seen += pos.size
    return out


@requires_metres("classes", "spec")
def zone_polygons(classes, *, factors: Mapping[str, Any] | None = None, spec=None):
    """Polygons of connected cells of one class (rasterio.features.shapes, 4-connected).

    Each polygon carries ``class`` (int 1..k) and the mean of every factor over its cells.
    """
    import geopandas as gpd
    import pandas as pd
    import scipy.ndimage

    from cimtwin.grid.rasterize import polygonize
    from cimtwin.grid.spec import GridSpec

    spec = spec or GridSpec.from_dataarray(classes)
    c = np.asarray(getattr(classes, "values", classes)).astype("int32")
    # label the connected regions of each class so factor means are per polygon
    labels = np.zeros(c.shape, dtype="int32")
    offset = 0
    four = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    for k in np.unique(c[c > 0]):
        lab, n = scipy.ndimage.label(c == k, structure=four)
        labels[lab > 0] = lab[lab > 0] + offset
        offset += n
    geoms, ids = polygonize(spec, labels, mask=labels > 0, connectivity=4)
    ids = ids.astype("int64")
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=offset + 1)
    cls_of = np.zeros(offset + 1, dtype="int64")
    cls_of[flat] = c.ravel()
    data: dict[str, Any] = {"zone_id": ids, "class": cls_of[ids].astype("int64"), "cells": counts[ids]}
    for name, da in (factors or {}).items():
        v = np.asarray(getattr(da, "values", da), dtype="float64").ravel()
        ok = np.isfinite(v)
        s = np.bincount(flat[ok], weights=v[ok], minlength=offset + 1)
        n = np.bincount(flat[ok], minlength=offset + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            data[name] = (s / n)[ids]
    gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=spec.crs)
    # a region may come back as several rings-polygons only when it has holes; keep one row per region
    gdf = gdf.dissolve(by="zone_id", as_index=False, aggfunc="first") if gdf["zone_id"].duplicated().any() else gdf
    return gdf.sort_values(["class", "zone_id"], ascending=[False, True]).reset_index(drop=True)


@requires_metres("zones", "units", "population", "buildings", "roads", "classes")
def summarize_zones(zones, *, units, population=None, buildings=None, roads=None, classes=None,
                    unit_name: str = "district", k: int = 5):
    """Area, population, buildings and road length per administrative unit and class.

    Parameters
    ----------
    zones
        Zone polygons with ``class`` (from :func:`zone_polygons`).
    units
        Districts or sub-districts with a ``name`` column.
    population
        Population raster (persons per cell) aligned with ``classes``.
    buildings
        Buildings (centroid decides unit and class).
    roads
        Road centre lines (length split exactly by unit and class polygons).
    classes
        The class raster (needed for population).

    Returns
    -------
    pandas.DataFrame
        One row per unit and class 1..k: ``<unit_name>, class, area_km2, population,
        buildings, road_km``.
    """
    import geopandas as gpd
    import pandas as pd

    from cimtwin.grid.spec import GridSpec

    if "name" not in units.columns:
        raise ValidationError(f"The {unit_name} layer needs a `name` column.")
    u = units[["name", "geometry"]].rename(columns={"name": unit_name}).reset_index(drop=True)
    if classes is not None:
        return _summarize_on_grid(u, unit_name=unit_name, k=k, classes=classes, population=population,
                                  buildings=buildings, roads=roads)
    if zones is None:
        raise ValidationError("summarize_zones needs `zones` polygons or the `classes` raster.")
    z = zones[["class", "geometry"]].dissolve(by="class", as_index=False)
    pieces = gpd.overlay(u, z, how="intersection", keep_geom_type=True)
    pieces = pieces.dissolve(by=[unit_name, "class"], as_index=False)
    index = pd.MultiIndex.from_product([u[unit_name].unique(), range(1, k + 1)], names=[unit_name, "class"])
    out = pd.DataFrame(index=index)
    out["area_km2"] = pieces.set_index([unit_name, "class"]).geometry.area.div(1e6).reindex(index).fillna(0.0)
    out["population"] = 0.0
    if population is not None and classes is not None:
        from cimtwin.grid import rasterize

        spec = GridSpec.from_dataarray(classes)
        uid = np.asarray(getattr(rasterize(spec, u.assign(_uid=np.arange(1, len(u) + 1)), values="_uid",
                                           fill=0, dtype="int32"), "values"))
        pop = np.nan_to_num(np.asarray(getattr(population, "values", population), dtype="float64"))
        cl = np.asarray(classes.values).astype("int64")
        key = uid.astype("int64") * (k + 1) + cl
        sums = np.bincount(key.ravel(), weights=pop.ravel(), minlength=(len(u) + 1) * (k + 1))
        for i, name in enumerate(u[unit_name], start=1):
            for c in range(1, k + 1):
                out.loc[(name, c), "population"] += sums[i * (k + 1) + c]
    out["buildings"] = 0
    if buildings is not None and len(buildings):
        # class from the class raster at the centroid (a centroid on a cell edge still gets one
        # class), unit by the first unit polygon that holds it
        cent = buildings.geometry.centroid
        pts = gpd.GeoDataFrame({"_row": np.arange(len(buildings))}, geometry=cent.values, crs=buildings.crs)
        hit = gpd.sjoin(pts, u, how="inner", predicate="intersects").drop_duplicates("_row")
        if classes is not None:
            spec = GridSpec.from_dataarray(classes)
            r, c = spec.rowcol(hit.geometry.x.to_numpy(), hit.geometry.y.to_numpy())
            ok = spec.contains_rowcol(r, c)
            cl = np.zeros(len(hit), dtype="int64")
            cl[ok] = np.asarray(classes.values)[r[ok], c[ok]]
            hit = hit.assign(**{"class": cl})
        else:
            hit = gpd.sjoin(hit.drop(columns="index_right"), z, how="inner", predicate="intersects")
            hit = hit.drop_duplicates("_row")
        counts = hit.groupby([unit_name, "class"]).size()
        out["buildings"] = counts.reindex(index).fillna(0).astype("int64")
    out["road_km"] = 0.0
    if roads is not None and len(roads):
        import shapely

        tree = shapely.STRtree(pieces.geometry.values)
        ri, pi = tree.query(roads.geometry.values, predicate="intersects")
        lengths = shapely.length(shapely.intersection(roads.geometry.values[ri], pieces.geometry.values[pi]))
        df = pd.DataFrame({unit_name: pieces[unit_name].to_numpy()[pi], "class": pieces["class"].to_numpy()[pi],
                           "km": lengths / 1000.0})
        out["road_km"] = df.groupby([unit_name, "class"])["km"].sum().reindex(index).fillna(0.0)
    return out.reset_index()


def _summarize_on_grid(u, *, unit_name: str, k: int, classes, population, buildings, roads):
    """:func:`summarize_zones` on the class raster: every cell, building and road metre counted once.

    A cell belongs to the unit that holds its centre (the rasterization rule of
    :func:`cimtwin.grid.rasterize`); a building to the cell of its centroid; a road is cut
    at every cell edge (:func:`cimtwin.grid.rasterize.line_lengths`). Linear in
    cells + features, so it runs on a whole city at 10 m where a polygon overlay cannot.
    """
    import pandas as pd

    from cimtwin.grid import rasterize
    from cimtwin.grid.rasterize import line_lengths
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_dataarray(classes)
    t = spec.transform
    n_units = len(u)
    uid = np.asarray(getattr(rasterize(spec, u.assign(_uid=np.arange(1, n_units + 1)), values="_uid",
                                       fill=0, dtype="int32"), "values"))
    nkeys = (n_units + 1) * (k + 1)
    # the (unit, class) key of each cell in place in the unit raster (int32 holds it: a
    # handful of keys per unit), and counted a block at a time, with no int64 copy of the grid
    key = uid if uid.dtype == np.int32 and uid.flags.writeable else uid.astype("int32")
    key *= k + 1
    key += np.asarray(classes.values)
    flat = key.reshape(-1)
    pop_flat = (None if population is None
                else np.asarray(getattr(population, "values", population)).reshape(-1))
    area = np.zeros(nkeys, dtype="int64")
    pop = np.zeros(nkeys)
    for i in range(0, flat.size, _BLOCK):
        area += np.bincount(flat[i:i + _BLOCK], minlength=nkeys)
        if pop_flat is not None:
            pop += np.bincount(flat[i:i + _BLOCK], minlength=nkeys,
                               weights=np.nan_to_num(pop_flat[i:i + _BLOCK].astype("float64")))
    area = area * abs(t.a * t.e) / 1e6
    nbuild = np.zeros(nkeys, dtype="int64")
    if buildings is not None and len(buildings):
        cent = buildings.geometry.centroid
        r, c = spec.rowcol(cent.x.to_numpy(), cent.y.to_numpy())
        ok = spec.contains_rowcol(r, c)
        nbuild = np.bincount(key[r[ok], c[ok]], minlength=nkeys)
    road_m = np.zeros(nkeys)
    if roads is not None and len(roads):
        road_m = line_lengths(spec, roads.geometry.to_numpy(), key, nkeys)
    names = u[unit_name].unique()
    index = pd.MultiIndex.from_product([names, range(1, k + 1)], names=[unit_name, "class"])
    rows = {"area_km2": area, "population": pop, "buildings": nbuild, "road_km": road_m / 1000.0}
    keys = np.array([(i + 1) * (k + 1) + c for i in range(n_units) for c in range(1, k + 1)])
    frame = pd.DataFrame({col: np.asarray(v)[keys] for col, v in rows.items()},
                         index=pd.MultiIndex.from_product([u[unit_name].to_numpy(), range(1, k + 1)]))
    # units sharing a name are summed (as the polygon path dissolves them)
    out = frame.groupby(level=[0, 1], sort=False).sum().reindex(index).fillna(0)
    out.index.names = [unit_name, "class"]
    out["buildings"] = out["buildings"].astype("int64")
    return out.reset_index()
