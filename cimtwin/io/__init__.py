"""File formats and coordinate conversions. Knows nothing of CityModel."""

from cimtwin.io.container import read_container, read_raster, write_container

__all__ = ["read_container", "write_container", "read_raster"]
