import numpy as np
import pytest
import shapely

from cimtwin.errors import CimtwinWarning, ValidationError
from cimtwin.risk.zoning import ahp_weights, classify_zones, normalize_factor, weighted_overlay, zone_polygons

@pytest.fixture
def factors(synth):
    spec = synth.make_spec(rows=6, cols=8, res=10.0)
    r, c = np.mgrid[0:6, 0:8]
    a = spec.to_dataarray((c / 7.0).astype("float32"), name="a")
    b = spec.to_dataarray((r / 5.0).astype("float32"), name="b")
    return spec, {"a": a, "b": b}


def test_normalize_factor():
    v = np.array([[0.0, 5.0], [10.0, np.nan]])
    out = normalize_factor(v)
    assert np.allclose(out[:, 0], [0, 1]) and np.isnan(out[1, 1])
    assert np.allclose(normalize_factor(v, invert=True)[0], [1.0, 0.5])
    assert np.allclose(normalize_factor(v, lower=0, upper=5)[1, 0], 1.0)  # clipped
    assert np.all(normalize_factor(np.ones((2, 2))) == 0)


def test_ahp_saaty_example():
    # Saaty's 3×3 example: weights ≈ (0.637, 0.258, 0.105), CR ≈ 0.033 < 0.1
    w, cr = ahp_weights([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]])
    assert w == pytest.approx([0.637, 0.258, 0.105], abs=1e-3)
    assert cr == pytest.approx(0.033, abs=2e-3)
    # a perfectly consistent matrix has CR = 0 and weights proportional to the ratios
    w, cr = ahp_weights([[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]])
    assert w == pytest.approx([4 / 7, 2 / 7, 1 / 7]) and cr == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValidationError, match="reciprocal"):
        ahp_weights([[1, 2], [2, 1]])


def test_weighted_overlay_and_weight_normalization(factors):
    spec, f = factors
    score = weighted_overlay(f, {"a": 0.25, "b": 0.75})
    assert np.allclose(score.values, 0.25 * f["a"].values + 0.75 * f["b"].values)
    assert score.attrs["weights_normalized"] is False
    with pytest.warns(CimtwinWarning, match="sum to 4"):
        s2 = weighted_overlay(f, {"a": 1, "b": 3})
    assert np.allclose(s2.values, score.values) and s2.attrs["weights"] == {"a": 0.25, "b": 0.75}
    assert s2.attrs["weights_normalized"] is True
    with pytest.raises(ValidationError, match="no weight"):
        weighted_overlay(f, {"a": 1.0})
    with pytest.raises(ValidationError):
        weighted_overlay(f, {"a": -1.0, "b": 2.0})
    with pytest.raises(ValidationError, match="normalized"):
        weighted_overlay({"a": f["a"] * 5}, {"a": 1.0})


@pytest.mark.parametrize("method", ["natural_breaks", "quantiles"])
def test_classify_zones(factors, method):
    spec, f = factors
    cls = classify_zones(f["a"], method=method)
    v = cls.values
    assert set(np.unique(v)) == {1, 2, 3, 4, 5}
    # classes never decrease with the score
    order = np.argsort(f["a"].values.ravel(), kind="stable")
    assert np.all(np.diff(v.ravel()[order].astype(int)) >= 0)



def test_classify_quantiles_equal_mapclassify(factors):
    """Quantile bounds against mapclassify's Quantiles (the independent reference), all cells sampled."""
    import mapclassify

    spec, f = factors
    values = f["a"].values
    finite = values[np.isfinite(values)]
    assert finite.size <= 20000  # every cell is in the sample
    for k in (3, 5, 7):
        cls = classify_zones(f["a"], method="quantiles", k=k)
        assert np.allclose(cls.attrs["bins"], mapclassify.Quantiles(finite, k=k).bins[:-1], rtol=0, atol=1e-12)

def test_classify_fixed_and_nodata():
    v = np.array([[0.05, 0.3, 0.5], [0.7, 0.95, np.nan]])
    out = classify_zones(v, method="fixed", bins=[0.2, 0.4, 0.6, 0.8])
    assert out.tolist() == [[1, 2, 3], [4, 5, 0]]
    with pytest.raises(ValidationError):
        classify_zones(v, method="fixed", bins=[0.2, 0.1, 0.6, 0.8])


def test_zone_polygons_cover_the_grid_with_factor_means(factors):
    spec, f = factors
    cls = classify_zones(f["a"], method="fixed", bins=[0.2, 0.4, 0.6, 0.8])
    zones = zone_polygons(cls, factors=f)
    assert zones["class"].between(1, 5).all()
    assert zones.geometry.area.sum() == pytest.approx(spec.size * 100.0)
    assert zones.crs.equals(spec.crs)
    # each column of `a` is one class band; the mean of `b` over full-height bands is 0.5
    assert np.allclose(zones["b"], 0.5)
    assert shapely.union_all(zones.geometry.values).area == pytest.approx(spec.size * 100.0)


def test_summaries_on_the_grid_equal_the_polygon_overlay():
    """Units on cell edges: the raster path equals the exact polygon overlay (area, roads, buildings).

    No road runs along a cell edge here: there the overlay counts it in both neighbouring zones.
    """
    import geopandas as gpd
    import shapely

    from cimtwin.grid.spec import GridSpec
    from cimtwin.risk.zoning import summarize_zones

    spec = GridSpec.from_bounds((0, 0, 200, 100), res_m=10, crs="EPSG:4527")
    rng = np.random.default_rng(1)
    cls = spec.to_dataarray(rng.integers(1, 6, spec.shape).astype("uint8"), name="risk_class")
    units = gpd.GeoDataFrame({"name": ["西", "东"]}, geometry=[shapely.box(0, 0, 120, 100), shapely.box(120, 0, 200, 100)],
                             crs="EPSG:4527")
    roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(3, 7), (197, 93)]), shapely.LineString([(0, 55), (200, 55)]),
                                       shapely.LineString([(151, -20), (151, 120)])], crs="EPSG:4527")
    bx, by = rng.uniform(1, 199, 40), rng.uniform(1, 99, 40)
    buildings = gpd.GeoDataFrame(geometry=shapely.box(bx - 0.5, by - 0.5, bx + 0.5, by + 0.5), crs="EPSG:4527")
    zones = zone_polygons(cls)
    grid = summarize_zones(zones, units=units, classes=cls, roads=roads, buildings=buildings)
    poly = summarize_zones(zones, units=units, roads=roads, buildings=buildings)
    pd_ = __import__("pandas")
    pd_.testing.assert_frame_equal(grid[["district", "class"]], poly[["district", "class"]])
    np.testing.assert_allclose(grid["area_km2"], poly["area_km2"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grid["road_km"], poly["road_km"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(grid["buildings"], poly["buildings"])
