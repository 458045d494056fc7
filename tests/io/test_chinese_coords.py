"""GCJ-02 / BD-09 conversions against prcoords, an independent published implementation."""

from __future__ import annotations

import numpy as np
import prcoords
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.io.chinese_coords import (
    CHINA_BBOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def china_points():
    # Synthetic random points across mainland China's latitude/longitude range.
    rng = np.random.default_rng(20210903)
    return rng.uniform(73.0, 135.0, 2000), rng.uniform(18.0, 53.0, 2000)


def _prc(fn, lon, lat):
    out = np.array([fn(prcoords.Coords(b, a)) for a, b in zip(lon, lat)])
    return out[:, 1], out[:, 0]  # prcoords' Coords is (lat, lon)


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(wgs84_to_gcj02, prcoords.wgs_gcj), (gcj02_to_bd09, prcoords.gcj_bd), (wgs84_to_bd09, prcoords.wgs_bd)],
)
def test_forward_matches_prcoords(china_points, ours, theirs):
    lon, lat = china_points
    got_lon, got_lat = ours(lon, lat)
    ref_lon, ref_lat = _prc(theirs, lon, lat)
    np.testing.assert_allclose(got_lon, ref_lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat, ref_lat, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("ours", "their_forward", "their_inverse"),
    [
        (gcj02_to_wgs84, prcoords.wgs_gcj, prcoords.gcj_wgs_bored),
        (bd09_to_gcj02, prcoords.gcj_bd, prcoords.bd_gcj_bored),
        (bd09_to_wgs84, prcoords.wgs_bd, prcoords.bd_wgs_bored),
    ],
)
def test_inverse_within_1cm_against_prcoords(china_points, ours, their_forward, their_inverse):
    lon, lat = china_points[0][:300], china_points[1][:300]
    got_lon, got_lat = ours(lon, lat)
    # prcoords' forward maps our inverse back onto the input to under 1 cm ...
    fwd_lon, fwd_lat = _prc(their_forward, got_lon, got_lat)
    assert np.max(_metres(fwd_lon, fwd_lat, lon, lat)) < 0.01
    # ... and prcoords' own iterative inverse agrees with ours. It stops once its last
    # correction is below 1e-5 degree, which leaves it up to ~2 cm from the exact answer
    # for BD-09 -> WGS84, hence the looser bound here.
    ref_lon, ref_lat = _prc(their_inverse, lon, lat)
    assert np.max(_metres(got_lon, got_lat, ref_lon, ref_lat)) < 0.05


@pytest.mark.parametrize(
    ("fwd", "inv"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (gcj02_to_bd09, bd09_to_gcj02), (wgs84_to_bd09, bd09_to_wgs84)],
)
def test_round_trip_under_1cm(china_points, fwd, inv):
    lon, lat = china_points
    back_lon, back_lat = inv(*fwd(lon, lat))
    assert np.max(_metres(lon, lat, back_lon, back_lat)) < 0.01
    # and the other way round: inverse first
    again_lon, again_lat = fwd(*inv(lon, lat))
    assert np.max(_metres(lon, lat, again_lon, again_lat)) < 0.01


@settings(max_examples=60, deadline=None)
@given(
    st.floats(CHINA_BBOX[0], CHINA_BBOX[2]),
    st.floats(CHINA_BBOX[1], CHINA_BBOX[3]),
)
def test_round_trip_property(lon, lat):
    # Keep away from the box edge, where an offset point may leave the box.
    lon = min(max(lon, CHINA_BBOX[0] + 0.05), CHINA_BBOX[2] - 0.05)
    lat = min(max(lat, CHINA_BBOX[1] + 0.05), CHINA_BBOX[3] - 0.05)
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert _metres(lon, lat, float(back[0]), float(back[1])) < 0.01


def test_offset_at_jinan_is_about_half_a_kilometre():
    # Jinan city centre (117.0 E, 36.65 N): the GCJ-02 offset is 523 m, mostly eastward.
    lon, lat = 117.0, 36.65
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert _metres(lon, lat, float(g_lon), float(g_lat)) == pytest.approx(523.0, abs=1.0)
    assert g_lon > lon
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    assert 1200 < _metres(lon, lat, float(b_lon), float(b_lat)) < 1400


def test_outside_china_unchanged():
    lon = np.array([2.35, -74.0, 139.7, 100.0])  # Paris, New York, Tokyo, a point at lat 60
    lat = np.array([48.85, 40.7, 35.7, 60.0])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    assert in_china(lon, lat).tolist() == [False] * 4
    assert bool(in_china(117.0, 36.65))


def test_scalar_in_scalar_out_and_shapes():
    lon, lat = wgs84_to_gcj02(117.0, 36.65)
    assert np.ndim(lon) == 0 and isinstance(float(lon), float)
    grid_lon, grid_lat = gcj02_to_wgs84(np.full((2, 3), 117.0), 36.65)  # broadcasting
    assert grid_lon.shape == grid_lat.shape == (2, 3)
    nan_lon, nan_lat = gcj02_to_wgs84([117.0, np.nan], [36.65, np.nan])
    assert np.isnan(nan_lon[1]) and np.isnan(nan_lat[1]) and np.isfinite(nan_lon[0])


def test_inputs_not_modified():
    lon = np.array([117.0, 117.1])
    lat = np.array([36.6, 36.7])
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [117.0, 117.1])


def test_bad_input_errors():
    with pytest.raises(ValidationError, match="swapped"):
        wgs84_to_gcj02(36.65, 117.0)
    with pytest.raises(InputTypeError):
        wgs84_to_gcj02("east", 36.65)
    with pytest.raises(ValidationError, match="broadcast"):
        wgs84_to_gcj02([117.0, 117.1, 117.2], [36.6, 36.7])
