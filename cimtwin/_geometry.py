"""Shapely geometries to and from the vertex arrays the line kernels take.

A leaf module (numpy and shapely only): routing's noding and service areas and coverage's
overlap test all hand lines to :mod:`cimtwin.kernels.lines` through it.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["linestrings_from", "vertex_arrays"]


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
