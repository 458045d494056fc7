"""Maps for planners: interactive pydeck maps that work offline, and print-quality static maps.

``to_deck`` needs the optional ``pydeck`` (``pip install "cimtwin[viz]"``); it is imported on
first use, so ``import cimtwin.viz`` stays light.
"""

from __future__ import annotations

from cimtwin.viz.deck import deck_legend, fov_sectors, raster_to_png, to_deck, to_html

__all__ = ["to_deck", "to_html", "deck_legend", "fov_sectors", "raster_to_png", "static_map"]


def __getattr__(name: str):
    if name == "static_map":
        from cimtwin.viz.static_maps import static_map

        return static_map
    raise AttributeError(f"module 'cimtwin.viz' has no attribute {name!r}")
