import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cimtwin
from cimtwin.errors import (
    CimtwinError,
    CRSError,
    GeographicCRSError,
    GeometryError,
    GridAlignmentError,
    InputTypeError,
    LayerNotFoundError,
    NodataError,
    SchemaError,
    ValidationError,
)
from cimtwin.grid import GridSpec
from cimtwin.model import CityModel, default_crs, gauss_kruger_zone


def districts_lonlat(lon=117.0, lat=36.65):
    return gpd.GeoDataFrame({"name": ["历下区", "市中区"]},
                            geometry=[shapely.box(lon, lat, lon + 0.1, lat + 0.1),
                                      shapely.box(lon - 0.1, lat, lon, lat + 0.1)], crs="EPSG:4326")


def cameras(n=3, crs="EPSG:4527", x0=39_500_000.0, y0=4_060_000.0):
    return gpd.GeoDataFrame({
        "height_m": np.full(n, 6.0), "azimuth_deg": np.linspace(0, 300, n), "hfov_deg": np.full(n, 90.0),
        "range_m": np.full(n, 80.0), "connected": [True] * n, "is_smart": [False] * n,
    }, geometry=gpd.points_from_xy(x0 + np.arange(n) * 50.0, np.full(n, y0)), crs=crs)


@pytest.fixture
def model():
    return CityModel.from_layers({"districts": districts_lonlat()})


class TestCRS:
    def test_districts_alone_make_a_model_in_jinan_zone(self, model):
        assert model.crs.to_epsg() == 4527
        assert model.layer_names == ["districts"]
        assert model.layer("districts").crs.equals(model.crs)

    @pytest.mark.parametrize("lon,zone,epsg", [(117.0, 39, 4527), (121.47, 40, 4528), (113.26, 38, 4526),
                                               (104.07, 35, 4523), (87.6, 29, 4517), (126.6, 42, 4530)])
    def test_each_city_gets_its_own_zone(self, lon, zone, epsg):
        assert gauss_kruger_zone(lon) == zone
        m = CityModel.from_layers({"districts": districts_lonlat(lon=lon, lat=30.0)})
        assert m.crs.to_epsg() == epsg
        # the zone-number false easting: x ≈ zone·1e6 + 500 km near the central meridian
        x = m.layer("districts").geometry.iloc[0].centroid.x
        assert zone * 1e6 < x < (zone + 1) * 1e6

    @pytest.mark.filterwarnings("ignore:You will likely lose")
    def test_outside_china_zones_still_gauss_kruger(self):
        crs = default_crs(2.35, 48.85)  # Paris: zone 1, central meridian 3°E
        assert crs.is_projected and "+lon_0=3" in crs.to_proj4()

    def test_geographic_crs_for_model_is_an_error(self):
        with pytest.raises(GeographicCRSError, match="projected"):
            CityModel.from_layers({"districts": districts_lonlat()}, crs="EPSG:4326")

    def test_user_projected_crs_is_kept_and_layers_reprojected(self):
        m = CityModel.from_layers({"districts": districts_lonlat(), "cameras": cameras()}, crs="EPSG:32650")
        assert m.crs.to_epsg() == 32650
        assert m.layer("cameras").crs.to_epsg() == 32650

    def test_missing_crs(self):
        d = districts_lonlat().set_crs(None, allow_override=True)
        with pytest.raises(CRSError, match="no CRS"):
            CityModel.from_layers({"districts": d})


class TestLayers:
    def test_unknown_layer_suggests_close_matches(self, model):
        with pytest.raises(LayerNotFoundError, match="districts") as exc:
            model.layer("district")
        assert isinstance(exc.value, KeyError) and isinstance(exc.value, CimtwinError)

    def test_misspelled_kind_is_an_error(self, model):
        with pytest.raises(SchemaError, match="cameras"):
            model.with_layer("camras", cameras())

    def test_suffix_names_take_the_kind(self, model):
        m = model.with_layer("cameras_2025", cameras())
        assert m.layer_kind("cameras_2025") == "cameras"
        assert m.layers_of_kind("cameras") == ["cameras_2025"]

    def test_with_layer_returns_new_model(self, model):
        m2 = model.with_layer("cameras", cameras(), synthetic=True)
        assert "cameras" not in model.layer_names and "cameras" in m2.layer_names
        assert m2.metadata["synthetic"] == ["cameras"]

    def test_defaults_for_optional_columns(self, model):
        gdf = cameras().drop(columns=["connected", "is_smart"])
        layer = model.with_layer("cameras", gdf).layer("cameras")
        assert layer["connected"].all() and not layer["is_smart"].any()
        assert np.isnan(layer["tilt_deg"]).all()

    def test_extra_columns_kept(self, model):
        gdf = cameras().assign(vendor=["海康", "大华", "宇视"])
        assert list(model.with_layer("cameras", gdf).layer("cameras")["vendor"]) == ["海康", "大华", "宇视"]

    def test_layer_returns_a_copy(self, model):
        model.layer("districts")["name"] = "x"
        assert model.layer("districts")["name"].iloc[0] == "历下区"


