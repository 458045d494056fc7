import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cimtwin.errors import CimtwinWarning, NodataError, ValidationError
from cimtwin.grid import hydrology as hydro
from cimtwin.risk.flood import PONDING_LIMIT_M, depressions, flood_hazard, flood_polygons, flooded_roads


dems = arrays(np.float32, st.tuples(st.integers(3, 9), st.integers(3, 9)),
              elements=st.floats(0, 20, width=32, allow_nan=False))


class TestPondingProperties:
    """The flood chain's ponding is the grid core's Fill-Spill-Merge; these pin what risk relies on."""

    @settings(max_examples=40, deadline=None)
    @given(dem=dems, rain=st.floats(0, 3000))
    def test_volume_conserved_and_below_spill_depth(self, dem, rain):
        res = hydro.ponding_depth(dem, rain, res_m=2.0)
        assert res.runoff_volume_m3 == pytest.approx(res.ponded_volume_m3 + res.outflow_volume_m3,
                                                     rel=1e-9, abs=1e-9)
        assert res.ponded_volume_m3 == pytest.approx(float(np.nansum(res.depth_m)) * 4.0, rel=1e-4, abs=1e-6)
        spill = hydro.depression_depth(dem)
        assert np.all(res.depth_m <= spill + 1e-4)

    @settings(max_examples=40, deadline=None)
    @given(dem=dems, rain=st.floats(0, 2000), more=st.floats(0, 2000))
    def test_more_rain_never_less_ponding(self, dem, rain, more):
        a = hydro.ponding_depth(dem, rain, res_m=1.0).depth_m
        b = hydro.ponding_depth(dem, rain + more, res_m=1.0).depth_m
        assert np.all(b >= a - 1e-4)


def test_depressions_volume(synth):
    spec = synth.make_spec(rows=5, cols=5, res=2.0)
    z = np.full(spec.shape, 5.0, dtype="float32")
    z[2, 2] = 1.0
    z[1, 2] = 3.0
    depth = spec.to_dataarray(np.asarray(hydro.depression_depth(z)))
    d = depressions(depth)
    assert len(d) == 1
    assert d.loc[0, "volume_m3"] == pytest.approx((4 + 2) * 4.0)
    assert d.loc[0, "max_depth_m"] == pytest.approx(4.0)
    assert d.loc[0, "area_m2"] == pytest.approx(8.0)
    assert d.geometry.iloc[0].area == pytest.approx(8.0)


def test_flooded_roads_and_polygons(synth):
    spec = synth.make_spec(rows=4, cols=10, res=10.0)
    p = np.zeros(spec.shape, dtype="float32")
    p[1, 2:5] = 0.3  # 30 m of ponding above the limit on row 1
    p[2, 7] = 0.10  # below the limit
    ponding = spec.to_dataarray(p)
    xmin, ymin, xmax, ymax = spec.bounds
    y1, y2 = spec.xy(1, 0)[1], spec.xy(2, 0)[1]
    roads = synth.gdf({"name": ["wet", "damp"], "road_class": ["arterial", "local"], "width_m": [10.0, 5.0]},
                      [shapely.LineString([(xmin, y1), (xmax, y1)]), shapely.LineString([(xmin, y2), (xmax, y2)])])
    out = flooded_roads(roads, ponding)
    assert out["flooded"].tolist() == [True, False]
    assert out.loc[0, "max_ponding_m"] == pytest.approx(0.3)
    assert out.loc[0, "flooded_m"] == pytest.approx(30.0)
    assert out.loc[1, "max_ponding_m"] == pytest.approx(0.10) and out.loc[1, "flooded_m"] == 0
    polys = flood_polygons(ponding)
    assert len(polys) == 1 and polys.geometry.iloc[0].area == pytest.approx(300.0)
    assert PONDING_LIMIT_M == 0.15


