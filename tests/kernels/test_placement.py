"""Lazy-greedy placement kernel against brute force and plain greedy."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels.placement import disk_incidence, lazy_greedy


def random_incidence(rng, n_cand, n_dem, p):
    sets = [np.flatnonzero(rng.random(n_dem) < p) for _ in range(n_cand)]
    indptr = np.r_[0, np.cumsum([len(s) for s in sets])].astype(np.int64)
    indices = np.concatenate(sets).astype(np.int64) if sets else np.zeros(0, np.int64)
    return sets, indptr, indices


def plain_greedy(sets, w, covered, k):
    covered = covered.copy()
    chosen = []
    for _ in range(k):
        gains = [w[s[~covered[s]]].sum() for s in sets]
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        covered[sets[best]] = True
    return chosen


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_cand=st.integers(1, 12), n_dem=st.integers(1, 40), k=st.integers(0, 6))
def test_lazy_equals_plain_greedy(seed, n_cand, n_dem, k):
    rng = np.random.default_rng(seed)
    sets, indptr, indices = random_incidence(rng, n_cand, n_dem, 0.3)
    w = rng.integers(1, 5, n_dem).astype(float)
    covered = rng.random(n_dem) < 0.2
    before = covered.copy()
    chosen, gains, _ = lazy_greedy(indptr, indices, w, covered, k, np.inf)
    assert chosen.tolist() == plain_greedy(sets, w, covered, k)
    assert np.array_equal(covered, before)  # input untouched
    assert np.all(np.diff(gains) <= 1e-12)  # submodular: gains never grow


def test_greedy_bound_against_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(20):
        sets, indptr, indices = random_incidence(rng, 8, 30, 0.25)
        w = rng.random(30)
        k = 3
        chosen, gains, _ = lazy_greedy(indptr, indices, w, np.zeros(30, bool), k, np.inf)
        best = max(w[np.unique(np.concatenate([sets[i] for i in c]))].sum()
                   for c in itertools.combinations(range(8), k))
        assert gains.sum() >= (1 - 1 / np.e) * best - 1e-12


def test_target_weight_stops_early():
    indptr = np.array([0, 3, 5, 6], np.int64)
    indices = np.array([0, 1, 2, 3, 4, 5], np.int64)
    chosen, gains, _ = lazy_greedy(indptr, indices, np.ones(6), np.zeros(6, bool), 3, 3.0)
    assert chosen.tolist() == [0]


def test_disk_incidence_brute_force():
    rng = np.random.default_rng(3)
    rows, cols = 30, 40
    demand = rng.random(rows * cols) < 0.6
    demand_index = np.where(demand, np.cumsum(demand) - 1, -1).astype(np.int64)
    cr, cc = rng.uniform(-3, 33, 7), rng.uniform(-3, 43, 7)
    rad = rng.uniform(0.5, 8, 7)
    indptr, indices = disk_incidence(rows, cols, demand_index, cr, cc, rad)
    ii, jj = np.divmod(np.arange(rows * cols), cols)
    for s in range(7):
        inside = ((ii - cr[s]) ** 2 + (jj - cc[s]) ** 2 <= rad[s] ** 2) & demand
        assert sorted(indices[indptr[s]:indptr[s + 1]].tolist()) == sorted(demand_index[inside].tolist())
