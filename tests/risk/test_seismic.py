import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimtwin.errors import CimtwinWarning, SchemaError, ValidationError
from cimtwin.risk import seismic
from cimtwin.risk.seismic import (
    buildings_below_fortification,
    fault_pga,
    instrumental_intensity,
    site_amplification_factor,
    yu2013_pga_g,
    zoning_intensity,
)


G = 9.80665


def hand_axis_pga_g(a, b, c, d, e, mag, r_km, depth_km=15.0):
    """One axis of Yu et al. (2013), straight from ln Y = A + B·M + C·ln(R + D·e^(E·M)), Y in cm/s²."""
    big_r = math.sqrt(r_km ** 2 + depth_km ** 2)
    return math.exp(a + b * mag + c * math.log(big_r + d * math.exp(e * mag))) / 100 / G


class TestYu2013:
    # eastern China PGA coefficients as listed in the domain notes (independent of the module)
    LONG_SMALL = (4.5517, 1.5433, -2.315, 2.088, 0.399)
    SHORT_SMALL = (2.7048, 1.518, -2.004, 0.944, 0.447)
    LONG_LARGE = (8.1259, 0.9936, -2.315, 2.088, 0.399)
    SHORT_LARGE = (6.3319, 0.9614, -2.004, 0.944, 0.447)

    def test_hand_vector_along_strike_is_the_long_axis_relation(self):
        # M 6.0, r = 10 km along strike: R = sqrt(100 + 225) = 18.028 km,
        # ln Y = 4.5517 + 1.5433·6 − 2.315·ln(18.028 + 2.088·e^(2.394)) = 5.2199 → 184.9 cm/s² = 0.1886 g
        assert yu2013_pga_g(10.0, 0.0, 6.0) == pytest.approx(0.18856, rel=1e-3)
        for mag, coef in ((6.0, self.LONG_SMALL), (7.2, self.LONG_LARGE)):
            for r in (0.0, 5.0, 30.0, 120.0):
                assert yu2013_pga_g(r, 0.0, mag) == pytest.approx(hand_axis_pga_g(*coef, mag, r), rel=1e-6)

    def test_across_strike_is_the_short_axis_relation(self):
        for mag, coef in ((5.5, self.SHORT_SMALL), (7.0, self.SHORT_LARGE)):
            for r in (2.0, 20.0, 80.0):
                assert yu2013_pga_g(r, 90.0, mag) == pytest.approx(hand_axis_pga_g(*coef, mag, r), rel=1e-6)

    def test_oblique_matches_a_scalar_root_find(self):
        from scipy.optimize import brentq

        mag, r, theta = 6.2, 25.0, 40.0
        a1, b1, c1, d1, e1 = self.LONG_SMALL
        a2, b2, c2, d2, e2 = self.SHORT_SMALL

        def rb_of(ra):  # equal depth-free motion on both axes
            ln_y = a1 + b1 * mag + c1 * math.log(ra + d1 * math.exp(e1 * mag))
            return math.exp((ln_y - a2 - b2 * mag) / c2) - d2 * math.exp(e2 * mag)

        t = math.radians(theta)

        def polar(ra):
            rb = rb_of(ra)
            return ra * rb / math.sqrt((ra * math.sin(t)) ** 2 + (rb * math.cos(t)) ** 2) - r

        ra = brentq(polar, r, 10 * r)
        la = math.log(hand_axis_pga_g(*self.LONG_SMALL, mag, ra) * 100 * G)
        lb = math.log(hand_axis_pga_g(*self.SHORT_SMALL, mag, rb_of(ra)) * 100 * G)
        ln_y = la * lb / math.sqrt((la * math.sin(t)) ** 2 + (lb * math.cos(t)) ** 2)
        assert yu2013_pga_g(r, theta, mag) == pytest.approx(math.exp(ln_y) / 100 / G, rel=1e-5)

    @settings(max_examples=60, deadline=None)
    @given(mag=st.floats(4.5, 8.0), theta=st.floats(0.0, 90.0), d1=st.floats(0.0, 300.0), dd=st.floats(0.0, 100.0))
    def test_never_rises_with_distance(self, mag, theta, d1, dd):
        near, far = yu2013_pga_g([d1, d1 + dd], theta, mag)
        assert far <= near * (1 + 1e-9)

    @settings(max_examples=30, deadline=None)
    @given(mag=st.floats(4.5, 8.0), d=st.floats(1.0, 200.0))
    def test_long_axis_is_at_least_the_short_axis(self, mag, d):
        along, across = yu2013_pga_g(d, [0.0, 90.0], mag)
        assert along >= across * (1 - 1e-9)

    def test_bad_input(self):
        with pytest.raises(ValidationError):
            yu2013_pga_g(-1.0, 0.0, 6.0)
        with pytest.raises(ValidationError):
            yu2013_pga_g(1.0, 0.0, 12.0)


