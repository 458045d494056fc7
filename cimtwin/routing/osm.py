"""Road networks from OpenStreetMap files: XML through osmnx, PBF through an optional extra."""

from __future__ import annotations

from pathlib import Path

from cimtwin.errors import OptionalDependencyError, ValidationError

__all__ = ["from_osm", "highway_to_class"]


def highway_to_class(highway) -> str:
    """OSM ``highway`` tag (or list of them: the highest class) -> cimtwin road class (default "local")."""
    from cimtwin.io.osm import road_class

    return road_class(highway)


def from_osm(path, *, simplify: bool = True, retain_all: bool = True, crs=None):
    """A RoadNetwork from an ``.osm``/``.xml`` file (osmnx) or ``.pbf`` (needs pyrosm).

    ``crs``: the projected CRS of the network; default: the CGCS2000 Gauss–Krüger zone of the
    extract (the rule of :func:`cimtwin.io.read_osm` and of city models).

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
        return RoadNetwork.from_graph(_project(G, crs))
    if not (suffix.endswith(".osm") or suffix.endswith(".xml") or suffix.endswith(".osm.bz2")):
        raise ValidationError(f"Unsupported OSM file type {path.suffix!r}; use .osm/.xml or .pbf.")
    import osmnx as ox

    G = ox.graph_from_xml(path, simplify=simplify, retain_all=retain_all)
    return RoadNetwork.from_graph(_project(G, crs))


def _project(G, crs):
    """The graph in ``crs``, else in the default projected CRS for its extent."""
    import osmnx as ox

    from cimtwin.io.osm import _target_crs

    x = [d["x"] for _, d in G.nodes(data=True)]
    y = [d["y"] for _, d in G.nodes(data=True)]
    if not x:
        raise ValidationError("The OSM extract has no road nodes.")
    G.graph.setdefault("crs", "EPSG:4326")
    return ox.project_graph(G, to_crs=_target_crs(crs, (min(x), min(y), max(x), max(y))))
