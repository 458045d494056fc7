"""Embedded sample models: ``cimtwin.load_sample("jinan")``.

The saved model folder ``<name>.cimtwin`` is looked up, in order, in

1. the folder named by the environment variable ``CIMTWIN_SAMPLE_DATA``;
2. ``sample_data/`` next to the package (a source checkout or an editable install);
3. ``<sys.prefix>/share/cimtwin/sample_data`` (where a wheel may install data files);
4. the user cache (``$XDG_CACHE_HOME/cimtwin`` or ``~/.cache/cimtwin``), where it is
   regenerated with the deterministic generator script when that script can be found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cimtwin.errors import LayerNotFoundError, ValidationError

__all__ = ["load_sample", "available_samples", "sample_path"]

_SAMPLES = {"jinan": "jinan.cimtwin"}
_GENERATORS = {"jinan": "generate_jinan.py"}


def available_samples() -> list[str]:
    """Names accepted by :func:`load_sample`."""
    return sorted(_SAMPLES)


def _search_dirs() -> list[Path]:
    import cimtwin

    dirs = []
    env = os.environ.get("CIMTWIN_SAMPLE_DATA")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(cimtwin.__file__).resolve().parent.parent / "sample_data")
    dirs.append(Path(sys.prefix) / "share" / "cimtwin" / "sample_data")
    return dirs


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cimtwin"


def sample_path(name: str = "jinan", *, regenerate: bool = True) -> Path:
    """The folder of the saved sample model ``name`` (regenerated into the cache if missing)."""
    if name not in _SAMPLES:
        from cimtwin._validate import close_matches

        raise LayerNotFoundError(f"No sample named {name!r}.{close_matches(name, _SAMPLES)} "
                                 f"Available samples: {available_samples()}.")
    folder = _SAMPLES[name]
    for d in _search_dirs():
        if (d / folder / "manifest.json").is_file():
            return d / folder
    cached = _cache_dir() / folder
    if (cached / "manifest.json").is_file():
        return cached
    generators = [d / _GENERATORS[name] for d in _search_dirs() if (d / _GENERATORS[name]).is_file()]
    if not regenerate or not generators:
        raise ValidationError(
            f"The {name!r} sample model ({folder}) was not found in {[str(d) for d in _search_dirs()]} "
            f"or {str(_cache_dir())}. Set CIMTWIN_SAMPLE_DATA to the folder holding {folder}, or run "
            f"`python sample_data/{_GENERATORS[name]}` in a source checkout."
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(generators[0]), "--quiet", "--out", str(cached)], check=True)
    return cached


def load_sample(name: str = "jinan"):
    """Load an embedded sample city model.

    Parameters
    ----------
    name
        Sample name; ``"jinan"`` (济南: the real 区县 boundaries, the 59 roads of
        济政字〔2021〕62号 on a schematic layout, and synthetic layers of every kind on a
        ≈40 × 35 km demo area; ``model.metadata["synthetic"]`` lists the synthetic ones).

    Returns
    -------
    CityModel

    Examples
    --------
    >>> import cimtwin
    >>> model = cimtwin.load_sample("jinan")      # doctest: +SKIP
    >>> model.crs.to_epsg()                       # doctest: +SKIP
    4527
    """
    from cimtwin.model.city import read_model

    return read_model(sample_path(name))
