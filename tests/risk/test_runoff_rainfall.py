import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.errors import LayerNotFoundError, ValidationError
from cimtwin.risk.rainfall import DesignStorm, design_storm_intensity, gauge_totals, rainfall_grid
from cimtwin.risk.runoff import CN_TABLE_TR55, curve_number, scs_runoff_mm


def tr55(p, cn):
    s = 25400 / cn - 254
    return (p - 0.2 * s) ** 2 / (p + 0.8 * s) if p > 0.2 * s else 0.0


class TestSCS:
    def test_worked_examples(self):
        # CN 98: S = 25400/98 − 254 = 5.1837 mm, Ia = 1.0367 mm, Q = 98.963² / 104.147 = 94.04 mm
        s = 25400 / 98 - 254
        exact = (100 - 0.2 * s) ** 2 / (100 + 0.8 * s)
        assert float(scs_runoff_mm(100.0, 98)) == pytest.approx(exact, rel=1e-12)
        assert round(exact, 1) == 94.0
        assert float(scs_runoff_mm(100.0, 89)) == pytest.approx(70.2, abs=0.05)
        assert float(scs_runoff_mm(100.0, 61)) == pytest.approx(19.8, abs=0.05)

    def test_below_initial_abstraction_and_water(self):
        assert float(scs_runoff_mm(5.0, 61)) == 0.0  # Ia = 32.5 mm
        assert float(scs_runoff_mm(42.0, 100)) == pytest.approx(42.0)

    @settings(max_examples=50, deadline=None)
    @given(p=st.floats(0, 500), dp=st.floats(0, 100), cn=st.floats(30, 100))
    def test_properties(self, p, dp, cn):
        q = float(scs_runoff_mm(p, cn))
        assert 0.0 <= q <= p + 1e-9
        assert float(scs_runoff_mm(p + dp, cn)) >= q - 1e-9
        assert q == pytest.approx(tr55(p, cn), rel=1e-9, abs=1e-9)

    def test_nan_and_bad_values(self):
        assert np.isnan(scs_runoff_mm(np.nan, 80))
        with pytest.raises(ValidationError):
            scs_runoff_mm(10.0, 0.0)
        with pytest.raises(ValidationError):
            scs_runoff_mm(-1.0, 80)

    @settings(max_examples=30, deadline=None)
    @given(seed=st.integers(0, 10_000), scalar_rain=st.booleans())
    def test_grids_equal_the_formula_cell_by_cell(self, seed, scalar_rain):
        import xarray as xr

        rng = np.random.default_rng(seed)
        cn = rng.uniform(30, 100, (7, 9)).astype("float32")
        cn[rng.random(cn.shape) < 0.1] = np.nan
        rain = np.float64(rng.uniform(0, 300)) if scalar_rain else rng.uniform(0, 300, (7, 9))
        rain_cells = np.broadcast_to(rain, cn.shape)
        want = np.array([[np.nan if np.isnan(c) else tr55(float(p), float(c)) for p, c in zip(pr, cr)]
                         for pr, cr in zip(rain_cells, cn)])
        got = scs_runoff_mm(rain, cn)  # plain arrays: float64
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        grid = scs_runoff_mm(rain, xr.DataArray(cn, dims=("y", "x")))  # a grid: float32
        assert grid.dtype == np.float32 and grid.attrs["units"] == "mm"
        np.testing.assert_allclose(grid.values, want, rtol=1e-6, atol=1e-4)
        row = scs_runoff_mm(rain_cells[:1, :], cn)  # one row broadcast down the grid
        want_row = [[np.nan if np.isnan(cn[i, j]) else tr55(float(rain_cells[0, j]), float(cn[i, j]))
                     for j in range(9)] for i in range(7)]
        np.testing.assert_allclose(row, want_row, rtol=1e-9, atol=1e-9)

    def test_cn_table_lookup(self):
        assert curve_number(["road", "park", "commercial"], ["A", "D", "C"]).tolist() == [98, 80, 94]
        with pytest.raises(ValidationError, match="parc"):
            curve_number(["parc"], ["A"])
        with pytest.raises(ValidationError, match="soil"):
            curve_number(["park"], ["E"])
        assert set(CN_TABLE_TR55) >= {"residential", "commercial", "industrial", "road", "park", "water"}


