"""Checks shared by every layer of the package; each raises a CimtwinError with a fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from cimtwin.errors import CRSError, GeographicCRSError, ValidationError

__all__ = ["one_of", "require_projected", "as_crs", "close_matches", "require_positive", "format_ids"]


def one_of(value: Any, allowed: Sequence[Any], *, arg: str) -> Any:
    """Return ``value`` if it is among ``allowed``, else raise a ValidationError listing them."""
    if value not in allowed:
        hint = close_matches(str(value), [str(a) for a in allowed])
        raise ValidationError(
            f"`{arg}` must be one of {list(allowed)}; got {value!r}.{hint}"
        )
    return value


def close_matches(name: str, candidates: Iterable[str], *, n: int = 3, cutoff: float = 0.5) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=n, cutoff=cutoff)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def format_ids(ids: Iterable[Any], *, limit: int = 10) -> str:
    """Render feature ids for a message: the first ``limit`` and a count of the rest."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"[{shown}{more}]"


def as_crs(crs: Any, *, arg: str = "crs"):
    """Coerce anything pyproj understands into a ``pyproj.CRS``."""
    import pyproj

    if crs is None:
        raise CRSError(f"`{arg}` is missing. Set it, e.g. `gdf.set_crs('EPSG:4326')` for lon/lat data.")
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"`{arg}` is not a CRS pyproj understands: {crs!r} ({exc}).") from exc


def require_projected(crs: Any, *, arg: str = "crs", what: str = "this computation"):
    """Return the CRS if it is projected (metres); a geographic CRS is an error."""
    crs = as_crs(crs, arg=arg)
    if crs.is_geographic:
        raise GeographicCRSError(
            f"`{arg}` must be a projected CRS in metres for {what}; got {crs.to_string()} "
            "(longitude/latitude in degrees). Reproject first, e.g. to the CGCS2000 "
            "Gauss-Kruger zone of the area (`cimtwin.model.default_crs(bounds)`)."
        )
    return crs


def require_positive(value: float, *, arg: str, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is finite and > 0 (or >= 0)."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"`{arg}` must be a number; got {value!r}.") from exc
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rule = "≥ 0" if allow_zero else "> 0"
        raise ValidationError(f"`{arg}` must be finite and {rule}; got {value!r}.")
    return v
