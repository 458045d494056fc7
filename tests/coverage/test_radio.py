"""TR 38.901 path loss against the worked values of the research notes, and one link budget."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.coverage import (best_server, element_attenuation_db, los_probability_38901, path_loss_38901,
                              resource_blocks, rsrp_per_re_dbm)
from cimtwin.errors import ValidationError

UMA = [(100, 83.14, 103.04), (300, 93.41, 121.28), (500, 98.27, 129.92), (1000, 109.41, 141.67)]
UMI = [(50, 79.09, 94.18), (100, 85.31, 104.64), (200, 91.61, 115.23), (500, 107.11, 129.26)]


@pytest.mark.parametrize("d, los, nlos", UMA)
def test_uma_values(d, los, nlos):
    assert path_loss_38901(d, frequency_ghz=3.5, h_bs_m=25.0, los=True) == pytest.approx(los, abs=0.01)
    assert path_loss_38901(d, frequency_ghz=3.5, h_bs_m=25.0) == pytest.approx(nlos, abs=0.01)


@pytest.mark.parametrize("d, los, nlos", UMI)
def test_umi_values(d, los, nlos):
    kw = dict(frequency_ghz=3.5, h_bs_m=10.0, scenario="umi")
    assert path_loss_38901(d, los=True, **kw) == pytest.approx(los, abs=0.01)
    assert path_loss_38901(d, **kw) == pytest.approx(nlos, abs=0.01)


def test_breakpoint_distances():
    from cimtwin.kernels.radio import breakpoint_m

    assert breakpoint_m(25.0, 1.5, 3.5) == pytest.approx(560.0, rel=1e-3)
    assert breakpoint_m(10.0, 1.5, 3.5) == pytest.approx(210.0, rel=1e-3)


def test_nlos_never_below_los():
    d = np.linspace(10, 5000, 500)
    assert np.all(path_loss_38901(d, frequency_ghz=2.6, h_bs_m=30.0) >= path_loss_38901(d, frequency_ghz=2.6,
                                                                                       h_bs_m=30.0, los=True))


def test_worked_link_budget_at_300_m():
    # 3.5 GHz UMa site, EIRP 60 dBm over 100 MHz (273 RB at 30 kHz), UE at 1.5 m, NLOS, boresight:
    # per-RE power 60 - 10 log10(12 * 273) = 24.847 dBm; PL(300 m) = 121.28 dB -> RSRP = -96.43 dBm.
    per_re = 60.0 - 10 * np.log10(12 * 273)
    assert per_re == pytest.approx(24.847, abs=1e-3)
    pl = path_loss_38901(300.0, frequency_ghz=3.5, h_bs_m=25.0)
    rsrp = rsrp_per_re_dbm(eirp_dbm=60.0, bandwidth_mhz=100.0, path_loss_db=pl)
    assert rsrp == pytest.approx(-96.43, abs=0.01)
    # 30 degrees off a 65-degree sector boresight costs 12 (30/65)^2 = 2.556 dB
    att = element_attenuation_db(30.0)
    assert att == pytest.approx(2.556, abs=1e-3)
    assert rsrp_per_re_dbm(eirp_dbm=60.0, bandwidth_mhz=100.0, path_loss_db=pl, attenuation_db=att) == \
        pytest.approx(-98.99, abs=0.01)


def test_resource_blocks_and_pattern():
    assert resource_blocks(np.array([100.0, 20.0, 0.2])).tolist() == [273, 51, 1]
    assert element_attenuation_db([0.0, 180.0, -180.0, np.nan]).tolist() == [0.0, 30.0, 30.0, 0.0]
    assert los_probability_38901(10.0) == 1.0
    assert 0 < los_probability_38901(200.0, scenario="umi") < 1


def test_bad_inputs():
    with pytest.raises(ValidationError, match="scenario"):
        path_loss_38901(100.0, frequency_ghz=3.5, h_bs_m=25.0, scenario="rma")
    with pytest.raises(ValidationError):
        resource_blocks(-5.0)


def test_best_server_picks_the_stronger_site():
    import geopandas as gpd
    import shapely

    from cimtwin.grid.spec import GridSpec

    crs = "EPSG:4527"
    sites = gpd.GeoDataFrame({"height_m": [25.0, 25.0], "frequency_mhz": [3500.0, 3500.0],
                              "eirp_dbm": [60.0, 50.0], "bandwidth_mhz": [100.0, 100.0]},
                             geometry=[shapely.Point(39_500_100, 4_060_050), shapely.Point(39_500_900, 4_060_050)],
                             crs=crs)
    spec = GridSpec.from_bounds((39_500_000, 4_060_000, 39_501_000, 4_060_100), res_m=10, crs=crs)
    bs = best_server(sites, spec)
    assert bs.server[5, 5] == 0 and bs.server[5, 95] == 1
    # brute force at one cell
    x, y = spec.xy(5, 50)
    expect = max(rsrp_per_re_dbm(eirp_dbm=e, bandwidth_mhz=100.0, path_loss_db=path_loss_38901(
        np.hypot(x - sx, y - 4_060_050), frequency_ghz=3.5, h_bs_m=25.0)) for e, sx in ((60, 39_500_100),
                                                                                          (50, 39_500_900)))
    assert bs.value[5, 50] == pytest.approx(expect, abs=1e-3)


# --- antenna gain in the link budget (issue 11 §4) ----------------------------------------------


def _nbiot_site(**columns):
    import geopandas as gpd
    import shapely

    data = {"height_m": [30.0], "frequency_mhz": [800.0], "bandwidth_mhz": [0.18], **columns}
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(39_505_000, 4_065_000)], crs="EPSG:4527")


def _reach_m(bs, spec, limit_db):
    """Largest distance from the site of a cell whose coupling loss is within the limit."""
    rows, cols = np.nonzero(np.nan_to_num(bs.value, nan=np.inf) <= limit_db)
    x, y = spec.xy(rows, cols)
    return float(np.hypot(np.asarray(x) - 39_505_000, np.asarray(y) - 4_065_000).max())


def test_nbiot_reach_includes_the_site_antenna_gain():
    from cimtwin.coverage import coupling_loss_db
    from cimtwin.grid.spec import GridSpec

    # hand-worked link budget, UMa NLOS at 800 MHz, h_BS = 30 m, h_UT = 1.5 m, 30 dB underground margin:
    # CL = PL + 30 - G <= 164  =>  PL <= 134 + G, with PL = 13.54 + 39.08 lg d3d + 20 lg 0.8
    def radius(gain_dbi):
        d3d = 10 ** ((164.0 - 30.0 + gain_dbi - 13.54 - 20 * math.log10(0.8)) / 39.08)
        return math.sqrt(d3d**2 - 28.5**2)

    assert radius(17.0) == pytest.approx(3689.5, abs=1.0) and radius(0.0) == pytest.approx(1355.3, abs=1.0)
    assert radius(17.0) / radius(0.0) == pytest.approx(2.72, abs=0.01)  # the factor the gain was missing
    spec = GridSpec.from_bounds((39_500_000, 4_060_000, 39_510_000, 4_070_000), res_m=20, crs="EPSG:4527")
    for site, gain in ((_nbiot_site(), 17.0), (_nbiot_site(antenna_gain_dbi=[0.0]), 0.0),
                       (_nbiot_site(antenna_gain_dbi=[12.0]), 12.0)):
        bs = best_server(site, spec, quantity="mcl", penetration_db=30.0)
        assert _reach_m(bs, spec, 164.0) == pytest.approx(radius(gain), abs=20 * math.sqrt(2))
    bs = best_server(_nbiot_site(), spec, quantity="mcl")
    assert "17 dBi" in bs.notes[0]
    r, c = spec.rowcol(39_505_300, 4_065_000)
    cx, cy = spec.xy(r, c)
    pl = path_loss_38901(math.hypot(cx - 39_505_000, cy - 4_065_000), frequency_ghz=0.8, h_bs_m=30.0)
    assert bs.value[r, c] == pytest.approx(float(pl) - 17.0, abs=1e-3)
    assert float(coupling_loss_db(path_loss_db=pl, antenna_gain_dbi=17.0)) == pytest.approx(float(pl) - 17.0)


def test_rsrp_from_transmit_power_adds_the_gain():
    from cimtwin.grid.spec import GridSpec

    spec = GridSpec.from_bounds((39_504_000, 4_064_000, 39_506_000, 4_066_000), res_m=50, crs="EPSG:4527")
    with_eirp = best_server(_nbiot_site(eirp_dbm=[60.0], bandwidth_mhz=[100.0]), spec)
    with_tx = best_server(_nbiot_site(tx_power_dbm=[36.0], antenna_gain_dbi=[24.0], bandwidth_mhz=[100.0]), spec)
    np.testing.assert_allclose(with_tx.value, with_eirp.value, atol=1e-4)
    from cimtwin.errors import SchemaError

    with pytest.raises(SchemaError, match="eirp_dbm nor tx_power_dbm"):
        best_server(_nbiot_site(), spec)


# --- the best-server kernel against a brute force written from the formulas ---------------------


def _pl_reference(d2d, fc, hbs, hut, uma, los):
    """TR 38.901 Table 7.4.1-1, written out independently of cimtwin (numpy, per cell)."""
    d2d = np.maximum(d2d, 10.0)
    d3d = np.sqrt(d2d**2 + (hbs - hut) ** 2)
    dbp = 4 * (hbs - 1) * (hut - 1) * fc * 1e9 / 299_792_458.0
    a, b, c = (28.0, 22.0, 9.0) if uma else (32.4, 21.0, 9.5)
    pl1 = a + b * np.log10(d3d) + 20 * np.log10(fc)
    pl2 = a + 40 * np.log10(d3d) + 20 * np.log10(fc) - c * np.log10(dbp**2 + (hbs - hut) ** 2)
    pl_los = np.where(d2d <= dbp, pl1, pl2)
    if uma:
        nlos = 13.54 + 39.08 * np.log10(d3d) + 20 * np.log10(fc) - 0.6 * (hut - 1.5)
    else:
        nlos = 22.4 + 35.3 * np.log10(d3d) + 21.3 * np.log10(fc) - 0.3 * (hut - 1.5)
    return np.where(los, pl_los, np.maximum(pl_los, nlos))


@pytest.mark.parametrize("quantity", ["rsrp", "mcl"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_los", [False, True])
def test_best_server_equals_brute_force(quantity, seed, with_los):
    import geopandas as gpd
    import shapely

    from cimtwin.grid.spec import GridSpec

    rng = np.random.default_rng(seed)
    # enough sites that far ones are skipped block by block (the kernel's pruning)
    n, x0, y0, res = 40, 39_500_000, 4_060_000, 50.0
    h = rng.uniform(8, 40, n)
    f = rng.choice([800.0, 3500.0], n)
    az = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0, 360, n))
    eirp, gain = rng.uniform(40, 65, n), rng.uniform(10, 25, n)
    xy = rng.uniform(-1000, 7000, (n, 2))
    sites = gpd.GeoDataFrame({"height_m": h, "frequency_mhz": f, "bandwidth_mhz": np.full(n, 100.0),
                              "eirp_dbm": eirp, "antenna_gain_dbi": gain, "azimuth_deg": az},
                             geometry=[shapely.Point(x0 + a, y0 + b) for a, b in xy], crs="EPSG:4527")
    spec = GridSpec.from_bounds((x0, y0, x0 + 6000, y0 + 6000), res_m=res, crs="EPSG:4527")
    # a line-of-sight pattern per site (any pattern: the kernel must follow it cell by cell)
    los = rng.random((n, *spec.shape)) < 0.3 if with_los else np.zeros((n, *spec.shape), bool)
    bs = best_server(sites, spec, quantity=quantity, penetration_db=7.0,
                     los_mask=(lambda i, rs, cs: los[i][rs, cs]) if with_los else None)

    gx, gy = np.meshgrid(np.asarray(spec.x), np.asarray(spec.y))
    best = np.full(spec.shape, np.nan)
    offered = np.full((n, *spec.shape), np.nan)  # each site's value where it is offered
    for i in range(n):
        dx, dy = gx - (x0 + xy[i, 0]), gy - (y0 + xy[i, 1])
        d = np.hypot(dx, dy)
        uma = h[i] >= 15.0
        # the site's window: cells within ceil(reach / res) rows and columns, and within reach
        r0, c0 = spec.rowcol(x0 + xy[i, 0], y0 + xy[i, 1])
        rows, cols = np.indices(spec.shape)
        reach = 5000.0 if uma else 2000.0
        k = math.ceil(reach / res)
        inside = (d <= reach) & (np.abs(rows - r0) <= k) & (np.abs(cols - c0) <= k)
        phi = np.abs((np.degrees(np.arctan2(dx, dy)) - az[i] + 180.0) % 360.0 - 180.0)
        att = 0.0 if np.isnan(az[i]) else np.minimum(12.0 * (phi / 65.0) ** 2, 30.0)
        pl = _pl_reference(d, f[i] / 1000.0, h[i], 1.5, uma, los[i])
        if quantity == "rsrp":
            v = eirp[i] - 10 * np.log10(12 * 273) - pl - att - 7.0
            better = inside & ~(v <= best)  # NaN (nobody yet) loses to any value
        else:
            v = pl + att + 7.0 - gain[i]
            better = inside & ~(v >= best)
        best = np.where(better, v, best)
        offered[i] = np.where(inside, v, np.nan)
    np.testing.assert_allclose(bs.value, best, atol=1e-3, equal_nan=True)
    # the server is a site whose own value is the best (two sites within float32 rounding may swap)
    assert np.array_equal(bs.server >= 0, np.isfinite(best))
    served = bs.server >= 0
    own = np.take_along_axis(offered, np.maximum(bs.server, 0)[None], axis=0)[0]
    np.testing.assert_allclose(own[served], best[served], atol=1e-3)


def test_best_server_does_not_depend_on_site_order():
    """The kernel skips sites block by block; the field must not depend on the order it meets them."""
    import geopandas as gpd
    import shapely

    from cimtwin.grid.spec import GridSpec

    rng = np.random.default_rng(7)
    n, x0, y0 = 60, 39_500_000, 4_060_000
    xy = rng.uniform(0, 4000, (n, 2))
    sites = gpd.GeoDataFrame({"height_m": rng.uniform(8, 40, n), "frequency_mhz": np.full(n, 3500.0),
                              "bandwidth_mhz": np.full(n, 100.0), "eirp_dbm": rng.uniform(40, 65, n),
                              "azimuth_deg": rng.uniform(0, 360, n)},
                             geometry=[shapely.Point(x0 + a, y0 + b) for a, b in xy], crs="EPSG:4527")
    spec = GridSpec.from_bounds((x0, y0, x0 + 4000, y0 + 4000), res_m=20, crs="EPSG:4527")
    a = best_server(sites, spec)
    # sorted in space: the order that defeats the skipping, and must still give the same field
    order = np.lexsort((xy[:, 0], xy[:, 1]))
    b = best_server(sites.iloc[order], spec)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.server, np.where(b.server >= 0, order[np.maximum(b.server, 0)], -1))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["rsrp", "mcl"]), st.sampled_from([None, "uma", "umi"]),
       st.sampled_from([None, 700.0]), st.integers(1, 90))
def test_block_kernel_equals_site_by_site_kernel(seed, quantity, scenario, max_distance_m, n):
    """Without line of sight the field is made block by block; offering site by site gives the same, bit for bit."""
    import geopandas as gpd
    import shapely

    from cimtwin.grid.spec import GridSpec

    rng = np.random.default_rng(seed)
    x0, y0 = 39_500_000, 4_060_000
    xy = rng.uniform(-1500, 4500, (n, 2))  # some sites off the grid
    xy[: n // 4] = np.round(xy[: n // 4] / 20.0) * 20.0  # some on cell edges: ties and exact distances
    az = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 360, n))
    sites = gpd.GeoDataFrame({"height_m": rng.choice([10.0, 15.0, 30.0], n), "frequency_mhz": np.full(n, 3500.0),
                              "bandwidth_mhz": np.full(n, 100.0), "eirp_dbm": rng.choice([50.0, 60.0], n),
                              "antenna_gain_dbi": np.full(n, 17.0), "azimuth_deg": az},
                             geometry=[shapely.Point(x0 + a, y0 + b) for a, b in xy], crs="EPSG:4527")
    spec = GridSpec.from_bounds((x0, y0, x0 + 3000, y0 + 2200), res_m=20, crs="EPSG:4527")
    kw = dict(quantity=quantity, scenario=scenario, max_distance_m=max_distance_m)
    blocks = best_server(sites, spec, **kw)
    by_site = best_server(sites, spec, los_mask=lambda i, rs, cs: False, **kw)  # the per-site kernel, no LOS
    np.testing.assert_array_equal(blocks.value, by_site.value)
    np.testing.assert_array_equal(blocks.server, by_site.server)
