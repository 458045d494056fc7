import numpy as np
import pytest

from cimtwin.errors import GeographicCRSError, GridAlignmentError, ValidationError
from cimtwin.grid import GridSpec


def test_from_bounds_covers_bounds():
    spec = GridSpec.from_bounds((0, 0, 105, 50), res_m=10, crs="EPSG:4547")
    assert spec.shape == (5, 11) and spec.res == (10.0, 10.0)
    assert spec.bounds == (0.0, -5.0 + 5.0 - 10.0 * 5 + 50.0, 110.0, 50.0)
    assert spec.xy(0, 0) == (5.0, 45.0)


def test_xy_rowcol_round_trip(spec, rng):
    rows = rng.integers(0, spec.shape[0], 50)
    cols = rng.integers(0, spec.shape[1], 50)
    x, y = spec.xy(rows, cols)
    r2, c2 = spec.rowcol(x, y)
    assert np.array_equal(r2, rows) and np.array_equal(c2, cols)
    rf, cf = spec.rowcol_float(x + 2.5, y)
    np.testing.assert_allclose(cf, cols + 0.25)
    np.testing.assert_allclose(rf, rows)


def test_cell_centres_match_dataarray(spec):
    da = spec.to_dataarray(np.zeros(spec.shape))
    np.testing.assert_allclose(da["x"], spec.x)
    np.testing.assert_allclose(da["y"], spec.y)
    assert GridSpec.from_dataarray(da).is_aligned(spec)


def test_alignment(spec):
    same = GridSpec(spec.transform, spec.shape, spec.crs)
    spec.require_aligned(same)
    from affine import Affine

    t = spec.transform
    shifted = GridSpec(Affine(t.a, 0, t.c + 5, 0, t.e, t.f), spec.shape, spec.crs)
    assert not spec.is_aligned(shifted)
    with pytest.raises(GridAlignmentError, match="reproject_match"):
        spec.require_aligned(shifted)
    with pytest.raises(GridAlignmentError):
        spec.require_aligned(GridSpec(t, (spec.shape[0] + 1, spec.shape[1]), spec.crs))
    with pytest.raises(GridAlignmentError):
        spec.to_dataarray(np.zeros((2, 2)))


def test_bad_specs():
    with pytest.raises(GeographicCRSError):
        GridSpec.from_bounds((114, 30, 115, 31), res_m=0.01, crs="EPSG:4326")
    with pytest.raises(ValidationError):
        GridSpec.from_bounds((0, 0, 10, 10), res_m=-1)
    with pytest.raises(ValidationError):
        GridSpec.from_bounds((10, 0, 0, 10), res_m=1)
