"""One place that decides how kernels are compiled (lazily, nogil, optional disk cache)."""

from __future__ import annotations

import os

import numba

# Disk caching is opt-in: it can break under multiprocessing (numba#4807).
_CACHE = os.environ.get("CIMTWIN_NUMBA_CACHE", "0").strip().lower() in ("1", "true", "yes", "on")


def njit(fn=None, *, parallel: bool = False, fastmath: bool = False):
    """``numba.njit`` with cimtwin's defaults; usable bare or with options."""

    def wrap(f):
        return numba.njit(f, nogil=True, parallel=parallel, fastmath=fastmath, cache=_CACHE)

    return wrap(fn) if fn is not None else wrap
