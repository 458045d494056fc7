import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from cimtwin.errors import CimtwinWarning
from cimtwin.risk.flood import road_closures
from cimtwin.risk.pipeline import risk_zoning


def test_risk_zoning_end_to_end(city, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimtwinWarning)  # no site_class layer in the synthetic city
        res = risk_zoning(city, method="quantiles")
    assert set(np.unique(res.classes.values)) <= {1, 2, 3, 4, 5}
    assert res.zones["class"].between(1, 5).all()
    assert res.zones.geometry.area.sum() == pytest.approx(city.grid.size * 100.0)
    s = res.summary_by_district
    assert list(s.columns) == ["district", "class", "area_km2", "population", "buildings", "road_km"]
    assert len(s) == 2 * 5
    assert s["area_km2"].sum() == pytest.approx(0.06, rel=1e-6)  # 300 m × 200 m
    assert s["population"].sum() == pytest.approx(2.0 * city.grid.size)
    assert s["buildings"].sum() == 3
    assert s["road_km"].sum() == pytest.approx(city.layer("roads").length.sum() / 1000, rel=1e-6)
    v = res.flood.volumes_m3
    assert v["runoff"] == pytest.approx(v["ponded"] + v["outflow"], rel=1e-9)

    written = res.write(tmp_path)
    names = {p.name for p in written}
    assert {"risk_zones.gpkg", "summary_by_district.csv", "flood_ponding_m.tif", "seismic_pga_g.tif",
            "seismic_zoning_intensity.tif"} <= names
    zones = gpd.read_file(tmp_path / "risk_zones.gpkg")
    assert zones["class"].dtype.kind == "i" and {"ponding_m", "pga_g"} <= set(zones.columns)
    table = pd.read_csv(tmp_path / "summary_by_district.csv")
    assert list(table.columns) == ["district", "class", "area_km2", "population", "buildings", "road_km"]

    # without zone polygons: the same classes and summaries, no polygon layer written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimtwinWarning)
        lean = risk_zoning(city, method="quantiles", zone_polygons=False)
    assert lean.zones is None
    np.testing.assert_array_equal(lean.classes.values, res.classes.values)
    pd.testing.assert_frame_equal(lean.summary_by_district, res.summary_by_district)
    assert "risk_zones.gpkg" not in {p.name for p in lean.write(tmp_path / "lean")}


def test_risk_zoning_written_as_it_goes_equals_in_memory(city, tmp_path):
    """write_to spills each raster to its file when final: same values, same files, nothing written twice."""
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimtwinWarning)
        mem = risk_zoning(city, method="quantiles")
        disk = risk_zoning(city, method="quantiles", write_to=tmp_path / "disk")
    pairs = {"risk_score": (mem.score, disk.score), "risk_class": (mem.classes, disk.classes)}
    pairs.update({f"flood_{k}": (v, disk.flood.rasters()[k]) for k, v in mem.flood.rasters().items()})
    pairs.update({f"seismic_{k}": (getattr(mem.seismic, k), getattr(disk.seismic, k))
                  for k in ("pga_g", "pga_ii_g", "fa", "zoning_intensity", "instrumental_intensity")})
    for name, (a, b) in pairs.items():
        assert type(b.data).__module__.startswith("dask"), name  # read back from its file, not held
        assert b.encoding["source"] == str(tmp_path / "disk" / f"{name}.tif")
        assert b.dtype == a.dtype and b.attrs == a.attrs and b.name == a.name, name
        np.testing.assert_array_equal(b.values, a.values, err_msg=name)
    pd.testing.assert_frame_equal(disk.summary_by_district, mem.summary_by_district)
    pd.testing.assert_frame_equal(disk.zones.drop(columns="geometry"), mem.zones.drop(columns="geometry"))
    assert disk.notes["flooded_roads"] == mem.notes["flooded_roads"]
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "disk").glob("*.tif")}
    assert len(before) == len(pairs)
    written = {p.name for p in disk.write(tmp_path / "disk")}
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "disk").glob("*.tif")} == before
    assert set(before) | {"summary_by_district.csv", "risk_report.json"} <= written
    # the same files as a write of the in-memory result
    mem.write(tmp_path / "mem")
    for name in before:
        with rasterio.open(tmp_path / "mem" / name) as a, rasterio.open(tmp_path / "disk" / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1), err_msg=name)
            assert repr(dict(a.profile)) == repr(dict(b.profile)), name  # (nodata nan != nan)


def test_flooded_road_closures_report_lost_access(city):
    spec = city.grid
    # pond the west part of the main road deeper than 15 cm: its west end loses its way out
    p = np.zeros(spec.shape, dtype="float32")
    p[8:12, 5:10] = 0.4
    ponding = spec.to_dataarray(p)
    closed, report = road_closures(city, ponding)
    assert set(closed["name"]) == {"Main"}
    assert report["closed_edges"] >= 1 and report["flooded_roads"] == 1
    assert report["nodes_lost"] >= 0 and report["population_lost"] >= 0
    assert report["limit_m"] == 0.15 and report["destinations"] == "shelters"
    # nothing ponded beyond the limit: nothing closed
    _, none = road_closures(city, spec.to_dataarray(np.full(spec.shape, 0.1, dtype="float32")))
    assert none["closed_edges"] == 0 and none["flooded_roads"] == 0


def test_weights_missing_factor_warns(city):
    with pytest.warns(CimtwinWarning, match="left out"):
        res = risk_zoning(city.without_layer("seismic_zoning"), method="quantiles")
    assert "seismic" not in res.notes["weights"]
    assert sum(res.notes["weights"].values()) == pytest.approx(1.0)
