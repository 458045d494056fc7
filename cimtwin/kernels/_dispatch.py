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
def cuda_available() -> bool:
    """True when numba.cuda can run kernels (a GPU, or the simulator when enabled)."""
    try:
        from numba import cuda
    except Exception:  # numba built without CUDA support
        return False
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1":
        return True
    try:
        return bool(cuda.is_available())
    except Exception:
        return False


def resolve_backend(backend: str | None) -> str:
    """Turn ``None``/``"auto"`` into a concrete backend; check an explicit one is usable."""
    if backend is None:
        from cimtwin.config import config

        backend = config.backend
    if backend not in BACKENDS:
        raise ValidationError(f"`backend` must be one of {BACKENDS}; got {backend!r}.")
    if backend == "auto":
        return "cuda" if cuda_available() else "cpu"
    if backend == "cuda" and not cuda_available():
        raise BackendUnavailableError(
            "`backend='cuda'` needs a CUDA GPU with numba.cuda (or NUMBA_ENABLE_CUDASIM=1 for the "
            "simulator); none was found. Use backend='cpu' or 'auto'."
        )
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
    raise BackendUnavailableError(f"No {backend!r} implementation of `{op}`.")