class TestDesignStorm:
    def test_formula(self):
        # i = 10·(1 + 0.8·lg 50)/(120 + 10)^0.7 mm/min; q = 167·i L/(s·ha); depth = i·120
        i = 10 * (1 + 0.8 * math.log10(50)) / 130 ** 0.7
        s = DesignStorm(A1=10, C=0.8, b=10, n=0.7, P_years=50, duration_min=120)
        assert s.intensity_mm_min == pytest.approx(i)
        assert s.q_l_s_ha == pytest.approx(167 * i)
        assert s.depth_mm == pytest.approx(120 * i)
        assert design_storm_intensity(A1=10, C=0.8, b=10, n=0.7, P_years=50, duration_min=120) == pytest.approx(167 * i)

    def test_bad_parameters(self):
        with pytest.raises(ValidationError):
            DesignStorm(A1=-1, C=0.8, b=10, n=0.7, P_years=50, duration_min=120)
        with pytest.raises(ValidationError, match="lack"):
            DesignStorm.from_mapping({"A1": 10})

    def test_rainfall_grid_from_metadata(self, city):
        rain = rainfall_grid(city)
        assert rain.shape == city.grid.shape and rain.attrs["units"] == "mm"
        assert np.allclose(rain.values, DesignStorm.from_mapping(city.metadata["design_storm"]).depth_mm)

    def test_no_gauges_no_storm_is_an_error(self, city):
        bare = city.without_layer("rain_gauges").with_metadata(design_storm=None)
        with pytest.raises(ValidationError, match="No rainfall input"):
            rainfall_grid(bare)
        with pytest.raises(LayerNotFoundError):
            rainfall_grid(bare, source="gauges")
        with pytest.raises(ValidationError, match="design_storm"):
            rainfall_grid(bare, source="design_storm")


class TestGauges:
    def test_totals(self, city):
        pts = gauge_totals(city.layer("rain_gauges"), city.table("gauge_observations"))
        assert dict(zip(pts["gauge_id"], pts["rain_mm"])) == {"g1": 50.0, "g2": 80.0, "g3": 60.0}
        pts = gauge_totals(city.layer("rain_gauges"), city.table("gauge_observations"), end="2024-07-01 10:30")
        assert dict(zip(pts["gauge_id"], pts["rain_mm"]))["g1"] == 30.0

    def test_orphan_observation(self, city):
        obs = city.table("gauge_observations")
        obs.loc[len(obs)] = ["zz", obs["time"].iloc[0], 1.0]
        with pytest.raises(ValidationError, match="zz"):
            gauge_totals(city.layer("rain_gauges"), obs)


def test_rainfall_from_gauges_idw(city):
    rain = rainfall_grid(city, source="gauges")
    spec = city.grid
    assert rain.shape == spec.shape and rain.attrs["units"] == "mm"
    v = rain.values
    assert 50.0 - 1e-4 <= np.nanmin(v) and np.nanmax(v) <= 80.0 + 1e-4  # IDW stays within the gauge totals
    # the cell holding gauge g1's point is nearest to it: its value leans towards g1's 50 mm
    g1 = city.layer("rain_gauges").set_index("gauge_id").geometry["g1"]
    r, c = spec.rowcol(g1.x, g1.y)
    assert v[r, c] < 60.0


def test_curve_number_grid(city):
    from cimtwin.risk.runoff import curve_number_grid

    cn = curve_number_grid(city.layer("land_use"), city.grid)
    # west half residential on soil C (90), east half park on soil B (61)
    assert set(np.unique(cn.values)) == {90.0, 61.0}
    assert cn.values[0, 0] == 90.0 and cn.values[0, -1] == 61.0
    assert cn.attrs["cells_without_land_use"] == 0
