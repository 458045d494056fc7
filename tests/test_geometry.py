"""The shapely adapters of cimtwin._geometry: vertex arrays round trip, threaded GEOS calls equal one call,
the clustered union equals GEOS's union."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import cimtwin
from cimtwin._geometry import linestrings_from, thread_map, threaded, union_polygons, vertex_arrays


def test_vertex_arrays_round_trip():
    rng = np.random.default_rng(0)
    lines = np.array([shapely.LineString(rng.uniform(0, 100, (k, 2))) for k in rng.integers(2, 7, 50)])
    xy, start = vertex_arrays(lines)
    assert start[0] == 0 and start[-1] == len(xy) and np.all(np.diff(start) >= 2)
    assert all(shapely.equals_exact(linestrings_from(xy, start), lines, 0.0))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_equals_one_call_in_order(threads):
    rng = np.random.default_rng(1)
    a = shapely.buffer(shapely.points(rng.uniform(0, 1000, (2500, 2))), rng.uniform(1, 30, 2500))
    b = shapely.buffer(shapely.points(rng.uniform(0, 1000, (2500, 2))), 20.0)
    with cimtwin.config.set(num_threads=threads):
        got = threaded(shapely.intersection, a, b, chunk=97)
        squares = thread_map(lambda k: k * k, list(range(10)))
    want = shapely.intersection(a, b)
    assert got.shape == want.shape and all(shapely.equals_exact(got, want, 0.0))
    assert squares == [k * k for k in range(10)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(1, 6)), min_size=0, max_size=60),
       st.sampled_from([1, 2]))
def test_union_polygons_equals_union_all(disks, threads):
    # integer centres and radii: boxes that touch exactly, disks that touch, nested ones
    polys = np.array([shapely.buffer(shapely.Point(x, y), r) for x, y, r in disks], dtype=object)
    with cimtwin.config.set(num_threads=threads):
        got = union_polygons(polys)
    want = shapely.union_all(polys)
    assert got.is_valid
    assert got.area == pytest.approx(want.area, rel=1e-12, abs=1e-12)
    assert shapely.symmetric_difference(got, want).area <= 1e-9 * max(1.0, want.area)
    assert len(shapely.get_parts(got)) == len(shapely.get_parts(want))
