import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from cimtwin.errors import GeographicCRSError  # noqa: E402
from cimtwin.viz.static_maps import _nice_length, static_map  # noqa: E402


@pytest.mark.parametrize("span, expected", [(10_000, 2000), (9_000, 1000), (30_000, 5000), (700, 100)])
def test_nice_scale_bar_length(span, expected):
    assert _nice_length(span) == expected


def test_map_has_legend_scale_bar_and_north_arrow(tiny_model, tmp_path):
    fig = static_map(tiny_model, title="test")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "N" in texts                                   # north arrow
    assert any(t.endswith(" km") or t.endswith(" m") for t in texts)  # scale bar end label
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("districts" in t for t in labels)
    assert any("gazette" in t for t in labels)            # the highlighted gazette roads
    path = tmp_path / "map.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_scale_bar_is_in_metres(tiny_model):
    fig = static_map({"districts": tiny_model.layer("districts")})
    ax = fig.axes[0]
    width_m = ax.get_xlim()[1] - ax.get_xlim()[0]
    end = [t.get_text() for t in ax.texts if t.get_text().endswith("km")][0]
    assert float(end.split()[0]) * 1000 == pytest.approx(_nice_length(width_m))


def test_lonlat_only_is_refused(tiny_model):
    with pytest.raises(GeographicCRSError):
        static_map({"districts": tiny_model.layer("districts").to_crs("EPSG:4326")})
