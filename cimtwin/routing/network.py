"""RoadNetwork: a directed road graph stored as CSR arrays, queried with numba kernels.

Nodes are numbered 0..n-1 internally; ``net.node_ids`` gives the user-facing id of each
position and is the order of every per-node result array. Edges keep their direction
(``u -> v``) and a ``both_ways`` flag; a mode that ignores one-way (walking) uses every
edge both ways. Parallel edges are kept as data but routing uses the cheapest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from cimtwin._validate import close_matches, format_ids, require_positive, require_projected
from cimtwin.errors import (
    CimtwinWarning,
    GeometryError,
    InputTypeError,
    LayerNotFoundError,
    SchemaError,
    ValidationError,
)
from cimtwin.routing._base import Route, _progress, _Weight, _weight_label
from cimtwin.routing.modes import DRIVE, ROAD_CLASS_SPEED_KMH, WALK, WALK_SLOW, TravelMode

__all__ = ["RoadNetwork", "Route", "Hierarchy", "CSR"]

_MODE_NAMES = {"walk": WALK, "walk_slow": WALK_SLOW, "drive": DRIVE, "travel_time": DRIVE}


class CSR(NamedTuple):
    """A directed graph as compressed rows: the arcs of node ``i`` are ``indptr[i]:indptr[i + 1]``.

    ``indices`` are head nodes, ``weights`` arc costs and ``edge`` the network edge each
    arc comes from (parallel arcs: the cheapest kept). Node numbers are positions into
    ``net.node_ids``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    edge: np.ndarray


@dataclass
class Hierarchy:
    """A contraction hierarchy of a network for one weight (see :meth:`RoadNetwork.contract`).

    Attributes
    ----------
    weight : str
        The weight it was built for.
    arrays : tuple
        ``(ptr, to, w)``: the query graph, one upward CSR whose rows hold each higher
        neighbour once with the forward and backward costs interleaved (see
        :func:`cimtwin.kernels.ch.ch_query_graph`), in the query numbering.
    mids : tuple
        ``(mid,)``: middle node of each arc, laid out like ``w`` (-1 for an original arc), to
        unpack paths.
    pos, order : numpy.ndarray
        The query numbering: ``pos[i]`` is the query node of network node ``i`` (a position
        into ``node_ids``), deepest hierarchy level first; ``order`` is its inverse. Queries
        map through them at the boundary, so results stay in the network's node order.
    n_arcs, n_shortcuts : int
        Arcs of the hierarchy, and how many of them are shortcuts.
    seconds : float
        Wall-clock build time.
    """

    weight: str
    arrays: tuple
    mids: tuple
    pos: np.ndarray
    order: np.ndarray
    n_arcs: int
    n_shortcuts: int
    seconds: float

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (*self.arrays, *self.mids, self.pos, self.order)))


