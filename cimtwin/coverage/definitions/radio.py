"""``rsrp`` (5G: best-server RSRP per RE ≥ ``threshold_dbm``) and ``mcl`` (NB-IoT: coupling loss ≤
``mcl_db``), on a raster of ``res_m`` with 3GPP TR 38.901 path loss (see ``coverage/radio.py``)."""

from __future__ import annotations

import numpy as np

from cimtwin._validate import one_of, require_positive
from cimtwin.coverage.accounting import (Cover, CoverageInputs, Outcome, analysis_grid, footprint_outcome,
                                         sensor_result)
from cimtwin.errors import ValidationError

__all__ = ["rsrp", "mcl"]


def rsrp(inp: CoverageInputs, *, threshold_dbm: float = -105.0, penetration_db: float | None = None,
         scenario: str | None = None, los: str = "nlos", res_m: float | None = None) -> Outcome:
    """Covered where the best server's 5G RSRP per resource element ≥ ``threshold_dbm``.

    Parameters
    ----------
    threshold_dbm : float
        Default −105 dBm (Chinese operators' SS-RSRP coverage threshold).
    penetration_db : float or None
        Subtracted from the RSRP (default 0 dB).
    scenario : {"uma", "umi"} or None
        TR 38.901 scenario; None: UMi below 15 m antenna height, else UMa.
    los : {"nlos", "viewshed"}
        NLOS everywhere (conservative) or LOS where the DEM viewshed sees the cell.
    res_m : float or None
        Raster resolution; default the model grid's, else 25 m.

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="sites_5g", targets="districts", definition="rsrp")  # doctest: +SKIP
    """
    if not -160.0 <= float(threshold_dbm) <= -30.0:
        raise ValidationError(f"`threshold_dbm` must be an RSRP in [-160, -30] dBm; got {threshold_dbm!r}.")
    inp.params["threshold_dbm"] = float(threshold_dbm)
    field, spec = _field(inp, "rsrp", penetration_db=0.0 if penetration_db is None else penetration_db,
                         scenario=scenario, los=los, res_m=res_m)
    mask = field >= threshold_dbm  # NaN (out of every site's reach) compares False: not covered
    grid = spec.to_dataarray(field, name="rsrp_dbm", attrs={"units": "dBm", "cimtwin_op": "coverage_ratio/rsrp"})
    return footprint_outcome(inp, Cover(mask=mask, spec=spec, grid=grid), "rsrp")


def mcl(inp: CoverageInputs, *, mcl_db: float = 164.0, penetration_db: float | None = None,
        scenario: str | None = None, los: str = "nlos", res_m: float | None = None) -> Outcome:
    """Covered where NB-IoT coupling loss (path loss + pattern + ``penetration_db``) ≤ ``mcl_db``.

    Parameters
    ----------
    mcl_db : float
        The maximum coupling loss, default 164 dB (3GPP TR 45.820).
    penetration_db : float or None
        Deep-coverage margin; default by target kind: 30 dB pipes, 20 dB buildings, 0 dB outdoors.
    scenario, los, res_m
        As for ``rsrp``.

    Examples
    --------
    >>> from cimtwin.coverage import coverage_ratio
    >>> coverage_ratio(model, sensors="sites_nbiot", targets="pipes", definition="mcl")  # doctest: +SKIP
    """
    from cimtwin.coverage.radio import PENETRATION_DB

    if not 100.0 <= float(mcl_db) <= 200.0:
        raise ValidationError(f"`mcl_db` must be a coupling loss in [100, 200] dB; got {mcl_db!r}.")
    inp.params["mcl_db"] = float(mcl_db)
    if penetration_db is None:
        where = {"pipes": "underground", "buildings": "indoor"}.get(inp.target_kind or "", "outdoor")
        penetration_db = PENETRATION_DB[where]
        if penetration_db:
            inp.notes.append(f"penetration_db = {penetration_db:g} dB for {where} targets (deep-coverage margin).")
    field, spec = _field(inp, "mcl", penetration_db=penetration_db, scenario=scenario, los=los, res_m=res_m)
    mask = field <= mcl_db  # NaN (out of every site's reach) compares False: not covered
    grid = spec.to_dataarray(field, name="coupling_loss_db", attrs={"units": "dB", "cimtwin_op": "coverage_ratio/mcl"})
    return footprint_outcome(inp, Cover(mask=mask, spec=spec, grid=grid), "mcl")


def _field(inp: CoverageInputs, quantity: str, *, penetration_db, scenario, los, res_m):
    """The best-server field (RSRP or coupling loss) over the analysis grid."""
    from cimtwin.coverage.radio import best_server

    if not 0.0 <= float(penetration_db) <= 100.0:
        raise ValidationError(f"`penetration_db` must be in [0, 100] dB; got {penetration_db!r}.")
    one_of(los, ("nlos", "viewshed"), arg="los")
    if scenario is not None:
        one_of(scenario, ("uma", "umi"), arg="scenario")
    if res_m is not None:
        res_m = require_positive(res_m, arg="res_m")
    spec = analysis_grid(inp.model, inp.targets, pad_m=0.0, res_m=res_m, default_res_m=25.0, prefer_model_grid=True)
    inp.params.update(res_m=spec.res_m, penetration_db=float(penetration_db), scenario=scenario or "auto (UMi < 15 m)",
                      los=los)
    if len(inp.sensors) == 0:
        inp.notes.append(f"sensor layer {inp.sensor_name!r} is empty: nothing is covered.")
        return np.full(spec.shape, np.nan, dtype="float32"), spec
    los_fn = None
    if los == "viewshed":
        from cimtwin.coverage._occlusion import radio_los

        los_fn = radio_los(inp.model, inp.sensors, spec)
    from cimtwin.coverage.radio import with_penetration

    def build():
        return best_server(inp.sensors, spec, quantity=quantity, scenario=scenario, los_mask=los_fn).value

    # one field per sensor layer, grid and model serves every target measured against it
    # (the penetration loss is a constant offset, taken off afterwards)
    field, _ = sensor_result(inp, ("best_server", quantity, scenario, los, spec), build)
    return with_penetration(field, quantity=quantity, penetration_db=float(penetration_db)), spec
