"""Direct runoff by the SCS/NRCS curve-number method (USDA TR-55, 1986, Eq. 2-1 to 2-4).

``S = 25400/CN − 254`` (mm), ``Ia = λ·S`` (λ = 0.2), ``Q = (P − Ia)² / (P − Ia + S)`` for
``P > Ia``, else 0. Curve numbers come from a table of land class × hydrologic soil group
(:data:`CN_TABLE_TR55`), which you can override.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from cimtwin._validate import close_matches, format_ids, requires_metres
from cimtwin.errors import SchemaError, ValidationError

__all__ = ["CN_TABLE_TR55", "CN_TABLE_SOURCE", "scs_runoff_mm", "curve_number", "curve_number_grid"]

# land class of the cimtwin land_use schema -> CN for soil groups (A, B, C, D).
# Rows are TR-55 Table 2-2a/2-2b covers; the cover chosen for each class is a documented choice.
CN_TABLE_TR55: dict[str, tuple[float, float, float, float]] = {
    "road": (98, 98, 98, 98),          # paved streets with curbs and storm sewers
    "commercial": (89, 92, 94, 95),    # commercial and business, 85 % impervious
    "industrial": (81, 88, 91, 93),    # industrial, 72 % impervious
    "residential": (77, 85, 90, 92),   # residential 1/8 acre or less (townhouses), 65 % impervious
    "public": (77, 85, 90, 92),        # as dense residential (65 % impervious): campuses, hospitals
    "park": (39, 61, 74, 80),          # open space, good condition (grass cover > 75 %)
    "grassland": (49, 69, 79, 84),     # open space, fair condition (grass cover 50-75 %)
    "forest": (30, 55, 70, 77),        # woods, good condition
    "farmland": (67, 78, 85, 89),      # row crops, straight row, good condition (Table 2-2b)
    "bare": (77, 86, 91, 94),          # newly graded areas, pervious only, no vegetation
    "water": (100, 100, 100, 100),     # open water: all rain becomes runoff (S = 0)
}
CN_TABLE_SOURCE = ("USDA NRCS TR-55 (1986) Table 2-2a (urban) and 2-2b (row crops); the cover "
                   "assigned to each cimtwin land class is a cimtwin choice, see docs/risk.md")
_SOILS = ("A", "B", "C", "D")


def scs_runoff_mm(rain_mm, cn, *, ia_ratio: float = 0.2):
    """Direct runoff depth (mm) for rainfall ``rain_mm`` and curve number ``cn``.

    Arrays broadcast; a DataArray ``rain_mm`` or ``cn`` gives a DataArray. NaN in either
    gives NaN (nodata).

    Parameters
    ----------
    rain_mm
        Storm rainfall depth P, mm (≥ 0).
    cn
        Curve number in (0, 100].
    ia_ratio
        Initial abstraction ratio λ in Ia = λ·S (0.2 in TR-55; 0.05 in Hawkins et al. 2002).

    Examples
    --------
    >>> round(float(scs_runoff_mm(100.0, 98)), 2)
    94.04
    """
    from cimtwin.kernels.hydro import scs_runoff

    p = np.asarray(getattr(rain_mm, "values", rain_mm))
    c = np.asarray(getattr(cn, "values", cn))
    p = p if np.issubdtype(p.dtype, np.floating) else p.astype("float64")
    c = c if np.issubdtype(c.dtype, np.floating) else c.astype("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN input: nothing to check
        c_lo, c_hi = (np.nanmin(c), np.nanmax(c)) if c.size else (np.nan, np.nan)
        p_lo = np.nanmin(p) if p.size else np.nan
    if c_lo <= 0 or c_hi > 100:
        raise ValidationError(f"Curve numbers must lie in (0, 100]; got values in [{c_lo}, {c_hi}].")
    if p_lo < 0:
        raise ValidationError(f"Rainfall must be ≥ 0 mm; got a minimum of {p_lo}.")
    if not (0 <= ia_ratio < 1):
        raise ValidationError(f"`ia_ratio` must be in [0, 1); got {ia_ratio!r}.")
    shape = np.broadcast_shapes(p.shape, c.shape)
    template = rain_mm if hasattr(rain_mm, "dims") else cn if hasattr(cn, "dims") else None
    # a DataArray result of the grid's shape is stored as float32, plain arrays as float64
    as_grid = template is not None and tuple(template.shape) == shape
    q = np.empty(shape, dtype="float32" if as_grid else "float64")
    scs_runoff(_flat(p, shape), _flat(c, shape), float(ia_ratio), q.reshape(-1))
    if template is not None:
        out = template.copy(data=q)
        out.name = "runoff_mm"
        out.attrs.update({"units": "mm", "source": "SCS curve number (TR-55 Eq. 2-1..2-4)", "ia_ratio": ia_ratio})
        return out
    return q if shape else q[()]


def _flat(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` as a flat array: one element (the same everywhere) or one per cell of ``shape``."""
    if a.size == 1:
        return a.reshape(1)
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def curve_number(land_class, soil_group, *, cn_table: Mapping[str, tuple[float, ...]] = CN_TABLE_TR55) -> np.ndarray:
    """CN for arrays of land class and soil group names (unknown names are an error)."""
    lc = np.asarray(land_class, dtype=str)
    sg = np.asarray(soil_group, dtype=str)
    bad_lc = sorted(set(np.unique(lc)) - set(cn_table))
    if bad_lc:
        raise ValidationError(f"No curve number for land class(es) {bad_lc}.{close_matches(bad_lc[0], cn_table)} "
                              f"The CN table has {list(cn_table)}; pass `cn_table=` with your classes.")
    bad_sg = sorted(set(np.unique(sg)) - set(_SOILS))
    if bad_sg:
        raise ValidationError(f"Unknown hydrologic soil group(s) {bad_sg}; use A, B, C or D.")
    table = np.array([cn_table[k] for k in cn_table], dtype="float64")
    row = {k: i for i, k in enumerate(cn_table)}
    return table[np.vectorize(row.__getitem__, otypes=[int])(lc), np.vectorize(_SOILS.index, otypes=[int])(sg)]


