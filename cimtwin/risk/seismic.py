"""Seismic hazard: GB 18306 zoning for fortification, fault scenarios as a separate analysis.

Two analyses, never mixed:

**Zoning** (:func:`seismic_hazard`, the one fortification is checked against):

1. **Basic PGA** (class-II site, 50-year 10 % exceedance) from the official GB 18306-2015
   zoning map: a ``seismic_zoning`` layer of polygons with ``pga_g`` (the map's zone values,
   0.05 … 0.40 g), or a user raster. Cells outside every zone have no value (NaN), never a
   default.
2. **Site amplification** ``a_max = Fa · a_max,II`` with Fa from GB 18306-2015 Table E.1,
   interpolated piecewise linearly in the class-II PGA (Annex E.2), on the ``site_class``
   polygons (class II where there are none).
3. **Zoning intensity** from the site PGA by the GB 18306 correspondence (0.10 g ↔ VII) and,
   beside it, the **GB/T 17742-2020 instrumental intensity** (PGA form). The two serve
   different purposes and are never mixed: fortification is checked against the zoning
   intensity.
4. **Buildings below fortification**: ``fortification_intensity`` below the required
   intensity (zoning intensity, at least the plan's minimum, one grade higher for
   schools, kindergartens, hospitals and elderly homes).

**Scenario** (:func:`seismic_scenario`): the ground motion of scenario earthquakes on the
``faults`` layer by the Yu, Li & Xiao (2013) eastern-China elliptical attenuation (the
relation behind the GB 18306-2015 map; long axis along the fault strike), or any
attenuation callable you pass. Only faults marked active (Late Pleistocene or Holocene
activity, :data:`ACTIVE_FAULT_RULE`) are used unless ``active_only=False``; the PGA of a
cell is the largest over the faults used. A scenario says what one earthquake could do; it
is not the zoning a building is designed to.

Every number is a named, overridable default carrying its source string.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimtwin._validate import close_matches, format_ids, require_positive, require_projected, requires_metres
from cimtwin.errors import (
    CimtwinWarning,
    GeometryError,
    InputTypeError,
    NodataError,
    SchemaError,
    ValidationError,
)

__all__ = [
    "G_M_S2",
    "YuCoefficients",
    "YU2013_EASTERN_PGA",
    "yu2013_pga_g",
    "FA_TABLE_GB18306",
    "site_amplification_factor",
    "ZONING_INTENSITY_BINS_GB18306",
    "zoning_intensity",
    "instrumental_intensity",
    "IMPORTANT_USES",
    "fault_pga",
    "site_class_grid",
    "ACTIVE_FAULT_RULE",
    "active_faults",
    "ZONING_PGA_VALUES_GB18306",
    "zoning_pga",
    "SeismicHazard",
    "seismic_hazard",
    "seismic_scenario",
    "buildings_below_fortification",
]

G_M_S2 = 9.80665  # standard gravity; converts PGA in g to m/s²


# ---------------------------------------------------------------------------------------
# Yu et al. (2013) elliptical attenuation
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YuCoefficients:
    """Coefficients of ``ln Y = A + B·Ms + C·ln(R + D·exp(E·Ms))`` (Y in cm/s²) per axis.

    ``long_small``/``short_small`` apply for Ms ≤ ``magnitude_split``, the ``*_large``
    sets above it; each is (A, B, C, D, E). ``depth_km`` enters as
    ``R = sqrt(r² + depth_km²)``.
    """

    long_small: tuple[float, float, float, float, float]
    short_small: tuple[float, float, float, float, float]
    long_large: tuple[float, float, float, float, float]
    short_large: tuple[float, float, float, float, float]
    magnitude_split: float = 6.5
    depth_km: float = 15.0
    sigma_ln: float = 0.5428
    source: str = ""

    def for_magnitude(self, magnitude: float):
        if magnitude > self.magnitude_split:
            return self.long_large, self.short_large
        return self.long_small, self.short_small


YU2013_EASTERN_PGA = YuCoefficients(
    long_small=(4.5517, 1.5433, -2.315, 2.088, 0.399),
    short_small=(2.7048, 1.518, -2.004, 0.944, 0.447),
    long_large=(8.1259, 0.9936, -2.315, 2.088, 0.399),
    short_large=(6.3319, 0.9614, -2.004, 0.944, 0.447),
    source="Yu, Li & Xiao (2013), eastern China, PGA; as implemented in OpenQuake YuEtAl2013MsEastern",
)


def _ln_axis(coef, magnitude, r_km):
    a, b, c, d, e = coef
    return a + b * magnitude + c * np.log(r_km + d * math.exp(e * magnitude))


def _short_axis_for(r_long_km, magnitude, coef_long, coef_short):
    """Short semi-axis with the same (depth-free) motion as the long semi-axis ``r_long_km``."""
    a, b, c, d, e = coef_short
    ln_y = _ln_axis(coef_long, magnitude, r_long_km)
    return np.exp((ln_y - a - b * magnitude) / c) - d * math.exp(e * magnitude)


def yu2013_pga_g(distance_km, theta_deg, magnitude: float, *,
                 coefficients: YuCoefficients = YU2013_EASTERN_PGA, floor_cm_s2: float = 1.0) -> np.ndarray:
    """Median PGA (g) of the Yu et al. (2013) elliptical model.

    Parameters
    ----------
    distance_km
        Distance from the epicentre (or the nearest point of the rupture) in km.
    theta_deg
        Angle between the site direction and the long axis (the fault strike), degrees.
    magnitude
        Surface-wave magnitude Ms.
    coefficients
        Coefficient set; :data:`YU2013_EASTERN_PGA` by default.
    floor_cm_s2
        Each axis motion is floored at this value (1 cm/s² ≈ 0.001 g) before the
        elliptical combination, which is only meaningful for positive ln values; it is far
        below any zoning class (VI starts at 0.04 g).

    Notes
    -----
    The site lies on the iso-motion ellipse with semi-axes (ra, rb) where the long- and
    short-axis relations give the same motion (without depth); ra is found by bisection
    so that the ellipse's polar radius at ``theta`` equals ``distance_km``. The motion is
    ``ln Y = ln Ya·ln Yb / sqrt((ln Ya·sinθ)² + (ln Yb·cosθ)²)`` with Ya, Yb evaluated at
    ``sqrt(r² + depth²)``, as OpenQuake's ``YuEtAl2013Ms`` does.

    Examples
    --------
    >>> round(float(yu2013_pga_g(10.0, 0.0, 6.0)), 3)
    0.189
    """
    dist = np.asarray(distance_km, dtype="float64")
    theta = np.radians(np.asarray(theta_deg, dtype="float64"))
    dist, theta = np.broadcast_arrays(dist, theta)
    if np.any(~np.isfinite(dist)) or np.any(dist < 0):
        raise ValidationError("`distance_km` must be finite and ≥ 0.")
    floor = math.log(require_positive(floor_cm_s2, arg="floor_cm_s2"))
    if floor < 0:  # the elliptical combination needs non-negative ln values
        raise ValidationError("`floor_cm_s2` must be ≥ 1 (ln Y ≥ 0) for the elliptical combination.")
    m = float(magnitude)
    if not (0 < m < 10):
        raise ValidationError(f"`magnitude` must be an Ms in (0, 10); got {magnitude!r}.")
    coef_long, coef_short = coefficients.for_magnitude(m)
    s2 = np.sin(theta) ** 2
    c2 = np.cos(theta) ** 2

    def polar_radius(ra):
        rb = np.maximum(_short_axis_for(ra, m, coef_long, coef_short), 0.0)
        den = np.sqrt(ra * ra * s2 + rb * rb * c2)
        return np.where(den > 0, ra * rb / np.where(den > 0, den, 1.0), 0.0), rb

    # Bisection on ra: the polar radius grows with ra. Bracket up to well past any site.
    lo = np.zeros_like(dist)
    hi = np.full_like(dist, 50.0)
    for _ in range(60):
        short, _ = polar_radius(hi)
        grow = short < dist
        if not grow.any():
            break
        hi = np.where(grow, hi * 2.0, hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        r, _ = polar_radius(mid)
        below = r < dist
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    ra = 0.5 * (lo + hi)
    rb = np.maximum(_short_axis_for(ra, m, coef_long, coef_short), 0.0)
    h2 = coefficients.depth_km ** 2
    ln_a = np.maximum(_ln_axis(coef_long, m, np.sqrt(ra * ra + h2)), floor)
    ln_b = np.maximum(_ln_axis(coef_short, m, np.sqrt(rb * rb + h2)), floor)
    den = np.sqrt((ln_a * np.sin(theta)) ** 2 + (ln_b * np.cos(theta)) ** 2)
    ln_y = np.where(den > 0, ln_a * ln_b / np.where(den > 0, den, 1.0), 0.0)
    return np.exp(ln_y) / 100.0 / G_M_S2


# ---------------------------------------------------------------------------------------
# GB 18306 site amplification and intensity
# ---------------------------------------------------------------------------------------
FA_PGA_G = (0.05, 0.10, 0.15, 0.20, 0.30, 0.40)
FA_TABLE_GB18306: dict[str, tuple[float, ...]] = {
    "I0": (0.72, 0.74, 0.75, 0.76, 0.85, 0.90),
    "I1": (0.80, 0.82, 0.83, 0.85, 0.95, 1.00),
    "II": (1.00, 1.00, 1.00, 1.00, 1.00, 1.00),
    "III": (1.30, 1.25, 1.15, 1.00, 1.00, 1.00),
    "IV": (1.25, 1.20, 1.10, 1.00, 0.95, 0.90),
}
FA_SOURCE = "GB 18306-2015 Table E.1, linear interpolation per Annex E.2"


def site_amplification_factor(pga_ii_g, site_class, *, table: Mapping[str, tuple[float, ...]] = FA_TABLE_GB18306,
                              pga_nodes_g: tuple[float, ...] = FA_PGA_G) -> np.ndarray:
    """Fa for class-II PGA ``pga_ii_g`` (g) on ``site_class`` (a name or an array of names).

    Fa is interpolated linearly between the table's PGA columns and held constant
    outside them (≤ 0.05 g, ≥ 0.40 g).

    Examples
    --------
    >>> float(site_amplification_factor(0.10, "III"))
    1.25
    >>> float(site_amplification_factor(0.125, "IV"))
    1.15
    """
    pga = np.asarray(pga_ii_g, dtype="float64")
    classes = np.asarray(site_class, dtype=object)
    unknown = sorted({str(c) for c in np.unique(classes.astype(str))} - set(table))
    if unknown:
        raise ValidationError(
            f"Unknown site class(es) {unknown}.{close_matches(unknown[0], table)} "
            f"GB 18306 site classes are {list(table)}; fix the `site_class` column."
        )
    pga, classes = np.broadcast_arrays(pga, classes)
    out = np.empty(pga.shape, dtype="float64")
    for name, row in table.items():
        sel = classes == name
        if sel.any():
            out[sel] = np.interp(pga[sel], pga_nodes_g, row)
    return out


# Lower bounds (g) of the PGA bins and the intensity each starts; below the first bound: V.
ZONING_INTENSITY_BINS_GB18306 = {
    "lower_g": (0.04, 0.09, 0.19, 0.38, 0.75),
    "intensity": (6, 7, 8, 9, 10),
    "below": 5,
    "source": "GB 18306-2015 Annex G Table G.1 as recalled in the domain notes ([M], not re-checked "
              "against the annex text): [0.04,0.09) VI, [0.09,0.19) VII, [0.19,0.38) VIII, "
              "[0.38,0.75) IX, >=0.75 X; consistent with 0.10 g <-> VII and Annex F zone ranges",
}


def zoning_intensity(pga_g, *, bins: Mapping[str, Any] = ZONING_INTENSITY_BINS_GB18306) -> np.ndarray:
    """Zoning intensity (integer, VI = 6) from PGA in g by the GB 18306 correspondence.

    NaN PGA gives 0 (no data).

    Examples
    --------
    >>> zoning_intensity([0.03, 0.05, 0.10, 0.2, 0.4, 0.8]).tolist()
    [5, 6, 7, 8, 9, 10]
    """
    pga = np.asarray(pga_g, dtype="float64")
    lower = np.asarray(bins["lower_g"], dtype="float64")
    levels = np.concatenate([[bins["below"]], np.asarray(bins["intensity"])]).astype("int16")
    idx = np.searchsorted(lower, np.where(np.isnan(pga), 0.0, pga), side="right")
    return np.where(np.isnan(pga), 0, levels[idx]).astype("int16")


def instrumental_intensity(pga_g, *, pgv_m_s=None) -> np.ndarray:
    """GB/T 17742-2020 instrumental intensity from PGA in g (and PGV in m/s when known).

    ``I_A = 3.17·lg(PGA[m/s²]) + 6.59``; with PGV, ``I_V = 3.00·lg(PGV) + 9.77`` and
    I = I_V when both are ≥ 6.0, else their mean. Clamped to [1, 12], rounded to 0.1.

    Examples
    --------
    >>> float(instrumental_intensity(0.1))
    6.6
    """
    pga = np.asarray(pga_g, dtype="float64") * G_M_S2
    with np.errstate(divide="ignore", invalid="ignore"):
        i_a = 3.17 * np.log10(pga) + 6.59
        if pgv_m_s is None:
            i = i_a
        else:
            i_v = 3.00 * np.log10(np.asarray(pgv_m_s, dtype="float64")) + 9.77
            i = np.where((i_a >= 6.0) & (i_v >= 6.0), i_v, 0.5 * (i_a + i_v))
    i = np.where(np.isnan(i), np.nan, np.clip(i, 1.0, 12.0))
    return np.round(i, 1)


# ---------------------------------------------------------------------------------------
# Grids from the model
# ---------------------------------------------------------------------------------------
AttenuationFn = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _fault_geometry_checks(faults) -> None:
    missing = [c for c in ("magnitude", "strike_deg") if c not in faults.columns]
    if missing:
        raise SchemaError(f"Layer 'faults' lacks column(s) {missing}; each fault needs `magnitude` (Ms) "
                          "and `strike_deg` (azimuth, clockwise from grid north).")
    if len(faults) == 0:
        raise ValidationError("Layer 'faults' is empty: the seismic scenario needs at least one fault line "
                              "with `magnitude` and `strike_deg`. Add faults or pass `attenuation=` with your "
                              "own PGA grid source.")
    bad = faults.geometry.isna() | faults.geometry.is_empty
    if bad.any():
        raise GeometryError(f"Layer 'faults' has empty geometries at ids {format_ids(faults.index[bad])}.")


@requires_metres("faults", "spec")
def fault_pga(faults, spec, *, attenuation: AttenuationFn | None = None, source: str = "rupture",
              coefficients: YuCoefficients = YU2013_EASTERN_PGA, coarse_cell_m: float | None = 200.0):
    """Class-II PGA (g) on the grid ``spec``: the largest over scenario earthquakes on ``faults``.

    Parameters
    ----------
    faults
        GeoDataFrame of lines with ``magnitude`` (Ms) and ``strike_deg``, in ``spec.crs``.
    spec
        GridSpec (projected, metres).
    attenuation
        ``f(distance_km, theta_deg, magnitude) -> pga_g``; Yu et al. (2013) eastern China
        by default.
    source
        ``"rupture"``: distance and angle from the nearest point of the fault line (the
        ellipses are stretched along the whole rupture); ``"epicentre"``: from the
        fault's midpoint.
    coarse_cell_m
        On grids of more than 250 000 cells finer than this, PGA is evaluated on cells of
        about this size and interpolated (linearly in ln PGA) back; None: every cell exactly.

    Returns
    -------
    xarray.DataArray
        PGA in g (float32), attrs ``units="g"`` and ``source``.
    """
    import shapely

    from cimtwin._validate import one_of

    require_projected(spec.crs, arg="grid crs", what="fault distances")
    one_of(source, ("rupture", "epicentre"), arg="source")
    _fault_geometry_checks(faults)
    fn = attenuation
    if fn is None:
        def fn(d, t, m):
            return _tabulated_yu(d, t, m, coefficients)
    elif not callable(fn):
        raise InputTypeError(f"`attenuation` must be callable f(distance_km, theta_deg, magnitude); got {fn!r}.")
    factor = int(coarse_cell_m // spec.res_m) if coarse_cell_m else 1
    if factor > 1 and spec.size > 250_000:
        # PGA varies over kilometres: evaluate on cells of about coarse_cell_m, then interpolate
        from affine import Affine
        from scipy.ndimage import map_coordinates

        from cimtwin.grid.spec import GridSpec

        rows, cols = spec.shape
        t = spec.transform
        coarse = GridSpec(Affine(t.a * factor, 0, t.c, 0, t.e * factor, t.f),
                          (-(-rows // factor), -(-cols // factor)), spec.crs)
        low = fault_pga(faults, coarse, attenuation=attenuation, source=source, coefficients=coefficients,
                        coarse_cell_m=None)
        rr = (np.arange(rows) + 0.5) / factor - 0.5
        cc = (np.arange(cols) + 0.5) / factor - 0.5
        grid_r, grid_c = np.meshgrid(rr, cc, indexing="ij")
        values = map_coordinates(np.log(np.maximum(low.values.astype("float64"), 1e-9)), [grid_r, grid_c],
                                 order=1, mode="nearest")
        out = spec.to_dataarray(np.exp(values).astype("float32"), name="pga_ii_g", attrs=dict(low.attrs))
        out.attrs["evaluated_on_cells_m"] = float(spec.res_m * factor)
        return out
    xx, yy = np.meshgrid(spec.x, spec.y)
    pts = shapely.points(xx.ravel(), yy.ravel())
    best = np.zeros(xx.size, dtype="float64")
    for fid, row in faults.iterrows():
        line = row.geometry
        strike = math.radians(float(row["strike_deg"]))
        ux, uy = math.sin(strike), math.cos(strike)  # azimuth: 0 = north, clockwise
        if source == "epicentre":
            p0 = line.interpolate(0.5, normalized=True) if line.length > 0 else line.centroid
            nx = np.full(xx.size, p0.x)
            ny = np.full(xx.size, p0.y)
        else:
            near = shapely.line_interpolate_point(line, shapely.line_locate_point(line, pts))
            nx, ny = shapely.get_x(near), shapely.get_y(near)
        dx = xx.ravel() - nx
        dy = yy.ravel() - ny
        dist_km = np.hypot(dx, dy) / 1000.0
        along = np.abs(dx * ux + dy * uy)
        across = np.abs(dx * uy - dy * ux)
        theta = np.degrees(np.arctan2(across, along))
        pga = np.asarray(fn(dist_km, theta, float(row["magnitude"])), dtype="float64").reshape(-1)
        if pga.shape != best.shape:
            raise ValidationError(f"`attenuation` returned shape {pga.shape} for {best.size} cells.")
        if not np.all(np.isfinite(pga)) or np.any(pga < 0):
            raise ValidationError(f"`attenuation` returned negative or non-finite PGA for fault {fid!r}.")
        np.maximum(best, pga, out=best)
    src = coefficients.source if attenuation is None else getattr(attenuation, "__name__", "user attenuation")
    return spec.to_dataarray(best.reshape(spec.shape).astype("float32"), name="pga_ii_g",
                             attrs={"units": "g", "source": src, "site": "class II (before amplification)"})


def _tabulated_yu(distance_km, theta_deg, magnitude, coefficients, *, n_distance: int = 600, n_theta: int = 181):
    """Yu (2013) PGA by bilinear interpolation of ln PGA in a (theta, log-distance) table.

    The exact model solves one ellipse per cell; on a city grid (millions of cells, several
    faults) a table of ~1e5 exact values is much faster and stays within ~0.1 % of it.
    Linear interpolation of a table that falls with distance keeps the result falling with
    distance.
    """
    d = np.asarray(distance_km, dtype="float64")
    t = np.clip(np.asarray(theta_deg, dtype="float64"), 0.0, 90.0)
    d_max = max(float(d.max()) if d.size else 1.0, 1.0) * 1.001
    nodes_d = np.concatenate([[0.0], np.geomspace(1e-3, d_max, n_distance - 1)])
    nodes_t = np.linspace(0.0, 90.0, n_theta)
    tt, dd = np.meshgrid(nodes_t, nodes_d, indexing="ij")
    table = np.log(yu2013_pga_g(dd, tt, magnitude, coefficients=coefficients))
    j = np.clip(np.searchsorted(nodes_d, d, side="right") - 1, 0, n_distance - 2)
    fd = (d - nodes_d[j]) / (nodes_d[j + 1] - nodes_d[j])
    ti = t / (90.0 / (n_theta - 1))
    i = np.clip(np.floor(ti).astype("int64"), 0, n_theta - 2)
    ft = ti - i
    ln_pga = ((1 - ft) * ((1 - fd) * table[i, j] + fd * table[i, j + 1])
              + ft * ((1 - fd) * table[i + 1, j] + fd * table[i + 1, j + 1]))
    return np.exp(ln_pga)


def site_class_grid(site_class, spec, *, default: str | None = "II"):
    """Site class names on the grid (object array) from the ``site_class`` polygons.

    Cells outside every polygon take ``default`` (class II, the reference site of GB 18306);
    with ``default=None`` they are an error. Returns ``(names, n_defaulted)``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from cimtwin.grid import GridSpec
    >>> layer = gpd.GeoDataFrame({"site_class": ["III"]}, geometry=[shapely.box(0, 0, 100, 200)], crs="EPSG:4527")
    >>> names, n_default = site_class_grid(layer, GridSpec.from_bounds((0, 0, 200, 200), res_m=100, crs="EPSG:4527"))
    >>> names.tolist(), n_default
    ([['III', 'II'], ['III', 'II']], 2)
    """
    codes, n_default = _site_class_codes(site_class, spec, default=default)
    return np.array([default, *FA_TABLE_GB18306], dtype=object)[codes], n_default


def _site_class_codes(site_class, spec, *, default: str | None):
    """(int8 code grid, cells outside every polygon): 0 outside, i + 1 for the Fa table's i-th class."""
    from cimtwin.grid import rasterize

    if "site_class" not in site_class.columns:
        raise SchemaError("Layer 'site_class' lacks the `site_class` column (I0, I1, II, III, IV).")
    names = site_class["site_class"].astype(str)
    unknown = ~names.isin(list(FA_TABLE_GB18306))
    if unknown.any():
        bad = sorted(set(names[unknown]))
        raise ValidationError(
            f"Layer 'site_class' has unknown site class(es) {bad} at ids {format_ids(site_class.index[unknown])}."
            f"{close_matches(bad[0], FA_TABLE_GB18306)} Use one of {list(FA_TABLE_GB18306)}."
        )
    order = list(FA_TABLE_GB18306)
    codes = names.map({n: i + 1 for i, n in enumerate(order)}).astype("int32").to_numpy()
    gdf = site_class.assign(_code=codes)
    grid = np.asarray(_values(rasterize(spec, gdf, values="_code", fill=0, dtype="int8")))
    n_default = int((grid == 0).sum())
    if n_default and default is None:
        raise ValidationError(f"{n_default} cells lie outside every site-class polygon and `default=None`.")
    return grid, n_default


