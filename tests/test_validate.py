"""The central checks of cimtwin._validate, and the public API walked for lon/lat refusal.

Every public function of the metric subpackages is either guarded by ``requires_metres``
(and then refuses a lon/lat argument for each parameter it names), takes a CityModel (always
projected), takes no geometry at all, or is a reader/converter that takes lon/lat by design.
A new public function that is none of these fails :func:`test_every_public_function_is_classified`.
"""

import importlib
import inspect

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

import cimtwin
from cimtwin._validate import (check_dem_sentinels, check_lonlat_ranges, close_matches, crs_of,
                               require_metric_input, requires_metres)
from cimtwin.errors import CRSError, GeographicCRSError, NodataError

MODULES = ["cimtwin.coverage", "cimtwin.routing", "cimtwin.risk", "cimtwin.grid", "cimtwin.targets", "cimtwin.io"]

# Take a CityModel (projected by construction: CityModel refuses a geographic CRS) and names of its layers.
MODEL_ONLY = {
    "cimtwin.coverage.coverage_ratio", "cimtwin.coverage.gauge_coverage", "cimtwin.coverage.networking_rate",
    "cimtwin.coverage.count_indicators", "cimtwin.risk.flood_hazard", "cimtwin.risk.risk_zoning",
    "cimtwin.targets.evaluate", "cimtwin.targets.run_targets",
}
# No geometry in, so nothing to measure in a CRS: numbers, arrays, tables, cell-by-cell raster algebra.
NO_GEOMETRY = {
    "cimtwin.coverage.hfov_from_optics", "cimtwin.coverage.dori_range_m", "cimtwin.coverage.ground_footprint_m",
    "cimtwin.coverage.sector_polygons",  # plain x/y arrays, taken as metres
    "cimtwin.coverage.path_loss_38901", "cimtwin.coverage.los_probability_38901",
    "cimtwin.coverage.element_attenuation_db", "cimtwin.coverage.resource_blocks", "cimtwin.coverage.rsrp_per_re_dbm",
    "cimtwin.coverage.coupling_loss_db",
    "cimtwin.routing.walking", "cimtwin.routing.driving",
    "cimtwin.risk.ahp_weights", "cimtwin.risk.curve_number", "cimtwin.risk.design_storm_intensity",
    "cimtwin.risk.instrumental_intensity", "cimtwin.risk.site_amplification_factor", "cimtwin.risk.yu2013_pga_g",
    "cimtwin.risk.zoning_intensity", "cimtwin.risk.scs_runoff_mm", "cimtwin.risk.normalize_factor",
    "cimtwin.risk.classify_zones", "cimtwin.risk.weighted_overlay", "cimtwin.risk.gauge_totals",
    "cimtwin.risk.active_faults",
    # cell counts, not distances: D8, accumulation, filling and zonal sums are the same in any CRS
    "cimtwin.grid.fill_depressions", "cimtwin.grid.resolve_flats", "cimtwin.grid.flow_direction_d8",
    "cimtwin.grid.flow_accumulation", "cimtwin.grid.depression_depth", "cimtwin.grid.hand", "cimtwin.grid.balanced_chunks",
    "cimtwin.grid.zonal_stats", "cimtwin.grid.coverage_count", "cimtwin.grid.rasterize",
    "cimtwin.targets.load_catalog", "cimtwin.targets.parse_computation",
    "cimtwin.io.parse_road_notice", "cimtwin.io.road_junctions",
    "cimtwin.io.check_storable",  # column types only
    "cimtwin.io.write_csv",  # a table to text, no geometry measured
    # edge ids and fractions of a RoadNetwork, which refuses lon/lat when it is built
    "cimtwin.routing.edge_access", "cimtwin.routing.along_edge_cost",
}
# Readers and converters that take lon/lat by design and project (or store) what they read.
EXEMPT_LONLAT_BY_DESIGN = {
    "cimtwin.routing.from_osm", "cimtwin.io.read_osm", "cimtwin.io.read_layer", "cimtwin.io.read_points_table", "cimtwin.io.read_raster",
    "cimtwin.io.read_container", "cimtwin.io.write_container",
    "cimtwin.io.gcj02_to_wgs84", "cimtwin.io.wgs84_to_gcj02", "cimtwin.io.bd09_to_gcj02", "cimtwin.io.gcj02_to_bd09",
    "cimtwin.io.bd09_to_wgs84", "cimtwin.io.wgs84_to_bd09",
    # RoadNetwork.from_graph is a classmethod: an EPSG:4326 graph is projected (tests/routing)
}

LONLAT = gpd.GeoDataFrame({"pga_g": [0.1], "name": ["x"]}, geometry=[shapely.box(117.0, 36.6, 117.01, 36.61)],
                          crs="EPSG:4326")


def _public_functions():
    for modname in MODULES:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield f"{modname}.{name}", obj


PUBLIC = dict(_public_functions())
METRIC = {name: fn for name, fn in PUBLIC.items() if hasattr(fn, "__cimtwin_metric__")}