@requires_metres("land_use", "spec")
def curve_number_grid(land_use, spec, *, cn_table: Mapping[str, tuple[float, ...]] = CN_TABLE_TR55,
                      default_cn: float | None = None):
    """CN raster on ``spec`` from ``land_use`` polygons (``land_class``, ``soil_group``).

    Cells outside every polygon get ``default_cn`` or NaN (nodata) when it is None.

    Returns
    -------
    xarray.DataArray
        float32 CN, attrs ``units="1"``, ``source`` and ``cells_without_land_use``.
    """
    from cimtwin.grid import rasterize

    missing = [c for c in ("land_class", "soil_group") if c not in land_use.columns]
    if missing:
        raise SchemaError(f"Layer 'land_use' lacks column(s) {missing} needed for curve numbers.")
    if len(land_use) == 0:
        raise ValidationError("Layer 'land_use' is empty; runoff needs land-use polygons with soil groups.")
    try:
        cn = curve_number(land_use["land_class"], land_use["soil_group"], cn_table=cn_table)
    except ValidationError as exc:
        bad = ~land_use["land_class"].astype(str).isin(list(cn_table)) | ~land_use["soil_group"].astype(str).isin(_SOILS)
        raise ValidationError(f"{exc} (layer 'land_use', ids {format_ids(land_use.index[bad])})") from None
    gdf = land_use.assign(_cn=cn.astype("float32"))
    grid = rasterize(spec, gdf, values="_cn", fill=np.nan, dtype="float32")
    values = np.asarray(getattr(grid, "values", grid), dtype="float32")
    n_missing = int(np.isnan(values).sum())
    if default_cn is not None:
        values = np.where(np.isnan(values), np.float32(default_cn), values)
    return spec.to_dataarray(values, name="curve_number",
                             attrs={"units": "1", "source": CN_TABLE_SOURCE, "cells_without_land_use": n_missing})