class TestValidationErrors:
    def test_missing_column_names_layer_and_column(self, model):
        with pytest.raises(SchemaError, match=r"'cameras'.*range_m"):
            model.with_layer("cameras", cameras().drop(columns="range_m"))

    def test_mistyped_column(self, model):
        gdf = cameras().assign(height_m=["6", "6", "6"])
        with pytest.raises(SchemaError, match="height_m.*numbers"):
            model.with_layer("cameras", gdf)

    def test_negative_height_lists_ids(self, model):
        gdf = cameras().assign(height_m=[6.0, -1.0, 6.0])
        with pytest.raises(ValidationError, match=r"height_m.*\[1\]"):
            model.with_layer("cameras", gdf)

    def test_azimuth_outside_range(self, model):
        gdf = cameras().assign(azimuth_deg=[0.0, 360.0, 10.0])
        with pytest.raises(ValidationError, match=r"azimuth_deg.*\[1\].*% 360"):
            model.with_layer("cameras", gdf)

    def test_wrong_geometry_type(self, model):
        gdf = cameras()
        gdf = gdf.set_geometry(gdf.buffer(5))
        with pytest.raises(SchemaError, match="Point"):
            model.with_layer("cameras", gdf)

    def test_unknown_category_value(self, model):
        roads = gpd.GeoDataFrame({"name": ["a"], "road_class": ["arterail"], "width_m": [20.0]},
                                 geometry=[shapely.LineString([(39500000, 4060000), (39500100, 4060000)])], crs=4527)
        with pytest.raises(SchemaError, match="arterial"):
            model.with_layer("roads", roads)

    def test_invalid_geometry_listed_and_repaired(self, model):
        bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
        d = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1), bowtie], crs=4527,
                             index=[10, 11])
        with pytest.raises(GeometryError, match=r"\[11\].*repair=True"):
            model.with_layer("subdistricts", d)
        fixed = model.with_layer("subdistricts", d, repair=True).layer("subdistricts")
        assert fixed.is_valid.all() and fixed.geom_type.isin(["Polygon", "MultiPolygon"]).all()

    def test_empty_geometry(self, model):
        d = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon()], crs=4527)
        with pytest.raises(GeometryError, match="no geometry"):
            model.with_layer("subdistricts", d)

    def test_empty_layer_where_required(self, model):
        m = model.with_layer("cameras", cameras().iloc[:0])
        with pytest.raises(ValidationError, match="empty"):
            m.require_layer("cameras", purpose="camera coverage")

    def test_not_a_geodataframe(self, model):
        with pytest.raises(InputTypeError):
            model.with_layer("cameras", pd.DataFrame({"a": [1]}))


def dem(spec, values=None):
    values = np.arange(spec.size, dtype="float32").reshape(spec.shape) if values is None else values
    return spec.to_dataarray(values, name="dem", attrs={"units": "m"})


class TestRasters:
    spec = GridSpec.from_bounds((39_500_000, 4_060_000, 39_500_300, 4_060_200), res_m=10, crs="EPSG:4527")

    def test_grid_and_raster(self, model):
        m = model.with_raster("dem", dem(self.spec))
        assert m.grid == self.spec
        r = m.raster("dem")
        assert r.rio.crs.to_epsg() == 4527 and float(r[0, 0]) == 0.0

    def test_unaligned_raster(self, model):
        m = model.with_raster("dem", dem(self.spec))
        other = GridSpec.from_bounds((39_500_005, 4_060_000, 39_500_305, 4_060_200), res_m=10, crs="EPSG:4527")
        with pytest.raises(GridAlignmentError, match="population"):
            m.with_raster("population", dem(other))

    def test_all_nodata_dem(self, model):
        with pytest.raises(NodataError, match="only nodata"):
            model.with_raster("dem", dem(self.spec, np.full(self.spec.shape, np.nan, dtype="float32")))

    def test_raster_in_other_crs(self, model):
        spec = GridSpec.from_bounds((39_500_000, 4_060_000, 39_500_300, 4_060_200), res_m=10, crs="EPSG:32650")
        with pytest.raises(GridAlignmentError, match="Reproject"):
            model.with_raster("dem", dem(spec))
