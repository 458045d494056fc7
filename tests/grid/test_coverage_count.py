import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.errors import GeographicCRSError, ValidationError
from cimtwin.grid import GridSpec, coverage_count, coverage_count_points


def brute(shape, rows, cols, radius, az=None, hfov=None):
    ii, jj = np.indices(shape)
    out = np.zeros(shape, np.int32)
    radius = np.broadcast_to(np.asarray(radius, float), np.shape(rows))
    for s in range(len(rows)):
        d2 = (ii - rows[s]) ** 2 + (jj - cols[s]) ** 2
        m = d2 <= radius[s] ** 2
        if az is not None and hfov[s] < 360:
            bearing = np.degrees(np.arctan2(jj - cols[s], -(ii - rows[s])))  # 0 = north, clockwise
            off = np.abs((bearing - az[s] + 180.0) % 360.0 - 180.0)
            m &= (off <= hfov[s] / 2 + 1e-7) | (d2 == 0)
        out += m
    return out


@pytest.mark.parametrize("method", ["stamp", "sweep", "auto"])
def test_disks_match_brute_force(rng, method):
    for trial in range(25):
        shape = (int(rng.integers(1, 35)), int(rng.integers(1, 35)))
        n = int(rng.integers(0, 12))
        rows = rng.uniform(-6, shape[0] + 6, n)
        cols = rng.uniform(-6, shape[1] + 6, n)
        if trial % 2:
            rows, cols = np.round(rows), np.round(cols)
        radius = rng.uniform(0.2, 10, n) if trial % 3 else float(rng.integers(1, 7))
        got = coverage_count(shape, rows, cols, radius, method=method)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, brute(shape, rows, cols, radius))


def test_sectors_match_brute_force(rng):
    for _ in range(25):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        n = int(rng.integers(1, 10))
        rows = rng.uniform(-4, shape[0] + 4, n)
        cols = rng.uniform(-4, shape[1] + 4, n)
        radius = rng.uniform(0.5, 12, n)
        az = rng.uniform(-90, 450, n)
        hfov = rng.uniform(1, 400, n)
        got = coverage_count(shape, rows, cols, radius, azimuth_deg=az, hfov_deg=hfov)
        np.testing.assert_array_equal(got, brute(shape, rows, cols, radius, az % 360, hfov))


def test_sector_boundary_inclusive_and_apex():
    got = coverage_count((7, 7), [3], [3], 2, azimuth_deg=[0], hfov_deg=[90])
    expected = np.zeros((7, 7), np.int32)
    expected[1, 3] = 1  # 2 cells north
    expected[2, 2:5] = 1  # the 45-degree diagonals are on the boundary: included
    expected[3, 3] = 1  # apex
    np.testing.assert_array_equal(got, expected)
    east = coverage_count((7, 7), [3], [3], 2, azimuth_deg=[90], hfov_deg=[1])
    assert east[3, 3:6].tolist() == [1, 1, 1] and east.sum() == 3


def test_exact_radius_counts():
    got = coverage_count((5, 5), [2], [2], 2)
    assert got[0, 2] == 1 and got[2, 0] == 1 and got[0, 1] == 0 and got.sum() == 13


def test_source_outside_grid_reaches_in():
    got = coverage_count((5, 5), [-2], [2], 2.5)
    assert got[0, 2] == 1 and got[0, 1] == 1 and got.sum() == 3


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 20), st.floats(-3, 20)), min_size=1, max_size=8),
       st.floats(0.1, 6), st.floats(0.0, 5))
def test_property_monotone_in_radius_and_input_unchanged(points, r, extra):
    rows = np.array([p[0] for p in points])
    cols = np.array([p[1] for p in points])
    before = (rows.copy(), cols.copy())
    small = coverage_count((18, 18), rows, cols, r)
    big = coverage_count((18, 18), rows, cols, r + extra)
    assert (big >= small).all()
    assert np.array_equal(rows, before[0]) and np.array_equal(cols, before[1])
    np.testing.assert_array_equal(coverage_count((18, 18), rows, cols, r, method="sweep"), small)


def test_points_wrapper(spec):
    x, y = spec.xy(np.array([2, 9]), np.array([3, 12]))
    out = coverage_count_points(spec, x, y, radius_m=25.0)
    assert out.attrs["units"] == "count" and out.rio.crs.to_epsg() == 4547
    np.testing.assert_array_equal(out.values, brute(spec.shape, [2, 9], [3, 12], 2.5))
    sect = coverage_count_points(spec, x, y, radius_m=25.0, azimuth_deg=[0, 180], hfov_deg=[90, 90])
    assert int(sect.values.sum()) < int(out.values.sum())


def test_dataarray_template(spec):
    template = spec.to_dataarray(np.zeros(spec.shape, np.float32))
    out = coverage_count(template, [3.0], [4.0], 2.0)
    assert out.attrs["units"] == "count" and out.attrs["backend"] == "cpu"
    assert out.rio.crs.to_epsg() == 4547
    np.testing.assert_array_equal(out["x"], template["x"])
    np.testing.assert_array_equal(out.values, coverage_count(spec.shape, [3.0], [4.0], 2.0))


def test_bad_input():
    with pytest.raises(ValidationError, match="> 0"):
        coverage_count((5, 5), [1], [1], 0)
    with pytest.raises(ValidationError, match="> 0"):
        coverage_count((5, 5), [1, 2], [1, 2], [1, -1])
    with pytest.raises(ValidationError, match="same length"):
        coverage_count((5, 5), [1, 2], [1], 1)
    with pytest.raises(ValidationError, match="non-finite"):
        coverage_count((5, 5), [np.nan], [1], 1)
    with pytest.raises(ValidationError, match="both"):
        coverage_count((5, 5), [1], [1], 1, azimuth_deg=[0])
    with pytest.raises(ValidationError, match="shape"):
        coverage_count((5, 0), [1], [1], 1)
    geo = GridSpec.from_bounds((114.0, 30.0, 114.1, 30.1), res_m=0.01)
    geo = GridSpec(geo.transform, geo.shape, "EPSG:4326")
    with pytest.raises(GeographicCRSError):
        coverage_count_points(geo, [114.05], [30.05], radius_m=100)
