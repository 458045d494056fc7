"""Tiled (dask) hydrology equals the in-memory result cell for cell."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cimtwin.errors import ValidationError
from cimtwin.grid import (GridSpec, balanced_chunks, depression_depth, fill_depressions, flow_accumulation,
                          flow_direction_d8, hand)


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="synchronous"):
        yield


def _dem(h: int, w: int, seed: int, *, flats: bool = True, holes: bool = True) -> xr.DataArray:
    """Synthetic DEM: coarse integer heights (many ties and pits), a broad flat, nodata specks."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 6, (h, w)).astype("float32")
    if flats:
        z[h // 4: h // 2 + 1, w // 5: 4 * w // 5 + 1] = 2.0
    if holes:
        z[rng.random((h, w)) < 0.03] = np.nan
    spec = GridSpec.from_bounds((0, 0, w * 10, h * 10), res_m=10, crs="EPSG:32650")
    return spec.to_dataarray(z)


def _chunk(da: xr.DataArray, chunks) -> xr.DataArray:
    if isinstance(chunks, int):
        chunks = (chunks, chunks)
    return da.chunk(dict(zip(da.dims, chunks)))


def _assert_same(lazy, expected):
    assert lazy.chunks is not None  # still dask-backed
    got = lazy.compute()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.values, expected.values)


def _check_all(dem: xr.DataArray, chunks) -> None:
    filled = fill_depressions(dem)
    _assert_same(fill_depressions(_chunk(dem, chunks)), filled)
    lazy = _chunk(filled, chunks)
    d8 = flow_direction_d8(filled, conditioned=True)
    _assert_same(flow_direction_d8(lazy, conditioned=True), d8)
    acc = flow_accumulation(filled, conditioned=True)
    _assert_same(flow_accumulation(lazy, conditioned=True), acc)
    _assert_same(hand(lazy, conditioned=True, stream_threshold_cells=4),
                 hand(filled, conditioned=True, stream_threshold_cells=4))


@pytest.mark.parametrize("chunks", [(7, 9), (1, 40), (40, 1), (13, 40), (4, 3)])
def test_equal_in_memory_for_chunk_shapes(chunks):
    _check_all(_dem(17, 19, 1), chunks)


def test_one_cell_chunks():
    _check_all(_dem(7, 9, 2), (1, 1))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(2, 24), w=st.integers(2, 24), seed=st.integers(0, 10_000), flats=st.booleans(),
       holes=st.booleans(), data=st.data())
def test_equal_in_memory_property(h, w, seed, flats, holes, data):
    # at most ~6 tiles a side keeps the example fast; one-row chunks still come up
    ch = (data.draw(st.integers(max(1, h // 6), h)), data.draw(st.integers(max(1, w // 6), w)))
    _check_all(_dem(h, w, seed, flats=flats, holes=holes), ch)


def test_flat_spanning_many_tiles_resolves_as_in_memory():
    # a long winding flat: a serpentine channel at one height through a plateau
    z = np.full((30, 30), 9.0, "float32")
    for r in range(2, 28, 4):
        z[r, 1:29] = 3.0
    for k, r in enumerate(range(2, 26, 4)):
        z[r:r + 5, 28 if k % 2 == 0 else 1] = 3.0
    z[26, 0] = 1.0  # the only outlet of the channel
    dem = GridSpec.from_bounds((0, 0, 300, 300), res_m=10, crs="EPSG:32650").to_dataarray(z)
    _check_all(dem, (4, 5))



@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(3, 40), w=st.integers(3, 40), seed=st.integers(0, 10_000), data=st.data())
def test_flats_across_many_tiles_property(h, w, seed, data):
    # one broad flat cut by random walls, with a few outlets and holes: flats cross many tiles,
    # so the rounds re-seed tiles from halo distances that drop one round after another
    rng = np.random.default_rng(seed)
    z = np.full((h, w), 2.0, "float32")
    z[rng.random((h, w)) < 0.25] = 5.0
    z[rng.random((h, w)) < 0.01] = 1.0
    z[rng.random((h, w)) < 0.02] = np.nan
    dem = GridSpec.from_bounds((0, 0, w * 10, h * 10), res_m=10, crs="EPSG:32650").to_dataarray(z)
    filled = fill_depressions(dem)
    # up to 6 tiles a side keeps an example fast; one-row and one-column chunks still come up
    ch = tuple(data.draw(st.integers(max(1, n // 6), max(1, n // 2))) for n in (h, w))
    _assert_same(flow_direction_d8(_chunk(filled, ch), conditioned=True),
                 flow_direction_d8(filled, conditioned=True))

def test_default_unconditioned_chain_and_depth_on_dask():
    dem = _dem(20, 25, 7)
    lazy = _chunk(dem, (6, 8))
    _assert_same(flow_direction_d8(lazy), flow_direction_d8(dem))
    _assert_same(flow_accumulation(lazy), flow_accumulation(dem))
    _assert_same(hand(lazy, stream_threshold_cells=3), hand(dem, stream_threshold_cells=3))
    _assert_same(depression_depth(lazy), depression_depth(dem))


def test_nodata_value_and_reused_directions():
    dem = _dem(18, 22, 3, holes=False)
    dem = dem.where(dem != 0, -9999.0)
    expected = flow_accumulation(dem, nodata=-9999.0)
    _assert_same(flow_accumulation(_chunk(dem, (5, 7)), nodata=-9999.0), expected)
    filled = fill_depressions(dem, nodata=-9999.0)
    d8 = flow_direction_d8(_chunk(filled, (5, 7)), conditioned=True, nodata=-9999.0)
    acc = flow_accumulation(_chunk(filled, (5, 7)), conditioned=True, d8=d8)
    got = hand(_chunk(filled, (5, 7)), conditioned=True, d8=d8, accumulation=acc, stream_threshold_cells=2,
               nodata=-9999.0)
    _assert_same(got, hand(filled, conditioned=True, stream_threshold_cells=2, nodata=-9999.0))


def test_dask_dem_gets_the_in_memory_errors():
    dem = _dem(10, 12, 0)
    flipped = dem.isel(y=slice(None, None, -1))  # south-up: not a north-up transform
    for fn in (fill_depressions, flow_direction_d8, flow_accumulation):
        with pytest.raises(ValidationError, match="north-up") as mem:
            fn(flipped)
        with pytest.raises(ValidationError, match="north-up") as lazy:
            fn(_chunk(flipped, 4))
        assert str(mem.value) == str(lazy.value)
    nocrs = xr.DataArray(dem.values, dims=("y", "x"), coords={"y": dem.y, "x": dem.x})
    _assert_same(fill_depressions(_chunk(nocrs, 4)), fill_depressions(nocrs))
    with pytest.raises(ValidationError, match="epsilon"):
        fill_depressions(_chunk(dem, 4), epsilon=True)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5000), target=st.integers(1, 1500))
def test_balanced_chunks_are_near_equal(n, target):
    (rows,) = balanced_chunks((n,), target)
    assert sum(rows) == n and max(rows) <= target and max(rows) - min(rows) <= 1
    assert len(rows) == -(-n // target)  # as few tiles as plain chunking


@pytest.mark.parametrize("target", [5, 8, 40])
def test_equal_in_memory_on_balanced_chunks(target):
    dem = _dem(23, 17, 5)
    _check_all(dem, balanced_chunks(dem.shape, target))