class TestSiteAndIntensity:
    def test_fa_worked_examples(self):
        assert float(site_amplification_factor(0.10, "III")) == pytest.approx(1.25)
        assert float(site_amplification_factor(0.10, "IV")) == pytest.approx(1.20)  # 0.10 g → 0.12 g
        assert float(site_amplification_factor(0.125, "III")) == pytest.approx(1.20)  # halfway 1.25 → 1.15
        assert float(site_amplification_factor(0.01, "I0")) == pytest.approx(0.72)  # held below 0.05 g
        assert float(site_amplification_factor(0.9, "IV")) == pytest.approx(0.90)  # held above 0.40 g
        assert np.all(site_amplification_factor([0.05, 0.3], "II") == 1.0)

    def test_unknown_site_class(self):
        with pytest.raises(ValidationError, match="Unknown site class.*'V'"):
            site_amplification_factor(0.1, ["II", "V"])

    def test_instrumental_intensity_gbt17742(self):
        # PGA 0.1 g = 0.980665 m/s²: I_A = 3.17·lg(0.980665) + 6.59 = 6.563 → 6.6
        expected = round(3.17 * math.log10(0.1 * G) + 6.59, 1)
        assert expected == 6.6
        assert float(instrumental_intensity(0.1)) == 6.6
        # with PGV: both ≥ 6 → I_V
        i_v = round(3.0 * math.log10(0.1) + 9.77, 1)
        assert float(instrumental_intensity(0.2, pgv_m_s=0.1)) == i_v
        assert float(instrumental_intensity(1e-9)) == 1.0  # clamped

    def test_zoning_bins(self):
        pga = [0.0399, 0.04, 0.0899, 0.09, 0.10, 0.1899, 0.19, 0.3799, 0.38, 0.7499, 0.75, np.nan]
        assert zoning_intensity(pga).tolist() == [5, 6, 6, 7, 7, 7, 8, 8, 9, 9, 10, 0]


class TestGrids:
    def fault(self, spec, magnitude=6.0, strike=90.0):
        from shapely import LineString

        xmin, ymin, xmax, ymax = spec.bounds
        y = (ymin + ymax) / 2
        return gpd.GeoDataFrame({"name": ["F"], "activity": ["Holocene"], "magnitude": [magnitude],
                                 "strike_deg": [strike]},
                                geometry=[LineString([(xmin + 2000, y), (xmin + 4000, y)])], crs=spec.crs)

    def test_intensity_never_rises_with_distance_from_the_fault(self, synth):
        spec = synth.make_spec(rows=41, cols=61, res=200.0)
        pga = fault_pga(self.fault(spec), spec).values
        zi = zoning_intensity(pga)
        mid = spec.shape[0] // 2
        # rows away from the fault line (north and south of it) and columns beyond its east end
        assert np.all(np.diff(pga[mid::-1, 20], axis=0) <= 1e-7)
        assert np.all(np.diff(pga[mid:, 20]) <= 1e-7)
        assert np.all(np.diff(zi[mid:, 20]) <= 0)
        assert np.all(np.diff(pga[mid, 21:]) <= 1e-7)
        # along the fault the rupture model is flat
        assert np.allclose(pga[mid, 11:20], pga[mid, 11])

    def test_epicentre_source_and_user_attenuation(self, synth):
        spec = synth.make_spec(rows=5, cols=5, res=1000.0)
        calls = []

        def flat(d, t, m):
            calls.append(m)
            return np.full(np.shape(d), 0.123)

        pga = fault_pga(self.fault(spec, magnitude=6.8), spec, attenuation=flat, source="epicentre")
        assert np.allclose(pga.values, 0.123) and calls == [6.8]
        assert pga.attrs["units"] == "g"

    def test_empty_fault_layer(self, spec, synth):
        gdf = synth.gdf
        empty = gdf({"name": [], "activity": [], "magnitude": [], "strike_deg": []}, [])
        with pytest.raises(ValidationError, match="empty"):
            fault_pga(empty, spec)
        with pytest.raises(SchemaError):
            fault_pga(gdf({"name": ["x"]}, [shapely.LineString([(0, 0), (1, 1)])]), spec)

    def test_seismic_hazard_on_model_without_site_class_warns(self, city):
        with pytest.warns(CimtwinWarning, match="site class"):
            hz = seismic.seismic_hazard(city)
        assert hz.pga_g.shape == city.grid.shape
        assert np.allclose(hz.fa.values, 1.0)
        assert set(np.unique(hz.zoning_intensity.values)) <= {5, 6, 7, 8, 9, 10}

    def test_buildings_below_fortification(self, spec, synth):
        gdf = synth.gdf
        zi = spec.to_dataarray(np.full(spec.shape, 7, dtype="int16"))
        xmin, ymin, _, _ = spec.bounds
        boxes = [shapely.box(xmin + 10 * i, ymin + 10, xmin + 10 * i + 5, ymin + 15) for i in range(4)]
        b = gdf({"height_m": [10.0] * 4, "use": ["residential", "school", "hospital", "office"],
                 "fortification_intensity": [7, 7, 8, 6]}, boxes)
        out = buildings_below_fortification(b, zi)
        assert sorted(out["use"]) == ["office", "school"]  # school needs VIII; office VII; hospital at VIII ok
        assert out.set_index("use").loc["school", "required_intensity"] == 8
        assert out.set_index("use").loc["office", "deficit"] == 1


