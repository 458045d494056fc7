"""Fill-Spill-Merge ponding: worked cases and hypothesis properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cimtwin.errors import GridAlignmentError, ValidationError
from cimtwin.grid import GridSpec, depression_depth, ponding_depth

dems = arrays(np.float32, st.tuples(st.integers(3, 10), st.integers(3, 10)),
              elements=st.integers(0, 12).map(float))
rain = st.floats(0.0, 5000.0)


def _two_pits():
    # two pits separated by a saddle of 6; the merged lake spills over the 8 on the south edge
    return np.array([
        [9, 9, 9, 9, 9, 9, 9],
        [9, 1, 9, 9, 9, 2, 9],
        [9, 9, 6, 6, 6, 9, 9],
        [9, 9, 9, 9, 9, 8, 9],
    ], dtype=np.float32)


def test_single_pit_worked():
    dem = np.array([[5, 5, 5], [5, 1, 5], [5, 4, 5]], dtype=np.float32)
    res = ponding_depth(dem, 1000.0, res_m=1.0)
    assert res.depth_m[1, 1] == pytest.approx(1.0)
    assert res.ponded_volume_m3 == pytest.approx(1.0)
    assert res.outflow_volume_m3 == pytest.approx(8.0)
    # 10 m of runoff: the basin (one cell) gets 10 m^3, stores 3 up to the spill at 4
    res = ponding_depth(dem, 10_000.0, res_m=1.0)
    assert res.depth_m[1, 1] == pytest.approx(3.0)
    assert res.runoff_volume_m3 == pytest.approx(90.0)
    assert res.outflow_volume_m3 == pytest.approx(87.0)


def test_spill_then_merge():
    dem = _two_pits()
    # runoff only on the left pit: it fills to the saddle at 6 (5 m3), spills right
    runoff = np.zeros(dem.shape)
    runoff[1, 1] = 7000.0  # 7 m3 on 1 m cells
    res = ponding_depth(dem, runoff, res_m=1.0)
    assert res.depth_m[1, 1] == pytest.approx(5.0)   # full to the saddle (6 - 1)
    assert res.depth_m[1, 5] == pytest.approx(2.0)   # the excess 2 m3 in the right pit
    assert res.outflow_volume_m3 == pytest.approx(0.0, abs=1e-9)
    # much more: both fill past the saddle and merge; the merged lake spills at 8 and
    # stores 7+6 (pits) + 3*2 (saddle cells) = 19 m3, the rest leaves
    runoff[1, 1] = 50_000.0
    res = ponding_depth(dem, runoff, res_m=1.0)
    assert res.ponded_volume_m3 == pytest.approx(19.0)
    assert res.outflow_volume_m3 == pytest.approx(31.0)
    assert res.depth_m[2, 3] == pytest.approx(2.0)


def test_dataarray_and_errors():
    spec = GridSpec.from_bounds((0, 0, 70, 40), res_m=10, crs="EPSG:32650")
    da = spec.to_dataarray(_two_pits())
    res = ponding_depth(da, 100.0)
    assert res.depth_m.attrs["units"] == "m"
    assert res.depth_m.attrs["ponded_volume_m3"] == pytest.approx(res.ponded_volume_m3)
    geo = GridSpec.from_bounds((117.0, 36.0, 117.07, 36.04), res_m=0.01)
    da_geo = geo.to_dataarray(_two_pits())
    da_geo = da_geo.assign_attrs(crs="EPSG:4326")
    with pytest.raises(ValidationError):
        ponding_depth(da_geo, 100.0)
    with pytest.raises(ValidationError):
        ponding_depth(_two_pits(), -1.0, res_m=1)
    with pytest.raises(GridAlignmentError):
        ponding_depth(_two_pits(), np.zeros((2, 2)), res_m=1)
    with pytest.raises(ValidationError):
        ponding_depth(_two_pits(), 10.0)  # numpy input needs res_m


@settings(max_examples=60, deadline=None)
@given(dems, rain, st.floats(1.0, 10.0))
def test_fsm_properties(dem, rain_mm, res_m):
    before = dem.copy()
    res = ponding_depth(dem, rain_mm, res_m=res_m)
    np.testing.assert_array_equal(dem, before)
    total = res.ponded_volume_m3 + res.outflow_volume_m3
    assert total == pytest.approx(res.runoff_volume_m3, rel=1e-9, abs=1e-6)
    assert float(res.depth_m.sum()) * res_m**2 == pytest.approx(res.ponded_volume_m3, rel=1e-5, abs=1e-4)
    spill = depression_depth(dem)
    assert (res.depth_m <= spill + 1e-4).all()
    assert (res.depth_m >= 0).all()
    more = ponding_depth(dem, rain_mm * 1.5 + 10.0, res_m=res_m)
    assert (more.depth_m >= res.depth_m - 1e-4).all()


@settings(max_examples=30, deadline=None)
@given(dems, rain)
def test_no_ponding_without_depressions(dem, rain_mm):
    from cimtwin.grid import fill_depressions

    filled = fill_depressions(dem, epsilon=True)  # nothing left to hold water
    res = ponding_depth(filled, rain_mm, res_m=2.0)
    assert float(res.depth_m.max()) == 0.0
    assert res.outflow_volume_m3 == pytest.approx(res.runoff_volume_m3)


@settings(max_examples=40, deadline=None)
@given(dems, rain, st.booleans(), st.booleans())
def test_fast_fsm_matches_sorted_reference(dem, rain_mm, with_holes, as_float64):
    """The boundary-event merge tree gives the full-sort reference's depths and volumes."""
    from cimtwin.kernels.ponding import fill_spill_merge, fill_spill_merge_sorted

    z = dem.astype(np.float64) if as_float64 else dem
    valid = np.ones(z.shape, dtype=bool)
    if with_holes:
        valid.flat[:: 7] = False
    z = np.where(valid, z, np.nan).astype(z.dtype)
    runoff = np.linspace(0.0, rain_mm, z.size).reshape(z.shape)
    d_ref, r_ref, p_ref, o_ref = fill_spill_merge_sorted(z, valid, runoff / 1000.0, 4.0)
    d_new, r_new, p_new, o_new = fill_spill_merge(z, valid, runoff, 4.0)
    np.testing.assert_allclose(d_new, d_ref.astype(np.float32), rtol=1e-6, atol=1e-6)
    assert (r_new, p_new, o_new) == pytest.approx((r_ref, p_ref, o_ref), rel=1e-9, abs=1e-9)
    # a uniform runoff is passed as a scalar (no full-grid array)
    d_uni = fill_spill_merge(z, valid, 25.0, 4.0)[0]
    np.testing.assert_allclose(d_uni, fill_spill_merge(z, valid, np.full(z.shape, 25.0), 4.0)[0])