class RoadNetwork:
    """A road network in a projected CRS, with shortest-path queries.

    Build it with :meth:`from_roads` (a roads GeoDataFrame), :meth:`from_graph` (an
    osmnx-style MultiDiGraph), :meth:`from_model`, :meth:`from_arrays` or
    :func:`cimtwin.routing.from_osm`.

    Examples
    --------
    >>> import numpy as np
    >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
    ...                               crs="EPSG:32650")
    >>> net.distances([0]).tolist()
    [[0.0, 100.0, 200.0]]
    """

    def __init__(self, *, node_ids, x, y, u, v, both_ways, attrs: dict, crs, geometry=None,
                 source_crs=None, graph_attrs=None):
        self.crs = require_projected(crs, arg="crs", what="a road network")
        self._node_ids = np.asarray(node_ids)
        self._x = np.ascontiguousarray(x, dtype=np.float64)
        self._y = np.ascontiguousarray(y, dtype=np.float64)
        self._u = np.ascontiguousarray(u, dtype=np.int32)
        self._v = np.ascontiguousarray(v, dtype=np.int32)
        self._both = np.ascontiguousarray(both_ways, dtype=bool)
        self._attrs = {k: np.asarray(a) for k, a in attrs.items()}
        self._geometry = geometry  # object array of LineStrings, or None (straight edges)
        self._source_crs = source_crs
        self._graph_attrs = dict(graph_attrs or {})
        self._cache: dict = {}
        self._index = None
        if "length" not in self._attrs:
            raise SchemaError("A road network needs an edge `length` in metres.")
        self._check_weights(self._attrs["length"], "length")
        self._attrs["length"] = self._attrs["length"].astype(np.float64)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, x, y, u, v, length, *, crs, oneway=False, node_ids=None, **edge_attrs):
        """A network from node coordinates and edge arrays (positions into x/y).

        ``oneway`` (bool or array) marks edges usable only ``u -> v``.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        u = np.asarray(u)
        v = np.asarray(v)
        n = x.size
        if y.size != n or u.shape != v.shape:
            raise ValidationError("`x` and `y` must have one value per node, `u` and `v` one per edge.")
        if u.size and (u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n):
            raise ValidationError(f"`u`/`v` must be node positions in 0..{n - 1}.")
        both = ~np.broadcast_to(np.asarray(oneway, dtype=bool), u.shape)
        attrs = {"length": np.asarray(length, dtype=np.float64)}
        attrs.update({k: np.asarray(a) for k, a in edge_attrs.items()})
        ids = np.arange(n) if node_ids is None else np.asarray(node_ids)
        return cls(node_ids=ids, x=x, y=y, u=u, v=v, both_ways=both, attrs=attrs, crs=crs)

    @classmethod
    def from_roads(cls, roads, *, snap_tolerance_m: float = 1.0, speeds_kmh: dict | None = None,
                   warn_components: bool = True):
        """A network from a roads GeoDataFrame in a projected CRS.

        Lines are split where they cross or touch (end points within
        ``snap_tolerance_m`` join; an end within it of another line's interior splits that
        line). ``oneway`` roads run in their drawn direction. Driving speed is
        ``speed_kmh``, or the ``road_class`` default (``speeds_kmh`` overrides the table:
        expressway 80, arterial 60, secondary 40, branch 30, local 20 km/h).

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> roads = gpd.GeoDataFrame({"name": ["甲路", "乙路"], "road_class": ["local", "local"],
        ...     "oneway": [False, False]}, geometry=[shapely.LineString([(0, 0), (200, 0)]),
        ...     shapely.LineString([(100, -100), (100, 100)])], crs="EPSG:32650")
        >>> net = RoadNetwork.from_roads(roads)
        >>> net.n_nodes, net.n_edges
        (5, 4)
        """
        import geopandas as gpd
        import shapely

        from cimtwin.routing._noding import node_lines

        if not isinstance(roads, gpd.GeoDataFrame):
            raise InputTypeError(f"`roads` must be a GeoDataFrame; got {type(roads).__name__}.")
        crs = require_projected(roads.crs, arg="roads.crs", what="building a road network")
        tol = require_positive(snap_tolerance_m, arg="snap_tolerance_m", allow_zero=True)
        geom = roads.geometry
        bad = roads.index[geom.isna() | geom.is_empty]
        if len(bad):
            raise GeometryError(f"Roads {format_ids(bad)} have no geometry; drop or fix them.")
        kinds = set(geom.geom_type)
        if not kinds <= {"LineString", "MultiLineString"}:
            raise SchemaError(f"Roads must be LineString/MultiLineString; found {sorted(kinds - {'LineString', 'MultiLineString'})}.")
        zero = roads.index[geom.length <= 0]
        if len(zero):
            raise GeometryError(f"Roads {format_ids(zero)} have zero length; drop them or fix the geometry.")
        parts = roads.reset_index(drop=False).rename(columns={roads.index.name or "index": "road_index"})
        parts = parts.explode(index_parts=False, ignore_index=True)
        lines = np.asarray(parts.geometry.values, dtype=object)
        pieces, src, node_xy, u, v = node_lines(lines, tol)
        keep = shapely.length(pieces) > 0
        loops = (u == v) & (shapely.length(pieces) <= max(tol, 1e-9))
        keep &= ~loops
        pieces, src, u, v = pieces[keep], src[keep], u[keep], v[keep]
        rows = parts.iloc[src]

        attrs: dict[str, np.ndarray] = {"length": shapely.length(pieces).astype(np.float64)}
        attrs["road_index"] = rows["road_index"].to_numpy()
        for col in ("name", "road_class", "width_m", "gazette_seq"):
            if col in rows.columns:
                attrs[col] = rows[col].to_numpy()
        table = dict(ROAD_CLASS_SPEED_KMH)
        table.update(speeds_kmh or {})
        speed = rows["speed_kmh"].to_numpy(dtype=float) if "speed_kmh" in rows.columns else np.full(len(rows), np.nan)
        if "road_class" in rows.columns:
            cls_speed = rows["road_class"].map(table).to_numpy(dtype=float)
            speed = np.where(np.isnan(speed), cls_speed, speed)
        if np.isnan(speed).any():
            missing = np.unique(rows["road_index"].to_numpy()[np.isnan(speed)])
            classes = sorted(set(rows["road_class"].dropna())) if "road_class" in rows.columns else []
            unknown = [c for c in classes if c not in table]
            hint = f" Unknown road_class values {unknown}; give `speeds_kmh`." if unknown else ""
            attrs["_speed_missing"] = missing
            if unknown or "road_class" in rows.columns:
                import warnings

                warnings.warn(f"Roads {format_ids(missing)} have no speed_kmh and no known road_class; "
                              f"driving costs will refuse them.{hint}", CimtwinWarning, stacklevel=2)
        attrs["speed_kmh"] = speed
        oneway = rows["oneway"].fillna(False).to_numpy(dtype=bool) if "oneway" in rows.columns else np.zeros(len(rows), bool)

        # Spatial node order keeps neighbours close in memory (faster searches).
        order = _morton_order(node_xy[:, 0], node_xy[:, 1])
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        node_xy = node_xy[order]
        net = cls(node_ids=np.arange(len(node_xy)), x=node_xy[:, 0], y=node_xy[:, 1], u=rank[u], v=rank[v],
                  both_ways=~oneway, attrs=attrs, crs=crs, geometry=pieces)
        if warn_components:
            net._warn_components()
        return net

    @classmethod
    def from_model(cls, model, *, snap_tolerance_m: float = 1.0, speeds_kmh: dict | None = None,
                   warn_components: bool = True):
        """:meth:`from_roads` on ``model.layer("roads")``, built once per model and options.

        A model never changes and neither does a network, so every analysis of one model
        (flood closures, network coverage, shelter access, the report) shares one network.

        Examples
        --------
        >>> import cimtwin
        >>> m = cimtwin.load_sample("jinan")  # doctest: +SKIP
        >>> RoadNetwork.from_model(m) is RoadNetwork.from_model(m)  # doctest: +SKIP
        True
        """
        speeds = None if speeds_kmh is None else tuple(sorted(dict(speeds_kmh).items()))
        key = ("road_network", float(snap_tolerance_m), speeds)
        net = model.derived(key, lambda: cls.from_roads(model.require_layer("roads", purpose="a road network"),
                                                        snap_tolerance_m=snap_tolerance_m, speeds_kmh=speeds_kmh,
                                                        warn_components=False))
        if warn_components:
            net._warn_components()
        return net

    @classmethod
    def from_graph(cls, G, *, length: str = "length", warn_components: bool = False):
        """A network from an osmnx-style (Multi)DiGraph.

        Node ``x``/``y`` are in ``G.graph["crs"]``; an unprojected graph (EPSG:4326, degrees)
        is projected to its UTM zone for geometry, while edge ``length`` (metres) is kept as
        given. Every graph edge is one directed edge (osmnx stores both directions of a
        two-way street); an undirected graph's edges run both ways.
        """
        import networkx as nx
        import pyproj

        if not isinstance(G, nx.Graph):
            raise InputTypeError(f"`G` must be a networkx graph; got {type(G).__name__}.")
        crs_in = G.graph.get("crs")
        if crs_in is None:
            raise ValidationError("`G.graph['crs']` is missing; set it (osmnx graphs carry it), e.g. 'EPSG:4326'.")
        crs_in = pyproj.CRS.from_user_input(crs_in)
        ids = np.array(list(G.nodes), dtype=object)
        try:
            ids = ids.astype(np.int64)
        except (TypeError, ValueError):
            pass
        pos = {nid: i for i, nid in enumerate(G.nodes)}
        try:
            x = np.array([d["x"] for _, d in G.nodes(data=True)], dtype=float)
            y = np.array([d["y"] for _, d in G.nodes(data=True)], dtype=float)
        except KeyError as exc:
            raise SchemaError("Every node of `G` needs `x` and `y` coordinates (osmnx convention).") from exc
        if G.is_multigraph():
            edges = list(G.edges(keys=True, data=True))
        else:
            edges = [(a, b, 0, d) for a, b, d in G.edges(data=True)]
        u = np.array([pos[e[0]] for e in edges], dtype=np.int64)
        v = np.array([pos[e[1]] for e in edges], dtype=np.int64)
        keys = np.array([e[2] for e in edges], dtype=object)
        lengths = np.array([e[3].get(length, np.nan) for e in edges], dtype=float)
        bad = ~(lengths > 0)
        if bad.any():
            where = [(_py(ids[a]), _py(ids[b]), _py(k)) for a, b, k in zip(u[bad], v[bad], keys[bad])]
            raise ValidationError(
                f"Edges {format_ids(where)} have a missing, NaN, zero or negative `{length}`; every edge "
                "needs a length > 0 in metres (osmnx: `ox.distance.add_edge_lengths(G)`).")
        if crs_in.is_geographic:
            import geopandas as gpd

            pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=crs_in)
            crs = pts.estimate_utm_crs()
            pts = pts.to_crs(crs)
            px, py = pts.x.to_numpy(), pts.y.to_numpy()
        else:
            crs, px, py = crs_in, x, y
        attrs: dict[str, np.ndarray] = {"length": lengths, "key": keys}
        for name in ("name", "highway", "osmid", "speed_kph", "travel_time", "road_class", "oneway", "maxspeed"):
            vals = [e[3].get(name) for e in edges]
            if any(val is not None for val in vals):
                attrs[name] = np.array(vals, dtype=object)
        if "speed_kph" in attrs:
            attrs["speed_kmh"] = np.array([_as_float(s) for s in attrs["speed_kph"]], dtype=float)
        elif "highway" in attrs:
            from cimtwin.io.osm import road_class as highway_to_class

            rc = np.array([highway_to_class(h) for h in attrs["highway"]], dtype=object)
            attrs.setdefault("road_class", rc)
            attrs["speed_kmh"] = np.array([ROAD_CLASS_SPEED_KMH.get(c, np.nan) for c in rc], dtype=float)
        geom = None
        if any("geometry" in e[3] for e in edges):
            import shapely

            geoms = []
            for (a, b, _, d), ua, vb in zip(edges, u, v):
                g = d.get("geometry")
                if g is None:
                    g = shapely.LineString([(x[ua], y[ua]), (x[vb], y[vb])])
                geoms.append(g)
            geom = np.asarray(geoms, dtype=object)
            if crs_in.is_geographic:
                import geopandas as gpd

                geom = np.asarray(gpd.GeoSeries(geom, crs=crs_in).to_crs(crs).values, dtype=object)
        both = np.full(len(edges), not G.is_directed())
        net = cls(node_ids=ids, x=px, y=py, u=u, v=v, both_ways=both, attrs=attrs, crs=crs, geometry=geom,
                  source_crs=crs_in, graph_attrs=dict(G.graph))
        net._lonlat = (x, y) if crs_in.is_geographic else None
        if warn_components:
            net._warn_components()
        return net

    # ------------------------------------------------------------------ basic properties
    @property
    def node_ids(self) -> np.ndarray:
        """Node ids in the order of every per-node result array."""
        return self._node_ids

    @property
    def n_nodes(self) -> int:
        return int(self._x.size)

    @property
    def n_edges(self) -> int:
        return int(self._u.size)

    @property
    def node_xy(self) -> np.ndarray:
        """(n, 2) node coordinates in ``crs`` (metres)."""
        return np.column_stack([self._x, self._y])

    @property
    def nbytes(self) -> int:
        """Bytes held by the network's arrays (graph, attributes and built CSR caches).

        ALT landmark tables (:meth:`prepare_landmarks`) are an optional index, counted
        by ``landmark_nbytes`` instead.
        """
        seen: dict[int, int] = {}
        for a in (self._node_ids, self._x, self._y, self._u, self._v, self._both, *self._attrs.values()):
            seen[id(a)] = a.nbytes
        for key, val in self._cache.items():
            if key[0] == "landmarks":
                continue
            for a in val if isinstance(val, tuple) else (val,):
                if isinstance(a, np.ndarray):
                    seen[id(a)] = a.nbytes
        return int(sum(seen.values()))

    @property
    def landmark_nbytes(self) -> int:
        """Bytes of the ALT landmark tables built so far."""
        seen = {}
        for key, val in self._cache.items():
            if key[0] == "landmarks":
                for a in val:
                    seen[id(a)] = a.nbytes
        return int(sum(seen.values()))

    def __repr__(self) -> str:
        return f"RoadNetwork({self.n_nodes} nodes, {self.n_edges} edges, crs={self.crs.to_string()})"

    def edge_attr(self, name: str) -> np.ndarray:
        """An edge attribute array (one value per edge, in edge order)."""
        if name not in self._attrs:
            raise LayerNotFoundError(
                f"The network has no edge attribute {name!r}; it has {sorted(self._attrs)}."
                + close_matches(name, self._attrs))
        return self._attrs[name]

    def edge_geometry(self, edges=None) -> np.ndarray:
        """LineStrings of edges (straight lines where the source gave none)."""
        import shapely

        idx = np.arange(self.n_edges) if edges is None else np.asarray(edges, dtype=np.int64)
        if self._geometry is not None:
            return self._geometry[idx]
        coords = np.stack([np.column_stack([self._x[self._u[idx]], self._y[self._u[idx]]]),
                           np.column_stack([self._x[self._v[idx]], self._y[self._v[idx]]])], axis=1)
        return np.asarray(shapely.linestrings(coords), dtype=object)

    def node_index(self, ids) -> np.ndarray:
        """Positions (int32) of node ids; unknown ids raise LayerNotFoundError listing them."""
        import pandas as pd

        if self._index is None:
            self._index = pd.Index(self._node_ids)
        ids_arr = np.atleast_1d(np.asarray(ids, dtype=self._node_ids.dtype if self._node_ids.dtype != object else object))
        pos = self._index.get_indexer(ids_arr)
        if (pos < 0).any():
            missing = ids_arr[pos < 0]
            raise LayerNotFoundError(f"Node ids {format_ids(missing)} are not in the network "
                                     f"({self.n_nodes} nodes; see `net.node_ids`).")
        return pos.astype(np.int32)

    # ------------------------------------------------------------------ weights and CSR
    def _weight(self, weight) -> _Weight:
        if isinstance(weight, str) and weight in _MODE_NAMES and weight not in self._attrs:
            weight = _MODE_NAMES[weight]
        if isinstance(weight, TravelMode):
            key = f"mode:{weight.name}:{weight.speed_mps}:{weight.respect_oneway}"
            if key not in self._cache:
                length = self._attrs["length"]
                if weight.speed_mps is not None:
                    w = length / weight.speed_mps
                else:
                    speed = self._attrs.get("speed_kmh")
                    if speed is None:
                        raise SchemaError("Driving needs edge speeds: a `speed_kmh` or `road_class` column.")
                    w = length / (np.asarray(speed, dtype=float) / 3.6)
                    self._check_weights(w, f"travel time of mode {weight.name!r} (speed_kmh)")
                self._cache[key] = w
            return _Weight(key, self._scaled_cost(self._cache[key]), weight.respect_oneway, "s")
        if not isinstance(weight, str):
            raise InputTypeError(f"`weight` must be an edge attribute name or a TravelMode; got {weight!r}.")
        if weight not in self._attrs:
            raise LayerNotFoundError(f"No edge attribute {weight!r} to route by; available: "
                                     f"{sorted(self._attrs)}, or a TravelMode (walking(), driving())."
                                     + close_matches(weight, self._attrs))
        w = self._attrs[weight]
        if w.dtype == object or not np.issubdtype(w.dtype, np.number):
            try:
                w = w.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"Edge attribute {weight!r} is not numeric.") from exc
        w = w.astype(np.float64, copy=False)
        if weight != "length":
            self._check_weights(w, weight)
        return _Weight(f"attr:{weight}", self._scaled_cost(w), True, "m" if weight == "length" else weight)

    def _scaled_cost(self, w):
        scale = self._attrs.get("_cost_scale")
        return w if scale is None else w * scale

    def _check_weights(self, w, name):
        w = np.asarray(w, dtype=float)
        bad = np.flatnonzero(~(w > 0) | ~np.isfinite(w))
        if bad.size:
            raise ValidationError(
                f"Edge weight `{name}` must be finite and > 0; edges {format_ids(self._describe_edges(bad))} "
                f"have {format_ids(np.unique(w[bad]), limit=5)}. Fix or drop those edges.")

    def _describe_edges(self, idx):
        out = []
        for i in np.asarray(idx)[:10]:
            a, b = self._node_ids[self._u[i]], self._node_ids[self._v[i]]
            label = f"edge {i} ({a}->{b}"
            if "road_index" in self._attrs:
                label += f", road {self._attrs['road_index'][i]}"
            out.append(label + ")")
        return out + [None] * (len(idx) - len(out)) if len(idx) > 10 else out

    def _arcs(self, wt: _Weight):
        both = self._both if wt.respect_oneway else np.ones_like(self._both)
        rev = np.flatnonzero(both).astype(np.int32)
        src = np.concatenate([self._u, self._v[rev]])
        dst = np.concatenate([self._v, self._u[rev]])
        edge = np.concatenate([np.arange(self.n_edges, dtype=np.int32), rev])
        return src, dst, edge

    def _csr(self, wt: _Weight, reverse: bool = False):
        """(indptr, indices, weights, edge-of-arc), cheapest of parallel arcs kept."""
        from cimtwin.kernels.graph import build_csr

        key = ("csr", wt.key, wt.respect_oneway, reverse)
        if key not in self._cache:
            if reverse and self._symmetric(wt):
                return self._csr(wt, False)
            src, dst, edge = self._arcs(wt)
            if reverse:
                src, dst = dst, src
            indptr, indices, w, arc = build_csr(self.n_nodes, src, dst, wt.per_edge[edge])
            self._cache[key] = (indptr, indices, w, edge[arc])
        return self._cache[key]

    def csr(self, weight="length", *, reverse: bool = False) -> CSR:
        """The graph under ``weight`` as compressed rows (nodes in ``node_ids`` order).

        ``reverse`` gives the arcs turned around (a search on it runs towards its sources).
        A weight that ignores one-way (walking) has every edge both ways.

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100], [0, 0], [0], [1], [100.0], oneway=True, crs="EPSG:32650")
        >>> g = net.csr()
        >>> g.indptr.tolist(), g.indices.tolist(), g.weights.tolist()
        ([0, 1, 1], [1], [100.0])
        """
        return CSR(*self._csr(self._weight(weight), reverse=reverse))

    def contract(self, weight="length", *, max_settled: int = 500) -> Hierarchy:
        """Build (once) and cache a contraction hierarchy for ``weight``.

        Afterwards :meth:`route_costs`, :meth:`shortest_path` between nodes,
        :meth:`od_matrix` and :func:`cimtwin.routing.od_matrix` with this weight answer from
        it (the same costs as Dijkstra, much faster). A network from
        :func:`~cimtwin.routing.close_roads` is a new network without a hierarchy: its
        queries run Dijkstra / ALT until it is contracted itself.

        Parameters
        ----------
        weight : str or TravelMode
        max_settled : int
            Nodes a witness search may settle (it usually stops sooner, once the removed
            node's neighbours are settled). Too small a bound misses witnesses in the dense
            upper levels: more shortcuts, slower queries and, past a point, a slower build.

        Returns
        -------
        Hierarchy

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
        ...                               crs="EPSG:32650")
        >>> net.contract().n_arcs
        4
        >>> net.route_costs([0], [2]).tolist()
        [200.0]
        """
        import time

        from cimtwin.kernels.ch import ch_build, ch_layout, ch_levels, ch_query_graph

        wt = self._weight(weight)
        key = ("ch", wt.key, wt.respect_oneway)
        if key not in self._cache:
            if not isinstance(max_settled, (int, np.integer)) or max_settled < 1:
                raise ValidationError(f"`max_settled` must be a positive integer; got {max_settled!r}.")
            indptr, indices, w, _ = self._icsr(wt)
            t0 = time.perf_counter()
            rank, up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid = ch_build(
                indptr, indices, w, int(max_settled), max(1, int(max_settled) // 5))
            n_arcs = int(up_to.size + dn_fr.size)
            n_short = int((up_mid >= 0).sum() + (dn_mid >= 0).sum())
            # query numbering: by hierarchy level, the spatial order within a level
            kpos, _ = ch_layout(ch_levels(rank, up_ptr, up_to, dn_ptr, dn_fr))
            ptr, to, qw, qmid = ch_query_graph(kpos, up_ptr, up_to, up_w, up_mid, dn_ptr, dn_fr, dn_w, dn_mid)
            _, srank = self._spatial_order()
            pos = kpos[srank]
            order = np.empty_like(pos)
            order[pos] = np.arange(pos.size, dtype=pos.dtype)
            self._cache[key] = Hierarchy(_weight_label(weight), (ptr, to, qw), (qmid,), pos, order, n_arcs,
                                         n_short, time.perf_counter() - t0)
        return self._cache[key]

    def hierarchy(self, weight="length") -> Hierarchy | None:
        """The contraction hierarchy built for ``weight`` by :meth:`contract`, else None."""
        wt = weight if isinstance(weight, _Weight) else self._weight(weight)
        return self._cache.get(("ch", wt.key, wt.respect_oneway))

    def _spatial_order(self):
        """(order, rank) int32: the kernels' node numbering, along a Hilbert curve.

        Queries run on a copy of the graph renumbered so that nodes close on the ground
        are close in memory (a search front then stays in cache); ``order[i]`` is the
        public position of internal node ``i`` and ``rank`` its inverse. Results are
        mapped back, so ``node_ids`` stays the order of every result array.
        """
        key = ("order",)
        if key not in self._cache:
            from cimtwin.kernels.graph import hilbert_codes

            order = np.argsort(hilbert_codes(self._x, self._y, 16), kind="stable").astype(np.int32)
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size, dtype=np.int32)
            self._cache[key] = (order, rank)
        return self._cache[key]

    def _icsr(self, wt: _Weight, reverse: bool = False):
        """Like :meth:`_csr` but in the kernels' spatial numbering (see :meth:`_spatial_order`)."""
        from cimtwin.kernels.graph import build_csr

        key = ("icsr", wt.key, wt.respect_oneway, reverse)
        if key not in self._cache:
            if reverse and self._symmetric(wt):
                return self._icsr(wt, False)
            _, rank = self._spatial_order()
            src, dst, edge = self._arcs(wt)
            if reverse:
                src, dst = dst, src
            indptr, indices, w, arc = build_csr(self.n_nodes, rank[src], rank[dst], wt.per_edge[edge])
            self._cache[key] = (indptr, indices, w, edge[arc])
        return self._cache[key]

    def _ixy(self):
        """Node coordinates in the kernels' numbering (for A* bounds)."""
        key = ("ixy",)
        if key not in self._cache:
            order, _ = self._spatial_order()
            self._cache[key] = (self._x[order], self._y[order])
        return self._cache[key]

    def _symmetric(self, wt: _Weight) -> bool:
        return bool(not wt.respect_oneway or self._both.all())

    # ------------------------------------------------------------------ sources
    def _seeds(self, sources, wt, *, max_snap_m):
        """(nodes int32, initial cost float64, group int) for node ids or points."""
        from cimtwin.routing.snapping import is_points, snap_seeds

        if is_points(sources):
            return snap_seeds(self, sources, wt, max_snap_m=max_snap_m, outbound=True)
        pos = self.node_index(sources)
        return pos, np.zeros(pos.size), np.arange(pos.size)

    # ------------------------------------------------------------------ queries
    def distances(self, sources, weight="length", *, cutoff: float | None = None, max_snap_m: float = 100.0,
                  batch_size: int = 64):
        """Shortest-path costs from each source to every node: shape (len(sources), n_nodes).

        ``sources`` are node ids or points (snapped onto the nearest edge). Unreachable
        nodes, and nodes beyond ``cutoff``, are inf. Rows are computed in parallel.

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 500], [0, 0, 0], [0], [1], [100.0], crs="EPSG:32650")
        >>> net.distances([1]).tolist()   # node 2 is isolated
        [[100.0, 0.0, inf]]
        """
        from cimtwin.kernels.graph import dijkstra_many, gather

        wt = self._weight(weight)
        indptr, indices, w, _ = self._icsr(wt)
        _, rank = self._spatial_order()
        cut = np.inf if cutoff is None else require_positive(cutoff, arg="cutoff", allow_zero=True)
        nodes, d0, group = self._seeds(sources, wt, max_snap_m=max_snap_m)
        nodes = rank[nodes]
        n_src = int(group.max()) + 1 if group.size else 0
        if n_src == 1 and nodes.size == 1 and d0[0] == 0:
            from cimtwin.kernels.graph import dijkstra_dist

            return gather(dijkstra_dist(indptr, indices, w, int(nodes[0]), cut), rank)[None, :]
        out = np.empty((n_src, self.n_nodes))
        if n_src and np.all(d0 == 0) and np.array_equal(group, np.arange(n_src)):
            for start in _progress(range(0, n_src, batch_size), n_src > batch_size, "distances"):
                rows = dijkstra_many(indptr, indices, w, nodes[start:start + batch_size], cut)
                out[start:start + batch_size] = rows[:, rank]
            return out
        for g in range(n_src):
            sel = group == g
            out[g] = gather(_nearest_source(indptr, indices, w, nodes[sel], d0[sel], cut)[0], rank)
        return out

    def nearest_facility(self, facilities, weight="length", *, cutoff: float | None = None,
                         max_snap_m: float = 100.0):
        """For every node, the cost to the nearest facility and which facility, in one pass.

        Returns ``(dist, facility)``: float64 and int arrays over ``node_ids``; facility is
        the position in ``facilities`` (-1 and inf where none is reachable). Costs run
        from the facility outwards; for node -> facility costs on one-way streets use
        :meth:`nearest_facility_to`, and for any points (buildings, blocks) with a status
        per point use :func:`cimtwin.routing.nearest_facility`.

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
        ...                               crs="EPSG:32650")
        >>> dist, which = net.nearest_facility([2])
        >>> dist.tolist(), which.tolist()
        ([200.0, 100.0, 0.0], [0, 0, 0])
        """
        wt = self._weight(weight)
        indptr, indices, w, _ = self._icsr(wt)
        _, rank = self._spatial_order()
        cut = np.inf if cutoff is None else require_positive(cutoff, arg="cutoff", allow_zero=True)
        nodes, d0, group = self._seeds(facilities, wt, max_snap_m=max_snap_m)
        dist, label = _nearest_source(indptr, indices, w, rank[nodes], d0, cut)
        return _in_public_order(dist, label, group, rank)

    def nearest_facility_to(self, facilities, weight="length", *, cutoff=None, max_snap_m: float = 100.0):
        """Like :meth:`nearest_facility` but costs run node -> facility (one-way aware)."""
        wt = self._weight(weight)
        indptr, indices, w, _ = self._icsr(wt, reverse=True)
        _, rank = self._spatial_order()
        cut = np.inf if cutoff is None else require_positive(cutoff, arg="cutoff", allow_zero=True)
        from cimtwin.routing.snapping import is_points, snap_seeds

        if is_points(facilities):
            nodes, d0, group = snap_seeds(self, facilities, wt, max_snap_m=max_snap_m, outbound=False)
        else:
            nodes = self.node_index(facilities)
            d0, group = np.zeros(nodes.size), np.arange(nodes.size)
        dist, label = _nearest_source(indptr, indices, w, rank[nodes], d0, cut)
        return _in_public_order(dist, label, group, rank)

    def k_nearest_facilities(self, facilities, k: int = 3, weight="length", *, cutoff=None):
        """The ``k`` nearest facilities of every node: ``(dist, facility)`` of shape (n_nodes, k)."""
        from cimtwin.kernels.graph import k_nearest

        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValidationError(f"`k` must be a positive integer; got {k!r}.")
        wt = self._weight(weight)
        indptr, indices, w, _ = self._icsr(wt)
        _, rank = self._spatial_order()
        cut = np.inf if cutoff is None else require_positive(cutoff, arg="cutoff", allow_zero=True)
        pos = rank[self.node_index(facilities)]
        dist, which = k_nearest(indptr, indices, w, pos, int(k), cut)
        return dist[rank], which[rank]

    def od_matrix(self, origins, destinations, weight="length", *, batch_size: int = 1024,
                  max_snap_m: float = 100.0, progress: bool = True):
        """Origin-destination costs (len(origins), len(destinations)), computed in blocks.

        Node ids or points; uses the hierarchy of :meth:`contract` when there is one.
        ``batch_size`` is the rows per block. See :func:`cimtwin.routing.od_matrix`.

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
        ...                               crs="EPSG:32650")
        >>> net.od_matrix([0], [1, 2], progress=False).tolist()
        [[100.0, 200.0]]
        """
        from cimtwin.routing.matrix import od_matrix

        return od_matrix(self, origins, destinations, weight, rows=batch_size, max_snap_m=max_snap_m,
                         progress=progress)

    def prepare_landmarks(self, weight="length", *, n_landmarks: int = 8, seed: int = 0) -> None:
        """Precompute ALT landmarks for fast point-to-point queries with ``weight``.

        Costs ``n_landmarks`` one-to-all searches (twice on a one-way network) and
        ``8 * n_landmarks`` bytes per node (per direction); queries then explore far
        fewer nodes. Results are exact either way.
        """
        from cimtwin.kernels.graph import farthest_landmarks, landmark_distances

        wt = self._weight(weight)
        indptr, indices, w, _ = self._icsr(wt)
        rng = np.random.default_rng(seed)
        marks, lm_from = farthest_landmarks(indptr, indices, w, int(rng.integers(self.n_nodes)), int(n_landmarks))
        if self._symmetric(wt):
            lm_to = lm_from
        else:
            r = self._icsr(wt, reverse=True)
            lm_to = landmark_distances(r[0], r[1], r[2], marks)
        self._cache[("landmarks", wt.key, wt.respect_oneway)] = (marks, lm_from, lm_to)

    def _p2p_args(self, wt):
        from cimtwin.kernels.graph import astar_scale

        f = self._icsr(wt)
        r = self._icsr(wt, reverse=True)
        key = ("astar", wt.key, wt.respect_oneway)
        if key not in self._cache:
            src, dst, edge = self._arcs(wt)
            self._cache[key] = np.array([astar_scale(src, dst, wt.per_edge[edge], self._x, self._y)])
        lm = self._cache.get(("landmarks", wt.key, wt.respect_oneway))
        if lm is None:
            empty = np.empty((self.n_nodes, 0))
            lm_from, lm_to, n_active = empty, empty, 0
        else:
            lm_from, lm_to, n_active = lm[1], lm[2], 4
        ix, iy = self._ixy()
        return (f[0], f[1], f[2], r[0], r[1], r[2], ix, iy, float(self._cache[key][0]),
                lm_from, lm_to, n_active)

    def route_costs(self, origins, targets, weight="length") -> np.ndarray:
        """Costs of many origin -> target node pairs, parallel over pairs.

        With a hierarchy for ``weight`` (:meth:`contract`) each pair is a bidirectional
        upward search (well under a millisecond at 10^6 nodes); without one, a
        bidirectional A* that explores only around the two ends (call
        :meth:`prepare_landmarks` to explore far less). Unreachable pairs are inf (see
        :meth:`explain_unreachable`).

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
        ...                               crs="EPSG:32650")
        >>> net.route_costs([0, 2], [2, 1]).tolist()
        [200.0, 100.0]
        """
        import numba

        wt = self._weight(weight)
        hier = self.hierarchy(wt)
        _, rank = self._spatial_order()
        num = hier.pos if hier is not None else rank  # the kernels' numbering
        o = num[self.node_index(origins)]
        t = num[self.node_index(targets)]
        if o.shape != t.shape:
            raise ValidationError(f"`origins` and `targets` must pair up; got {o.size} and {t.size}.")
        threads = max(1, numba.get_num_threads())
        if hier is not None:
            from cimtwin.kernels.ch import ch_query_batch

            return ch_query_batch(*hier.arrays, o, t, threads)
        from cimtwin.kernels.graph import point_to_point_batch

        return point_to_point_batch(*self._p2p_args(wt), o, t, threads)

    def shortest_path(self, origin, target, weight="length", *, max_snap_m: float = 100.0) -> Route:
        """The shortest route between two node ids or two points.

        Returns a :class:`Route` (node path, length, travel time, LineString). An
        unreachable target gives ``cost = inf`` and a ``reason``, not an exception.

        Examples
        --------
        >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0],
        ...                               crs="EPSG:32650")
        >>> r = net.shortest_path(0, 2)
        >>> r.nodes, r.length_m
        ([0, 1, 2], 200.0)
        """
        from cimtwin.routing.snapping import is_points

        wt = self._weight(weight)
        if is_points(origin) or is_points(target):
            from cimtwin.routing.snapping import route_between_points

            return route_between_points(self, origin, target, wt, weight, max_snap_m=max_snap_m)
        from cimtwin.kernels.graph import point_to_point

        hier = self.hierarchy(wt)
        order, rank = (hier.order, hier.pos) if hier is not None else self._spatial_order()
        s, t = rank[self.node_index([origin, target])]
        if hier is not None:
            from cimtwin.kernels.ch import ch_path

            one = np.zeros(1)
            cost, path = ch_path(*hier.arrays, *hier.mids, np.array([s], np.int32), one,
                                 np.array([t], np.int32), one)
        else:
            cost, path = point_to_point(*self._p2p_args(wt), int(s), int(t))
        if not np.isfinite(cost):
            return self._no_route(origin, target, wt, weight)
        return self._route_from_path(order[path], cost, wt, weight)

    def _no_route(self, origin, target, wt, weight):
        return Route([], np.inf, np.inf, np.inf, None, self.explain_unreachable(origin, target, weight=weight),
                     _weight_label(weight))

    def _path_edges(self, path, wt):
        """Edge index used between consecutive path nodes (the cheapest arc)."""
        indptr, indices, _, edge = self._icsr(wt)
        _, rank = self._spatial_order()
        path = rank[np.asarray(path, dtype=np.int64)]
        out = np.empty(max(len(path) - 1, 0), dtype=np.int64)
        for i in range(len(path) - 1):
            a, b = path[i], path[i + 1]
            row = slice(indptr[a], indptr[a + 1])
            j = np.flatnonzero(indices[row] == b)[0]
            out[i] = edge[row][j]
        return out

    def _route_from_path(self, path, cost, wt, weight, *, head=None, tail=None):
        import shapely

        edges = self._path_edges(path, wt)
        length = float(self._attrs["length"][edges].sum())
        parts = []
        for a, e in zip(path[:-1], edges):
            g = shapely.get_coordinates(self.edge_geometry([e])[0])
            if self._u[e] != a:  # walked against the drawn direction
                g = g[::-1]
            parts.append(g)
        if head is not None:
            length += head[0]
            parts.insert(0, head[1])
        if tail is not None:
            length += tail[0]
            parts.append(tail[1])
        coords = np.concatenate([p if i == 0 else p[1:] for i, p in enumerate(parts)]) if parts else np.empty((0, 2))
        geom = shapely.LineString(coords) if len(coords) >= 2 else None
        if wt.unit == "s":
            tt = float(cost)
        elif "speed_kmh" in self._attrs:
            sp = np.asarray(self._attrs["speed_kmh"], dtype=float)[edges]
            tt = float(np.sum(self._attrs["length"][edges] / (sp / 3.6))) if len(edges) else 0.0
        else:
            tt = np.nan
        return Route([_py(i) for i in self._node_ids[path]], length, float(cost), tt, geom, "", _weight_label(weight))

    # ------------------------------------------------------------------ connectivity
    def components(self, *, strong: bool = False):
        """Connected components: a DataFrame (component, n_nodes, example_nodes), largest first,
        and a per-node label array (same order as ``node_ids``)."""
        import pandas as pd
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        wt = self._weight("length")
        indptr, indices, w, _ = self._csr(wt)
        A = csr_matrix((np.ones_like(w), indices, indptr), shape=(self.n_nodes, self.n_nodes))
        _, label = connected_components(A, directed=True, connection="strong" if strong else "weak")
        sizes = np.bincount(label)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        label = rank[label]
        rows = []
        for c in range(min(order.size, 1000)):
            members = np.flatnonzero(label == c)[:5] if c > 0 else np.flatnonzero(label == c)[:3]
            rows.append({"component": c, "n_nodes": int(sizes[order[c]]),
                         "example_nodes": [_py(i) for i in self._node_ids[members]]})
        return pd.DataFrame(rows), label

    def _warn_components(self):
        table, _ = self.components()
        if len(table) > 1:
            import warnings

            small = table.iloc[1:]
            warnings.warn(
                f"The road network has {len(table)} disconnected parts: the largest holds "
                f"{table.n_nodes.iloc[0]} of {self.n_nodes} nodes; {int(small.n_nodes.sum())} nodes lie in "
                f"{len(small)} other part(s), e.g. nodes {small.example_nodes.iloc[0]}. Routes into them are inf; "
                "see `net.components()`, or raise `snap_tolerance_m` if they should connect.",
                CimtwinWarning, stacklevel=3)

    def explain_unreachable(self, origin, target, *, weight="length") -> str:
        """Why ``target`` cannot be reached from ``origin`` ("" when it can)."""
        s, t = self.node_index([origin, target])
        _, weak = self.components()
        if weak[s] != weak[t]:
            return (f"node {target} is in a different disconnected part of the network (part {weak[t]}) "
                    f"than node {origin} (part {weak[s]}); no road links them.")
        wt = self._weight(weight)
        from cimtwin.kernels.graph import dijkstra

        indptr, indices, w, _ = self._csr(wt)
        d = dijkstra(indptr, indices, w, np.array([s], np.int32), np.zeros(1), np.inf)[0]
        if not np.isfinite(d[t]):
            return (f"node {target} is connected to node {origin} only against one-way streets; "
                    "no route obeys their direction (walking ignores one-way).")
        return ""

    # ------------------------------------------------------------------ derived networks
    def subset_edges(self, keep: np.ndarray, *, scale: np.ndarray | None = None) -> RoadNetwork:
        """A copy keeping edges where ``keep`` is True (nodes kept), optionally with weights scaled.

        ``scale`` (per edge, >= 1 slows) multiplies every weight: length-based weights
        and travel times alike, so a "slowed" edge costs more in every mode.
        """
        keep = np.asarray(keep, dtype=bool)
        attrs = {k: a[keep] for k, a in self._attrs.items() if k != "_speed_missing" and len(a) == self.n_edges}
        if scale is not None:
            attrs["_cost_scale"] = np.asarray(scale, dtype=float)[keep]
        net = RoadNetwork.__new__(RoadNetwork)
        net.crs = self.crs
        net._node_ids, net._x, net._y = self._node_ids, self._x, self._y
        net._u, net._v, net._both = self._u[keep], self._v[keep], self._both[keep]
        net._attrs = attrs
        net._geometry = None if self._geometry is None else self._geometry[keep]
        net._source_crs, net._graph_attrs = self._source_crs, self._graph_attrs
        net._cache, net._index = {}, self._index
        net._lonlat = getattr(self, "_lonlat", None)
        if scale is not None:
            net._scaled = True
        return net

    # ------------------------------------------------------------------ export
    def to_gdfs(self):
        """(nodes, edges) GeoDataFrames in ``crs``; edges carry u, v, key, length and attributes."""
        import geopandas as gpd
        import pandas as pd

        nodes = gpd.GeoDataFrame({"x": self._x, "y": self._y},
                                 geometry=gpd.points_from_xy(self._x, self._y), crs=self.crs,
                                 index=pd.Index(self._node_ids, name="osmid"))
        data = {"u": self._node_ids[self._u], "v": self._node_ids[self._v],
                "key": self._attrs.get("key", np.zeros(self.n_edges, dtype=int)),
                "both_ways": self._both}
        for k, a in self._attrs.items():
            if k not in ("key",) and not k.startswith("_") and len(a) == self.n_edges:
                data[k] = a
        edges = gpd.GeoDataFrame(data, geometry=list(self.edge_geometry()), crs=self.crs)
        return nodes, edges

    def to_graph(self, *, crs=None):
        """An osmnx-compatible MultiDiGraph (two-way edges become two arcs).

        Node ``x``/``y`` are in ``crs`` (default: the CRS the network came from, e.g. lon/lat
        for an unprojected osmnx graph); edges carry ``length`` (m), ``oneway``,
        ``reversed``, ``geometry`` and the other attributes.
        """
        import geopandas as gpd
        import networkx as nx
        import pyproj

        out_crs = pyproj.CRS.from_user_input(crs) if crs is not None else (self._source_crs or self.crs)
        if out_crs.equals(self.crs):
            x, y = self._x, self._y
            geoms = self.edge_geometry()
        else:
            pts = gpd.GeoSeries(gpd.points_from_xy(self._x, self._y), crs=self.crs).to_crs(out_crs)
            x, y = pts.x.to_numpy(), pts.y.to_numpy()
            lonlat = getattr(self, "_lonlat", None)
            if lonlat is not None and out_crs.equals(self._source_crs):
                x, y = lonlat
            geoms = np.asarray(gpd.GeoSeries(self.edge_geometry(), crs=self.crs).to_crs(out_crs).values, dtype=object)
        G = nx.MultiDiGraph(**{**self._graph_attrs, "crs": out_crs.to_string() if out_crs.to_epsg() is None
                               else f"EPSG:{out_crs.to_epsg()}"})
        ids = [_py(i) for i in self._node_ids]
        G.add_nodes_from((nid, {"x": float(a), "y": float(b)}) for nid, a, b in zip(ids, x, y))
        skip = {"key", "oneway"}
        names = [k for k in self._attrs if k not in skip and not k.startswith("_") and len(self._attrs[k]) == self.n_edges]
        for e in range(self.n_edges):
            a, b = ids[self._u[e]], ids[self._v[e]]
            data = {k: _py(self._attrs[k][e]) for k in names}
            data["oneway"] = not bool(self._both[e])
            data["geometry"] = geoms[e]
            G.add_edge(a, b, reversed=False, **data)
            if self._both[e] and a != b:
                import shapely

                G.add_edge(b, a, reversed=True, **{**data, "geometry": shapely.reverse(geoms[e])})
        return G

    # ------------------------------------------------------------------ gazette roads
    def road_names(self) -> list[str]:
        names = self._attrs.get("name")
        if names is None:
            return []
        return sorted({str(n) for n in names if isinstance(n, str) and n})

    def route_between_roads(self, from_road: str, to_road: str, weight="length") -> Route:
        """The shortest route from any point of road ``from_road`` to road ``to_road`` (by name).

        Unknown names raise LayerNotFoundError with the closest names.

        Examples
        --------
        >>> route = net.route_between_roads("祈福街", "明成街")   # doctest: +SKIP
        """
        from cimtwin.kernels.graph import dijkstra

        wt = self._weight(weight)
        a = self._road_nodes(from_road)
        b = self._road_nodes(to_road)
        indptr, indices, w, _ = self._csr(wt)
        dist, pred, _ = dijkstra(indptr, indices, w, a, np.zeros(a.size), np.inf)
        t = b[np.argmin(dist[b])]
        if not np.isfinite(dist[t]):
            reason = (f"no route from {from_road} to {to_road}: they lie in parts of the network no road links "
                      "(or only against one-way streets); see `net.components()`.")
            return Route([], np.inf, np.inf, np.inf, None, reason, _weight_label(weight))
        path = [t]
        while pred[path[-1]] >= 0:
            path.append(pred[path[-1]])
        path = np.array(path[::-1], dtype=np.int32)
        return self._route_from_path(path, dist[t], wt, weight)

    def _road_nodes(self, name: str) -> np.ndarray:
        names = self._attrs.get("name")
        if names is None:
            raise LayerNotFoundError("The network has no road names (build it from a roads layer with `name`).")
        sel = np.array([n == name for n in names])
        if not sel.any():
            raise LayerNotFoundError(f"No road named {name!r} in the network." + close_matches(name, self.road_names())
                                     + f" ({len(self.road_names())} named roads; see `net.road_names()`.)")
        return np.unique(np.concatenate([self._u[sel], self._v[sel]])).astype(np.int32)