def _values(obj):
    return obj.values if hasattr(obj, "values") and hasattr(obj, "dims") else obj


@dataclass
class SeismicHazard:
    """Result of :func:`seismic_hazard` (``kind="zoning"``) or :func:`seismic_scenario`
    (``kind="scenario"``): DataArrays on the grid plus notes."""

    pga_ii_g: Any
    fa: Any
    pga_g: Any
    zoning_intensity: Any
    instrumental_intensity: Any
    notes: dict = field(default_factory=dict)
    kind: str = "zoning"


#: Which faults a scenario uses by default: those with activity since the Late Pleistocene.
ACTIVE_FAULT_RULE = {
    "keywords": ("holocene", "late pleistocene", "全新世", "晚更新世"),
    "source": "active fault = activity since the Late Pleistocene (晚更新世以来有活动的断层), the definition "
              "of Chinese active-fault surveys (GB/T 36072-2018 活动断层探测)",
}

#: The zone values (g) of the GB 18306-2015 basic PGA map (class-II site).
ZONING_PGA_VALUES_GB18306 = (0.05, 0.10, 0.15, 0.20, 0.30, 0.40)


def active_faults(faults, *, rule: Mapping[str, Any] = ACTIVE_FAULT_RULE):
    """Boolean Series: which faults are active.

    A boolean ``active`` column decides where it is filled; otherwise the ``activity`` text
    must name the Holocene or the Late Pleistocene (:data:`ACTIVE_FAULT_RULE`). "Early-Mid
    Pleistocene" or "第四纪不活动" faults are not active.

    Examples
    --------
    >>> import pandas as pd
    >>> active_faults(pd.DataFrame({"activity": ["Late Pleistocene", "Early-Mid Pleistocene", "全新世"]})).tolist()
    [True, False, True]
    """
    import pandas as pd

    words = tuple(str(w).lower() for w in rule["keywords"])
    if "activity" in faults.columns:
        text = faults["activity"].astype(str).str.lower()
        by_text = text.map(lambda t: any(w in t for w in words)).astype(bool)
    else:
        by_text = pd.Series(False, index=faults.index)
    if "active" in faults.columns:
        flag = faults["active"]
        return flag.where(flag.notna(), by_text).astype(bool)
    if "activity" not in faults.columns:
        raise SchemaError("Layer 'faults' has neither an `active` (bool) nor an `activity` column, so no fault "
                          "is known to be active. Add one, or pass `active_only=False` to use every fault.")
    return by_text


