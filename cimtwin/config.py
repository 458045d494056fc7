"""Settings that never change a result: backend, threads, progress bars, numba cache.

Anything that changes a number is a function parameter, not a setting.

Examples
--------
>>> import cimtwin
>>> cimtwin.config.progress
True
>>> with cimtwin.config.set(progress=False):
...     cimtwin.config.progress
False
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from cimtwin.errors import ValidationError

__all__ = ["config", "Config"]

_BACKENDS = ("auto", "cpu", "cuda")


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class _Settings:
    backend: str = "auto"
    num_threads: int | None = None
    progress: bool = True
    numba_cache: bool = True


class Config:
    """The process-wide options object (``cimtwin.config``).

    Attributes
    ----------
    backend : {"auto", "cpu", "cuda"}
        Default compute backend of the grid core. ``"auto"`` picks CUDA when a GPU
        and numba.cuda are present, else the numba CPU kernels.
    num_threads : int or None
        Threads for parallel numba kernels (None: numba's default).
    progress : bool
        Show tqdm progress bars for long work (``CIMTWIN_PROGRESS=0`` silences them).
    numba_cache : bool
        Cache compiled kernels on disk; on by default (``CIMTWIN_NUMBA_CACHE=0`` turns it off).
    """

    def __init__(self) -> None:
        self._settings = _Settings(
            progress=_env_flag("CIMTWIN_PROGRESS", True),
            numba_cache=_env_flag("CIMTWIN_NUMBA_CACHE", True),
            backend=os.environ.get("CIMTWIN_BACKEND", "auto"),
        )
        self._check(self._settings)

    @staticmethod
    def _check(s: _Settings) -> None:
        if s.backend not in _BACKENDS:
            raise ValidationError(
                f"`backend` must be one of {_BACKENDS}; got {s.backend!r}."
            )
        if s.num_threads is not None and (not isinstance(s.num_threads, int) or s.num_threads < 1):
            raise ValidationError(
                f"`num_threads` must be a positive integer or None; got {s.num_threads!r}."
            )

    def __getattr__(self, name: str) -> Any:
        settings = self.__dict__.get("_settings")
        if settings is not None and name in {f.name for f in fields(settings)}:
            return getattr(settings, name)
        raise AttributeError(f"cimtwin.config has no option {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_settings":
            object.__setattr__(self, name, value)
            return
        self.update(**{name: value})

    def update(self, **options: Any) -> None:
        """Set options for the rest of the process."""
        known = {f.name for f in fields(_Settings)}
        unknown = set(options) - known
        if unknown:
            raise ValidationError(
                f"Unknown option(s) {sorted(unknown)}; valid options are {sorted(known)}."
            )
        new = replace(self._settings, **options)
        self._check(new)
        self._settings = new
        if "num_threads" in options and new.num_threads is not None:
            import numba

            numba.set_num_threads(min(new.num_threads, numba.config.NUMBA_NUM_THREADS))

    @contextlib.contextmanager
    def set(self, **options: Any) -> Iterator[Config]:
        """Override options inside a ``with`` block; the old values come back after it."""
        old = self._settings
        self.update(**options)
        try:
            yield self
        finally:
            self._settings = old

    def __repr__(self) -> str:
        items = ", ".join(f"{f.name}={getattr(self._settings, f.name)!r}" for f in fields(_Settings))
        return f"cimtwin.config({items})"


config = Config()