class TestFloodHazard:
    def test_chain_on_synthetic_city(self, city):
        fh = flood_hazard(city)
        v = fh.volumes_m3
        assert v["runoff"] == pytest.approx(v["ponded"] + v["outflow"], rel=1e-9)
        assert v["ponded"] > 0  # the bowl holds water
        assert np.all(fh.ponding_m.values <= fh.depression_depth_m.values + 1e-4)
        assert fh.ponding_m.attrs["units"] == "m"
        # runoff volume is the SCS runoff over the cells
        assert v["runoff"] == pytest.approx(float(np.nansum(fh.runoff_mm.values)) / 1000 * 100.0, rel=1e-5)

    def test_dem_holes_are_outlets_and_nan(self, city):
        dem = city.raster("dem")
        vals = dem.values.copy()
        vals[0:3, 0:3] = np.nan
        fh = flood_hazard(city.with_raster("dem", dem.copy(data=vals)))
        assert np.isnan(fh.ponding_m.values[0:3, 0:3]).all()
        assert fh.notes["dem_holes_cells"] == 9
        v = fh.volumes_m3
        assert v["runoff"] == pytest.approx(v["ponded"] + v["outflow"], rel=1e-9)

    def test_missing_inputs(self, city):
        with pytest.raises(ValidationError, match="land_use"):
            flood_hazard(city.without_layer("land_use"))
        bare = city.without_layer("rain_gauges").with_metadata(design_storm=None)
        with pytest.raises(ValidationError, match="No rainfall input"):
            flood_hazard(bare)


# --- inputs in different CRSs (issue 11 §5) ----------------------------------------------------


@pytest.mark.parametrize("road_crs", ["EPSG:32650", "EPSG:4548", "EPSG:4527"])
def test_flooded_roads_reprojects_roads_to_the_raster(synth, road_crs):
    from cimtwin.risk.flood import flooded_roads

    spec = synth.make_spec(rows=20, cols=30, res=10.0)
    depth = np.zeros(spec.shape, dtype="float32")
    depth[8:12, :] = 0.5  # a 40 m wide band under 0.5 m of water across the grid
    xmin, ymin, xmax, ymax = spec.bounds
    road = synth.gdf({"name": ["under water", "dry"]},
                     [shapely.LineString([(xmin + 20, ymax - 100), (xmax - 20, ymax - 100)]),
                      shapely.LineString([(xmin + 20, ymax - 20), (xmax - 20, ymax - 20)])]).to_crs(road_crs)
    out = flooded_roads(road, spec.to_dataarray(depth))
    assert out["flooded"].tolist() == [True, False]
    assert out["max_ponding_m"].tolist() == pytest.approx([0.5, 0.0])
    assert out["flooded_m"].iloc[0] == pytest.approx(260.0, rel=0.02)  # measured in metres, not degrees
    assert out.crs == road.crs  # the roads come back in their own CRS
    from cimtwin.errors import GeographicCRSError

    with pytest.raises(GeographicCRSError, match="roads"):  # lon/lat is refused like everywhere else
        flooded_roads(road.to_crs(4326), spec.to_dataarray(depth))


def test_flooded_roads_without_a_crs_cannot_be_matched(synth):
    from cimtwin.errors import CRSError
    from cimtwin.risk.flood import flooded_roads

    spec = synth.make_spec()
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(CRSError, match="no CRS"):
        flooded_roads(road, spec.to_dataarray(np.zeros(spec.shape, dtype="float32")))


def test_flood_hazard_refuses_a_dem_with_an_untagged_sentinel(city):
    from cimtwin.errors import NodataError
    from cimtwin.model import CityModel

    dem = city.raster("dem")
    values = dem.values.copy()
    values[3, 4] = -9999.0
    # as a model read from a folder edited elsewhere, without the checks of with_raster
    raw = CityModel(crs=city.crs, layers={n: city.layer(n) for n in city.layer_names},
                    rasters={"dem": dem.copy(data=values)}, tables={}, metadata={},
                    kinds={n: city.layer_kind(n) for n in city.layer_names})
    with pytest.raises(NodataError, match=r"-9999.*row 3, col 4"):
        flood_hazard(raw)
