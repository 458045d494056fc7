"""Turn a roads layer into graph edges: split lines where they cross or touch, merge ends."""

from __future__ import annotations

import numpy as np
import shapely

from cimtwin._geometry import linestrings_from, segment_arrays, simple_linestrings, vertex_arrays
from cimtwin.kernels.lines import polylines_may_cross, split_polylines
from cimtwin.kernels.snap import lines_near_points, locate_on_polylines, segment_grid

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
    tree = shapely.STRtree(lines)
    xy, start = vertex_arrays(lines)
    end_xy = np.concatenate([xy[start[:-1]], xy[start[1:] - 1]])  # every line's first ends, then its last
    cut_line, cut_pos, cut_xy = [], [], []

    # Crossings: where two lines intersect, both are split.
    left, right = tree.query(lines)  # boxes only: most pairs are settled below without GEOS
    keep = left < right
    left, right = left[keep], right[keep]
    # Streets meeting at a junction, an end of both, need no cut: a numba orientation test
    # settles them (and pairs that clearly miss); GEOS intersects the rest, and every pair
    # with a line that crosses itself (GEOS nodes it, and may cut where it does).
    simple = simple_linestrings(lines)
    keep = ~(simple[left] & simple[right])
    keep[~keep] = polylines_may_cross(xy, start, left[~keep], right[~keep])
    left, right = left[keep], right[keep]
    hit = shapely.intersects(lines[left], lines[right])
    left, right = left[hit], right[hit]
    if left.size:
        inter = shapely.intersection(lines[left], lines[right])
        pts, owner = shapely.get_coordinates(inter, return_index=True)
        if len(pts):
            px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
            for side in (left[owner], right[owner]):
                cut_line.append(side)
                cut_pos.append(locate_on_polylines(xy, start, side.astype(np.int64), px, py))
                cut_xy.append(pts[:, :2])  # both lines cut at the very same point

    # Touches: an end point within the tolerance of another line's interior splits it.
    end_owner = np.concatenate([np.arange(n_lines), np.arange(n_lines)])
    pi, li = _ends_near_lines(xy, start, end_xy, end_owner, tolerance_m)
    if pi.size:
        cut_line.append(li)
        # where each end projects onto the line (a numba pass: a shapely point per pair cost
        # 8 s for a city's 10^7 pairs)
        cut_pos.append(locate_on_polylines(xy, start, li, np.ascontiguousarray(end_xy[pi, 0]),
                                           np.ascontiguousarray(end_xy[pi, 1])))
        cut_xy.append(np.full((li.size, 2), np.nan))  # the end's projection onto the line

    cut_line, cut_pos, cut_xy = _cuts(cut_line, cut_pos, cut_xy, shapely.length(lines), tolerance_m)
    cut_start = np.searchsorted(cut_line, np.arange(n_lines + 1)).astype(np.int64)
    coords, piece_start, source = split_polylines(xy, start, cut_start, cut_pos, cut_xy)

    # Nodes: cluster all piece end points within the tolerance.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    first_vertex, last_vertex = piece_start[:-1], piece_start[1:] - 1
    n_pieces = len(source)
    pts = np.concatenate([coords[first_vertex], coords[last_vertex]])
    m = len(pts)
    if tolerance_m > 0:  # pairs at most the tolerance apart, exact duplicates included
        pairs = cKDTree(pts).query_pairs(tolerance_m, output_type="ndarray")
    else:  # exact duplicates always merge, even with zero tolerance
        _, first = np.unique(pts, axis=0, return_inverse=True)
        pairs = np.column_stack([np.arange(m), _first_index(first.ravel())])
    rows, cols = pairs[:, 0], pairs[:, 1]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    _, label = connected_components(graph, directed=False)
    # a node sits at the first end point of its cluster
    order = np.argsort(label, kind="stable")
    first_of = np.empty(label.max() + 1, dtype=np.int64)
    first_of[label[order[::-1]]] = order[::-1]
    node_xy = pts[first_of]
    u = label[:n_pieces]
    v = label[n_pieces:]

    # Move piece ends onto their node so the geometry joins exactly.
    coords[first_vertex] = node_xy[u]
    coords[last_vertex] = node_xy[v]
    return linestrings_from(coords, piece_start), source, node_xy, u, v


def _ends_near_lines(xy, start, end_xy, end_owner, tolerance_m: float):
    """(end, line) pairs: the lines other than its own within the tolerance of each end point.

    A bucket grid of the lines' segments (one search per end, in parallel) rather than
    GEOS's distance test per candidate pair: 12 s -> 2 s for a city's 3.6*10^6 ends.
    """
    owner = np.repeat(np.arange(len(start) - 1), np.diff(start))
    *ends, seg_line = segment_arrays(xy, owner)
    grid = segment_grid(*ends)
    return lines_near_points(np.ascontiguousarray(end_xy[:, 0]), np.ascontiguousarray(end_xy[:, 1]),
                             end_owner.astype(np.int64), *ends, seg_line, *grid, float(tolerance_m))


def _cuts(lines: list, positions: list, points: list, lengths: np.ndarray, tolerance_m: float):
    """Distinct cut distances (rounded to 1e-6 m) strictly inside each line, sorted by line then distance,
    with their points; of cuts at one distance, the first given (a crossing before a touch) is kept."""
    if not lines:
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty((0, 2), np.float64)
    line = np.concatenate(lines).astype(np.int64)
    pos = np.concatenate(positions).astype(np.float64)
    xy = np.concatenate(points).astype(np.float64)
    margin = tolerance_m * 1e-3  # a cut this near an end would leave a sliver
    inside = (pos > margin) & (pos < lengths[line] - margin)
    line, pos, xy = line[inside], np.round(pos[inside], 6), xy[inside]
    inside = (pos > 1e-9) & (pos < lengths[line] - 1e-9)  # rounding may reach an end
    line, pos, xy = line[inside], pos[inside], xy[inside]
    order = np.lexsort((pos, line))  # stable: equal cuts keep their order
    line, pos, xy = line[order], pos[order], xy[order]
    new = np.ones(len(line), dtype=bool)
    new[1:] = (line[1:] != line[:-1]) | (pos[1:] != pos[:-1])
    return line[new], pos[new], np.ascontiguousarray(xy[new])


def _first_index(inverse: np.ndarray) -> np.ndarray:
    """For each element, the position of the first element with the same value."""
    order = np.argsort(inverse, kind="stable")
    first = np.empty(inverse.max() + 1, dtype=np.int64)
    first[inverse[order[::-1]]] = order[::-1]
    return first[inverse]
