"""Maps for planners: interactive deck.gl maps that work offline, and print-quality static maps.

``to_deck`` needs the optional ``pydeck`` (``pip install "cimtwin[viz]"``), which ships the
deck.gl bundle the pages inline; it is read on first use, so ``import cimtwin.viz`` stays light.
"""

from __future__ import annotations

from cimtwin.viz.deck import DeckMap, LayerGroup, MapLayer, deck_legend, fov_sectors, raster_to_png, to_deck, to_html

__all__ = ["to_deck", "to_html", "DeckMap", "MapLayer", "LayerGroup", "deck_legend", "fov_sectors", "raster_to_png",
           "static_map", "cjk_font"]


def __getattr__(name: str):
    if name in ("static_map", "cjk_font"):
        from cimtwin.viz import static_maps

        return getattr(static_maps, name)
    raise AttributeError(f"module 'cimtwin.viz' has no attribute {name!r}")
