"""Shapely geometries to and from the vertex arrays the line kernels take.

A leaf module (numpy and shapely only): routing's noding and service areas and coverage's
overlap test all hand lines to :mod:`cimtwin.kernels.lines` through it. It also runs GEOS
work on threads (:func:`thread_map`): shapely releases the GIL inside GEOS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely

__all__ = ["linestrings_from", "segment_arrays", "simple_linestrings", "thread_map", "threaded", "union_polygons",
           "vertex_arrays"]


def thread_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(item) for item in items]``, on as many threads as ``cimtwin.config.num_threads`` (or CPUs).

    For GEOS-bound work (shapely releases the GIL inside GEOS). The results, in order, do not
    depend on the number of threads.

    Examples
    --------
    >>> thread_map(shapely.union_all, [[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]])[0].area
    2.0
    """
    from cimtwin.config import config

    threads = min(len(items), config.num_threads or os.cpu_count() or 1)
    if threads <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def single_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shapely.get_parts(geoms, return_index=True)``, without copying single-part geometries.

    get_parts clones every part; on a city's 2*10^6 single polygons that is a second or more a
    call, for geometries that are their own (one) part.

    Examples
    --------
    >>> parts, owner = single_parts(np.array([shapely.Point(0, 0),
    ...                                       shapely.MultiPoint([(1, 1), (2, 2)])]))
    >>> shapely.get_type_id(parts).tolist(), owner.tolist()
    ([0, 0, 0], [0, 1, 1])
    """
    geoms = np.asarray(geoms, dtype=object)
    if np.isin(shapely.get_type_id(geoms), (0, 1, 2, 3)).all():  # Point, LineString, LinearRing, Polygon
        return geoms, np.arange(len(geoms))
    return shapely.get_parts(geoms, return_index=True)


def vertex_arrays(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of LineStrings as the line kernels take them: ``(xy, start)``, line ``i`` being
    ``xy[start[i]:start[i + 1]]``.

    Examples
    --------
    >>> xy, start = vertex_arrays(np.array([shapely.LineString([(0, 0), (1, 0)]),
    ...                                      shapely.LineString([(5, 5), (6, 5), (6, 6)])]))
    >>> start.tolist(), xy[start[1]].tolist()
    ([0, 2, 5], [5.0, 5.0])
    """
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    return xy, np.searchsorted(owner, np.arange(len(lines) + 1)).astype(np.int64)


def segment_arrays(xy: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, ...]:
    """The straight segments between consecutive vertices of each line: ``(x0, y0, x1, y1, line)``
    (contiguous float64 ends and int64 line numbers), from the vertices and each vertex's line.

    Examples
    --------
    >>> xy, owner = shapely.get_coordinates(np.array([shapely.LineString([(0, 0), (1, 0), (1, 1)]),
    ...                                                shapely.LineString([(5, 5), (6, 5)])]), return_index=True)
    >>> x0, y0, x1, y1, line = segment_arrays(xy, owner)
    >>> line.tolist(), x1.tolist()
    ([0, 0, 1], [1.0, 1.0, 6.0])
    """
    same = np.flatnonzero(owner[1:] == owner[:-1])
    return (np.ascontiguousarray(xy[same, 0]), np.ascontiguousarray(xy[same, 1]),
            np.ascontiguousarray(xy[same + 1, 0]), np.ascontiguousarray(xy[same + 1, 1]),
            owner[same].astype(np.int64))


def simple_linestrings(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are LineStrings that do not cross or touch themselves (the line
    kernels' orientation tests hold for them; GEOS nodes the others first).

    Examples
    --------
    >>> simple_linestrings(np.array([shapely.LineString([(0, 0), (1, 0)]),
    ...                              shapely.LineString([(0, 0), (2, 0), (1, 1), (1, -1)])])).tolist()
    [True, False]
    """
    simple = shapely.get_type_id(geoms) == 1
    longer = simple & (shapely.get_num_coordinates(geoms) > 2)  # a single segment is simple
    simple[longer] = shapely.is_simple(geoms[longer])
    return simple


def linestrings_from(xy: np.ndarray, start: np.ndarray) -> np.ndarray:
    """LineStrings back from ``(xy, start)`` (the line kernels' output), as an object array.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (1, 0)])
    >>> linestrings_from(*vertex_arrays(np.array([line])))[0].equals(line)
    True
    """
    return np.asarray(shapely.linestrings(xy, indices=np.repeat(np.arange(len(start) - 1), np.diff(start))),
                      dtype=object)


def threaded(fn: Callable[..., np.ndarray], *arrays: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``fn(*arrays)`` for a vectorised, elementwise shapely function, a chunk per task on
    threads (:func:`thread_map`): the same array as one call.

    Examples
    --------
    >>> a = np.array([shapely.box(0, 0, 2, 2)] * 3)
    >>> shapely.area(threaded(shapely.intersection, a, np.array([shapely.box(1, 1, 3, 3)] * 3), chunk=2)).tolist()
    [1.0, 1.0, 1.0]
    """
    n = len(arrays[0])
    if n <= chunk:
        return fn(*arrays)
    parts = thread_map(lambda i: fn(*(a[i:i + chunk] for a in arrays)), list(range(0, n, chunk)))
    return np.concatenate(parts)


def union_polygons(polygons: np.ndarray):
    """The union of polygons, as ``shapely.union_all`` gives it, unioned cluster by cluster.

    Polygons whose bounding boxes chain together form a cluster; clusters are unioned apart
    (on threads, :func:`thread_map`) and gathered into one MultiPolygon without a further
    overlay: their boxes are disjoint, so their parts cannot touch. A city's service area
    (2*10^5 buffered street pieces round 2,000 shelters) takes a third of ``union_all``'s time,
    which spends most of it merging far-apart pieces into ever larger MultiPolygons.

    Examples
    --------
    >>> u = union_polygons(np.array([shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3), shapely.box(9, 9, 10, 10)]))
    >>> u.geom_type, u.area
    ('MultiPolygon', 8.0)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    polygons = np.asarray(polygons, dtype=object)
    n = len(polygons)
    if n < 2:
        return shapely.union_all(polygons)
    a, b = shapely.STRtree(polygons).query(polygons)  # boxes only
    _, label = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    order = np.argsort(label, kind="stable")
    clusters = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
    merged = thread_map(lambda members: shapely.union_all(polygons[members]), clusters)
    parts = shapely.get_parts(np.asarray(merged, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return shapely.union_all(polygons)
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
