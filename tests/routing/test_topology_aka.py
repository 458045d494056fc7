import geopandas as gpd
import pandas as pd
import shapely

from cimtwin.routing import check_declared_junctions


def test_alternative_spelling_in_aka_is_found():
    roads = gpd.GeoDataFrame(
        {"name": ["风集路", "乙路"], "aka": ["凤集路", None]},
        geometry=[shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (100, 100)])],
        crs="EPSG:32650")
    j = pd.DataFrame({"road": ["乙路", "乙路"], "other_road": ["凤集路", "丙路"]})
    report = check_declared_junctions(roads, j)
    assert report["connected"].tolist() == [True, False]
    assert "丙路" in report["reason"].iloc[1]
