"""SitePlacement: greedy against an exact maximal-covering solution (PuLP / CBC)."""

import warnings

import numpy as np
import pytest
import shapely

import cimtwin
from tests.coverage._coverage_synth import P, gdf
from cimtwin.coverage import SitePlacement
from cimtwin.errors import SolverError, ValidationError


def mclp_exact(sets, w, k):
    pulp = pytest.importorskip("pulp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _mclp_exact(pulp, sets, w, k)


def _mclp_exact(pulp, sets, w, k):
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(sets))]
    y = [pulp.LpVariable(f"y{i}", lowBound=0, upBound=1) for i in range(len(w))]
    covers = [[] for _ in w]
    for j, s in enumerate(sets):
        for i in s:
            covers[i].append(j)
    prob += pulp.lpSum(w[i] * y[i] for i in range(len(w)))
    for i in range(len(w)):
        prob += y[i] <= pulp.lpSum(x[j] for j in covers[i])
    prob += pulp.lpSum(x) == k
    prob.solve(pulp.PULP_CBC_CMD(msg=0))
    return pulp.value(prob.objective)


def instance(seed, n_cand=50, n_dem=500, radius=0.12):
    rng = np.random.default_rng(seed)
    cand = rng.random((n_cand, 2))
    dem = rng.random((n_dem, 2))
    d = np.hypot(*(cand[:, None, :] - dem[None, :, :]).transpose(2, 0, 1))
    sets = [np.flatnonzero(d[j] <= radius) for j in range(n_cand)]
    w = rng.integers(1, 10, n_dem).astype(float)
    indptr = np.r_[0, np.cumsum([len(s) for s in sets])]
    return sets, w, indptr, np.concatenate(sets)


@pytest.mark.parametrize("seed", [0, 1])
def test_greedy_vs_exact_50_by_500(seed):
    sets, w, indptr, indices = instance(seed)
    k = 8
    p = SitePlacement.from_incidence(indptr=indptr, indices=indices, weights=w).solve(k=k)
    greedy = p.gains.sum()
    exact = mclp_exact(sets, w, k)
    assert greedy <= exact + 1e-6
    assert greedy >= (1 - 1 / np.e) * exact
    assert greedy >= 0.9 * exact  # in practice far above the worst-case bound


def test_greedy_equals_exact_on_disjoint_instance():
    # disjoint candidate sets: greedy is optimal
    rng = np.random.default_rng(5)
    sets = [np.arange(10 * j, 10 * j + 10) for j in range(50)]
    w = rng.random(500)
    indptr = np.r_[0, np.cumsum([10] * 50)]
    p = SitePlacement.from_incidence(indptr=indptr, indices=np.concatenate(sets), weights=w).solve(k=5)
    assert p.gains.sum() == pytest.approx(mclp_exact(sets, w, 5), rel=1e-9)


def test_from_model_fills_the_gap():
    zones = gdf({"name": ["A"]}, [shapely.box(0, 0, 1000, 200)])
    poles = gdf({"height_m": [10.0] * 5}, [P(100 + 200 * i, 100) for i in range(5)])
    gauges = gdf({}, [P(100, 100)])
    m = cimtwin.CityModel.from_layers({"subdistricts": zones, "smart_poles": poles, "rain_gauges": gauges})
    p = SitePlacement.from_model(m, candidates="smart_poles", targets="subdistricts", radius_m=150.0, res_m=10.0)
    p.solve(target_ratio=0.9)
    assert p.ratio_after >= 0.9 and p.selected["order"].tolist() == list(range(1, len(p.selected) + 1))
    assert p.selected["ratio"].is_monotonic_increasing
    with pytest.raises(SolverError, match="cannot reach"):
        SitePlacement.from_model(m, candidates="smart_poles", targets="subdistricts", radius_m=20.0,
                                 res_m=10.0).solve(target_ratio=0.99)
    with pytest.raises(ValidationError):
        p.solve()
