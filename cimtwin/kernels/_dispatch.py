"""Backend registry: ``{(op, backend): kernel}``, picked at call time.

CPU kernels register as ``"cpu"``; CUDA twins (numba.cuda, also runnable under
``NUMBA_ENABLE_CUDASIM=1``) register as ``"cuda"``. ``select(op, "auto")`` prefers CUDA
when a GPU (or the simulator) is usable and a CUDA twin exists.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable

from cimtwin.errors import BackendUnavailableError, ValidationError

_REGISTRY: dict[tuple[str, str], Callable] = {}
# Modules that register kernels when imported; select() imports them on demand.
_PROVIDERS: dict[str, list[str]] = {"cpu": [], "cuda": ["cimtwin.kernels.cuda"]}
BACKENDS = ("auto", "cpu", "cuda")
# Why an op has no CUDA twin, for the error of an explicit backend="cuda".
_CPU_ONLY = {
    "fill_depressions": "Priority-Flood is a sequential priority queue and no parallel fill is "
                        "both exact and faster; flow_direction_d8/flow_accumulation with "
                        "backend='cuda' fill on the CPU, then run D8 and accumulation on the GPU",
    "hand": "HAND follows each D8 path to its first stream cell on the CPU",
    "ponding_fsm": "Fill-Spill-Merge walks a depression hierarchy sequentially",
}


def register(op: str, backend: str = "cpu") -> Callable[[Callable], Callable]:
    """Decorator: register ``fn`` as the ``backend`` implementation of ``op``."""

    def deco(fn: Callable) -> Callable:
        _REGISTRY[(op, backend)] = fn
        return fn

    return deco


def add_provider(backend: str, module: str) -> None:
    """Declare a module whose import registers ``backend`` kernels."""
    if module not in _PROVIDERS[backend]:
        _PROVIDERS[backend].append(module)


def _load(backend: str) -> None:
    for module in _PROVIDERS[backend]:
        importlib.import_module(module)


@functools.cache
def cuda_status() -> tuple[bool, str]:
    """``(usable, reason)`` for the CUDA backend; ``reason`` says why not and how to fix it.

    Checked once per process: numba importable, ``numba.cuda`` importable with this NumPy
    (numba-cuda releases that still call ``np.row_stack`` fail to import under NumPy >= 2.5,
    which removed it), a CUDA driver, and at least one GPU. The simulator
    (``NUMBA_ENABLE_CUDASIM=1``) counts as usable.

    Examples
    --------
    >>> from cimtwin.kernels._dispatch import cuda_status
    >>> ok, why = cuda_status()
    >>> isinstance(ok, bool) and isinstance(why, str)
    True
    """
    import numpy as np

    try:
        import numba
    except Exception as exc:  # pragma: no cover - numba is a hard dependency
        return False, f"numba cannot be imported ({exc}); reinstall it with `pip install numba`."
    try:
        from numba import cuda
    except Exception as exc:
        if "row_stack" in str(exc) and not hasattr(np, "row_stack"):
            return False, (
                f"the installed numba-cuda calls `np.row_stack`, which NumPy {np.__version__} removed "
                "(NumPy >= 2.5), so `numba.cuda` fails to import. Upgrade numba-cuda "
                "(`pip install -U numba-cuda`) or install NumPy < 2.5 (`pip install 'numpy<2.5'`).")
        return False, (f"numba {numba.__version__} cannot import numba.cuda ({type(exc).__name__}: {exc}); "
                       "install a matching numba-cuda (`pip install -U numba-cuda`).")
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1":
        return True, "CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        if cuda.is_available():
            return True, "CUDA GPU"
    except Exception as exc:  # driver errors surface here on some versions
        return False, _driver_advice(str(exc))
    try:  # is_available() swallows the reason; ask the driver for it
        cuda.cudadrv.driver.driver.get_device_count()
        count = len(cuda.gpus)
    except Exception as exc:
        return False, _driver_advice(str(exc))
    if count == 0:
        return False, ("the NVIDIA driver loaded but reports no GPU (check `nvidia-smi` and "
                       "CUDA_VISIBLE_DEVICES).")
    return False, "numba.cuda reports no usable GPU (check `nvidia-smi`; the GPU may be too old for numba)."


def _driver_advice(message: str) -> str:
    message = " ".join(message.split()).rstrip(": ")
    low = message.lower()
    if "libcuda" in low or "driver library" in low:
        return (f"no NVIDIA driver was found ({message}); install the NVIDIA driver (`nvidia-smi` must "
                "work) or run with backend='cpu'.")
    if "no_device" in low or "no cuda-capable device" in low:
        return f"the driver found no CUDA GPU ({message}); check `nvidia-smi` and CUDA_VISIBLE_DEVICES."
    if "insufficient" in low or "version" in low:
        return (f"the NVIDIA driver is too old for this CUDA toolkit ({message}); update the driver or "
                "install a numba-cuda/cuda-python built for it.")
    return f"the CUDA driver failed to initialise ({message}); check `nvidia-smi`."


def cuda_available() -> bool:
    """True when numba.cuda can run kernels (a GPU, or the simulator when enabled)."""
    return cuda_status()[0]


def resolve_backend(backend: str | None) -> str:
    """Turn ``None``/``"auto"`` into a concrete backend; check an explicit one is usable."""
    if backend is None:
        from cimtwin.config import config

        backend = config.backend
    if backend not in BACKENDS:
        raise ValidationError(f"`backend` must be one of {BACKENDS}; got {backend!r}.")
    if backend == "auto":
        return "cuda" if cuda_available() else "cpu"
    if backend == "cuda":
        ok, why = cuda_status()
        if not ok:
            raise BackendUnavailableError(
                f"`backend='cuda'` cannot be used: {why} Meanwhile use backend='cpu' (or 'auto', which "
                "falls back to the CPU); the simulator (NUMBA_ENABLE_CUDASIM=1) runs the CUDA kernels "
                "without a GPU, slowly.")
    return backend


def select(op: str, backend: str | None = "auto") -> tuple[Callable, str]:
    """Return ``(kernel, backend_used)`` for ``op``.

    With ``"auto"`` an op that has no CUDA twin falls back to the CPU kernel.
    """
    requested = backend
    backend = resolve_backend(backend)
    if (op, backend) not in _REGISTRY:
        _load(backend)
    if (op, backend) in _REGISTRY:
        return _REGISTRY[(op, backend)], backend
    if backend == "cuda" and requested in (None, "auto"):
        return select(op, "cpu")
    if (op, "cpu") not in _REGISTRY:
        _load("cpu")
    if backend == "cpu" and (op, "cpu") in _REGISTRY:
        return _REGISTRY[(op, "cpu")], "cpu"
    if backend == "cuda":
        raise BackendUnavailableError(
            f"`{op}` has no CUDA kernel ({_CPU_ONLY.get(op, 'it runs on the CPU only')}); use backend='cpu', "
            "or 'auto', which runs it on the CPU.")
    raise BackendUnavailableError(f"No {backend!r} implementation of `{op}`.")
