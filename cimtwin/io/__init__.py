"""File formats, coordinate conversions and the gazette parser. Knows nothing of CityModel."""

from cimtwin.io.chinese_coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from cimtwin.io.container import check_storable, read_container, read_raster, write_container
from cimtwin.io.gazette import parse_road_notice, road_junctions
from cimtwin.io.osm import read_osm
from cimtwin.io.tables import read_points_table, write_csv
from cimtwin.io.vector import read_layer

__all__ = [
    "parse_road_notice", "road_junctions",
    "gcj02_to_wgs84", "wgs84_to_gcj02", "bd09_to_gcj02", "gcj02_to_bd09", "bd09_to_wgs84", "wgs84_to_bd09",
    "read_container", "write_container", "read_raster", "check_storable", "read_points_table", "write_csv",
    "read_layer",
    "read_osm",
]
