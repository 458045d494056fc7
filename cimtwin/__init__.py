"""cimtwin: city-information-model and digital-twin analytics for planners.

The heavy parts (numba kernels, geopandas, pydeck, osmnx) load on first use, so
``import cimtwin`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from cimtwin import errors
from cimtwin.config import config

__version__ = "0.1.0"

__all__ = ["CityModel", "read_model", "load_sample", "config", "errors", "__version__",
           "grid", "io", "model", "routing", "coverage", "risk", "targets", "viz"]

_LAZY = {
    "CityModel": ("cimtwin.model.city", "CityModel"),
    "read_model": ("cimtwin.model.city", "read_model"),
    "load_sample": ("cimtwin.model.sample", "load_sample"),
}
_SUBPACKAGES = {"grid", "io", "model", "routing", "coverage", "risk", "targets", "viz", "kernels"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"cimtwin.{name}")
    raise AttributeError(f"module 'cimtwin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