def test_every_public_function_is_classified():
    lists = [set(METRIC), MODEL_ONLY, NO_GEOMETRY, EXEMPT_LONLAT_BY_DESIGN]
    unclassified = sorted(set(PUBLIC) - set().union(*lists))
    assert not unclassified, f"classify these public functions (decorate with @requires_metres if they measure): " \
                             f"{unclassified}"
    stale = sorted((MODEL_ONLY | NO_GEOMETRY | EXEMPT_LONLAT_BY_DESIGN) - set(PUBLIC))
    assert not stale, f"names no longer public: {stale}"
    # one class per function
    for a in range(len(lists)):
        for b in range(a + 1, len(lists)):
            assert not lists[a] & lists[b]
    for name in MODEL_ONLY:
        assert next(iter(inspect.signature(PUBLIC[name]).parameters)) == "model", name
    # the functions the issue names
    for name in ("cimtwin.coverage.camera_footprints", "cimtwin.coverage.thiessen_cells",
                 "cimtwin.routing.shelter_capacity", "cimtwin.risk.flooded_roads", "cimtwin.coverage.camera_parameters",
                 "cimtwin.coverage.best_server", "cimtwin.risk.seismic_hazard", "cimtwin.risk.seismic_scenario"):
        assert name in METRIC, name


@pytest.mark.parametrize("name", sorted(METRIC))
def test_metric_function_refuses_lonlat_for_each_geometry_parameter(name):
    fn = METRIC[name]
    sig = inspect.signature(fn)
    required = [p.name for p in sig.parameters.values()
                if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for param in fn.__cimtwin_metric__:
        kwargs = {p: None for p in required}
        kwargs[param] = LONLAT
        with pytest.raises(GeographicCRSError, match=rf"`{param}`.*(longitude/latitude|metres)"):
            fn(**kwargs)


def test_the_named_functions_refuse_real_lonlat_input():
    from cimtwin.coverage import camera_footprints, thiessen_cells
    from cimtwin.routing import shelter_capacity

    cams = gpd.GeoDataFrame({"height_m": [6.0], "azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [50.0]},
                            geometry=[shapely.Point(117.0, 36.65)], crs="EPSG:4326")
    with pytest.raises(GeographicCRSError, match="cameras"):
        camera_footprints(cams)
    gauges = gpd.GeoDataFrame(geometry=[shapely.Point(117.0, 36.65), shapely.Point(117.1, 36.65)], crs="EPSG:4326")
    with pytest.raises(GeographicCRSError, match="gauges"):
        thiessen_cells(gauges, shapely.box(116.9, 36.6, 117.2, 36.7))
    shelters = gpd.GeoDataFrame({"name": ["s"]}, geometry=[shapely.box(117.0, 36.6, 117.001, 36.601)],
                                crs="EPSG:4326")
    with pytest.raises(GeographicCRSError, match="shelters"):
        shelter_capacity(shelters)
    # the same shelter in metres: about 89 m × 111 m / 1.5 m² per person
    cap = shelter_capacity(shelters.to_crs("EPSG:4527"))
    assert 6000 < cap[0] < 7000


def test_lonlat_dataarray_is_refused():
    from cimtwin.grid import distance

    da = xr.DataArray(np.zeros((3, 3), dtype=bool), dims=("y", "x"),
                      coords={"y": [36.62, 36.61, 36.60], "x": [117.0, 117.01, 117.02]}, attrs={"crs": "EPSG:4326"})
    assert crs_of(da).is_geographic
    with pytest.raises(GeographicCRSError, match="`mask`"):
        distance(da)


def test_a_city_model_is_never_in_lonlat():
    with pytest.raises(GeographicCRSError):
        cimtwin.CityModel.from_layers({"districts": LONLAT.assign(name="x")}, crs="EPSG:4326")


def test_decorator_contract():
    @requires_metres("points")
    def width_m(points, *, pad_m=0.0):
        """The east-west extent of ``points`` in metres."""
        return float(np.ptp(points.geometry.x)) + pad_m

    assert width_m.__cimtwin_metric__ == ("points",) and width_m.__doc__.startswith("The east-west")
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(30, 0)], crs="EPSG:4527")
    assert width_m(pts, pad_m=1.0) == 31.0
    assert width_m(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)])) == 0.0  # no CRS: taken as metres
    with pytest.raises(GeographicCRSError):
        width_m(pts.to_crs(4326))
    with pytest.raises(GeographicCRSError):
        require_metric_input({"a": pts, "b": pts.to_crs(4326)}, arg="factors")
    with pytest.raises(TypeError, match="no parameter"):
        requires_metres("nope")(lambda points: None)
    with pytest.raises(TypeError):
        width_m(pts, 1.0)  # options stay keyword-only: the function's own TypeError


# --- values that would be read silently wrong ------------------------------------------------


@pytest.mark.parametrize("sentinel", [-9999.0, -32768.0, -3.4028235e38, 3.4028235e38])
def test_dem_sentinels_without_nodata_are_refused(sentinel):
    dem = np.full((4, 5), 50.0, dtype="float32")
    dem[2, 3] = sentinel
    with pytest.raises(NodataError, match=r"row 2, col 3.*nodata"):
        check_dem_sentinels(dem)
    check_dem_sentinels(dem, nodata=sentinel)  # declared: fine
    check_dem_sentinels(np.where(dem == dem[2, 3], np.nan, dem))  # masked: fine


def test_swapped_lonlat():
    check_lonlat_ranges(116.8, 36.5, 117.3, 36.9, name="roads")
    with pytest.raises(CRSError, match="lon/lat look swapped") as info:
        check_lonlat_ranges(36.5, 116.8, 36.9, 117.3, name="roads")
    assert "repair=True" not in str(info.value)
    with pytest.raises(CRSError, match="outside"):
        check_lonlat_ranges(500_000, 4_000_000, 510_000, 4_010_000, name="roads")


def test_close_matches_ignores_case():
    assert "'NAME'" in close_matches("name", ["NAME", "geometry"])
    assert close_matches("name", ["area_m2"]) == ""
