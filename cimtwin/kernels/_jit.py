"""One place that decides how kernels are compiled (lazily, nogil, optional disk cache)."""

from __future__ import annotations

import os

import numba

# Compiled kernels are cached on disk, so only the first run of a process pays the compile
# (about a minute for a whole-city run). numba writes each cache file to a temporary name and
# renames it, so concurrent processes at worst compile twice. CIMTWIN_NUMBA_CACHE=0 turns it off.
_CACHE = os.environ.get("CIMTWIN_NUMBA_CACHE", "1").strip().lower() in ("1", "true", "yes", "on")
# A kernel that calls numba.set_parallel_chunksize cannot be cached (numba warns and compiles it
# in every process); callers set the chunk size with `numba.parallel_chunksize` instead.


def njit(fn=None, *, parallel: bool = False, fastmath: bool = False, inline: str = 'never'):
    """``numba.njit`` with cimtwin's defaults; usable bare or with options.

    ``inline="always"`` inlines the function into its callers at numba's IR level (small
    helpers on a hot path, such as the heap operations of a search loop).
    """

    def wrap(f):
        return numba.njit(f, nogil=True, parallel=parallel, fastmath=fastmath, cache=_CACHE, inline=inline)

    return wrap(fn) if fn is not None else wrap
