"""Inputs that would give silently wrong numbers are refused when they enter a model."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.errors import CimtwinError, CRSError, NodataError, SchemaError, ValidationError
from cimtwin.grid import GridSpec
from cimtwin.model import CityModel

CRS = "EPSG:4527"
SPEC = GridSpec.from_bounds((39_500_000, 4_060_000, 39_500_100, 4_060_080), res_m=10, crs=CRS)


def districts(lon=117.0, lat=36.65, **cols):
    data = {"name": ["历下区", "市中区"], **cols}
    if "NAME" in data:
        data.pop("name")
    return gpd.GeoDataFrame(data, geometry=[shapely.box(lon, lat, lon + 0.1, lat + 0.1),
                                            shapely.box(lon - 0.1, lat, lon, lat + 0.1)], crs="EPSG:4326")


def test_swapped_lonlat_says_so():
    d = districts()
    swapped = d.set_geometry(gpd.GeoSeries(shapely.transform(d.geometry.values, lambda xy: xy[:, ::-1]), crs=d.crs))
    with pytest.raises(CRSError, match="lon/lat look swapped") as info:
        CityModel.from_layers({"districts": swapped})
    assert "'districts'" in str(info.value) and "repair=True" not in str(info.value)
    m = CityModel.from_layers({"districts": districts()})
    with pytest.raises(CRSError, match="lon/lat look swapped"):
        m.with_layer("subdistricts", swapped)


def test_upper_case_column_gets_did_you_mean():
    with pytest.raises(SchemaError, match=r"lacks required column.*'name'.*Did you mean 'NAME'\?") as info:
        CityModel.from_layers({"districts": districts(NAME=["a", "b"])})
    assert "'districts'" in str(info.value)


def test_negative_population_is_refused():
    m = CityModel.from_layers({"districts": districts()})
    pop = np.full(SPEC.shape, 3.0, dtype="float32")
    pop[4, 7] = -2.0
    with pytest.raises(ValidationError, match=r"'population'.*negative.*row 4, col 7"):
        m.with_raster("population", SPEC.to_dataarray(pop, name="population"))
    b = gpd.GeoDataFrame({"height_m": [10.0], "use": ["school"], "fortification_intensity": [7], "population": [-5.0]},
                         geometry=[shapely.box(0, 0, 10, 10)], crs=CRS)
    with pytest.raises(ValidationError, match=r"'buildings', column 'population'.*≥ 0"):
        m.with_layer("buildings", b)


@pytest.mark.parametrize("sentinel", [-9999.0, -32768.0, -3.4e38, 3.4e38])
def test_dem_with_an_untagged_sentinel_is_refused(sentinel):
    m = CityModel.from_layers({"districts": districts()})
    dem = np.full(SPEC.shape, 35.0, dtype="float32")
    dem[0, 2] = sentinel
    with pytest.raises(NodataError, match=r"Raster 'dem'.*nodata tag.*write_nodata") as info:
        m.with_raster("dem", SPEC.to_dataarray(dem, name="dem"))
    assert isinstance(info.value, CimtwinError)
    tagged = SPEC.to_dataarray(dem, name="dem", attrs={"nodata": float(np.float32(sentinel))})
    assert m.with_raster("dem", tagged).has_raster("dem")