# ---------------------------------------------------------------------- helpers
def _nearest_source(indptr, indices, w, nodes, d0, cut):
    """Multi-source search in the kernels' numbering: ``(dist, source index)`` per node.

    On large graphs with many sources the nodes are cut into ranges of about 20,000
    (compact regions in the spatial numbering) searched one per thread, then fixed up
    across the cuts: the same distances, but each search's data stays in cache.
    """
    import numba

    from cimtwin.kernels.graph import nearest_source, nearest_source_parallel

    n = indptr.size - 1
    nparts = max(numba.get_num_threads(), n // 20_000)
    if n >= 200_000 and nodes.size >= 4 * nparts:
        return nearest_source_parallel(indptr, indices, w, nodes, d0, cut, nparts)
    return nearest_source(indptr, indices, w, nodes, d0, cut)


def _in_public_order(dist, label, group, rank):
    """Kernel-order (dist, source index) -> public order (dist, facility index)."""
    from cimtwin.kernels.graph import gather

    dist = gather(dist, rank)
    label = gather(label, rank)
    return dist, np.where(label >= 0, group[np.maximum(label, 0)], -1)


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _as_float(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return np.nan


def _morton_order(x, y, bits: int = 16):
    """Z-order of points (stable), used to number nodes so neighbours sit close in memory."""
    if x.size == 0:
        return np.arange(0)
    qx = ((x - x.min()) / max(np.ptp(x), 1e-9) * (2**bits - 1)).astype(np.uint64)
    qy = ((y - y.min()) / max(np.ptp(y), 1e-9) * (2**bits - 1)).astype(np.uint64)

    def spread(a):
        a = (a | (a << np.uint64(8))) & np.uint64(0x00FF00FF)
        a = (a | (a << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        a = (a | (a << np.uint64(2))) & np.uint64(0x33333333)
        a = (a | (a << np.uint64(1))) & np.uint64(0x55555555)
        return a

    code = spread(qx) | (spread(qy) << np.uint64(1))
    return np.argsort(code, kind="stable")


del os, field
