"""Storm rainfall on the model grid: from gauge observations (IDW) or a design storm.

Design storm: the Chinese storm-intensity formula of GB 50014,
``q = 167·A1·(1 + C·lg P) / (t + b)^n`` in L/(s·ha), i.e. ``i = A1(1 + C·lg P)/(t + b)^n``
in mm/min, and the storm depth ``i·t`` in mm. A city's parameters (A1, C, b, n) come from
its water authority: they are inputs, never built-in constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cimtwin._validate import format_ids, require_positive, requires_metres
from cimtwin.errors import LayerNotFoundError, SchemaError, ValidationError

__all__ = ["DesignStorm", "design_storm_intensity", "gauge_totals", "rainfall_from_gauges", "rainfall_grid"]


@dataclass(frozen=True)
class DesignStorm:
    """Parameters of ``i = A1(1 + C·lg P)/(t + b)^n`` (mm/min) and the storm to evaluate.

    Attributes
    ----------
    A1, C, b, n
        City parameters (A1 in mm/min, b in min).
    P_years
        Return period in years.
    duration_min
        Storm duration t in minutes.

    Examples
    --------
    >>> storm = DesignStorm(A1=10.0, C=0.8, b=10.0, n=0.7, P_years=50, duration_min=120)
    >>> round(storm.depth_mm, 1)
    93.8
    """

    A1: float
    C: float
    b: float
    n: float
    P_years: float
    duration_min: float
    source: str = "user-supplied storm-intensity formula (GB 50014 form)"

    def __post_init__(self) -> None:
        require_positive(self.A1, arg="A1")
        require_positive(self.b, arg="b", allow_zero=True)
        require_positive(self.n, arg="n")
        require_positive(self.P_years, arg="P_years")
        require_positive(self.duration_min, arg="duration_min")
        if not math.isfinite(float(self.C)):
            raise ValidationError(f"`C` must be a finite number; got {self.C!r}.")

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> DesignStorm:
        """Build from a dict such as ``model.metadata["design_storm"]``."""
        need = ("A1", "C", "b", "n", "P_years", "duration_min")
        missing = [k for k in need if k not in params]
        if missing:
            raise ValidationError(f"Design-storm parameters lack {missing}; give all of {list(need)} "
                                  "(A1 in mm/min, b in min, P in years, duration in min).")
        extra = {k: params[k] for k in ("source",) if k in params}
        return cls(**{k: float(params[k]) for k in need}, **extra)

    @property
    def intensity_mm_min(self) -> float:
        """Mean intensity over the duration, mm/min."""
        return self.A1 * (1 + self.C * math.log10(self.P_years)) / (self.duration_min + self.b) ** self.n

    @property
    def q_l_s_ha(self) -> float:
        """Intensity in L/(s·ha) (= 167 × mm/min)."""
        return 167.0 * self.intensity_mm_min

    @property
    def depth_mm(self) -> float:
        """Storm depth over the duration, mm."""
        return self.intensity_mm_min * self.duration_min


def design_storm_intensity(*, A1: float, C: float, b: float, n: float, P_years: float, duration_min: float) -> float:
    """Storm intensity q in L/(s·ha) by ``q = 167·A1(1 + C·lg P)/(t + b)^n``."""
    return DesignStorm(A1, C, b, n, P_years, duration_min).q_l_s_ha


def gauge_totals(gauges, observations, *, start=None, end=None):
    """Total ``rain_mm`` per gauge over [start, end], joined to the gauge points.

    Gauges without observations in the window are dropped (and counted in
    ``attrs["gauges_without_data"]``); observation ids with no gauge point are an error.
    """
    import pandas as pd

    for col in ("gauge_id", "time", "rain_mm"):
        if col not in observations.columns:
            raise SchemaError(f"Table 'gauge_observations' lacks column {col!r} (needs gauge_id, time, rain_mm).")
    if "gauge_id" not in gauges.columns or gauges["gauge_id"].isna().all():
        raise SchemaError("Layer 'rain_gauges' needs a `gauge_id` column matching the observations.")
    obs = observations.copy()
    obs["time"] = pd.to_datetime(obs["time"])
    if start is not None:
        obs = obs[obs["time"] >= pd.Timestamp(start)]
    if end is not None:
        obs = obs[obs["time"] <= pd.Timestamp(end)]
    if obs.empty:
        raise ValidationError(f"No gauge observations between {start} and {end}; widen the window.")
    bad = obs["rain_mm"].isna() | (obs["rain_mm"] < 0)
    if bad.any():
        raise ValidationError(f"gauge_observations has missing or negative rain_mm in rows {format_ids(obs.index[bad])}.")
    totals = obs.groupby(obs["gauge_id"].astype(str))["rain_mm"].sum()
    ids = gauges["gauge_id"].astype(str)
    orphans = sorted(set(totals.index) - set(ids))
    if orphans:
        raise ValidationError(f"Observations name gauge ids {format_ids(orphans)} that are not in layer 'rain_gauges'.")
    out = gauges.assign(rain_mm=ids.map(totals))
    n_missing = int(out["rain_mm"].isna().sum())
    out = out[out["rain_mm"].notna()].copy()
    out.attrs["gauges_without_data"] = n_missing
    return out


@requires_metres("spec")
def rainfall_from_gauges(model, *, start=None, end=None, power: float = 2.0, spec=None):
    """Storm rainfall (mm) on the model grid by IDW of gauge totals.

    Examples
    --------
    >>> rain = rainfall_from_gauges(model, power=2)   # doctest: +SKIP
    """
    spec = spec or model.grid
    if spec is None:
        raise ValidationError("The model has no raster grid; rainfall needs one (add a `dem`).")
    if not model.has_layer("rain_gauges") or len(model.layer("rain_gauges")) == 0:
        raise LayerNotFoundError("Gauge rainfall needs a non-empty 'rain_gauges' layer.")
    if "gauge_observations" not in model.table_names:
        raise LayerNotFoundError("Gauge rainfall needs the 'gauge_observations' table (gauge_id, time, rain_mm).")
    pts = gauge_totals(model.layer("rain_gauges"), model.table("gauge_observations"), start=start, end=end)
    if len(pts) == 0:
        raise ValidationError("No rain gauge has observations in the window; nothing to interpolate.")
    from cimtwin.grid import idw

    rain = idw(spec, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy(), pts["rain_mm"].to_numpy(dtype="float64"),
               power=power)
    rain = rain if hasattr(rain, "dims") else spec.to_dataarray(np.asarray(rain, dtype="float32"))
    rain.name = "rain_mm"
    rain.attrs.update({"units": "mm", "source": f"IDW (power {power}) of {len(pts)} gauge totals",
                       "gauges_without_data": pts.attrs.get("gauges_without_data", 0)})
    return rain


@requires_metres("spec")
def rainfall_grid(model, *, source: str = "auto", storm: DesignStorm | Mapping[str, Any] | None = None,
                  start=None, end=None, power: float = 2.0, spec=None):
    """Storm rainfall depth (mm) on the model grid.

    Parameters
    ----------
    source
        ``"gauges"`` (IDW of observation totals), ``"design_storm"`` (uniform depth of the
        storm formula) or ``"auto"``: the storm when one is given or in
        ``model.metadata["design_storm"]``, else the gauges.
    storm
        A :class:`DesignStorm` or a dict of its parameters; overrides the metadata.

    Raises
    ------
    ValidationError
        When neither gauges with observations nor storm parameters are available.
    """
    from cimtwin._validate import one_of

    one_of(source, ("auto", "gauges", "design_storm"), arg="source")
    spec = spec or model.grid
    if spec is None:
        raise ValidationError("The model has no raster grid; rainfall needs one (add a `dem`).")
    params = storm if storm is not None else model.metadata.get("design_storm")
    has_gauges = (model.has_layer("rain_gauges") and "gauge_observations" in model.table_names
                  and len(model.layer("rain_gauges")) > 0)
    if source == "auto":
        source = "design_storm" if params else "gauges" if has_gauges else ""
    if not source:
        raise ValidationError(
            "No rainfall input: the model has neither rain gauges with a 'gauge_observations' table nor "
            "design-storm parameters. Pass `storm=DesignStorm(A1=..., C=..., b=..., n=..., P_years=..., "
            "duration_min=...)` (your city's storm-intensity formula) or add gauges and observations."
        )
    if source == "gauges":
        return rainfall_from_gauges(model, start=start, end=end, power=power, spec=spec)
    if not params:
        raise ValidationError("`source='design_storm'` needs `storm=` or model.metadata['design_storm'] "
                              "with A1, C, b, n, P_years, duration_min.")
    ds = params if isinstance(params, DesignStorm) else DesignStorm.from_mapping(params)
    depth = np.full(spec.shape, ds.depth_mm, dtype="float32")
    return spec.to_dataarray(depth, name="rain_mm", attrs={
        "units": "mm", "source": f"design storm: {ds.source}", "design_storm": str(asdict(ds)),
        "intensity_l_s_ha": ds.q_l_s_ha})
