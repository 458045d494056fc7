"""Hydrology: worked cases, an independent fill reference, and hypothesis properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cimtwin.errors import CimtwinError, NodataError, ValidationError
from cimtwin.grid import (GridSpec, depression_depth, fill_depressions, flow_accumulation, flow_direction_d8,
                          hand, resolve_flats)

OFFSETS = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]


def _shift(a, dr, dc, fill):
    """out[r, c] = a[r + dr, c + dc], ``fill`` outside."""
    out = np.full_like(a, fill)
    rows, cols = a.shape
    rs = slice(max(0, -dr), min(rows, rows - dr))
    cs = slice(max(0, -dc), min(cols, cols - dc))
    rs2 = slice(max(0, dr), min(rows, rows + dr))
    cs2 = slice(max(0, dc), min(cols, cols + dc))
    out[rs, cs] = a[rs2, cs2]
    return out


def reference_fill(dem):
    """Planchon-Darboux style relaxation: the lowest surface >= dem that drains to the edge."""
    dem = dem.astype(np.float64)
    w = np.full_like(dem, np.inf)
    w[0, :], w[-1, :], w[:, 0], w[:, -1] = dem[0, :], dem[-1, :], dem[:, 0], dem[:, -1]
    while True:
        nb = np.min([_shift(w, dr, dc, np.inf) for dr, dc in OFFSETS], axis=0)
        new = np.maximum(dem, np.minimum(w, nb))
        new[0, :], new[-1, :], new[:, 0], new[:, -1] = dem[0, :], dem[-1, :], dem[:, 0], dem[:, -1]
        if np.array_equal(new, w):
            return w
        w = new


def drains_to_edge(surface):
    """True per cell when a non-ascending 8-connected path leads to the grid edge."""
    ok = np.zeros(surface.shape, dtype=bool)
    ok[0, :] = ok[-1, :] = ok[:, 0] = ok[:, -1] = True
    while True:
        new = ok.copy()
        for dr, dc in OFFSETS:
            nb_ok = _shift(ok, dr, dc, False)
            nb_z = _shift(surface, dr, dc, np.inf)
            new |= nb_ok & (nb_z <= surface)
        if np.array_equal(new, ok):
            return ok
        ok = new


dems = arrays(np.float32, st.tuples(st.integers(3, 12), st.integers(3, 12)),
              elements=st.integers(0, 20).map(float))


# -- worked examples ------------------------------------------------------------------
BOWL = np.array([
    [9, 9, 9, 9, 9],
    [9, 2, 3, 4, 9],
    [9, 3, 1, 5, 9],
    [9, 4, 6, 7, 9],
    [9, 9, 8, 9, 9],
], dtype=np.float32)


def test_fill_worked_5x5():
    # the pit drains over the rim cell (4, 2) = 8: everything inside fills to 8
    expect = BOWL.copy()
    expect[1:4, 1:4] = 8
    np.testing.assert_array_equal(fill_depressions(BOWL), expect)
    np.testing.assert_array_equal(depression_depth(BOWL), expect - BOWL)


def test_d8_and_accumulation_worked_4x4():
    dem = np.array([
        [4, 4, 4, 4],
        [4, 3, 2, 4],
        [4, 2, 1, 4],
        [4, 4, 0, 4],
    ], dtype=np.float32)
    # by hand: steepest drop, diagonal drops divided by sqrt(2); e.g. (2,1)=2 goes SE to the
    # outlet 0 (drop 2/1.41 = 1.41) rather than E to 1 (drop 1)
    expect_d8 = np.array([
        [2, 2, 4, 8],
        [2, 2, 4, 8],
        [1, 2, 4, 16],
        [128, 1, 0, 16],
    ], dtype=np.uint8)
    expect_acc = np.array([
        [1, 1, 1, 1],
        [1, 2, 4, 1],
        [1, 4, 9, 1],
        [1, 1, 16, 1],
    ])
    np.testing.assert_array_equal(fill_depressions(dem), dem)
    np.testing.assert_array_equal(flow_direction_d8(dem), expect_d8)
    np.testing.assert_array_equal(flow_accumulation(dem), expect_acc)


def test_accumulation_on_a_line():
    dem = np.array([[5, 4, 3, 2, 1]], dtype=np.float32)
    np.testing.assert_array_equal(flow_direction_d8(dem), [[1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(flow_accumulation(dem), [[1, 2, 3, 4, 5]])


def test_flats_drain_to_outlet():
    dem = np.array([[3, 3, 3, 3, 3], [3, 1, 1, 1, 0], [3, 3, 3, 3, 3]], dtype=np.float32)
    np.testing.assert_array_equal(resolve_flats(dem)[1], [0, 2, 1, 0, 0])
    acc = flow_accumulation(dem, conditioned=True)
    assert acc[1, 3] >= 3  # the flat's cells all pass through its outlet
    assert acc[flow_direction_d8(dem, conditioned=True) == 0].sum() == dem.size


def test_hand_worked():
    dem = np.array([[3, 2, 1]], dtype=np.float32)
    np.testing.assert_allclose(hand(dem, stream_threshold_cells=2), [[1.0, 0.0, 0.0]])
    assert np.isnan(hand(dem, stream_threshold_cells=99)).all()


def test_nodata_drains_and_is_marked():
    dem = BOWL.copy()
    dem[2, 3] = -9999  # a hole next to the pit: the pit now drains into it
    filled = fill_depressions(dem, nodata=-9999)
    assert np.isnan(filled[2, 3])
    assert filled[2, 2] == dem[2, 2]
    d8 = flow_direction_d8(dem, nodata=-9999)
    assert d8[2, 3] == 255
    acc = flow_accumulation(dem, nodata=-9999)
    assert acc[2, 3] == 0
    assert acc[d8 == 0].sum() == dem.size - 1


def test_epsilon_fill_has_no_flats():
    f = fill_depressions(BOWL, epsilon=True)
    assert (f >= BOWL).all()
    assert (resolve_flats(f) == 0).all()


def test_dataarray_roundtrip():
    spec = GridSpec.from_bounds((0, 0, 50, 50), res_m=10, crs="EPSG:32650")
    da = spec.to_dataarray(BOWL)
    out = fill_depressions(da)
    assert out.attrs["units"] == "m"
    np.testing.assert_array_equal(out.values, fill_depressions(BOWL))
    assert flow_accumulation(da).attrs["units"] == "cells"


def test_bad_input():
    with pytest.raises(NodataError):
        fill_depressions(np.full((3, 3), np.nan))
    with pytest.raises(ValidationError):
        fill_depressions(np.zeros(5))
    with pytest.raises(CimtwinError):
        fill_depressions([[1, 2], [3, 4]])
    with pytest.raises(ValidationError):
        hand(BOWL, stream_threshold_cells=0)


# -- properties -------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(dems)
def test_fill_matches_reference_and_drains(dem):
    before = dem.copy()
    filled = fill_depressions(dem)
    np.testing.assert_array_equal(dem, before)  # input unchanged
    assert (filled >= dem).all()
    np.testing.assert_array_equal(filled, reference_fill(dem).astype(np.float32))
    assert drains_to_edge(filled).all()
    # negative heights go through the same packed-key heap
    np.testing.assert_array_equal(fill_depressions(dem - 7.5), filled - 7.5)
    np.testing.assert_array_equal(fill_depressions(dem.astype(np.float64)), filled)


@settings(max_examples=40, deadline=None)
@given(dems)
def test_accumulation_properties(dem):
    before = dem.copy()
    acc = flow_accumulation(dem)
    d8 = flow_direction_d8(dem)
    np.testing.assert_array_equal(dem, before)
    assert acc.min() >= 1
    assert int(acc[d8 == 0].sum()) == dem.size
    h = hand(dem, stream_threshold_cells=3)
    assert np.all(h[~np.isnan(h)] >= 0)


def test_precomputed_d8_is_reused_and_checked():
    filled = fill_depressions(BOWL)
    d8 = flow_direction_d8(filled, conditioned=True)
    np.testing.assert_array_equal(flow_accumulation(filled, d8=d8), flow_accumulation(BOWL))
    np.testing.assert_array_equal(hand(filled, conditioned=True, d8=d8, stream_threshold_cells=3),
                                  hand(BOWL, stream_threshold_cells=3))
    bad = d8.copy()
    bad[0, 0] = 64  # points north, off the grid
    with pytest.raises(ValidationError):
        flow_accumulation(filled, d8=bad)
    with pytest.raises(ValidationError):
        flow_accumulation(filled, d8=d8.astype(np.int32))
    with pytest.raises(ValidationError):
        flow_accumulation(filled, d8=d8[:2])


def test_hand_reuses_precomputed_accumulation():
    filled = fill_depressions(BOWL)
    d8 = flow_direction_d8(filled, conditioned=True)
    acc = flow_accumulation(filled, d8=d8)
    np.testing.assert_array_equal(
        hand(filled, conditioned=True, d8=d8, accumulation=acc, stream_threshold_cells=3),
        hand(BOWL, stream_threshold_cells=3))
    with pytest.raises(ValidationError):
        hand(filled, conditioned=True, accumulation=acc)  # accumulation without its d8
