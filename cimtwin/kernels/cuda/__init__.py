"""CUDA twins of the grid kernels, written with numba.cuda.

Each module registers ``@register("<op>", "cuda")`` kernels with the same signature and the
same results as the CPU kernel of that op (integer outputs exactly; floats within 1e-5
relative). They also run under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set
before numba is first imported), which is how the test suite checks them without a GPU.

This package is imported only by :func:`cimtwin.kernels._dispatch.select` when the CUDA
backend is asked for, so ``import cimtwin`` never touches numba.cuda. Each module also
exposes ``*_device`` functions that take and return device arrays, for callers (and
benchmarks) that keep data resident on the GPU.
"""

from cimtwin.kernels._dispatch import add_provider

for _module in ("distance", "coverage", "viewshed", "interp", "zonal", "hydro"):
    add_provider("cuda", f"cimtwin.kernels.cuda.{_module}")
