"""Segment length per cell key against shapely's exact intersection with every cell box."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.kernels.lines import segment_lengths_by_group_key, segment_lengths_by_key

coord = st.floats(min_value=-2.0, max_value=9.0, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coord, coord, coord, coord), min_size=1, max_size=6), st.integers(0, 10_000))
def test_lengths_equal_shapely_cell_intersections(segments, seed):
    rows, cols = 5, 7
    key = np.random.default_rng(seed).integers(-1, 4, (rows, cols)).astype("int64")
    seg = np.array(segments, dtype="float64")
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    length = shapely.length(lines)
    got = segment_lengths_by_key(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3], length, key, 4)
    want = np.zeros(4)
    for r in range(rows):
        for c in range(cols):
            if key[r, c] >= 0:
                want[key[r, c]] += shapely.length(shapely.intersection(lines, shapely.box(c, r, c + 1, r + 1))).sum()
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_segment_along_a_cell_edge_counts_once():
    key = np.arange(4, dtype="int64").reshape(2, 2)
    got = segment_lengths_by_key(np.array([0.0]), np.array([1.0]), np.array([2.0]), np.array([1.0]),
                                 np.array([2.0]), key, 4)
    assert got.sum() == 2.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(coord, coord, coord, coord, st.integers(0, 2)), min_size=1, max_size=8),
       st.integers(0, 10_000))
def test_grouped_lengths_equal_one_call_per_group(segments, seed):
    key = np.random.default_rng(seed).integers(-1, 3, (5, 7)).astype("int8")
    seg = np.array([s[:4] for s in segments], dtype="float64")
    group = np.array([s[4] for s in segments], dtype="int64")
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    got, _ = segment_lengths_by_group_key(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3], length, group, 3, key, 3,
                                          np.zeros((0, 0), np.float32))
    for g in range(3):
        s = group == g
        want = segment_lengths_by_key(seg[s, 0], seg[s, 1], seg[s, 2], seg[s, 3], length[s], key, 3)
        np.testing.assert_allclose(got[g], want, atol=1e-12)
