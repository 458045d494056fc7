"""One palette and one set of bilingual labels for the interactive and the static maps.

Colours are RGBA 0–255 (deck.gl's form); :func:`mpl_color` turns one into matplotlib's.
The district fill and the gazette-road colour are distinctive on purpose: the browser test
finds them in a screenshot.
"""

from __future__ import annotations

__all__ = [
    "LAYER_STYLES",
    "ROAD_CLASS_COLORS",
    "GAZETTE_ROAD_COLOR",
    "DISTRICT_FILL",
    "GAP_COLOR",
    "RISK_CLASS_COLORS",
    "LayerStyle",
    "style_for",
    "mpl_color",
    "label",
    "gazette_mask",
]

from dataclasses import dataclass

RGBA = tuple[int, int, int, int]

# Light sand: the base the other layers are drawn on (there is no remote base map).
DISTRICT_FILL: RGBA = (236, 226, 198, 255)
DISTRICT_LINE: RGBA = (120, 110, 90, 255)
# Magenta for the 59 roads named by the 2021 gazette notice: it occurs nowhere else.
GAZETTE_ROAD_COLOR: RGBA = (230, 0, 126, 255)
GAP_COLOR: RGBA = (215, 25, 28, 150)

ROAD_CLASS_COLORS: dict[str, RGBA] = {
    "expressway": (90, 90, 90, 255),
    "arterial": (120, 120, 120, 255),
    "secondary": (150, 150, 150, 255),
    "branch": (175, 175, 175, 255),
    "local": (195, 195, 195, 255),
}
ROAD_CLASS_WIDTH_M: dict[str, float] = {
    "expressway": 40.0, "arterial": 30.0, "secondary": 22.0, "branch": 15.0, "local": 10.0,
}

# Risk classes 1 (lowest) … 5 (highest): green → red.
RISK_CLASS_COLORS: dict[int, RGBA] = {
    1: (26, 150, 65, 170),
    2: (166, 217, 106, 170),
    3: (255, 255, 191, 170),
    4: (253, 174, 97, 170),
    5: (215, 25, 28, 170),
}


@dataclass(frozen=True)
class LayerStyle:
    """How a layer kind is drawn and named."""

    zh: str
    en: str
    fill: RGBA
    line: RGBA = (60, 60, 60, 255)
    radius_m: float = 60.0
    line_width_m: float = 8.0
    order: int = 50  # draw order: low first (base), high last (on top)


