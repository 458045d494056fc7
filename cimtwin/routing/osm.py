"""Road networks from OpenStreetMap files: XML through osmnx, PBF through an optional extra."""

from __future__ import annotations

from pathlib import Path

from cimtwin.errors import OptionalDependencyError, ValidationError

__all__ = ["from_osm", "highway_to_class"]

_HIGHWAY_CLASS = {
    "motorway": "expressway", "motorway_link": "expressway", "trunk": "expressway", "trunk_link": "expressway",
    "primary": "arterial", "primary_link": "arterial",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "branch", "tertiary_link": "branch",
}


def highway_to_class(highway) -> str:
    """OSM ``highway`` tag (or list of them) -> cimtwin road class (default "local")."""
    if isinstance(highway, (list, tuple)):
        highway = highway[0] if highway else None
    return _HIGHWAY_CLASS.get(str(highway), "local")


def from_osm(path, *, simplify: bool = True, retain_all: bool = True):
    """A RoadNetwork from an ``.osm``/``.xml`` file (osmnx) or ``.pbf`` (needs pyrosm).

    Examples
    --------
    >>> net = from_osm("roads.osm")   # doctest: +SKIP
    """
    from cimtwin.routing.network import RoadNetwork

    path = Path(path)
    if not path.exists():
        raise ValidationError(f"OSM file {str(path)!r} does not exist.")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(".pbf"):
        try:
            import pyrosm
        except ImportError as exc:
            raise OptionalDependencyError(
                "Reading OSM PBF needs the optional package `pyrosm` (pip install pyrosm); "
                "or convert the file to .osm XML (osmium cat in.pbf -o out.osm).") from exc
        osm = pyrosm.OSM(str(path))
        nodes, edges = osm.get_network(network_type="all", nodes=True)
        G = osm.to_graph(nodes, edges, graph_type="networkx")
        return RoadNetwork.from_graph(G)
    if not (suffix.endswith(".osm") or suffix.endswith(".xml") or suffix.endswith(".osm.bz2")):
        raise ValidationError(f"Unsupported OSM file type {path.suffix!r}; use .osm/.xml or .pbf.")
    import osmnx as ox

    G = ox.graph_from_xml(path, simplify=simplify, retain_all=retain_all)
    return RoadNetwork.from_graph(G)
