"""Halo and tiling helpers for the dask adapters of the grid operations.

Every grid operation lives in its own module, which validates its input once and then runs
either its in-memory kernel or its dask adapter (a private ``_<op>_dask`` function in the
same module). This module holds only what those adapters share: chunk normalization, the
global window of each chunk, ``map_overlap`` with a halo whose core is returned by the
block function, and the wrapping of a lazy result as a DataArray. It imports no operation
module. What each operation needs per chunk (its halo) is listed in ``docs/scale.md`` and in
the operation's module docstring; the tiled hydrology (fill, D8, accumulation, HAND) has its
own perimeter bookkeeping in :mod:`cimtwin.grid._tiles`.

Results stay lazy (dask-backed DataArrays). The backend (``"auto"`` → CUDA when present) is
resolved once on the client and recorded in ``attrs["backend"]``; every task runs that
backend.

Floating-point note: a chunk sees positions shifted by its integer origin. For integer (or
half-integer) positions that is exact; for arbitrary fractional positions a cell whose
distance equals a radius to the last bit could round the other way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimtwin.errors import InputTypeError, ValidationError
from cimtwin.grid._array import GridInput, is_dask_dataarray
from cimtwin.grid.spec import GridSpec, _spatial_ref_attrs

__all__ = ["require_in_memory"]


def require_in_memory(obj: Any, *, arg: str, function: str) -> None:
    """Raise for a dask-backed input of a function that needs the whole array in memory."""
    if is_dask_dataarray(obj):
        raise InputTypeError(
            f"`{arg}` of {function}() is a dask-backed DataArray, but {function} is a global "
            "computation (a result can depend on cells anywhere in the grid), so it is not run "
            f"chunk by chunk. Load the array first with `{arg}.compute()` (it must fit in memory); "
            "see docs/scale.md for the functions that do run on dask."
        )


# -- helpers ------------------------------------------------------------------------------

def _offsets(chunks: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


def _normalize_chunks(chunks: Any, shape: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    import dask.array as da

    if chunks is None:
        raise ValidationError("`chunks` is required for a chunked grid, e.g. chunks=4096 or (2048, 4096).")
    return da.core.normalize_chunks(chunks, shape, dtype=np.float64)


def _chunks_at_least(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Merge chunks smaller than ``depth`` into a neighbour (map_overlap needs chunk >= depth)."""
    out: list[int] = []
    for c in chunks:
        if out and out[-1] < depth:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < depth:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _ensure_depth(arr, depth: int):
    new = tuple(_chunks_at_least(c, depth) for c in arr.chunks)
    return arr if new == arr.chunks else arr.rechunk(new)


def _lazy_dataarray(data, *, spec: GridSpec | None, template: Any, name: str, attrs: dict):
    """A DataArray around a dask array, with the template's coords or the grid's."""
    import xarray as xr

    if template is not None:
        out = xr.DataArray(data, dims=template.dims, coords=template.coords, name=name, attrs=dict(attrs))
        for key in ("crs", "res_m"):
            if key in template.attrs:
                out.attrs.setdefault(key, template.attrs[key])
        return out
    out = xr.DataArray(data, dims=("y", "x"), coords={"y": spec.y, "x": spec.x}, name=name, attrs=dict(attrs))
    if spec.crs is not None:
        out = out.assign_coords(spatial_ref=xr.DataArray(0, attrs=_spatial_ref_attrs(spec)))
        out.attrs.setdefault("crs", spec.crs.to_string())
    out.attrs.setdefault("res_m", float(spec.transform.a))
    return out


def _template_of(obj: Any, arg: str) -> tuple[Any, GridInput]:
    """(dask array, GridInput) of a dask-backed DataArray; the input's ``values`` stay empty.

    The GridInput carries the grid (``spec``, None without x/y coordinates) and the template
    for the result, so :func:`cimtwin.grid._array.resolve_res_m` works as in memory; the data
    itself is the returned dask array.
    """
    if not is_dask_dataarray(obj):
        raise InputTypeError(f"`{arg}` must be a dask-backed xarray DataArray (e.g. `da.chunk(...)`); "
                             f"got {type(obj).__name__}.")
    if obj.ndim != 2:
        raise ValidationError(f"`{arg}` must be 2-D (y, x); got dims {obj.dims}.")
    spec = GridSpec.from_dataarray(obj) if ("x" in obj.coords and "y" in obj.coords) else None
    return obj.data, GridInput(np.empty((0, 0)), spec, obj)


def _map_windows(fn, chunks, dtype):
    """A lazy array on ``chunks`` whose block is ``fn(r0, r1, c0, c1)``, its global window.

    For operations without an input raster (sources or gauges given as points): each task
    picks the points that reach its window.
    """
    import dask.array as da

    rchunks, cchunks = chunks
    off_r, off_c = _offsets(rchunks), _offsets(cchunks)

    def block(block_info=None):
        i, j = block_info[None]["chunk-location"]
        return fn(int(off_r[i]), int(off_r[i + 1]), int(off_c[j]), int(off_c[j + 1]))

    return da.map_blocks(block, chunks=(rchunks, cchunks), dtype=dtype, meta=np.empty((0, 0), dtype))


def _map_overlap_core(fn, arr, depth: int, dtype, **kwargs):
    """``map_overlap`` with ``boundary='none'``; ``fn(ext, r0, c0, er0, ec0, h, w)`` returns the core.

    (r0, c0): global origin of the core chunk; (er0, ec0): of the extended block; (h, w):
    core shape. The core is returned by ``fn``, so no trimming is needed.
    """
    arr = _ensure_depth(arr, depth)
    off_r, off_c = _offsets(arr.chunks[0]), _offsets(arr.chunks[1])

    def block(ext, block_info=None):
        i, j = block_info[None]["chunk-location"]
        r0, c0 = int(off_r[i]), int(off_c[j])
        h, w = arr.chunks[0][i], arr.chunks[1][j]
        er0, ec0 = max(0, r0 - depth), max(0, c0 - depth)
        return fn(ext, r0, c0, er0, ec0, h, w)

    if depth == 0:
        return arr.map_blocks(lambda b, block_info=None: block(b, block_info), dtype=dtype, **kwargs)
    return arr.map_overlap(block, depth=depth, boundary="none", trim=False, chunks=arr.chunks,
                           dtype=dtype, **kwargs)


def _stack(z, h):
    """A (2, rows, cols) stack of ``z`` and ``h`` (cast to ``z``'s dtype), chunked like ``z``."""
    import dask.array as da

    return da.stack([z, h.rechunk(z.chunks).astype(z.dtype)])


def _map_overlap_stacked(fn, stacked, depth: int, dtype):
    """:func:`_map_overlap_core` for a (2, rows, cols) stack: ``fn`` gets the (2, eh, ew) block."""
    stacked = stacked.rechunk((2,) + tuple(_chunks_at_least(c, depth) for c in stacked.chunks[1:]))
    off_r, off_c = _offsets(stacked.chunks[1]), _offsets(stacked.chunks[2])

    def block(ext, block_info=None):
        _, i, j = block_info[None]["chunk-location"]
        r0, c0 = int(off_r[i]), int(off_c[j])
        h, w = stacked.chunks[1][i], stacked.chunks[2][j]
        return fn(ext, r0, c0, max(0, r0 - depth), max(0, c0 - depth), h, w)[None]

    out = stacked.map_overlap(block, depth={0: 0, 1: depth, 2: depth}, boundary="none", trim=False,
                              chunks=((1,),) + stacked.chunks[1:], dtype=dtype)
    return out[0]
