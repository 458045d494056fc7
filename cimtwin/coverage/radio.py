"""Radio coverage of 5G NR and NB-IoT sites: TR 38.901 path loss, antenna pattern, link budget.

Every number is a named default with its source in :data:`RADIO_DEFAULTS`; the functions take
each of them as a keyword so a planner can change it.

Formulas
--------
- Path loss: 3GPP TR 38.901 Table 7.4.1-1, UMa and UMi street canyon, LOS and NLOS (NLOS is
  ``max(PL_LOS, PL'_NLOS)``), with the breakpoint distance ``d'_BP = 4 h'_BS h'_UT f_c / c`` and
  effective heights ``h' = h - 1 m`` (``h_UT`` < 13 m, so ``h_E = 1 m`` in UMa too).
- Antenna: TR 38.901 Table 7.3-1 horizontal element pattern relative to boresight,
  ``A(φ) = -min(12 (φ / φ_3dB)², A_m)`` with ``φ_3dB`` = the site's ``beamwidth_deg`` (65°) and
  front-to-back ratio ``A_m`` = 30 dB; ``eirp_dbm`` is taken at boresight.
- Site antenna gain ``G_site`` (``antenna_gain_dbi``, dBi at boresight): a column of the site
  layer, else the default of the site kind in :data:`ANTENNA_GAIN_DBI` (NB-IoT 17 dBi, NR
  24 dBi). The UE antenna has ``ue_antenna_gain_dbi`` = 0 dBi.
- RSRP per resource element: ``EIRP - 10 log10(12 N_RB) - PL - A(φ) - penetration``, with N_RB
  from the channel bandwidth at 30 kHz subcarrier spacing (TS 38.101-1 Table 5.3.2-1; 273 RB
  at 100 MHz). ``EIRP = P_tx + G_site``: the ``eirp_dbm`` column already holds the gain; a
  layer with ``tx_power_dbm`` instead gets ``tx_power_dbm + antenna_gain_dbi``.
- NB-IoT: coupling loss, the loss between the antenna connectors of site and UE including the
  antenna gains (3GPP TR 45.820), ``CL = PL + A(φ) + penetration - G_site - G_UE``, against the
  maximum coupling loss of 164 dB (TR 45.820 target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimtwin._validate import format_ids, one_of, require_positive, requires_metres
from cimtwin.errors import SchemaError, ValidationError
from cimtwin.kernels import radio as rk
from cimtwin.model.schema import SITE_ANTENNA_GAIN_DBI

__all__ = [
    "RADIO_DEFAULTS",
    "ANTENNA_GAIN_DBI",
    "PENETRATION_DB",
    "coupling_loss_db",
    "path_loss_38901",
    "los_probability_38901",
    "element_attenuation_db",
    "resource_blocks",
    "rsrp_per_re_dbm",
    "best_server",
    "BestServer",
]

# Named defaults with the source of each.
RADIO_DEFAULTS = {
    "ue_height_m": (1.5, "TR 38.901 Table 7.4.1-1 (h_UT = 1.5 m, pedestrian UE)"),
    "rsrp_threshold_dbm": (-105.0, "Chinese operators' 5G coverage rate (SS-RSRP >= -105 dBm), secondary sources"),
    "mcl_db": (164.0, "3GPP TR 45.820 NB-IoT maximum coupling loss target (144 dB GPRS + 20 dB)"),
    "front_to_back_db": (30.0, "TR 38.901 Table 7.3-1 (A_max = 30 dB)"),
    "beamwidth_deg": (65.0, "TR 38.901 Table 7.3-1 (phi_3dB = 65 deg)"),
    "subcarrier_khz": (30.0, "NR FR1 30 kHz subcarrier spacing"),
    "ue_antenna_gain_dbi": (0.0, "TR 45.820 / TR 36.888 link budgets: 0 dBi UE antenna"),
    "antenna_gain_dbi_nbiot": (SITE_ANTENNA_GAIN_DBI["sites_nbiot"], "typical 65 deg sector panel at 800-900 MHz, 15-18 dBi (vendor datasheets) "
                                     "[secondary]"),
    "antenna_gain_dbi_nr": (SITE_ANTENNA_GAIN_DBI["sites_5g"], "typical 3.5 GHz 64T64R active antenna array, 24-25 dBi (vendor datasheets) "
                                  "[secondary]"),
}

#: Site antenna gain (dBi) by site kind, used when a site has no ``antenna_gain_dbi``; a site
#: whose channel is at most 0.2 MHz wide is NB-IoT, any other NR.
ANTENNA_GAIN_DBI = {"nbiot": RADIO_DEFAULTS["antenna_gain_dbi_nbiot"][0], "nr": RADIO_DEFAULTS["antenna_gain_dbi_nr"][0]}
_NBIOT_MAX_BANDWIDTH_MHZ = 0.2

# Penetration / deep-coverage margins by where the receiver is. No standard value exists for
# underground points; these are training-material figures [secondary], meant to be overridden.
PENETRATION_DB = {
    "outdoor": 0.0,
    "indoor": 20.0,       # one concrete wall
    "underground": 30.0,  # reinforced-concrete vault / manhole cover
}

# TS 38.101-1 Table 5.3.2-1, maximum transmission bandwidth N_RB at 30 kHz SCS.
_NRB_30KHZ = {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133, 60: 162,
              70: 189, 80: 217, 90: 245, 100: 273}
# ... and at 15 kHz (used for LTE-like and NB-IoT anchor carriers).
_NRB_15KHZ = {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 40: 216, 50: 270}


def resource_blocks(bandwidth_mhz, *, subcarrier_khz: float = 30.0) -> np.ndarray:
    """Number of resource blocks N_RB for a channel bandwidth (TS 38.101-1 Table 5.3.2-1).

    Bandwidths between table entries use the next smaller entry; a bandwidth below the
    smallest NR channel (e.g. NB-IoT's 0.2 MHz) is one resource block.

    Examples
    --------
    >>> int(resource_blocks(100.0))
    273
    >>> int(resource_blocks(0.2))   # NB-IoT: one 180 kHz block
    1
    """
    one_of(float(subcarrier_khz), (15.0, 30.0), arg="subcarrier_khz")
    table = _NRB_30KHZ if subcarrier_khz == 30.0 else _NRB_15KHZ
    keys = np.array(sorted(table), dtype="float64")
    vals = np.array([table[int(k)] for k in keys], dtype="int64")
    bw = np.atleast_1d(np.asarray(bandwidth_mhz, dtype="float64"))
    if np.any(~np.isfinite(bw)) or np.any(bw <= 0):
        raise ValidationError(f"`bandwidth_mhz` must be positive; got {bw[(~np.isfinite(bw)) | (bw <= 0)][:5]}.")
    idx = np.searchsorted(keys, bw + 1e-9, side="right") - 1
    out = np.where(idx >= 0, vals[np.clip(idx, 0, None)], 1)
    return out if np.ndim(bandwidth_mhz) else out.reshape(())


def path_loss_38901(d2d_m, *, frequency_ghz, h_bs_m, h_ut_m: float = 1.5, scenario: str = "uma",
                    los=False) -> np.ndarray:
    """TR 38.901 UMa / UMi street-canyon path loss in dB (no shadow fading).

    Parameters
    ----------
    d2d_m : array_like
        Horizontal distance from the site, metres; clipped below at 10 m (the model's range).
    frequency_ghz : float or array_like
        Carrier frequency in GHz.
    h_bs_m, h_ut_m : float or array_like
        Antenna heights of the site and the user terminal, metres.
    scenario : {"uma", "umi"}
    los : bool or array_like of bool
        Line of sight; False (NLOS) is the conservative default.

    Examples
    --------
    >>> round(float(path_loss_38901(300.0, frequency_ghz=3.5, h_bs_m=25.0)), 2)   # UMa NLOS
    121.28
    >>> round(float(path_loss_38901(100.0, frequency_ghz=3.5, h_bs_m=10.0, scenario="umi", los=True)), 2)
    85.31
    """
    one_of(scenario, ("uma", "umi"), arg="scenario")
    d2d = np.maximum(np.asarray(d2d_m, dtype="float64"), 10.0)
    fc = np.asarray(frequency_ghz, dtype="float64")
    hbs = np.asarray(h_bs_m, dtype="float64")
    hut = np.asarray(h_ut_m, dtype="float64")
    if np.any(fc <= 0):
        raise ValidationError("`frequency_ghz` must be > 0.")
    if np.any(hbs <= 1.0) or np.any(hut <= 1.0):
        raise ValidationError("`h_bs_m` and `h_ut_m` must be > 1 m (TR 38.901 effective height h - 1 m).")
    d2d, fc, hbs, hut, los = np.broadcast_arrays(d2d, fc, hbs, hut, np.asarray(los, dtype=bool))
    out = rk.path_loss(*(np.ascontiguousarray(a, dtype="float64").ravel() for a in (d2d, fc, hbs, hut)),
                       scenario == "uma", np.ascontiguousarray(los).ravel())
    return out.reshape(d2d.shape) if d2d.ndim else out[0]


def los_probability_38901(d2d_m, *, h_ut_m: float = 1.5, scenario: str = "uma") -> np.ndarray:
    """TR 38.901 Table 7.4.2-1 LOS probability (UMa, UMi street canyon).

    Examples
    --------
    >>> float(los_probability_38901(10.0))
    1.0
    """
    one_of(scenario, ("uma", "umi"), arg="scenario")
    d = np.maximum(np.asarray(d2d_m, dtype="float64"), 1e-9)
    scale = 63.0 if scenario == "uma" else 36.0
    p = 18.0 / d + np.exp(-d / scale) * (1.0 - 18.0 / d)
    if scenario == "uma" and h_ut_m > 13.0:
        c = ((min(h_ut_m, 23.0) - 13.0) / 10.0) ** 1.5
        p = p * (1.0 + c * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    return np.where(d <= 18.0, 1.0, np.minimum(p, 1.0))


def element_attenuation_db(offset_deg, *, beamwidth_deg: float = 65.0, front_to_back_db: float = 30.0):
    """Horizontal attenuation of a sector antenna (dB, ≥ 0) at ``offset_deg`` from boresight.

    ``min(12 (φ/φ_3dB)², A_m)`` (TR 38.901 Table 7.3-1, horizontal cut). NaN offsets (an
    omnidirectional site) give 0 dB.

    Examples
    --------
    >>> float(element_attenuation_db(32.5))   # half the 3 dB beamwidth
    3.0
    >>> float(element_attenuation_db(180.0))
    30.0
    """
    phi, bw, ftb = np.broadcast_arrays(*(np.asarray(a, dtype="float64") for a in
                                         (offset_deg, beamwidth_deg, front_to_back_db)))
    out = rk.attenuation(*(np.ascontiguousarray(a).ravel() for a in (phi, bw, ftb)))
    return out.reshape(phi.shape) if phi.ndim else out[0]


def rsrp_per_re_dbm(*, eirp_dbm, bandwidth_mhz, path_loss_db, attenuation_db=0.0, penetration_db=0.0,
                    subcarrier_khz: float = 30.0):
    """RSRP per resource element: ``EIRP - 10 log10(12 N_RB) - PL - A - penetration`` (dBm).

    Examples
    --------
    A 3.5 GHz UMa site (EIRP 60 dBm over 100 MHz, 25 m) seen at 300 m, NLOS, on boresight:

    >>> pl = path_loss_38901(300.0, frequency_ghz=3.5, h_bs_m=25.0)
    >>> round(float(rsrp_per_re_dbm(eirp_dbm=60.0, bandwidth_mhz=100.0, path_loss_db=pl)), 2)
    -96.43
    """
    n_rb = resource_blocks(bandwidth_mhz, subcarrier_khz=subcarrier_khz)
    per_re = np.asarray(eirp_dbm, dtype="float64") - 10.0 * np.log10(12.0 * n_rb)
    return per_re - np.asarray(path_loss_db) - np.asarray(attenuation_db) - np.asarray(penetration_db)


def coupling_loss_db(*, path_loss_db, antenna_gain_dbi, attenuation_db=0.0, penetration_db=0.0,
                     ue_antenna_gain_dbi: float = 0.0):
    """Coupling loss (dB): ``PL + A + penetration - G_site - G_UE`` (3GPP TR 45.820).

    The loss between the antenna connectors of site and UE, antenna gains included, which
    the NB-IoT maximum coupling loss (164 dB) is stated against.

    Examples
    --------
    A 17 dBi NB-IoT sector, 150 dB of path loss on boresight, 20 dB indoor margin:

    >>> float(coupling_loss_db(path_loss_db=150.0, antenna_gain_dbi=17.0, penetration_db=20.0))
    153.0
    """
    return (np.asarray(path_loss_db, dtype="float64") + np.asarray(attenuation_db) + np.asarray(penetration_db)
            - np.asarray(antenna_gain_dbi, dtype="float64") - float(ue_antenna_gain_dbi))


@dataclass(frozen=True)
class BestServer:
    """Best-server field on a grid: the strongest site's RSRP (or lowest coupling loss) per cell."""

    value: np.ndarray      # float32 (rows, cols): RSRP dBm (rsrp) or coupling loss dB (mcl); NaN out of reach
    server: np.ndarray     # int32 (rows, cols): index of the best site, -1 where none reaches
    quantity: str          # "rsrp_dbm" or "coupling_loss_db"
    notes: tuple[str, ...] = ()


def _sites_arrays(sites, *, quantity: str, layer: str = "sites"):
    x = sites.geometry.x.to_numpy(dtype="float64")
    y = sites.geometry.y.to_numpy(dtype="float64")
    col = sites.columns
    n = len(sites)
    ids = sites.index.to_numpy()

    def get(name, default):
        if name in col:
            v = sites[name].to_numpy(dtype="float64")
            return np.where(np.isnan(v), default, v) if default is not None else v
        if default is None:
            raise SchemaError(f"Layer {layer!r} lacks column {name!r}.")
        return np.full(n, float(default))

    def optional(name):
        return sites[name].to_numpy(dtype="float64") if name in col else np.full(n, np.nan)

    bandwidth = get("bandwidth_mhz", None)
    kind_gain = np.where(bandwidth <= _NBIOT_MAX_BANDWIDTH_MHZ, ANTENNA_GAIN_DBI["nbiot"], ANTENNA_GAIN_DBI["nr"])
    gain = optional("antenna_gain_dbi")
    defaulted = ~np.isfinite(gain)
    gain = np.where(defaulted, kind_gain, gain)
    eirp = optional("eirp_dbm")
    tx = optional("tx_power_dbm")
    eirp = np.where(np.isfinite(eirp), eirp, tx + gain)
    if quantity == "rsrp" and not np.isfinite(eirp).all():
        bad = ~np.isfinite(eirp)
        raise SchemaError(f"Layer {layer!r}: sites {format_ids(ids[bad])} have neither eirp_dbm nor tx_power_dbm, "
                          "so their RSRP is unknown. Give EIRP (antenna gain included) or the transmit power "
                          "(plus antenna_gain_dbi).")
    return {
        "x": x, "y": y,
        "height_m": get("height_m", None),
        "frequency_mhz": get("frequency_mhz", None),
        "eirp_dbm": eirp,
        "antenna_gain_dbi": gain,
        "gain_defaulted": int(defaulted.sum()),
        "bandwidth_mhz": bandwidth,
        "azimuth_deg": optional("azimuth_deg"),
        "beamwidth_deg": get("beamwidth_deg", 65.0),
    }


@requires_metres("sites", "spec", what="radio path loss over distances in metres")
def best_server(sites, spec, *, quantity: str = "rsrp", scenario: str | None = None, ue_height_m: float = 1.5,
                penetration_db: float = 0.0, max_distance_m: float | None = None, los_mask=None,
                front_to_back_db: float = 30.0, subcarrier_khz: float = 30.0,
                ue_antenna_gain_dbi: float = 0.0) -> BestServer:
    """Best-server RSRP (``quantity="rsrp"``) or coupling loss (``"mcl"``) on the cells of ``spec``.

    Each site is evaluated in a window of ``max_distance_m`` (default: 5 km for UMa sites,
    2 km for UMi) around it; cells beyond every site's window are NaN (out of reach).

    Parameters
    ----------
    sites : GeoDataFrame
        Points with ``height_m``, ``frequency_mhz``, ``bandwidth_mhz``, ``eirp_dbm`` (or
        ``tx_power_dbm``) and optionally ``antenna_gain_dbi`` (else :data:`ANTENNA_GAIN_DBI`
        of the site kind), ``azimuth_deg`` (NaN = omni) and ``beamwidth_deg``.
    spec : GridSpec
        Projected grid (cell centres are the receiver positions).
    scenario : {"uma", "umi"} or None
        None: UMi for sites lower than 15 m, UMa otherwise.
    los_mask : callable or None
        ``los_mask(i_site, rows, cols) -> bool array`` for the window; None = NLOS everywhere.
    ue_antenna_gain_dbi : float
        UE antenna gain in the coupling loss (0 dBi, TR 45.820).

    Returns
    -------
    BestServer
        ``notes`` says how many sites took the default antenna gain.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from cimtwin.grid import GridSpec
    >>> site = gpd.GeoDataFrame({"height_m": [30.0], "frequency_mhz": [800.0], "bandwidth_mhz": [0.18]},
    ...     geometry=[shapely.Point(500, 500)], crs="EPSG:4527")
    >>> spec = GridSpec.from_bounds((0, 0, 1000, 1000), res_m=100, crs="EPSG:4527")
    >>> bs = best_server(site, spec, quantity="mcl")   # NB-IoT: 17 dBi by default
    >>> bs.quantity, bs.notes
    ('coupling_loss_db', ('antenna_gain_dbi 17 dBi (NB-IoT default) for 1 site(s) without the column',))
    """
    one_of(quantity, ("rsrp", "mcl"), arg="quantity")
    if scenario is not None:
        one_of(scenario, ("uma", "umi"), arg="scenario")
    require_positive(ue_height_m, arg="ue_height_m")
    s = _sites_arrays(sites, quantity=quantity)
    notes = []
    if s["gain_defaulted"]:
        kinds = sorted({"NB-IoT" if b <= _NBIOT_MAX_BANDWIDTH_MHZ else "NR" for b in s["bandwidth_mhz"]})
        gains = "/".join(f"{ANTENNA_GAIN_DBI['nbiot' if k == 'NB-IoT' else 'nr']:g}" for k in kinds)
        notes.append(f"antenna_gain_dbi {gains} dBi ({'/'.join(kinds)} default) for {s['gain_defaulted']} "
                     "site(s) without the column")
    value, server = _best_server_field(s, spec, quantity=quantity, scenario=scenario, ue_height_m=ue_height_m,
                                       max_distance_m=max_distance_m, los_mask=los_mask,
                                       front_to_back_db=front_to_back_db, subcarrier_khz=subcarrier_khz,
                                       ue_antenna_gain_dbi=ue_antenna_gain_dbi)
    # the penetration loss is the same for every site, so it never changes the server: added
    # once here, it lets one field serve every penetration (coverage_ratio's mcl targets).
    # with none, the field itself rather than a copy (a city's 10^8-cell field is 0.4 GB)
    if float(penetration_db) != 0.0:
        value = with_penetration(value, quantity=quantity, penetration_db=penetration_db)
    return BestServer(value, server, "rsrp_dbm" if quantity == "rsrp" else "coupling_loss_db", tuple(notes))


def with_penetration(value, *, quantity: str, penetration_db: float) -> np.ndarray:
    """A new best-server field: ``value`` (without penetration loss) with ``penetration_db`` taken off.

    Examples
    --------
    >>> with_penetration(np.array([150.0], "float32"), quantity="mcl", penetration_db=20.0)
    array([170.], dtype=float32)
    """
    sign = -1.0 if quantity == "rsrp" else 1.0
    out = value + np.float32(sign * penetration_db)  # a new array, never ``value``
    # a float32 field is summed straight into float32 (no second copy of a city's grid)
    return out if out.dtype == np.float32 else out.astype("float32")


def _best_server_field(s, spec, *, quantity, scenario, ue_height_m, max_distance_m, los_mask, front_to_back_db,
                       subcarrier_khz, ue_antenna_gain_dbi):
    """(value, server) without penetration loss: block by block without a line-of-sight mask, else
    each site offered to the cells of its window (the mask is a callable per site)."""
    rows, cols = spec.shape
    res = spec.res_m
    rsrp = quantity == "rsrp"
    value = np.full((rows, cols), -np.inf if rsrp else np.inf, dtype="float32")
    server = np.full((rows, cols), -1, dtype="int32")
    gx, gy = np.asarray(spec.x, dtype="float64"), np.asarray(spec.y, dtype="float64")
    if rsrp:
        offset = rsrp_per_re_dbm(eirp_dbm=s["eirp_dbm"], bandwidth_mhz=s["bandwidth_mhz"], path_loss_db=0.0,
                                 subcarrier_khz=subcarrier_khz)
    else:
        offset = -(s["antenna_gain_dbi"] + float(ue_antenna_gain_dbi))
    # each site's scenario, reach and window of cells, once for either path
    x, y = np.asarray(s["x"], dtype="float64"), np.asarray(s["y"], dtype="float64")
    h = np.asarray(s["height_m"], dtype="float64")
    uma = np.full(h.shape, scenario == "uma") if scenario else ~(h < 15.0)
    reach = np.full(h.shape, float(max_distance_m)) if max_distance_m is not None else np.where(uma, 5000.0, 2000.0)
    freq_ghz = np.asarray(s["frequency_mhz"], dtype="float64") / 1000.0
    azimuth = np.asarray(s["azimuth_deg"], dtype="float64")
    beamwidth = np.asarray(s["beamwidth_deg"], dtype="float64")
    offset = np.asarray(offset, dtype="float64")
    r0, c0 = spec.rowcol(x, y)
    n = np.ceil(reach / res).astype(np.int64)
    ra, rb = np.maximum(0, r0 - n), np.minimum(rows, r0 + n + 1)
    ca, cb = np.maximum(0, c0 - n), np.minimum(cols, c0 + n + 1)
    if los_mask is None:  # NLOS everywhere: the whole field block by block, in parallel
        rk.best_server_blocks(value, server, ra, rb, ca, cb, gx, gy, x, y, reach, freq_ghz, h, float(ue_height_m),
                              uma, azimuth, beamwidth, float(front_to_back_db), offset, rsrp)
        value[server < 0] = np.nan
        return value, server
    no_los = np.zeros((0, 0), dtype=bool)
    worst = np.full((-(-rows // rk.BLOCK), -(-cols // rk.BLOCK)), value.flat[0], dtype="float32")
    # a fixed scattered order lets the kernel skip far sites early (same field in any order)
    for i in np.random.default_rng(0).permutation(len(x)):
        if ra[i] >= rb[i] or ca[i] >= cb[i]:
            continue
        los = los_mask(i, slice(int(ra[i]), int(rb[i])), slice(int(ca[i]), int(cb[i])))
        has_los = bool(np.any(los))
        los = (np.ascontiguousarray(np.broadcast_to(np.asarray(los, dtype=bool), (rb[i] - ra[i], cb[i] - ca[i])))
               if has_los else no_los)
        rk.best_server_window(value, server, worst, i, int(ra[i]), int(rb[i]), int(ca[i]), int(cb[i]), gx, gy,
                              x[i], y[i], float(reach[i]), freq_ghz[i], h[i], float(ue_height_m), bool(uma[i]), los,
                              has_los, azimuth[i], beamwidth[i], float(front_to_back_db), offset[i], rsrp)
    value[server < 0] = np.nan
    return value, server
