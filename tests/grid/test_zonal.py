import numpy as np
import pandas as pd
import pytest

from cimtwin.errors import GridAlignmentError, InputTypeError, ValidationError
from cimtwin.grid import zonal_stats


def reference(values, zones, threshold=None, nodata=None):
    df = pd.DataFrame({"zone": zones.ravel(), "v": values.ravel().astype(float)})
    ok = df["v"].notna()
    if nodata is not None:
        ok &= df["v"] != nodata
    g = df[ok].groupby("zone")["v"]
    out = pd.DataFrame({"count": g.count(), "sum": g.sum(), "mean": g.mean(), "min": g.min(), "max": g.max()})
    if threshold is not None:
        out["share_above"] = df[ok].assign(a=lambda d: d["v"] > threshold).groupby("zone")["a"].mean()
    return out


@pytest.mark.parametrize("zone_range", [(0, 7), (-5, 3), (10**9, 10**9 + 4)])
def test_matches_groupby(rng, zone_range):
    values = rng.normal(size=(40, 30)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    zones = rng.integers(*zone_range, size=values.shape)
    got = zonal_stats(values, zones, threshold=0.5)
    ref = reference(values, zones, threshold=0.5)
    pd.testing.assert_frame_equal(got.loc[ref.index], ref.astype(got.dtypes.to_dict()), check_names=False,
                                  rtol=1e-6)
    assert list(got.columns) == ["count", "sum", "mean", "min", "max", "share_above"]


def test_parallel_path_matches_serial(rng, monkeypatch):
    import cimtwin.kernels.zonal as kz

    values = rng.random((60, 50))
    zones = rng.integers(0, 9, values.shape)
    serial = zonal_stats(values, zones, threshold=0.5)
    monkeypatch.setattr(kz, "_SERIAL_BELOW", 0)
    parallel = zonal_stats(values, zones, threshold=0.5)
    pd.testing.assert_frame_equal(serial, parallel)


def test_nodata_and_zones_nodata():
    values = np.array([[1.0, -1.0, 3.0], [4.0, 5.0, 6.0]])
    zones = np.array([[1, 1, 1], [0, 2, 2]], dtype=np.int16)
    got = zonal_stats(values, zones, nodata=-1.0, zones_nodata=0)
    assert list(got.index) == [1, 2]
    assert got.loc[1, "count"] == 2 and got.loc[1, "mean"] == 2.0 and got.loc[2, "max"] == 6.0


def test_empty_zone_has_nan_stats():
    got = zonal_stats(np.array([[np.nan, 1.0]]), np.array([[3, 4]]))
    assert got.loc[3, "count"] == 0 and np.isnan(got.loc[3, "mean"]) and np.isnan(got.loc[3, "min"])


def test_input_unchanged(rng):
    values = rng.random((10, 10))
    zones = rng.integers(0, 3, (10, 10))
    before = values.copy(), zones.copy()
    zonal_stats(values, zones, threshold=0.3)
    assert np.array_equal(values, before[0]) and np.array_equal(zones, before[1])


def test_dataarray_and_polygons(spec):
    import geopandas as gpd
    from shapely.geometry import box

    values = spec.to_dataarray(np.arange(spec.size, dtype=np.float32).reshape(spec.shape), attrs={"units": "mm"})
    xmin, ymin, xmax, ymax = spec.bounds
    zones = gpd.GeoDataFrame({"zid": [7, 9]}, geometry=[box(xmin, ymin, xmin + 40, ymax),
                                                        box(xmax - 40, ymin, xmax, ymax)], crs=spec.crs)
    got = zonal_stats(values, zones, id_column="zid")
    assert list(got.index) == [7, 9] and got.loc[7, "count"] == 4 * spec.shape[0]
    assert got.attrs["units"] == "mm"
    raster = np.full(spec.shape, -1)
    raster[:, :4], raster[:, -4:] = 7, 9
    ref = zonal_stats(values.values, raster, zones_nodata=-1)
    pd.testing.assert_frame_equal(got, ref)


def test_bad_input():
    with pytest.raises(GridAlignmentError):
        zonal_stats(np.zeros((3, 3)), np.zeros((3, 4), int))
    with pytest.raises(InputTypeError):
        zonal_stats(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValidationError, match="Unknown statistic"):
        zonal_stats(np.zeros((3, 3)), np.zeros((3, 3), int), stats=("median",))
    with pytest.raises(ValidationError, match="threshold"):
        zonal_stats(np.zeros((3, 3)), np.zeros((3, 3), int), stats=("share_above",))
    with pytest.raises(ValidationError, match="2-D"):
        zonal_stats(np.zeros(9), np.zeros(9, int))


def test_label_counts_matches_bincount():
    from cimtwin.kernels.zonal import label_counts

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, 5000).astype(np.int32)
    mask = rng.random(5000) < 0.3
    total, covered = label_counts(labels, mask, 7)
    np.testing.assert_array_equal(total, np.bincount(labels, minlength=7))
    np.testing.assert_array_equal(covered, np.bincount(labels[mask], minlength=7))
