"""Fisher–Jenks natural breaks against brute force (every partition) and mapclassify."""

import itertools

import mapclassify
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels.classify import fisher_jenks_breaks, sse_of_breaks


def _brute_force_sse(values, k):
    """The least within-class SSE over every split of the distinct values into k runs."""
    u = np.unique(values)
    best = np.inf
    for cuts in itertools.combinations(range(1, u.size), k - 1):
        upper = [u[c - 1] for c in cuts] + [u[-1]]
        best = min(best, sse_of_breaks(values, upper))
    return best


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 1.5, 4.0, 9.0]) | st.floats(-100, 100), min_size=1, max_size=11),
       st.integers(1, 4))
def test_breaks_are_optimal(values, k):
    x = np.array(values)
    k = min(k, np.unique(x).size)
    upper = fisher_jenks_breaks(x, k)
    assert upper.size == k and upper[-1] == x.max()
    assert np.all(np.diff(upper) > 0) and set(upper) <= set(x)  # class maxima, none empty
    assert sse_of_breaks(x, upper) == pytest.approx(_brute_force_sse(x, k), rel=1e-9, abs=1e-9)


def test_well_separated_groups_are_the_classes():
    x = [1, 2, 3, 10, 11, 12, 30, 31]
    assert fisher_jenks_breaks(x, 3).tolist() == [3.0, 12.0, 31.0]
    assert fisher_jenks_breaks(x, 1).tolist() == [31.0]
    with pytest.raises(ValueError, match="distinct"):
        fisher_jenks_breaks([1, 1, 2], 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_worse_than_mapclassify(seed):
    # mapclassify's FisherJenks (float32 sums) as the independent reference: our partition's
    # within-class SSE is never larger, and the breaks agree to the sample's resolution
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, 800), rng.normal(6, 2, 800), rng.gamma(2, 3, 400)])
    ours = fisher_jenks_breaks(x, 5)
    ref = mapclassify.FisherJenks(x, k=5).bins
    assert sse_of_breaks(x, ours) <= sse_of_breaks(x, ref) * (1 + 1e-9)
    assert np.allclose(ours, ref, atol=0.05)
