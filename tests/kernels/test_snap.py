"""Nearest segment by bucket grid against a brute-force scan of every segment (and shapely)."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin._geometry import vertex_arrays
from cimtwin.kernels.snap import bucket_segments, locate_on_polylines, nearest_segments

coord = st.floats(min_value=-50.0, max_value=150.0, allow_nan=False).map(lambda v: round(v, 2))


def brute(px, py, seg):
    a, b = seg[:, :2], seg[:, 2:]
    d = b - a
    l2 = (d ** 2).sum(1)
    p = np.stack([px, py], 1)[:, None, :]
    t = np.where(l2 > 0, ((p - a) * d).sum(2) / np.where(l2 > 0, l2, 1), 0.0).clip(0, 1)
    foot = a + t[..., None] * d
    return np.sqrt(((foot - p) ** 2).sum(2))


def run(seg, px, py, cell, max_d):
    xmin, ymin = seg[:, [0, 2]].min(), seg[:, [1, 3]].min()
    ncols = int((seg[:, [0, 2]].max() - xmin) / cell) + 1
    nrows = int((seg[:, [1, 3]].max() - ymin) / cell) + 1
    cols = [np.ascontiguousarray(seg[:, k]) for k in range(4)]
    indptr, items = bucket_segments(*cols, xmin, ymin, cell, ncols, nrows)
    return nearest_segments(px, py, *cols, indptr, items, xmin, ymin, cell, ncols, nrows, max_d)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(coord, coord, coord, coord), min_size=1, max_size=12),
       st.lists(st.tuples(coord, coord), min_size=1, max_size=20),
       st.sampled_from([0.7, 5.0, 33.0, 400.0]), st.sampled_from([1.0, 20.0, 1e9]))
def test_nearest_segment_equals_brute_force(segments, points, cell, max_d):
    seg = np.array(segments, dtype="float64")
    pts = np.array(points, dtype="float64")
    # points well outside the segments' extent too: the grid must search towards them
    px, py = pts[:, 0] * 3 - 100, pts[:, 1] * 3 - 100
    s, t, d = run(seg, px, py, cell, max_d)
    all_d = brute(px, py, seg)
    best = all_d.min(1)
    within = best <= max_d
    assert np.array_equal(s >= 0, within)
    np.testing.assert_allclose(d[within], best[within], rtol=1e-12, atol=1e-9)
    # the chosen segment is a nearest one (the kernel breaks exact ties by the lowest number;
    # two segments that share their nearest point, an end, may differ here in the last bit)
    ties = np.isclose(all_d, best[:, None], rtol=0, atol=1e-12)
    assert ties[np.flatnonzero(within), s[within]].all()
    unique = ties.sum(1) == 1
    assert np.array_equal(s[within & unique], ties.argmax(1)[within & unique])
    # the foot lies on the chosen segment at the reported distance
    k = s[within]
    fx = seg[k, 0] + t[within] * (seg[k, 2] - seg[k, 0])
    fy = seg[k, 1] + t[within] * (seg[k, 3] - seg[k, 1])
    np.testing.assert_allclose(np.hypot(fx - px[within], fy - py[within]), d[within], atol=1e-9)


def test_many_points_agree_with_shapely_distance():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 1000, (500, 2))
    seg = np.column_stack([a, a + rng.normal(0, 30, (500, 2))])
    px, py = rng.uniform(-100, 1100, 5000), rng.uniform(-100, 1100, 5000)
    s, _, d = run(seg, px, py, 25.0, 1e9)
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    tree = shapely.STRtree(lines)
    _, want = tree.query_nearest(shapely.points(px, py), return_distance=True, all_matches=False)
    np.testing.assert_allclose(d, want, rtol=1e-9, atol=1e-9)
    assert (s >= 0).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(coord, coord), min_size=2, max_size=5), min_size=1, max_size=25),
       st.lists(st.tuples(coord, coord), min_size=1, max_size=40), st.floats(0.0, 30.0))
def test_lines_near_points_equals_shapely_dwithin(lines, points, max_d):
    """Every (point, line) pair within max_d, each once, the point's own line left out (shapely's dwithin)."""
    from cimtwin.kernels.snap import lines_near_points, segment_grid

    geoms = np.array([shapely.LineString(v) for v in lines])
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    seg = np.flatnonzero(owner[1:] == owner[:-1])
    cols = [np.ascontiguousarray(c) for c in (xy[seg, 0], xy[seg, 1], xy[seg + 1, 0], xy[seg + 1, 1])]
    px, py = (np.array([p[k] for p in points], dtype=float) for k in (0, 1))
    skip = np.arange(len(points)) % (len(geoms) + 1) - 1  # some points belong to a line, some to none
    got_p, got_l = lines_near_points(px, py, skip, *cols, owner[seg].astype(np.int64), *segment_grid(*cols), max_d)
    dist = shapely.distance(shapely.points(px, py)[:, None], geoms[None, :])
    # a distance equal to the tolerance up to rounding may go either way in the two computations
    unclear = {(i, j) for i, j in zip(*np.nonzero(np.abs(dist - max_d) <= 1e-9))}
    want = {(i, j) for i, j in zip(*np.nonzero(dist <= max_d)) if j != skip[i]}
    got = set(zip(got_p.tolist(), got_l.tolist()))
    assert got - unclear == want - unclear
    assert list(zip(got_p.tolist(), got_l.tolist())) == sorted(got)  # sorted by point, then line, each once


def test_locate_on_polylines_hand_worked():
    xy, start = vertex_arrays(np.array([shapely.LineString([(0, 0), (10, 0), (10, 10)])]))
    px, py = np.array([12.0, 5.0, -2.0, 10.0, 10.0]), np.array([5.0, -3.0, 1.0, 14.0, 0.0])
    # beside the second segment, under the first, before the start, past the end, on the vertex
    assert locate_on_polylines(xy, start, np.zeros(5, np.int64), px, py).tolist() == [15.0, 5.0, 0.0, 20.0, 10.0]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.tuples(coord, coord), min_size=2, max_size=6), min_size=1, max_size=8),
       st.lists(st.tuples(coord, coord, st.integers(0, 7)), min_size=1, max_size=20))
def test_locate_on_polylines_equals_shapely(lines, queries):
    geoms = np.array([shapely.LineString(c) for c in lines])
    xy, start = vertex_arrays(geoms)
    line = np.array([q[2] % len(lines) for q in queries], dtype=np.int64)
    px, py = (np.array([q[k] for q in queries], dtype="float64") for k in (0, 1))
    ours = locate_on_polylines(xy, start, line, px, py)
    pts = shapely.points(px, py)
    ref = shapely.line_locate_point(geoms[line], pts)
    nearest = shapely.distance(pts, geoms[line])
    at_ours = shapely.distance(pts, shapely.line_interpolate_point(geoms[line], ours))
    assert np.allclose(at_ours, nearest, rtol=0, atol=1e-9)  # a nearest point of the line
    # and GEOS's position, unless the line has two nearest points apart (a tie that each
    # side's arithmetic may break its own way), found by a scan of every segment
    for i, k in enumerate(line):
        c = np.asarray(lines[k], dtype="float64")
        seg = np.hstack([c[:-1], c[1:]])
        d = brute(px[i:i + 1], py[i:i + 1], seg)[0]
        a, b = seg[:, :2], seg[:, 2:]
        lengths = np.hypot(*(b - a).T)
        l2 = np.where(lengths > 0, lengths ** 2, 1.0)
        t = (((np.array([px[i], py[i]]) - a) * (b - a)).sum(1) / l2).clip(0, 1)
        feet = np.r_[0.0, np.cumsum(lengths)[:-1]] + t * lengths
        tied = np.unique(np.round(feet[d <= d.min() + 1e-9], 6))
        if len(tied) == 1:
            assert abs(ours[i] - ref[i]) <= 1e-9, (i, ours[i], ref[i])
