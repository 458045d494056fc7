import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimtwin.errors import CRSError
from cimtwin.io import read_layer, wgs84_to_gcj02


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb"])
def test_gcj02_lines_come_back_in_wgs84(tmp_path, suffix):
    lon = np.array([117.00, 117.01, 117.02])
    lat = np.array([36.65, 36.66, 36.655])
    glon, glat = wgs84_to_gcj02(lon, lat)
    gdf = gpd.GeoDataFrame({"name": ["经十路"]}, geometry=[shapely.LineString(np.c_[glon, glat])], crs="EPSG:4326")
    path = tmp_path / f"roads{suffix}"
    gdf.to_file(path)
    back = read_layer(path, source_crs="gcj02")
    xy = shapely.get_coordinates(back.geometry.values)
    np.testing.assert_allclose(xy[:, 0], lon, atol=1e-7)   # ~1 cm
    np.testing.assert_allclose(xy[:, 1], lat, atol=1e-7)
    assert back.crs.to_epsg() == 4326 and back["name"].iloc[0] == "经十路"
    plain = read_layer(path)
    assert shapely.equals_exact(plain.geometry.iloc[0], gdf.geometry.iloc[0], tolerance=1e-12)


def test_projected_file_with_source_crs_is_an_error(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(39_500_000, 4_060_000)], crs="EPSG:4527")
    gdf.to_file(tmp_path / "p.gpkg")
    with pytest.raises(CRSError, match="longitude/latitude"):
        read_layer(tmp_path / "p.gpkg", source_crs="gcj02")
