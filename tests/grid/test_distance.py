import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

from cimtwin.errors import GeographicCRSError, InputTypeError, ValidationError
from cimtwin.grid import distance


def _check_against_scipy(mask, res):
    d, idx = distance(mask, res_m=res, return_index=True)
    ref = ndimage.distance_transform_edt(~mask) * res
    assert d.dtype == np.float32 and idx.dtype == np.int64
    np.testing.assert_allclose(d, ref, atol=1e-3, rtol=1e-6)
    # the index points at a source whose distance is the distance (ties may differ from scipy)
    assert mask.ravel()[idx.ravel()].all()
    r, c = np.divmod(idx, mask.shape[1])
    ii, jj = np.indices(mask.shape)
    np.testing.assert_allclose(np.hypot(r - ii, c - jj) * res, d, atol=1e-3, rtol=1e-6)


@pytest.mark.parametrize("shape,p", [((1, 1), 1.0), ((1, 17), 0.2), ((23, 1), 0.2), ((40, 31), 0.02),
                                     ((64, 64), 0.5), ((130, 90), 0.001)])
def test_matches_scipy(rng, shape, p):
    mask = rng.random(shape) < p
    mask.flat[rng.integers(mask.size)] = True
    _check_against_scipy(mask, 2.5)


def test_single_source_far_corner():
    mask = np.zeros((50, 700), bool)
    mask[49, 699] = True
    _check_against_scipy(mask, 30.0)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=25)))
def test_property_scipy_and_input_unchanged(mask):
    if not mask.any():
        mask[0, 0] = True
    before = mask.copy()
    _check_against_scipy(mask, 1.0)
    assert np.array_equal(mask, before)


def test_distance_only_equals_with_index(rng):
    mask = rng.random((33, 47)) < 0.05
    mask[0, 0] = True
    d1 = distance(mask, res_m=5.0)
    d2, _ = distance(mask, res_m=5.0, return_index=True)
    assert np.array_equal(d1, d2)


def test_max_distance(rng):
    mask = np.zeros((20, 20), bool)
    mask[10, 10] = True
    d, idx = distance(mask, res_m=1.0, max_distance_m=5.0, return_index=True)
    far = ndimage.distance_transform_edt(~mask) > 5.0
    assert np.isinf(d[far]).all() and (idx[far] == -1).all()
    assert np.isfinite(d[~far]).all() and (idx[~far] == 10 * 20 + 10).all()


def test_thiessen_from_index():
    mask = np.zeros((5, 9), bool)
    mask[2, 0] = mask[2, 8] = True
    gauge_values = np.zeros(mask.shape)
    gauge_values[2, 0], gauge_values[2, 8] = 1.0, 2.0
    _, idx = distance(mask, res_m=1.0, return_index=True)
    nearest = gauge_values.ravel()[idx]
    assert (nearest[:, :4] == 1.0).all() and (nearest[:, 5:] == 2.0).all()


def test_dataarray_roundtrip(spec):
    mask = np.zeros(spec.shape, bool)
    mask[3, 4] = True
    da = spec.to_dataarray(mask)
    out = distance(da)
    assert out.dims == da.dims
    np.testing.assert_array_equal(out["x"], da["x"])
    assert out.attrs["units"] == "m" and out.attrs["backend"] == "cpu"
    assert out.rio.crs.to_epsg() == 4547
    np.testing.assert_allclose(out.values, ndimage.distance_transform_edt(~mask) * 10.0, atol=1e-3)
    d, idx = distance(da, return_index=True)
    assert idx.attrs["backend"] == "cpu" and int(idx.values[0, 0]) == 3 * spec.shape[1] + 4


def test_numeric_and_noncontiguous_masks(rng):
    mask = (rng.random((30, 40)) < 0.05)
    mask[0, 0] = True
    np.testing.assert_array_equal(distance(mask.astype("uint8"), res_m=1.0), distance(mask, res_m=1.0))
    t = np.asfortranarray(mask)[:, ::2]
    np.testing.assert_allclose(distance(t, res_m=1.0), ndimage.distance_transform_edt(~t), atol=1e-3)


def test_bad_input(geographic_da):
    with pytest.raises(ValidationError, match="no True cell"):
        distance(np.zeros((3, 3), bool), res_m=1.0)
    with pytest.raises(ValidationError, match="res_m"):
        distance(np.ones((3, 3), bool))
    with pytest.raises(ValidationError):
        distance(np.ones((3, 3), bool), res_m=0)
    with pytest.raises(ValidationError, match="2-D"):
        distance(np.ones((3, 3, 3), bool), res_m=1.0)
    with pytest.raises(ValidationError, match="NaN"):
        distance(np.array([[1.0, np.nan]]), res_m=1.0)
    with pytest.raises(InputTypeError):
        distance([[True, False]], res_m=1.0)
    with pytest.raises(GeographicCRSError):
        distance(geographic_da | True)
    with pytest.raises(ValidationError, match="backend"):
        distance(np.ones((2, 2), bool), res_m=1.0, backend="tpu")