def test_site_class_layer_amplifies_and_unknown_class_is_an_error(city, synth):
    from cimtwin.risk.seismic import seismic_hazard, site_class_grid

    xmin, ymin, xmax, ymax = city.grid.bounds
    layer = synth.gdf({"site_class": ["III"]}, [shapely.box(xmin, ymin, (xmin + xmax) / 2, ymax)])
    hz = seismic_hazard(city.with_layer("site_class", layer))
    fa = hz.fa.values
    assert np.allclose(fa[:, -1], 1.0)  # east half outside the polygon: class II
    expected = site_amplification_factor(hz.pga_ii_g.values[:, 0], "III")
    assert np.allclose(fa[:, 0], expected) and np.all(fa[:, 0] >= 1.0)
    assert hz.notes["cells_default_site_class"] == city.grid.size // 2
    bad = layer.assign(site_class=["V"])
    with pytest.raises(ValidationError, match="unknown site class"):
        site_class_grid(bad, city.grid)


def test_grid_table_matches_the_exact_model():
    from cimtwin.risk.seismic import YU2013_EASTERN_PGA, _tabulated_yu

    rng = np.random.default_rng(1)
    d = rng.uniform(0, 150, 400)
    t = rng.uniform(0, 90, 400)
    for mag in (5.5, 7.0):
        exact = yu2013_pga_g(d, t, mag)
        assert np.allclose(_tabulated_yu(d, t, mag, YU2013_EASTERN_PGA), exact, rtol=5e-3)


# --- zoning vs scenario (issue 11 §4) ---------------------------------------------------------


