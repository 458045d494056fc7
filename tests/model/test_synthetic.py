"""The synthetic city: complete, deterministic, labelled synthetic, at the size asked."""

import numpy as np
import pytest

import cimtwin
from cimtwin.errors import ValidationError
from cimtwin.model import synthetic_city

SMALL = dict(area_km2=4, res_m=20, cameras=200, sites_5g=20, sites_nbiot=10, rain_gauges=9, shelters=8,
             buildings=2_000, road_nodes=900, iot_devices=100, progress=False)


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    return cimtwin.read_model(synthetic_city(out=tmp_path_factory.mktemp("syn") / "a.cimtwin", seed=3, **SMALL))


def test_every_layer_kind_the_issue_names(small_city):
    for name in ("roads", "cameras", "sites_5g", "sites_nbiot", "rain_gauges", "shelters", "buildings",
                 "districts"):
        assert name in small_city.layer_names
    assert small_city.has_raster("dem")


def test_sizes_as_asked(small_city):
    assert len(small_city.layer("cameras")) == SMALL["cameras"]
    assert len(small_city.layer("buildings")) == SMALL["buildings"]
    assert len(small_city.layer("shelters")) == SMALL["shelters"]
    assert small_city.raster("dem").shape == (100, 100)  # 2 km at 20 m
    # a lattice of 30 x 30 junctions: the roads meet at about that many distinct end points
    ends = np.unique(np.round(np.concatenate([
        np.array([g.coords[0] for g in small_city.layer("roads").geometry]),
        np.array([g.coords[-1] for g in small_city.layer("roads").geometry])]), 3), axis=0)
    assert 0.9 * SMALL["road_nodes"] <= len(ends) <= SMALL["road_nodes"]


def test_every_layer_marked_synthetic(small_city):
    marked = set(small_city.metadata["synthetic"])
    assert set(small_city.layer_names) | {"dem"} <= marked
    assert all("SYNTHETIC" in small_city.metadata["sources"][n] for n in marked)


def test_deterministic_by_seed(tmp_path, small_city):
    again = cimtwin.read_model(synthetic_city(out=tmp_path / "b.cimtwin", seed=3, **SMALL))
    other = cimtwin.read_model(synthetic_city(out=tmp_path / "c.cimtwin", seed=4, **SMALL))
    for name in ("cameras", "buildings", "roads"):
        assert again.layer(name).geometry.equals(small_city.layer(name).geometry)
    np.testing.assert_array_equal(again.raster("dem").values, small_city.raster("dem").values)
    assert not other.layer("cameras").geometry.equals(small_city.layer("cameras").geometry)


def test_layers_inside_the_city(small_city):
    xmin, ymin, xmax, ymax = small_city.metadata["study_area"]["bounds"]
    for name in ("cameras", "buildings", "shelters", "rain_gauges"):
        b = small_city.layer(name).total_bounds
        assert b[0] >= xmin and b[1] >= ymin and b[2] <= xmax and b[3] <= ymax, name


def test_dem_has_closed_depressions(small_city):
    from cimtwin.grid import fill_depressions

    dem = small_city.raster("dem")
    filled = fill_depressions(dem)
    assert (filled.values > dem.values + 1e-3).sum() > 0


@pytest.mark.parametrize("bad", [dict(cameras=0), dict(buildings=1.5), dict(area_km2=-1)])
def test_bad_sizes_refused(tmp_path, bad):
    with pytest.raises(ValidationError):
        synthetic_city(out=tmp_path / "x.cimtwin", **{**SMALL, **bad})
