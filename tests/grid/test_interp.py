import math

import numpy as np
import pytest

from cimtwin.errors import GeographicCRSError, ValidationError
from cimtwin.grid import GridSpec, idw


def brute(shape, rows, cols, vals, power=2.0, radius=math.inf, k=None, nodata=np.nan):
    out = np.empty(shape)
    for i in range(shape[0]):
        for j in range(shape[1]):
            d = np.hypot(rows - i, cols - j)
            idx = np.flatnonzero(d <= radius)
            if idx.size == 0:
                out[i, j] = nodata
                continue
            if k:
                idx = idx[np.argsort(d[idx], kind="stable")[:k]]
            hit = d[idx] < 1e-6
            if hit.any():
                out[i, j] = vals[idx][hit].mean()
                continue
            w = d[idx] ** -power
            out[i, j] = (w * vals[idx]).sum() / w.sum()
    return out


@pytest.mark.parametrize("power", [2.0, 1.0, 3.0, 1.7])
@pytest.mark.parametrize("radius_cells,k", [(None, None), (4.0, None), (None, 1), (6.0, 3)])
def test_matches_brute_force(rng, power, radius_cells, k):
    for _ in range(4):
        shape = (int(rng.integers(1, 25)), int(rng.integers(1, 25)))
        n = int(rng.integers(1, 12))
        rows = rng.uniform(-3, shape[0] + 3, n)
        cols = rng.uniform(-3, shape[1] + 3, n)
        rows[0], cols[0] = float(rng.integers(shape[0])), float(rng.integers(shape[1]))  # an exact hit
        vals = rng.uniform(0, 80, n)
        radius_m = None if radius_cells is None else radius_cells * 5.0
        got = idw(shape, cols, rows, vals, power=power, radius_m=radius_m, k=k, res_m=5.0)
        ref = brute(shape, rows, cols, vals, power, math.inf if radius_cells is None else radius_cells, k)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-4, equal_nan=True)


def test_exact_hit_and_coincident_gauges():
    z = idw((3, 3), [1, 1, 0], [1, 1, 0], [10.0, 20.0, 5.0])
    assert z[1, 1] == 15.0 and z[0, 0] == 5.0


def test_nodata_outside_radius():
    z = idw((1, 20), [0.0], [0.0], [3.0], radius_m=5.0, res_m=1.0, nodata=-9999.0)
    np.testing.assert_allclose(z[0, :6], 3.0, rtol=1e-6)
    assert (z[0, 6:] == -9999.0).all()


def test_input_unchanged(rng):
    x, y, v = rng.uniform(0, 10, 5), rng.uniform(0, 10, 5), rng.uniform(0, 1, 5)
    before = [a.copy() for a in (x, y, v)]
    idw((10, 10), x, y, v, k=2)
    for a, b in zip((x, y, v), before):
        assert np.array_equal(a, b)


def test_spec_and_dataarray(spec):
    gx, gy = spec.xy(np.array([1, 7]), np.array([2, 11]))
    out = idw(spec, gx, gy, [1.0, 3.0])
    assert out.rio.crs.to_epsg() == 4547 and out.attrs["backend"] == "cpu"
    assert out.values[1, 2] == 1.0 and out.values[7, 11] == 3.0
    ref = brute(spec.shape, np.array([1.0, 7.0]), np.array([2.0, 11.0]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(out.values, ref, rtol=1e-5)
    template = spec.to_dataarray(np.zeros(spec.shape, np.float32), attrs={"units": "mm"})
    out2 = idw(template, gx, gy, [1.0, 3.0], radius_m=30.0)
    assert out2.attrs["units"] == "mm" and np.isnan(out2.values).any()
    np.testing.assert_array_equal(out2["y"], template["y"])


def test_bad_input(spec):
    with pytest.raises(ValidationError, match="NaN"):
        idw((3, 3), [0, 1], [0, 1], [1.0, np.nan])
    with pytest.raises(ValidationError, match="one entry per gauge"):
        idw((3, 3), [0, 1], [0], [1.0, 2.0])
    with pytest.raises(ValidationError, match="res_m"):
        idw((3, 3), [0], [0], [1.0], radius_m=10.0)
    with pytest.raises(ValidationError):
        idw((3, 3), [0], [0], [1.0], power=0)
    with pytest.raises(ValidationError):
        idw((3, 3), [0], [0], [1.0], k=0)
    with pytest.raises(ValidationError):
        idw((3, 3), [0], [0], [1.0], radius_m=-1, res_m=1.0)
    with pytest.raises(ValidationError, match="empty"):
        idw((3, 3), [], [], [])
    geo = GridSpec(spec.transform, spec.shape, "EPSG:4326")
    with pytest.raises(GeographicCRSError):
        idw(geo, [0.0], [0.0], [1.0])
