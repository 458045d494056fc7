"""The city model: layers, schemas, validation, CRS choice, save/load."""

from cimtwin.model.city import CityModel, read_model
from cimtwin._crs import default_crs, gauss_kruger_zone
from cimtwin.model.schema import LAYER_SCHEMAS, RASTER_SCHEMAS
from cimtwin.model.synthetic import synthetic_city

__all__ = ["CityModel", "read_model", "default_crs", "gauss_kruger_zone", "LAYER_SCHEMAS", "RASTER_SCHEMAS", "synthetic_city"]
