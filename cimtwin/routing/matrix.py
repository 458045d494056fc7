"""Origin-destination cost matrices between node ids or any points, in bounded blocks.

Points snap onto their nearest edge and enter the graph at both ends of it, priced by the
one point-on-edge helper (:func:`cimtwin.routing.snapping.edge_access`); an origin and a
destination on the same edge may also go straight along it. With a contraction hierarchy
built for the weight (:meth:`RoadNetwork.contract`) a matrix costs one backward upward
search per destination (its bucket entries are kept) plus one forward upward search per
origin; without one, one Dijkstra search per origin. Rows come in blocks, so a matrix too
large for memory can be consumed block by block (:func:`od_matrix_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cimtwin._validate import require_positive, requires_metres
from cimtwin.errors import ValidationError

__all__ = ["od_matrix", "od_matrix_blocks", "snapped_matrix"]


def _threads() -> int:
    import numba

    return max(1, numba.get_num_threads())


def _sets_from_snap(net, snap, wt, *, towards_point):
    """Seed sets of snapped points: ``(ptr, node positions, entry cost)``, one set per point."""
    from cimtwin.routing.snapping import _seeds_from_snap

    nodes, cost, group = _seeds_from_snap(net, snap, wt, outbound=not towards_point)
    ptr = np.zeros(len(snap) + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=len(snap)), out=ptr[1:])
    return ptr, nodes, cost


def _seed_sets(net, objs, wt, *, towards_point, max_snap_m):
    from cimtwin.routing.snapping import is_points, snap_points

    if is_points(objs):
        snap = snap_points(net, objs, max_snap_m=max_snap_m)
        return _sets_from_snap(net, snap, wt, towards_point=towards_point), snap
    pos = net.node_index(objs)
    return (np.arange(pos.size + 1, dtype=np.int64), pos, np.zeros(pos.size)), None


def _blocks(net, wt, src, dst, *, rows, progress, desc) -> Iterator[tuple[int, np.ndarray]]:
    """Blocks of ``rows`` origins: ``(first row, costs)`` in kernel order mapped back."""
    from cimtwin.kernels.graph import seed_set_matrix
    from cimtwin.routing._base import _progress

    hier = net.hierarchy(wt)
    # the kernels' numbering: the hierarchy's query order, else the spatial one
    rank = hier.pos if hier is not None else net._spatial_order()[1]
    s_ptr, s_nodes, s_d0 = src
    t_ptr, t_nodes, t_d0 = dst
    s_nodes = rank[s_nodes].astype(np.int32)
    t_nodes = rank[t_nodes].astype(np.int32)
    n_s = s_ptr.size - 1
    threads = _threads()
    if hier is not None:
        from cimtwin.kernels.ch import ch_bucket_scan, ch_buckets

        g = hier.arrays
        buckets = ch_buckets(*g, t_ptr, t_nodes, t_d0, threads)
    else:
        csr = net._icsr(wt)
    for start in _progress(range(0, n_s, rows), progress and n_s > rows, desc):
        stop = min(n_s, start + rows)
        a, b = s_ptr[start], s_ptr[stop]
        ptr = s_ptr[start:stop + 1] - a
        if hier is not None:
            out = ch_bucket_scan(*g, ptr, s_nodes[a:b], s_d0[a:b], buckets, t_ptr.size - 1, threads)
        else:
            out = seed_set_matrix(csr[0], csr[1], csr[2], ptr, s_nodes[a:b], s_d0[a:b], t_ptr, t_nodes, t_d0,
                                  np.inf, threads)
        yield start, out


def _same_edge(net, wt, o_snap, d_snap, out, start=0):
    """Lower the cost of origin/destination pairs on one edge to the walk along it."""
    import pandas as pd

    from cimtwin.routing.snapping import along_edge_cost

    if o_snap is None or d_snap is None:
        return
    o = pd.DataFrame({"edge": o_snap["edge"].to_numpy()[start:start + out.shape[0]],
                      "fo": o_snap["fraction"].to_numpy()[start:start + out.shape[0]],
                      "i": np.arange(out.shape[0])})
    d = pd.DataFrame({"edge": d_snap["edge"].to_numpy(), "fd": d_snap["fraction"].to_numpy(),
                      "j": np.arange(len(d_snap))})
    o, d = o[o.edge >= 0], d[d.edge >= 0]
    pairs = o.merge(d, on="edge")
    if pairs.empty:
        return
    i, j = pairs.i.to_numpy(), pairs.j.to_numpy()
    direct = along_edge_cost(net, pairs.edge.to_numpy(), pairs.fo.to_numpy(), pairs.fd.to_numpy(), wt)
    out[i, j] = np.minimum(out[i, j], direct)


@requires_metres("net", "origins", "destinations")
def od_matrix_blocks(net, origins, destinations, weight="length", *, rows: int = 1024,
                     max_snap_m: float = 100.0, progress: bool = True) -> Iterator[tuple[slice, np.ndarray]]:
    """The origin-destination matrix one block of rows at a time: ``(row slice, costs)``.

    Memory stays at one block (``rows`` x destinations) plus the destinations' search
    state, whatever the number of origins. See :func:`od_matrix` for the arguments.

    Examples
    --------
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], crs="EPSG:32650")
    >>> [(s.start, b.tolist()) for s, b in od_matrix_blocks(net, [0, 1, 2], [2], rows=2, progress=False)]
    [(0, [[200.0], [100.0]]), (2, [[0.0]])]
    """
    if not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValidationError(f"`rows` must be a positive integer; got {rows!r}.")
    require_positive(max_snap_m, arg="max_snap_m")
    wt = net._weight(weight)
    src, o_snap = _seed_sets(net, origins, wt, towards_point=False, max_snap_m=max_snap_m)
    dst, d_snap = _seed_sets(net, destinations, wt, towards_point=True, max_snap_m=max_snap_m)
    for start, out in _blocks(net, wt, src, dst, rows=int(rows), progress=progress, desc="OD matrix"):
        _same_edge(net, wt, o_snap, d_snap, out, start)
        yield slice(start, start + out.shape[0]), out


@requires_metres("net", "origins", "destinations")
def od_matrix(net, origins, destinations, weight="length", *, rows: int = 1024, max_snap_m: float = 100.0,
              progress: bool = True) -> np.ndarray:
    """Costs from every origin to every destination: shape (len(origins), len(destinations)).

    Parameters
    ----------
    net : RoadNetwork
    origins, destinations : node ids, or points (GeoSeries, GeoDataFrame or shapely
        geometries in ``net.crs``; polygons from a point on their surface)
    weight : str or TravelMode
        "length" (metres), another numeric edge attribute, or a travel mode (seconds).
    rows : int
        Origins per block (memory: ``rows`` x destinations float64 per block).
    max_snap_m : float
        Points farther than this from every road raise a ValidationError naming them.
    progress : bool
        Show a progress bar over blocks (silenced by ``cimtwin.config.progress = False``).

    Returns
    -------
    numpy.ndarray
        float64 costs in the weight's unit; inf where a destination cannot be reached.

    Examples
    --------
    >>> from cimtwin.routing import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 100, 200], [0, 0, 0], [0, 1], [1, 2], [100.0, 100.0], crs="EPSG:32650")
    >>> od_matrix(net, [0, 2], [1, 2], progress=False).tolist()
    [[100.0, 200.0], [100.0, 0.0]]
    """
    n_o = _count(origins)
    n_d = _count(destinations)
    out = np.empty((n_o, n_d))
    for sl, block in od_matrix_blocks(net, origins, destinations, weight, rows=rows, max_snap_m=max_snap_m,
                                      progress=progress):
        out[sl] = block
    return out


def snapped_matrix(net, o_snap, d_snap, wt, *, rows: int = 1024, progress: bool = False) -> np.ndarray:
    """:func:`od_matrix` between already snapped points (``snap_points`` frames)."""
    src = _sets_from_snap(net, o_snap, wt, towards_point=False)
    dst = _sets_from_snap(net, d_snap, wt, towards_point=True)
    out = np.empty((len(o_snap), len(d_snap)))
    for start, block in _blocks(net, wt, src, dst, rows=rows, progress=progress, desc="OD matrix"):
        _same_edge(net, wt, o_snap, d_snap, block, start)
        out[start:start + block.shape[0]] = block
    return out


def _count(objs) -> int:
    import shapely

    if isinstance(objs, shapely.Geometry):
        return 1
    return len(objs) if hasattr(objs, "__len__") else np.asarray(objs).size
