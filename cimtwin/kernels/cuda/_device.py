"""Launch sizes and host/device helpers shared by the CUDA kernels."""

from __future__ import annotations

import numpy as np
from numba import cuda

THREADS = 128  # threads per block for the 1-D launches
_MAX_BLOCKS = 65_535 * 64  # grid-stride loops cover the rest


def blocks_for(n: int, threads: int = THREADS) -> int:
    """Blocks for ``n`` work items at ``threads`` per block (at least one)."""
    return int(max(1, min((int(n) + threads - 1) // threads, _MAX_BLOCKS)))


def is_device(a) -> bool:
    # numba device arrays (real or simulated) and anything exposing the CUDA array interface
    if hasattr(a, "__cuda_array_interface__"):
        return True
    return hasattr(a, "copy_to_host") and not isinstance(a, np.ndarray)  # simulator arrays


def to_device(a, dtype=None):
    """A device copy of a host array (contiguous, ``dtype``); device arrays pass through."""
    if is_device(a):
        return a
    return cuda.to_device(np.ascontiguousarray(a, dtype=dtype))


@cuda.jit
def _fill_kernel(flat, value):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for k in range(start, flat.shape[0], stride):
        flat[k] = value


def full(shape, value, dtype):
    """A device array of ``shape`` filled with ``value`` (no host allocation)."""
    out = cuda.device_array(shape, dtype=dtype)
    n = int(np.prod(shape))
    if n:
        flat = out.reshape(n)
        _fill_kernel[blocks_for(n), THREADS](flat, np.dtype(dtype).type(value))
    return out