LAYER_STYLES: dict[str, LayerStyle] = {
    "districts": LayerStyle("区县", "districts", DISTRICT_FILL, DISTRICT_LINE, line_width_m=40.0, order=0),
    "management_zones": LayerStyle("功能区", "management zones", (0, 0, 0, 0), (90, 70, 160, 255),
                                   line_width_m=30.0, order=2),
    "subdistricts": LayerStyle("街道/镇", "sub-districts", (0, 0, 0, 0), (150, 140, 120, 255),
                               line_width_m=12.0, order=1),
    "grid_cells": LayerStyle("网格", "grid cells", (0, 0, 0, 0), (170, 170, 170, 255), line_width_m=4.0, order=3),
    "land_use": LayerStyle("用地", "land use", (200, 220, 180, 120), order=4),
    "site_class": LayerStyle("场地类别", "site class", (200, 200, 230, 100), order=4),
    "seismic_zoning": LayerStyle("地震动参数区划", "seismic zoning (GB 18306)", (230, 120, 80, 60), order=4),
    "low_lying_areas": LayerStyle("城区低洼地区", "low-lying areas", (120, 170, 230, 140), (60, 110, 190, 255),
                                  order=6),
    "reservoirs": LayerStyle("重点水库", "reservoirs", (70, 140, 220, 220), (40, 90, 170, 255), order=7),
    "rivers": LayerStyle("河道", "rivers", (70, 140, 220, 220), (40, 100, 200, 255), line_width_m=25.0, order=7),
    "key_areas": LayerStyle("重点区域", "key areas", (250, 200, 60, 130), (200, 140, 0, 255), order=8),
    "buildings": LayerStyle("建筑", "buildings", (160, 150, 140, 200), (110, 100, 90, 255), order=9),
    "covered": LayerStyle("已覆盖", "covered", (56, 142, 60, 120), (27, 94, 32, 255), order=11),
    "footprints": LayerStyle("覆盖范围", "sensor footprints", (66, 133, 244, 50), (66, 133, 244, 140), order=10),
    "gaps": LayerStyle("覆盖缺口", "coverage gaps", GAP_COLOR, (170, 10, 10, 255), order=12),
    "service_area": LayerStyle("避难场所服务范围", "shelter service area", (76, 175, 80, 110), (46, 125, 50, 255),
                               order=6),
    "shelter_service_area": LayerStyle("避难场所服务范围", "shelter service area", (76, 175, 80, 110),
                                       (46, 125, 50, 255), order=6),
    "risk_zones": LayerStyle("风险分区", "risk zones", (253, 174, 97, 170), order=5),
    "pipes": LayerStyle("地下管网", "pipes", (0, 150, 136, 255), line_width_m=6.0, order=10),
    "roads": LayerStyle("道路", "roads", (150, 150, 150, 255), order=20),
    "faults": LayerStyle("断层", "faults", (140, 40, 20, 255), line_width_m=30.0, order=21),
    "camera_fov": LayerStyle("摄像机视场", "camera field of view", (66, 133, 244, 60), (66, 133, 244, 160),
                             line_width_m=1.0, order=30),
    "cameras": LayerStyle("摄像机", "cameras", (25, 80, 200, 255), radius_m=25.0, order=31),
    "sites_5g": LayerStyle("5G基站", "5G sites", (123, 31, 162, 255), radius_m=60.0, order=32),
    "sites_nbiot": LayerStyle("NB-IoT基站", "NB-IoT sites", (0, 137, 123, 255), radius_m=60.0, order=32),
    "smart_poles": LayerStyle("智慧杆", "smart poles", (97, 97, 97, 255), radius_m=15.0, order=32),
    "iot_devices": LayerStyle("物联感知设备", "IoT devices", (121, 85, 72, 255), radius_m=10.0, order=32),
    "rain_gauges": LayerStyle("雨量站", "rain gauges", (3, 169, 244, 255), radius_m=80.0, order=33),
    "hydrology_stations": LayerStyle("水文站", "hydrology stations", (0, 96, 100, 255), radius_m=80.0, order=33),
    "shelters": LayerStyle("应急避难场所", "shelters", (56, 142, 60, 255), (27, 94, 32, 255), radius_m=90.0,
                           order=34),
    "raster": LayerStyle("栅格", "raster", (0, 0, 0, 0), order=5),
}

_FALLBACK = LayerStyle("图层", "layer", (100, 100, 100, 200), order=40)


def style_for(name: str, kind: str | None = None) -> LayerStyle:
    """The style of a layer by its kind, else its name, else by its name's prefix (``gaps_cameras``)."""
    for key in (kind, name):
        if key and key in LAYER_STYLES:
            return LAYER_STYLES[key]
    for key, style in LAYER_STYLES.items():
        if name.startswith(key + "_"):
            return style
    return LayerStyle(name, name, _FALLBACK.fill, _FALLBACK.line, order=_FALLBACK.order)


def label(name: str, kind: str | None = None) -> str:
    """'区县 districts': the bilingual label of a layer."""
    s = style_for(name, kind)
    if s.zh == s.en:
        return s.en
    return f"{s.zh} {s.en}"


def mpl_color(rgba: RGBA) -> tuple[float, float, float, float]:
    """An RGBA 0–255 colour as matplotlib's 0–1 tuple."""
    return tuple(c / 255.0 for c in rgba)  # type: ignore[return-value]


def gazette_mask(gdf):
    """Roads named by the 2021 gazette notice: ``gazette_seq`` set and positive (null or -1 = not named)."""
    import numpy as np
    import pandas as pd

    if "gazette_seq" not in gdf.columns:
        return np.zeros(len(gdf), dtype=bool)
    seq = pd.to_numeric(gdf["gazette_seq"], errors="coerce")
    return (seq.notna() & (seq > 0)).to_numpy()
