"""Noding a roads layer against shapely's own noding of the same lines."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.routing._noding import node_lines


def _segments(pieces, ndigits=6):
    out = set()
    for g in pieces:
        a, b = (tuple(np.round(c, ndigits)) for c in (g.coords[0], g.coords[-1]))
        out.add(frozenset((a, b)))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=3, max_size=12, unique=True),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), min_size=1, max_size=14))
def test_pieces_equal_shapely_noding(points, pairs):
    # streets between shared junctions (as a road layer draws them), crossing anywhere
    lines = []
    for i, j in pairs:
        i, j = i % len(points), j % len(points)
        if i != j:
            lines.append(shapely.LineString([points[i], points[j]]))
    lines = [g for k, g in enumerate(lines)
             if not any(shapely.relate_pattern(g, h, "1********") for h in lines[:k])]  # no shared stretch
    if not lines:
        return
    lines = np.asarray(lines, dtype=object)
    pieces, source, node_xy, u, v = node_lines(lines, 0.0)
    want = shapely.get_parts(shapely.node(shapely.MultiLineString(list(lines))))
    assert _segments(pieces) == _segments(want)
    np.testing.assert_allclose(shapely.length(pieces).sum(), shapely.length(lines).sum(), rtol=1e-12)
    # every piece runs between its two nodes, which are where the piece starts and ends
    np.testing.assert_array_equal(shapely.get_coordinates(shapely.get_point(pieces, 0)), node_xy[u])
    np.testing.assert_array_equal(shapely.get_coordinates(shapely.get_point(pieces, -1)), node_xy[v])
    assert len(np.unique(np.round(node_xy, 6), axis=0)) == len(node_xy)  # one node per junction


def test_a_street_ending_on_another_joins_it_without_tolerance():
    # (1/3, 1/3) lies on the diagonal, but no distance along it in metres is exact in binary
    lines = np.asarray([shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(1 / 3, 1 / 3), (1 / 3, 2)])],
                       dtype=object)
    pieces, source, node_xy, u, v = node_lines(lines, 0.0)
    assert len(pieces) == 3 and len(node_xy) == 4
    joint = [k for k in range(len(node_xy)) if np.sum(u == k) + np.sum(v == k) == 3]
    assert len(joint) == 1 and tuple(node_xy[joint[0]]) == (1 / 3, 1 / 3)


def test_a_street_drawn_short_joins_within_the_tolerance_only():
    # a T junction drawn 0.4 m short of the through street, and an end 3 m off the far street
    lines = np.asarray([shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(5, 0.4), (5, 10)]),
                        shapely.LineString([(20, 0), (20, 10)]), shapely.LineString([(23, 5), (30, 5)])], dtype=object)
    pieces, source, node_xy, u, v = node_lines(lines, 1.0)
    assert sorted(source.tolist()) == [0, 0, 1, 2, 3]  # only the through street is split, where the end meets it
    degree = np.bincount(np.concatenate([u, v]), minlength=len(node_xy))
    joint = np.flatnonzero(degree == 3)
    assert len(joint) == 1 and np.allclose(node_xy[joint[0]], (5, 0), atol=0.41)
    np.testing.assert_allclose(shapely.length(pieces[source == 0]).sum(), 10.0)
    pieces, source, node_xy, u, v = node_lines(lines, 0.3)  # 0.4 m is too far now
    assert sorted(source.tolist()) == [0, 1, 2, 3] and len(node_xy) == 8