class TestZoningVersusScenario:
    def test_hazard_comes_from_the_zoning_layer_with_site_amplification(self, city, synth):
        xmin, ymin, xmax, ymax = city.grid.bounds
        xmid = (xmin + xmax) / 2
        site = synth.gdf({"site_class": ["III", "I0"]}, [shapely.box(xmin, ymin, xmid, ymax),
                                                         shapely.box(xmid, ymin, xmax, ymax)])
        hz = seismic.seismic_hazard(city.with_layer("site_class", site))
        assert hz.kind == "zoning" and hz.pga_g.attrs["analysis"] == "zoning"
        west, east = hz.pga_ii_g.values[:, 0], hz.pga_ii_g.values[:, -1]
        assert np.allclose(west, 0.10) and np.allclose(east, 0.15)  # the zone values, nothing from the fault
        # GB 18306 Table E.1 by hand: class III at 0.10 g is 1.25; class I0 at 0.15 g is 0.75
        assert np.allclose(hz.pga_g.values[:, 0], 0.125) and np.allclose(hz.pga_g.values[:, -1], 0.1125)
        assert set(np.unique(hz.zoning_intensity.values)) == {7}  # [0.09, 0.19) g → VII

    def test_fortification_uses_zoning_never_the_fault_scenario(self, city):
        with pytest.warns(CimtwinWarning, match="site class"):
            zoning = seismic.seismic_hazard(city)
            scenario = seismic.seismic_scenario(city)
        assert scenario.kind == "scenario" and scenario.notes["faults_used"] == ["F1"]
        # the M6.5 fault 3 km away shakes the city harder than its zoning
        assert float(scenario.pga_g.min()) > float(zoning.pga_g.max())
        b = city.layer("buildings")  # residential 7, school 7, hospital 8 under VII zones
        weak = buildings_below_fortification(b, zoning.zoning_intensity)
        assert weak["use"].tolist() == ["school"] and weak["required_intensity"].tolist() == [8]
        assert len(buildings_below_fortification(b, scenario.zoning_intensity)) > len(weak)

    def test_no_zoning_is_an_error_even_with_faults(self, city):
        with pytest.raises(ValidationError, match="no 'seismic_zoning' layer.*never used in its place"):
            seismic.seismic_hazard(city.without_layer("seismic_zoning"))

    def test_user_zoning_raster(self, city):
        spec = city.grid
        pga = np.full(spec.shape, 0.20, dtype="float32")
        pga[:, :5] = np.nan  # no zone value there
        with pytest.warns(CimtwinWarning):
            hz = seismic.seismic_hazard(city.without_layer("seismic_zoning"), zoning_pga=spec.to_dataarray(pga))
        zi = hz.zoning_intensity.values
        assert (zi[:, :5] == 0).all() and (zi[:, 5:] == 8).all()
        assert hz.notes["cells_without_zoning"] == spec.shape[0] * 5
        b = city.layer("buildings")  # the west building lies in the cells without a zone value
        weak = buildings_below_fortification(b, hz.zoning_intensity)
        assert weak.attrs["no_zoning"] == 1 and len(weak.attrs["unknown"]) == 1
        assert weak.attrs["unknown"][0] not in weak.index  # unknown is neither weak nor passed

    def test_scenario_uses_active_faults_only_unless_told(self, city, synth):
        xmin, ymin, xmax, ymax = city.grid.bounds
        faults = synth.gdf({"name": ["old", "young"], "activity": ["Early-Mid Pleistocene", "Holocene"],
                            "magnitude": [7.0, 5.0], "strike_deg": [90.0, 90.0]},
                           [shapely.LineString([(xmin - 2000, ymax + 500), (xmax + 2000, ymax + 500)]),
                            shapely.LineString([(xmin - 2000, ymin - 8000), (xmax + 2000, ymin - 8000)])])
        m = city.with_layer("faults", faults)
        with pytest.warns(CimtwinWarning):
            active = seismic.seismic_scenario(m)
            every = seismic.seismic_scenario(m, active_only=False)
        assert active.notes["faults_used"] == ["young"] and every.notes["faults_used"] == ["old", "young"]
        assert float(every.pga_ii_g.max()) > float(active.pga_ii_g.max())
        with pytest.raises(ValidationError, match="marked active"):
            seismic.seismic_scenario(city.with_layer("faults", faults.iloc[:1]))
        flagged = faults.assign(active=[True, None])
        assert seismic.active_faults(flagged).tolist() == [True, True]

    def test_zoning_layer_values_are_checked(self, spec, synth):
        bad = synth.gdf({"pga_g": [0.0]}, [shapely.box(*spec.bounds)])
        with pytest.raises(ValidationError, match="pga_g"):
            seismic.zoning_pga(bad, spec)
        odd = seismic.zoning_pga(bad.assign(pga_g=[0.12]), spec)
        assert "not GB 18306 zone values" in odd.attrs["note"]


def test_sample_checks_fortification_against_its_synthetic_zoning():
    import cimtwin
    from cimtwin.grid import GridSpec

    model = cimtwin.load_sample("jinan")
    assert "seismic_zoning" in model.metadata["synthetic"]
    assert "SYNTHETIC" in model.metadata["sources"]["seismic_zoning"]
    spec = GridSpec.from_bounds(model.grid.bounds, res_m=200, crs=model.crs)
    hz = seismic.seismic_hazard(model, spec=spec)
    zi = hz.zoning_intensity.values
    assert hz.notes["cells_without_zoning"] == 0 and set(np.unique(zi)) <= {6, 7}  # 0.10/0.15 g zones, Fa ≤ 1.25
    b = model.layer("buildings")
    weak = buildings_below_fortification(b, hz.zoning_intensity)
    assert 1 - len(weak) / len(b) > 0.8  # the fault-scenario maximum let 3.9 % pass
    scenario = seismic.seismic_scenario(model, spec=spec)
    assert scenario.notes["faults_used"] == ["齐河-广饶断裂"]  # the one Late-Pleistocene fault of the sample
