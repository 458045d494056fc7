"""Turn a roads layer into graph edges: split lines where they cross or touch, merge ends."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["node_lines"]


def node_lines(lines: np.ndarray, tolerance_m: float):
    """Split LineStrings at crossings and touches; cluster end points into nodes.

    Parameters
    ----------
    lines : array of shapely LineString
    tolerance_m : float
        End points closer than this are one node; an end point this close to another
        line's interior splits that line there (a T junction drawn a little short).

    Returns
    -------
    pieces : array of LineString, with end points moved onto their node
    source : int array, the index in ``lines`` each piece comes from
    node_xy : (n, 2) float array
    u, v : int arrays, the node of each piece's start and end
    """
    n_lines = len(lines)
    lengths = shapely.length(lines)
    cuts: list[list[float]] = [[] for _ in range(n_lines)]
    tree = shapely.STRtree(lines)

    # Crossings: where two lines intersect, both are split.
    left, right = tree.query(lines, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size:
        inter = shapely.intersection(lines[left], lines[right])
        pts, owner = shapely.get_coordinates(inter, return_index=True)
        if len(pts):
            p = shapely.points(pts)
            for side in (left, right):
                pos = shapely.line_locate_point(lines[side[owner]], p)
                for li, s in zip(side[owner], pos):
                    cuts[li].append(s)

    # Touches: an end point within the tolerance of another line's interior splits it.
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    end_owner = np.concatenate([np.arange(n_lines), np.arange(n_lines)])
    pi, li = tree.query(ends, predicate="dwithin", distance=tolerance_m)
    other = li != end_owner[pi]
    pi, li = pi[other], li[other]
    if pi.size:
        pos = shapely.line_locate_point(lines[li], ends[pi])
        for line, s in zip(li, pos):
            cuts[line].append(s)

    pieces, source = [], []
    for i, line in enumerate(lines):
        length = lengths[i]
        pos = sorted({round(s, 6) for s in cuts[i] if tolerance_m * 1e-3 < s < length - tolerance_m * 1e-3})
        if not pos:
            pieces.append(line)
            source.append(i)
            continue
        bounds = [0.0, *pos, length]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a <= 1e-9:
                continue
            pieces.append(shapely.ops.substring(line, a, b))
            source.append(i)
    pieces = np.asarray(pieces, dtype=object)
    source = np.asarray(source, dtype=np.int64)

    # Nodes: cluster all piece end points within the tolerance.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    start = shapely.get_coordinates(shapely.get_point(pieces, 0))
    end = shapely.get_coordinates(shapely.get_point(pieces, -1))
    pts = np.concatenate([start, end])
    pairs = cKDTree(pts).query_pairs(tolerance_m, output_type="ndarray") if tolerance_m > 0 else np.empty((0, 2), int)
    # exact duplicates always merge, even with zero tolerance
    _, first = np.unique(pts, axis=0, return_inverse=True)
    first = first.ravel()
    m = len(pts)
    rows = np.concatenate([pairs[:, 0], np.arange(m)])
    cols = np.concatenate([pairs[:, 1], _first_index(first)])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    _, label = connected_components(graph, directed=False)
    # a node sits at the first end point of its cluster
    order = np.argsort(label, kind="stable")
    first_of = np.empty(label.max() + 1, dtype=np.int64)
    first_of[label[order[::-1]]] = order[::-1]
    node_xy = pts[first_of]
    u = label[: len(pieces)]
    v = label[len(pieces):]

    # Move piece ends onto their node so the geometry joins exactly.
    out = []
    for k, piece in enumerate(pieces):
        coords = shapely.get_coordinates(piece)
        coords[0] = node_xy[u[k]]
        coords[-1] = node_xy[v[k]]
        out.append(shapely.linestrings(coords))
    return np.asarray(out, dtype=object), source, node_xy, u, v


def _first_index(inverse: np.ndarray) -> np.ndarray:
    """For each element, the position of the first element with the same value."""
    order = np.argsort(inverse, kind="stable")
    first = np.empty(inverse.max() + 1, dtype=np.int64)
    first[inverse[order[::-1]]] = order[::-1]
    return first[inverse]
