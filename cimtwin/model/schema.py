"""Layer schemas: required and optional columns (units in their names), geometry types, value ranges.

A schema is data, not code: :data:`LAYER_SCHEMAS` maps each layer kind to a :class:`LayerSchema`.
Extra columns a planner brings are kept. Optional columns missing from a layer are added
with their documented default when the layer enters a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Column",
    "LayerSchema",
    "LAYER_SCHEMAS",
    "RASTER_SCHEMAS",
    "ROAD_CLASSES",
    "ROAD_CLASS_SPEED_KMH",
    "BUILDING_USES",
    "KEY_AREA_CATEGORIES",
    "SITE_CLASSES",
    "SOIL_GROUPS",
    "LAND_USE_CLASSES",
    "PIPE_KINDS",
    "SHELTER_LEVELS",
    "HYDRO_STATION_KINDS",
    "SITE_ANTENNA_GAIN_DBI",
]

# Urban road classes of CJJ 37 (expressway, arterial, secondary arterial, branch) plus local
# streets; default speeds are typical urban design speeds in km/h.
ROAD_CLASSES = ("expressway", "arterial", "secondary", "branch", "local")
ROAD_CLASS_SPEED_KMH = {"expressway": 80.0, "arterial": 60.0, "secondary": 40.0, "branch": 30.0, "local": 20.0}

PIPE_KINDS = ("water", "drain", "gas", "heat", "telecom")
SHELTER_LEVELS = ("emergency", "fixed", "central")
HYDRO_STATION_KINDS = ("water_level", "flow", "rain")
# GB 18306 site classes.
SITE_CLASSES = ("I0", "I1", "II", "III", "IV")
# SCS hydrologic soil groups.
SOIL_GROUPS = ("A", "B", "C", "D")
LAND_USE_CLASSES = (
    "residential", "commercial", "industrial", "public", "road", "park", "forest",
    "farmland", "grassland", "water", "bare",
)
BUILDING_USES = (
    "residential", "commercial", "office", "industrial", "public",
    "school", "kindergarten", "hospital", "elderly_home", "other",
)
# Categories named in the plans (重要部位, 重点公共区域 ...) with the water categories of the
# video-coverage target.
KEY_AREA_CATEGORIES = (
    "重要部位", "重点公共区域", "重点单位", "交通枢纽", "重点水库", "河道", "城区低洼地区", "其他",
)


@dataclass(frozen=True)
class Column:
    """One column of a layer schema.

    ``kind`` is one of "str", "float", "int", "bool", "category" (a str column whose values
    must be among ``choices``). ``minimum``/``maximum`` bound numeric values; ``max_open``
    makes the maximum exclusive (azimuth in [0, 360)). ``default`` fills an optional
    column that is absent; ``nullable`` allows nulls in a required column.
    """

    kind: str
    required: bool = True
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    max_open: bool = False
    min_open: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """Schema of a vector layer kind: geometry families and columns."""

    kind: str
    geometry: tuple[str, ...]  # allowed families: "Point", "LineString", "Polygon"
    columns: dict[str, Column] = field(default_factory=dict)
    doc: str = ""

    @property
    def required(self) -> list[str]:
        return [n for n, c in self.columns.items() if c.required]

    @property
    def optional(self) -> list[str]:
        return [n for n, c in self.columns.items() if not c.required]


_NAME = Column("str", nullable=True, doc="feature name")
_ZONE_NAME = Column("str", doc="zone name, used as the `zone` of breakdowns")
_AZIMUTH = dict(minimum=0.0, maximum=360.0, max_open=True)


def _schema(layer_kind: str, geometry: tuple[str, ...], doc: str, **columns: Column) -> LayerSchema:
    return LayerSchema(layer_kind, geometry, dict(columns), doc)


_POINT = ("Point",)
# Site antenna gain (dBi at boresight) when a site layer has none: typical vendor values
# [secondary], a 3.5 GHz 64T64R NR array 24-25 dBi, a 65° 800-900 MHz NB-IoT panel 15-18 dBi.
SITE_ANTENNA_GAIN_DBI = {"sites_5g": 24.0, "sites_nbiot": 17.0}


# 5G and NB-IoT sites share one schema; a row is a site or one sector of it.
def _radio_site(antenna_gain_dbi: float) -> dict:
    return dict(
        height_m=Column("float", minimum=0.0, min_open=True),
        frequency_mhz=Column("float", minimum=0.0, min_open=True),
        eirp_dbm=Column("float", minimum=-30.0, maximum=100.0, doc="EIRP at boresight, antenna gain included"),
        bandwidth_mhz=Column("float", minimum=0.0, min_open=True),
        azimuth_deg=Column("float", required=False, default=float("nan"), nullable=True, **_AZIMUTH),
        beamwidth_deg=Column("float", required=False, default=65.0, minimum=0.0, maximum=360.0, min_open=True),
        antenna_gain_dbi=Column("float", required=False, default=antenna_gain_dbi, minimum=-10.0, maximum=40.0,
                                doc="site antenna gain at boresight; enters the coupling loss"),
    )
_LINE = ("LineString",)
_POLY = ("Polygon",)

LAYER_SCHEMAS: dict[str, LayerSchema] = {s.kind: s for s in [
    _schema("roads", _LINE, "Road centre lines; direction of a one-way road is the line's direction.",
            name=_NAME,
            road_class=Column("category", choices=ROAD_CLASSES),
            width_m=Column("float", minimum=0.0, min_open=True),
            oneway=Column("bool", required=False, default=False),
            speed_kmh=Column("float", required=False, default=float("nan"), minimum=0.0, min_open=True,
                             nullable=True, doc="NaN → the class speed of ROAD_CLASS_SPEED_KMH")),
    _schema("pipes", _LINE, "Underground pipe networks.",
            kind=Column("category", choices=PIPE_KINDS),
            depth_m=Column("float", minimum=0.0)),
    _schema("cameras", _POINT, "Video cameras with their field of view.",
            height_m=Column("float", minimum=0.0),
            azimuth_deg=Column("float", nullable=True, doc="NaN for omnidirectional (dome) cameras", **_AZIMUTH),
            hfov_deg=Column("float", minimum=0.0, maximum=360.0, min_open=True, nullable=True),
            range_m=Column("float", minimum=0.0, min_open=True),
            connected=Column("bool", required=False, default=None, nullable=True,
                             doc="networked (联网); unknown when absent, never assumed"),
            is_smart=Column("bool", required=False, default=None, nullable=True,
                            doc="AI / smart camera; unknown when absent, never assumed"),
            tilt_deg=Column("float", required=False, default=float("nan"), minimum=-90.0, maximum=90.0,
                            nullable=True, doc="downward from horizontal"),
            vfov_deg=Column("float", required=False, default=float("nan"), minimum=0.0, maximum=180.0,
                            min_open=True, nullable=True)),
    _schema("sites_5g", _POINT, "5G NR base-station sites (one row per site or per sector).", **_radio_site(SITE_ANTENNA_GAIN_DBI["sites_5g"])),
    _schema("sites_nbiot", _POINT, "NB-IoT sites.", **_radio_site(SITE_ANTENNA_GAIN_DBI["sites_nbiot"])),
    _schema("smart_poles", _POINT, "Multi-function smart poles (candidate sites for sensors).",
            height_m=Column("float", required=False, default=10.0, minimum=0.0)),
    _schema("iot_devices", _POINT, "IoT sensing devices.",
            kind=Column("str")),
    _schema("rain_gauges", _POINT, "Rain-gauge stations.",
            gauge_id=Column("str", required=False, default=None, nullable=True),
            automated=Column("bool", required=False, default=None, nullable=True,
                             doc="automatic station; unknown when absent, never assumed")),
    _schema("hydrology_stations", _POINT, "Hydrology stations.",
            kind=Column("category", choices=HYDRO_STATION_KINDS),
            automated=Column("bool", required=False, default=None, nullable=True,
                             doc="automatic station; unknown when absent, never assumed")),
    _schema("shelters", ("Point", "Polygon"), "Emergency shelters (GB 21734 / GB 51143 levels).",
            name=_NAME,
            level=Column("category", choices=SHELTER_LEVELS),
            area_m2=Column("float", minimum=0.0),
            capacity_persons=Column("float", required=False, default=float("nan"), minimum=0.0, nullable=True,
                                    doc="NaN → area_m2 / 1.5 m² per person (GB 21734)")),
    _schema("key_areas", _POLY, "Key areas the plans name (重要部位, 重点公共区域 …).",
            name=_NAME,
            category=Column("category", choices=KEY_AREA_CATEGORIES)),
    _schema("reservoirs", _POLY, "Reservoirs.", name=_NAME),
    _schema("rivers", ("LineString", "Polygon"), "Rivers and river channels.", name=_NAME),
    _schema("low_lying_areas", _POLY, "Low-lying urban areas prone to waterlogging.", name=_NAME),
    _schema("faults", _LINE, "Active faults.",
            name=_NAME,
            activity=Column("str", doc="e.g. Holocene, Late Pleistocene, Early-Mid Pleistocene"),
            magnitude=Column("float", minimum=0.0, maximum=10.0, doc="maximum (design) magnitude"),
            strike_deg=Column("float", **_AZIMUTH)),
    _schema("seismic_zoning", _POLY, "GB 18306-2015 basic ground-motion zones (class-II site, 50-year 10 % "
            "exceedance); fortification is checked against them.",
            pga_g=Column("float", minimum=0.0, maximum=1.0, min_open=True, doc="basic PGA of the zone, g"),
            tg_s=Column("float", required=False, default=float("nan"), minimum=0.0, min_open=True, nullable=True,
                        doc="characteristic period of the response spectrum, s")),
    _schema("site_class", _POLY, "Site classes after GB 18306 / GB 50011.",
            site_class=Column("category", choices=SITE_CLASSES)),
    _schema("land_use", _POLY, "Land use with SCS hydrologic soil group.",
            land_class=Column("category", choices=LAND_USE_CLASSES),
            soil_group=Column("category", choices=SOIL_GROUPS)),
    _schema("districts", _POLY, "Districts and counties (区县).", name=_ZONE_NAME),
    _schema("subdistricts", _POLY, "Sub-districts and towns (街道 / 镇).", name=_ZONE_NAME),
    _schema("grid_cells", _POLY, "Grid-management cells (网格).", name=_ZONE_NAME),
    _schema("management_zones", _POLY, "Functional zones that are not 区县 (高新区, 起步区 …).", name=_ZONE_NAME),
    _schema("buildings", _POLY, "Buildings.",
            height_m=Column("float", minimum=0.0),
            use=Column("category", choices=BUILDING_USES),
            fortification_intensity=Column("int", minimum=6, maximum=9,
                                           doc="seismic fortification intensity (VI–IX as 6–9)"),
            population=Column("float", required=False, default=0.0, minimum=0.0)),
]}


@dataclass(frozen=True)
class RasterSchema:
    kind: str
    units: str
    doc: str


RASTER_SCHEMAS: dict[str, RasterSchema] = {s.kind: s for s in [
    RasterSchema("dem", "m", "Digital elevation model, metres above sea level."),
    RasterSchema("population", "persons", "Residents per cell."),
]}
