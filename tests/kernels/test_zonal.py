"""The CPU zonal kernel against np.bincount: exact counts, sums to rounding, repeatable sums."""

import numba
import numpy as np
import pytest

import cimtwin.kernels.zonal as kz


@pytest.fixture
def rng():
    return np.random.default_rng(12)


def _inputs(rng, n, nbins, nan_share=0.0):
    values = rng.random(n, dtype=np.float32)
    values[rng.random(n) < nan_share] = np.nan
    bins = rng.integers(-1, nbins, n).astype(np.int32)
    return values, bins


@pytest.mark.parametrize("serial_below", [1 << 21, 0])  # serial path and parallel path
def test_matches_bincount(rng, monkeypatch, serial_below):
    monkeypatch.setattr(kz, "_SERIAL_BELOW", serial_below)
    values, bins = _inputs(rng, 1 << 20, 37, nan_share=0.05)
    cnt, tot, lo, hi, above, cells = kz.zonal_cpu(values, bins, 37, None, 0.5)
    keep = bins >= 0
    ok = keep & ~np.isnan(values)
    b, v = bins[ok], values[ok].astype(np.float64)
    assert np.array_equal(cnt, np.bincount(b, minlength=37))
    assert np.array_equal(cells, np.bincount(bins[keep], minlength=37))
    assert np.array_equal(above, np.bincount(b[v > 0.5], minlength=37))
    np.testing.assert_allclose(tot, np.bincount(b, weights=v, minlength=37), rtol=1e-12)
    ref_lo = np.full(37, np.inf)
    ref_hi = np.full(37, -np.inf)
    np.minimum.at(ref_lo, b, v)
    np.maximum.at(ref_hi, b, v)
    assert np.array_equal(lo, ref_lo) and np.array_equal(hi, ref_hi)


def test_sums_repeat_exactly_whatever_the_thread_count(rng, monkeypatch):
    monkeypatch.setattr(kz, "_SERIAL_BELOW", 0)
    values, bins = _inputs(rng, 1 << 21, 11)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kz.zonal_cpu(values, bins, 11, None, None)
        numba.set_num_threads(before)
        many = kz.zonal_cpu(values, bins, 11, None, None)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, many):
        assert np.array_equal(a, b)  # bit for bit, not just close


def test_without_minmax_same_counts_and_sums(rng):
    values, bins = _inputs(rng, 10_000, 5, nan_share=0.1)
    full = kz.zonal_cpu(values, bins, 5, 0.25, 0.5)
    lean = kz.zonal_cpu(values, bins, 5, 0.25, 0.5, minmax=False)
    for i in (0, 1, 4, 5):  # count, sum, above, cells
        assert np.array_equal(full[i], lean[i])
    assert np.isinf(lean[2]).all() and np.isinf(lean[3]).all()


def test_nodata_counts_as_a_cell_not_a_value():
    values = np.array([1.0, -9.0, 3.0, np.nan], np.float32)
    bins = np.array([0, 0, 1, 1], np.int32)
    cnt, tot, lo, hi, above, cells = kz.zonal_cpu(values, bins, 2, -9.0, 0.0)
    assert cnt.tolist() == [1, 1] and cells.tolist() == [2, 2] and above.tolist() == [1, 1]
    assert tot.tolist() == [1.0, 3.0] and lo.tolist() == [1.0, 3.0]