@requires_metres("zoning", "spec")
def zoning_pga(zoning, spec, *, column: str = "pga_g", layer: str = "seismic_zoning"):
    """Class-II basic PGA (g) of GB 18306 zoning polygons on the grid ``spec``.

    Cells outside every polygon are NaN (no zoning value: never a default). Values other
    than the map's zone values (:data:`ZONING_PGA_VALUES_GB18306`) are accepted (a local
    seismic safety evaluation may give them) but noted in ``attrs["note"]``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from cimtwin.grid import GridSpec
    >>> zones = gpd.GeoDataFrame({"pga_g": [0.10, 0.15]}, geometry=[shapely.box(0, 0, 50, 100),
    ...     shapely.box(50, 0, 100, 100)], crs="EPSG:4527")
    >>> spec = GridSpec.from_bounds((0, 0, 100, 100), res_m=25, crs="EPSG:4527")
    >>> [round(float(v), 2) for v in zoning_pga(zones, spec).values[0]]
    [0.1, 0.1, 0.15, 0.15]
    """
    from cimtwin.grid import rasterize

    if column not in zoning.columns:
        raise SchemaError(f"Layer {layer!r} lacks the `{column}` column (GB 18306 basic PGA of each zone, in g)."
                          f"{close_matches(column, [str(c) for c in zoning.columns])}")
    pga = zoning[column].to_numpy(dtype="float64")
    bad = ~np.isfinite(pga) | (pga <= 0) | (pga > 1.0)
    if bad.any():
        raise ValidationError(f"Layer {layer!r}, column {column!r}: features {format_ids(zoning.index[bad])} have "
                              f"no PGA in (0, 1] g; GB 18306 zones are {list(ZONING_PGA_VALUES_GB18306)} g.")
    grid = rasterize(spec, zoning.assign(_pga=pga), values="_pga", fill=np.nan, dtype="float32")
    attrs = {"units": "g", "source": f"GB 18306-2015 basic PGA (class II) from layer {layer!r}",
             "site": "class II (before amplification)"}
    odd = sorted({float(v) for v in pga if not np.isclose(v, ZONING_PGA_VALUES_GB18306).any()})
    if odd:
        attrs["note"] = f"values {odd} g are not GB 18306 zone values"
    return spec.to_dataarray(np.asarray(grid.values, dtype="float32"), name="pga_ii_g", attrs=attrs)


