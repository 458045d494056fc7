"""Gap-filling placement: which new sites close the coverage gap with the fewest additions.

:class:`SitePlacement` follows the from-model-then-solve life cycle: ``from_model`` turns the
targets into weighted demand cells, marks the cells existing sensors already cover and lists
the cells each candidate would cover; ``solve`` runs the lazy greedy maximal-covering kernel
(a (1 − 1/e) approximation for a fixed number of sites) and returns ``self``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cimtwin._validate import require_positive
from cimtwin.errors import SolverError, ValidationError

__all__ = ["SitePlacement"]


class SitePlacement:
    """Greedy maximal-covering placement on a candidate → demand incidence.

    Attributes (after :meth:`solve`)
    --------------------------------
    selected : GeoDataFrame or ndarray
        Chosen candidates in pick order, with ``gain`` (weight added) and ``ratio`` (the
        covered share after the pick); an index array when built from arrays.
    ratio_before, ratio_after : float
        Covered share of the demand weight before and after the new sites.
    evaluations : int
        Gains computed by the lazy greedy (n candidates + re-evaluations).

    Examples
    --------
    >>> import numpy as np
    >>> p = SitePlacement.from_incidence(indptr=np.array([0, 2, 3]), indices=np.array([0, 1, 2]),
    ...                                  weights=np.ones(3))
    >>> p.solve(k=1).selected.tolist(), p.ratio_after
    ([0], 0.6666666666666666)
    """

    def __init__(self, indptr, indices, weights, covered=None, *, candidates=None, demand=None, notes=()):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        n_demand = self.weights.shape[0]
        if self.indptr.ndim != 1 or self.indptr.shape[0] < 1 or self.indptr[0] != 0 \
                or self.indptr[-1] != self.indices.shape[0] or np.any(np.diff(self.indptr) < 0):
            raise ValidationError("`indptr` must be a CSR row pointer: starts at 0, non-decreasing, ends at len(indices).")
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= n_demand):
            raise ValidationError(f"`indices` must be demand ids in [0, {n_demand}).")
        if np.any(~np.isfinite(self.weights)) or np.any(self.weights < 0):
            raise ValidationError("Demand `weights` must be finite and ≥ 0.")
        self.covered = (np.zeros(n_demand, dtype=bool) if covered is None
                        else np.ascontiguousarray(covered, dtype=bool).copy())
        if self.covered.shape != (n_demand,):
            raise ValidationError("`covered` must have one flag per demand cell.")
        self.candidates = candidates
        self.demand = demand
        self.notes = list(notes)
        self.selected = None
        self.gains = None
        self.evaluations = 0
        total = float(self.weights.sum())
        self.total_weight = total
        self.ratio_before = float(self.weights[self.covered].sum() / total) if total > 0 else float("nan")
        self.ratio_after = self.ratio_before

    @property
    def n_candidates(self) -> int:
        return self.indptr.shape[0] - 1

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_incidence(cls, *, indptr, indices, weights, covered=None) -> SitePlacement:
        """Build from a CSR incidence (candidate i covers demand ``indices[indptr[i]:indptr[i+1]]``)."""
        return cls(indptr, indices, weights, covered)

    @classmethod
    def from_model(cls, model, *, candidates: str = "smart_poles", targets, radius_m: float,
                   existing: str | None = None, res_m: float | None = None, weight: str | None = None,
                   category=None, existing_radius_m: float | None = None) -> SitePlacement:
        """Demand cells from ``targets``, existing coverage from ``existing``, candidates' disks.

        Parameters
        ----------
        candidates : str
            Point layer of possible sites (smart poles, road nodes …).
        targets : str
            Polygon layer to cover (key areas, sub-districts …); its cells are the demand.
        radius_m : float
            Coverage radius of a new site.
        existing : str or None
            Sensors already there; a camera layer covers its sectors (``range_m``), any other
            layer disks of ``existing_radius_m`` (default ``radius_m``).
        res_m : float or None
            Demand cell size; default radius_m / 10 (at least 1 m).
        weight : {"population"} or None
            Demand weight: cell area (default) or residents from the population raster.
        """
        import rasterio.features

        from cimtwin.grid.spec import GridSpec
        from cimtwin.kernels.placement import disk_incidence

        radius_m = require_positive(radius_m, arg="radius_m")
        cand = model.require_layer(candidates, purpose="placement candidates")
        tgt = model.require_layer(targets, purpose="placement demand")
        if category is not None:
            cats = [category] if isinstance(category, str) else list(category)
            tgt = tgt[tgt["category"].isin(cats)]
            if len(tgt) == 0:
                raise ValidationError(f"Layer {targets!r} has no features of category {cats}.")
        res = require_positive(res_m, arg="res_m") if res_m is not None else max(radius_m / 10.0, 1.0)
        xmin, ymin, xmax, ymax = tgt.total_bounds
        spec = GridSpec.from_bounds((xmin, ymin, xmax, ymax), res_m=res, crs=model.crs)
        inside = rasterio.features.rasterize(((g, 1) for g in tgt.geometry), out_shape=spec.shape,
                                             transform=spec.transform, fill=0, dtype="uint8").astype(bool)
        if weight == "population":
            if not model.has_raster("population"):
                raise ValidationError("`weight='population'` needs a `population` raster in the model.")
            pop = model.raster("population")
            pspec = GridSpec.from_dataarray(pop)
            x, y = spec.xy(*np.nonzero(inside))
            pr, pc = pspec.rowcol(x, y)
            ok = pspec.contains_rowcol(pr, pc)
            w = np.zeros(len(x))
            # residents of a population cell shared among the demand cells inside it
            w[ok] = np.nan_to_num(pop.values[pr[ok], pc[ok]]) * (res * res) / (pspec.res_m ** 2)
        elif weight is None:
            w = np.full(int(inside.sum()), res * res)
        else:
            raise ValidationError(f"`weight` must be None or 'population'; got {weight!r}.")
        demand_index = np.full(spec.size, -1, dtype=np.int64)
        flat = np.flatnonzero(inside.ravel())
        demand_index[flat] = np.arange(len(flat))
        covered = np.zeros(len(flat), dtype=bool)
        notes = []
        if existing is not None:
            covered = _existing_coverage(model, existing, spec, existing_radius_m or radius_m).ravel()[flat]
        cx, cy = cand.geometry.x.to_numpy(), cand.geometry.y.to_numpy()
        cr, cc = spec.rowcol_float(cx, cy)
        rcell = np.full(len(cand), radius_m / res)
        indptr, indices = disk_incidence(spec.shape[0], spec.shape[1], demand_index, cr, cc, rcell)
        rows, cols = np.divmod(flat, spec.shape[1])
        dx, dy = spec.xy(rows, cols)
        demand = pd.DataFrame({"x": dx, "y": dy, "weight": w})
        notes.append(f"demand: {len(flat)} cells of {res:g} m inside {targets!r}; candidates cover {radius_m:g} m.")
        return cls(indptr, indices, w, covered, candidates=cand, demand=demand, notes=notes)

    # -- solving ---------------------------------------------------------------------------
    def solve(self, *, k: int | None = None, target_ratio: float | None = None) -> SitePlacement:
        """Choose up to ``k`` sites, or the fewest that reach ``target_ratio``; returns self.

        With both, stops at whichever comes first. A ``target_ratio`` that all candidates
        together cannot reach raises SolverError (the best reachable ratio is in the message).
        """
        from cimtwin.kernels.placement import lazy_greedy

        if k is None and target_ratio is None:
            raise ValidationError("Give `k` (number of new sites) or `target_ratio` (a fraction in (0, 1]).")
        if k is not None and (int(k) != k or k < 0):
            raise ValidationError(f"`k` must be a non-negative integer; got {k!r}.")
        if target_ratio is not None and not 0.0 < float(target_ratio) <= 1.0:
            raise ValidationError(f"`target_ratio` must be in (0, 1]; got {target_ratio!r}.")
        max_sites = self.n_candidates if k is None else int(k)
        target_w = math.inf if target_ratio is None else float(target_ratio) * self.total_weight * (1 - 1e-12)
        chosen, gains, evals = lazy_greedy(self.indptr, self.indices, self.weights, self.covered, max_sites, target_w)
        self.evaluations = int(evals)
        self.gains = gains
        covered_w = self.weights[self.covered].sum() + np.cumsum(gains)
        ratios = covered_w / self.total_weight if self.total_weight > 0 else covered_w * np.nan
        self.ratio_after = float(ratios[-1]) if len(ratios) else self.ratio_before
        if target_ratio is not None and self.ratio_after < float(target_ratio) - 1e-12 and (k is None or len(chosen) < k):
            raise SolverError(
                f"The candidates cannot reach a covered share of {target_ratio:.3f}: the best is "
                f"{self.ratio_after:.3f} with {len(chosen)} new sites. Add candidates or enlarge radius_m."
            )
        if self.candidates is not None:
            sel = self.candidates.iloc[chosen].copy()
            sel["order"] = np.arange(1, len(chosen) + 1)
            sel["gain"] = gains
            sel["ratio"] = ratios
            self.selected = sel
        else:
            self.selected = chosen
        return self

    def __repr__(self) -> str:
        picked = "unsolved" if self.selected is None else f"{len(self.selected)} sites"
        return (f"<SitePlacement {self.n_candidates} candidates × {len(self.weights)} demand: {picked}, "
                f"ratio {self.ratio_before:.3f} → {self.ratio_after:.3f}>")


def _existing_coverage(model, layer, spec, radius_m):
    """Boolean grid of the cells existing sensors cover (camera sectors, else disks)."""
    from cimtwin.grid import coverage_count_points

    gdf = model.layer(layer)
    if len(gdf) == 0:
        return np.zeros(spec.shape, dtype=bool)
    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    if model.layer_kind(layer) == "cameras":
        from cimtwin.coverage.cameras import camera_parameters

        g = camera_parameters(gdf, assume_omni=True, layer=layer)
        count = coverage_count_points(spec, x, y, radius_m=g.range_m, azimuth_deg=np.nan_to_num(g.azimuth_deg),
                                      hfov_deg=g.hfov_deg)
    else:
        count = coverage_count_points(spec, x, y, radius_m=radius_m)
    return np.asarray(getattr(count, "values", count)) > 0
