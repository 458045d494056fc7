"""Segment length per cell key against shapely's exact intersection with every cell box."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import shapely.ops

from cimtwin._geometry import simple_linestrings, vertex_arrays
from cimtwin.kernels.lines import (merge_sorted_intervals, polylines_may_cross, polylines_may_overlap, segment_lengths_by_group_key,
                                   segment_lengths_by_key, split_polylines, sub_polylines)

# never on a cell edge: a segment along an edge is in two of shapely's cell boxes, and in
# the cell below or right of it here (test_segment_along_a_cell_edge_counts_once)
coord = st.floats(min_value=-2.0, max_value=9.0, allow_nan=False).map(lambda v: round(v, 3) + 1e-4)


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


vertex = st.tuples(st.integers(-50, 50), st.integers(-50, 50))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(vertex, min_size=2, max_size=6), min_size=1, max_size=4),
       st.lists(st.floats(0.001, 0.999), max_size=8), st.data())
def test_split_polylines_equals_shapely_substring(polylines, fractions, data):
    lines = [shapely.LineString(p) for p in polylines]
    lines = [g for g in lines if g.length > 0] or [shapely.LineString([(0, 0), (3, 4)])]
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    start = np.searchsorted(owner, np.arange(len(lines) + 1)).astype("int64")
    # cuts strictly inside each line, some on vertices (distinct, increasing)
    cut_line, cut_pos = [], []
    for i, line in enumerate(lines):
        at_vertex = [float(shapely.line_locate_point(line, shapely.Point(c))) for c in line.coords[1:-1]]
        chosen = [f * line.length for f in fractions if data.draw(st.booleans())]
        chosen += [d for d in at_vertex if data.draw(st.booleans())]
        pos = sorted({round(d, 6) for d in chosen if 1e-6 < d < line.length - 1e-6})
        cut_line += [i] * len(pos)
        cut_pos += pos
    cut_start = np.searchsorted(np.array(cut_line, dtype="int64"), np.arange(len(lines) + 1)).astype("int64")
    out, piece_start, source = split_polylines(xy, start, cut_start, np.array(cut_pos, dtype="float64"),
                                               np.full((len(cut_pos), 2), np.nan))
    got = shapely.linestrings(out, indices=np.repeat(np.arange(len(source)), np.diff(piece_start)))
    want, want_source = [], []
    for i, line in enumerate(lines):
        bounds = [0.0, *[p for li, p in zip(cut_line, cut_pos) if li == i], line.length]
        for a, b in zip(bounds[:-1], bounds[1:]):
            want.append(shapely.ops.substring(line, a, b))
            want_source.append(i)
    assert list(source) == want_source
    # substring drops repeated vertices; the kernel keeps the line's own
    got, want = shapely.remove_repeated_points(got), shapely.remove_repeated_points(want)
    assert all(shapely.equals_exact(g, w, tolerance=1e-7) for g, w in zip(got, want))
    np.testing.assert_allclose(shapely.length(got), shapely.length(want), atol=1e-7)


def test_split_polylines_cut_on_a_vertex_keeps_the_vertex_once():
    xy = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    out, piece_start, source = split_polylines(xy, np.array([0, 3]), np.array([0, 1]), np.array([3.0]),
                                               np.full((1, 2), np.nan))
    np.testing.assert_array_equal(out, [[0, 0], [3, 0], [3, 0], [3, 4]])
    np.testing.assert_array_equal(piece_start, [0, 2, 4])
    np.testing.assert_array_equal(source, [0, 0])
    # a cut given its point ends both pieces there
    out, _, _ = split_polylines(xy, np.array([0, 3]), np.array([0, 1]), np.array([1.5]), np.array([[1.5, 1e-9]]))
    np.testing.assert_array_equal(out, [[0, 0], [1.5, 1e-9], [1.5, 1e-9], [3, 0], [3, 4]])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.integers(1, 8)), max_size=25))
def test_merge_sorted_intervals_equals_the_union_of_segments(intervals):
    rows = sorted((k, s / 20, (s + w) / 20) for k, s, w in intervals)
    key = np.array([r[0] for r in rows], dtype="int64")
    start = np.array([r[1] for r in rows], dtype="float64")
    end = np.array([r[2] for r in rows], dtype="float64")
    got_k, got_s, got_e = merge_sorted_intervals(key, start, end)
    want = []
    for k in sorted(set(key.tolist())):
        union = shapely.line_merge(shapely.union_all([shapely.LineString([(s, 0), (e, 0)])
                                                      for kk, s, e in rows if kk == k]))
        want += sorted((k, float(min(p.coords)[0]), float(max(p.coords)[0])) for p in shapely.get_parts(union))
    assert [(int(k), float(s), float(e)) for k, s, e in zip(got_k, got_s, got_e)] == want


@settings(max_examples=80, deadline=None)
@given(st.lists(vertex, min_size=2, max_size=6), st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1,
                                                          max_size=5))
def test_sub_polylines_equals_shapely_substring(points, fractions):
    line = shapely.LineString(points)
    if line.length == 0:
        line = shapely.LineString([(0, 0), (3, 4), (3, 9)])
    xy = shapely.get_coordinates(line)
    pairs = [(min(a, b), max(a, b)) for a, b in fractions if abs(a - b) > 1e-3]
    # fractions landing on vertices too
    at_vertex = [shapely.line_locate_point(line, shapely.Point(c), normalized=True) for c in line.coords]
    pairs += [(at_vertex[0], at_vertex[-1]), (at_vertex[0], at_vertex[len(at_vertex) // 2])]
    pairs = [(a, b) for a, b in pairs if b - a > 1e-3]
    d0 = np.array([a for a, _ in pairs]) * line.length
    d1 = np.array([b for _, b in pairs]) * line.length
    out, piece_start = sub_polylines(xy, np.array([0, len(xy)]), np.zeros(len(pairs), dtype="int64"), d0, d1)
    got = shapely.linestrings(out, indices=np.repeat(np.arange(len(pairs)), np.diff(piece_start)))
    want = [shapely.ops.substring(line, a, b) for a, b in zip(d0, d1)]
    got, want = shapely.remove_repeated_points(got), shapely.remove_repeated_points(want)
    assert all(shapely.equals_exact(g, w, tolerance=1e-7) for g, w in zip(got, want))


# small integer coordinates make exactly collinear, overlapping segments common; a tiny
# shift makes nearly collinear ones (the case a naive float test gets wrong)
grid_pt = st.tuples(st.integers(0, 4), st.integers(0, 4))
polyline = st.lists(grid_pt, min_size=2, max_size=4)


@settings(max_examples=400, deadline=None)
@given(st.lists(polyline, min_size=2, max_size=6), st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.5]), st.integers(0, 10**6))
def test_may_overlap_is_never_wrong_when_it_says_no(lines, shift, seed):
    rng = np.random.default_rng(seed)
    geoms = []
    for pts in lines:
        xy = np.asarray(pts, dtype="float64") * 1000.0 + 3.5e6  # metres in a Gauss-Kruger zone
        xy[rng.random(len(xy)) < 0.5] += shift
        geoms.append(shapely.LineString(xy))
    geoms = np.asarray(geoms, dtype=object)
    a, b = np.triu_indices(len(geoms), 1)
    keep = simple_linestrings(geoms)[a] & simple_linestrings(geoms)[b]  # as the caller: others go to GEOS
    a, b = a[keep], b[keep]
    maybe = polylines_may_overlap(*vertex_arrays(geoms), a, b)
    truth = shapely.relate_pattern(geoms[a], geoms[b], "1********")
    assert not np.any(truth & ~maybe)  # a pair it rules out never shares a length


def test_may_overlap_rules_out_lines_meeting_at_an_angle():
    geoms = np.asarray([shapely.LineString([(0, 0), (10, 1)]), shapely.LineString([(10, 1), (20, 5)]),
                        shapely.LineString([(5, 0.5), (15, 1.5)]), shapely.LineString([(0, 5), (10, -5)])])
    a, b = np.array([0, 0, 0]), np.array([1, 2, 3])
    # meets at an end, overlaps along (5..10) on the same line, crosses
    assert polylines_may_overlap(*vertex_arrays(geoms), a, b).tolist() == [False, True, False]


@settings(max_examples=300, deadline=None)
@given(st.lists(polyline, min_size=2, max_size=6), st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.5]),
       st.integers(0, 10**6))
def test_may_cross_is_never_wrong_when_it_says_no(lines, shift, seed):
    """A pair ruled out shares nothing with GEOS but points that end both lines (no cut)."""
    rng = np.random.default_rng(seed)
    geoms = []
    for pts in lines:
        xy = np.asarray(pts, dtype="float64") * 1000.0 + 3.5e6
        xy += (rng.random(xy.shape) < 0.4) * shift * rng.choice([-1.0, 1.0], xy.shape)
        geoms.append(shapely.LineString(xy))
    geoms = np.asarray(geoms, dtype=object)
    simple = simple_linestrings(geoms)
    a, b = np.triu_indices(len(geoms), 1)
    keep = simple[a] & simple[b]  # the caller sends lines that cross themselves to GEOS
    a, b = a[keep], b[keep]
    maybe = polylines_may_cross(*vertex_arrays(geoms), a, b)
    for i, j in zip(a[~maybe], b[~maybe]):
        shared = shapely.intersection(geoms[i], geoms[j])
        both_ends = set.intersection(*({tuple(p) for p in shapely.get_coordinates(g)[[0, -1]]}
                                       for g in (geoms[i], geoms[j])))
        assert shapely.is_empty(shared) or shapely.get_dimensions(shared) == 0, shared
        assert {tuple(p) for p in shapely.get_coordinates(shared)} <= both_ends, shared


def test_may_cross_settles_a_junction_and_keeps_a_crossing():
    geoms = np.asarray([shapely.LineString([(0, 0), (10, 1)]), shapely.LineString([(10, 1), (12, 9)]),
                        shapely.LineString([(5, -3), (6, 4)]), shapely.LineString([(3, 1), (10, 1), (11, 0)])])
    a, b = np.array([0, 0, 1]), np.array([1, 2, 3])
    # a junction at both lines' ends; a crossing; a shared vertex inside line 3 (it is cut there)
    assert polylines_may_cross(*vertex_arrays(geoms), a, b).tolist() == [False, True, True]
