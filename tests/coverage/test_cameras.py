"""Camera geometry: optics, DORI distances, blind zone, exact sectors."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.coverage._coverage_synth import P, gdf
from cimtwin.coverage import (camera_footprints, camera_parameters, dori_range_m, ground_footprint_m,
                              hfov_from_optics, sector_polygons)
from cimtwin.errors import SchemaError, ValidationError


def test_worked_dori_example():
    hfov = hfov_from_optics(4.0, 5.568)
    assert hfov == pytest.approx(69.68, abs=0.01)
    got = [float(dori_range_m(hfov, dori=k)) for k in ("detection", "observation", "recognition", "identification")]
    assert got == pytest.approx([55.2, 22.1, 11.0, 5.5], abs=0.05)


def test_blind_zone():
    near, far = ground_footprint_m(6.0, 45.0, 30.0)
    assert near == pytest.approx(6 * math.tan(math.radians(30)))
    assert far == pytest.approx(6 * math.tan(math.radians(60)))
    near, far = ground_footprint_m(6.0, 10.0, 30.0)  # upper edge above the horizon
    assert np.isinf(far)
    assert ground_footprint_m(6.0, np.nan, 30.0) == (0.0, np.inf)


@pytest.mark.parametrize("hfov", [30.0, 90.0, 200.0, 360.0])
def test_sector_area_is_exact(hfov):
    p = sector_polygons([0.0], [0.0], radius_m=[40.0], azimuth_deg=[33.0], hfov_deg=[hfov])[0]
    assert p.is_valid
    assert p.area == pytest.approx(math.pi * 40**2 * hfov / 360.0, rel=1e-9)


def test_sector_direction_north_is_zero_clockwise():
    east = sector_polygons([0.0], [0.0], radius_m=[10.0], azimuth_deg=[90.0], hfov_deg=[60.0])[0]
    assert east.contains(shapely.Point(8, 0)) and not east.contains(shapely.Point(-8, 0))
    north = sector_polygons([0.0], [0.0], radius_m=[10.0], azimuth_deg=[0.0], hfov_deg=[60.0])[0]
    assert north.contains(shapely.Point(0, 8))


def test_annular_sector_area():
    p = sector_polygons([0.0], [0.0], radius_m=[50.0], azimuth_deg=[0.0], hfov_deg=[90.0], inner_m=[10.0])[0]
    assert p.area == pytest.approx(math.pi * (50**2 - 10**2) / 4, rel=1e-9)


def _sector_reference(x, y, ro, ri, start, span, nseg, full):
    """One sector built vertex by vertex, as the docstring of sector_polygons describes it."""
    t = [math.radians(start + (span if q == nseg else q * (span / nseg))) for q in range(nseg + 1)]
    arc = lambda rad, qs: [(x + rad * math.sin(t[q]), y + rad * math.cos(t[q])) for q in qs]  # noqa: E731
    if full:
        hole = [arc(ri, range(nseg - 1, -1, -1))] if ri > 0 else None
        return shapely.Polygon(arc(ro, range(nseg)), hole)
    back = arc(ri, range(nseg, -1, -1)) if ri > 0 else [(x, y)]
    return shapely.Polygon((back if ri <= 0 else []) + arc(ro, range(nseg + 1)) + (back if ri > 0 else []))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e5, 1e5), st.floats(-1e5, 1e5), st.floats(1.0, 500.0),
                          st.one_of(st.just(math.nan), st.floats(0.0, 360.0)), st.floats(1.0, 400.0),
                          st.one_of(st.just(0.0), st.floats(0.01, 0.9))), min_size=1, max_size=30),
       st.sampled_from([0.5, 2.0, 7.5]))
def test_sectors_equal_a_vertex_by_vertex_build(rows, step):
    x, y, r, az, fov, inner_share = (np.array(c) for c in zip(*rows))
    inner = inner_share * r
    got = sector_polygons(x, y, radius_m=r, azimuth_deg=az, hfov_deg=fov, inner_m=inner, arc_step_deg=step)
    for i, g in enumerate(got):
        full = math.isnan(az[i]) or fov[i] >= 360.0
        span = 360.0 if full else fov[i]
        nseg = max(math.ceil(span / step), 4)
        k = math.sqrt(math.radians(span) / nseg / math.sin(math.radians(span) / nseg))
        want = _sector_reference(x[i], y[i], r[i] * k, inner[i] * k, 0.0 if full else az[i] - span / 2, span,
                                 nseg, full)
        assert shapely.equals_exact(g, want, tolerance=1e-9 * (1 + abs(x[i]) + abs(y[i])))
        assert g.is_valid


def test_footprints_use_tilt_and_dori():
    cams = gdf({"height_m": [6.0], "azimuth_deg": [0.0], "hfov_deg": [69.68], "range_m": [200.0],
                "tilt_deg": [45.0], "vfov_deg": [30.0]}, [P(0, 0)])
    fp = camera_footprints(cams)
    assert fp["near_m"].iloc[0] == pytest.approx(3.464, abs=1e-3)
    assert fp["range_m"].iloc[0] == pytest.approx(10.392, abs=1e-3)
    cams2 = cams.drop(columns=["tilt_deg", "vfov_deg"])
    fp2 = camera_footprints(cams2, dori="detection")
    assert fp2["range_m"].iloc[0] == pytest.approx(55.2, abs=0.1)
    assert any("1920" in n for n in fp2.attrs["notes"])


def test_hfov_from_focal_length_columns():
    cams = gdf({"height_m": [6.0], "azimuth_deg": [0.0], "hfov_deg": [np.nan], "range_m": [50.0],
                "focal_length_mm": [4.0], "sensor_width_mm": [5.568]}, [P(0, 0)])
    g = camera_parameters(cams)
    assert g.hfov_deg[0] == pytest.approx(69.68, abs=0.01)


def test_missing_fov_names_cameras_unless_assume_omni():
    cams = gdf({"height_m": [6.0, 6.0], "azimuth_deg": [np.nan, 10.0], "hfov_deg": [90.0, np.nan],
                "range_m": [50.0, 50.0]}, [P(0, 0), P(10, 0)], index=["cam-7", "cam-9"])
    with pytest.raises(SchemaError, match=r"cam-7, cam-9.*assume_omni"):
        camera_parameters(cams)
    g = camera_parameters(cams, assume_omni=True)
    assert g.hfov_deg.tolist() == [360.0, 360.0]


def test_bad_dori_level():
    with pytest.raises(ValidationError, match="dori"):
        dori_range_m(60.0, dori="recognise")


# --- DORI for every optic (issue 11 §4) ---------------------------------------------------------


def test_dori_360_dome_is_equiangular():
    # 1920 px spread over the full circle at 25 px/m: 1920 / (2π · 25) m
    assert float(dori_range_m(360.0, dori="detection", pixels_h=1920)) == pytest.approx(1920 / (2 * math.pi * 25))
    assert float(dori_range_m(360.0)) == pytest.approx(12.2, abs=0.05)
    assert float(dori_range_m(90.0)) == pytest.approx(38.4, abs=0.05)  # pinhole: 1920 / (2 tan 45° · 25)


@pytest.mark.parametrize("hfov", [180.0, 200.0, 270.0, 359.0])
def test_dori_panoramic_optics_follow_arc_length(hfov):
    # equiangular: the arc seen at distance r is hfov_rad · r; its pixel density is pixels / arc
    r = float(dori_range_m(hfov, dori="recognition", pixels_h=2880))
    assert 2880 / (math.radians(hfov) * r) == pytest.approx(125.0)


def test_dori_accepts_the_whole_range_and_refuses_outside():
    h = np.linspace(1.0, 360.0, 360)
    r = dori_range_m(h)
    assert np.all(np.isfinite(r)) and np.all(r > 0)
    # wider pinhole views spread the pixels over more scene: range falls as hfov grows
    assert np.all(np.diff(r[h < 180]) < 0) and np.all(np.diff(r[h >= 180]) < 0)
    for bad in (0.0, -10.0, 360.5, np.nan):
        with pytest.raises(ValidationError, match="hfov_deg"):
            dori_range_m(bad)


def test_camera_parameters_apply_dori_to_domes():
    cams = gdf({"height_m": [6.0, 6.0, 6.0], "azimuth_deg": [0.0, np.nan, 90.0], "hfov_deg": [90.0, 360.0, 200.0],
                "range_m": [100.0, 100.0, 100.0]}, [P(0, 0), P(50, 0), P(100, 0)])
    fp = camera_footprints(cams, dori="detection")
    assert fp["range_m"].tolist() == pytest.approx([38.4, 12.22, 1920 / (math.radians(200) * 25)], abs=0.01)
    assert fp.area.iloc[1] == pytest.approx(math.pi * (1920 / (2 * math.pi * 25)) ** 2, rel=1e-4)
    # without a DORI level the range column stands
    assert camera_footprints(cams)["range_m"].tolist() == [100.0, 100.0, 100.0]


def test_ptz_preset_or_widest_view():
    cams = gdf({"height_m": [8.0, 8.0], "azimuth_deg": [45.0, np.nan], "hfov_deg": [40.0, 360.0],
                "range_m": [300.0, 300.0], "model": ["ptz", "PTZ_long_range"]}, [P(0, 0), P(500, 0)])
    g = camera_parameters(cams, dori="observation", ptz_hfov_deg=60.0)
    # preset: a 40° sector at 45° with the pinhole DORI of 40°
    assert g.azimuth_deg[0] == 45.0 and g.hfov_deg[0] == 40.0
    assert g.range_m[0] == pytest.approx(1920 / (2 * math.tan(math.radians(20)) * 62.5))
    # no preset: a disk (it can turn anywhere) at the DORI distance of its widest 60° view
    assert np.isnan(g.azimuth_deg[1]) and g.hfov_deg[1] == 360.0
    assert g.range_m[1] == pytest.approx(1920 / (2 * math.tan(math.radians(30)) * 62.5))
    assert any("preset" in n for n in g.notes) and any("widest view of 60°" in n for n in g.notes)
    with pytest.raises(ValidationError, match="ptz_hfov_deg"):
        camera_parameters(cams, dori="observation", ptz_hfov_deg=200.0)
