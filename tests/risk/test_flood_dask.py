"""The flood chain on a dask-backed DEM equals the in-memory chain (the sample's layers marked
synthetic in its metadata, and the DEMs built here, are SYNTHETIC)."""

import warnings

import numpy as np
import pytest

import cimtwin
from cimtwin.errors import CimtwinWarning, NodataError
from cimtwin.grid.ponding import PondingWindowError
from cimtwin.model.city import read_model
from cimtwin.model.sample import sample_path
from cimtwin.risk.flood import flood_hazard


def _lazy(da):
    return type(da.data).__module__.startswith("dask")


def _assert_same(fh, ref):
    for name, expected in ref.rasters().items():
        got = fh.rasters()[name]
        assert _lazy(got), name
        assert got.dtype == expected.dtype, name
        np.testing.assert_array_equal(got.values, expected.values, err_msg=name)
        assert got.attrs["units"] == expected.attrs["units"]
    for key, value in ref.volumes_m3.items():
        np.testing.assert_allclose(fh.volumes_m3[key], value, rtol=1e-10, err_msg=key)
    assert {k: v for k, v in fh.notes.items() if k != "tiled"} == ref.notes


@pytest.fixture(scope="module")
def jinan():
    model = cimtwin.load_sample("jinan")
    return model, flood_hazard(model)


@pytest.mark.parametrize("chunks", [(300, 400), (64, 1334), (1167, 50)])
def test_sample_model_chunked_equals_in_memory(jinan, chunks):
    model, ref = jinan
    dem = model.raster("dem").chunk({"y": chunks[0], "x": chunks[1]})
    chunked = model.with_raster("dem", dem)
    assert _lazy(chunked.raster("dem"))  # the model keeps it lazy
    fh = flood_hazard(chunked)
    assert ref.volumes_m3["ponded"] > 0
    _assert_same(fh, ref)


def test_sample_model_read_lazily_from_its_folder(jinan):
    model, ref = jinan
    lazy = read_model(sample_path("jinan"), dem_chunks=(500, 700))
    assert _lazy(lazy.raster("dem")) and lazy.raster("dem").chunks[0][0] == 500
    _assert_same(flood_hazard(lazy), ref)


def _bowl_city(city, holes=False):
    """The synthetic city's DEM with a basin crossing the chunk edges and an inner pit."""
    dem = city.raster("dem")
    rows, cols = dem.shape
    r, c = np.mgrid[0:rows, 0:cols]
    z = 50.0 + 0.02 * c + 0.01 * r - 1.5 * np.exp(-((r - 10) ** 2 + (c - 14) ** 2) / 30.0)
    z[9, 20] -= 0.8
    z = np.round(z, 2).astype("float32")
    if holes:
        z[0:3, 0:3] = np.nan
    return city.with_raster("dem", dem.copy(data=z))


@pytest.mark.parametrize("holes", [False, True])
@pytest.mark.parametrize("chunks", [(1, 30), (4, 5), (7, 11)])
def test_synthetic_city_depressions_across_chunk_edges(city, holes, chunks):
    model = _bowl_city(city, holes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimtwinWarning)
        ref = flood_hazard(model)
        fh = flood_hazard(model.with_raster("dem", model.raster("dem").chunk({"y": chunks[0], "x": chunks[1]})))
    wet_rows = np.unique(np.nonzero(ref.ponding_m.values > 0)[0] // chunks[0])
    wet_cols = np.unique(np.nonzero(ref.ponding_m.values > 0)[1] // chunks[1])
    assert wet_rows.size + wet_cols.size > 2  # the lake spans several chunks
    _assert_same(fh, ref)
    if holes:
        assert fh.notes["dem_holes_cells"] == 9 and np.isnan(fh.ponding_m.values[0:3, 0:3]).all()


def test_dask_errors_match_the_in_memory_chain(city):
    dem = city.raster("dem")
    sentinel = dem.values.copy()
    sentinel[2, 2] = -9999.0
    # refused when the lazy DEM enters the model (checked chunk by chunk) ...
    with pytest.raises(NodataError, match="-9999"):
        city.with_raster("dem", dem.copy(data=sentinel).chunk(8))
    # ... and by the flood chain itself
    with pytest.raises(NodataError, match="-9999"):
        flood_hazard(_lazy_model(city, sentinel))
    with pytest.raises(NodataError, match="only nodata"):
        flood_hazard(_lazy_model(city, np.full(dem.shape, np.nan, "float32")))
    big = _bowl_city(city)
    with pytest.raises(PondingWindowError, match="max_window_cells"):
        flood_hazard(big.with_raster("dem", big.raster("dem").chunk(4)), max_window_cells=50)


def _lazy_model(city, values):
    """A model whose DEM is lazy and holds ``values`` (not validated on the way in)."""
    import dask.array as da

    model = city.with_raster("dem", city.raster("dem").chunk(8))
    model._rasters["dem"] = model._rasters["dem"].copy(data=da.from_array(values, chunks=8))
    return model
