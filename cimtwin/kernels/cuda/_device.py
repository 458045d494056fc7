"""Launch sizes and host/device helpers shared by the CUDA kernels."""

from __future__ import annotations

import warnings

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


DEFAULT_SHARED_BYTES = 48 * 1024  # dynamic shared memory any launch may use without opting in
_opted_in: dict = {}  # (kernel, argument types, device) -> bytes already allowed


def simulated() -> bool:
    """Whether numba.cuda is the simulator (no limits on shared memory to opt into)."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def device_attribute(name: str, default: int) -> int:
    """A ``CU_DEVICE_ATTRIBUTE_<name>`` of the current GPU, or ``default`` (the simulator has none)."""
    try:
        return int(getattr(cuda.get_current_device(), name))
    except Exception:  # the simulator's device, or a driver without the attribute
        return default


def allow_dynamic_shared(kernel, args, nbytes: int) -> bool:
    """Let ``kernel`` (a ``cuda.jit`` dispatcher, specialized for ``args``) launch with ``nbytes``
    of dynamic shared memory; False where the driver or this numba-cuda cannot say so.

    Above 48 KiB a kernel must opt in (``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``);
    numba-cuda has no public call for it (NVIDIA/numba-cuda issue 94), so this sets the
    attribute on the compiled kernel's handle as numba-cuda sets its own carveout attribute.
    """
    if nbytes <= DEFAULT_SHARED_BYTES or simulated():
        return True
    try:
        from numba.cuda.cudadrv.driver import binding, driver

        argtypes = tuple(kernel.typeof_pyval(a) for a in args)
        cufunc = kernel.compile(argtypes)._codelibrary.get_cufunc()
        key = (id(kernel), argtypes, cufunc.device.id)
        if _opted_in.get(key, 0) < nbytes:
            attr = binding.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            driver.cuKernelSetAttribute(attr, int(nbytes), cufunc.handle, cufunc.device.id)
            _opted_in[key] = int(nbytes)
        return True
    except Exception as exc:  # an older numba-cuda (other internals) or driver: stay within 48 KiB
        warnings.warn(f"cimtwin: {getattr(kernel, '__name__', 'a kernel')} could not be allowed {nbytes:,} bytes "
                      f"of shared memory ({type(exc).__name__}: {exc}); it runs within 48 KiB instead (slower).",
                      RuntimeWarning, stacklevel=2)
        return False