def _site_adjusted(model, spec, pga_ii, *, default_site_class: str, kind: str, notes: dict) -> SeismicHazard:
    """Fa (GB 18306 Table E.1), site PGA and both intensities from a class-II PGA grid."""
    if default_site_class not in FA_TABLE_GB18306:
        raise ValidationError(f"Unknown default site class {default_site_class!r}."
                              f"{close_matches(str(default_site_class), FA_TABLE_GB18306)} "
                              f"GB 18306 site classes are {list(FA_TABLE_GB18306)}.")
    if model.has_layer("site_class") and len(model.layer("site_class")):
        codes, n_default = _site_class_codes(model.layer("site_class"), spec, default=default_site_class)
        notes["cells_default_site_class"] = n_default
    else:
        warnings.warn("No 'site_class' layer: every cell is treated as site class "
                      f"{default_site_class!r} (GB 18306 reference site).", CimtwinWarning, stacklevel=3)
        codes = None
        notes["cells_default_site_class"] = spec.size
    # Fa and the site PGA class by class on integer codes (an array of 10^8 names would take
    # gigabytes), a band of rows at a time; NaN (no zoning value) stays NaN through np.interp
    values = np.asarray(pga_ii.values)
    fa = np.empty(spec.shape, dtype="float32")
    pga = np.empty(spec.shape, dtype="float32")
    # the intensities too, band by band: each is elementwise, and on a whole grid they
    # would make several float64 copies of it (gigabytes at 10^8 cells)
    zi = np.empty(spec.shape, dtype="int16")
    ii = np.empty(spec.shape, dtype="float32")
    step = max(1, (1 << 22) // max(1, spec.shape[1]))
    for r0 in range(0, spec.shape[0], step):
        band = slice(r0, r0 + step)
        v = values[band].astype("float64")
        f = np.full(v.shape, np.nan)
        if codes is None:
            f[:] = np.interp(v, FA_PGA_G, FA_TABLE_GB18306[default_site_class])
        else:
            c = codes[band]
            for code, name in enumerate([default_site_class, *FA_TABLE_GB18306]):
                sel = c == code
                f[sel] = np.interp(v[sel], FA_PGA_G, FA_TABLE_GB18306[name])
        fa[band], pga[band] = f, v * f
        zi[band] = zoning_intensity(pga[band])
        ii[band] = instrumental_intensity(pga[band])
    wrap = spec.to_dataarray
    notes["analysis"] = kind
    return SeismicHazard(
        pga_ii_g=pga_ii,
        fa=wrap(fa, name="fa", attrs={"units": "1", "source": FA_SOURCE}),
        pga_g=wrap(pga, name="pga_g", attrs={"units": "g", "source": "Fa · PGA_II (GB 18306 Eq. E.1)",
                                             "analysis": kind}),
        zoning_intensity=wrap(zi, name="zoning_intensity",
                              attrs={"units": "intensity degree", "source": ZONING_INTENSITY_BINS_GB18306["source"],
                                     "nodata": 0, "analysis": kind}),
        instrumental_intensity=wrap(ii, name="instrumental_intensity",
                                    attrs={"units": "intensity degree", "source": "GB/T 17742-2020, PGA form",
                                           "analysis": kind}),
        notes=notes,
        kind=kind,
    )


def _grid_of(model, spec):
    spec = spec or model.grid
    if spec is None:
        raise ValidationError("The model has no raster grid (e.g. `dem`); pass `spec=GridSpec.from_bounds(...)`.")
    return spec


@requires_metres("zoning_pga", "spec")
def seismic_hazard(model, *, zoning_pga=None, zoning_layer: str = "seismic_zoning", default_site_class: str = "II",
                   spec=None) -> SeismicHazard:
    """GB 18306 zoning hazard on the model grid: basic PGA → site PGA → intensities.

    The basic (class-II) PGA comes from ``zoning_pga`` (a DataArray of g on the grid) when
    given, else from the ``seismic_zoning`` layer (polygons with ``pga_g``); Fa from the
    ``site_class`` layer (class ``default_site_class`` everywhere without one, with a
    warning). Cells outside every zone are NaN in the PGA and 0 (no data) in the zoning
    intensity. This is the hazard fortification is checked against; for what a fault
    earthquake could do use :func:`seismic_scenario`.

    Raises
    ------
    ValidationError
        The model has neither a zoning layer nor ``zoning_pga`` (the fault scenario is
        never used in its place).

    Examples
    --------
    >>> hz = seismic_hazard(cimtwin.load_sample("jinan"))   # doctest: +SKIP
    >>> hz.kind, int(hz.zoning_intensity.max())            # doctest: +SKIP
    ('zoning', 7)
    """
    spec = _grid_of(model, spec if spec is not None or zoning_pga is None else _spec_of(zoning_pga))
    notes: dict[str, Any] = {}
    if zoning_pga is not None:
        from cimtwin.grid.spec import GridSpec

        spec.require_aligned(GridSpec.from_dataarray(zoning_pga), what="`zoning_pga`")
        values = np.asarray(zoning_pga.values, dtype="float32")
        if np.any(values[np.isfinite(values)] <= 0):
            raise ValidationError("`zoning_pga` has PGA ≤ 0 g; mark cells without a zone value as NaN.")
        pga_ii = spec.to_dataarray(values, name="pga_ii_g", attrs={"units": "g", "source": str(
            zoning_pga.attrs.get("source", "user zoning raster")), "site": "class II (before amplification)"})
        notes["zoning"] = "user raster"
    elif model.has_layer(zoning_layer) and len(model.layer(zoning_layer)):
        pga_ii = _zoning_from_layer(model, spec, zoning_layer)
        notes["zoning"] = f"layer {zoning_layer!r} ({len(model.layer(zoning_layer))} zones)"
        if "note" in pga_ii.attrs:
            notes["zoning_note"] = pga_ii.attrs["note"]
    else:
        raise ValidationError(
            f"The model has no {zoning_layer!r} layer: the GB 18306 zoning PGA is needed for the zoning hazard and "
            "the fortification check. Add the zone polygons with `pga_g` (`model.with_layer('seismic_zoning', gdf)`) "
            "or pass `zoning_pga=` (a raster of class-II PGA in g). The fault scenario (`seismic_scenario`) is not "
            "a zoning and is never used in its place."
        )
    missing = int((~np.isfinite(np.asarray(pga_ii.values))).sum())
    notes["cells_without_zoning"] = missing
    if missing == spec.size:
        raise NodataError("No cell of the grid lies in a seismic zone: check that the zoning covers the model.")
    if missing:
        warnings.warn(f"{missing} cells lie outside every seismic zone; they get no PGA and no intensity (NaN / 0), "
                      "never a default.", CimtwinWarning, stacklevel=3)
    return _site_adjusted(model, spec, pga_ii, default_site_class=default_site_class, kind="zoning", notes=notes)


def _spec_of(da):
    from cimtwin.grid.spec import GridSpec

    return GridSpec.from_dataarray(da)


def _zoning_from_layer(model, spec, layer: str):
    # the public function, whose name the keyword of seismic_hazard shadows there
    return zoning_pga(model.layer(layer), spec, layer=layer)


@requires_metres("spec")
def seismic_scenario(model, *, active_only: bool = True, attenuation: AttenuationFn | None = None,
                     source: str = "rupture", default_site_class: str = "II",
                     coefficients: YuCoefficients = YU2013_EASTERN_PGA, spec=None) -> SeismicHazard:
    """Fault-scenario ground motion on the model grid (Yu et al. 2013), site-adjusted.

    Each fault used is a scenario earthquake of its ``magnitude``; a cell's PGA is the
    largest over them. Only faults marked active are used (:func:`active_faults`) unless
    ``active_only=False``. This is a scenario analysis, not the zoning fortification is
    checked against (:func:`seismic_hazard`).

    Examples
    --------
    >>> sc = seismic_scenario(cimtwin.load_sample("jinan"))   # doctest: +SKIP
    >>> sc.kind, sc.notes["faults_used"]                      # doctest: +SKIP
    ('scenario', ['齐河-广饶断裂'])
    """
    spec = _grid_of(model, spec)
    if not model.has_layer("faults") or not len(model.layer("faults")):
        raise ValidationError("The model has no 'faults' layer; add fault lines with `magnitude`, `strike_deg` and "
                              "`activity` (`model.with_layer('faults', gdf)`).")
    faults = model.layer("faults")
    notes: dict[str, Any] = {"active_only": bool(active_only)}
    if active_only:
        active = active_faults(faults).to_numpy()
        notes["active_rule"] = ACTIVE_FAULT_RULE["source"]
        if not active.any():
            raise ValidationError(
                f"No fault of the {len(faults)} in layer 'faults' is marked active (activity since the Late "
                "Pleistocene, or an `active` column). Mark the active ones, or pass `active_only=False` to run the "
                "scenario on every fault."
            )
        faults = faults[active]
    names = faults["name"] if "name" in faults.columns else faults.index.to_series()
    notes["faults_used"] = [str(n) for n in names]
    pga_ii = fault_pga(faults, spec, attenuation=attenuation, source=source, coefficients=coefficients)
    return _site_adjusted(model, spec, pga_ii, default_site_class=default_site_class, kind="scenario", notes=notes)


IMPORTANT_USES = ("school", "kindergarten", "hospital", "elderly_home")


@requires_metres("buildings", "zoning_intensity_grid")
def buildings_below_fortification(buildings, zoning_intensity_grid, *, minimum_intensity: int = 7,
                                  important_uses: tuple[str, ...] = IMPORTANT_USES, important_uplift: int = 1):
    """Buildings whose ``fortification_intensity`` is below the required intensity.

    Required = max(zoning intensity at the building's centroid, ``minimum_intensity``),
    plus ``important_uplift`` for ``important_uses``. Defaults follow the Jinan 14th
    five-year earthquake plan: "不低于七度", schools, kindergartens, hospitals and elderly
    homes "按高一档" (the plan gives no number for 高一档; one degree is this default).

    Buildings outside the grid or in cells without a zoning value (intensity 0) are not
    judged: they are neither returned nor passed; ``attrs["unknown"]`` holds their index and
    ``attrs["outside_grid"]`` / ``attrs["no_zoning"]`` their counts.

    Returns
    -------
    GeoDataFrame
        The deficient buildings with ``zoning_intensity``, ``required_intensity`` and
        ``deficit`` (degrees) columns, sorted by deficit.

    Examples
    --------
    >>> weak = buildings_below_fortification(model.layer("buildings"), seismic_hazard(model).zoning_intensity)  # doctest: +SKIP
    """
    from cimtwin.grid.spec import GridSpec

    for col in ("fortification_intensity", "use"):
        if col not in buildings.columns:
            raise SchemaError(f"Layer 'buildings' lacks the `{col}` column needed by the fortification check.")
    spec = GridSpec.from_dataarray(zoning_intensity_grid)
    cent = buildings.geometry.centroid
    r, c = spec.rowcol(cent.x.to_numpy(), cent.y.to_numpy())
    inside = spec.contains_rowcol(r, c)
    zi = np.zeros(len(buildings), dtype="int16")
    vals = np.asarray(zoning_intensity_grid.values)
    zi[inside] = vals[r[inside], c[inside]]
    required = np.maximum(zi, int(minimum_intensity)) + np.where(
        buildings["use"].astype(str).isin(important_uses), int(important_uplift), 0)
    out = buildings.assign(zoning_intensity=zi, required_intensity=required.astype("int16"))
    out["deficit"] = out["required_intensity"] - out["fortification_intensity"].astype("int16")
    known = inside & (zi > 0)
    unknown_index = list(buildings.index[~known])
    out = out[(out["deficit"] > 0) & known].sort_values("deficit", ascending=False)
    out.attrs["outside_grid"] = int((~inside).sum())
    out.attrs["no_zoning"] = int((inside & (zi == 0)).sum())
    out.attrs["unknown"] = unknown_index
    return out
