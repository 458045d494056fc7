import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from cimtwin.errors import CRSError, ValidationError
from cimtwin.grid import rasterize


def test_polygon_line_point(spec):
    xmin, ymin, xmax, ymax = spec.bounds
    poly = box(xmin, ymax - 30, xmin + 20, ymax)  # 3 rows x 2 cols in the north-west corner
    out = rasterize(spec, [poly])
    assert out.dtype == np.uint8 and int(out.sum()) == 6 and out.values[:3, :2].all()
    assert out.rio.crs.to_epsg() == 4547 and out.attrs["units"] == "1"
    px, py = spec.xy(5, 7)
    pt = rasterize(spec, [Point(px, py)], values=[4.5])
    assert pt.dtype == np.float32 and pt.values[5, 7] == 4.5 and float(pt.sum()) == 4.5
    y = spec.xy(8, 0)[1]
    line = rasterize(spec, [LineString([(xmin, y), (xmax, y)])], fill=-1, values=[2], dtype="int16")
    assert (line.values[8] == 2).all() and (np.delete(line.values, 8, axis=0) == -1).all()


def test_all_touched_and_order(spec):
    xmin, _, _, ymax = spec.bounds
    small = box(xmin + 6, ymax - 14, xmin + 14, ymax - 6)  # holds no cell centre, touches 4 cells
    assert int(rasterize(spec, [small]).sum()) == 0
    assert int(rasterize(spec, [small], all_touched=True).sum()) == 4
    both = rasterize(spec, [box(xmin, ymax - 20, xmin + 20, ymax), box(xmin, ymax - 10, xmin + 10, ymax)],
                     values=[1, 2])
    assert both.values[0, 0] == 2 and both.values[1, 1] == 1  # later feature wins


def test_geodataframe_reprojected_and_column(spec):
    import geopandas as gpd

    xmin, ymin, _, ymax = spec.bounds
    gdf = gpd.GeoDataFrame({"h": [12.0]}, geometry=[box(xmin, ymax - 20, xmin + 20, ymax)], crs=spec.crs)
    direct = rasterize(spec, gdf, values="h")
    via_lonlat = rasterize(spec, gdf.to_crs("EPSG:4326"), values="h")
    np.testing.assert_array_equal(direct.values, via_lonlat.values)
    assert float(direct.values[0, 0]) == 12.0


def test_bad_input(spec):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError):
        rasterize(spec, gdf)
    with pytest.raises(ValidationError, match="column"):
        rasterize(spec, [box(0, 0, 1, 1)], values="h")
    with pytest.raises(ValidationError, match="one value per feature"):
        rasterize(spec, [box(0, 0, 1, 1)], values=[1, 2])
    with pytest.raises(ValidationError, match="GridSpec"):
        rasterize((3, 3), [box(0, 0, 1, 1)])
