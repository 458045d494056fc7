"""The shapely adapters of cimtwin._geometry: vertex arrays round trip, threaded GEOS calls equal one call."""

import numpy as np
import pytest
import shapely

import cimtwin
from cimtwin._geometry import linestrings_from, thread_map, threaded, vertex_arrays


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