def test_fast_fsm_matches_reference_on_nested_depressions():
    """Deep merge trees (many nested pits in a few large basins), where the node search jumps."""
    from cimtwin.kernels.ponding import fill_spill_merge, fill_spill_merge_sorted

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:80, 0:90]
    z = (np.sin(x / 9.0) * np.cos(y / 7.0) * 5.0 + rng.normal(scale=0.4, size=x.shape)).astype(np.float32)
    valid = np.ones(z.shape, dtype=bool)
    for rain_mm in (5.0, 60.0, 400.0):
        d_ref, r_ref, p_ref, o_ref = fill_spill_merge_sorted(z, valid, np.full(z.shape, rain_mm / 1000.0), 25.0)
        d_new, r_new, p_new, o_new = fill_spill_merge(z, valid, rain_mm, 25.0)
        np.testing.assert_allclose(d_new, d_ref.astype(np.float32), rtol=1e-6, atol=1e-6)
        assert (r_new, p_new, o_new) == pytest.approx((r_ref, p_ref, o_ref), rel=1e-9, abs=1e-9)


def test_fsm_is_the_same_on_any_number_of_threads():
    """Cells find their merge-tree node in parallel runs; depths and volumes are bit for bit those of one thread."""
    import numba

    from cimtwin.kernels.ponding import fill_spill_merge

    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:120, 0:97]
    z = (np.sin(x / 8.0) * np.cos(y / 6.0) * 5.0 + rng.normal(scale=0.5, size=x.shape)).astype(np.float32)
    valid = rng.random(z.shape) > 0.02
    before = numba.get_num_threads()
    results = []
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            results.append(fill_spill_merge(z, valid, 80.0, 25.0))
    finally:
        numba.set_num_threads(before)
    for depth, *volumes in results[1:]:
        np.testing.assert_array_equal(depth, results[0][0])
        assert volumes == list(results[0][1:])
    assert results[0][0].max() > 0  # something ponds
