"""OpenStreetMap extracts (OSM XML, or PBF through pyrosm) as a projected ``roads`` layer.

Road classes come from the ``highway`` tag; where OSM ways were merged into one road (osmnx
joins consecutive ways at nodes of degree two) and carry several tags, the highest class
wins: a stretch of primary road stays arterial even if a residential piece was merged in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cimtwin.errors import OptionalDependencyError, SchemaError, ValidationError

__all__ = ["read_osm", "road_class", "HIGHWAY_CLASS", "ROAD_CLASS_RANK", "NETWORK_TYPES"]

# OSM highway tag -> cimtwin road class; every other highway value is "local".
HIGHWAY_CLASS = {
    "motorway": "expressway", "motorway_link": "expressway", "trunk": "expressway", "trunk_link": "expressway",
    "primary": "arterial", "primary_link": "arterial",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "branch", "tertiary_link": "branch",
}
# Highest first.
ROAD_CLASS_RANK = ("expressway", "arterial", "secondary", "branch", "local")

_NOT_FOR_CARS = {"footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "track", "corridor",
                 "elevator", "platform", "proposed", "construction", "abandoned", "raceway", "bus_guideway",
                 "escape", "busway"}
_NOT_FOR_WALKING = {"motorway", "motorway_link", "trunk", "trunk_link", "proposed", "construction", "abandoned",
                    "raceway", "bus_guideway", "escape", "busway"}
_NOT_FOR_BIKES = {"motorway", "motorway_link", "trunk", "trunk_link", "footway", "steps", "corridor", "elevator",
                  "platform", "proposed", "construction", "abandoned", "raceway", "bus_guideway", "escape",
                  "busway"}
# network_type -> (highway values left out, pyrosm's name for it).
NETWORK_TYPES = {
    "all": (set(), "all"),
    "drive": (_NOT_FOR_CARS, "driving+service"),
    "walk": (_NOT_FOR_WALKING, "walking"),
    "bike": (_NOT_FOR_BIKES, "cycling"),
}


def _tags(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [str(v) for v in value if v is not None and v == v]
    if isinstance(value, float) and value != value:
        return []
    # pyrosm and hand-merged data write several values as "primary;residential".
    return [v.strip() for v in str(value).split(";") if v.strip()]


def road_class(highway) -> str:
    """The cimtwin road class of an OSM ``highway`` tag, or the highest of several.

    Parameters
    ----------
    highway
        A tag value (``"primary"``), a list of them (a merged way) or ``"a;b"``.

    Returns
    -------
    str
        One of ``expressway``, ``arterial``, ``secondary``, ``branch``, ``local``.

    Examples
    --------
    >>> road_class("primary")
    'arterial'
    >>> road_class(["residential", "primary", "tertiary"])   # merged ways: the highest class
    'arterial'
    >>> road_class("service")
    'local'
    """
    classes = [HIGHWAY_CLASS.get(t, "local") for t in _tags(highway)]
    if not classes:
        return "local"
    return min(classes, key=ROAD_CLASS_RANK.index)


def _number(value) -> float:
    """The first number in an OSM value ("50", "50 mph" -> 80.5 km/h not attempted: NaN), else NaN."""
    for t in _tags(value):
        try:
            return float(t)
        except ValueError:
            continue
    return float("nan")


def _target_crs(crs, lonlat_bounds):
    # The model's CRS rule is a leaf module (errors and validation only), below io.
    from cimtwin._crs import model_crs

    return model_crs(crs, lonlat_bounds)


def read_osm(path, *, network_type: str = "all", crs=None):
    """Read an OSM XML (``.osm``, ``.xml``) or PBF (``.pbf``) extract as a ``roads`` layer.

    Parameters
    ----------
    path
        The extract. PBF needs the optional ``pyrosm`` (``pip install "cimtwin[pbf]"``).
    network_type
        ``"all"`` (every way with a ``highway`` tag), ``"drive"``, ``"walk"`` or ``"bike"``.
    crs
        Projected CRS of the result; default: the CGCS2000 3-degree Gauss–Krüger zone of the
        extract's centre (the rule :class:`~cimtwin.model.CityModel` uses).

    Returns
    -------
    GeoDataFrame
        One LineString per road between junctions (XML: ways merged by osmnx; PBF: OSM
        ways), with ``name``, ``highway`` (";"-joined when merged), ``road_class`` (the
        highest class of the tags), ``oneway``, ``speed_kmh`` and ``width_m`` (from
        ``maxspeed`` / ``width`` when numeric, else NaN) and ``osm_id``.

    Examples
    --------
    >>> import pyrosm
    >>> roads = read_osm(pyrosm.get_data("test_pbf"))     # Helsinki test extract shipped with pyrosm
    >>> roads.crs.is_projected, sorted(roads["road_class"].unique())
    (True, ['branch', 'expressway', 'local', 'secondary'])
    """
    import geopandas as gpd

    if network_type not in NETWORK_TYPES:
        raise TypeError(f"`network_type` must be one of {sorted(NETWORK_TYPES)}; got {network_type!r}.")
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"OSM file {str(path)!r} does not exist; check the path.")
    name = path.name.lower()
    if name.endswith(".pbf"):
        frame = _read_pbf(path, network_type)
    elif name.endswith((".osm", ".xml", ".osm.bz2")):
        frame = _read_xml(path, network_type)
    else:
        raise ValidationError(f"Unsupported OSM file {path.name!r}: use .osm / .xml (OSM XML) or .pbf.")
    left_out, _ = NETWORK_TYPES[network_type]
    if len(frame):
        keep = np.array([bool(t) and not set(t) <= left_out for t in frame["_tags"]], dtype=bool)
        frame = frame[keep]
    if len(frame) == 0:
        raise SchemaError(f"{path.name}: no ways with a highway tag for network_type={network_type!r}.")
    frame = frame.copy()
    frame["road_class"] = [road_class(t) for t in frame["_tags"]]
    frame["highway"] = [";".join(dict.fromkeys(t)) for t in frame["_tags"]]
    frame = frame.drop(columns="_tags")
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    target = _target_crs(crs, tuple(float(v) for v in gdf.total_bounds))
    out = gdf.to_crs(target).reset_index(drop=True)
    out.attrs["source"] = f"OpenStreetMap extract {path.name}"
    return out[["osm_id", "name", "highway", "road_class", "oneway", "speed_kmh", "width_m", "geometry"]]


def _road_ways_only(path: Path, network_type: str, target: Path) -> None:
    """Copy of the extract without the ways that are not roads of ``network_type``, so osmnx
    never merges a road with a building outline or a footpath."""
    import bz2
    import xml.etree.ElementTree as ET

    left_out, _ = NETWORK_TYPES[network_type]
    opener = bz2.open if path.name.lower().endswith(".bz2") else open
    with opener(path, "rb") as f:
        tree = ET.parse(f)
    root = tree.getroot()
    for way in root.findall("way"):
        tags = [t.get("v") for t in way.findall("tag") if t.get("k") == "highway"]
        if not tags or set(_tags(tags)) <= left_out:
            root.remove(way)
    tree.write(target, encoding="utf-8", xml_declaration=True)


def _read_xml(path: Path, network_type: str):
    import tempfile

    import osmnx as ox
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        roads_only = Path(tmp) / "roads.osm"
        _road_ways_only(path, network_type, roads_only)
        G = ox.graph_from_xml(roads_only, simplify=True, retain_all=True)
    if G.number_of_edges() == 0:
        return pd.DataFrame(columns=["osm_id", "name", "_tags", "oneway", "speed_kmh", "width_m", "geometry"])
    edges = ox.graph_to_gdfs(ox.convert.to_undirected(G), nodes=False).reset_index(drop=True)
    get = (lambda c: edges[c] if c in edges.columns else pd.Series([None] * len(edges)))
    return pd.DataFrame({
        "osm_id": [";".join(map(str, _tags(v))) for v in get("osmid")],
        "name": [";".join(dict.fromkeys(_tags(v))) or None for v in get("name")],
        "_tags": [_tags(v) for v in get("highway")],
        "oneway": [bool(v) if not isinstance(v, list) else any(v) for v in get("oneway").fillna(False)],
        "speed_kmh": [_number(v) for v in get("maxspeed")],
        "width_m": [_number(v) for v in get("width")],
        "geometry": edges.geometry.to_numpy(),
    })


def _read_pbf(path: Path, network_type: str):
    import pandas as pd

    try:
        import pyrosm
    except ImportError as exc:
        raise OptionalDependencyError(
            'Reading OSM PBF needs the optional package pyrosm: `pip install "cimtwin[pbf]"`; or convert the '
            "file to OSM XML (osmium cat in.pbf -o out.osm).") from exc
    ways = pyrosm.OSM(str(path)).get_network(network_type=NETWORK_TYPES[network_type][1])
    if ways is None or len(ways) == 0:
        return pd.DataFrame(columns=["osm_id", "name", "_tags", "oneway", "speed_kmh", "width_m", "geometry"])
    ways = ways.explode(index_parts=False).reset_index(drop=True)
    get = (lambda c: ways[c] if c in ways.columns else pd.Series([None] * len(ways)))
    return pd.DataFrame({
        "osm_id": get("id").astype("string"),
        "name": get("name"),
        "_tags": [_tags(v) for v in get("highway")],
        "oneway": get("oneway").isin(["yes", "true", "1", True]).to_numpy(),
        "speed_kmh": [_number(v) for v in get("maxspeed")],
        "width_m": [_number(v) for v in get("width")],
        "geometry": ways.geometry.to_numpy(),
    })
